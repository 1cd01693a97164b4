package ui_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui"
	"golang.org/x/net/html"
)

func TestSetupLoginLogout(t *testing.T) {
	e := newUIEnv(t)

	// With no user, every page leads to setup.
	if p := e.get("/"); p.code != http.StatusSeeOther || p.location != "/setup" {
		t.Fatalf("GET / before setup: %d %q", p.code, p.location)
	}
	p := e.get("/setup")
	form := mustTestID(t, p, "setup-form")
	for _, typ := range []string{"email", "password"} {
		if len(findAll(form, func(n *html.Node) bool { return n.Data == "input" && attr(n, "type") == typ })) != 1 {
			t.Errorf("setup form has no type=%s input", typ)
		}
	}
	if p := e.post("/setup", url.Values{"email": {"admin@example.com"}, "password": {"short"}}); p.code != http.StatusUnprocessableEntity ||
		!strings.Contains(text(mustTestID(t, p, "auth-error")), "8 characters") {
		t.Errorf("short password: %d", p.code)
	}
	csrf := e.setup()
	if p := e.get("/"); p.code != http.StatusSeeOther || p.location != "/flows" {
		t.Errorf("GET / after setup: %d %q", p.code, p.location)
	}
	if p := e.get("/flows"); text(mustTestID(t, p, "user-email")) != "admin@example.com" {
		t.Errorf("signed-in user not shown")
	}
	// Setup is closed once a user exists.
	if p := e.get("/setup"); p.code != http.StatusSeeOther || p.location != "/login" {
		t.Errorf("GET /setup after setup: %d %q", p.code, p.location)
	}

	// Writes without the CSRF token are refused.
	if p := e.post("/flows/new", url.Values{"name": {"x"}}); p.code != http.StatusForbidden ||
		!strings.Contains(text(mustTestID(t, p, "error-message")), "CSRF") {
		t.Errorf("POST without CSRF: %d", p.code)
	}
	if p := e.post("/logout", url.Values{"_csrf": {csrf}}); p.code != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("logout: %d %q", p.code, p.location)
	}
	if p := e.get("/flows"); p.code != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login?next=") {
		t.Errorf("GET /flows after logout: %d %q", p.code, p.location)
	}

	cases := []struct {
		name, email, password string
		code                  int
		location              string
	}{
		{name: "wrong password", email: "admin@example.com", password: "wrong password", code: http.StatusUnauthorized},
		{name: "unknown user", email: "nobody@example.com", password: "correct horse", code: http.StatusUnauthorized},
		{name: "right password, next kept on site", email: "Admin@example.com", password: "correct horse", code: http.StatusSeeOther, location: "/runs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.get("/login?next=/runs")
			form := mustTestID(t, p, "login-form")
			if len(findAll(form, func(n *html.Node) bool { return attr(n, "type") == "email" })) != 1 {
				t.Errorf("login form has no type=email input")
			}
			p = e.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}, "next": {"/runs"}})
			if p.code != tc.code || p.location != tc.location {
				t.Fatalf("login: %d %q, want %d %q", p.code, p.location, tc.code, tc.location)
			}
			if tc.code == http.StatusUnauthorized && text(mustTestID(t, p, "auth-error")) != "Wrong email or password." {
				t.Errorf("no error shown")
			}
		})
	}
	// A new session has a new CSRF token.
	if e.csrf() == csrf {
		t.Errorf("login kept the old CSRF token")
	}
	// An off-site next is ignored.
	for _, next := range []string{"//evil.example", "/\t/evil.example", "/\r\nX-Inj: 1", "/\\evil.example", "https://evil.example/"} {
		e.post("/logout", url.Values{"_csrf": {e.csrf()}})
		if p := e.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"correct horse"}, "next": {next}}); p.location != "/flows" {
			t.Errorf("next %q: redirected to %q", next, p.location)
		}
	}
	// Compressed form bodies are refused before any form parsing (a gzip
	// bomb must not reach fasthttp's unbounded multipart inflation).
	req, _ := http.NewRequest(http.MethodPost, e.base+"/login", strings.NewReader("x"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	req.Header.Set("Content-Encoding", "gzip")
	if p := e.do(req); p.code != http.StatusUnsupportedMediaType {
		t.Errorf("gzip form body: %d", p.code)
	}
}

func TestStaticAndErrors(t *testing.T) {
	e := newUIEnv(t)
	for _, tc := range []struct{ path, ctype string }{
		{"/static/app.css", "text/css"},
		{"/static/app.js", "javascript"},
		{"/static/htmx.min.js", "javascript"},
	} {
		resp, err := http.Get(e.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	e.setup()
	p := e.get("/flows/nope")
	if p.code != http.StatusNotFound || !strings.Contains(text(mustTestID(t, p, "error-message")), "not found") {
		t.Errorf("missing flow: %d %s", p.code, p.body)
	}
	if p := e.get("/static/nope.css"); p.code != http.StatusNotFound {
		t.Errorf("missing static file: %d", p.code)
	}
}

// TestSessionsStoredHashed: the database file holds neither the session id
// the browser keeps nor the CSRF token the pages carry, only their hashes; a
// session stored in clear (before hashing) no longer signs anyone in.
func TestSessionsStoredHashed(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	base, _ := url.Parse(e.base)
	var raw string
	for _, c := range e.client.Jar.Cookies(base) {
		if c.Name == "hookflow_session" {
			raw = c.Value
		}
	}
	if raw == "" || csrf == "" {
		t.Fatalf("no session cookie (%q) or CSRF token (%q)", raw, csrf)
	}
	var dump bytes.Buffer
	if _, err := e.store.Backup(context.Background(), &dump); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value string
		want        bool
	}{
		{name: "raw session id", value: raw},
		{name: "raw CSRF token", value: csrf},
		{name: "hashed session id", value: ui.TokenHash(raw), want: true},
		{name: "hashed CSRF token", value: ui.TokenHash(csrf), want: true},
	} {
		if got := bytes.Contains(dump.Bytes(), []byte(tc.value)); got != tc.want {
			t.Errorf("%s in the database file: %v, want %v", tc.name, got, tc.want)
		}
	}
	// The session works: a write with its token goes through.
	if p := e.post("/logout", url.Values{"_csrf": {csrf}}); p.code != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("logout: %d %q", p.code, p.location)
	}
	// A session stored the old way (id in clear) is not found any more.
	u, err := e.store.GetUserByEmail(context.Background(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	old := "oldclearsessionid"
	if err := e.store.PutSession(context.Background(), &engine.Session{ID: old, UserID: u.ID, CSRF: "oldcsrf", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.client.Jar.SetCookies(base, []*http.Cookie{{Name: "hookflow_session", Value: old, Path: "/"}})
	if p := e.get("/flows"); p.code != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
		t.Errorf("a session stored in clear still signs in: %d %q", p.code, p.location)
	}
}

// clock is a settable time for the login limits.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// limitedEnv is the real server on the harness's engine and store, with the
// login limits on a fake clock.
func limitedEnv(t *testing.T, limits ui.LoginLimits) (*uiEnv, *clock) {
	t.Helper()
	e := newUIEnv(t)
	u, err := ui.NewUser("admin@example.com", "correct horse", engine.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	limits.Now = clk.Now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	srv := ui.New(ui.Deps{Engine: e.eng, Secrets: e.secrets, BaseURL: e.base, LoginLimits: limits})
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.Shutdown(time.Second) })
	return e, clk
}

// TestLoginLimits: after the free failures each attempt waits, doubling up
// to the cap (429 + Retry-After, even with the right password, which is not
// checked); the right password once the wait is over signs in and clears the
// account's count; many emails from one address meet the address's limit.
func TestLoginLimits(t *testing.T) {
	e, clk := limitedEnv(t, ui.LoginLimits{AccountFree: 3, AddressFree: 8, Base: time.Second, Max: 4 * time.Second})
	type step struct {
		advance         time.Duration
		email, password string
		code            int
		retryAfter      string
	}
	const right, wrong = "correct horse", "wrong horse"
	steps := []step{
		{email: "admin@example.com", password: wrong, code: 401},
		{email: "admin@example.com", password: wrong, code: 401},
		{email: "Admin@Example.com ", password: wrong, code: 401}, // the same account
		{email: "admin@example.com", password: right, code: 429, retryAfter: "1"},
		{advance: time.Second, email: "admin@example.com", password: wrong, code: 401},
		{email: "admin@example.com", password: wrong, code: 429, retryAfter: "2"},
		{advance: 2 * time.Second, email: "admin@example.com", password: wrong, code: 401},
		{email: "admin@example.com", password: wrong, code: 429, retryAfter: "4"},
		{advance: 4 * time.Second, email: "admin@example.com", password: wrong, code: 401},
		{email: "admin@example.com", password: right, code: 429, retryAfter: "4"}, // capped
		{advance: 3 * time.Second, email: "admin@example.com", password: right, code: 429, retryAfter: "1"},
		{advance: time.Second, email: "admin@example.com", password: right, code: 303},
		// The success cleared the account's count: a failure is free again.
		{email: "admin@example.com", password: wrong, code: 401},
		// The address has 7 failures now (the success is not one): one
		// more, whatever the email, then it waits.
		{email: "nobody@example.com", password: wrong, code: 401},
		{email: "someone@example.com", password: wrong, code: 429, retryAfter: "1"},
	}
	// A client without cookies: every attempt starts signed out.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, s := range steps {
		clk.add(s.advance)
		req, _ := http.NewRequest(http.MethodPost, e.base+"/login",
			strings.NewReader(url.Values{"email": {s.email}, "password": {s.password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != s.code || resp.Header.Get("Retry-After") != s.retryAfter {
			t.Fatalf("step %d (%s, +%s): %d Retry-After %q, want %d %q", i, s.email, s.advance,
				resp.StatusCode, resp.Header.Get("Retry-After"), s.code, s.retryAfter)
		}
	}
	// The 429 page says why, on the login form.
	p := e.post("/login", url.Values{"email": {"admin@example.com"}, "password": {right}})
	if p.code != http.StatusTooManyRequests || !strings.Contains(text(mustTestID(t, p, "auth-error")), "Too many failed sign-ins. Try again in 1s.") {
		t.Errorf("429 page: %d %s", p.code, p.body)
	}
}
