package provider

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// raiseDescriptorLimit lifts the soft descriptor limit to the hard one (at most want) and returns
// the limit in force.
func raiseDescriptorLimit(t *testing.T, want uint64) uint64 {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip("no descriptor limit to read:", err)
	}
	if rl.Cur < want {
		old := rl.Cur
		rl.Cur = min(want, rl.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Logf("could not raise the descriptor limit: %v", err)
			rl.Cur = old
		}
		t.Cleanup(func() {
			rl.Cur = old
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		})
	}
	return uint64(rl.Cur)
}

// idleConn opens a connection from ip, makes one keep-alive request on it (or none, when silent)
// and leaves it open.
func idleConn(addr, ip string, silent bool) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil || silent {
		return c, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /public HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return c, nil // shed before it could ask: still a socket the client holds
	}
	if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// The attack: thousands of idle keep-alive connections. The test holds 5,000 of them
// (half after one request, half silent) from 20 loopback addresses, then 1,000 more from one
// address, and a real client on 127.0.0.1 must get a token on a new connection every time:
//
//   - with the default limits (10,000, at most 3/4 of the descriptor limit, and 512 per
//     source), the provider keeps the 5,000, and 512 of the greedy source's 1,000;
//   - limited to 1,000 connections and 300 per source, it keeps within them by closing the
//     connections idle longest.
//
// The test process raises its descriptor limit to hold both ends (up to about 12,000
// descriptors); where the hard limit is lower, the numbers shrink to fit and the test says so.
func TestIdleConnectionsDoNotCrowdOutClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	for _, c := range []struct {
		name           string
		max, perSource int
	}{{"default limits", 0, 0}, {"1,000 in all, 300 per source", 1000, 300}} {
		t.Run(c.name, func(t *testing.T) { holdIdleConnections(t, c.max, c.perSource) })
	}
}

func holdIdleConnections(t *testing.T, max, perSource int) {
	held, sources, greedyConns := 5000, 20, 1000
	limit := raiseDescriptorLimit(t, 20_000)
	if need := uint64(2*(held+greedyConns) + 200); limit < need {
		held = int(limit-200-2*uint64(greedyConns)) / 2 / sources * sources
		if held < 1000 {
			t.Skipf("descriptor limit %d is too low for this test", limit)
		}
		t.Logf("descriptor limit %d: holding %d idle connections instead of 5,000", limit, held)
	}
	cfg := DefaultConfig("real-client", "real-secret")
	cfg.MaxConnections, cfg.MaxConnectionsPerSource = max, perSource
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := serveForTest(t, p)
	addr := strings.TrimPrefix(base, "http://")

	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range held {
		c, err := idleConn(addr, fmt.Sprintf("127.0.0.%d", 2+i%sources), i%2 == 1)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	greedy := netip.MustParseAddr("127.0.0.100")
	for range greedyConns {
		c, err := idleConn(addr, greedy.String(), false)
		if err != nil {
			t.Fatalf("greedy connection: %v", err)
		}
		conns = append(conns, c)
	}
	time.Sleep(50 * time.Millisecond) // the last accepts
	st := p.ConnectionStats()
	t.Logf("the client side holds %d connections; the provider keeps %d open (%d idle; limits %d, %d per source), has closed %d idle ones and refused %d; the greedy source has %d",
		len(conns), st.Open, st.Idle, st.Max, st.MaxPerSource, st.Shed, st.Refused, st.PerSource[greedy])
	if st.Open > st.Max || st.PerSource[greedy] > st.MaxPerSource {
		t.Errorf("over the limits: %d open, %d from one source", st.Open, st.PerSource[greedy])
	}
	if max == 0 && st.Open < held {
		t.Errorf("with the default limits the provider keeps only %d of the %d idle connections", st.Open, held)
	}
	if n := openDescriptors(); n > 0 {
		t.Logf("descriptors open in the test process (both ends): %d", n)
	}

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodPost, base+PathToken, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("real-client", "real-secret")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("real request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("real request %d: %d", i, res.StatusCode)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("real request %d took %v", i, took)
		}
	}
}

func openDescriptors() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(fds)
}

// When every connection is busy, a new one is refused rather than let in over the limit; once
// one is idle, it gives way to the newcomer.
func TestConnectionLimitRefusesWhenNoneIsIdle(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitConnections(inner, 2, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	a, b := <-accepted, <-accepted
	l.connState(a, http.StateActive)
	l.connState(b, http.StateActive)
	third := dial()
	_ = third.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection was served over a limit of two")
	}
	if st := l.stats(); st.Open != 2 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
	l.connState(b, http.StateIdle)
	dial()
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("the newcomer was not let in in place of the idle connection")
	}
	if st := l.stats(); st.Open != 2 || st.Shed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := b.Write([]byte("x")); err == nil {
		t.Error("the idle connection was not closed")
	}
}

func TestDescriptorBudget(t *testing.T) {
	if n, ok := descriptorLimit(); ok && n >= 100 && n <= 4*DefaultMaxConnections {
		if got := descriptorBudget(); got != int(n*3/4) {
			t.Errorf("limit %d: budget %d", n, got)
		}
	}
	if l := limitConnections(nil, 0, 0); l.max != min(DefaultMaxConnections, descriptorBudget()) || l.perSource != DefaultMaxConnectionsPerSource {
		t.Errorf("default limits %d, %d", l.max, l.perSource)
	}
	if l := limitConnections(nil, 1<<30, 1<<30); l.max != descriptorBudget() || l.perSource != l.max {
		t.Errorf("limits past the descriptor budget: %d, %d", l.max, l.perSource)
	}
}
