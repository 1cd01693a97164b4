package triggers

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

func TestLimitersAllow(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	type call struct {
		at        time.Duration // since t0
		flow      string
		want      bool
		wantRetry time.Duration // checked when want is false
	}
	perSec := &RateLimit{Requests: 2, Per: engine.Duration(time.Second)}
	tests := []struct {
		name  string
		rl    *RateLimit
		calls []call
	}{
		{name: "no limit", rl: nil, calls: []call{{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}}},
		{name: "burst defaults to requests, then refill", rl: perSec, calls: []call{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
			{250 * time.Millisecond, "a", false, 250 * time.Millisecond},
			{500 * time.Millisecond, "a", true, 0}, {500 * time.Millisecond, "a", false, 500 * time.Millisecond},
		}},
		{name: "flows are separate", rl: perSec, calls: []call{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 500 * time.Millisecond}, {0, "b", true, 0},
		}},
		{name: "explicit burst", rl: &RateLimit{Requests: 60, Per: engine.Duration(time.Minute), Burst: 1}, calls: []call{
			{0, "a", true, 0}, {0, "a", false, time.Second}, {time.Second, "a", true, 0},
		}},
		{name: "default period is a second", rl: &RateLimit{Requests: 1}, calls: []call{
			{0, "a", true, 0}, {0, "a", false, time.Second}, {time.Second, "a", true, 0},
		}},
		{name: "refill is capped at burst", rl: perSec, calls: []call{
			{time.Hour, "a", true, 0}, {time.Hour, "a", true, 0}, {time.Hour, "a", false, 500 * time.Millisecond},
		}},
		{name: "clock going back takes nothing", rl: perSec, calls: []call{
			{time.Second, "a", true, 0}, {time.Second, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiters()
			for i, c := range tc.calls {
				ok, retry := l.Allow(c.flow, tc.rl, t0.Add(c.at))
				if ok != c.want {
					t.Fatalf("call %d: ok = %v, want %v", i, ok, c.want)
				}
				if !ok && (retry < c.wantRetry-time.Millisecond || retry > c.wantRetry+time.Millisecond) {
					t.Errorf("call %d: retry after %s, want %s", i, retry, c.wantRetry)
				}
			}
		})
	}
}

func TestLimitersConfigChange(t *testing.T) {
	l := NewLimiters()
	now := time.Unix(0, 0)
	big := &RateLimit{Requests: 100}
	for range 50 {
		l.Allow("f", big, now)
	}
	small := &RateLimit{Requests: 1}
	if ok, _ := l.Allow("f", small, now); !ok {
		t.Fatal("first request under the new limit refused")
	}
	if ok, _ := l.Allow("f", small, now); ok {
		t.Fatal("the new, smaller burst is not in force")
	}
}

func TestLimitersBoundedAndConcurrent(t *testing.T) {
	l := NewLimiters()
	rl := &RateLimit{Requests: 1, Per: engine.Duration(time.Hour)}
	now := time.Unix(0, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxBuckets/2 + 100 {
				l.Allow(fmt.Sprintf("flow-%d-%d", g, i), rl, now)
			}
		}()
	}
	wg.Wait()
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n > maxBuckets {
		t.Fatalf("%d buckets, want at most %d", n, maxBuckets)
	}
	// Idle buckets (full again) are the first to go.
	l2 := NewLimiters()
	for i := range maxBuckets {
		l2.Allow(fmt.Sprintf("f%d", i), rl, now)
	}
	later := now.Add(2 * time.Hour)
	if ok, _ := l2.Allow("new", rl, later); !ok {
		t.Fatal("new flow refused")
	}
	if len(l2.buckets) != 1 {
		t.Errorf("%d buckets after evicting idle ones, want 1", len(l2.buckets))
	}
}
