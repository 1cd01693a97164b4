package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// A connection is a named, encrypted credential for an outside service
// (SPEC §5 "Connections and apps"). Its public settings are stored as JSON; its
// secret parts (keys, passwords, client secrets, tokens, a pending PKCE
// verifier) are sealed by the keyring like secrets and redacted from
// everything the engine records.

// ConnectionType says what a connection holds and how it is applied.
type ConnectionType string

// Connection types.
const (
	// ConnAPIKey is a key sent in a header or a query parameter.
	ConnAPIKey ConnectionType = "api_key"
	// ConnBearer is a token sent as Authorization: Bearer.
	ConnBearer ConnectionType = "bearer"
	// ConnBasic is a user name and password (HTTP Basic).
	ConnBasic ConnectionType = "basic"
	// ConnOAuth2 is OAuth 2.0 authorization code with PKCE and state.
	ConnOAuth2 ConnectionType = "oauth2"
	// ConnOAuth2Client is OAuth 2.0 client credentials.
	ConnOAuth2Client ConnectionType = "oauth2_client_credentials"
)

// ConnectionTypes lists the types, in the order the UI offers them.
var ConnectionTypes = []ConnectionType{ConnAPIKey, ConnBearer, ConnBasic, ConnOAuth2, ConnOAuth2Client}

// ConnectionStatus is where a connection stands.
type ConnectionStatus string

// Connection statuses.
const (
	// ConnConnected: usable by steps.
	ConnConnected ConnectionStatus = "connected"
	// ConnNeedsAuthorization: an oauth2 connection not yet authorized at the provider.
	ConnNeedsAuthorization ConnectionStatus = "needs_authorization"
	// ConnReconnectNeeded: refreshing the token failed; authorize again.
	ConnReconnectNeeded ConnectionStatus = "reconnect_needed"
)

// Connection is a connection's public part: what GET /api/v1/connections/{name}
// shows. Secret values never appear here.
type Connection struct {
	Name string         `json:"name"`
	Type ConnectionType `json:"type"`
	// App optionally names the app the connection was made for.
	App    string           `json:"app,omitempty"`
	Status ConnectionStatus `json:"status"`
	// AuthorizeURL is set while an oauth2 connection needs authorization:
	// the provider's consent page, with state and a PKCE challenge.
	AuthorizeURL string `json:"authorize_url,omitempty"`
	// Error is the provider's last message (a failed token exchange or refresh).
	Error string `json:"error,omitempty"`

	// api_key: In is header (default) or query; KeyName the header or
	// parameter name; Prefix goes before the key ("Token ").
	In      string `json:"in,omitempty"`
	KeyName string `json:"key_name,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
	// basic
	Username string `json:"username,omitempty"`
	// oauth2 and oauth2_client_credentials
	AuthURL  string   `json:"auth_url,omitempty"`
	TokenURL string   `json:"token_url,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	// ClientAuth is how the client authenticates at the token URL: basic
	// (HTTP Basic, default) or body (form fields).
	ClientAuth string `json:"client_auth,omitempty"`
	// AuthParams are extra query parameters for the consent page
	// (access_type=offline, prompt=consent for Google).
	AuthParams map[string]string `json:"auth_params,omitempty"`
	// Params are non-secret values apps use in URLs (subdomain, site, account id).
	Params map[string]string `json:"params,omitempty"`

	// ExpiresAt is when the current access token expires (oauth2).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ConnectedAt is when the connection was last authorized.
	ConnectedAt *time.Time `json:"connected_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// ConnectionInput is the body of POST /api/v1/connections: the public
// settings and the secret parts, flat.
type ConnectionInput struct {
	Name       string            `json:"name"`
	Type       ConnectionType    `json:"type"`
	App        string            `json:"app,omitempty"`
	In         string            `json:"in,omitempty"`
	KeyName    string            `json:"key_name,omitempty"`
	Prefix     string            `json:"prefix,omitempty"`
	APIKey     string            `json:"api_key,omitempty"`
	Token      string            `json:"token,omitempty"`
	Username   string            `json:"username,omitempty"`
	Password   string            `json:"password,omitempty"`
	AuthURL    string            `json:"auth_url,omitempty"`
	TokenURL   string            `json:"token_url,omitempty"`
	ClientID   string            `json:"client_id,omitempty"`
	Secret     string            `json:"client_secret,omitempty"`
	Scopes     StringList        `json:"scopes,omitempty"`
	ClientAuth string            `json:"client_auth,omitempty"`
	AuthParams map[string]string `json:"auth_params,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
}

// connectionSecret is the sealed part of a connection.
type connectionSecret struct {
	APIKey       string         `json:"api_key,omitempty"`
	Token        string         `json:"token,omitempty"`
	Password     string         `json:"password,omitempty"`
	ClientSecret string         `json:"client_secret,omitempty"`
	AccessToken  string         `json:"access_token,omitempty"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	Extra        map[string]any `json:"extra,omitempty"`
	// PendingState and PendingVerifier belong to the authorization under way.
	PendingState    string `json:"pending_state,omitempty"`
	PendingVerifier string `json:"pending_verifier,omitempty"`
}

func (s *connectionSecret) values() []string {
	out := []string{s.APIKey, s.Token, s.Password, s.ClientSecret, s.AccessToken, s.RefreshToken, s.PendingVerifier}
	for _, v := range s.Extra {
		if str, ok := v.(string); ok && looksSecret(str) {
			out = append(out, str)
		}
	}
	return out
}

// looksSecret keeps token-response extras such as id_token out of runs while
// leaving URLs (Salesforce's instance_url) visible.
func looksSecret(s string) bool {
	return len(s) >= 16 && !strings.Contains(s, "://") && !strings.Contains(s, " ")
}

var connNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the input completely: every problem with its field.
func (in *ConnectionInput) Validate() Problems {
	var ps Problems
	if !connNameRe.MatchString(in.Name) {
		ps.Add("name", "must be 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	req := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			ps.Add(field, "required for type %s", in.Type)
		}
	}
	urlField := func(field, v string) {
		req(field, v)
		if v == "" {
			return
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.Add(field, "must be an absolute http:// or https:// URL")
		}
	}
	switch in.Type {
	case ConnAPIKey:
		req("api_key", in.APIKey)
		if in.App == "" { // an app says where its key goes
			req("key_name", in.KeyName)
		}
		if in.In != "" && in.In != "header" && in.In != "query" {
			ps.Add("in", "must be header or query, got %q", in.In)
		}
	case ConnBearer:
		req("token", in.Token)
	case ConnBasic:
		req("username", in.Username)
	case ConnOAuth2, ConnOAuth2Client:
		if in.Type == ConnOAuth2 {
			urlField("auth_url", in.AuthURL)
		}
		urlField("token_url", in.TokenURL)
		req("client_id", in.ClientID)
		req("client_secret", in.Secret)
		if in.ClientAuth != "" && in.ClientAuth != "basic" && in.ClientAuth != "body" {
			ps.Add("client_auth", "must be basic or body, got %q", in.ClientAuth)
		}
	case "":
		ps.Add("type", "required: one of %s", joinTypes())
	default:
		ps.Add("type", "unknown connection type %q: one of %s", in.Type, joinTypes())
	}
	return ps
}

func joinTypes() string {
	s := make([]string, len(ConnectionTypes))
	for i, t := range ConnectionTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Credential is a connection resolved for one request: what a step applies.
type Credential struct {
	Connection string
	Type       ConnectionType
	// Token is the bearer token or the OAuth access token.
	Token              string
	Username, Password string
	// APIKey is sent in In (header or query) as KeyName, after Prefix.
	APIKey, In, KeyName, Prefix string
	// Params are the connection's non-secret values; Extra the token
	// response's other fields (Salesforce's instance_url).
	Params map[string]string
	Extra  map[string]any
}

// Apply adds the credential to req: Authorization: Bearer, HTTP Basic, or
// the API key in its header or query parameter.
func (c *Credential) Apply(req *http.Request) {
	switch c.Type {
	case ConnBearer, ConnOAuth2, ConnOAuth2Client:
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case ConnBasic:
		req.SetBasicAuth(c.Username, c.Password)
	case ConnAPIKey:
		if c.KeyName == "" {
			return // the app applies it
		}
		if c.In == "query" {
			q := req.URL.Query()
			q.Set(c.KeyName, c.Prefix+c.APIKey)
			req.URL.RawQuery = q.Encode()
			return
		}
		req.Header.Set(c.KeyName, c.Prefix+c.APIKey)
	}
}

// Secrets lists the values to hide from runs and errors, with the forms a
// request carries them in (a Basic header's base64).
func (c *Credential) Secrets() []string {
	out := []string{c.Token, c.Password, c.APIKey}
	if c.Type == ConnBasic {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	}
	return out
}

// Values is the credential as template data for app files (auth.token,
// auth.username, auth.password, auth.api_key, auth.params.X, auth.extra.X).
func (c *Credential) Values() map[string]any {
	params := map[string]any{}
	for k, v := range c.Params {
		params[k] = v
	}
	extra := map[string]any{}
	for k, v := range c.Extra {
		extra[k] = v
	}
	return map[string]any{"type": string(c.Type), "token": c.Token, "username": c.Username, "password": c.Password,
		"api_key": c.APIKey, "params": params, "extra": extra}
}

// ConnectionResolver gives steps the credentials of named connections
// (StepContext.Connections).
type ConnectionResolver interface {
	// Credential resolves a connection, refreshing an OAuth token that is
	// about to expire. A connection whose refresh failed gives an error
	// wrapping ErrReconnect.
	Credential(ctx context.Context, name string) (*Credential, error)
	// Refresh is called once after the API answered 401 to stale: it
	// refreshes the token (when the connection can) and returns the new
	// credential.
	Refresh(ctx context.Context, name string, stale *Credential) (*Credential, error)
}

// ErrReconnect: a connection's token could not be refreshed; the user must
// authorize it again ("reconnect NAME"), then retry the run.
var ErrReconnect = errors.New("reconnect needed")

// ReconnectError names the connection to reconnect.
type ReconnectError struct {
	Name   string
	Reason string
}

func (e *ReconnectError) Error() string {
	msg := fmt.Sprintf("reconnect %s: connection %q needs to be authorized again on the Connections page, then replay the run", e.Name, e.Name)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrReconnect) true.
func (e *ReconnectError) Unwrap() error { return ErrReconnect }

// UsesConnection lists the ids of the flows whose steps (nested ones
// included) name the connection in `with.connection`, sorted.
func UsesConnection(flows []*Flow, name string) []string {
	var out []string
	for _, f := range flows {
		if stepsUse(f.Steps, name) {
			out = append(out, f.ID)
		}
	}
	sort.Strings(out)
	return out
}

func stepsUse(steps []Step, name string) bool {
	for i := range steps {
		s := &steps[i]
		if len(s.With) > 0 {
			var w struct {
				Connection string `json:"connection"`
			}
			if json.Unmarshal(s.With, &w) == nil && w.Connection == name {
				return true
			}
		}
		if stepsUse(s.Steps, name) || stepsUse(s.Default, name) {
			return true
		}
		for _, c := range s.Cases {
			if stepsUse(c.Steps, name) {
				return true
			}
		}
	}
	return false
}

// InvalidInput is a validation failure of something other than a flow (a
// connection, an app file): errors.As finds its *ProblemsError, and
// errors.Is(err, ErrInvalid) holds.
type InvalidInput struct {
	What string
	Err  *ProblemsError
}

func (e *InvalidInput) Error() string {
	return "invalid " + e.What + ": " + strings.TrimPrefix(e.Err.Error(), "invalid flow: ")
}

// Unwrap gives the problems.
func (e *InvalidInput) Unwrap() error { return e.Err }

// Invalid returns nil without problems, else an *InvalidInput about what.
func Invalid(what string, ps Problems) error {
	if len(ps) == 0 {
		return nil
	}
	return &InvalidInput{What: what, Err: &ProblemsError{Problems: ps}}
}
