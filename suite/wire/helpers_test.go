package wire

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slack is what a timing assertion allows beyond the time it expects: the machine is shared.
const slack = 1500 * time.Millisecond

// rawServer is a TCP server on 127.0.0.1 that reads each request head and hands the connection
// and the request line to handle, for answers net/http/httptest cannot give.
type rawServer struct {
	URL      string
	accepted atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
}

func newRawServer(t *testing.T, handle func(c net.Conn, requestLine string)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{URL: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				requestLine, _ := br.ReadString('\n')
				for {
					line, err := br.ReadString('\n')
					if err != nil || strings.TrimSpace(line) == "" {
						break
					}
				}
				handle(c, strings.TrimSpace(requestLine))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

// hold keeps c open until the client closes it (or the test ends).
func hold(c net.Conn) { io.Copy(io.Discard, c) }

// do sends a GET to url with a Client of the given timeout and reports how long it took.
func do(t *testing.T, c *Client, url string) (*Exchange, time.Duration) {
	t.Helper()
	start := time.Now()
	x := c.Do(context.Background(), &Request{URL: url})
	return x, time.Since(start)
}
