package wire

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Limits of a transcript.
const (
	// MaxTranscriptBody is how much of a body a transcript shows.
	MaxTranscriptBody = 4096
	// MaxTranscriptHeaderValue is how much of a header value a transcript shows.
	MaxTranscriptHeaderValue = 512
	// MaxTranscriptHeaderLines is how many header lines of a message a transcript shows.
	MaxTranscriptHeaderLines = 50
)

// Transcript renders exchanges as an HTTP transcript with every secret masked (by r; nil means
// a fresh Redactor, which masks only Authorization and cookies) and control characters escaped.
// Each exchange is "── request N (note)", the request line with the query redacted, Host, the
// other headers sorted by name, and the body; then "── response (duration)", the status line,
// the header fields in wire order and the body, or "── no response after …: why" (see
// Describe), or "── not sent: …" (ErrSilent). Header values are clipped to MaxTranscriptHeaderValue bytes, at most
// MaxTranscriptHeaderLines lines a message, bodies to MaxTranscriptBody bytes.
func Transcript(r *Redactor, xs []*Exchange) string {
	if r == nil {
		r = NewRedactor()
	}
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteString("\n")
		}
		writeRequest(&b, r, i+1, x)
		writeResponse(&b, r, x)
	}
	return b.String()
}

func writeRequest(b *strings.Builder, r *Redactor, n int, x *Exchange) {
	req := x.Request
	if req == nil {
		req = &Request{}
	}
	fmt.Fprintf(b, "── request %d", n)
	if req.Note != "" {
		fmt.Fprintf(b, " (%s)", r.String(req.Note))
	}
	if x.Attempts > 1 {
		fmt.Fprintf(b, ", attempt %d, after 429 or 503 with Retry-After", x.Attempts)
	}
	b.WriteString("\n")
	host, target := "", r.String(req.URL)
	if u, err := url.Parse(req.URL); err == nil {
		host, target = u.Host, r.URL(u)
	}
	fmt.Fprintf(b, "%s %s HTTP/1.1\n", r.String(req.Method), target)
	writeFields(b, r, append([]Field{{"Host", host}}, sortedFields(req.Header)...))
	writeBody(b, r, req.Body, req.Header.Get("Content-Type"), "")
}

func writeResponse(b *strings.Builder, r *Redactor, x *Exchange) {
	took := x.Duration.Round(time.Millisecond)
	switch {
	case errors.Is(x.Err, ErrSilent):
		fmt.Fprintf(b, "── not sent: %s\n", Describe(x.Err, x.Timeout))
		return
	case x.Err != nil || x.Response == nil:
		fmt.Fprintf(b, "── no response after %s: %s\n", took, Describe(x.Err, x.Timeout))
		return
	}
	res := x.Response
	fields, statusLine := x.WireFields, x.WireStatusLine
	if x.WireHeaderParsed {
		fmt.Fprintf(b, "── response (%s)\n", took)
	} else {
		fmt.Fprintf(b, "── response (%s; the head as net/http parsed it, not as sent)\n", took)
		fields, statusLine = sortedFields(res.Header), res.Proto+" "+res.Status
	}
	b.WriteString(r.String(statusLine) + "\n")
	writeFields(b, r, fields)
	writeBody(b, r, x.Body, res.Header.Get("Content-Type"), x.ContentEncoding)
}

// sortedFields lists h by name, the values of a name in order.
func sortedFields(h http.Header) []Field {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	var fields []Field
	for _, name := range names {
		for _, v := range h[name] {
			fields = append(fields, Field{name, v})
		}
	}
	return fields
}

func writeFields(b *strings.Builder, r *Redactor, fields []Field) {
	for i, f := range fields {
		if i == MaxTranscriptHeaderLines {
			fmt.Fprintf(b, "… [%d more header lines]\n", len(fields)-i)
			return
		}
		fmt.Fprintf(b, "%s: %s\n", r.String(f.Name), Clip(r.Header(f.Name, f.Value), MaxTranscriptHeaderValue))
	}
}

func writeBody(b *strings.Builder, r *Redactor, body []byte, contentType, coding string) {
	switch {
	case len(body) == 0:
	case coding != "":
		fmt.Fprintf(b, "\n[%d bytes of Content-Encoding %s, not decoded]\n", len(body), r.String(coding))
	default:
		b.WriteString("\n" + Clip(r.Body(body, contentType), MaxTranscriptBody) + "\n")
	}
}
