//go:build !linux

package main

import "errors"

func pinToCPU(int) error { return errors.New("CPU pinning is implemented on Linux only") }
