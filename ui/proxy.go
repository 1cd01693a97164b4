package ui

import (
	"bytes"
	"net/netip"

	"github.com/gofiber/fiber/v2"
)

// Behind a reverse proxy (docs/deploy.md) the peer of every request is the
// proxy. With Deps.TrustedProxies set, fiber reads the client address
// (c.IP(): webhook trigger data, login limits) from X-Forwarded-For and the
// scheme (c.Secure(): Secure cookies) from X-Forwarded-Proto, but only when
// the peer is one of those proxies; from any other peer both headers are
// ignored. With no trusted proxies no peer is trusted.

// proxyStrings is the trusted proxies in fiber's form.
func proxyStrings(trusted []netip.Prefix) []string {
	out := make([]string, len(trusted))
	for i, p := range trusted {
		out[i] = p.String()
	}
	return out
}

// forwardedFor runs first on every request from a trusted proxy: it rewrites
// X-Forwarded-For to the one address c.IP() reports, the rightmost one in
// the chain that is not itself a trusted proxy. (Fiber would take the
// leftmost, which the client writes: a proxy that appends to the header, as
// nginx's $proxy_add_x_forwarded_for does, would let any client choose its
// own address.) An entry that is not an address ends the walk: the hop to
// its right, which wrote it, is the client.
func (s *Server) forwardedFor(c *fiber.Ctx) error {
	if len(s.TrustedProxies) == 0 {
		return c.Next()
	}
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok || !s.trusted(peer.Unmap()) {
		return c.Next()
	}
	h := &c.Request().Header
	values := h.PeekAll(fiber.HeaderXForwardedFor)
	if len(values) == 0 {
		return c.Next()
	}
	client := peer.Unmap()
	chain := bytes.Split(bytes.Join(values, []byte(",")), []byte(","))
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseHop(chain[i])
		if !ok {
			break
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	h.Del(fiber.HeaderXForwardedFor)
	h.Set(fiber.HeaderXForwardedFor, client.String())
	return c.Next()
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop parses one X-Forwarded-For entry: an address, perhaps with a port.
func parseHop(b []byte) (netip.Addr, bool) {
	s := string(bytes.TrimSpace(b))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// secureCookie reports whether cookies get the Secure flag: when the public
// URL is https, or the request came over https (directly, or through a
// trusted proxy that says so in X-Forwarded-Proto).
func (s *Server) secureCookie(c *fiber.Ctx) bool { return s.secure || c.Secure() }
