// Package oauthtest is a fake OAuth 2.0 provider for tests: a consent page
// that approves at once (or denies), a token endpoint that checks the client,
// the redirect URI and the PKCE verifier (RFC 7636, S256), refresh and client
// credentials grants, and an API route that accepts only live access tokens.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Provider is a running fake provider on 127.0.0.1.
type Provider struct {
	*httptest.Server
	ClientID, ClientSecret string
	// ExpiresIn is the lifetime of access tokens it issues (default 1h).
	ExpiresIn time.Duration

	mu                          sync.Mutex
	codes                       map[string]grant
	access                      map[string]time.Time // token → expiry
	refresh                     map[string]bool
	deny                        bool
	badRefr                     bool
	refreshes, exchanges, calls int
}

// Counts returns the successful code exchanges, refresh grants and API calls.
func (p *Provider) Counts() (exchanges, refreshes, calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges, p.refreshes, p.calls
}

type grant struct{ challenge, redirect string }

// New starts a provider; Close it when done.
func New(clientID, clientSecret string) *Provider {
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, ExpiresIn: time.Hour,
		codes: map[string]grant{}, access: map[string]time.Time{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /api/me", p.me)
	p.Server = httptest.NewServer(mux)
	return p
}

// AuthURL and TokenURL are the endpoints to configure.
func (p *Provider) AuthURL() string  { return p.URL + "/authorize" }
func (p *Provider) TokenURL() string { return p.URL + "/token" }

// Deny makes the consent page refuse (error=access_denied).
func (p *Provider) Deny(on bool) { p.mu.Lock(); p.deny = on; p.mu.Unlock() }

// FailRefresh makes refresh grants fail with invalid_grant.
func (p *Provider) FailRefresh(on bool) { p.mu.Lock(); p.badRefr = on; p.mu.Unlock() }

// Revoke makes every access token issued so far invalid (the API answers 401).
func (p *Provider) Revoke() { p.mu.Lock(); p.access = map[string]time.Time{}; p.mu.Unlock() }

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	if p.deny {
		back.Set("error", "access_denied")
		back.Set("error_description", "the user said no")
	} else {
		code := random()
		p.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		back.Set("code", code)
	}
	p.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func fail(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fail(w, 400, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		fail(w, 401, "invalid_client", "client authentication failed")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		g, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		if !ok || g.redirect != r.PostForm.Get("redirect_uri") {
			fail(w, 400, "invalid_grant", "unknown code or redirect_uri mismatch")
			return
		}
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			fail(w, 400, "invalid_grant", "PKCE verification failed")
			return
		}
		p.exchanges++
		p.issue(w, true)
	case "refresh_token":
		if p.badRefr || !p.refresh[r.PostForm.Get("refresh_token")] {
			fail(w, 400, "invalid_grant", "refresh token expired or revoked")
			return
		}
		p.refreshes++
		p.issue(w, false) // no new refresh token: the old one stays valid
	case "client_credentials":
		p.issue(w, false)
	default:
		fail(w, 400, "unsupported_grant_type", "")
	}
}

// issue answers a token response; the caller holds mu.
func (p *Provider) issue(w http.ResponseWriter, withRefresh bool) {
	at := "at-" + random()
	p.access[at] = time.Now().Add(p.ExpiresIn)
	out := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(p.ExpiresIn / time.Second),
		"instance_url": p.URL}
	if withRefresh {
		rt := "rt-" + random()
		p.refresh[rt] = true
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// Valid reports whether an access token is live.
func (p *Provider) Valid(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	exp, ok := p.access[token]
	return ok && time.Now().Before(exp)
}

func (p *Provider) me(w http.ResponseWriter, r *http.Request) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix || !p.Valid(h[len(prefix):]) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		fail(w, 401, "invalid_token", "access token invalid or expired")
		return
	}
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"user":"ada"}`))
}
