package actions

import (
	"io"
	"log"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hookflow/hookflow/engine/netguard"
)

// TestEmailIPv6Literal: an IPv6 literal host, with or without brackets,
// reaches the server ("::1" used to fail with "too many colons in address").
func TestEmailIPv6Literal(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	be := &smtpBackend{}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	port := itoa(ln.Addr().(*net.TCPAddr).Port)

	sc := testSC(t)
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("::1/128")})
	sc.Dial = g.DialContext
	for i, host := range []string{"::1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			with := `{"host":"` + host + `","port":` + port + `,"tls":"none","from":"shop@example.com","to":"ann@example.com","subject":"hi","text":"x"}`
			if _, err := run(t, emailKind, sc, with); err != nil {
				t.Fatal(err)
			}
			if _, n := be.last(); n != i+1 {
				t.Fatalf("server received %d messages, want %d", n, i+1)
			}
		})
	}
}
