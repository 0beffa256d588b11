package provider

import (
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Brute-force protection (RFC 6749 §2.3.1: an endpoint that takes client passwords must be
// protected against brute force) that slows the guesser and never the client.
//
// A client id is not a secret (§2.2): a lockout per client, which refuses the right secret too,
// lets anyone who knows the id keep the real client from getting tokens. So failures are counted
// per pair of client id and source address (the TCP peer; an IPv6 peer counts as its /64, which
// one host usually owns whole). A pair may send a few wrong secrets freely; after that, every
// further wrong secret refuses the pair, with 429 and Retry-After, for a delay that doubles with
// each one, up to a ceiling. While refused, a pair's requests are not checked at all, the right
// secret included, so the guesser learns nothing; a client that holds its secret never fails,
// so from its own address it is never refused.
//
// Behind a reverse proxy every request has the proxy's address; such a deployment would take the
// source from a header the proxy sets (X-Forwarded-For), trusted only from the proxy. The
// reference serves clients directly and does not.
//
// Only distinct wrong secrets count: a pair's recent wrong secrets are remembered as keyed
// 64-bit hashes, and sending one of them again (a misconfigured client retrying, a test suite
// run twice) teaches the sender nothing, so it is answered 401 without counting. A guesser must
// send new secrets, and each of them counts.
//
// Unknown client ids go through the same accounting, so the answers (401, then 429 with the
// same delays) do not tell which ids are registered.
//
// Thresholds, with the conformance suite in mind. Counted on one run (all from 127.0.0.1), the
// suite sends the main client 2 distinct wrong secrets, the same two strings every run; the
// public client 1; 5 made-up client ids 1 each (new ids every run); and the throwaway client of
// its brute-force check new secrets until the 429, which it expects within 30. Ten free
// distinct failures leave the main client untouched however often the suite runs, thanks to the
// deduplication; the eleventh distinct failure refuses the throwaway pair for 1 s, so the
// twelfth attempt gets its 429. When runs follow each other, the throwaway's delay doubles only
// if the pair is no longer refused when the next run starts (a run that finds it refused gets
// its 429 at once and sends no wrong secret), so the delay stays about as long as the runs have
// been going on, and the main client is never refused.
//
// The table is bounded: at most defaultMaxGuessPairs pairs in all and defaultMaxPairsPerSource per
// source. A full source gives up its own least-slowed pair; a full table first drops forgotten
// pairs, then the least-slowed of a random sample. Eviction therefore cannot be used to free a
// pair that is being slowed: pushing it out means filling the table with pairs slowed at least
// as much, which costs at least as much waiting per pair, from many source addresses.
const (
	defaultMaxFailedAuthentications = 10
	defaultGuessDelay               = time.Second
	defaultMaxGuessDelay            = 5 * time.Minute
	defaultGuessMemory              = time.Hour
	defaultMaxGuessPairs            = 50_000
	defaultMaxPairsPerSource        = 64
	recentWrongSecrets              = 8
	evictionSample                  = 32
)

// guessThrottle counts failed authentications per (client id, source) pair.
type guessThrottle struct {
	free                     int           // distinct wrong secrets a pair may send before it is slowed
	firstDelay, maxDelay     time.Duration // the first refusal, and the ceiling the doublings reach
	memory                   time.Duration // a pair is forgotten this long after its last counted failure
	maxPairs, maxPairsPerSrc int
	seed                     maphash.Seed
	now                      func() time.Time
	mu                       sync.Mutex
	sources                  map[netip.Addr]map[uint64]*guesses
	pairs                    int
}

// guesses is what the throttle remembers of one pair.
type guesses struct {
	distinct int                        // distinct wrong secrets counted
	recent   [recentWrongSecrets]uint64 // keyed hashes of the latest ones (0: empty slot)
	next     int                        // where the next one goes in recent
	last     time.Time                  // the latest counted failure
	until    time.Time                  // the pair is refused until then
}

func newGuessThrottle(cfg Config) *guessThrottle {
	t := &guessThrottle{
		free: cfg.MaxFailedAuthentications, firstDelay: cfg.GuessDelay, maxDelay: cfg.MaxGuessDelay,
		memory: cfg.GuessMemory, maxPairs: cfg.MaxGuessPairs, maxPairsPerSrc: defaultMaxPairsPerSource,
		seed: maphash.MakeSeed(), now: time.Now, sources: map[netip.Addr]map[uint64]*guesses{},
	}
	if t.free <= 0 {
		t.free = defaultMaxFailedAuthentications
	}
	if t.firstDelay <= 0 {
		t.firstDelay = cfg.FailureWindow // the old name of the setting
	}
	if t.firstDelay <= 0 {
		t.firstDelay = defaultGuessDelay
	}
	if t.maxDelay <= 0 {
		t.maxDelay = defaultMaxGuessDelay
	}
	t.maxDelay = max(t.maxDelay, t.firstDelay)
	if t.memory <= 0 {
		t.memory = defaultGuessMemory
	}
	if t.maxPairs <= 0 {
		t.maxPairs = defaultMaxGuessPairs
	}
	t.maxPairsPerSrc = min(t.maxPairsPerSrc, t.maxPairs)
	return t
}

// sourceOf is the throttling and connection-limiting key of a peer address ("host:port"): the
// IPv4 address, or the /64 of an IPv6 one. An address that does not parse shares one key.
func sourceOf(remoteAddr string) netip.Addr {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// refusedFor says how long the pair is still refused; zero means its secret may be checked.
func (t *guessThrottle) refusedFor(id string, src netip.Addr) time.Duration {
	key := maphash.String(t.seed, id)
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.sources[src][key]
	if g == nil {
		return 0
	}
	now := t.now()
	if t.forgotten(g, now) {
		t.remove(src, key)
		return 0
	}
	return max(g.until.Sub(now), 0)
}

// failed records a wrong secret sent for the pair.
func (t *guessThrottle) failed(id string, src netip.Addr, secret string) {
	key := maphash.String(t.seed, id)
	h := maphash.String(t.seed, secret) | 1 // never 0, which marks an empty slot
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.sources[src][key]
	if g != nil && t.forgotten(g, now) {
		t.remove(src, key)
		g = nil
	}
	if g == nil {
		g = &guesses{}
		t.insert(src, key, g, now)
	}
	for _, r := range g.recent {
		if r == h {
			return // a secret already counted: nothing new learnt
		}
	}
	g.recent[g.next] = h
	g.next = (g.next + 1) % len(g.recent)
	g.distinct++
	g.last = now
	if over := g.distinct - t.free; over > 0 {
		delay := t.maxDelay
		if over <= 30 {
			delay = min(t.firstDelay<<(over-1), t.maxDelay)
		}
		g.until = now.Add(delay)
	}
}

func (t *guessThrottle) forgotten(g *guesses, now time.Time) bool {
	return !now.Before(g.until) && now.Sub(g.last) >= t.memory
}

func (t *guessThrottle) remove(src netip.Addr, key uint64) {
	bySrc := t.sources[src]
	if _, ok := bySrc[key]; !ok {
		return
	}
	delete(bySrc, key)
	t.pairs--
	if len(bySrc) == 0 {
		delete(t.sources, src)
	}
}

// lessSlowed orders pairs for eviction: fewer distinct failures first, then the older.
func lessSlowed(a, b *guesses) bool {
	if a.distinct != b.distinct {
		return a.distinct < b.distinct
	}
	return a.last.Before(b.last)
}

// insert adds a pair, making room first when its source or the table is full.
func (t *guessThrottle) insert(src netip.Addr, key uint64, g *guesses, now time.Time) {
	bySrc := t.sources[src]
	if bySrc == nil {
		bySrc = map[uint64]*guesses{}
		t.sources[src] = bySrc
	}
	if len(bySrc) >= t.maxPairsPerSrc {
		var victim uint64
		var least *guesses
		for k, v := range bySrc {
			if least == nil || lessSlowed(v, least) {
				victim, least = k, v
			}
		}
		t.remove(src, victim)
		bySrc = t.sources[src]
		if bySrc == nil {
			bySrc = map[uint64]*guesses{}
			t.sources[src] = bySrc
		}
	} else if t.pairs >= t.maxPairs {
		t.evictOne(now)
	}
	bySrc[key] = g
	t.pairs++
}

// evictOne drops the forgotten pairs of a random sample of the table (Go randomises where a map
// iteration starts), or, when none is forgotten, the least slowed of the sample.
func (t *guessThrottle) evictOne(now time.Time) {
	type ref struct {
		src netip.Addr
		key uint64
		g   *guesses
	}
	var least *ref
	var stale []ref
	seen := 0
sample:
	for src, bySrc := range t.sources {
		for k, g := range bySrc {
			r := ref{src, k, g}
			if t.forgotten(g, now) {
				stale = append(stale, r)
			} else if least == nil || lessSlowed(g, least.g) {
				least = &r
			}
			if seen++; seen >= evictionSample {
				break sample
			}
		}
	}
	if len(stale) == 0 && least != nil {
		stale = append(stale, *least)
	}
	for _, r := range stale {
		t.remove(r.src, r.key)
	}
}
