package ui

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/netguard"
)

// proxyServer is the real server on 127.0.0.1 with the given trusted proxies,
// plus a route answering what it makes of the request: "<c.IP()> <secure>".
func proxyServer(t *testing.T, trusted, baseURL string) string {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Registry: engine.NewRegistry()})
	prefixes, err := netguard.ParseAllowList(trusted)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	srv := New(Deps{Engine: eng, BaseURL: baseURL, TrustedProxies: prefixes})
	srv.App().Get("/test/client", func(c *fiber.Ctx) error {
		secure := "plain"
		if srv.secureCookie(c) {
			secure = "secure"
		}
		return c.SendString(c.IP() + " " + secure)
	})
	go srv.App().Listener(ln)
	t.Cleanup(func() {
		srv.Shutdown(time.Second)
		eng.Close(time.Second)
		st.Close()
	})
	return "http://" + ln.Addr().String()
}

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted string   // --trusted-proxies
		xff     []string // X-Forwarded-For header lines
		proto   string   // X-Forwarded-Proto
		want    string
	}{
		{name: "no trusted proxies: XFF ignored", xff: []string{"203.0.113.7"}, proto: "https", want: "127.0.0.1 plain"},
		{name: "untrusted peer: XFF ignored", trusted: "10.0.0.0/8", xff: []string{"203.0.113.7"}, proto: "https", want: "127.0.0.1 plain"},
		{name: "trusted peer: XFF used", trusted: "127.0.0.1", xff: []string{"203.0.113.7"}, proto: "https", want: "203.0.113.7 secure"},
		{name: "trusted peer, no XFF", trusted: "127.0.0.1/32", want: "127.0.0.1 plain"},
		{name: "client-written entries left of the proxy's are ignored", trusted: "127.0.0.1",
			xff: []string{"198.51.100.1, 203.0.113.7"}, want: "203.0.113.7 plain"},
		{name: "two header lines form one chain", trusted: "127.0.0.1",
			xff: []string{"198.51.100.1", "203.0.113.7"}, want: "203.0.113.7 plain"},
		{name: "chain of trusted proxies", trusted: "127.0.0.0/8, 10.0.0.0/8",
			xff: []string{"198.51.100.1, 203.0.113.7, 10.1.2.3"}, want: "203.0.113.7 plain"},
		{name: "only trusted hops: the leftmost", trusted: "127.0.0.0/8,10.0.0.0/8",
			xff: []string{"10.9.9.9, 10.1.2.3"}, want: "10.9.9.9 plain"},
		{name: "garbage left of the client is ignored", trusted: "127.0.0.1",
			xff: []string{"not-an-ip, 203.0.113.7"}, want: "203.0.113.7 plain"},
		{name: "garbage from the proxy: the proxy is the client", trusted: "127.0.0.1",
			xff: []string{"203.0.113.7, unknown"}, want: "127.0.0.1 plain"},
		{name: "IPv6 and ports", trusted: "127.0.0.1", xff: []string{"[2001:db8::1]:4711"}, want: "2001:db8::1 plain"},
		{name: "IPv6", trusted: "127.0.0.1", xff: []string{"2001:db8::2"}, want: "2001:db8::2 plain"},
		{name: "untrusted peer: X-Forwarded-Proto ignored", trusted: "10.0.0.0/8", proto: "https", want: "127.0.0.1 plain"},
		{name: "trusted peer says http", trusted: "127.0.0.1", proto: "http", want: "127.0.0.1 plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := proxyServer(t, tc.trusted, "")
			req, _ := http.NewRequest(http.MethodGet, base+"/test/client", nil)
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := string(b); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The session cookie set at setup is Secure when the public URL is https or
// a trusted proxy says the request came over https.
func TestSessionCookieSecure(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		baseURL string
		proto   string
		secure  bool
	}{
		{name: "http, direct", secure: false},
		{name: "https base URL", baseURL: "https://hooks.example.com", secure: true},
		{name: "https through a trusted proxy", trusted: "127.0.0.1", proto: "https", secure: true},
		{name: "https claimed by an untrusted peer", trusted: "10.0.0.0/8", proto: "https", secure: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := proxyServer(t, tc.trusted, tc.baseURL)
			form := url.Values{"email": {"admin@example.com"}, "password": {"correct horse"}}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/setup", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie {
					cookie = c
				}
			}
			if resp.StatusCode != http.StatusSeeOther || cookie == nil {
				t.Fatalf("setup: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
			}
			if cookie.Secure != tc.secure {
				t.Errorf("Secure = %v, want %v (%s)", cookie.Secure, tc.secure, resp.Header.Get("Set-Cookie"))
			}
		})
	}
}
