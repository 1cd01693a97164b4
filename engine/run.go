package engine

import (
	"crypto/rand"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// RunStatus is a run's state (SPEC §2).
type RunStatus string

// Run statuses.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunWaiting   RunStatus = "waiting"
	RunSucceeded RunStatus = "succeeded"
	RunFiltered  RunStatus = "filtered"
	RunFailed    RunStatus = "failed"
	RunCanceled  RunStatus = "canceled"
)

// Final reports whether the status is an end state.
func (s RunStatus) Final() bool {
	switch s {
	case RunSucceeded, RunFiltered, RunFailed, RunCanceled:
		return true
	}
	return false
}

// StepStatus is a step's state.
type StepStatus string

// Step statuses.
const (
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
	StepRunning   StepStatus = "running"
	StepWaiting   StepStatus = "waiting"
)

// Done reports whether the step has finished (its result is final).
func (s StepStatus) Done() bool { return s == StepSucceeded || s == StepFailed || s == StepSkipped }

// File is an uploaded file's description (its bytes are not kept).
type File struct {
	Field       string `json:"field"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// TriggerData is what started a run: `trigger` in expressions.
type TriggerData struct {
	Type    string            `json:"type"`
	Method  string            `json:"method,omitempty"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Query   map[string]any    `json:"query"`
	Body    any               `json:"body"`
	Files   []File            `json:"files"`
	Raw     string            `json:"raw,omitempty"`
	// RawBase64 is true when Raw holds the body base64-encoded (standard
	// alphabet, padded) because the bytes are not valid UTF-8: decoded, they
	// are exactly what was sent.
	RawBase64 bool `json:"raw_base64,omitempty"`
	// XML is an XML body parsed into a map (the body itself stays text).
	XML        any       `json:"xml,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Reconciled bool      `json:"reconciled,omitempty"`
	// FileData holds uploaded files' bytes, base64, keyed by their sha256 hex
	// digest; only for webhooks with keep_files.
	FileData map[string]string `json:"file_data,omitempty"`
	// BodyJSON, when set, is Body's JSON as it arrived (valid JSON): it is
	// written in Body's place instead of encoding the decoded value again.
	BodyJSON json.RawMessage `json:"-"`
}

// MarshalJSON writes BodyJSON in place of Body when it is set.
func (t TriggerData) MarshalJSON() ([]byte, error) {
	type plain TriggerData // the same fields, without this method
	if len(t.BodyJSON) == 0 {
		return json.Marshal(plain(t))
	}
	return json.Marshal(struct {
		plain
		Body json.RawMessage `json:"body"`
	}{plain(t), t.BodyJSON})
}

// Run is one execution of a flow.
type Run struct {
	ID          string      `json:"id"`
	FlowID      string      `json:"flow_id"`
	FlowVersion int         `json:"flow_version"`
	Status      RunStatus   `json:"status"`
	Trigger     TriggerData `json:"trigger"`
	Steps       []*StepRun  `json:"steps"`
	// Vars holds the variables set by `set` steps so far.
	Vars map[string]any `json:"vars,omitempty"`
	// Output is the last executed step's output once the run has ended.
	Output    any    `json:"output,omitempty"`
	Error     string `json:"error"`
	DedupeKey string `json:"dedupe_key,omitempty"`
	ReplayOf  string `json:"replay_of,omitempty"`
	// ParentRunID is the run whose `call` step started this one.
	ParentRunID string `json:"parent_run_id,omitempty"`
	// CallDepth counts the `call` steps above this run (0 for a run not
	// started by a call); a call deeper than MaxCallDepth fails.
	CallDepth int        `json:"call_depth,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	// NextAt is when a waiting run wakes (delay or retry backoff).
	NextAt     *time.Time `json:"next_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Truncated notes that large payloads were cut to the history size cap.
	Truncated bool `json:"truncated,omitempty"`
	// Interrupted counts the starts in a row that found this run executing
	// after the server had stopped without a clean shutdown; a step that
	// finishes sets it back to 0.
	Interrupted int `json:"interrupted,omitempty"`
}

// StepRun is the record of one step instance in a run. Inside a foreach its ID
// carries the iteration: "loop[2].send".
type StepRun struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Status     StepStatus `json:"status"`
	Attempts   int        `json:"attempts"`
	Input      any        `json:"input,omitempty"`
	Output     any        `json:"output"`
	Error      string     `json:"error"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	NextAt     *time.Time `json:"next_at,omitempty"`
	DurationMS float64    `json:"duration_ms"`
	// Logs are the lines the step wrote (console.log in code steps).
	Logs []string `json:"logs,omitempty"`
}

// Step returns the record with the given instance id, or nil.
func (r *Run) Step(id string) *StepRun {
	for _, s := range r.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new time-ordered id (a ULID): ids sort by creation time.
func NewID() string {
	idMu.Lock()
	defer idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), idEntropy).String()
}

// RunSummary is a run without its data: what run lists show. It carries no
// trigger body, headers or raw request and no step input or output.
type RunSummary struct {
	ID          string         `json:"id"`
	FlowID      string         `json:"flow_id"`
	FlowVersion int            `json:"flow_version"`
	Status      RunStatus      `json:"status"`
	Trigger     TriggerSummary `json:"trigger"`
	// Error is the run's error, cut to MaxSummaryError bytes.
	Error      string     `json:"error"`
	ReplayOf   string     `json:"replay_of,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Steps counts the run's step records; StepStatuses counts them by status.
	Steps        int                `json:"steps"`
	StepStatuses map[StepStatus]int `json:"step_statuses,omitempty"`
	Truncated    bool               `json:"truncated,omitempty"`
}

// TriggerSummary is what started a run, without its data.
type TriggerSummary struct {
	Type       string    `json:"type"`
	Method     string    `json:"method,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// MaxSummaryError is the longest run error a summary keeps.
const MaxSummaryError = 500

// Summary returns the run's summary.
func (r *Run) Summary() *RunSummary {
	s := &RunSummary{ID: r.ID, FlowID: r.FlowID, FlowVersion: r.FlowVersion, Status: r.Status,
		Trigger: TriggerSummary{Type: r.Trigger.Type, Method: r.Trigger.Method, ReceivedAt: r.Trigger.ReceivedAt},
		Error:   r.Error, ReplayOf: r.ReplayOf, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Steps: len(r.Steps), Truncated: r.Truncated}
	if len(s.Error) > MaxSummaryError {
		cut := MaxSummaryError
		for cut > 0 && !utf8.RuneStart(s.Error[cut]) {
			cut--
		}
		s.Error = s.Error[:cut] + "…"
	}
	for _, st := range r.Steps {
		if s.StepStatuses == nil {
			s.StepStatuses = map[StepStatus]int{}
		}
		s.StepStatuses[st.Status]++
	}
	return s
}
