// Package netguard is the SSRF guard for outgoing calls: a dialer that checks
// the resolved IP address of every connection (including each redirect of an
// HTTP client) and refuses loopback, private, link-local, metadata and other
// special-purpose addresses unless an allow list opens them.
//
// The check runs in net.Dialer.Control, after name resolution, so a host name
// that resolves to 10.0.0.1 is refused just like the literal 10.0.0.1, and DNS
// rebinding between check and connect is impossible.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// MaxRedirects is how many redirects HTTPClient follows before it fails.
const MaxRedirects = 10

// Guard refuses connections to special-purpose addresses outside its allow list.
// The zero value is not usable; call New.
type Guard struct {
	allow  []netip.Prefix
	dialer *net.Dialer
}

// rangeInfo names a special-purpose range and says whether an allow list may open it.
type rangeInfo struct {
	prefix netip.Prefix
	reason string
	// always: blocked even when an allowed prefix covers it (cloud metadata).
	always bool
}

// blocked lists the ranges refused by default, most specific first so that the
// reason is precise (255.255.255.255 before 240.0.0.0/4).
var blocked = func() []rangeInfo {
	list := []struct {
		cidr, reason string
		always       bool
	}{
		// IPv4.
		{"169.254.0.0/16", "link-local, cloud metadata", true},
		{"255.255.255.255/32", "broadcast", false},
		{"0.0.0.0/8", "this network", false},
		{"10.0.0.0/8", "private network", false},
		{"172.16.0.0/12", "private network", false},
		{"192.168.0.0/16", "private network", false},
		{"100.64.0.0/10", "shared address space", false},
		{"127.0.0.0/8", "loopback", false},
		{"192.0.0.0/24", "IETF protocol assignments", false},
		{"192.0.2.0/24", "documentation", false},
		{"198.51.100.0/24", "documentation", false},
		{"203.0.113.0/24", "documentation", false},
		{"198.18.0.0/15", "benchmarking", false},
		{"192.88.99.0/24", "6to4 relay anycast", false},
		{"224.0.0.0/4", "multicast", false},
		{"240.0.0.0/4", "reserved", false},
		// IPv6.
		{"fe80::/10", "link-local", true},
		{"fd00:ec2::254/128", "cloud metadata", true},
		{"::1/128", "loopback", false},
		{"::/128", "unspecified", false},
		{"::/96", "IPv4-compatible", false},
		{"64:ff9b::/96", "IPv4/IPv6 translation", false},
		{"64:ff9b:1::/48", "IPv4/IPv6 translation", false},
		{"100::/64", "discard-only", false},
		{"2001::/23", "IETF protocol assignments", false},
		{"2001:db8::/32", "documentation", false},
		{"3fff::/20", "documentation", false},
		{"2002::/16", "6to4", false},
		{"fc00::/7", "private network (unique local)", false},
		{"fec0::/10", "site-local", false},
		{"ff00::/8", "multicast", false},
	}
	out := make([]rangeInfo, len(list))
	for i, r := range list {
		out[i] = rangeInfo{prefix: netip.MustParsePrefix(r.cidr), reason: r.reason, always: r.always}
	}
	return out
}()

// ParseAllowList reads HOOKFLOW_ALLOW_NETS: comma-separated CIDRs (a bare IP
// address counts as a single host). Empty entries are ignored.
func ParseAllowList(csv string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(csv, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("parse allow list entry %q: want a CIDR like 10.0.0.0/8", part)
			}
			ip = ip.Unmap()
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("parse allow list entry %q: want a CIDR like 10.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// New returns a guard that also lets connections reach the allowed prefixes
// (except link-local and cloud metadata addresses, which stay blocked).
func New(allow []netip.Prefix) *Guard {
	g := &Guard{allow: append([]netip.Prefix(nil), allow...)}
	g.dialer = &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   g.control,
	}
	return g
}

// Check returns nil when ip may be reached, else an error wrapping
// engine.ErrBlockedAddress that names the address and why it is refused.
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.WithZone("")
	plain := ip.Unmap()
	for _, r := range blocked {
		if !r.prefix.Contains(plain) && !r.prefix.Contains(ip) {
			continue
		}
		if r.always {
			return fmt.Errorf("%w %s (%s); it cannot be allowed", engine.ErrBlockedAddress, plain, r.reason)
		}
		if g.allowed(ip, plain) {
			return nil
		}
		return fmt.Errorf("%w %s (%s); allow it with HOOKFLOW_ALLOW_NETS", engine.ErrBlockedAddress, plain, r.reason)
	}
	if !plain.IsValid() {
		return fmt.Errorf("%w %s (invalid address)", engine.ErrBlockedAddress, ip)
	}
	return nil
}

func (g *Guard) allowed(ip, plain netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(plain) || p.Contains(ip) {
			return true
		}
	}
	return false
}

// control runs after name resolution, before the socket connects.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w %q (not an IP address)", engine.ErrBlockedAddress, address)
	}
	return g.Check(ap.Addr())
}

// DialContext connects like net.Dialer.DialContext but refuses blocked
// addresses, checked on the resolved IP. Only TCP is supported.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s %s: network not supported", network, addr)
	}
	return g.dialer.DialContext(ctx, network, addr)
}

// ErrTooManyRedirects is returned (wrapped) when a call is redirected more
// than MaxRedirects times.
var ErrTooManyRedirects = errors.New("too many redirects")

// HTTPClient returns a client that dials through the guard (so every
// connection, including each redirect's, is checked), ignores proxy settings
// and follows at most MaxRedirects redirects. It has no overall timeout: the
// request's context bounds each call.
func (g *Guard) HTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:             nil,
		DialContext:       g.DialContext,
		ForceAttemptHTTP2: true,
		// Many runs call the same API at once: keep their connections.
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("follow redirect to %s: %w (more than %d)", req.URL.Redacted(), ErrTooManyRedirects, MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("follow redirect: scheme %q is not http or https", req.URL.Scheme)
			}
			return nil
		},
	}
}
