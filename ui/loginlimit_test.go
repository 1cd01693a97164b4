package ui

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginLimiterMemoryBound: a flood of new addresses and emails keeps
// each map within MaxEntries and does not evict a blocked account.
func TestLoginLimiterMemoryBound(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l := newLoginLimiter(LoginLimits{MaxEntries: 100, Now: func() time.Time { return now }})
	for range 5 {
		l.begin("10.0.0.1", "admin@example.com")
	}
	if l.begin("10.0.0.1", "admin@example.com") == 0 {
		t.Fatal("the account is not blocked after 5 failures")
	}
	for i := range 10000 {
		l.begin(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("user%d@example.com", i))
		if len(l.addrs) > 100 || len(l.accounts) > 100 {
			t.Fatalf("after %d new entries: %d addresses, %d accounts tracked (max 100)", i+1, len(l.addrs), len(l.accounts))
		}
	}
	if l.begin("192.0.2.1", "admin@example.com") == 0 {
		t.Error("the flood evicted the blocked account")
	}
}

// TestLoginLimiterParallel: attempts that arrive together are admitted only
// up to the free count (each is counted when admitted, not when answered).
func TestLoginLimiterParallel(t *testing.T) {
	l := newLoginLimiter(LoginLimits{})
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.begin("10.0.0.1", "admin@example.com") == 0 {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 5 {
		t.Errorf("%d of 50 parallel attempts admitted, want 5", n)
	}
}

// TestLoginLimiterForget: failures older than Forget no longer count.
func TestLoginLimiterForget(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l := newLoginLimiter(LoginLimits{AccountFree: 2, Base: time.Minute, Forget: time.Hour, Now: func() time.Time { return now }})
	l.begin("a", "x")
	l.begin("a", "x")
	if w := l.begin("a", "x"); w != time.Minute {
		t.Fatalf("wait after 2 failures = %s, want 1m", w)
	}
	now = now.Add(time.Hour + time.Second)
	if w := l.begin("a", "x"); w != 0 {
		t.Fatalf("after an hour: wait %s", w)
	}
	if w := l.begin("a", "x"); w != 0 {
		t.Errorf("second failure after the count was forgotten must be free, waits %s", w)
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{ip: "192.0.2.7", want: "192.0.2.7"},
		{ip: "::ffff:192.0.2.7", want: "192.0.2.7"},
		{ip: "2001:db8::1", want: "2001:db8::/64"},
		{ip: "2001:db8::ffff:abcd:1", want: "2001:db8::/64"},
		{ip: "2001:db8:0:1::1", want: "2001:db8:0:1::/64"},
		{ip: "not an ip", want: "not an ip"},
	} {
		if got := clientKey(tc.ip); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}
