package provider

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// Connection limits. Every open connection costs a file descriptor and some memory (about 20 KB
// for an idle HTTP/1.1 connection) until the idle timeout ends it; a client that opens thousands
// and sends nothing more would exhaust the descriptors, after which accept fails and real
// clients time out. connLimiter wraps the listener: it keeps at most max connections in all and
// perSource per source address (sourceOf), and when a new connection would exceed either, it
// closes the connection of that scope that has been idle longest (a keep-alive connection
// between requests, or one accepted that has not sent a request yet) to make room, or, when none
// is idle, the new one. Idle connections are known from http.Server's ConnState hook.
const (
	// DefaultMaxConnections is the total connection limit when Config.MaxConnections is zero.
	// It is further held to three quarters of the process's descriptor limit, which leaves room
	// for the log file, the listener and whatever else the process opens.
	DefaultMaxConnections = 10_000
	// DefaultMaxConnectionsPerSource is the per-source limit when
	// Config.MaxConnectionsPerSource is zero: far above what one client or a load generator
	// needs, far below what would crowd the others out.
	DefaultMaxConnectionsPerSource = 512
)

type connLimiter struct {
	net.Listener
	max, perSource int

	mu       sync.Mutex
	total    int
	sources  map[netip.Addr]*sourceConns
	idle     idleList // idle longest first
	shed     int      // idle connections closed to make room
	refusals int      // new connections closed for want of room
}

type sourceConns struct {
	n    int
	idle idleList // this source's, idle longest first
}

type limitedConn struct {
	net.Conn
	l        *connLimiter
	src      netip.Addr
	all, own idleLinks // in connLimiter.idle and sourceConns.idle, while idle
	idle     bool
	released bool
}

// idleLinks and idleList make an intrusive doubly linked list: a connection goes idle and busy
// again on every request, and container/list would allocate an element each time.
type idleLinks struct{ prev, next *limitedConn }

type idleList struct {
	head, tail *limitedConn
	n          int
	links      func(*limitedConn) *idleLinks
}

func (l *idleList) pushBack(c *limitedConn) {
	lk := l.links(c)
	lk.prev, lk.next = l.tail, nil
	if l.tail != nil {
		l.links(l.tail).next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *idleList) remove(c *limitedConn) {
	lk := l.links(c)
	if lk.prev != nil {
		l.links(lk.prev).next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		l.links(lk.next).prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

func allLinks(c *limitedConn) *idleLinks { return &c.all }
func ownLinks(c *limitedConn) *idleLinks { return &c.own }

// limitConnections wraps l. max and perSource are the limits (see DefaultMaxConnections).
func limitConnections(l net.Listener, max, perSource int) *connLimiter {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	max = min(max, descriptorBudget())
	if perSource <= 0 {
		perSource = DefaultMaxConnectionsPerSource
	}
	return &connLimiter{Listener: l, max: max, perSource: min(perSource, max), sources: map[netip.Addr]*sourceConns{},
		idle: idleList{links: allLinks}}
}

// descriptorBudget is three quarters of the soft descriptor limit, or DefaultMaxConnections when
// there is none to read.
func descriptorBudget() int {
	n, ok := descriptorLimit()
	if !ok || n <= 0 || n > 4*DefaultMaxConnections {
		return DefaultMaxConnections
	}
	return max(int(n*3/4), 1)
}

// Accept returns the next connection there is room for.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc, victim := l.admit(c)
		if victim != nil {
			victim.Conn.Close()
		}
		if lc != nil {
			return lc, nil
		}
		c.Close()
	}
}

// admit makes room for c, if it can, by choosing an idle connection to close (the caller closes
// it, outside the lock).
func (l *connLimiter) admit(c net.Conn) (admitted, victim *limitedConn) {
	src := sourceOf(c.RemoteAddr().String())
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sources[src]
	if s == nil {
		s = &sourceConns{idle: idleList{links: ownLinks}}
		l.sources[src] = s
	}
	switch {
	case s.n >= l.perSource:
		victim = s.idle.head
	case l.total >= l.max:
		victim = l.idle.head
	}
	if (s.n >= l.perSource || l.total >= l.max) && victim == nil {
		l.refusals++
		if s.n == 0 {
			delete(l.sources, src)
		}
		return nil, nil
	}
	if victim != nil {
		l.shed++
		l.releaseLocked(victim)
	}
	lc := &limitedConn{Conn: c, l: l, src: src}
	l.total++
	s.n++
	l.markIdleLocked(lc, s) // no request yet: as good as idle
	return lc, victim
}

func (l *connLimiter) markIdleLocked(c *limitedConn, s *sourceConns) {
	if c.released || c.idle {
		return
	}
	c.idle = true
	l.idle.pushBack(c)
	s.idle.pushBack(c)
}

func (l *connLimiter) markBusyLocked(c *limitedConn, s *sourceConns) {
	if c.idle {
		c.idle = false
		l.idle.remove(c)
		s.idle.remove(c)
	}
}

// releaseLocked forgets c; it is idempotent, since a shed connection is also closed by the
// server later.
func (l *connLimiter) releaseLocked(c *limitedConn) {
	if c.released {
		return
	}
	s := l.sources[c.src]
	l.markBusyLocked(c, s)
	c.released = true
	l.total--
	if s.n--; s.n == 0 {
		delete(l.sources, c.src)
	}
}

// Close releases the connection's place and closes it.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// connState is http.Server's ConnState hook: it tells the limiter which connections are idle.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.released {
		return
	}
	switch state {
	case http.StateIdle:
		l.markIdleLocked(lc, l.sources[lc.src])
	case http.StateActive, http.StateHijacked:
		l.markBusyLocked(lc, l.sources[lc.src])
	}
}

// ConnectionStats is a snapshot of the connection limiter of a running Serve.
type ConnectionStats struct {
	// Open and Idle count the connections open now, and those of them that are idle.
	Open, Idle int
	// Max and MaxPerSource are the limits in force.
	Max, MaxPerSource int
	// Shed counts idle connections closed to make room; Refused, new connections closed because
	// there was none.
	Shed, Refused int
	// PerSource counts the open connections of each source address.
	PerSource map[netip.Addr]int
}

func (l *connLimiter) stats() ConnectionStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := ConnectionStats{Open: l.total, Idle: l.idle.n, Max: l.max, MaxPerSource: l.perSource,
		Shed: l.shed, Refused: l.refusals, PerSource: map[netip.Addr]int{}}
	for a, s := range l.sources {
		st.PerSource[a] = s.n
	}
	return st
}
