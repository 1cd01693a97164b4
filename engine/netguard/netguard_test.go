package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "blanks", in: " , ,", want: nil},
		{name: "two cidrs", in: "127.0.0.0/8, 10.1.0.0/16", want: []string{"127.0.0.0/8", "10.1.0.0/16"}},
		{name: "bare ipv4 is a host", in: "192.168.1.5", want: []string{"192.168.1.5/32"}},
		{name: "bare ipv6 is a host", in: "fd00::1", want: []string{"fd00::1/128"}},
		{name: "host bits masked", in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "garbage", in: "127.0.0.0/8,nope", wantErr: `parse allow list entry "nope"`},
		{name: "bad mask", in: "10.0.0.0/33", wantErr: `parse allow list entry "10.0.0.0/33"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAllowList(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if fmt.Sprint(gotS) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", gotS, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		allow  string
		ip     string
		reason string // "" = allowed
	}{
		{name: "public v4", ip: "93.184.216.34"},
		{name: "public v6", ip: "2606:4700::1111"},
		{name: "loopback", ip: "127.0.0.1", reason: "loopback"},
		{name: "loopback other", ip: "127.8.9.10", reason: "loopback"},
		{name: "rfc1918 10", ip: "10.0.0.1", reason: "private network"},
		{name: "rfc1918 172", ip: "172.16.5.4", reason: "private network"},
		{name: "not rfc1918 172.32", ip: "172.32.0.1"},
		{name: "rfc1918 192.168", ip: "192.168.1.1", reason: "private network"},
		{name: "metadata", ip: "169.254.169.254", reason: "link-local, cloud metadata"},
		{name: "cgnat", ip: "100.64.0.1", reason: "shared address space"},
		{name: "this network", ip: "0.0.0.0", reason: "this network"},
		{name: "ietf", ip: "192.0.0.8", reason: "IETF protocol assignments"},
		{name: "benchmark", ip: "198.19.255.1", reason: "benchmarking"},
		{name: "reserved", ip: "240.0.0.1", reason: "reserved"},
		{name: "broadcast", ip: "255.255.255.255", reason: "broadcast"},
		{name: "multicast", ip: "224.0.0.251", reason: "multicast"},
		{name: "documentation v4", ip: "203.0.113.9", reason: "documentation"},
		{name: "v6 loopback", ip: "::1", reason: "loopback"},
		{name: "v6 unspecified", ip: "::", reason: "unspecified"},
		{name: "v6 ula", ip: "fd12:3456::1", reason: "private network (unique local)"},
		{name: "v6 link-local", ip: "fe80::1", reason: "link-local"},
		{name: "v6 link-local with zone", ip: "fe80::1%eth0", reason: "link-local"},
		{name: "v6 documentation", ip: "2001:db8::1", reason: "documentation"},
		{name: "v6 multicast", ip: "ff02::1", reason: "multicast"},
		{name: "v6 nat64 of loopback", ip: "64:ff9b::7f00:1", reason: "IPv4/IPv6 translation"},
		{name: "v6 ipv4-compatible", ip: "::7f00:1", reason: "IPv4-compatible"},
		{name: "v6 aws metadata", ip: "fd00:ec2::254", reason: "cloud metadata"},
		{name: "ipv4-mapped loopback", ip: "::ffff:127.0.0.1", reason: "loopback"},
		{name: "ipv4-mapped private", ip: "::ffff:10.0.0.1", reason: "private network"},
		{name: "ipv4-mapped metadata", ip: "::ffff:169.254.169.254", reason: "link-local, cloud metadata"},
		{name: "ipv4-mapped public", ip: "::ffff:93.184.216.34"},
		{name: "allowed loopback", allow: "127.0.0.0/8", ip: "127.0.0.1"},
		{name: "allowed loopback mapped", allow: "127.0.0.0/8", ip: "::ffff:127.0.0.1"},
		{name: "allow list is not everything", allow: "127.0.0.0/8", ip: "10.0.0.1", reason: "private network"},
		{name: "allow all keeps metadata blocked", allow: "0.0.0.0/0", ip: "169.254.169.254", reason: "link-local, cloud metadata"},
		{name: "allow all keeps mapped metadata blocked", allow: "0.0.0.0/0,::/0", ip: "::ffff:169.254.169.254", reason: "link-local, cloud metadata"},
		{name: "allow link-local explicitly still blocked", allow: "169.254.0.0/16", ip: "169.254.1.1", reason: "link-local, cloud metadata"},
		{name: "allow v6 all keeps fe80 blocked", allow: "::/0", ip: "fe80::1", reason: "link-local"},
		{name: "allow all opens private", allow: "0.0.0.0/0", ip: "192.168.0.10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allow, err := ParseAllowList(tc.allow)
			if err != nil {
				t.Fatal(err)
			}
			err = New(allow).Check(netip.MustParseAddr(tc.ip))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tc.ip, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%s) = nil, want blocked (%s)", tc.ip, tc.reason)
			}
			if !errors.Is(err, engine.ErrBlockedAddress) {
				t.Fatalf("error %v does not wrap ErrBlockedAddress", err)
			}
			if !strings.Contains(err.Error(), "("+tc.reason+")") {
				t.Fatalf("error %q, want reason %q", err, tc.reason)
			}
		})
	}
}

func TestCheckMessage(t *testing.T) {
	err := New(nil).Check(netip.MustParseAddr("10.0.0.1"))
	want := "blocked address 10.0.0.1 (private network); allow it with HOOKFLOW_ALLOW_NETS"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestDialContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	loop := netip.MustParsePrefix("127.0.0.0/8")
	tests := []struct {
		name    string
		allow   []netip.Prefix
		network string
		addr    string
		wantErr string
	}{
		{name: "blocked literal", network: "tcp", addr: ln.Addr().String(), wantErr: "blocked address 127.0.0.1 (loopback)"},
		{name: "blocked by name", network: "tcp", addr: net.JoinHostPort("localhost", portOf(ln)), wantErr: "blocked address"},
		{name: "allowed", allow: []netip.Prefix{loop}, network: "tcp", addr: ln.Addr().String()},
		{name: "allowed tcp4", allow: []netip.Prefix{loop}, network: "tcp4", addr: ln.Addr().String()},
		{name: "udp refused", allow: []netip.Prefix{loop}, network: "udp", addr: ln.Addr().String(), wantErr: "network not supported"},
		{name: "metadata", allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, network: "tcp", addr: "169.254.169.254:80", wantErr: "blocked address 169.254.169.254"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.allow).DialContext(context.Background(), tc.network, tc.addr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded, want error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func portOf(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func TestHTTPClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "hello")
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			// /hop/N redirects N more times, then to /ok.
			var n int
			fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
			if n <= 0 {
				http.Redirect(w, r, "/ok", http.StatusFound)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		}
	}))
	defer srv.Close()
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name     string
		allow    []netip.Prefix
		path     string
		wantBody string
		wantErr  string
	}{
		{name: "blocked without allow list", path: "/ok", wantErr: "blocked address 127.0.0.1"},
		{name: "allowed", allow: loop, path: "/ok", wantBody: "hello"},
		{name: "ten redirects are followed", allow: loop, path: "/hop/9", wantBody: "hello"},
		{name: "eleven redirects fail", allow: loop, path: "/hop/10", wantErr: "too many redirects"},
		{name: "endless redirects fail", allow: loop, path: "/loop", wantErr: "too many redirects"},
		{name: "redirect to metadata is checked", allow: loop, path: "/to-metadata", wantErr: "blocked address 169.254.169.254"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := New(tc.allow).HTTPClient().Get(srv.URL + tc.path)
			if tc.wantErr != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatal("want error")
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "blocked") && !errors.Is(err, engine.ErrBlockedAddress) {
					t.Fatalf("err %v does not wrap ErrBlockedAddress", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != tc.wantBody {
				t.Fatalf("body %q, want %q", b, tc.wantBody)
			}
		})
	}
}

func TestHTTPClientIgnoresProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://10.0.0.1:3128")
	t.Setenv("http_proxy", "http://10.0.0.1:3128")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "direct") }))
	defer srv.Close()
	resp, err := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).HTTPClient().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "direct" {
		t.Fatalf("body %q", b)
	}
}
