package triggers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
)

// Poll limits and defaults.
const (
	// MinPollEvery is the shortest interval a poll or reconcile may use.
	MinPollEvery = 10 * time.Second
	// DefaultMaxPages bounds the pages one cycle reads; the rest comes next cycle.
	DefaultMaxPages = 100
	maxMaxPages     = 1000
	// PollWindow is how long a poll remembers an item's key: the dedupe index
	// is its durable seen set.
	PollWindow = 10 * 365 * 24 * time.Hour
	// defaultPollTimeout bounds one page's request when it sets no timeout.
	defaultPollTimeout = 30 * time.Second
)

// State name suffixes; the full names are "poll.cursor", "reconcile.cursor", ….
const (
	stateCursor    = ".cursor"
	stateStartedAt = ".started_at"
	// StatePollPrimed is set once a poll with skip_existing has recorded what
	// existed at its first cycle.
	StatePollPrimed = "poll.primed"
)

// Scopes of the poll and reconcile expressions.
var (
	pollRequestScope = []string{"secrets", "poll", "flow"}
	pollItemsScope   = []string{"response", "poll"}
	pollKeyScope     = []string{"item"}
	pollNextScope    = []string{"response", "items", "page", "poll"}
	pollCursorScope  = []string{"items", "poll"}
	pollBodyScope    = []string{"item", "poll"}
)

// httpSpec is the http action's Spec: a poll's request takes its fields.
var httpSpec = func() engine.Spec {
	r := engine.NewRegistry()
	actions.Register(r)
	k, _ := r.Action("http")
	return k.Spec
}()

// requestField describes the request of poll and reconcile.
var requestField = engine.Field{Name: "request", Label: "Request", Type: engine.FieldObject, Required: true, Fields: httpSpec.Fields,
	Help: "The API call, with the http action's fields. Its texts are templates over secrets and poll: " +
		"poll.cursor (the cursor of the last cycle, nil at first), poll.started_at and poll.started_unix (when this block was first saved)."}

// pollFields are the settings poll and reconcile share, in form order.
func pollFields(key, cursorHelp string) []engine.Field {
	return []engine.Field{
		{Name: "every", Label: "Every", Type: engine.FieldDuration, Required: true, Placeholder: "1m",
			Help: "How often to call the API, at least 10s. The first call is this long after the flow is saved or the server starts."},
		requestField,
		{Name: "items", Label: "Items", Type: engine.FieldExpression, Required: true, Placeholder: "response.body.data",
			Help: "An expression over response (status, headers, body, links) giving the list of items on one page."},
		{Name: "key", Label: "Key", Type: engine.FieldExpression, Required: true, Placeholder: key,
			Help: "An expression over item giving its unique id; an item whose key was seen before starts nothing."},
		{Name: "next", Label: "Next page", Type: engine.FieldExpression, Advanced: true,
			Placeholder: "response.body.has_more ? {'starting_after': last(response.body.data).id} : nil",
			Help: "An expression over response, items (this page's) and page (its number, from 1), evaluated after each page: " +
				"nil ends the cycle, an object is merged into the next page's query, a text is the next page's full URL " +
				"(same host; e.g. response.links.next from a Link header). Without it one page is read."},
		{Name: "cursor", Label: "Cursor", Type: engine.FieldExpression, Advanced: true, Placeholder: "max(map(items, .updated_at))",
			Help: cursorHelp},
		{Name: "max_pages", Label: "Most pages per cycle", Type: engine.FieldNumber, Default: DefaultMaxPages, Advanced: true,
			Help: "Stop a cycle after this many pages (default 100, at most 1000); the rest comes next cycle."},
	}
}

const cursorHelp = "An expression over items (every page of the cycle) and poll, evaluated once per cycle after its runs are started: " +
	"the value is kept with the flow and is poll.cursor in the next cycle's request. nil keeps the previous cursor."

var pollKind = engine.TriggerKind{
	Spec: engine.Spec{
		Kind:    "poll",
		Title:   "Poll an API",
		Summary: "Call an API on a timer and start one run for each new item, for apps that send no webhooks.",
		Group:   "trigger",
		Fields: append(pollFields("item.id", cursorHelp),
			engine.Field{Name: "skip_existing", Label: "Skip existing items", Type: engine.FieldBool, Default: true,
				Help: "On: the first call only records the items that already exist, and runs start for items that appear later. Off: the first call starts a run for every item."}),
		Example: `{"every":"1m","request":{"method":"GET","url":"https://api.example.com/v1/orders",` +
			`"query":{"updated_since":"{{ poll.cursor ?? poll.started_at }}"},"headers":{"authorization":"Bearer {{ secrets.SHOP_TOKEN }}"}},` +
			`"items":"response.body.data","key":"item.id",` +
			`"next":"response.body.has_more ? {'starting_after': last(response.body.data).id} : nil",` +
			`"cursor":"last(sortBy(items, .updated_at))?.updated_at","skip_existing":true}`,
	},
	New: func() any { return new(Poll) },
}

// Poll calls an API every Every and starts one run per item it has not seen
// before, with the item as trigger.body. Its fields are the trigger's `with`
// settings.
type Poll struct {
	// Every is how often the API is called, at least 10s. The first call is
	// Every after the flow is saved or the server starts.
	Every engine.Duration `json:"every"`
	// Request is the call: the http action's fields (method, url, headers,
	// query, body, auth incl. oauth2, timeout). Its texts are templates over
	// secrets and poll (cursor, started_at, started_unix).
	Request Request `json:"request"`
	// Items is an expression over response ({status, headers, body, links})
	// giving one page's list of items, e.g. response.body.data.
	Items string `json:"items"`
	// Key is an expression over item giving its unique id, e.g. item.id.
	Key string `json:"key"`
	// Next, evaluated after each page over response, items and page, gives
	// the next page: nil ends the cycle, an object is merged into the next
	// request's query, a text is the next page's full URL on the same host
	// (response.links.next reads a Link header). Without it one page is read.
	Next string `json:"next,omitempty"`
	// Cursor, evaluated once per cycle over items (every page) and poll, is
	// kept with the flow and is poll.cursor in the next cycle's templates;
	// nil keeps the previous value.
	Cursor string `json:"cursor,omitempty"`
	// SkipExisting (default true): the first cycle records the items that
	// exist and starts no run.
	SkipExisting *bool `json:"skip_existing,omitempty"`
	// MaxPages bounds the pages one cycle reads (default 100, at most 1000).
	MaxPages int `json:"max_pages,omitempty"`

	once     sync.Once
	problems engine.Problems
	prog     *poller
}

// Request is a poll's or reconcile's HTTP call: the http action's fields.
// Its texts are templates over secrets, poll and flow.
type Request actions.HTTP

// plainHTTP decodes a Request without its UnmarshalJSON and Validate.
type plainHTTP actions.HTTP

// UnmarshalJSON reads the http action's fields strictly, taking numbers and
// booleans in headers and query as text (as the http action does).
func (r *Request) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return errors.New("request must be an object with the http action's fields (url, method, headers, query, auth …)")
	}
	var h plainHTTP
	if _, err := engine.DecodeWith(&httpSpec, m, &h); err != nil {
		return err
	}
	*r = Request(h)
	return nil
}

// Compile checks the settings and compiles the request templates and the
// expressions. Paths are relative to trigger.with.
func (p *Poll) Compile() engine.Problems {
	p.once.Do(func() {
		p.prog = compilePoller("poll", "", p.Every, &p.Request, p.Items, p.Key, p.Next, p.Cursor, "", p.MaxPages, &p.problems)
	})
	return p.problems
}

// skipExisting reports the skip_existing setting (default true).
func (p *Poll) skipExisting() bool { return p.SkipExisting == nil || *p.SkipExisting }

// Start polls until ctx ends (engine.Starter): the first cycle Every after
// start, then one every Every.
func (p *Poll) Start(ctx context.Context, sc *engine.StartContext) error {
	if ps := p.Compile(); len(ps) > 0 {
		return fmt.Errorf("poll settings: %w", ps.Err())
	}
	return p.prog.loop(ctx, sc, p.RunCycle)
}

// RunCycle calls the API once (all its pages) and starts a run for each new
// item; it returns how many runs it started. A failed call or a non-2xx
// answer starts nothing and is recorded as a failed poll.
func (p *Poll) RunCycle(ctx context.Context, sc *engine.StartContext) (int, error) {
	if ps := p.Compile(); len(ps) > 0 {
		return 0, fmt.Errorf("poll settings: %w", ps.Err())
	}
	return p.prog.cycle(ctx, sc, func(ctx context.Context, f *fetched) (int, error) {
		primed := true
		if p.skipExisting() {
			var err error
			if primed, err = getState(ctx, sc, StatePollPrimed, new(bool)); err != nil {
				return 0, err
			}
		}
		if !primed {
			if sc.MarkSeen != nil {
				if err := sc.MarkSeen(ctx, f.keys, PollWindow); err != nil {
					return 0, fmt.Errorf("record existing items: %w", err)
				}
			}
			if err := putState(ctx, sc, StatePollPrimed, true); err != nil {
				return 0, err
			}
			logf(sc, "poll: first cycle recorded %d existing items", len(f.keys))
			return 0, nil
		}
		return f.start(ctx, sc, func(item any, key string) (*engine.Event, error) {
			return &engine.Event{
				Trigger:      engine.TriggerData{Type: "poll", Body: item, ReceivedAt: clockOf(sc).now().UTC()},
				DedupeKey:    key,
				DedupeWindow: PollWindow,
			}, nil
		})
	})
}

// poller is what poll and reconcile share, compiled.
type poller struct {
	kind     string // "poll" or "reconcile": state names, logs and metrics
	every    time.Duration
	request  *engine.Template
	items    *engine.Expr
	key      *engine.Expr
	next     *engine.Expr
	cursor   *engine.Expr
	body     *engine.Expr // reconcile only
	maxPages int
}

// compilePoller checks and compiles the shared settings; prefix is the path
// of the block ("" or "reconcile.").
func compilePoller(kind, prefix string, every engine.Duration, req *Request, items, key, next, cursor, body string, maxPages int, ps *engine.Problems) *poller {
	p := &poller{kind: kind, every: every.D(), maxPages: maxPages}
	switch {
	case every == 0:
		ps.Add(prefix+"every", "required, e.g. 1m (at least 10s)")
	case every.D() < MinPollEvery:
		ps.Add(prefix+"every", "must be at least 10s, got %s", every.D())
	}
	h := actions.HTTP(*req)
	if err := h.Validate(); err != nil {
		ps.Add(prefix+"request", "%s", err)
	}
	if raw, err := json.Marshal(h); err != nil {
		ps.Add(prefix+"request", "%s", err)
	} else {
		t, errs := engine.CompileValue(raw, pollRequestScope)
		for _, e := range errs {
			ps.Add(joinPath(prefix+"request", e.Path), "%s", firstLine(e.Err))
		}
		p.request = t
	}
	expr := func(name, src string, scope []string, required bool) *engine.Expr {
		if strings.TrimSpace(src) == "" {
			if required {
				ps.Add(prefix+name, "required")
			}
			return nil
		}
		e, err := engine.CompileExpr(src, scope)
		if err != nil {
			ps.Add(prefix+name, "%s (in scope: %s)", firstLine(err), strings.Join(scope, ", "))
		}
		return e
	}
	p.items = expr("items", items, pollItemsScope, true)
	p.key = expr("key", key, pollKeyScope, true)
	p.next = expr("next", next, pollNextScope, false)
	p.cursor = expr("cursor", cursor, pollCursorScope, false)
	p.body = expr("body", body, pollBodyScope, false)
	switch {
	case maxPages < 0 || maxPages > maxMaxPages:
		ps.Add(prefix+"max_pages", "must be between 1 and %d", maxMaxPages)
	case maxPages == 0:
		p.maxPages = DefaultMaxPages
	}
	return p
}

func joinPath(a, b string) string { return engine.JoinPath(a, b) }

func firstLine(err error) string { return engine.OneLine(err) }

// loop runs cycle every p.every until ctx ends.
func (p *poller) loop(ctx context.Context, sc *engine.StartContext, cycle func(context.Context, *engine.StartContext) (int, error)) error {
	clk := clockOf(sc)
	if _, err := p.startedAt(ctx, sc); err != nil {
		logf(sc, "%s: %v", p.kind, err)
	}
	for {
		if !clk.sleep(ctx, p.every) {
			return nil
		}
		if _, err := cycle(ctx, sc); err != nil && ctx.Err() != nil {
			return nil
		}
	}
}

// startedAt returns when the block was first started, storing now the first time.
func (p *poller) startedAt(ctx context.Context, sc *engine.StartContext) (time.Time, error) {
	var t time.Time
	ok, err := getState(ctx, sc, p.kind+stateStartedAt, &t)
	if err != nil || ok {
		return t, err
	}
	t = clockOf(sc).now().UTC().Truncate(time.Second)
	return t, putState(ctx, sc, p.kind+stateStartedAt, t)
}

// fetched is one cycle's items, read from every page.
type fetched struct {
	env   map[string]any // poll: cursor, started_at, started_unix
	items []any
	keys  []string // keys[i] is items[i]'s; "" when it has none
	noKey int
}

// cycle runs one poll or reconcile cycle: fetch every page, hand the items
// to start, then store the new cursor. Its outcome is reported to
// sc.PollResult and failures are logged.
func (p *poller) cycle(ctx context.Context, sc *engine.StartContext, start func(context.Context, *fetched) (int, error)) (started int, err error) {
	defer func() {
		if err != nil {
			logf(sc, "%s failed: %v", p.kind, err)
		}
		if sc.PollResult != nil {
			sc.PollResult(p.kind, err, started)
		}
	}()
	f, err := p.fetch(ctx, sc)
	if err != nil {
		return 0, err
	}
	if f.noKey > 0 {
		logf(sc, "%s: %d items without a key were skipped", p.kind, f.noKey)
	}
	if started, err = start(ctx, f); err != nil {
		return started, err
	}
	if p.cursor != nil {
		c, err := p.cursor.Eval(map[string]any{"items": nilSafeList(f.items), "poll": f.env})
		if err != nil {
			return started, fmt.Errorf("cursor: %w", err)
		}
		if c != nil {
			if err := putState(ctx, sc, p.kind+stateCursor, c); err != nil {
				return started, err
			}
		}
	}
	return started, nil
}

// fetch reads every page of one cycle.
func (p *poller) fetch(ctx context.Context, sc *engine.StartContext) (*fetched, error) {
	started, err := p.startedAt(ctx, sc)
	if err != nil {
		return nil, err
	}
	var cursor any
	if _, err := getState(ctx, sc, p.kind+stateCursor, &cursor); err != nil {
		return nil, err
	}
	f := &fetched{env: map[string]any{
		"cursor": cursor, "started_at": started.Format(time.RFC3339), "started_unix": started.Unix(),
	}}
	secrets := map[string]any{}
	if sc.Secrets != nil {
		secrets = sc.Secrets()
	}
	v, err := p.request.Eval(map[string]any{"secrets": secrets, "poll": f.env,
		"flow": map[string]any{"id": sc.Flow.ID, "name": sc.Flow.Name}})
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	req, _ := v.(map[string]any)
	if req == nil {
		return nil, errors.New("request did not render to an object")
	}
	for page := 1; ; page++ {
		resp, err := p.call(ctx, sc, req, page)
		if err != nil {
			return nil, err
		}
		v, err := p.items.Eval(map[string]any{"response": resp, "poll": f.env})
		if err != nil {
			return nil, fmt.Errorf("items (page %d): %w", page, err)
		}
		items, ok := v.([]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("items (page %d): want a list, got %s", page, describe(v))
		}
		for _, it := range items {
			k, err := p.key.Eval(map[string]any{"item": it})
			if err != nil {
				return nil, fmt.Errorf("key: %w", err)
			}
			key := NormalizeDedupeKey(k)
			if key == "" {
				f.noKey++
			}
			f.items = append(f.items, it)
			f.keys = append(f.keys, key)
		}
		if p.next == nil {
			break
		}
		nv, err := p.next.Eval(map[string]any{"response": resp, "items": nilSafeList(items), "page": page, "poll": f.env})
		if err != nil {
			return nil, fmt.Errorf("next (page %d): %w", page, err)
		}
		if req, err = nextRequest(req, nv); err != nil {
			return nil, fmt.Errorf("next (page %d): %w", page, err)
		}
		if req == nil {
			break
		}
		if page >= p.maxPages {
			logf(sc, "%s: stopped after %d pages; the rest comes next cycle", p.kind, page)
			break
		}
	}
	return f, nil
}

func nilSafeList(items []any) []any {
	if items == nil {
		return []any{}
	}
	return items
}

// call sends one page's request with the http action and returns
// {status, headers, body, links}.
func (p *poller) call(ctx context.Context, sc *engine.StartContext, req map[string]any, page int) (map[string]any, error) {
	h := new(actions.HTTP)
	if _, err := engine.DecodeWith(&httpSpec, req, h); err != nil {
		return nil, fmt.Errorf("request (page %d): %w", page, err)
	}
	if h.Timeout == 0 {
		h.Timeout = engine.Duration(defaultPollTimeout)
	}
	step := &engine.StepContext{FlowID: sc.Flow.ID, StepID: p.kind, Attempt: 1, HTTP: sc.HTTP, Now: sc.Now,
		Log: func(msg string) { logf(sc, "%s: %s", p.kind, msg) }}
	out, err := h.Run(ctx, step)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", page, err)
	}
	resp, _ := out.(map[string]any)
	if resp == nil {
		return nil, fmt.Errorf("page %d: no answer", page)
	}
	links := map[string]any{}
	if hs, ok := resp["headers"].(map[string]any); ok {
		if l, ok := hs["link"].(string); ok {
			links = parseLinks(l)
		}
	}
	resp["links"] = links
	return resp, nil
}

// nextRequest applies a `next` value to the request of the page just read:
// nil ends (nil request), an object is merged into the query (a nil value
// removes a parameter), a text replaces the URL and its query.
func nextRequest(req map[string]any, next any) (map[string]any, error) {
	switch x := next.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]any, len(req))
		for k, v := range req {
			out[k] = v
		}
		q := map[string]any{}
		if old, ok := req["query"].(map[string]any); ok {
			for k, v := range old {
				q[k] = v
			}
		}
		for k, v := range x {
			if v == nil {
				delete(q, k)
			} else {
				q[k] = v
			}
		}
		out["query"] = q
		return out, nil
	case string:
		if x == "" {
			return nil, nil
		}
		cur, _ := req["url"].(string)
		if err := sameOrigin(cur, x); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(req))
		for k, v := range req {
			out[k] = v
		}
		out["url"] = x
		delete(out, "query")
		return out, nil
	}
	return nil, fmt.Errorf("want nil, an object of query parameters or a URL, got %s", describe(next))
}

// sameOrigin refuses a next-page URL on another scheme or host: the
// request's credentials must not follow a link elsewhere.
func sameOrigin(cur, next string) error {
	a, err1 := url.Parse(cur)
	b, err2 := url.Parse(next)
	if err1 != nil || err2 != nil || b.Scheme == "" || b.Host == "" {
		return fmt.Errorf("next page URL %q is not an absolute URL", abbrev(next, 100))
	}
	if !strings.EqualFold(a.Scheme, b.Scheme) || !strings.EqualFold(a.Host, b.Host) {
		return fmt.Errorf("next page URL %q is not on %s://%s", abbrev(next, 100), a.Scheme, a.Host)
	}
	return nil
}

// parseLinks reads an RFC 8288 Link header into rel → URL.
func parseLinks(h string) map[string]any {
	out := map[string]any{}
	for _, part := range splitLinks(h) {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "<") {
			continue
		}
		end := strings.IndexByte(part, '>')
		if end < 0 {
			continue
		}
		target := part[1:end]
		for _, param := range strings.Split(part[end+1:], ";") {
			name, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
				if _, taken := out[strings.ToLower(rel)]; !taken {
					out[strings.ToLower(rel)] = target
				}
			}
		}
	}
	return out
}

// splitLinks splits a Link header on the commas between links (not those
// inside <…> or quotes).
func splitLinks(h string) []string {
	var parts []string
	var inURL, inQuote bool
	start := 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case inQuote:
			inQuote = c != '"'
		case c == '<':
			inURL = true
		case c == '>':
			inURL = false
		case c == '"' && !inURL:
			inQuote = true
		case c == ',' && !inURL:
			parts = append(parts, h[start:i])
			start = i + 1
		}
	}
	return append(parts, h[start:])
}

// describe names a value's JSON kind for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a text"
	case bool:
		return "a boolean"
	case int, int64, float64, json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// start hands each item with a key not seen before to the sink, as the
// event build makes it. It stops at the first error.
func (f *fetched) start(ctx context.Context, sc *engine.StartContext, build func(item any, key string) (*engine.Event, error)) (int, error) {
	started := 0
	for i, item := range f.items {
		key := f.keys[i]
		if key == "" {
			continue
		}
		if sc.Seen != nil {
			seen, err := sc.Seen(ctx, key)
			if err != nil {
				return started, err
			}
			if seen {
				continue
			}
		}
		ev, err := build(item, key)
		if err != nil {
			return started, err
		}
		if _, dup, err := sc.Sink.Accept(ctx, sc.Flow.ID, ev); err != nil {
			return started, fmt.Errorf("start a run for %s: %w", abbrev(key, 100), err)
		} else if !dup {
			started++
		}
	}
	return started, nil
}

var (
	_ engine.Compiler = (*Poll)(nil)
	_ engine.Starter  = (*Poll)(nil)
)
