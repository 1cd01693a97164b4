package triggers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
)

// Webhook defaults.
const (
	DefaultDedupeWindow   = 168 * time.Hour
	DefaultRespondTimeout = 10 * time.Second
	// maxDedupeKey is the longest dedupe key stored as is; longer keys are hashed.
	maxDedupeKey = 200
)

// Scopes of the webhook's expressions. The dedupe key is computed before the
// run exists and is stored as is, so it sees the request only; the redirect
// URL is shown to the browser, so it never sees secrets.
var (
	dedupeScope   = []string{"trigger"}
	redirectScope = []string{"trigger", "run", "flow"}
)

// Respond modes.
const (
	RespondImmediate = "immediate"
	RespondWait      = "wait"
	RespondRedirect  = "redirect"
)

var webhookKind = engine.TriggerKind{
	Spec: engine.Spec{
		Kind:    "webhook",
		Title:   "Webhook",
		Summary: "Start a run when Stripe, Shopify, GitHub, Slack, any app or an HTML form sends a request to the flow's URL.",
		Group:   "trigger",
		Fields: []engine.Field{
			{Name: "methods", Label: "Methods", Type: engine.FieldList, Default: []string{"POST"},
				Help: "HTTP methods accepted, e.g. POST or GET, POST; others get 405. Default POST."},
			{Name: "verify", Label: "Verify the sender", Type: engine.FieldObject,
				Help: "Check each request's signature or credentials before anything else; a request that fails gets 401.",
				Fields: []engine.Field{
					{Name: "scheme", Label: "Scheme", Type: engine.FieldSelect, Required: true, Options: Schemes,
						Help: "How the sender signs: a provider by name (Stripe, GitHub, PayPal, Paddle, Typeform, Twilio …; docs/triggers.md lists them), standard (Standard Webhooks, Svix), hmac (any HMAC header), basic (user and password) or token (a shared token)."},
					{Name: "secret", Label: "Secret", Type: engine.FieldSecret, Placeholder: "{{ secrets.STRIPE_WHSEC }}",
						Help: "The signing secret or token the sender shares with you. Store it under Secrets and refer to it as {{ secrets.NAME }}."},
					{Name: "tolerance", Label: "Timestamp tolerance", Type: engine.FieldDuration, Default: "5m", Advanced: true,
						Help: "For schemes that sign a timestamp (stripe, slack, standard, paddle, webflow, calendly; zendesk, mailgun and sendgrid only when set): how old a signed timestamp may be before the request is refused as a replay."},
					{Name: "header", Label: "Header", Type: engine.FieldText, Advanced: true,
						Help: "hmac: the header holding the signature (required). token: the header holding the token (default Authorization: Bearer …)."},
					{Name: "algorithm", Label: "Algorithm", Type: engine.FieldSelect, Options: []string{"sha256", "sha1", "sha512"}, Default: "sha256", Advanced: true,
						Help: "hmac: the hash the sender uses."},
					{Name: "encoding", Label: "Encoding", Type: engine.FieldSelect, Options: []string{"hex", "base64"}, Default: "hex", Advanced: true,
						Help: "hmac: how the signature is written."},
					{Name: "prefix", Label: "Prefix", Type: engine.FieldText, Advanced: true, Placeholder: "sha256=",
						Help: "hmac or token: text before the signature or token in the header, removed before comparing."},
					{Name: "username", Label: "Username", Type: engine.FieldText, Help: "basic: the expected user name."},
					{Name: "password", Label: "Password", Type: engine.FieldSecret, Placeholder: "{{ secrets.HOOK_PASSWORD }}",
						Help: "basic: the expected password."},
					{Name: "url", Label: "Signed URL", Type: engine.FieldText, Placeholder: "https://hooks.example.com/hooks/my-flow",
						Help: "twilio, square: the flow URL exactly as entered in the provider's dashboard (they sign it; behind a proxy, the public URL)."},
					{Name: "query", Label: "Token query parameter", Type: engine.FieldText, Advanced: true, Placeholder: "token",
						Help: "token: read the token from this query parameter instead of a header (Jotform and other senders that cannot set headers)."},
				}},
			{Name: "dedupe", Label: "Dedupe key", Type: engine.FieldExpression, Placeholder: "trigger.body.id",
				Help: "An expression giving each event's unique id: a request whose key was already seen within the window answers 200 with the first run and starts nothing. Each provider's verification supplies its event id as default (docs/triggers.md)."},
			{Name: "dedupe_window", Label: "Dedupe window", Type: engine.FieldDuration, Default: "168h", Advanced: true,
				Help: "How long a dedupe key is remembered."},
			{Name: "respond", Label: "Response", Type: engine.FieldObject,
				Help: "What the sender gets back.",
				Fields: []engine.Field{
					{Name: "mode", Label: "Mode", Type: engine.FieldSelect, Options: []string{RespondImmediate, RespondWait, RespondRedirect}, Default: RespondImmediate,
						Help: "immediate: 202 with the run id as soon as the run is stored. wait: hold the request until a respond step runs or the flow ends. redirect: 303 to the URL below (for HTML forms)."},
					{Name: "timeout", Label: "Wait timeout", Type: engine.FieldDuration, Default: "10s",
						Help: "wait: after this long, answer 202 with the run id. Keep it below the sender's own timeout."},
					{Name: "url", Label: "Redirect URL", Type: engine.FieldText, Placeholder: "https://example.com/thanks?id={{ run.id }}",
						Help: "redirect: where to send the browser; a template over trigger, run and flow."},
				}},
			{Name: "body_limit", Label: "Body limit (bytes)", Type: engine.FieldNumber, Default: DefaultBodyLimit, Advanced: true,
				Help: "Largest request body accepted, after gzip inflation; larger ones get 413. Default 1 MiB (1048576); GitHub sends up to 25 MB."},
			{Name: "rate_limit", Label: "Rate limit", Type: engine.FieldObject, Advanced: true,
				Help: "Refuse requests over this rate with 429 and Retry-After. None by default.",
				Fields: []engine.Field{
					{Name: "requests", Label: "Requests", Type: engine.FieldNumber, Required: true, Help: "Requests allowed per period."},
					{Name: "per", Label: "Per", Type: engine.FieldDuration, Default: "1s", Help: "The period, e.g. 1s or 1m."},
					{Name: "burst", Label: "Burst", Type: engine.FieldNumber, Help: "Requests allowed at once after a quiet spell. Default: requests."},
				}},
			{Name: "keep_files", Label: "Keep uploaded files", Type: engine.FieldBool, Advanced: true,
				Help: "Keep the bytes of multipart uploads with the run (base64). Off: only name, size, type and sha256 are kept."},
			reconcileField,
		},
		Example: `{"methods":["POST"],"verify":{"scheme":"stripe","secret":"{{ secrets.STRIPE_WHSEC }}"},"dedupe":"trigger.body.id","respond":{"mode":"immediate"}}`,
	},
	New: func() any { return new(Webhook) },
}

// Webhook starts a run for each request to /hooks/{flow_id}: it verifies the
// sender, parses the body and computes the dedupe key. Its fields are the
// trigger's `with` settings.
type Webhook struct {
	// Methods lists the HTTP methods accepted (default POST); "*" accepts any.
	// Others get 405.
	Methods engine.StringList `json:"methods,omitempty"`
	// Verify checks the sender's signature or credentials on the raw body
	// before anything else. Without it anyone who knows the URL can start runs.
	Verify *Verify `json:"verify,omitempty"`
	// Dedupe is an expression over trigger (only) giving an event's unique id, e.g.
	// trigger.body.id or trigger.headers["x-request-id"]. A request whose key
	// was seen within DedupeWindow answers 200 {"run_id":…,"duplicate":true}
	// and starts nothing. Default per verify scheme: Stripe's event id,
	// GitHub's x-github-delivery, Shopify's x-shopify-event-id (else
	// x-shopify-webhook-id), Standard Webhooks' webhook-id, Slack's
	// body.event_id, and each preset's event id (docs/triggers.md).
	Dedupe string `json:"dedupe,omitempty"`
	// DedupeWindow is how long dedupe keys are remembered. Default 168h (7 days).
	DedupeWindow engine.Duration `json:"dedupe_window,omitempty"`
	// Respond says what the sender gets back; default immediate (202 with the run id).
	Respond *Respond `json:"respond,omitempty"`
	// BodyLimit is the largest body accepted in bytes, counted after gzip or
	// deflate inflation; larger ones get 413. Default 1 MiB.
	BodyLimit int64 `json:"body_limit,omitempty"`
	// RateLimit refuses requests over a rate with 429. None by default.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// KeepFiles keeps the bytes of multipart uploads with the run, base64
	// encoded; by default only their name, size, type and sha256 are kept.
	KeepFiles bool `json:"keep_files,omitempty"`
	// Reconcile reads the sender's list API every so often and starts a run
	// for each event no webhook brought (see Reconcile).
	Reconcile *Reconcile `json:"reconcile,omitempty"`

	once     sync.Once
	problems engine.Problems
	dedupe   *engine.Expr
	redirect *engine.Template
}

// Respond says how a webhook request is answered.
type Respond struct {
	// Mode is "immediate" (default: 202 {"run_id","status":"queued"} once the
	// run is stored), "wait" (hold the request until a respond step runs or the
	// flow ends) or "redirect" (303 to URL, for HTML forms).
	Mode string `json:"mode,omitempty"`
	// Timeout bounds "wait": after it the answer is 202 with the run id.
	// Default 10s, below the providers' own timeouts.
	Timeout engine.Duration `json:"timeout,omitempty"`
	// URL is where "redirect" sends the browser: a template over trigger, run
	// and flow (never secrets: the browser sees it), e.g. https://example.com/thanks?order={{ trigger.body.order }}.
	URL string `json:"url,omitempty"`
}

// RateLimit is a token bucket: Requests per Per, with bursts of up to Burst.
type RateLimit struct {
	// Requests is how many requests are allowed per period.
	Requests int `json:"requests"`
	// Per is the period (default 1s).
	Per engine.Duration `json:"per,omitempty"`
	// Burst is how many requests may arrive at once after a quiet spell
	// (default Requests).
	Burst int `json:"burst,omitempty"`
}

// Compile checks the settings and compiles the dedupe expression and the
// secret and redirect templates. Paths are relative to trigger.with. It is
// safe to call more than once; Receive calls it if nobody did.
func (w *Webhook) Compile() engine.Problems {
	w.once.Do(func() { w.problems = w.compile() })
	return w.problems
}

func (w *Webhook) compile() engine.Problems {
	var ps engine.Problems
	for i, m := range w.Methods {
		if m == "*" {
			continue
		}
		if !isToken(m) {
			ps.Add(fmt.Sprintf("methods[%d]", i), "%q is not an HTTP method", m)
		}
		w.Methods[i] = strings.ToUpper(m)
	}
	if w.Verify != nil {
		w.Verify.compile(&ps)
	}
	if strings.TrimSpace(w.Dedupe) != "" {
		e, err := engine.CompileExpr(w.Dedupe, dedupeScope)
		if err != nil {
			ps.Add("dedupe", "%s", oneLine(err))
		}
		w.dedupe = e
	}
	if w.DedupeWindow < 0 {
		ps.Add("dedupe_window", "must not be negative")
	}
	if r := w.Respond; r != nil {
		r.Mode = strings.ToLower(strings.TrimSpace(r.Mode))
		switch r.Mode {
		case "", RespondImmediate, RespondWait:
		case RespondRedirect:
			if strings.TrimSpace(r.URL) == "" {
				ps.Add("respond.url", "required with mode redirect")
			}
		default:
			ps.Add("respond.mode", "unknown mode %q (immediate, wait or redirect)", r.Mode)
		}
		if r.Timeout < 0 {
			ps.Add("respond.timeout", "must not be negative")
		}
		if strings.TrimSpace(r.URL) != "" {
			t, err := engine.CompileString(r.URL, redirectScope)
			if err != nil {
				ps.Add("respond.url", "%s", oneLine(err))
			}
			w.redirect = t
		}
	}
	if w.BodyLimit < 0 {
		ps.Add("body_limit", "must not be negative")
	}
	compileReconcile(w.Reconcile, &ps)
	if rl := w.RateLimit; rl != nil {
		if rl.Requests <= 0 {
			ps.Add("rate_limit.requests", "must be at least 1")
		}
		if rl.Per < 0 {
			ps.Add("rate_limit.per", "must not be negative")
		}
		if rl.Burst < 0 {
			ps.Add("rate_limit.burst", "must not be negative")
		}
	}
	return ps
}

// isToken reports whether s is an HTTP method token (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// AllowsMethod reports whether the webhook accepts requests with method m.
func (w *Webhook) AllowsMethod(m string) bool {
	if len(w.Methods) == 0 {
		return strings.EqualFold(m, "POST")
	}
	for _, x := range w.Methods {
		if x == "*" || strings.EqualFold(x, m) {
			return true
		}
	}
	return false
}

// Limit returns the largest body the flow accepts, in bytes, after
// inflation: its body_limit (default 1 MiB), capped by the server's globalMax
// when that is positive.
func (w *Webhook) Limit(globalMax int64) int64 {
	l := w.BodyLimit
	if l <= 0 {
		l = DefaultBodyLimit
	}
	if globalMax > 0 && l > globalMax {
		l = globalMax
	}
	return l
}

// RespondMode returns "immediate", "wait" or "redirect".
func (w *Webhook) RespondMode() string {
	if w.Respond == nil || w.Respond.Mode == "" {
		return RespondImmediate
	}
	return strings.ToLower(w.Respond.Mode)
}

// RespondTimeout returns how long "wait" holds a request (default 10s).
func (w *Webhook) RespondTimeout() time.Duration {
	if w.Respond == nil || w.Respond.Timeout <= 0 {
		return DefaultRespondTimeout
	}
	return w.Respond.Timeout.D()
}

// RedirectURL renders respond.url over env (trigger as TriggerMap gives it,
// run, flow). It is an error when the webhook has no redirect URL or it
// renders empty.
func (w *Webhook) RedirectURL(env map[string]any) (string, error) {
	w.Compile()
	if w.redirect == nil {
		return "", fmt.Errorf("webhook has no respond.url")
	}
	u, err := w.redirect.EvalString(env)
	if err != nil {
		return "", fmt.Errorf("respond.url: %w", err)
	}
	if strings.TrimSpace(u) == "" {
		return "", fmt.Errorf("respond.url rendered empty")
	}
	return u, nil
}

// Receive turns a request into an event: it verifies the sender on the raw
// bytes first (an error wrapping engine.ErrSignature), then parses the body
// (engine.ErrBadBody) and computes the dedupe key. It does no I/O. The caller
// has already bounded and inflated the body (Limit, Inflate).
func (w *Webhook) Receive(in *engine.Inbound, rc *engine.ReceiveContext) (*engine.Event, error) {
	if ps := w.Compile(); len(ps) > 0 {
		return nil, fmt.Errorf("webhook settings: %w", ps.Err())
	}
	if !w.AllowsMethod(in.Method) {
		return nil, fmt.Errorf("%w: %s", engine.ErrMethod, abbrev(in.Method, 20))
	}
	now := in.ReceivedAt
	if rc != nil && !rc.Now.IsZero() {
		now = rc.Now
	}
	if now.IsZero() {
		now = time.Now()
	}
	if w.Verify != nil {
		if err := w.Verify.check(in, rc, now); err != nil {
			return nil, err
		}
	}
	parsed, err := ParseBodyKeep(in.Headers["content-type"], in.Raw, w.KeepFiles)
	if err != nil {
		return nil, err
	}
	td := engine.TriggerData{
		Type:       "webhook",
		Method:     in.Method,
		Path:       in.Path,
		Headers:    w.headers(in.Headers),
		Query:      w.query(in.Query),
		Body:       parsed.Body,
		Files:      parsed.Files,
		ReceivedAt: in.ReceivedAt,
	}
	if td.Files == nil {
		td.Files = []engine.File{}
	}
	if td.ReceivedAt.IsZero() {
		td.ReceivedAt = now
	}
	if parsed.KeepRaw {
		if utf8.Valid(in.Raw) {
			td.Raw = string(in.Raw)
		} else { // a JSON string cannot hold these bytes: keep them exactly, in base64
			td.Raw, td.RawBase64 = base64.StdEncoding.EncodeToString(in.Raw), true
		}
	}
	td.XML = parsed.XML
	if parsed.JSON { // DecodeJSON accepted it: valid JSON
		td.BodyJSON = in.Raw // stored as sent: no re-encoding of the decoded body
	}
	if len(parsed.Contents) > 0 {
		td.FileData = parsed.Contents
	}
	ev := &engine.Event{Trigger: td, DedupeWindow: DefaultDedupeWindow}
	if w.DedupeWindow > 0 {
		ev.DedupeWindow = w.DedupeWindow.D()
	}
	if w.dedupe != nil {
		v, err := w.dedupe.Eval(map[string]any{"trigger": TriggerMap(&ev.Trigger)})
		if err != nil {
			return nil, fmt.Errorf("%w: dedupe: %v", engine.ErrBadBody, err)
		}
		ev.DedupeKey = NormalizeDedupeKey(v)
	} else if w.Verify != nil {
		ev.DedupeKey = NormalizeDedupeKey(defaultDedupe(w.Verify.Scheme, &ev.Trigger))
	}
	return ev, nil
}

// defaultDedupe is the provider's event id for schemes that have one.
func defaultDedupe(scheme string, t *engine.TriggerData) any {
	switch scheme {
	case SchemeStripe:
		if m, ok := t.Body.(map[string]any); ok {
			return m["id"]
		}
	case SchemeGitHub:
		return t.Headers["x-github-delivery"]
	case SchemeShopify:
		return header(t.Headers, "x-shopify-event-id", "x-shopify-webhook-id")
	case SchemeStandard:
		return header(t.Headers, "webhook-id", "svix-id")
	case SchemeSlack: // Events API; slash commands and interactivity have none
		return bodyField(t, "event_id")
	}
	if p, ok := providers[scheme]; ok && p.dedupe != nil {
		return p.dedupe(t)
	}
	return nil
}

// NormalizeDedupeKey turns a dedupe value into the stored key: nil and "" mean
// no key; numbers and other values are formatted as templates format them;
// keys longer than 200 bytes become "sha256:" and their hex digest. Reconcile
// uses it too, so that both paths share one key space.
func NormalizeDedupeKey(v any) string {
	s := engine.Stringify(v)
	if len(s) > maxDedupeKey {
		sum := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return s
}

// headers returns the request headers for the run, with the credential
// header of the basic and token schemes redacted.
func (w *Webhook) headers(h map[string]string) map[string]string {
	if h == nil {
		return map[string]string{}
	}
	if w.Verify == nil {
		return h
	}
	name := w.Verify.credentialHeader()
	if _, ok := h[name]; name == "" || !ok {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	out[name] = "[redacted]"
	return out
}

// query returns the query parameters for the run, with the token scheme's
// query parameter redacted.
func (w *Webhook) query(q map[string][]string) map[string]any {
	out := queryMap(q)
	if w.Verify != nil && w.Verify.Scheme == SchemeToken && w.Verify.Query != "" {
		if _, ok := out[w.Verify.Query]; ok {
			out[w.Verify.Query] = "[redacted]"
		}
	}
	return out
}

// queryMap turns query parameters into plain data: one value → string,
// repeated → []any of strings.
func queryMap(q map[string][]string) map[string]any {
	out := make(map[string]any, len(q))
	for k, vs := range q {
		switch len(vs) {
		case 0:
			out[k] = ""
		case 1:
			out[k] = vs[0]
		default:
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			out[k] = l
		}
	}
	return out
}

// TriggerMap turns trigger data into the plain maps expressions see as
// `trigger`: headers as map[string]any, files as []any of maps, received_at
// as an RFC 3339 string, file_data (keep_files) as map[string]any. Body must already be plain data (as ParseBody and
// encoding/json produce).
func TriggerMap(t *engine.TriggerData) map[string]any { return engine.TriggerEnv(t) }

var (
	_ engine.Compiler = (*Webhook)(nil)
	_ engine.Receiver = (*Webhook)(nil)
)
