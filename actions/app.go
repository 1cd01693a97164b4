package actions

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow/engine"
)

//go:embed apps/*.json
var builtinApps embed.FS

// Apps is the catalogue of app files: the built-in ones (actions/apps/*.json,
// embedded) and those users import. It is the registry's KindSource: every
// operation is the step type "<app>.<operation>", and the generic type
// "app" names one in `with`. Safe for concurrent use.
type Apps struct {
	mu      sync.RWMutex
	apps    map[string]*App
	builtin map[string]bool
}

// NewApps loads the built-in app files; one that does not validate is an
// error naming the file and its problems.
func NewApps() (*Apps, error) {
	c := &Apps{apps: map[string]*App{}, builtin: map[string]bool{}}
	files, err := fs.Glob(builtinApps, "apps/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := builtinApps.ReadFile(f)
		if err != nil {
			return nil, err
		}
		a, ps := ParseApp(data)
		if len(ps) > 0 {
			return nil, fmt.Errorf("app file %s: %s", f, problemsText(ps))
		}
		if want := strings.TrimSuffix(path.Base(f), ".json"); a.ID != want {
			return nil, fmt.Errorf("app file %s: id %q must match the file name", f, a.ID)
		}
		c.apps[a.ID] = a
		c.builtin[a.ID] = true
	}
	return c, nil
}

// problemsText lists problems on one line: "path: message; …".
func problemsText(ps engine.Problems) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// ErrBuiltinApp: an import that would replace a built-in app.
var ErrBuiltinApp = errors.New("a built-in app has this id")

// Import validates an app file and adds it (replacing an imported app with
// the same id). Problems carry JSON paths; a file with problems changes
// nothing.
func (c *Apps) Import(data []byte) (*App, error) {
	a, ps := ParseApp(data)
	if len(ps) > 0 {
		return nil, engine.Invalid("app file", ps)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.builtin[a.ID] {
		return nil, fmt.Errorf("import app %q: %w: %w", a.ID, ErrBuiltinApp, engine.ErrExists)
	}
	c.apps[a.ID] = a
	return a, nil
}

// Remove deletes an imported app (ErrNotFound when absent; built-in apps stay).
func (c *Apps) Remove(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.builtin[id] {
		return fmt.Errorf("remove app %q: %w: %w", id, ErrBuiltinApp, engine.ErrConflict)
	}
	if _, ok := c.apps[id]; !ok {
		return fmt.Errorf("app %q: %w", id, engine.ErrNotFound)
	}
	delete(c.apps, id)
	return nil
}

// List returns the apps sorted by name; Builtin reports which ship with Hookflow.
func (c *Apps) List() []*App {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*App, 0, len(c.apps))
	for _, a := range c.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Builtin reports whether an app ships with Hookflow.
func (c *Apps) Builtin(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.builtin[id]
}

// Get returns an app by id.
func (c *Apps) Get(id string) (*App, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.apps[id]
	return a, ok
}

// Specs lists every operation's kind, by app then operation.
func (c *Apps) Specs() []engine.Spec {
	var out []engine.Spec
	for _, a := range c.List() {
		for i := range a.Operations {
			out = append(out, a.Operations[i].spec(a))
		}
	}
	return out
}

// Kind resolves "<app>.<operation>" and the generic "app" type.
func (c *Apps) Kind(stepType string, with []byte) (engine.ActionKind, bool) {
	appID, opID, ok := strings.Cut(stepType, ".")
	if stepType == "app" {
		var w struct {
			App       string `json:"app"`
			Operation string `json:"operation"`
		}
		_ = json.Unmarshal(with, &w)
		appID, opID, ok = w.App, w.Operation, true
		if k, found := c.kind(appID, opID); found {
			return k, true
		}
		return c.genericKind(appID), true
	}
	if !ok {
		return engine.ActionKind{}, false
	}
	return c.kind(appID, opID)
}

func (c *Apps) kind(appID, opID string) (engine.ActionKind, bool) {
	a, ok := c.Get(appID)
	if !ok {
		return engine.ActionKind{}, false
	}
	for i := range a.Operations {
		if op := &a.Operations[i]; op.ID == opID {
			return engine.ActionKind{Spec: op.spec(a), New: func() engine.Action { return &appStep{app: a, op: op} }}, true
		}
	}
	return engine.ActionKind{}, false
}

// genericKind describes {"type":"app"} when its app or operation is not
// known: selects that list what is.
func (c *Apps) genericKind(appID string) engine.ActionKind {
	var ids, ops []string
	for _, a := range c.List() {
		ids = append(ids, a.ID)
		if a.ID == appID {
			for _, op := range a.Operations {
				ops = append(ops, op.ID)
			}
		}
	}
	sort.Strings(ids)
	opField := engine.Field{Name: "operation", Label: "Operation", Type: engine.FieldText, Required: true,
		Help: "The operation's id."}
	if len(ops) > 0 {
		opField.Type, opField.Options = engine.FieldSelect, ops
	}
	spec := engine.Spec{Kind: "app", Title: "App", Summary: "Run an operation of an app file.", Group: "action",
		Fields: []engine.Field{
			{Name: "app", Label: "App", Type: engine.FieldSelect, Required: true, Options: ids, Help: "The app's id."},
			opField,
			{Name: "connection", Label: "Connection", Type: engine.FieldText, Help: "The connection to use."},
		}}
	return engine.ActionKind{Spec: spec, New: func() engine.Action { return &appStep{} }}
}

// appStep is one app operation's step: its `with` holds the operation's
// fields and the connection.
type appStep struct {
	app *App
	op  *AppOperation

	App        string
	Operation  string
	Connection string
	Input      map[string]any

	used []string // credential values sent, hidden from the output
}

// UnmarshalJSON takes every `with` key: app, operation and connection, and
// the operation's fields (checked by Validate).
func (s *appStep) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	s.Input = map[string]any{}
	for k, v := range m {
		switch k {
		case "app", "operation", "connection":
			str, ok := v.(string)
			if !ok && v != nil {
				return fmt.Errorf("%s must be a string", k)
			}
			switch k {
			case "app":
				s.App = str
			case "operation":
				s.Operation = str
			default:
				s.Connection = str
			}
		default:
			s.Input[k] = v
		}
	}
	return nil
}

// Validate checks the fields against the operation.
func (s *appStep) Validate() error {
	if s.app == nil {
		if s.App == "" {
			return errors.New("app is required")
		}
		return fmt.Errorf("unknown app %q or operation %q", s.App, s.Operation)
	}
	if s.App != "" && s.App != s.app.ID {
		return fmt.Errorf("app is %q but the step type is %s", s.App, s.app.Kind(s.op))
	}
	if s.Operation != "" && s.Operation != s.op.ID {
		return fmt.Errorf("operation is %q but the step type is %s", s.Operation, s.app.Kind(s.op))
	}
	spec := s.op.spec(s.app)
	with := map[string]any{}
	for k, v := range s.Input {
		with[k] = v
	}
	if s.Connection != "" {
		with["connection"] = s.Connection
	}
	if ps := checkInput(&spec, with); len(ps) > 0 {
		return errors.New(ps[0].Path + ": " + ps[0].Message)
	}
	return nil
}

// answerEnv is the scope of output, paging and error expressions.
func answerEnv(a *answer, input map[string]any) map[string]any {
	return map[string]any{"status": a.Status, "headers": lowerHeaders(a.Header), "body": a.Body, "input": input}
}

// Run makes the operation's request(s) and returns the selected output.
func (s *appStep) Run(ctx context.Context, sc *engine.StepContext) (out any, err error) {
	defer func() {
		if len(s.used) > 0 { // the engine redacts too; this also covers a token refreshed during the run
			out = hideCredentials(out, s.used)
		}
	}()
	if err := s.Validate(); err != nil {
		return nil, engine.Permanent(err)
	}
	a, op := s.app, s.op
	name := a.Kind(op)
	for _, f := range op.Fields {
		if _, ok := s.Input[f.Name]; !ok && f.Default != nil {
			s.Input[f.Name] = f.Default
		}
	}
	client, err := httpClient(sc)
	if err != nil {
		return nil, err
	}
	var cred *engine.Credential
	if len(a.Auth.Types) > 0 {
		if s.Connection == "" {
			return nil, engine.Permanent(fmt.Errorf("%s: connection is required", name))
		}
		if cred, err = resolveConnection(ctx, sc, s.Connection); err != nil {
			return nil, err
		}
		if !slices.Contains(a.Auth.Types, cred.Type) {
			return nil, engine.Permanent(fmt.Errorf("%s: connection %q is %s; %s takes %s", name, s.Connection, cred.Type, a.Name, joinConnTypes(a.Auth.Types)))
		}
	}
	var items []any
	pages := 0
	extraQuery := map[string]any{}
	maxPages := 1
	if op.Paging != nil {
		maxPages = op.Paging.MaxPages
		if maxPages == 0 {
			maxPages = 10
		}
	}
	for {
		ans, err := s.call(ctx, sc, client, cred, extraQuery)
		if err != nil {
			return nil, err
		}
		pages++
		env := answerEnv(ans, s.Input)
		if op.Paging == nil {
			if op.Output == "" {
				return ans.Body, nil
			}
			return evalAnswer(name+": output", op.Output, env)
		}
		page, err := evalAnswer(name+": paging.items", op.Paging.Items, env)
		if err != nil {
			return nil, err
		}
		list, _ := page.([]any)
		items = append(items, list...)
		if op.Paging.Next == "" || pages >= maxPages || len(list) == 0 {
			break
		}
		next, err := evalAnswer(name+": paging.next", op.Paging.Next, env)
		if err != nil {
			return nil, err
		}
		m, ok := next.(map[string]any)
		if !ok || len(m) == 0 {
			break
		}
		for k, v := range m {
			extraQuery[k] = v
		}
	}
	if items == nil {
		items = []any{}
	}
	return map[string]any{"items": items, "count": len(items), "pages": pages}, nil
}

func joinConnTypes(ts []engine.ConnectionType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " or ")
}

func evalAnswer(what, src string, env map[string]any) (any, error) {
	e, err := cachedExpr(src, false)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	v, err := e.Eval(env)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	return v, nil
}

// call makes one request (refreshing an OAuth connection once on a 401) and
// classifies the answer.
func (s *appStep) call(ctx context.Context, sc *engine.StepContext, client *http.Client, cred *engine.Credential, extraQuery map[string]any) (*answer, error) {
	a, op := s.app, s.op
	name := a.Kind(op)
	for try := 0; ; try++ {
		var secrets []string
		env := map[string]any{"input": s.Input, "auth": map[string]any{}}
		if cred != nil {
			env["auth"] = cred.Values()
			secrets = cred.Secrets()
			s.used = append(s.used, secrets...)
		}
		req, err := s.build(ctx, sc, env, cred, extraQuery)
		if err != nil {
			return nil, engine.Permanent(redactErr(fmt.Errorf("%s: %w", name, err), secrets))
		}
		op := name + ": " + req.Method + " " + redact(req.URL.Redacted(), secrets)
		resp, err := client.Do(req)
		if err != nil {
			return nil, transportError(ctx, op, err, secrets)
		}
		raw, err := readAnswer(ctx, sc, resp, defaultMaxResponse)
		resp.Body.Close()
		if err != nil {
			return nil, transportError(ctx, op, err, secrets)
		}
		ans := &answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw, Body: parseBody(resp.Header.Get("Content-Type"), raw)}
		if ans.Status == http.StatusUnauthorized && cred != nil && try == 0 &&
			(cred.Type == engine.ConnOAuth2 || cred.Type == engine.ConnOAuth2Client) {
			if cred, err = sc.Connections.Refresh(ctx, s.Connection, cred); err != nil {
				return nil, err
			}
			continue
		}
		return ans, s.classify(op, ans, now(sc), secrets)
	}
}

// classify applies the app's error rules to an answer.
func (s *appStep) classify(op string, ans *answer, clock time.Time, secrets []string) error {
	env := answerEnv(ans, s.Input)
	rules := []*AppErrors{s.app.Errors, s.op.Errors}
	message := func() string {
		for i := len(rules) - 1; i >= 0; i-- {
			if r := rules[i]; r != nil && r.Message != "" {
				if v, err := evalAnswer("message", r.Message, env); err == nil && v != nil {
					return redact(engine.Stringify(v), secrets)
				}
			}
		}
		return snippet(ans.Raw, secrets)
	}
	if ans.Status < 200 || ans.Status > 299 {
		msg := fmt.Sprintf("%s: HTTP %d %s", op, ans.Status, http.StatusText(ans.Status))
		if m := message(); m != "" {
			msg += ": " + m
		}
		err := errors.New(msg)
		retry := retryableStatus(ans.Status)
		for _, r := range rules {
			if r != nil && slices.Contains(r.Retryable, ans.Status) {
				retry = true
			}
		}
		if retry {
			return engine.Retryable(err, retryAfter(ans.Header.Get("Retry-After"), clock))
		}
		return engine.Permanent(err)
	}
	for _, r := range rules {
		if r == nil {
			continue
		}
		for _, w := range r.When {
			e, err := cachedExpr(w.If, true)
			if err != nil {
				return engine.Permanent(fmt.Errorf("%s: errors.when: %w", op, err))
			}
			hit, err := e.Bool(env)
			if err != nil || !hit {
				continue
			}
			msg := op + ": the service reported an error"
			if w.Message != "" {
				if v, err := evalAnswer("message", w.Message, env); err == nil && v != nil {
					msg += ": " + redact(engine.Stringify(v), secrets)
				}
			}
			if w.Retryable {
				return engine.Retryable(errors.New(msg), retryAfter(ans.Header.Get("Retry-After"), clock))
			}
			return engine.Permanent(errors.New(msg))
		}
	}
	return nil
}

// build renders the operation's request.
func (s *appStep) build(ctx context.Context, sc *engine.StepContext, env map[string]any, cred *engine.Credential, extraQuery map[string]any) (*http.Request, error) {
	a, op := s.app, s.op
	base, err := fillPlaceholders(a.BaseURL, env, true)
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	p, err := fillPlaceholders(op.Request.Path, env, false)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + p)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the request URL is not an absolute http or https URL")
	}
	q := u.Query()
	query, err := renderMap(op, "query", op.Request.Query, env)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for k, v := range extraQuery {
		query[k] = v
	}
	for _, k := range sortedKeys(query) {
		switch x := query[k].(type) {
		case []any:
			q.Del(k)
			for _, e := range x {
				q.Add(k, engine.Stringify(e))
			}
		default:
			q.Set(k, engine.Stringify(x))
		}
	}
	var body []byte
	contentType := ""
	if op.Request.Body != nil {
		t, err := cachedTemplate(op, "body", op.Request.Body)
		if err != nil {
			return nil, err
		}
		v, err := t.Eval(env)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		v = prune(v)
		if op.Request.BodyType == "form" {
			m, _ := v.(map[string]any)
			form := url.Values{}
			formEncode(form, "", m)
			body, contentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
		} else {
			if body, err = json.Marshal(v); err != nil {
				return nil, fmt.Errorf("body: %w", err)
			}
			contentType = "application/json"
		}
	}
	var apply *AppApply
	if cred != nil {
		if ap, ok := a.Auth.Apply[cred.Type]; ok {
			apply = &ap
			extra, err := renderMap(a, "apply.query."+string(cred.Type), toAny(ap.Query), env)
			if err != nil {
				return nil, fmt.Errorf("auth.apply: %w", err)
			}
			for _, k := range sortedKeys(extra) {
				q.Set(k, engine.Stringify(extra[k]))
			}
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, op.Request.Method, u.String(), bytesReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i, hs := range []map[string]string{a.Headers, op.Request.Headers} {
		owner := any(a)
		if i == 1 {
			owner = op
		}
		h, err := renderMap(owner, "headers", toAny(hs), env)
		if err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		for k, v := range h {
			req.Header.Set(k, engine.Stringify(v))
		}
	}
	if op.Idempotency != "" && sc.IdempotencyKey != "" {
		req.Header.Set(op.Idempotency, sc.IdempotencyKey)
	}
	if cred != nil {
		if apply == nil {
			cred.Apply(req)
		} else {
			h, err := renderMap(a, "apply.headers."+string(cred.Type), toAny(apply.Headers), env)
			if err != nil {
				return nil, fmt.Errorf("auth.apply: %w", err)
			}
			for k, v := range h {
				req.Header.Set(k, engine.Stringify(v))
			}
		}
	}
	return req, nil
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Compiled templates and expressions of app files, by the app or operation
// they belong to (app files do not change once parsed) and by source.
var (
	tmplCache sync.Map // tmplKey → *engine.Template
	exprCache sync.Map // exprKey → *engine.Expr
)

type tmplKey struct {
	owner any // *App or *AppOperation
	part  string
}

type exprKey struct {
	src  string
	cond bool
}

// maxExprCache bounds the expression cache (imported apps can add sources).
const maxExprCache = 10000

func cachedTemplate(owner any, part string, v any) (*engine.Template, error) {
	k := tmplKey{owner, part}
	if t, ok := tmplCache.Load(k); ok {
		return t.(*engine.Template), nil
	}
	t, errs := engine.CompileTemplateValue(v, templateScope)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	tmplCache.Store(k, t)
	return t, nil
}

var exprCount atomic.Int64

func cachedExpr(src string, cond bool) (*engine.Expr, error) {
	k := exprKey{src, cond}
	if e, ok := exprCache.Load(k); ok {
		return e.(*engine.Expr), nil
	}
	var e *engine.Expr
	var err error
	if cond {
		e, err = engine.CompileCond(src, answerScope)
	} else {
		e, err = engine.CompileExpr(src, answerScope)
	}
	if err != nil {
		return nil, err
	}
	if exprCount.Add(1) <= maxExprCache {
		exprCache.Store(k, e)
	}
	return e, nil
}

// renderMap evaluates a map of templates, leaving out null values.
func renderMap(owner any, part string, m map[string]any, env map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(m) == 0 {
		return out, nil
	}
	t, err := cachedTemplate(owner, part, m)
	if err != nil {
		return nil, err
	}
	v, err := t.Eval(env)
	if err != nil {
		return nil, err
	}
	for k, x := range v.(map[string]any) {
		if x != nil {
			out[k] = x
		}
	}
	return out, nil
}

// prune drops null values from objects, deeply, so that optional fields
// left empty are not sent.
func prune(v any) any {
	switch x := v.(type) {
	case map[any]any: // fromPairs
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[fmt.Sprint(k)] = prune(e)
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			out[k] = prune(e)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, prune(e))
		}
		return out
	}
	return v
}

// formEncode writes nested objects as a[b]=c and lists as a[0]=c (Stripe's form).
func formEncode(form url.Values, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			key := k
			if prefix != "" {
				key = prefix + "[" + k + "]"
			}
			formEncode(form, key, x[k])
		}
	case []any:
		for i, e := range x {
			formEncode(form, prefix+"["+strconv.Itoa(i)+"]", e)
		}
	default:
		if prefix != "" {
			form.Add(prefix, formValue(x))
		}
	}
}

// baseValueOK is what a placeholder inside a base URL may hold: host labels
// and path parts, never a character that could move the request elsewhere.
func baseValueOK(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}

// fillPlaceholders replaces {field} and {auth.x.y}: in a path each value is
// escaped as one segment; in a base URL it must be a plain host label or
// token, unless the placeholder starts the URL (then an http(s) URL).
func fillPlaceholders(tmpl string, env map[string]any, base bool) (string, error) {
	var firstErr error
	first := true
	out := placeholderRe.ReplaceAllStringFunc(tmpl, func(m string) string {
		whole := base && first && strings.HasPrefix(tmpl, m)
		first = false
		name := m[1 : len(m)-1]
		var v any
		if rest, ok := strings.CutPrefix(name, "auth."); ok {
			v = lookup(env["auth"], strings.Split(rest, "."))
		} else {
			v = lookup(env["input"], []string{name})
		}
		s := engine.Stringify(v)
		switch {
		case s == "":
			if firstErr == nil {
				firstErr = fmt.Errorf("{%s} is empty", name)
			}
			return ""
		case whole:
			if err := checkURL(name, s); err != nil && firstErr == nil {
				firstErr = err
			}
			return s
		case base:
			if !baseValueOK(s) && firstErr == nil {
				firstErr = fmt.Errorf("{%s} may hold only letters, digits, '-', '_', '.' and ':'", name)
			}
			return s
		}
		return url.PathEscape(s)
	})
	return out, firstErr
}

// dig reads a path like "records.0.fields.Name" from JSON-like data.
func dig(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func lookup(v any, keys []string) any {
	for _, k := range keys {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case map[string]string:
			v = m[k]
		default:
			return nil
		}
	}
	return v
}

var (
	_ engine.Action     = (*appStep)(nil)
	_ engine.Validator  = (*appStep)(nil)
	_ engine.KindSource = (*Apps)(nil)
	_ json.Unmarshaler  = (*appStep)(nil)
)

// AppsOf returns the app catalogue Register put in reg (nil when none).
func AppsOf(reg *engine.Registry) *Apps {
	a, _ := reg.Source().(*Apps)
	return a
}

// LoadImportedApps adds the app files users imported (kept by the store) to
// reg's catalogue, before flows that use them are compiled. A file that no
// longer validates is logged and skipped.
func LoadImportedApps(ctx context.Context, reg *engine.Registry, st any, logf func(string, ...any)) {
	apps, cs := AppsOf(reg), connectionStore(st)
	if apps == nil || cs == nil {
		return
	}
	files, err := cs.ListAppFiles(ctx)
	if err != nil {
		logf("load imported apps: %v", err)
		return
	}
	for _, id := range sortedKeys(files) {
		if _, err := apps.Import(files[id]); err != nil {
			logf("imported app %s: %v", id, err)
		}
	}
}

// SyncImportedApps makes reg's imported apps those the store keeps: files
// added or changed on another node sharing the store are imported, apps it
// deleted are removed (engine.NoticeApps). Built-in apps are untouched.
func SyncImportedApps(ctx context.Context, reg *engine.Registry, st any, logf func(string, ...any)) {
	apps, cs := AppsOf(reg), connectionStore(st)
	if apps == nil || cs == nil {
		return
	}
	files, err := cs.ListAppFiles(ctx)
	if err != nil {
		logf("reload imported apps: %v", err)
		return
	}
	for _, a := range apps.List() {
		if _, kept := files[a.ID]; !kept && !apps.Builtin(a.ID) {
			_ = apps.Remove(a.ID)
		}
	}
	for _, id := range sortedKeys(files) {
		if _, err := apps.Import(files[id]); err != nil {
			logf("imported app %s: %v", id, err)
		}
	}
}

func connectionStore(st any) engine.ConnectionStore {
	cs, _ := st.(engine.ConnectionStore)
	return cs
}
