package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
)

var httpKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "http",
		Title:   "HTTP request",
		Summary: "Call any API and use its answer in later steps.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "method", Label: "Method", Type: engine.FieldSelect, Default: "GET",
				Options: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"},
				Help:    "GET when empty, or POST when a body is set."},
			{Name: "url", Label: "URL", Type: engine.FieldText, Required: true,
				Placeholder: "https://api.example.com/orders", Help: "An http:// or https:// address."},
			{Name: "headers", Label: "Headers", Type: engine.FieldMap,
				Help: "Header name → value, e.g. Accept → application/json."},
			{Name: "query", Label: "Query parameters", Type: engine.FieldMap,
				Help: "Name → value, added to the URL's own query (encoded for you)."},
			{Name: "body", Label: "Body", Type: engine.FieldJSON,
				Help: "An object or list is sent as JSON; text is sent as it is."},
			{Name: "body_type", Label: "Body type", Type: engine.FieldSelect, Options: []string{"json", "form", "raw"},
				Help: "json (default for objects), form (application/x-www-form-urlencoded from an object) or raw (text as is).", Advanced: true},
			{Name: "auth", Label: "Authentication", Type: engine.FieldObject, Fields: authFields,
				Help: "Credentials added to the request; use {{ secrets.NAME }} for the values."},
			{Name: "connection", Label: "Connection", Type: engine.FieldText, Placeholder: "my-api",
				Help: "The name of a connection (Connections page) whose credentials are added to the request instead of auth; OAuth tokens are refreshed for you."},
			{Name: "timeout", Label: "Timeout", Type: engine.FieldDuration, Placeholder: "30s",
				Help: "Give up on this call after this long (the step's own timeout still applies).", Advanced: true},
			{Name: "follow_redirects", Label: "Follow redirects", Type: engine.FieldBool, Default: true,
				Help: "Follow up to 10 redirects. When off, a 3xx answer is the step's output.", Advanced: true},
			{Name: "max_response_bytes", Label: "Largest answer (bytes)", Type: engine.FieldNumber, Default: defaultMaxResponse,
				Help: "A longer answer fails the step (default 5 MiB, at most 50 MiB).", Advanced: true},
			{Name: "idempotency", Label: "Send Idempotency-Key", Type: engine.FieldBool,
				Help: "Send an Idempotency-Key header that stays the same for every retry of this step in this run, and after a crash (Stripe and many APIs honour it). A replay is a new run with a new key.", Advanced: true},
		},
		Example: `{"method":"POST","url":"https://api.example.com/orders","headers":{"Accept":"application/json"},` +
			`"body":{"id":"{{ trigger.body.id }}","amount":"{{ trigger.body.amount }}"},` +
			`"auth":{"type":"bearer","token":"{{ secrets.API_TOKEN }}"},"timeout":"10s","idempotency":true}`,
	},
	New: func() engine.Action { return new(HTTP) },
}

var authFields = []engine.Field{
	{Name: "type", Label: "Type", Type: engine.FieldSelect, Required: true,
		Options: []string{"bearer", "basic", "header", "query", "oauth2"},
		Help:    "bearer: Authorization: Bearer <token>. basic: user name and password. header or query: a named API key. oauth2: client credentials."},
	{Name: "token", Label: "Token", Type: engine.FieldSecret, Help: "For bearer."},
	{Name: "username", Label: "User name", Type: engine.FieldText, Help: "For basic."},
	{Name: "password", Label: "Password", Type: engine.FieldSecret, Help: "For basic."},
	{Name: "name", Label: "Key name", Type: engine.FieldText, Placeholder: "X-API-Key",
		Help: "For header or query: the header or query parameter that carries the key."},
	{Name: "value", Label: "Key value", Type: engine.FieldSecret, Help: "For header or query."},
	{Name: "token_url", Label: "Token URL", Type: engine.FieldText, Placeholder: "https://auth.example.com/oauth/token",
		Help: "For oauth2: where the access token is requested (client credentials grant)."},
	{Name: "client_id", Label: "Client ID", Type: engine.FieldText, Help: "For oauth2."},
	{Name: "client_secret", Label: "Client secret", Type: engine.FieldSecret, Help: "For oauth2."},
	{Name: "scopes", Label: "Scopes", Type: engine.FieldList, Help: "For oauth2: scopes to request, comma-separated or a list."},
	{Name: "client_auth", Label: "Send client credentials", Type: engine.FieldSelect, Options: []string{"basic", "body"},
		Help: "For oauth2: basic (HTTP Basic, the default) or body (client_id and client_secret form fields).", Advanced: true},
}

// HTTP sends one request and returns {status, headers, body}. A non-2xx
// answer fails the step (and is still recorded as its output); 408, 429 and
// 5xx are retried when the step has a retry policy.
type HTTP struct {
	// Method is the HTTP method: GET when empty, or POST when a body is set.
	Method string `json:"method,omitempty"`
	// URL is the request URL; only http and https.
	URL string `json:"url"`
	// Headers are sent with the request (name → value).
	Headers map[string]string `json:"headers,omitempty"`
	// Query parameters are added to the URL's own query.
	Query map[string]string `json:"query,omitempty"`
	// Body is sent as JSON when it is an object, a list, a number or a
	// boolean, and as it is when it is text (see BodyType).
	Body any `json:"body,omitempty"`
	// BodyType is json, form (an object sent as
	// application/x-www-form-urlencoded) or raw (text as it is). Empty: json
	// for objects and lists, raw for text.
	BodyType string `json:"body_type,omitempty"`
	// Auth adds credentials to the request.
	Auth *Auth `json:"auth,omitempty"`
	// Connection names a stored connection whose credential is applied
	// (refreshed before expiry and once on a 401).
	Connection string `json:"connection,omitempty"`
	// Timeout bounds this call (the step's timeout still applies).
	Timeout engine.Duration `json:"timeout,omitempty"`
	// FollowRedirects (default true) follows up to 10 redirects. When false,
	// a 3xx answer is returned as the output.
	FollowRedirects *bool `json:"follow_redirects,omitempty"`
	// MaxResponseBytes bounds the answer read (default 5 MiB, at most 50 MiB);
	// a longer answer fails the step.
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
	// Idempotency sends `Idempotency-Key: <run_id:step_id>`, the same value
	// for every retry and crash re-run of the step in its run.
	Idempotency bool `json:"idempotency,omitempty"`
}

// Auth is the credentials of an HTTP request.
type Auth struct {
	// Type is bearer, basic, header, query or oauth2.
	Type string `json:"type"`
	// Token is the bearer token.
	Token string `json:"token,omitempty"`
	// Username and Password are the basic credentials.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Name and Value are the header or query parameter that carries an API key.
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	// TokenURL, ClientID, ClientSecret and Scopes get an OAuth 2.0 access
	// token with the client credentials grant; tokens are reused until they
	// expire.
	TokenURL     string            `json:"token_url,omitempty"`
	ClientID     string            `json:"client_id,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"`
	Scopes       engine.StringList `json:"scopes,omitempty"`
	// ClientAuth is how the client credentials are sent: basic (default) or body.
	ClientAuth string `json:"client_auth,omitempty"`
}

// Validate checks the settings that do not depend on templates.
func (h *HTTP) Validate() error {
	if err := checkURL("url", h.URL); err != nil {
		return err
	}
	if h.Method != "" && !isTemplate(h.Method) &&
		!oneOf(strings.ToUpper(h.Method), "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS") {
		return fmt.Errorf("method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", h.Method)
	}
	switch h.BodyType {
	case "", "json":
	case "form":
		switch h.Body.(type) {
		case nil, map[string]any, string:
		default:
			return errors.New("body_type form needs an object body")
		}
	case "raw":
		if _, ok := h.Body.(string); !ok && h.Body != nil {
			return errors.New("body_type raw needs a text body")
		}
	default:
		return fmt.Errorf("body_type %q is not json, form or raw", h.BodyType)
	}
	if h.MaxResponseBytes < 0 || h.MaxResponseBytes > maxMaxResponse {
		return fmt.Errorf("max_response_bytes must be between 0 and %d", maxMaxResponse)
	}
	if h.Timeout < 0 {
		return errors.New("timeout must not be negative")
	}
	if h.Auth != nil {
		if err := h.Auth.validate(); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		if h.Connection != "" {
			return errors.New("set auth or connection, not both")
		}
	}
	return nil
}

func (a *Auth) validate() error {
	switch a.Type {
	case "bearer":
		if a.Token == "" {
			return errors.New("token is required for bearer")
		}
	case "basic":
		if a.Username == "" {
			return errors.New("username is required for basic")
		}
	case "header", "query":
		if a.Name == "" || a.Value == "" {
			return fmt.Errorf("name and value are required for %s", a.Type)
		}
	case "oauth2":
		if a.ClientID == "" || a.ClientSecret == "" {
			return errors.New("client_id and client_secret are required for oauth2")
		}
		if err := checkURL("token_url", a.TokenURL); err != nil {
			return err
		}
		if a.ClientAuth != "" && a.ClientAuth != "basic" && a.ClientAuth != "body" {
			return fmt.Errorf("client_auth %q is not basic or body", a.ClientAuth)
		}
	case "":
		return errors.New("type is required")
	default:
		return fmt.Errorf("type %q is not bearer, basic, header, query or oauth2", a.Type)
	}
	return nil
}

func (a *Auth) secrets() []string {
	if a == nil {
		return nil
	}
	return []string{a.Token, a.Password, a.Value, a.ClientSecret}
}

// Run sends the request.
func (h *HTTP) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := h.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("http: %w", err))
	}
	client, err := httpClient(sc)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(h.Method)
	if method == "" {
		method = http.MethodGet
		if h.Body != nil {
			method = http.MethodPost
		}
	}
	op := "http " + method
	secrets := h.Auth.secrets()

	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, engine.Permanent(fmt.Errorf("%s: url %q is not an absolute http or https URL", op, redact(h.URL, secrets)))
	}
	if queryAuth := h.Auth != nil && h.Auth.Type == "query"; u.RawQuery != "" || len(h.Query) > 0 || queryAuth {
		q := u.Query()
		for _, k := range sortedKeys(h.Query) {
			q.Set(k, h.Query[k])
		}
		if queryAuth {
			q.Set(h.Auth.Name, h.Auth.Value)
		}
		u.RawQuery = q.Encode()
	}
	op = "http " + method + " " + redact(u.Redacted(), secrets)

	body, contentType, err := h.encodeBody()
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %w", op, err))
	}

	ctx, cancel := withTimeout(ctx, h.Timeout)
	defer cancel()

	if h.FollowRedirects != nil && !*h.FollowRedirects {
		c := *client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &c
	}
	max := h.MaxResponseBytes
	if max == 0 {
		max = defaultMaxResponse
	}

	cred, err := resolveConnection(ctx, sc, h.Connection)
	if err != nil {
		return nil, err
	}
	// With oauth2 a cached token the API refuses (401) is dropped and the call
	// is made once more with a fresh one; a connection is refreshed once.
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytesReader(body))
		if err != nil {
			return nil, engine.Permanent(fmt.Errorf("%s: %s", op, redact(err.Error(), secrets)))
		}
		for _, k := range sortedKeys(h.Headers) {
			if strings.EqualFold(k, "host") {
				req.Host = h.Headers[k]
				continue
			}
			req.Header.Set(k, h.Headers[k])
		}
		if contentType != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", contentType)
		}
		if h.Idempotency && sc.IdempotencyKey != "" && req.Header.Get("Idempotency-Key") == "" {
			req.Header.Set("Idempotency-Key", sc.IdempotencyKey)
		}
		var cached bool
		if h.Auth != nil {
			switch h.Auth.Type {
			case "bearer":
				req.Header.Set("Authorization", "Bearer "+h.Auth.Token)
			case "basic":
				req.SetBasicAuth(h.Auth.Username, h.Auth.Password)
			case "header":
				req.Header.Set(h.Auth.Name, h.Auth.Value)
			case "oauth2":
				tok, fromCache, err := oauthToken(ctx, sc, client, h.Auth)
				if err != nil {
					return nil, err
				}
				cached = fromCache
				req.Header.Set("Authorization", "Bearer "+tok)
				secrets = append(secrets, tok)
			}
		}
		if cred != nil {
			cred.Apply(req)
			secrets = append(secrets, cred.Secrets()...)
		}
		a, err := send(sc, client, req, op, max, secrets)
		if a == nil {
			return nil, err
		}
		if err != nil && a.Status == http.StatusUnauthorized && cached && try == 0 {
			dropToken(h.Auth)
			continue
		}
		if err != nil && a.Status == http.StatusUnauthorized && cred != nil && try == 0 {
			if cred, err = sc.Connections.Refresh(ctx, h.Connection, cred); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && a.Status >= 300 && a.Status < 400 && h.FollowRedirects != nil && !*h.FollowRedirects {
			err = nil
		}
		if cred != nil { // the engine redacts too; this also covers a token refreshed during the run
			return hideCredentials(a.output(), secrets), err
		}
		return a.output(), err
	}
}

// hideCredentials redacts a connection's secret values from an output.
func hideCredentials(out any, values []string) any {
	return secrets.NewRedactor(values).Value(out)
}

// resolveConnection returns the credential of the named connection (nil
// when name is empty).
func resolveConnection(ctx context.Context, sc *engine.StepContext, name string) (*engine.Credential, error) {
	if name == "" {
		return nil, nil
	}
	if sc == nil || sc.Connections == nil {
		return nil, engine.Permanent(fmt.Errorf("connection %q: connections are not available on this server", name))
	}
	return sc.Connections.Credential(ctx, name)
}

// encodeBody returns the request body and its default Content-Type.
func (h *HTTP) encodeBody() ([]byte, string, error) {
	if h.Body == nil {
		return nil, "", nil
	}
	bodyType := h.BodyType
	if bodyType == "" {
		bodyType = "json"
		if _, ok := h.Body.(string); ok {
			bodyType = "raw"
		}
	}
	switch bodyType {
	case "raw":
		s, ok := h.Body.(string)
		if !ok {
			return nil, "", errors.New("body_type raw needs a text body")
		}
		return []byte(s), "text/plain; charset=utf-8", nil
	case "form":
		switch b := h.Body.(type) {
		case string:
			return []byte(b), "application/x-www-form-urlencoded", nil
		case map[string]any:
			v := url.Values{}
			for _, k := range sortedKeys(b) {
				switch x := b[k].(type) {
				case []any:
					for _, e := range x {
						v.Add(k, formValue(e))
					}
				default:
					v.Add(k, formValue(x))
				}
			}
			return []byte(v.Encode()), "application/x-www-form-urlencoded", nil
		default:
			return nil, "", errors.New("body_type form needs an object body")
		}
	default:
		b, err := engine.AppendJSON(nil, h.Body) // encoding/json's bytes, without reflection
		if err != nil {
			return nil, "", fmt.Errorf("encode body as JSON: %w", err)
		}
		return b, "application/json", nil
	}
}

// formValue writes one form value: text as is, numbers and booleans as
// written in JSON, objects as JSON.
func formValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func bytesReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var (
	_ engine.Action    = (*HTTP)(nil)
	_ engine.Validator = (*HTTP)(nil)
)

// DecodeFast takes the common shape of an http step's settings straight from
// the coerced map (engine.FastDecoder): text fields, header and query maps of
// text, a plain JSON body and the flags. Anything else — auth, a timeout, a
// size, a key of another case, a value of another type — goes through the
// JSON path, which gives the same result and names what is wrong.
func (h *HTTP) DecodeFast(m map[string]any) bool {
	var x HTTP
	for k, v := range m {
		if v == nil {
			continue // JSON null leaves a field as it is
		}
		ok := true
		switch k {
		case "method":
			x.Method, ok = plainString(v)
		case "url":
			x.URL, ok = plainString(v)
		case "body_type":
			x.BodyType, ok = plainString(v)
		case "connection":
			x.Connection, ok = plainString(v)
		case "headers":
			x.Headers, ok = plainStrings(v)
		case "query":
			x.Query, ok = plainStrings(v)
		case "body":
			x.Body, ok = engine.CopyJSON(v)
		case "idempotency":
			x.Idempotency, ok = v.(bool)
		case "follow_redirects":
			var b bool
			if b, ok = v.(bool); ok {
				x.FollowRedirects = &b
			}
		default:
			ok = false
		}
		if !ok {
			return false
		}
	}
	*h = x
	return true
}

func plainString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && utf8.ValidString(s)
}

// plainStrings is a JSON object of text as a map (coerce made the values
// text already).
func plainStrings(v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := plainString(e)
		if !ok || !utf8.ValidString(k) {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}
