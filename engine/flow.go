package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Flow is a "when X happens, do Y" recipe: one trigger, then steps. It is the
// JSON document of SPEC §3; DecodeFlow reads it strictly.
type Flow struct {
	// ID is the flow's unique id and its webhook path: ^[a-z0-9][a-z0-9-]{0,62}$.
	ID string `json:"id"`
	// Name is what people see in lists.
	Name string `json:"name"`
	// Description says what the flow is for.
	Description string `json:"description,omitempty"`
	// Enabled flows take events; a disabled flow answers 404 to webhooks. Default true.
	Enabled bool `json:"enabled"`
	// Trigger starts runs.
	Trigger Trigger `json:"trigger"`
	// Steps run in order.
	Steps []Step `json:"steps"`
	// OnFailure names a flow started with the failed run as its trigger body.
	OnFailure string `json:"on_failure,omitempty"`
	// Concurrency caps this flow's runs executing at once (0: only the global worker count).
	Concurrency int `json:"concurrency,omitempty"`
	// Retention caps the runs kept for this flow (age and count); zero values use the global setting.
	Retention *Retention `json:"retention,omitempty"`

	// Version is set by the store on every save (1, 2, …); ignored on input.
	Version int `json:"version,omitempty"`
	// UpdatedAt is set by the store on every save; ignored on input.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// WebhookURL is filled in API answers for webhook flows; ignored on
	// input, so that a flow read from the API can be saved back as it is.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// Retention bounds a flow's stored runs.
type Retention struct {
	// MaxAge: runs older than this are pruned (e.g. "720h").
	MaxAge Duration `json:"max_age,omitempty"`
	// MaxRuns: at most this many runs are kept.
	MaxRuns int `json:"max_runs,omitempty"`
}

// Trigger is what starts a flow's runs: its Type names a registered trigger kind
// and With holds that kind's settings.
type Trigger struct {
	Type string          `json:"type"`
	With json.RawMessage `json:"with,omitempty"`
}

// Step is one thing a flow does. Control steps use the top-level fields (When,
// Cases, Default, Items, Steps); actions and delay/set/respond/fail read With.
type Step struct {
	// ID is unique in the flow: ^[a-z_][a-z0-9_]*$. Expressions reach its result as steps.<id>.
	ID string `json:"id"`
	// Type names a control step or a registered action kind.
	Type string `json:"type"`
	// Name is an optional label for the editor.
	Name string `json:"name,omitempty"`
	// If skips the step when the expression is false.
	If string `json:"if,omitempty"`
	// When is the filter step's condition.
	When string `json:"when,omitempty"`
	// Cases and Default are the branch step's arms.
	Cases   []Case `json:"cases,omitempty"`
	Default []Step `json:"default,omitempty"`
	// Items is the foreach step's list expression; Steps its body.
	Items string `json:"items,omitempty"`
	Steps []Step `json:"steps,omitempty"`
	// MaxItems bounds a foreach (default 1000).
	MaxItems int `json:"max_items,omitempty"`
	// Branches are the parallel step's arms, run at the same time.
	Branches []Branch `json:"branches,omitempty"`
	// With holds the kind's settings; string values are templates.
	With json.RawMessage `json:"with,omitempty"`
	// Retry re-runs a failed step.
	Retry *Retry `json:"retry,omitempty"`
	// Timeout bounds one attempt (default 30s).
	Timeout Duration `json:"timeout,omitempty"`
	// OnError is "stop" (default) or "continue".
	OnError string `json:"on_error,omitempty"`
}

// Case is one arm of a branch: the first whose When is true runs its Steps.
type Case struct {
	Name  string `json:"name,omitempty"`
	When  string `json:"when"`
	Steps []Step `json:"steps"`
}

// Branch is one arm of a parallel step: its Steps run in order, beside the
// other branches; the step's output maps Name to the last step's output.
type Branch struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Retry is a step's retry policy.
type Retry struct {
	// Attempts counts every attempt, the first included (1 = no retry).
	Attempts int `json:"attempts"`
	// Backoff is the first wait (default 1s); it doubles each attempt, with jitter.
	Backoff Duration `json:"backoff,omitempty"`
	// MaxBackoff caps the wait (default 1h).
	MaxBackoff Duration `json:"max_backoff,omitempty"`
}

// Step types handled by the engine itself.
const (
	StepFilter  = "filter"
	StepBranch  = "branch"
	StepForeach = "foreach"
	StepDelay   = "delay"
	StepSet     = "set"
	StepRespond = "respond"
	StepFail    = "fail"
	// StepWait pauses the run until a request to its resume URL (or its timeout).
	StepWait = "wait"
	// StepCall runs another flow as a child run.
	StepCall = "call"
	// StepParallel runs branches at the same time.
	StepParallel = "parallel"
)

// OnError values.
const (
	OnErrorStop     = "stop"
	OnErrorContinue = "continue"
)

var (
	flowIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	stepIDRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// DecodeFlow reads one flow document strictly: unknown fields, trailing data and
// wrong types are problems, each with its path (steps[1].retry.attempts), all
// reported at once. Enabled defaults to true.
func DecodeFlow(data []byte) (*Flow, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, jsonProblem(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ProblemsError{Problems: Problems{{Path: "", Message: "unexpected data after the flow document"}}}
	}
	var ps Problems
	checkShape(generic, reflect.TypeOf(Flow{}), "", &ps)
	if len(ps) > 0 {
		return nil, ps.Err()
	}
	f := &Flow{Enabled: true}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(f); err != nil {
		return nil, jsonProblem(data, err)
	}
	return f, nil
}

// SplitFlowDocs splits a file's text into flow documents: one document, a
// list of them, or {"flows":[…]} (what GET /api/v1/flows answers). It reports
// whether the text was a list (problems then carry each document's index).
func SplitFlowDocs(data []byte) (docs []json.RawMessage, list bool, err error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if err := json.Unmarshal(trimmed, &docs); err != nil {
			return nil, true, fmt.Errorf("malformed JSON list: %w", err)
		}
		return docs, true, nil
	case bytes.HasPrefix(trimmed, []byte(`{"flows"`)):
		var wrap struct {
			Flows []json.RawMessage `json:"flows"`
		}
		if err := json.Unmarshal(trimmed, &wrap); err != nil {
			return nil, true, fmt.Errorf("malformed JSON: %w", err)
		}
		return wrap.Flows, true, nil
	}
	return []json.RawMessage{trimmed}, false, nil
}

var (
	rawType      = reflect.TypeOf(json.RawMessage{})
	durationType = reflect.TypeOf(Duration(0))
	listType     = reflect.TypeOf(StringList{})
	timeType     = reflect.TypeOf(time.Time{})
)

// checkShape compares decoded JSON with the Go type it will fill and reports
// unknown fields and wrong kinds with their paths.
func checkShape(v any, t reflect.Type, path string, ps *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null leaves the zero value
	}
	want := func(what string) { ps.Add(path, "want %s, got %s", what, jsonKind(v)) }
	switch t {
	case rawType:
		return // a kind's settings: checked against its Spec
	case durationType:
		if _, ok := v.(string); !ok {
			if _, ok := v.(json.Number); !ok {
				want(`a duration like "30s"`)
			}
		}
		return
	case listType:
		switch v.(type) {
		case string, []any:
		default:
			want("a string or a list of strings")
		}
		return
	case timeType:
		if _, ok := v.(string); !ok {
			want("an RFC 3339 time")
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			want("an object")
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			f, ok := fields[k]
			if !ok {
				ps.Add(sub, "unknown field %q", k)
				continue
			}
			checkShape(m[k], f.Type, sub, ps)
		}
	case reflect.Slice:
		xs, ok := v.([]any)
		if !ok {
			want("a list")
			return
		}
		for i, x := range xs {
			checkShape(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i), ps)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			want("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			want("true or false")
		}
	case reflect.Int, reflect.Int64, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			want("a number")
		} else if _, err := n.Int64(); err != nil && t.Kind() != reflect.Float64 {
			want("a whole number")
		}
	}
}

// jsonProblem turns a decoding error into a Problem with the best path it can.
func jsonProblem(data []byte, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &ProblemsError{Problems: Problems{{Path: te.Field, Message: fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value)}}}
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return &ProblemsError{Problems: Problems{{Path: "", Message: fmt.Sprintf("malformed JSON at line %d, column %d (offset %d): %s", line, col, se.Offset, se.Error())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &ProblemsError{Problems: Problems{{Path: "", Message: strings.TrimPrefix(err.Error(), "json: ")}}}
	case err == io.EOF:
		return &ProblemsError{Problems: Problems{{Path: "", Message: "empty document"}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return &ProblemsError{Problems: Problems{{Path: "", Message: fmt.Sprintf("malformed JSON: the document ends early at line %d, column %d (offset %d)", line, col, len(data))}}}
	}
	return &ProblemsError{Problems: Problems{{Path: "", Message: err.Error()}}}
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Duration is a time.Duration written in JSON as a Go duration string ("1m30s").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds")
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: use forms like 500ms, 30s, 5m, 2h", s)
	}
	*d = Duration(v)
	return nil
}

// StringList is one string, a comma-separated string, or a list of strings
// (email recipients, methods): "a@x.com, b@y.com" and ["a@x.com","b@y.com"] decode alike.
type StringList []string

// UnmarshalJSON reads a string (split on commas) or a list of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = splitList(s)
		return nil
	}
	var xs []string
	if err := json.Unmarshal(b, &xs); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	var out StringList
	for _, x := range xs {
		out = append(out, splitList(x)...)
	}
	*l = out
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
