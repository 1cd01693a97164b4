package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// TestReadAnswerAsksForRoom: an http step asks the engine for room before it
// reads an answer over engine.BigAnswer — for its Content-Length, or for its
// max_response_bytes once the first 64 KiB of an answer without one are
// read — and says how much it read; small answers never ask; a refusal
// ends the step with the engine's reason.
func TestReadAnswerAsksForRoom(t *testing.T) {
	big := strings.Repeat("x", 300_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := big
		switch r.URL.Path {
		case "/small":
			body = "ok"
		case "/30k-chunked":
			body = big[:30_000]
		}
		if !strings.HasSuffix(r.URL.Path, "chunked") {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		w.Write([]byte(body[:len(body)/2]))
		w.(http.Flusher).Flush()
		w.Write([]byte(body[len(body)/2:]))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path, method  string
		max           int64
		asked, read   int64
		refuse, fails bool
	}{
		{path: "/small"},
		{path: "/length", asked: 300_000, read: 300_000},
		{path: "/chunked", asked: defaultMaxResponse + 1, read: 300_000},
		{path: "/chunked", max: 200_000, asked: 200_001, read: 0, fails: true}, // too large: nothing kept
		{path: "/length", refuse: true, asked: 300_000, fails: true},
		{path: "/length", max: 200_000, fails: true},          // over max: fails without waiting
		{path: "/30k-chunked", max: 10_000, fails: true},      // small, but over max
		{path: "/length", method: "HEAD", asked: 0, read: -1}, // a length, no body
	} {
		t.Run(fmt.Sprint(tc.method, tc.path, tc.max, tc.refuse), func(t *testing.T) {
			var asked, read int64 = 0, -1
			sc := &engine.StepContext{HTTP: srv.Client(), Room: func(ctx context.Context, n int64) (func(int64), error) {
				asked = n
				if tc.refuse {
					return nil, errors.New("no room (test)")
				}
				return func(m int64) { read = m }, nil
			}}
			h := &HTTP{Method: tc.method, URL: srv.URL + tc.path, MaxResponseBytes: tc.max}
			out, err := h.Run(context.Background(), sc)
			if (err != nil) != tc.fails {
				t.Fatalf("err %v, output %v", err, out)
			}
			if asked != tc.asked {
				t.Errorf("asked for %d bytes, want %d", asked, tc.asked)
			}
			if tc.asked > 0 && !tc.refuse && read != tc.read {
				t.Errorf("said it read %d, want %d", read, tc.read)
			}
			if tc.fails && !tc.refuse && !strings.Contains(fmt.Sprint(err), "raise max_response_bytes") {
				t.Errorf("error %q does not say the answer is too large", err)
			}
			if tc.refuse && !strings.Contains(err.Error(), "no room (test)") {
				t.Errorf("error %q does not give the engine's reason", err)
			}
		})
	}
}
