package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMaskedHeaders(t *testing.T) {
	raw := "Host: x\r\nContent-Type: application/json\r\nStripe-Signature: t=1,v1=abcdef\r\n" +
		"Authorization: Bearer tok_123\r\nX-Hub-Signature-256: sha256=ffee\r\nX-My-Key: k-999\r\nX-Repeat: a\r\nX-Repeat: b\r\nbroken line\r\n\r\n"
	h := maskedHeaders([]byte(raw), "x-my-key")
	cases := []struct{ name, want string }{
		{"host", "x"},
		{"content-type", "application/json"},
		{"stripe-signature", fmt.Sprintf("[masked, %d bytes]", len("t=1,v1=abcdef"))},
		{"authorization", fmt.Sprintf("[masked, %d bytes]", len("Bearer tok_123"))},
		{"x-hub-signature-256", fmt.Sprintf("[masked, %d bytes]", len("sha256=ffee"))},
		{"x-my-key", fmt.Sprintf("[masked, %d bytes]", len("k-999"))}, // the flow's own credential header
		{"x-repeat", "a, b"},
	}
	for _, tc := range cases {
		if h[tc.name] != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, h[tc.name], tc.want)
		}
	}
	if len(h) != len(cases) {
		t.Errorf("headers %v", h)
	}
	for _, secret := range []string{"abcdef", "tok_123", "ffee", "k-999"} {
		if strings.Contains(fmt.Sprint(h), secret) {
			t.Errorf("%q shows", secret)
		}
	}
}

func TestRefusedLogRateLimited(t *testing.T) {
	var lines []string
	r := &deliveryRecorder{logs: map[string]*logWindow{}, logf: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) },
		reason: func(err error, _ int) string { return err.Error() }}
	start := time.Now()
	refuse := func(flow string, at time.Time) {
		r.logRefused(&pendingDelivery{flowID: flow, method: "POST", status: 401, remote: "10.0.0.1", err: errors.New("no signature matched"), at: at})
	}
	for i := range 8 {
		refuse("a", start.Add(time.Duration(i)*time.Millisecond))
	}
	refuse("b", start)
	if len(lines) != refusedLogBurst+1 || !strings.Contains(lines[0], "webhook a refused: POST 401 from 10.0.0.1: no signature matched") {
		t.Fatalf("first window: %q", lines)
	}
	refuse("a", start.Add(refusedLogWindow+time.Second))
	if got := lines[len(lines)-2:]; got[0] != "webhook a: 3 more refused requests were not logged" || !strings.Contains(got[1], "webhook a refused") {
		t.Fatalf("next window: %q", got)
	}
}
