package engine_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/oauthtest"
	"github.com/hookflow/hookflow/engine/secrets"
)

type connHarness struct {
	m     *engine.Connections
	vault *secrets.Vault
	store *boltstore.Store
	path  string
	prov  *oauthtest.Provider
	mu    sync.Mutex
	now   time.Time
}

func (h *connHarness) clock() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
func (h *connHarness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

const redirectURI = "http://hookflow.test/oauth/callback"

func newConnHarness(t *testing.T) *connHarness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prov := oauthtest.New("client-one", "client-secret-s3cr3t-value")
	t.Cleanup(prov.Close)
	h := &connHarness{store: st, path: path, prov: prov, now: time.Now()}
	h.m, h.vault = newConnManager(t, st, h.clock)
	return h
}

// connStore is a store that keeps connections and flows (boltstore, pgstore).
type connStore interface {
	engine.Store
	engine.ConnectionStore
}

// newConnManager opens the secrets of st (a fixed test key) and a
// connections manager on it with the given clock.
func newConnManager(t *testing.T, st connStore, now func() time.Time) (*engine.Connections, *secrets.Vault) {
	t.Helper()
	ctx := context.Background()
	kr, err := secrets.NewKeyring(ctx, st, bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	vault, err := secrets.NewVault(ctx, st, kr)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.NewConnections(ctx, engine.ConnectionsConfig{Store: st, Flows: st, Sealer: vault, Redact: vault,
		HTTP: &http.Client{Timeout: 10 * time.Second}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return m, vault
}

func (h *connHarness) createOAuth(t *testing.T, name, secret string) {
	t.Helper()
	_, err := h.m.Create(context.Background(), &engine.ConnectionInput{Name: name, Type: engine.ConnOAuth2,
		AuthURL: h.prov.AuthURL(), TokenURL: h.prov.TokenURL(), ClientID: "client-one", Secret: secret, Scopes: []string{"read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
}

// consent opens the authorize URL as a browser would and returns the
// callback's state, code and error.
func (h *connHarness) consent(t *testing.T, name string) (state, code, perr string) {
	t.Helper()
	c, err := h.m.Get(context.Background(), name, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status == engine.ConnConnected || c.AuthorizeURL == "" {
		t.Fatalf("status %s, authorize_url %q", c.Status, c.AuthorizeURL)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(c.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("redirected to %s", loc)
	}
	q := loc.Query()
	return q.Get("state"), q.Get("code"), q.Get("error")
}

func (h *connHarness) call(t *testing.T, cred *engine.Credential) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.prov.URL+"/api/me", nil)
	cred.Apply(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestOAuthConnectionLifecycle(t *testing.T) {
	ctx := context.Background()
	h := newConnHarness(t)
	h.createOAuth(t, "crm", "client-secret-s3cr3t-value")

	if _, err := h.m.Credential(ctx, "crm"); err == nil || !strings.Contains(err.Error(), "not authorized yet") {
		t.Fatalf("credential before authorization: %v", err)
	}
	c, err := h.m.Get(ctx, "crm", redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.AuthorizeURL)
	for _, k := range []string{"state", "code_challenge", "client_id", "redirect_uri"} {
		if u.Query().Get(k) == "" {
			t.Errorf("authorize_url lacks %s: %s", k, c.AuthorizeURL)
		}
	}
	if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("scope") != "read write" {
		t.Errorf("authorize_url %s", c.AuthorizeURL)
	}
	again, _ := h.m.Get(ctx, "crm", redirectURI)
	if again.AuthorizeURL != c.AuthorizeURL {
		t.Errorf("a second GET made a new authorization while the first is valid")
	}

	state, code, _ := h.consent(t, "crm")
	if _, err := h.m.Callback(ctx, "not-the-state", code, "", redirectURI); !errors.Is(err, engine.ErrBadState) {
		t.Fatalf("wrong state: %v", err)
	}
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); err != nil {
		t.Fatalf("callback: %v", err)
	}
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); !errors.Is(err, engine.ErrBadState) {
		t.Fatalf("reused state: %v", err)
	}
	c, _ = h.m.Get(ctx, "crm", redirectURI)
	if c.Status != engine.ConnConnected || c.AuthorizeURL != "" || c.ExpiresAt == nil {
		t.Fatalf("after callback: %+v", c)
	}

	cred, err := h.m.Credential(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.call(t, cred); got != 200 {
		t.Fatalf("API with the token: %d", got)
	}
	if got := h.vault.RedactString("token " + cred.Token); strings.Contains(got, cred.Token) {
		t.Errorf("access token not redacted: %s", got)
	}

	// Before expiry: refreshed without a 401.
	h.advance(time.Hour - 30*time.Second)
	fresh, err := h.m.Credential(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Token == cred.Token {
		t.Fatal("token not refreshed before expiry")
	}
	if _, refreshes, _ := h.prov.Counts(); refreshes != 1 {
		t.Fatalf("refreshes = %d", refreshes)
	}

	// Once on a 401.
	h.prov.Revoke()
	if got := h.call(t, fresh); got != 401 {
		t.Fatalf("revoked token answered %d", got)
	}
	after, err := h.m.Refresh(ctx, "crm", fresh)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.call(t, after); got != 200 {
		t.Fatalf("after refresh on 401: %d", got)
	}

	// A refresh that fails: reconnect needed, on the connection and for steps.
	h.prov.FailRefresh(true)
	h.advance(2 * time.Hour)
	_, err = h.m.Credential(ctx, "crm")
	var re *engine.ReconnectError
	if !errors.As(err, &re) || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "reconnect crm") {
		t.Fatalf("failed refresh: %v", err)
	}
	c, _ = h.m.Get(ctx, "crm", redirectURI)
	if c.Status != engine.ConnReconnectNeeded || !strings.Contains(c.Error, "invalid_grant") || c.AuthorizeURL == "" {
		t.Fatalf("after failed refresh: %+v", c)
	}

	// Reconnecting makes it usable again.
	h.prov.FailRefresh(false)
	state, code, _ = h.consent(t, "crm")
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); err != nil {
		t.Fatal(err)
	}
	cred, err = h.m.Credential(ctx, "crm")
	if err != nil || h.call(t, cred) != 200 {
		t.Fatalf("after reconnect: %v", err)
	}

	// Nothing secret is in the database file in clear.
	sec, _ := h.m.Credential(ctx, "crm")
	h.store.Close()
	raw, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"client-secret-s3cr3t-value", sec.Token, "rt-"} {
		if bytes.Contains(raw, []byte(v)) {
			t.Errorf("database file holds %q in clear", v)
		}
	}
}

func TestOAuthCallbackErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		secret  string
		deny    bool
		wantErr string
	}{
		{name: "provider refuses consent", secret: "client-secret-s3cr3t-value", deny: true, wantErr: "access_denied"},
		{name: "token exchange refused", secret: "wrong-client-secret", wantErr: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newConnHarness(t)
			h.createOAuth(t, "c1", tc.secret)
			h.prov.Deny(tc.deny)
			state, code, perr := h.consent(t, "c1")
			_, err := h.m.Callback(ctx, state, code, perr, redirectURI)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("callback error %v, want %s", err, tc.wantErr)
			}
			c, _ := h.m.Get(ctx, "c1", redirectURI)
			if c.Status != engine.ConnNeedsAuthorization || !strings.Contains(c.Error, tc.wantErr) {
				t.Fatalf("connection %+v", c)
			}
			if strings.Contains(c.Error, "wrong-client-secret") {
				t.Error("error shows the client secret")
			}
		})
	}
}

func TestConnectionInputProblems(t *testing.T) {
	tests := []struct {
		name string
		in   engine.ConnectionInput
		want []string // problem paths
	}{
		{name: "no type", in: engine.ConnectionInput{Name: "a"}, want: []string{"type"}},
		{name: "bad name", in: engine.ConnectionInput{Name: "a b", Type: engine.ConnBearer, Token: "x"}, want: []string{"name"}},
		{name: "bearer without token", in: engine.ConnectionInput{Name: "a", Type: engine.ConnBearer}, want: []string{"token"}},
		{name: "api key", in: engine.ConnectionInput{Name: "a", Type: engine.ConnAPIKey, In: "cookie"}, want: []string{"api_key", "key_name", "in"}},
		{name: "oauth2", in: engine.ConnectionInput{Name: "a", Type: engine.ConnOAuth2, AuthURL: "ftp://x"},
			want: []string{"auth_url", "token_url", "client_id", "client_secret"}},
		{name: "ok", in: engine.ConnectionInput{Name: "a", Type: engine.ConnBasic, Username: "u"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.in.Validate()
			var got []string
			for _, p := range ps {
				got = append(got, p.Path)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("problems %v, want paths %v", ps, tc.want)
			}
		})
	}
}

func TestStaticConnectionsApplyAndUsage(t *testing.T) {
	ctx := context.Background()
	h := newConnHarness(t)
	tests := []struct {
		in     engine.ConnectionInput
		header string
		want   string
		query  string
	}{
		{in: engine.ConnectionInput{Name: "bear", Type: engine.ConnBearer, Token: "tok-123456"}, header: "Authorization", want: "Bearer tok-123456"},
		{in: engine.ConnectionInput{Name: "bas", Type: engine.ConnBasic, Username: "ada", Password: "pw-123456"}, header: "Authorization", want: "Basic YWRhOnB3LTEyMzQ1Ng=="},
		{in: engine.ConnectionInput{Name: "hk", Type: engine.ConnAPIKey, KeyName: "X-Api-Key", APIKey: "key-123456"}, header: "X-Api-Key", want: "key-123456"},
		{in: engine.ConnectionInput{Name: "qk", Type: engine.ConnAPIKey, In: "query", KeyName: "key", APIKey: "key-654321"}, query: "key=key-654321"},
	}
	for _, tc := range tests {
		t.Run(tc.in.Name, func(t *testing.T) {
			if _, err := h.m.Create(ctx, &tc.in); err != nil {
				t.Fatal(err)
			}
			if _, err := h.m.Create(ctx, &tc.in); !errors.Is(err, engine.ErrExists) {
				t.Fatalf("second create: %v", err)
			}
			cred, err := h.m.Credential(ctx, tc.in.Name)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", "https://api.example.com/x", nil)
			cred.Apply(req)
			if tc.header != "" && req.Header.Get(tc.header) != tc.want {
				t.Errorf("%s = %q, want %q", tc.header, req.Header.Get(tc.header), tc.want)
			}
			if tc.query != "" && req.URL.RawQuery != tc.query {
				t.Errorf("query %q, want %q", req.URL.RawQuery, tc.query)
			}
			for _, s := range cred.Secrets() {
				if s != "" && strings.Contains(h.vault.RedactString(req.Header.Get("Authorization")+" "+req.URL.String()), s) {
					t.Errorf("%q not redacted", s)
				}
			}
		})
	}
	flow := &engine.Flow{ID: "uses-bear", Name: "x", Trigger: engine.Trigger{Type: "manual"},
		Steps: []engine.Step{{ID: "b", Type: "branch", Default: []engine.Step{{ID: "call", Type: "http", With: []byte(`{"url":"https://x.test","connection":"bear"}`)}}}}}
	if got := engine.UsesConnection([]*engine.Flow{flow}, "bear"); len(got) != 1 || got[0] != "uses-bear" {
		t.Errorf("UsesConnection = %v", got)
	}
	if err := h.m.Delete(ctx, "bear"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Credential(ctx, "bear"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("deleted connection: %v", err)
	}
	if got := h.vault.RedactString("tok-123456"); got != "tok-123456" {
		t.Errorf("a deleted connection's token is still redacted: %q", got)
	}
}

func TestPKCEChallengeRFC7636(t *testing.T) {
	// RFC 7636 Appendix B.
	if got := engine.PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("challenge = %s", got)
	}
}

func TestOAuthStateExpires(t *testing.T) {
	ctx := context.Background()
	h := newConnHarness(t)
	h.createOAuth(t, "slow", "client-secret-s3cr3t-value")
	state, code, _ := h.consent(t, "slow")
	h.advance(engine.OAuthStateTTL + time.Second)
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); !errors.Is(err, engine.ErrBadState) {
		t.Fatalf("expired state: %v", err)
	}
	if c, _ := h.m.Get(ctx, "slow", ""); c.Status != engine.ConnNeedsAuthorization || c.Error != "" {
		t.Fatalf("an expired state changed the connection: %+v", c)
	}
	// A new authorization works.
	state, code, _ = h.consent(t, "slow")
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); err != nil {
		t.Fatal(err)
	}
}

func TestClientCredentialsConnection(t *testing.T) {
	ctx := context.Background()
	h := newConnHarness(t)
	if _, err := h.m.Create(ctx, &engine.ConnectionInput{Name: "m2m", Type: engine.ConnOAuth2Client, TokenURL: h.prov.TokenURL(),
		ClientID: "client-one", Secret: "client-secret-s3cr3t-value", ClientAuth: "body"}); err != nil {
		t.Fatal(err)
	}
	first, err := h.m.Credential(ctx, "m2m")
	if err != nil || h.call(t, first) != 200 {
		t.Fatalf("first token: %v", err)
	}
	again, _ := h.m.Credential(ctx, "m2m")
	if again.Token != first.Token {
		t.Error("a valid token was not reused")
	}
	h.advance(2 * time.Hour)
	later, err := h.m.Credential(ctx, "m2m")
	if err != nil || later.Token == first.Token || h.call(t, later) != 200 {
		t.Fatalf("token after expiry: %v", err)
	}
	if _, err := h.m.Create(ctx, &engine.ConnectionInput{Name: "bad-m2m", Type: engine.ConnOAuth2Client, TokenURL: h.prov.TokenURL(),
		ClientID: "client-one", Secret: "wrong-secret-value"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Credential(ctx, "bad-m2m"); err == nil || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("refused client: %v", err)
	}
}

// TestRefreshIsSerialised: many steps finding the token about to expire at
// once refresh it once (a provider with rotating refresh tokens would
// otherwise invalidate all but one).
func TestRefreshIsSerialised(t *testing.T) {
	ctx := context.Background()
	h := newConnHarness(t)
	h.createOAuth(t, "crm", "client-secret-s3cr3t-value")
	state, code, _ := h.consent(t, "crm")
	if _, err := h.m.Callback(ctx, state, code, "", redirectURI); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := h.m.Credential(ctx, "crm")
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = c.Token
		}()
	}
	wg.Wait()
	if _, refreshes, _ := h.prov.Counts(); refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", refreshes)
	}
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Fatal("steps got different tokens")
		}
	}
}
