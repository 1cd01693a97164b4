package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/netguard"
)

// apiServer answers by path; each handler checks what the request carried and
// answers 400 "bad request: …" when something is missing.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	bad := func(w http.ResponseWriter, format string, args ...any) {
		http.Error(w, "bad request: "+fmt.Sprintf(format, args...), http.StatusBadRequest)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, `{"id":42,"tags":["x"],"ok":true}`)
	})
	mux.HandleFunc("GET /text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			bad(w, "content-type %q", ct)
			return
		}
		if q := r.URL.Query(); q.Get("a") != "1" || q.Get("b") != "x y" {
			bad(w, "query %v", q)
			return
		}
		if r.Header.Get("X-Trace") != "t1" {
			bad(w, "missing X-Trace")
			return
		}
		var body struct {
			ID     string  `json:"id"`
			Amount float64 `json:"amount"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.ID != "o1" || body.Amount != 12.5 {
			bad(w, "body %+v %v", body, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"created":%q,"key":%q}`, body.ID, r.Header.Get("Idempotency-Key"))
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			bad(w, "content-type %q", ct)
			return
		}
		if err := r.ParseForm(); err != nil {
			bad(w, "%v", err)
			return
		}
		fmt.Fprintf(w, "name=%s n=%s tags=%s", r.PostForm.Get("name"), r.PostForm.Get("n"), strings.Join(r.PostForm["tags"], "+"))
	})
	mux.HandleFunc("PUT /raw", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s|%s", r.Header.Get("Content-Type"), b)
	})
	mux.HandleFunc("GET /auth", func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		fmt.Fprintf(w, "authz=%s basic=%s:%s key=%s q=%s", r.Header.Get("Authorization"), u, p, r.Header.Get("X-Api-Key"), r.URL.Query().Get("api_key"))
	})
	mux.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(r.PathValue("code"), "%d", &code)
		if ra := r.URL.Query().Get("retry_after"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"status %d for %s"}`, code, r.URL.RawQuery)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/text", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := apiServer(t)
	u := srv.URL
	tests := []struct {
		name      string
		with      string
		class     string // ok, permanent, retryable, plain
		errHas    string
		status    int
		body      any // expected output body (compared as JSON)
		bodyHas   string
		after     time.Duration
		noOutput  bool
		checkHead func(t *testing.T, h map[string]any)
	}{
		{name: "get json", with: `{"url":"` + u + `/json"}`, class: "ok", status: 200,
			body: map[string]any{"id": 42.0, "tags": []any{"x"}, "ok": true},
			checkHead: func(t *testing.T, h map[string]any) {
				if h["x-multi"] != "a, b" || !strings.HasPrefix(h["content-type"].(string), "application/json") {
					t.Errorf("headers %v", h)
				}
			}},
		{name: "get text", with: `{"method":"get","url":"` + u + `/text"}`, class: "ok", status: 200, body: "hello"},
		{name: "post json with query headers idempotency",
			with:  `{"method":"POST","url":"` + u + `/orders?a=1","query":{"b":"x y"},"headers":{"X-Trace":"t1"},"body":{"id":"o1","amount":12.5},"idempotency":true}`,
			class: "ok", status: 201, body: map[string]any{"created": "o1", "key": "run_1:step_1"}},
		{name: "body makes the default method POST",
			with:  `{"url":"` + u + `/orders?a=1","query":{"b":"x y"},"headers":{"X-Trace":"t1"},"body":{"id":"o1","amount":12.5}}`,
			class: "ok", status: 201, body: map[string]any{"created": "o1", "key": ""}},
		{name: "form body", with: `{"method":"POST","url":"` + u + `/form","body_type":"form","body":{"name":"Ann Lee","n":3,"tags":["a","b"]}}`,
			class: "ok", status: 200, body: "name=Ann Lee n=3 tags=a+b"},
		{name: "raw body", with: `{"method":"PUT","url":"` + u + `/raw","body":"<x/>","headers":{"Content-Type":"application/xml"}}`,
			class: "ok", status: 200, body: "application/xml|<x/>"},
		{name: "raw body default type", with: `{"method":"PUT","url":"` + u + `/raw","body":"hi"}`,
			class: "ok", status: 200, body: "text/plain; charset=utf-8|hi"},
		{name: "bearer", with: `{"url":"` + u + `/auth","auth":{"type":"bearer","token":"tok123"}}`,
			class: "ok", status: 200, bodyHas: "authz=Bearer tok123"},
		{name: "basic", with: `{"url":"` + u + `/auth","auth":{"type":"basic","username":"ann","password":"pw1"}}`,
			class: "ok", status: 200, bodyHas: "basic=ann:pw1"},
		{name: "header key", with: `{"url":"` + u + `/auth","auth":{"type":"header","name":"X-Api-Key","value":"k1"}}`,
			class: "ok", status: 200, bodyHas: "key=k1"},
		{name: "query key", with: `{"url":"` + u + `/auth","auth":{"type":"query","name":"api_key","value":"k2"}}`,
			class: "ok", status: 200, bodyHas: "q=k2"},
		{name: "404 permanent with body", with: `{"url":"` + u + `/status/404"}`, class: "permanent",
			errHas: `HTTP 404 Not Found: {"error":"status 404 for "}`, status: 404},
		{name: "400 permanent", with: `{"url":"` + u + `/status/400"}`, class: "permanent", errHas: "HTTP 400 Bad Request", status: 400},
		{name: "401 permanent", with: `{"url":"` + u + `/status/401"}`, class: "permanent", errHas: "HTTP 401 Unauthorized", status: 401},
		{name: "408 retryable", with: `{"url":"` + u + `/status/408"}`, class: "retryable", errHas: "HTTP 408", status: 408},
		{name: "429 retry-after seconds", with: `{"url":"` + u + `/status/429","query":{"retry_after":"7"}}`,
			class: "retryable", errHas: "HTTP 429 Too Many Requests", status: 429, after: 7 * time.Second},
		{name: "503 retryable", with: `{"url":"` + u + `/status/503"}`, class: "retryable", errHas: "HTTP 503 Service Unavailable", status: 503},
		{name: "500 retryable", with: `{"url":"` + u + `/status/500"}`, class: "retryable", errHas: "HTTP 500", status: 500},
		{name: "timeout", with: `{"url":"` + u + `/slow","timeout":"150ms"}`, class: "plain", errHas: "timed out", noOutput: true},
		{name: "answer over the limit", with: `{"url":"` + u + `/big","max_response_bytes":10}`, class: "permanent",
			errHas: "over 10 bytes", noOutput: true},
		{name: "redirect followed", with: `{"url":"` + u + `/redirect"}`, class: "ok", status: 200, body: "hello"},
		{name: "redirect not followed", with: `{"url":"` + u + `/redirect","follow_redirects":false}`, class: "ok", status: 302},
		{name: "ftp refused", with: `{"url":"ftp://example.com/x"}`, class: "permanent", errHas: "http:// or https://", noOutput: true},
		{name: "bad auth type", with: `{"url":"` + u + `/json","auth":{"type":"digest"}}`, class: "permanent", errHas: `auth: type "digest"`, noOutput: true},
		{name: "unknown setting", with: `{"url":"` + u + `/json","retries":3}`, class: "permanent", errHas: "unknown field", noOutput: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, httpKind, testSC(t), tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if tc.after != 0 && engine.RetryAfter(err) != tc.after {
				t.Errorf("retry after %v, want %v", engine.RetryAfter(err), tc.after)
			}
			if tc.noOutput {
				if out != nil {
					t.Errorf("output %v, want none", out)
				}
				return
			}
			m := asJSON(t, out)
			if m["status"] != float64(tc.status) {
				t.Errorf("status %v, want %d", m["status"], tc.status)
			}
			if tc.body != nil {
				gotB, _ := json.Marshal(m["body"])
				wantB, _ := json.Marshal(tc.body)
				if string(gotB) != string(wantB) {
					t.Errorf("body %s, want %s", gotB, wantB)
				}
			}
			if tc.bodyHas != "" && !strings.Contains(fmt.Sprint(m["body"]), tc.bodyHas) {
				t.Errorf("body %v, want it to contain %q", m["body"], tc.bodyHas)
			}
			if tc.checkHead != nil {
				tc.checkHead(t, m["headers"].(map[string]any))
			}
		})
	}
}

func TestHTTPRetryAfterDate(t *testing.T) {
	srv := apiServer(t)
	at := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	sc := testSC(t)
	_, err := run(t, httpKind, sc, `{"url":"`+srv.URL+`/status/429","query":{"retry_after":"`+at+`"}}`)
	checkErr(t, err, "retryable", "HTTP 429")
	if d := engine.RetryAfter(err); d < 100*time.Second || d > 120*time.Second {
		t.Fatalf("retry after %v, want about 2m", d)
	}
}

func TestHTTPBlockedWithoutAllowList(t *testing.T) {
	srv := apiServer(t)
	sc := testSC(t)
	sc.HTTP = netguard.New(nil).HTTPClient()
	out, err := run(t, httpKind, sc, `{"url":"`+srv.URL+`/json"}`)
	checkErr(t, err, "permanent", "blocked address 127.0.0.1 (loopback)")
	if !errors.Is(err, engine.ErrBlockedAddress) {
		t.Fatalf("error %v does not wrap ErrBlockedAddress", err)
	}
	if out != nil {
		t.Fatalf("output %v", out)
	}
}

func TestHTTPSecretsStayOutOfErrors(t *testing.T) {
	srv := apiServer(t)
	dead := deadAddr(t)
	const secret = "s3cr3t-value/with+chars"
	tests := []struct {
		name, url, class string
	}{
		{name: "echoed in an error answer", url: srv.URL + "/status/500", class: "retryable"},
		{name: "in a connection error", url: "http://" + dead + "/x", class: "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with := `{"url":"` + tc.url + `","auth":{"type":"query","name":"key","value":"` + secret + `"}}`
			_, err := run(t, httpKind, testSC(t), with)
			checkErr(t, err, tc.class, "")
			for _, form := range []string{secret, "s3cr3t-value%2Fwith%2Bchars"} {
				if strings.Contains(err.Error(), form) {
					t.Fatalf("error shows the secret: %v", err)
				}
			}
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Fatalf("error %v, want [redacted] in place of the secret", err)
			}
		})
	}
}

// deadAddr returns a 127.0.0.1 address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHTTPOAuth2(t *testing.T) {
	var tokenCalls, apiCalls atomic.Int32
	var revoked atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		n := tokenCalls.Add(1)
		id, secret, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || !ok || id != "cid" || secret != "csecret" ||
			r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "read write" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600}`, n)
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		authz := r.Header.Get("Authorization")
		if !strings.HasPrefix(authz, "Bearer at-") || (revoked.Load() && authz == "Bearer at-1") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, authz)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	with := func(secret string) string {
		return `{"url":"` + srv.URL + `/api","auth":{"type":"oauth2","token_url":"` + srv.URL + `/token",` +
			`"client_id":"cid","client_secret":"` + secret + `","scopes":"read, write"}}`
	}
	tests := []struct {
		name       string
		secret     string
		revoke     bool
		class      string
		errHas     string
		wantBody   string
		wantTokens int32
	}{
		{name: "first call gets a token", secret: "csecret", class: "ok", wantBody: "Bearer at-1", wantTokens: 1},
		{name: "second call reuses it", secret: "csecret", class: "ok", wantBody: "Bearer at-1", wantTokens: 1},
		{name: "a refused cached token is renewed once", secret: "csecret", revoke: true, class: "ok", wantBody: "Bearer at-2", wantTokens: 2},
		{name: "bad client secret", secret: "wrong-secret", class: "permanent", errHas: `oauth2 token request to ` + srv.URL + `/token: HTTP 401 Unauthorized: {"error":"invalid_client"}`, wantTokens: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			revoked.Store(tc.revoke)
			out, err := run(t, httpKind, testSC(t), with(tc.secret))
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error shows the client secret: %v", err)
			}
			if tc.wantBody != "" {
				if got := asJSON(t, out)["body"]; got != tc.wantBody {
					t.Fatalf("body %v, want %q", got, tc.wantBody)
				}
			}
			if got := tokenCalls.Load(); got != tc.wantTokens {
				t.Fatalf("token requests %d, want %d", got, tc.wantTokens)
			}
		})
	}
}

// TestTimeouts: every HTTP-based kind gives up when the step's context ends,
// with a plain (retryable by policy) "timed out" error.
func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	u := srv.URL
	tests := []struct {
		name string
		kind engine.ActionKind
		with string
	}{
		{name: "http", kind: httpKind, with: `{"url":"` + u + `"}`},
		{name: "hubspot", kind: hubspotKind, with: `{"operation":"associate","token":"t0ken","base_url":"` + u + `","contact_id":"1","deal_id":"2"}`},
		{name: "pipedrive", kind: pipedriveKind, with: `{"operation":"create_deal","api_token":"t0ken","base_url":"` + u + `","title":"x"}`},
		{name: "slack", kind: slackKind, with: `{"webhook_url":"` + u + `","text":"x"}`},
		{name: "discord", kind: discordKind, with: `{"webhook_url":"` + u + `","text":"x"}`},
		{name: "webhook", kind: webhookKind, with: `{"url":"` + u + `","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","body":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := decodeStrict(tc.kind, tc.with)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := contextWithTimeout(200 * time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = a.Run(ctx, testSC(t))
			checkErr(t, err, "plain", "timed out")
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}
