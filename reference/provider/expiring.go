package provider

import (
	"container/heap"
	"sync"
	"time"
)

// expiringSet is a bounded set of keys, each kept until its own expiry: the memory of the
// client-assertion replay cache (replay.go) and of the revocation deny-list (revoke.go). Expired
// keys are swept on every call, oldest first, from a heap of expiry times, so a call costs
// O(log n) plus the keys it sweeps. When the set is full a new key is refused, not made room
// for: forgetting a live key would let a replay or a revoked token through.
type expiringSet struct {
	max int
	now func() time.Time

	mu     sync.Mutex
	until  map[string]time.Time
	byExp  expiryHeap
	perTag map[string]int // live keys per tag (a client id), for per-tag bounds
	tagOf  map[string]string
}

// expiry is one heap entry.
type expiry struct {
	at  time.Time
	key string
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newExpiringSet(max int) *expiringSet {
	return &expiringSet{max: max, now: time.Now, until: map[string]time.Time{},
		perTag: map[string]int{}, tagOf: map[string]string{}}
}

// sweep drops the expired keys. The caller holds mu.
func (s *expiringSet) sweep(now time.Time) {
	for len(s.byExp) > 0 && !s.byExp[0].at.After(now) {
		e := heap.Pop(&s.byExp).(expiry)
		delete(s.until, e.key)
		if tag, ok := s.tagOf[e.key]; ok {
			delete(s.tagOf, e.key)
			if s.perTag[tag]--; s.perTag[tag] <= 0 {
				delete(s.perTag, tag)
			}
		}
	}
}

// contains reports whether key is in the set and not expired.
func (s *expiringSet) contains(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	at, ok := s.until[key]
	return ok && at.After(now)
}

// addResult is what add did.
type addResult int

const (
	added        addResult = iota
	alreadyThere           // the key was in the set: nothing changed
	setFull                // the set holds max keys
	tagFull                // the tag holds maxPerTag keys
)

// add puts key in the set until the given time, counted against tag (which may be empty) when
// maxPerTag is positive. When it cannot, retry says when the oldest key (of the set, or of the
// tag) expires, which is when there may be room again. A key that is already there keeps its
// expiry.
func (s *expiringSet) add(key, tag string, until time.Time, maxPerTag int) (result addResult, retry time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	if _, ok := s.until[key]; ok {
		return alreadyThere, 0
	}
	if !until.After(now) {
		return added, 0 // already expired: nothing to remember
	}
	if len(s.until) >= s.max {
		return setFull, s.byExp[0].at.Sub(now)
	}
	if maxPerTag > 0 && s.perTag[tag] >= maxPerTag {
		// The tag's oldest key is not at hand; the set's oldest is a lower bound, and the
		// longest a key lives (its horizon) an upper one. The caller's horizon is short.
		return tagFull, s.byExp[0].at.Sub(now)
	}
	s.until[key] = until
	heap.Push(&s.byExp, expiry{until, key})
	if maxPerTag > 0 {
		s.perTag[tag]++
		s.tagOf[key] = tag
	}
	return added, 0
}

// size is the number of keys held, expired ones swept first.
func (s *expiringSet) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.now())
	return len(s.until)
}
