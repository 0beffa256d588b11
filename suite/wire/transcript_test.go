package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTranscript(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Content-Type", "application/json")
		// net/http refuses C0 controls in a header value, but not C1 or bidi controls.
		w.Header().Set("X-Forge", "\u202eSUCCESS\u009b32m")
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		io.WriteString(w, `{"access_token":"issued\u002Btoken\/value","token_type":"Bearer"}`+"\r\n\x1b[32mSUCCESS\x1b[0m")
	}))
	defer srv.Close()
	var xs []*Exchange
	c := New(Options{Timeout: 5 * time.Second, OnExchange: func(x *Exchange) { xs = append(xs, x) }})
	c.Redactor().AddCredentials("client", "client-secret")
	c.Do(context.Background(), &Request{Method: http.MethodPost, URL: srv.URL + "/token?client_secret=client-secret", Note: "get a token",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Basic Y2xpZW50OmNsaWVudC1zZWNyZXQ="}},
		Body:   []byte("grant_type=client_credentials&client_secret=client-secret")})
	c.Do(context.Background(), &Request{URL: srv.URL + "/resource", Header: http.Header{"Authorization": {"Bearer issued+token/value"}}})

	got := Transcript(c.Redactor(), xs)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, want := range []string{
		"── request 1 (get a token)\nPOST /token?client_secret=[redacted, 13 chars] HTTP/1.1\nHost: " + host +
			"\nAccept-Encoding: identity\nAuthorization: Basic [redacted, 28 chars]\nContent-Type: application/x-www-form-urlencoded\n" +
			"\ngrant_type=client_credentials&client_secret=[redacted, 13 chars]\n── response (",
		"HTTP/1.1 200 OK\n",
		"Pragma: no-cache\n",
		`X-Forge: \u202eSUCCESS\u009b32m` + "\n",
		"X-Echo: Basic [redacted, 28 chars]\n",
		`{"access_token":"[redacted, 18 chars]","token_type":"Bearer"}\x0d` + "\n" + `\x1b[32mSUCCESS\x1b[0m` + "\n",
		"\n── request 2\nGET /resource HTTP/1.1\n",
		"Authorization: Bearer [redacted, 18 chars]\n",
		"X-Echo: Bearer [redacted, 18 chars]\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, got)
		}
	}
	for _, leak := range []string{"client-secret", "issued", "Y2xpZW50", "Cache-Control", "\x1b", "\r", "\u202e", "\u009b"} {
		if strings.Contains(got, leak) {
			t.Errorf("the transcript shows %q:\n%s", leak, got)
		}
	}
}

// Header values, header lines and bodies are clipped, the provider's and the caller's alike.
func TestTranscriptClips(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, _ string) {
		var head strings.Builder
		head.WriteString("HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v", 600) + "\r\n")
		for i := range 60 {
			fmt.Fprintf(&head, "X-Many-%02d: %d\r\n", i, i)
		}
		body := strings.Repeat("b", 5000)
		fmt.Fprintf(&head, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		io.WriteString(c, head.String())
	})
	var x *Exchange
	c := New(Options{Timeout: 5 * time.Second, OnExchange: func(e *Exchange) { x = e }})
	c.Do(context.Background(), &Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(strings.Repeat("q", 4100)),
		Header: http.Header{"X-Caller": {strings.Repeat("c", 513)}}})
	if x.Err != nil {
		t.Fatal(x.Err)
	}
	got := Transcript(nil, []*Exchange{x})
	for _, want := range []string{
		"X-Caller: " + strings.Repeat("c", 512) + "… [1 more bytes]\n",
		"\n" + strings.Repeat("q", 4096) + "… [4 more bytes]\n── response",
		"X-Long: " + strings.Repeat("v", 512) + "… [88 more bytes]\n",
		"X-Many-48: 48\n… [13 more header lines]\n\n" + strings.Repeat("b", 4096) + "… [904 more bytes]\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the transcript lacks %q", want)
		}
	}
}

func TestTranscriptWithoutResponse(t *testing.T) {
	xs := []*Exchange{
		{Request: &Request{Method: "GET", URL: "http://127.0.0.1:1/x", Note: "n\x1b"}, Err: context.DeadlineExceeded,
			Duration: 301 * time.Millisecond, Timeout: 300 * time.Millisecond},
		{Request: &Request{Method: "GET", URL: "http://127.0.0.1:1/y"}, Err: ErrSilent},
		{Request: &Request{Method: "GET", URL: "http://127.0.0.1:1/z"}, Err: &bodyError{errors.Join(context.DeadlineExceeded, io.ErrUnexpectedEOF)},
			Duration: 300 * time.Millisecond, Timeout: 300 * time.Millisecond, Attempts: 2},
	}
	got := Transcript(nil, xs)
	want := `── request 1 (n\x1b)
GET /x HTTP/1.1
Host: 127.0.0.1:1
── no response after 301ms: no response within 300ms

── request 2
GET /y HTTP/1.1
Host: 127.0.0.1:1
── not sent: ` + ErrSilent.Error() + `

── request 3, attempt 2, after 429 or 503 with Retry-After
GET /z HTTP/1.1
Host: 127.0.0.1:1
── no response after 300ms: the status and headers arrived, but the body did not arrive within 300ms
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A body left in a content coding is described, not dumped.
func TestTranscriptEncodedBody(t *testing.T) {
	x := &Exchange{Request: &Request{Method: "GET", URL: "http://h/"}, Body: []byte{0x1f, 0x8b, 0, 1}, ContentEncoding: "gzip",
		Response: &http.Response{Proto: "HTTP/1.1", Status: "200 OK", Header: http.Header{"Content-Encoding": {"gzip"}}}}
	got := Transcript(nil, []*Exchange{x})
	if !strings.Contains(got, "HTTP/1.1 200 OK\nContent-Encoding: gzip\n\n[4 bytes of Content-Encoding gzip, not decoded]\n") {
		t.Errorf("got:\n%s", got)
	}
}
