package ui_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTransportRefusalsAreJSON: refusals fasthttp makes before any handler
// runs (headers too large, a request it cannot parse) are JSON {"error"}
// like every other webhook error.
func TestTransportRefusalsAreJSON(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"plain","name":"Plain","trigger":{"type":"webhook"},"steps":[]}`)
	addr := strings.TrimPrefix(h.url, "http://")
	cases := []struct {
		name string
		req  string
		code int
	}{
		{"headers too large", "POST /hooks/plain HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\nContent-Length: 0\r\n\r\n", 431},
		{"unparsable request", "POST /hooks/plain HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tc.req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body map[string]any
			if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(b, &body) != nil || body["error"] == "" {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		})
	}
}
