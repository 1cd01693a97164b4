package ui

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine/netguard"
)

func TestAddressWarning(t *testing.T) {
	closed := netguard.New(nil).Check
	allow, _ := netguard.ParseAllowList("127.0.0.0/8")
	open := netguard.New(allow).Check
	for _, tc := range []struct {
		name, url string
		check     func(netip.Addr) error
		want      string // "" for no warning
	}{
		{"loopback", "http://127.0.0.1:8080/x", closed, "--allow-nets 127.0.0.1/32"},
		{"localhost", "http://localhost/x/{{ trigger.body.id }}", closed, "calls localhost"},
		{"private", "https://10.1.2.3/", closed, "--allow-nets 10.1.2.3/32"},
		{"opened by --allow-nets", "http://127.0.0.1:8080/x", open, ""},
		{"metadata stays closed", "http://169.254.169.254/latest", open, "always refuses"},
		{"public", "https://api.example.com/orders", closed, ""},
		{"host from a placeholder", "https://{{ vars.host }}/x", closed, ""},
		{"not a URL", "hello 127.0.0.1", closed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := addressWarning(tc.url, tc.check)
			if tc.want == "" {
				if ok {
					t.Errorf("warning %q, want none", got)
				}
				return
			}
			if !ok || !strings.Contains(got, tc.want) {
				t.Errorf("warning = %q (%v), want one containing %q", got, ok, tc.want)
			}
		})
	}
}
