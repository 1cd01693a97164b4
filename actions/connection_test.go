package actions

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// fakeConns resolves connections from a map; Refresh hands out next[name]
// once, as a provider that issued a new token.
type fakeConns struct {
	mu        sync.Mutex
	creds     map[string]*engine.Credential
	next      map[string]*engine.Credential
	refreshes int
}

func (f *fakeConns) Credential(_ context.Context, name string) (*engine.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.creds[name]
	if !ok {
		return nil, engine.Permanent(fmt.Errorf("connection %q does not exist", name))
	}
	return c, nil
}

func (f *fakeConns) Refresh(_ context.Context, name string, _ *engine.Credential) (*engine.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	n, ok := f.next[name]
	if !ok {
		return nil, engine.Permanent(&engine.ReconnectError{Name: name, Reason: "refresh failed"})
	}
	f.creds[name] = n
	return n, nil
}

func TestHTTPConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good-token-123" {
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":"bad token %s"}`, r.Header.Get("Authorization"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		cred      *engine.Credential
		next      *engine.Credential
		class     string
		want      string
		refreshes int
	}{
		{name: "valid token", cred: &engine.Credential{Type: engine.ConnOAuth2, Token: "good-token-123"}, class: "ok"},
		{name: "401 then refreshed", cred: &engine.Credential{Type: engine.ConnOAuth2, Token: "stale-token-1"},
			next: &engine.Credential{Type: engine.ConnOAuth2, Token: "good-token-123"}, class: "ok", refreshes: 1},
		{name: "401 and refresh fails", cred: &engine.Credential{Type: engine.ConnOAuth2, Token: "stale-token-2"},
			class: "permanent", want: "reconnect api", refreshes: 1},
		{name: "401 after refresh", cred: &engine.Credential{Type: engine.ConnOAuth2, Token: "stale-token-3"},
			next: &engine.Credential{Type: engine.ConnOAuth2, Token: "still-bad-token"}, class: "permanent", want: "HTTP 401", refreshes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConns{creds: map[string]*engine.Credential{"api": tc.cred}, next: map[string]*engine.Credential{}}
			if tc.next != nil {
				fc.next["api"] = tc.next
			}
			sc := testSC(t)
			sc.Connections = fc
			_, err := run(t, httpKind, sc, `{"url":"`+srv.URL+`/x","connection":"api"}`)
			checkErr(t, err, tc.class, tc.want)
			if fc.refreshes != tc.refreshes {
				t.Errorf("refreshes = %d, want %d", fc.refreshes, tc.refreshes)
			}
			for _, tok := range []string{tc.cred.Token, "still-bad-token"} {
				if err != nil && strings.Contains(err.Error(), tok) {
					t.Errorf("error shows the token: %v", err)
				}
			}
		})
	}
	if _, err := decodeStrict(httpKind, `{"url":"https://x.test","connection":"a","auth":{"type":"bearer","token":"t"}}`); err == nil {
		t.Error("auth and connection together accepted")
	}
	if _, err := run(t, httpKind, testSC(t), `{"url":"`+srv.URL+`","connection":"api"}`); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("no resolver: %v", err)
	}
}

// TestConnectionValuesHiddenFromOutput: an API that echoes the credential
// does not put it in the step's output, even for a token refreshed mid-step.
func TestConnectionValuesHiddenFromOutput(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") == "Bearer stale-token-echo" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprintf(w, `{"you_sent":%q}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	fc := &fakeConns{creds: map[string]*engine.Credential{"api": {Type: engine.ConnOAuth2, Token: "stale-token-echo"}},
		next: map[string]*engine.Credential{"api": {Type: engine.ConnOAuth2, Token: "fresh-token-echo"}}}
	sc := testSC(t)
	sc.Connections = fc
	out, err := run(t, httpKind, sc, `{"url":"`+echo.URL+`","connection":"api"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out); strings.Contains(got, "fresh-token-echo") || !strings.Contains(got, "[redacted]") {
		t.Errorf("output %s", got)
	}
}
