package ui

import (
	"net"
	"strings"
	"sync"
	"time"
)

// LoginLimits bound password guessing on /login, per client address and per
// account (the email typed, whether or not an account has it, so that the
// answers do not tell which emails exist). Each limit lets a number of failed
// attempts through, then every further attempt waits Base, doubling with each
// failure up to Max; an attempt that comes too early gets 429 with
// Retry-After and is not checked (no password comparison, no count). A
// successful sign-in clears its account's count; an address's failures are
// forgotten after Forget without one. The zero value is ready to use.
type LoginLimits struct {
	// AccountFree is how many failures an account may have before attempts
	// wait (default 5).
	AccountFree int
	// AddressFree is the same per client address (default 20: several
	// people may share an address behind NAT). IPv6 addresses count per /64.
	AddressFree int
	// Base is the first wait; each further failure doubles it (default 1s).
	Base time.Duration
	// Max caps the wait (default 15m).
	Max time.Duration
	// Forget is how long without a failure clears a count (default 1h).
	Forget time.Duration
	// MaxEntries bounds how many addresses, and how many accounts, are
	// tracked (default 10,000 each, a few MB at most): when full, a new one
	// replaces the least blocked of a few sampled at random.
	MaxEntries int
	// Now is the clock (default time.Now); tests set their own.
	Now func() time.Time
}

// withDefaults fills the zero fields.
func (l LoginLimits) withDefaults() LoginLimits {
	if l.AccountFree <= 0 {
		l.AccountFree = 5
	}
	if l.AddressFree <= 0 {
		l.AddressFree = 20
	}
	if l.Base <= 0 {
		l.Base = time.Second
	}
	if l.Max <= 0 {
		l.Max = 15 * time.Minute
	}
	if l.Forget <= 0 {
		l.Forget = time.Hour
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 10000
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return l
}

// loginLimiter keeps the failure counts of LoginLimits. It is safe for
// concurrent use.
type loginLimiter struct {
	cfg      LoginLimits
	mu       sync.Mutex
	addrs    map[string]*failures
	accounts map[string]*failures
}

// failures is one address's or account's recent failed attempts.
type failures struct {
	n     int
	last  time.Time // of the last failure
	until time.Time // no attempt before this
}

func newLoginLimiter(cfg LoginLimits) *loginLimiter {
	return &loginLimiter{cfg: cfg.withDefaults(), addrs: map[string]*failures{}, accounts: map[string]*failures{}}
}

// begin admits a sign-in attempt from addr for account, or returns how long
// it must wait. An admitted attempt counts as a failure at once (so that
// parallel attempts cannot all slip through before the first answer);
// succeeded takes it back.
func (l *loginLimiter) begin(addr, account string) (wait time.Duration) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, b := l.entry(l.addrs, addr, now), l.entry(l.accounts, account, now)
	for _, f := range []*failures{a, b} {
		if w := f.until.Sub(now); w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return wait
	}
	l.fail(a, l.cfg.AddressFree, now)
	l.fail(b, l.cfg.AccountFree, now)
	return 0
}

// succeeded records a successful sign-in: the account's count is cleared and
// the address's failure counted by begin is taken back.
func (l *loginLimiter) succeeded(addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, account)
	if f := l.addrs[addr]; f != nil && f.n > 0 {
		f.n--
		if f.n < l.cfg.AddressFree {
			f.until = time.Time{}
		}
	}
}

// fail counts one failure and sets the wait before the next attempt.
func (l *loginLimiter) fail(f *failures, free int, now time.Time) {
	f.n++
	f.last = now
	if f.n < free {
		return
	}
	wait := l.cfg.Max
	if shift := f.n - free; shift < 32 {
		if w := l.cfg.Base << shift; w > 0 && w < wait {
			wait = w
		}
	}
	f.until = now.Add(wait)
}

// entry returns key's failures in m, creating them (within MaxEntries) and
// clearing counts older than Forget.
func (l *loginLimiter) entry(m map[string]*failures, key string, now time.Time) *failures {
	if f := m[key]; f != nil {
		if now.Sub(f.last) > l.cfg.Forget && !now.Before(f.until) {
			*f = failures{}
		}
		return f
	}
	if len(m) >= l.cfg.MaxEntries {
		l.evict(m, now)
	}
	f := &failures{}
	m[key] = f
	return f
}

// evict removes one entry of a full map: of up to 8 taken at random (map
// order), the one whose wait ends first (a forgotten or unblocked one ends
// in the past). A flood of new addresses or emails thus cannot grow memory,
// and evicts a blocked entry only by chance, after many attempts that each
// cost a password check.
func (l *loginLimiter) evict(m map[string]*failures, now time.Time) {
	var victim string
	var end time.Time
	i := 0
	for k, f := range m {
		e := f.until
		if now.Sub(f.last) > l.cfg.Forget {
			e = time.Time{}
		}
		if i == 0 || e.Before(end) {
			victim, end = k, e
		}
		if i++; i == 8 {
			break
		}
	}
	delete(m, victim)
}

// clientKey is the address an attempt is counted under: the IP as fiber
// reports it, IPv6 addresses by their /64 (one host often holds a whole /64).
func clientKey(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return ip
	case parsed.To4() != nil:
		return parsed.To4().String()
	}
	return parsed.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// accountKey is the account an attempt is counted under: the email as typed,
// trimmed and lower-cased (as accounts are looked up).
func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
