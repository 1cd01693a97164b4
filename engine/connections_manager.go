package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sealer encrypts a connection's secret part at rest; secrets.Vault (the
// keyring behind secrets) implements it.
type Sealer interface {
	Seal(name string, plaintext []byte) ([]byte, error)
	Open(name string, sealed []byte) ([]byte, error)
}

// ExtraRedactor is implemented by a Secrets that can also hide values that
// are not secrets: connections' keys and tokens.
type ExtraRedactor interface {
	SetExtra(group string, values []string)
}

// OAuthStateTTL is how long an authorize URL (its state) stays valid.
const OAuthStateTTL = 10 * time.Minute

// refreshBefore refreshes an access token this long before it expires.
const refreshBefore = time.Minute

// connectionRecord is what the store keeps: the public part and the sealed one.
type connectionRecord struct {
	Connection
	// PendingHash is the SHA-256 of the state of the authorization under way.
	PendingHash    string     `json:"pending_hash,omitempty"`
	PendingExpires *time.Time `json:"pending_expires,omitempty"`
	Sealed         []byte     `json:"sealed"`
}

// ConnectionsConfig wires a Connections manager.
type ConnectionsConfig struct {
	Store  ConnectionStore
	Flows  FlowStore
	Sealer Sealer
	// Redact receives every connection's secret values whenever they change
	// (nil: none).
	Redact ExtraRedactor
	// HTTP calls token endpoints (the SSRF-guarded client).
	HTTP *http.Client
	Now  func() time.Time
}

// Connections keeps connections: create, authorize (OAuth 2.0 code with PKCE
// and state), refresh, resolve for steps. Safe for concurrent use; refreshes
// of one connection are serialised.
type Connections struct {
	cfg   ConnectionsConfig
	locks sync.Map // name → *sync.Mutex

	mu     sync.Mutex
	hidden map[string][]string // name → secret values
}

// NewConnections returns a manager and loads the values to redact.
func NewConnections(ctx context.Context, cfg ConnectionsConfig) (*Connections, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	m := &Connections{cfg: cfg, hidden: map[string][]string{}}
	recs, err := cfg.Store.ListConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("load connections: %w", err)
	}
	for _, raw := range recs {
		var r connectionRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			continue
		}
		if sec, err := m.open(&r); err == nil {
			m.hidden[r.Name] = append(sec.values(), r.credential(sec).Secrets()...)
		}
	}
	m.pushRedaction()
	return m, nil
}

func (m *Connections) pushRedaction() {
	if m.cfg.Redact == nil {
		return
	}
	var all []string
	for _, vs := range m.hidden {
		for _, v := range vs {
			if v != "" {
				all = append(all, v)
			}
		}
	}
	m.cfg.Redact.SetExtra("connections", all)
}

func (m *Connections) hide(r *connectionRecord, sec *connectionSecret) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sec == nil {
		delete(m.hidden, r.Name)
	} else {
		m.hidden[r.Name] = append(sec.values(), r.credential(sec).Secrets()...)
	}
	m.pushRedaction()
}

func (m *Connections) lock(name string) func() {
	l, _ := m.locks.LoadOrStore(name, &sync.Mutex{})
	mu := l.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func sealName(name string) string { return "connection/" + name }

func (m *Connections) open(r *connectionRecord) (*connectionSecret, error) {
	var sec connectionSecret
	if len(r.Sealed) == 0 {
		return &sec, nil
	}
	plain, err := m.cfg.Sealer.Open(sealName(r.Name), r.Sealed)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", r.Name, err)
	}
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("connection %q: decode sealed part: %w", r.Name, err)
	}
	return &sec, nil
}

func (m *Connections) load(ctx context.Context, name string) (*connectionRecord, *connectionSecret, error) {
	raw, err := m.cfg.Store.GetConnection(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("connection %q: %w", name, err)
	}
	var r connectionRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, fmt.Errorf("connection %q: decode: %w", name, err)
	}
	sec, err := m.open(&r)
	if err != nil {
		return nil, nil, err
	}
	m.hideNew(&r, sec)
	return &r, sec, nil
}

// hideNew redacts a connection's values read from the store when they are
// not those hidden already: another node sharing the store created the
// connection or refreshed its token.
func (m *Connections) hideNew(r *connectionRecord, sec *connectionSecret) {
	vals := append(sec.values(), r.credential(sec).Secrets()...)
	m.mu.Lock()
	same := slices.Equal(m.hidden[r.Name], vals)
	m.mu.Unlock()
	if !same {
		m.hide(r, sec)
	}
}

func (m *Connections) save(ctx context.Context, r *connectionRecord, sec *connectionSecret) error {
	plain, err := json.Marshal(sec)
	if err != nil {
		return fmt.Errorf("connection %q: encode: %w", r.Name, err)
	}
	if r.Sealed, err = m.cfg.Sealer.Seal(sealName(r.Name), plain); err != nil {
		return err
	}
	r.UpdatedAt = m.cfg.Now().UTC()
	r.AuthorizeURL = ""
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("connection %q: encode: %w", r.Name, err)
	}
	// Hide first: from here on a run may see the new values.
	m.hide(r, sec)
	if err := m.cfg.Store.PutConnection(ctx, r.Name, raw); err != nil {
		return fmt.Errorf("save connection %q: %w", r.Name, err)
	}
	return nil
}

// Create stores a new connection (ErrExists when the name is taken; a
// *ProblemsError wrapping ErrInvalid for bad input). An oauth2 connection
// starts needs_authorization; the others are connected.
func (m *Connections) Create(ctx context.Context, in *ConnectionInput) (*Connection, error) {
	if ps := in.Validate(); len(ps) > 0 {
		return nil, Invalid("connection", ps)
	}
	defer m.lock(in.Name)()
	if _, err := m.cfg.Store.GetConnection(ctx, in.Name); err == nil {
		return nil, fmt.Errorf("connection %q: %w", in.Name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	now := m.cfg.Now().UTC()
	r := &connectionRecord{Connection: Connection{Name: in.Name, Type: in.Type, App: in.App, Status: ConnConnected,
		In: in.In, KeyName: in.KeyName, Prefix: in.Prefix, Username: in.Username,
		AuthURL: in.AuthURL, TokenURL: in.TokenURL, ClientID: in.ClientID, Scopes: in.Scopes, ClientAuth: in.ClientAuth,
		AuthParams: in.AuthParams, Params: in.Params, CreatedAt: now}}
	if r.Type == ConnAPIKey && r.In == "" {
		r.In = "header"
	}
	sec := &connectionSecret{APIKey: in.APIKey, Token: in.Token, Password: in.Password, ClientSecret: in.Secret}
	if r.Type == ConnOAuth2 {
		r.Status = ConnNeedsAuthorization
	} else {
		r.ConnectedAt = &now
	}
	if err := m.save(ctx, r, sec); err != nil {
		return nil, err
	}
	c := r.Connection
	return &c, nil
}

// Get returns a connection's public part. For an oauth2 connection that
// needs authorization it carries AuthorizeURL (redirectURI is the callback,
// {base-url}/oauth/callback): the pending one while it is valid, else a new
// one (a new state and PKCE verifier).
func (m *Connections) Get(ctx context.Context, name, redirectURI string) (*Connection, error) {
	defer m.lock(name)()
	r, sec, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}
	c := r.Connection
	if c.Type == ConnOAuth2 && c.Status != ConnConnected && redirectURI != "" {
		if c.AuthorizeURL, err = m.authorizeURL(ctx, r, sec, redirectURI); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// Reauthorize returns an oauth2 connection with an AuthorizeURL whatever its
// status (the Connect and Reconnect buttons); it stays as it is until the
// callback completes.
func (m *Connections) Reauthorize(ctx context.Context, name, redirectURI string) (*Connection, error) {
	defer m.lock(name)()
	r, sec, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.Type != ConnOAuth2 {
		return nil, fmt.Errorf("connection %q is %s, not oauth2: nothing to authorize: %w", name, r.Type, ErrConflict)
	}
	c := r.Connection
	if c.AuthorizeURL, err = m.authorizeURL(ctx, r, sec, redirectURI); err != nil {
		return nil, err
	}
	return &c, nil
}

// List returns every connection's public part, sorted by name (no
// authorize URLs: Get makes them).
func (m *Connections) List(ctx context.Context) ([]*Connection, error) {
	recs, err := m.cfg.Store.ListConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := make([]*Connection, 0, len(recs))
	for _, raw := range recs {
		var r connectionRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			continue
		}
		c := r.Connection
		c.AuthorizeURL = ""
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UsedBy lists the flows whose steps name the connection.
func (m *Connections) UsedBy(ctx context.Context, name string) ([]string, error) {
	if m.cfg.Flows == nil {
		return nil, nil
	}
	flows, err := m.cfg.Flows.ListFlows(ctx)
	if err != nil {
		return nil, err
	}
	return UsesConnection(flows, name), nil
}

// Delete removes a connection (ErrNotFound when absent). Flows that name it
// fail at their next run until a connection of that name exists again.
func (m *Connections) Delete(ctx context.Context, name string) error {
	defer m.lock(name)()
	r, _, err := m.load(ctx, name)
	if err != nil {
		return err
	}
	if r.PendingHash != "" {
		_, _ = m.cfg.Store.TakeOAuthState(ctx, r.PendingHash)
	}
	if err := m.cfg.Store.DeleteConnection(ctx, name); err != nil {
		return fmt.Errorf("delete connection %q: %w", name, err)
	}
	m.hide(r, nil)
	return nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// PKCEChallenge is the S256 code challenge of a verifier (RFC 7636 §4.2).
func PKCEChallenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// authorizeURL returns the pending authorization's URL, or starts a new one.
// The caller holds the connection's lock.
func (m *Connections) authorizeURL(ctx context.Context, r *connectionRecord, sec *connectionSecret, redirectURI string) (string, error) {
	now := m.cfg.Now()
	if sec.PendingState == "" || r.PendingExpires == nil || !now.Before(r.PendingExpires.Add(-time.Minute)) {
		state, err := randomToken()
		if err != nil {
			return "", err
		}
		verifier, err := randomToken()
		if err != nil {
			return "", err
		}
		if r.PendingHash != "" {
			_, _ = m.cfg.Store.TakeOAuthState(ctx, r.PendingHash)
		}
		exp := now.Add(OAuthStateTTL).UTC()
		sec.PendingState, sec.PendingVerifier = state, verifier
		r.PendingHash, r.PendingExpires = hashState(state), &exp
		if err := m.cfg.Store.PutOAuthState(ctx, r.PendingHash, r.Name); err != nil {
			return "", fmt.Errorf("connection %q: store state: %w", r.Name, err)
		}
		if err := m.save(ctx, r, sec); err != nil {
			return "", err
		}
	}
	u, err := url.Parse(r.AuthURL)
	if err != nil {
		return "", fmt.Errorf("connection %q: auth_url: %w", r.Name, err)
	}
	q := u.Query()
	for k, v := range r.AuthParams {
		q.Set(k, v)
	}
	q.Set("response_type", "code")
	q.Set("client_id", r.ClientID)
	q.Set("redirect_uri", redirectURI)
	if len(r.Scopes) > 0 {
		q.Set("scope", strings.Join(r.Scopes, " "))
	}
	q.Set("state", sec.PendingState)
	q.Set("code_challenge", PKCEChallenge(sec.PendingVerifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ErrBadState: an OAuth callback whose state is unknown, expired or already
// used. Nothing changes.
var ErrBadState = fmt.Errorf("%w: unknown, expired or already used OAuth state", ErrBadBody)

// Callback completes an authorization: the provider redirected the browser
// to the callback with code and state (or error and error_description). The
// state is taken once; a wrong, expired or reused state fails with
// ErrBadState and changes nothing. A provider error (at the consent page or
// the token exchange) is recorded on the connection and returned; the
// connection then shows it.
func (m *Connections) Callback(ctx context.Context, state, code, providerErr, redirectURI string) (name string, err error) {
	if state == "" {
		return "", ErrBadState
	}
	hash := hashState(state)
	name, err = m.cfg.Store.TakeOAuthState(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return "", ErrBadState
	} else if err != nil {
		return "", err
	}
	defer m.lock(name)()
	r, sec, err := m.load(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return "", ErrBadState
	} else if err != nil {
		return "", err
	}
	now := m.cfg.Now()
	if r.PendingHash == "" || subtle.ConstantTimeCompare([]byte(r.PendingHash), []byte(hash)) != 1 ||
		r.PendingExpires == nil || now.After(*r.PendingExpires) {
		return "", ErrBadState
	}
	verifier := sec.PendingVerifier
	sec.PendingState, sec.PendingVerifier, r.PendingHash, r.PendingExpires = "", "", "", nil
	if providerErr != "" || code == "" {
		if providerErr == "" {
			providerErr = "the provider sent no code"
		}
		r.Error = "authorization refused by the provider: " + providerErr
		if err := m.save(ctx, r, sec); err != nil {
			return name, err
		}
		return name, errors.New(r.Error)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	tok, err := m.tokenRequest(ctx, r, sec, form)
	if err != nil {
		r.Error = err.Error()
		if serr := m.save(ctx, r, sec); serr != nil {
			return name, serr
		}
		return name, err
	}
	m.takeToken(r, sec, tok)
	connected := now.UTC()
	r.Status, r.Error, r.ConnectedAt = ConnConnected, "", &connected
	return name, m.save(ctx, r, sec)
}

// tokenAnswer is an OAuth 2.0 token response (RFC 6749 §5.1).
type tokenAnswer struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	Extra        map[string]any
}

// TokenError is an error answer of a token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("token endpoint answered HTTP %d", e.Status)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// tokenRequest posts form to the connection's token URL with the client's
// credentials and parses the answer.
func (m *Connections) tokenRequest(ctx context.Context, r *connectionRecord, sec *connectionSecret, form url.Values) (*tokenAnswer, error) {
	if r.ClientAuth == "body" {
		form.Set("client_id", r.ClientID)
		form.Set("client_secret", sec.ClientSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.ClientAuth != "body" {
		// RFC 6749 §2.3.1: both parts form-encoded, then HTTP Basic.
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(sec.ClientSecret))
	}
	resp, err := m.cfg.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request to %s: %w", r.TokenURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token request to %s: read answer: %w", r.TokenURL, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		// GitHub and a few others answer form-encoded unless asked otherwise.
		if vals, perr := url.ParseQuery(string(raw)); perr == nil && vals.Get("access_token") != "" || vals.Get("error") != "" {
			body = map[string]any{}
			for k := range vals {
				body[k] = vals.Get(k)
			}
		}
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	if resp.StatusCode/100 != 2 || str("error") != "" || str("access_token") == "" {
		te := &TokenError{Status: resp.StatusCode, Code: str("error"), Description: str("error_description")}
		if te.Code == "" && te.Description == "" {
			te.Description = strings.Join(strings.Fields(string(raw[:min(len(raw), 200)])), " ")
			if resp.StatusCode/100 == 2 {
				te.Description = "no access_token in the answer"
			}
		}
		return nil, te
	}
	t := &tokenAnswer{AccessToken: str("access_token"), RefreshToken: str("refresh_token"), Extra: map[string]any{}}
	switch v := body["expires_in"].(type) {
	case float64:
		t.ExpiresIn = time.Duration(v) * time.Second
	case string: // PayPal sends a numeric string
		if n, err := strconv.Atoi(v); err == nil {
			t.ExpiresIn = time.Duration(n) * time.Second
		}
	}
	for k, v := range body {
		switch k {
		case "access_token", "refresh_token", "expires_in", "token_type", "scope":
		default:
			t.Extra[k] = v
		}
	}
	return t, nil
}

// takeToken stores a token answer; a refresh answer without a new refresh
// token keeps the old one (RFC 6749 §6).
func (m *Connections) takeToken(r *connectionRecord, sec *connectionSecret, t *tokenAnswer) {
	sec.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		sec.RefreshToken = t.RefreshToken
	}
	if len(t.Extra) > 0 {
		if sec.Extra == nil {
			sec.Extra = map[string]any{}
		}
		for k, v := range t.Extra {
			sec.Extra[k] = v
		}
	}
	r.ExpiresAt = nil
	if t.ExpiresIn > 0 {
		exp := m.cfg.Now().Add(t.ExpiresIn).UTC()
		r.ExpiresAt = &exp
	}
}

func (r *connectionRecord) credential(sec *connectionSecret) *Credential {
	c := &Credential{Connection: r.Name, Type: r.Type, Username: r.Username, Password: sec.Password,
		APIKey: sec.APIKey, In: r.In, KeyName: r.KeyName, Prefix: r.Prefix, Params: r.Params, Extra: sec.Extra}
	switch r.Type {
	case ConnBearer:
		c.Token = sec.Token
	case ConnOAuth2, ConnOAuth2Client:
		c.Token = sec.AccessToken
	}
	return c
}

// Credential resolves a connection for a step, refreshing an OAuth token
// that expires within a minute (client credentials: fetching a new one).
func (m *Connections) Credential(ctx context.Context, name string) (*Credential, error) {
	if m == nil {
		return nil, errors.New("connections are not available on this server")
	}
	defer m.lock(name)()
	r, sec, err := m.load(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil, Permanent(fmt.Errorf("connection %q does not exist: add it on the Connections page", name))
	} else if err != nil {
		return nil, err
	}
	switch r.Status {
	case ConnNeedsAuthorization:
		return nil, Permanent(fmt.Errorf("connection %q is not authorized yet: click Connect on the Connections page", name))
	case ConnReconnectNeeded:
		return nil, Permanent(&ReconnectError{Name: name, Reason: r.Error})
	}
	due := func() bool {
		return sec.AccessToken == "" || (r.ExpiresAt != nil && !m.cfg.Now().Before(r.ExpiresAt.Add(-refreshBefore)))
	}
	if (r.Type == ConnOAuth2 || r.Type == ConnOAuth2Client) && due() {
		unlock, err := m.sharedLock(ctx, name)
		if err != nil {
			return nil, err
		}
		defer unlock()
		// Another node may have refreshed it while this one waited.
		if r, sec, err = m.load(ctx, name); err != nil {
			return nil, err
		}
		if r.Status == ConnReconnectNeeded {
			return nil, Permanent(&ReconnectError{Name: name, Reason: r.Error})
		}
		if due() {
			if err := m.refresh(ctx, r, sec); err != nil {
				return nil, err
			}
		}
	}
	return r.credential(sec), nil
}

// Several nodes on one store: one node at a time refreshes a connection's
// token (a provider that rotates refresh tokens would otherwise see the old
// one used twice and refuse it, forcing a reconnect).
const (
	refreshLockTTL  = 2 * time.Minute // longer than a token request may take
	refreshLockWait = 20 * time.Second
)

// sharedLock takes the cluster-wide lock of a connection's token on a store
// shared by several nodes (a no-op on a single-node store; the caller holds
// the node's own lock too).
func (m *Connections) sharedLock(ctx context.Context, name string) (unlock func(), err error) {
	c, ok := m.cfg.Store.(Cluster)
	if !ok {
		return func() {}, nil
	}
	lock := "connection/" + name
	deadline := time.Now().Add(refreshLockWait)
	for {
		got, err := c.TryLock(ctx, lock, refreshLockTTL)
		if err != nil {
			return nil, fmt.Errorf("connection %q: take the refresh lock: %w", name, err)
		}
		if got {
			return func() { _ = c.Unlock(context.WithoutCancel(ctx), lock) }, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connection %q: another node has been refreshing its token for over %s", name, refreshLockWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Refresh gets a new token after an API refused stale with 401, unless
// another step already did. Connections without tokens return stale.
func (m *Connections) Refresh(ctx context.Context, name string, stale *Credential) (*Credential, error) {
	if m == nil {
		return nil, errors.New("connections are not available on this server")
	}
	defer m.lock(name)()
	unlock, err := m.sharedLock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, sec, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.Type != ConnOAuth2 && r.Type != ConnOAuth2Client {
		return r.credential(sec), nil
	}
	if r.Status == ConnReconnectNeeded {
		return nil, Permanent(&ReconnectError{Name: name, Reason: r.Error})
	}
	if stale == nil || sec.AccessToken == stale.Token {
		if err := m.refresh(ctx, r, sec); err != nil {
			return nil, err
		}
	}
	return r.credential(sec), nil
}

// refresh gets a new access token and saves it; the caller holds the lock.
// An authorization-code connection whose refresh fails (or that has no
// refresh token) becomes reconnect_needed.
func (m *Connections) refresh(ctx context.Context, r *connectionRecord, sec *connectionSecret) error {
	var form url.Values
	if r.Type == ConnOAuth2Client {
		form = url.Values{"grant_type": {"client_credentials"}}
		if len(r.Scopes) > 0 {
			form.Set("scope", strings.Join(r.Scopes, " "))
		}
	} else {
		if sec.RefreshToken == "" {
			return m.needReconnect(ctx, r, sec, "the access token expired and the provider gave no refresh token")
		}
		form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {sec.RefreshToken}}
	}
	tok, err := m.tokenRequest(ctx, r, sec, form)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) && te.Status >= 400 && te.Status < 500 {
			if r.Type == ConnOAuth2 {
				return m.needReconnect(ctx, r, sec, "refresh failed: "+te.Error())
			}
			return Permanent(fmt.Errorf("connection %q: %w", r.Name, err)) // wrong client credentials
		}
		// A network error or a 5xx: the next attempt may succeed.
		return fmt.Errorf("connection %q: %w", r.Name, err)
	}
	m.takeToken(r, sec, tok)
	r.Error = ""
	return m.save(ctx, r, sec)
}

func (m *Connections) needReconnect(ctx context.Context, r *connectionRecord, sec *connectionSecret, reason string) error {
	r.Status, r.Error = ConnReconnectNeeded, reason
	if err := m.save(ctx, r, sec); err != nil {
		return err
	}
	return Permanent(&ReconnectError{Name: r.Name, Reason: reason})
}

var _ ConnectionResolver = (*Connections)(nil)
