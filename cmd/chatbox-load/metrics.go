package main

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// histogram is a lock-free log-linear histogram of durations: 64 linear
// sub-buckets per power of two, so a recorded value is reported within
// about 1.6% of its true value. It never grows.
type histogram struct {
	counts [58 * 64]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func bucketOf(v int64) int {
	if v < 64 {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - 7 // v>>shift is in [64, 128)
	return (shift+1)*64 + int(v>>shift) - 64
}

// valueOf returns the midpoint of bucket i.
func valueOf(i int) int64 {
	b, m := i/64, int64(i%64)
	if b == 0 {
		return m
	}
	shift := b - 1
	lo := (m + 64) << shift
	hi := (m+65)<<shift - 1
	return lo + (hi-lo)/2
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the value at quantile q (0 < q <= 1), or 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(valueOf(i), h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// counters are the client-side measurements of one run. Only events that
// happen while measuring is set are counted, except errors, which are
// counted over the whole run.
type counters struct {
	measuring atomic.Bool

	deltas  atomic.Int64 // deltas received (a coalesced delta counts once per stamp)
	frames  atomic.Int64 // server frames received
	replies atomic.Int64 // replies read to their end
	sent    atomic.Int64 // user messages acknowledged
	resumes atomic.Int64 // successful resumes

	latency histogram // provider emit -> client receive, per delta
	ttfd    histogram // send -> first delta of the reply
	resume  histogram // drop -> resumed (redial, hello, resume)

	mu     sync.Mutex
	errors map[string]int
}

func newCounters() *counters { return &counters{errors: map[string]int{}} }

func (c *counters) fail(code string) {
	c.mu.Lock()
	c.errors[code]++
	c.mu.Unlock()
}

func (c *counters) errorCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.errors))
	for k, v := range c.errors {
		out[k] = v
	}
	return out
}
