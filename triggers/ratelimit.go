package triggers

import (
	"math"
	"sync"
	"time"
)

// maxBuckets bounds the limiters' memory. There is one bucket per flow that
// has a rate limit, so the bound is only reached with that many such flows;
// then idle buckets (full again) are dropped first, and if there are none, a
// tenth of the buckets (those flows get a fresh burst).
const maxBuckets = 10000

// DefaultRatePer is a rate limit's period when `per` is not set.
const DefaultRatePer = time.Second

// Limiters holds one token bucket per flow. It is safe for concurrent use.
type Limiters struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewLimiters returns an empty set of per-flow token buckets.
func NewLimiters() *Limiters {
	return &Limiters{buckets: map[string]*bucket{}}
}

// Allow takes one token from flowID's bucket for rl at time now. When none is
// left it returns false and how long until one is. A nil rl (or one with no
// requests) allows everything. A changed rl takes effect at once.
func (l *Limiters) Allow(flowID string, rl *RateLimit, now time.Time) (ok bool, retryAfter time.Duration) {
	if rl == nil || rl.Requests <= 0 {
		return true, 0
	}
	per := rl.Per.D()
	if per <= 0 {
		per = DefaultRatePer
	}
	rate := float64(rl.Requests) / per.Seconds()
	burst := float64(rl.Burst)
	if rl.Burst <= 0 {
		burst = float64(rl.Requests)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[flowID]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.evict(now)
		}
		b = &bucket{rate: rate, burst: burst, tokens: burst, last: now}
		l.buckets[flowID] = b
	}
	if b.rate != rate || b.burst != burst {
		b.rate, b.burst = rate, burst
		b.tokens = math.Min(b.tokens, burst)
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	if wait < time.Millisecond {
		wait = time.Millisecond
	}
	return false, wait
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}

// evict drops the buckets that are full again (forgetting them changes
// nothing); if that frees nothing, it drops a tenth of them at random, so that
// the sweep's cost is shared by many inserts. Called with mu held.
func (l *Limiters) evict(now time.Time) {
	for id, b := range l.buckets {
		b.refill(now)
		if b.tokens >= b.burst {
			delete(l.buckets, id)
		}
	}
	drop := len(l.buckets) - maxBuckets*9/10
	for id := range l.buckets {
		if drop <= 0 {
			return
		}
		delete(l.buckets, id)
		drop--
	}
}
