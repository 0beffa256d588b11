package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// wireHead is the final response head as it was on the wire.
type wireHead struct {
	statusLine string
	header     http.Header
	fields     []Field
}

// parseWire finds the final response head in what a connection read: interim 1xx heads (100,
// 102, 103, ...) are skipped, as net/http skips them; 101 is final. The head must have the status
// code net/http returned, or it is not the one net/http parsed.
func parseWire(b []byte, code int) (*wireHead, error) {
	for {
		statusLine, rest, ok := cutLine(b)
		if !ok {
			return nil, errors.New("no complete status line")
		}
		got, err := statusCode(statusLine)
		if err != nil {
			return nil, err
		}
		block, rest, err := headerBlock(rest)
		if err != nil {
			return nil, err
		}
		if got >= 100 && got < 200 && got != http.StatusSwitchingProtocols {
			b = rest
			continue
		}
		if got != code {
			return nil, fmt.Errorf("the recorded status %d is not the %d net/http returned", got, code)
		}
		h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
		if err != nil {
			return nil, err
		}
		return &wireHead{statusLine: statusLine, header: http.Header(h), fields: splitFields(block)}, nil
	}
}

// cutLine cuts the first line off b, its CRLF or LF end removed.
func cutLine(b []byte) (line string, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return "", nil, false
	}
	return strings.TrimSuffix(string(b[:i]), "\r"), b[i+1:], true
}

func statusCode(line string) (int, error) {
	proto, rest, _ := strings.Cut(line, " ")
	codeText, _, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if !strings.HasPrefix(proto, "HTTP/") || len(codeText) != 3 || err != nil {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	return code, nil
}

// headerBlock returns the header lines up to and including the empty line that ends them.
func headerBlock(b []byte) (block, rest []byte, err error) {
	for i := 0; ; {
		line, after, ok := cutLine(b[i:])
		if !ok {
			return nil, nil, errors.New("no complete header block")
		}
		i = len(b) - len(after)
		if line == "" {
			return b[:i], b[i:], nil
		}
	}
}

// splitFields lists the fields of a header block in order, names as spelled; a line starting
// with a space or tab continues the previous field.
func splitFields(block []byte) []Field {
	var fields []Field
	for rest := block; ; {
		line, after, ok := cutLine(rest)
		if !ok || line == "" {
			return fields
		}
		rest = after
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			f := &fields[len(fields)-1]
			f.Value = strings.TrimSpace(f.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		fields = append(fields, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
}
