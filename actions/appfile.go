package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hookflow/hookflow/engine"
)

// App is an app file: a declarative description of a service's API (see
// docs/apps.md). Its operations become step kinds "<app>.<operation>", also
// reachable as {"type":"app","with":{"app":…,"operation":…}}.
type App struct {
	// ID is the app's name in step types: ^[a-z0-9][a-z0-9-]{0,39}$.
	ID string `json:"id"`
	// Name, Summary and Icon (an emoji or a short text) are shown in the palette.
	Name    string `json:"name"`
	Summary string `json:"summary,omitempty"`
	Icon    string `json:"icon,omitempty"`
	// Docs links to the service's API reference.
	Docs string `json:"docs,omitempty"`
	// BaseURL prefixes every operation's path. {placeholders} name input
	// fields or auth values (auth.params.subdomain, auth.extra.instance_url).
	BaseURL string `json:"base_url"`
	// Headers are sent with every request (templates over input and auth).
	Headers map[string]string `json:"headers,omitempty"`
	Auth    AppAuth           `json:"auth"`
	// Errors says how answers become errors for every operation.
	Errors *AppErrors `json:"errors,omitempty"`
	// Operations are the steps the app offers.
	Operations []AppOperation `json:"operations"`
}

// AppAuth says which connections an app takes and how it applies them.
type AppAuth struct {
	// Types are the connection types accepted; empty means the app needs
	// no connection (the credential is in an input field, as Teams' URL).
	Types []engine.ConnectionType `json:"types,omitempty"`
	// Apply maps a connection type to the headers and query parameters that
	// carry it (templates over auth: token, username, password, api_key,
	// params.X, extra.X). A type not listed is applied the usual way
	// (Bearer, Basic, or the key's own header).
	Apply map[engine.ConnectionType]AppApply `json:"apply,omitempty"`
	// OAuth2 are the provider's endpoints and scopes: the user pastes only a
	// client id and secret.
	OAuth2 *AppOAuth2 `json:"oauth2,omitempty"`
	// Params are non-secret connection values the app uses (subdomain).
	Params []AppParam `json:"params,omitempty"`
	// Help tells the user where to get the credential.
	Help string `json:"help,omitempty"`
}

// AppApply is where a credential goes.
type AppApply struct {
	Headers map[string]string `json:"headers,omitempty"`
	Query   map[string]string `json:"query,omitempty"`
}

// AppOAuth2 are an OAuth 2.0 provider's endpoints.
type AppOAuth2 struct {
	AuthURL    string            `json:"auth_url"`
	TokenURL   string            `json:"token_url"`
	Scopes     []string          `json:"scopes,omitempty"`
	AuthParams map[string]string `json:"auth_params,omitempty"`
	// ClientAuth is basic (default) or body.
	ClientAuth string `json:"client_auth,omitempty"`
}

// AppParam is a non-secret connection value.
type AppParam struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Help  string `json:"help,omitempty"`
}

// AppErrors classifies answers. By default 2xx succeeds; 408, 429 and 5xx
// are retried (honouring Retry-After); every other status is permanent; a
// 401 with an OAuth connection refreshes the token once.
type AppErrors struct {
	// Retryable adds statuses that a later attempt may fix (Notion's 409).
	Retryable []int `json:"retryable,omitempty"`
	// Message is an expression over the answer (status, headers, body)
	// giving the service's error text, e.g. body.error.message.
	Message string `json:"message,omitempty"`
	// When lists rules for answers whose status says success but whose body
	// says failure (Telegram's ok:false, GraphQL errors).
	When []AppErrorRule `json:"when,omitempty"`
}

// AppErrorRule turns an answer into an error when If is true.
type AppErrorRule struct {
	// If is a condition over the answer: body.ok == false.
	If string `json:"if"`
	// Message is an expression giving the error text.
	Message string `json:"message"`
	// Retryable marks errors a later attempt may fix (rate limits).
	Retryable bool `json:"retryable,omitempty"`
}

// AppOperation is one step kind of an app.
type AppOperation struct {
	// ID is the operation's name: ^[a-z][a-z0-9_]{0,39}$.
	ID      string `json:"id"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Fields are the step's settings, as built-in kinds describe theirs.
	Fields []engine.Field `json:"fields"`
	// Example is a valid `with` object for the step (tested).
	Example json.RawMessage `json:"example"`
	Request AppRequest      `json:"request"`
	// Output is an expression over the answer (status, headers, body) that
	// is the step's output; default body. With Paging it applies to each item.
	Output string `json:"output,omitempty"`
	// Paging fetches further pages of a list operation.
	Paging *AppPaging `json:"paging,omitempty"`
	// Errors adds to the app's rules.
	Errors *AppErrors `json:"errors,omitempty"`
	// Idempotency names a header that carries the step's idempotency key
	// (the same for every retry of the step in its run): Stripe's Idempotency-Key.
	Idempotency string `json:"idempotency,omitempty"`
}

// AppRequest is the HTTP request an operation makes. Path {placeholders}
// are input fields, escaped as one path segment; Query, Headers and Body are
// templates over input and auth ({{ input.email }}). Values that come out
// null are left out, so optional fields can be mapped freely.
type AppRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]any    `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
	// BodyType is json (default) or form (application/x-www-form-urlencoded;
	// nested objects as a[b]=c, as Stripe reads them).
	BodyType string `json:"body_type,omitempty"`
}

// AppPaging follows a list operation's pages.
type AppPaging struct {
	// Items is an expression over the answer giving the page's items.
	Items string `json:"items"`
	// Next is an expression over the answer: nil ends, a map is merged into
	// the next page's query.
	Next string `json:"next"`
	// MaxPages bounds the pages read (default 10, at most 100).
	MaxPages int `json:"max_pages,omitempty"`
}

var (
	appIDRe       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	opIDRe        = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	fieldNameRe   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)
	placeholderRe = regexp.MustCompile(`\{([a-z_][a-z0-9_.]*)\}`)
)

// reserved are `with` keys every app step has.
var reserved = []string{"app", "operation", "connection"}

// templateScope is what app templates may read.
var templateScope = []string{"input", "auth"}

// answerScope is what output, paging and error expressions may read: the
// answer and the step's input.
var answerScope = []string{"status", "headers", "body", "input"}

// ParseApp decodes an app file strictly and checks it completely: every
// problem with its JSON path. A file with problems registers nothing.
func ParseApp(data []byte) (*App, engine.Problems) {
	var ps engine.Problems
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var a App
	if err := dec.Decode(&a); err != nil {
		path := ""
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			path = strings.Trim(f, `"`)
		}
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok {
			path = te.Field
		}
		ps.Add(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
		return nil, ps
	}
	a.check(&ps)
	if len(ps) > 0 {
		return nil, ps
	}
	return &a, nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func (a *App) check(ps *engine.Problems) {
	if !appIDRe.MatchString(a.ID) {
		ps.Add("id", "must match ^[a-z0-9][a-z0-9-]{0,39}$, got %q", a.ID)
	}
	if strings.TrimSpace(a.Name) == "" {
		ps.Add("name", "required")
	}
	if a.BaseURL == "" {
		ps.Add("base_url", "required")
	} else if err := checkBaseURL(a.BaseURL); err != nil {
		ps.Add("base_url", "%v", err)
	}
	checkTemplates(ps, "headers", a.Headers)
	for i, t := range a.Auth.Types {
		if !slices.Contains(engine.ConnectionTypes, t) {
			ps.Add(fmt.Sprintf("auth.types[%d]", i), "unknown connection type %q", t)
		}
	}
	for t, ap := range a.Auth.Apply {
		if !slices.Contains(a.Auth.Types, t) {
			ps.Add("auth.apply."+string(t), "type %q is not in auth.types", t)
		}
		checkTemplates(ps, "auth.apply."+string(t)+".headers", ap.Headers)
		checkTemplates(ps, "auth.apply."+string(t)+".query", ap.Query)
	}
	if o := a.Auth.OAuth2; o != nil {
		for f, v := range map[string]string{"auth_url": o.AuthURL, "token_url": o.TokenURL} {
			if err := checkURL(f, v); err != nil {
				ps.Add("auth.oauth2."+f, "%v", err)
			}
		}
		if !slices.Contains(a.Auth.Types, engine.ConnOAuth2) {
			ps.Add("auth.oauth2", "auth.types must include oauth2")
		}
	}
	for i, p := range a.Auth.Params {
		if !fieldNameRe.MatchString(p.Name) {
			ps.Add(fmt.Sprintf("auth.params[%d].name", i), "must match ^[a-z_][a-z0-9_]*$")
		}
	}
	a.Errors.check(ps, "errors")
	if len(a.Operations) == 0 {
		ps.Add("operations", "required: at least one operation")
	}
	seen := map[string]bool{}
	for i := range a.Operations {
		p := fmt.Sprintf("operations[%d]", i)
		op := &a.Operations[i]
		if seen[op.ID] {
			ps.Add(p+".id", "duplicate operation %q", op.ID)
		}
		seen[op.ID] = true
		op.check(a, ps, p)
	}
}

// checkBaseURL accepts an absolute http(s) URL, possibly with placeholders.
func checkBaseURL(raw string) error {
	if strings.HasPrefix(raw, "{") {
		return nil // a URL value first ({webhook_url}, {auth.extra.instance_url}/services/data)
	}
	u, err := url.Parse(placeholderRe.ReplaceAllString(raw, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL, got %q", raw)
	}
	return nil
}

func checkTemplates[V any](ps *engine.Problems, path string, m map[string]V) {
	for k, v := range m {
		if _, errs := engine.CompileTemplateValue(v, templateScope); len(errs) > 0 {
			for _, e := range errs {
				ps.Add(engine.JoinPath(engine.JoinPath(path, k), e.Path), "%s", engine.OneLine(e.Err))
			}
		}
	}
}

func checkExpr(ps *engine.Problems, path, src string, cond bool) {
	if src == "" {
		return
	}
	var err error
	if cond {
		_, err = engine.CompileCond(src, answerScope)
	} else {
		_, err = engine.CompileExpr(src, answerScope)
	}
	if err != nil {
		ps.Add(path, "%s", engine.OneLine(err))
	}
}

func (e *AppErrors) check(ps *engine.Problems, path string) {
	if e == nil {
		return
	}
	for i, s := range e.Retryable {
		if s < 400 || s > 599 {
			ps.Add(fmt.Sprintf("%s.retryable[%d]", path, i), "must be an HTTP error status (400–599), got %d", s)
		}
	}
	checkExpr(ps, path+".message", e.Message, false)
	for i, r := range e.When {
		p := fmt.Sprintf("%s.when[%d]", path, i)
		if r.If == "" {
			ps.Add(p+".if", "required")
		}
		checkExpr(ps, p+".if", r.If, true)
		checkExpr(ps, p+".message", r.Message, false)
	}
}

func (op *AppOperation) check(a *App, ps *engine.Problems, p string) {
	if !opIDRe.MatchString(op.ID) {
		ps.Add(p+".id", "must match ^[a-z][a-z0-9_]{0,39}$, got %q", op.ID)
	}
	if strings.TrimSpace(op.Title) == "" {
		ps.Add(p+".title", "required")
	}
	if strings.TrimSpace(op.Summary) == "" {
		ps.Add(p+".summary", "required: a sentence of help for the palette")
	}
	names := map[string]bool{}
	for i, f := range op.Fields {
		fp := fmt.Sprintf("%s.fields[%d]", p, i)
		switch {
		case !fieldNameRe.MatchString(f.Name):
			ps.Add(fp+".name", "must match ^[a-z_][a-z0-9_]*$, got %q", f.Name)
		case slices.Contains(reserved, f.Name):
			ps.Add(fp+".name", "%q is reserved for every app step", f.Name)
		case names[f.Name]:
			ps.Add(fp+".name", "duplicate field %q", f.Name)
		}
		names[f.Name] = true
		if strings.TrimSpace(f.Label) == "" {
			ps.Add(fp+".label", "required")
		}
		if strings.TrimSpace(f.Help) == "" {
			ps.Add(fp+".help", "required: say what the field is for")
		}
		if !knownFieldType(f.Type) {
			ps.Add(fp+".type", "unknown field type %q", f.Type)
		}
		if f.Type == engine.FieldSelect && len(f.Options) == 0 {
			ps.Add(fp+".options", "required for a select field")
		}
	}
	r := &op.Request
	if !oneOf(r.Method, "GET", "POST", "PUT", "PATCH", "DELETE") {
		ps.Add(p+".request.method", "must be GET, POST, PUT, PATCH or DELETE, got %q", r.Method)
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") && !strings.HasPrefix(r.Path, "?") {
		ps.Add(p+".request.path", "must start with /")
	}
	for _, m := range placeholderRe.FindAllStringSubmatch(a.BaseURL+" "+r.Path, -1) {
		if n := m[1]; !strings.HasPrefix(n, "auth.") && !names[n] {
			ps.Add(p+".request.path", "placeholder {%s} is not a field of the operation", n)
		}
	}
	checkTemplates(ps, p+".request.query", r.Query)
	checkTemplates(ps, p+".request.headers", r.Headers)
	if r.Body != nil {
		if _, errs := engine.CompileTemplateValue(r.Body, templateScope); len(errs) > 0 {
			for _, e := range errs {
				ps.Add(engine.JoinPath(p+".request.body", e.Path), "%s", engine.OneLine(e.Err))
			}
		}
	}
	if !oneOf(r.BodyType, "", "json", "form") {
		ps.Add(p+".request.body_type", "must be json or form, got %q", r.BodyType)
	}
	checkExpr(ps, p+".output", op.Output, false)
	if pg := op.Paging; pg != nil {
		if pg.Items == "" {
			ps.Add(p+".paging.items", "required")
		}
		checkExpr(ps, p+".paging.items", pg.Items, false)
		checkExpr(ps, p+".paging.next", pg.Next, false)
		if pg.MaxPages < 0 || pg.MaxPages > 100 {
			ps.Add(p+".paging.max_pages", "must be between 1 and 100")
		}
	}
	op.Errors.check(ps, p+".errors")
	if len(bytes.TrimSpace(op.Example)) == 0 {
		ps.Add(p+".example", "required: a valid `with` object for the step")
	} else {
		var ex map[string]any
		if err := json.Unmarshal(op.Example, &ex); err != nil {
			ps.Add(p+".example", "must be an object: %v", err)
		} else {
			spec := op.spec(a)
			for _, prob := range checkInput(&spec, ex) {
				ps.Add(engine.JoinPath(p+".example", prob.Path), "%s", prob.Message)
			}
		}
	}
	if op.Idempotency != "" && http.CanonicalHeaderKey(op.Idempotency) == "" {
		ps.Add(p+".idempotency", "must be a header name")
	}
}

func knownFieldType(t engine.FieldType) bool {
	switch t {
	case engine.FieldText, engine.FieldTextarea, engine.FieldNumber, engine.FieldBool, engine.FieldSelect,
		engine.FieldSecret, engine.FieldMap, engine.FieldList, engine.FieldJSON, engine.FieldDuration:
		return true
	}
	return false
}

// Kind is the step type of an operation: "<app>.<operation>".
func (a *App) Kind(op *AppOperation) string { return a.ID + "." + op.ID }

// spec describes an operation as a step kind: its fields, then the
// connection and the generic form's app and operation.
func (op *AppOperation) spec(a *App) engine.Spec {
	fields := append([]engine.Field(nil), op.Fields...)
	if len(a.Auth.Types) > 0 {
		types := make([]string, len(a.Auth.Types))
		for i, t := range a.Auth.Types {
			types[i] = string(t)
		}
		help := "The name of a " + a.Name + " connection (" + strings.Join(types, ", ") + ") from the Connections page."
		if a.Auth.Help != "" {
			help += " " + a.Auth.Help
		}
		fields = append(fields, engine.Field{Name: "connection", Label: "Connection", Type: engine.FieldText, Required: true,
			Placeholder: a.ID, Help: help})
	}
	fields = append(fields,
		engine.Field{Name: "app", Label: "App", Type: engine.FieldText, Default: a.ID, Advanced: true,
			Help: "Set with type \"app\": the app's id (" + a.ID + ")."},
		engine.Field{Name: "operation", Label: "Operation", Type: engine.FieldText, Default: op.ID, Advanced: true,
			Help: "Set with type \"app\": the operation's id (" + op.ID + ")."})
	return engine.Spec{Kind: a.Kind(op), Title: a.Name + ": " + op.Title, Summary: op.Summary, Group: "action",
		App: a.Name, Fields: fields, Example: string(op.Example)}
}

// checkInput checks a `with` object against an operation's spec (before
// templates are evaluated): unknown fields and missing required ones.
func checkInput(spec *engine.Spec, with map[string]any) engine.Problems {
	var ps engine.Problems
	keys := make([]string, 0, len(with))
	for k := range with {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(spec.Fields, func(f engine.Field) bool { return f.Name == k }) {
			ps.Add(k, "unknown field %q for %s", k, spec.Kind)
		}
	}
	for _, f := range spec.Fields {
		v, ok := with[f.Name]
		if f.Required && !ok {
			ps.Add(f.Name, "required")
		}
		if s, isStr := v.(string); ok && isStr && f.Type == engine.FieldSelect && !isTemplate(s) && !slices.Contains(f.Options, s) {
			ps.Add(f.Name, "must be one of %s, got %q", strings.Join(f.Options, ", "), s)
		}
	}
	return ps
}
