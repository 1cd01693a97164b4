package engine

import (
	"context"
	"maps"
	"net"
	"net/http"
	"sort"
	"time"
)

// FieldType says how a Spec field is edited and checked.
type FieldType string

// Field types. Text, Textarea, Secret, Map, List and JSON values are templates
// ({{ expr }}); Expression fields hold a bare expr expression.
const (
	FieldText       FieldType = "text"       // one-line template
	FieldTextarea   FieldType = "textarea"   // multi-line template
	FieldExpression FieldType = "expression" // bare expression, e.g. trigger.body.amount > 10
	FieldNumber     FieldType = "number"     // a JSON number (or a template that yields one)
	FieldBool       FieldType = "bool"       // true/false
	FieldDuration   FieldType = "duration"   // "30s", "5m"
	FieldSelect     FieldType = "select"     // one of Options
	FieldSecret     FieldType = "secret"     // template, usually {{ secrets.NAME }}; shown masked
	FieldMap        FieldType = "map"        // object of name → template
	FieldList       FieldType = "list"       // one value, a comma-separated string or a list
	FieldJSON       FieldType = "json"       // any JSON value, templated value by value
	FieldObject     FieldType = "object"     // a nested object described by Fields
	FieldCode       FieldType = "code"       // program text (JavaScript), never a template
)

// Field describes one setting of a kind: the `with` reference and the editor form.
type Field struct {
	Name        string    `json:"name"`
	Label       string    `json:"label"`
	Help        string    `json:"help,omitempty"`
	Type        FieldType `json:"type"`
	Required    bool      `json:"required,omitempty"`
	Options     []string  `json:"options,omitempty"`
	Default     any       `json:"default,omitempty"`
	Placeholder string    `json:"placeholder,omitempty"`
	// Fields describes a FieldObject's members.
	Fields []Field `json:"fields,omitempty"`
	// Advanced fields are folded away in the editor.
	Advanced bool `json:"advanced,omitempty"`
}

// Spec describes a kind once, for validation, docs and the editor's generic form.
type Spec struct {
	// Kind is the `type` value, e.g. "http".
	Kind string `json:"kind"`
	// Title and Summary are shown in the palette.
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Group sorts the palette: "control", "action", "data", "trigger".
	Group  string  `json:"group"`
	Fields []Field `json:"fields"`
	// Example is a valid `with` object, tested.
	Example string `json:"example"`

	// App names the app an operation belongs to (app files), for the palette.
	App string `json:"app,omitempty"`
}

// Action is a step that does something. Its exported fields are the `with`
// settings, decoded after templates are evaluated.
type Action interface {
	Run(ctx context.Context, sc *StepContext) (output any, err error)
}

// Validator is implemented by configs that check rules across fields.
type Validator interface{ Validate() error }

// ActionKind registers an action type.
type ActionKind struct {
	Spec Spec
	// New returns a zero config; no side effects.
	New func() Action
}

// TriggerKind registers a trigger type. New returns a zero config that `with`
// is decoded into strictly at save; it may implement Validator, Compiler,
// Receiver and Starter.
type TriggerKind struct {
	Spec Spec
	New  func() any
}

// Compiler is implemented by trigger configs that compile expressions or
// templates at save (dedupe, verify.secret, poll requests). Problems carry
// paths relative to trigger.with.
type Compiler interface{ Compile() Problems }

// StepContext is what an action gets besides its config.
type StepContext struct {
	RunID  string
	FlowID string
	StepID string
	// Attempt counts from 1.
	Attempt int
	// IdempotencyKey is run_id:step_id (with the foreach iteration in the
	// step id): the same for every retry and crash re-run of the step in its
	// run; only a replay (a new run) changes it.
	IdempotencyKey string
	// HTTP is a client whose dialer refuses blocked addresses (SSRF guard) on
	// every connection and redirect. It has no overall timeout: ctx bounds it.
	HTTP *http.Client
	// Dial is the same guarded dialer, for non-HTTP protocols (SMTP).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// KV is the built-in key-value data shared by flows.
	KV KVStore
	// Log appends a line to the step's log (shown in the run record).
	Log func(msg string)
	// Now is the clock.
	Now func() time.Time
	// Connections resolves `"connection":"NAME"` to a credential (nil: none).
	Connections ConnectionResolver
	// Data is the run's data as plain values, for steps that compute over it
	// (code): trigger, steps, vars, run, flow, item and index. Never secrets.
	Data map[string]any
	// Room, when set, is called before a step reads an answer of n bytes
	// (at most; over BigAnswer) into memory: it waits while the executions
	// running hold their bound of such answers, and keeps the bytes counted
	// until the step's execution ends. The step calls keep with the bytes it
	// read once it has read them. An error ends the step (ctx ended first).
	Room func(ctx context.Context, n int64) (keep func(read int64), err error)
}

// stepData is env without the secrets, for StepContext.Data.
func stepData(env map[string]any) map[string]any {
	d := make(map[string]any, len(env))
	for k, v := range env {
		switch k {
		case "secrets", budgetName:
		case "steps", "vars": // copied: parallel branches write them while the step runs
			d[k] = maps.Clone(v.(map[string]any))
		default:
			d[k] = v
		}
	}
	return d
}

// readsData reports whether a kind computes over the run's data (it has a
// code field), so that only such steps pay for StepContext.Data.
func readsData(spec *Spec) bool {
	if spec == nil {
		return false
	}
	for _, f := range spec.Fields {
		if f.Type == FieldCode {
			return true
		}
	}
	return false
}

// logLines turns redacted log lines back into strings for StepRun.Logs.
func logLines(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, Stringify(x))
	}
	return out
}

// compileWithFields compiles a `with` object's templates, except the values
// of FieldCode fields: program text is kept as written ("{{" in JavaScript
// is code, and run data must never be spliced into a program).
func compileWithFields(m map[string]any, spec *Spec) (*Template, []*TemplateError) {
	code := map[string]any{}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		rest[k] = v
	}
	for _, f := range spec.Fields {
		if v, ok := rest[f.Name]; ok && f.Type == FieldCode {
			code[f.Name] = v
			delete(rest, f.Name)
		}
	}
	t, errs := CompileTemplateValue(rest, StepScope)
	if len(code) == 0 || t == nil || t.kind != tplObject {
		return t, errs
	}
	for k, v := range code {
		t.keys = append(t.keys, k)
		t.fields[k] = &Template{kind: tplLiteral, lit: v}
	}
	sort.Strings(t.keys)
	return t, errs
}

// Inbound is an HTTP request to /hooks/{flow}, copied out of the server's buffers.
type Inbound struct {
	Method string
	// Path is the part after /hooks/{flow}, "" or "/…".
	Path string
	// Headers are lower-cased; repeated headers are joined with ", ".
	Headers map[string]string
	// Query holds each parameter's values.
	Query map[string][]string
	// Raw is the exact body bytes (after Content-Encoding inflation, before parsing).
	Raw        []byte
	RemoteAddr string
	ReceivedAt time.Time
}

// ReceiveContext is what a Receiver may use besides the request.
type ReceiveContext struct {
	// Secrets are the decrypted secrets, for templates like {{ secrets.STRIPE_WHSEC }}.
	Secrets map[string]any
	Now     time.Time
}

// Event is what a trigger hands to the Sink to start a run.
type Event struct {
	Trigger TriggerData
	// DedupeKey, when set, makes the run unique per flow for DedupeWindow.
	DedupeKey    string
	DedupeWindow time.Duration
}

// Receiver turns a webhook request into an event: verify, parse, dedupe key. No I/O.
type Receiver interface {
	Receive(in *Inbound, rc *ReceiveContext) (*Event, error)
}

// Starter is a trigger that produces events on its own (schedule, poll,
// reconcile). Start runs until ctx ends; the engine restarts it when the flow
// is saved.
type Starter interface {
	Start(ctx context.Context, sc *StartContext) error
}

// StartContext is what a Starter gets.
type StartContext struct {
	Flow *Flow
	Sink Sink
	// State keeps a trigger's durable state (last fire, cursor) per flow.
	State StateStore
	// MarkSeen records dedupe keys without starting runs (poll's skip_existing).
	MarkSeen func(ctx context.Context, keys []string, window time.Duration) error
	// Seen reports whether a dedupe key is already recorded.
	Seen    func(ctx context.Context, key string) (bool, error)
	HTTP    *http.Client
	Secrets func() map[string]any
	Now     func() time.Time
	// After is the clock's timer (a fake clock in tests).
	After func(d time.Duration) <-chan time.Time
	Logf  func(format string, args ...any)
	// PollResult reports each poll or reconcile cycle (for the UI and /metrics).
	PollResult func(kind string, err error, started int)
}

// Sink accepts events: it stores a run durably (fsynced) before returning.
type Sink interface {
	Accept(ctx context.Context, flowID string, ev *Event) (runID string, dup bool, err error)
}
