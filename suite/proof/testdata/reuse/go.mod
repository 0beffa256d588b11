module example.com/reuse

go 1.26.0

require github.com/ccconform/ccconform v0.0.0

replace github.com/ccconform/ccconform => ../../../..
