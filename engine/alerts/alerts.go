// Package alerts tells people when flows go wrong: failed runs (one message
// per flow per interval, with a count) and flows that stopped receiving
// deliveries. Messages are sent by the same actions flows use (email, slack,
// discord, webhook), run with an engine.StepContext; an alert that cannot be
// sent is kept in a short list shown on the Alerts page.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// Settings are the alert rules, stored as one JSON value in the store's meta.
type Settings struct {
	// Targets receive every alert.
	Targets []Target `json:"targets"`
	// Interval is the least time between two failed-run messages of one flow
	// (default 15m): failures in between are counted into the next message.
	Interval engine.Duration `json:"interval,omitempty"`
	// Silence maps a flow id to "alert when no delivery came for this long".
	Silence map[string]engine.Duration `json:"silence,omitempty"`
}

// Target is one destination: an action kind and its settings. The message
// fields (email subject and text, slack/discord text, webhook body) are
// filled in by the alert; the rest (webhook_url, host, to, secret…) are the
// action's own fields, templates that may use {{ secrets.NAME }}.
type Target struct {
	Name string          `json:"name"`
	Kind string          `json:"kind"`
	With json.RawMessage `json:"with"`
}

// Kinds are the action kinds a target may use.
var Kinds = []string{"email", "slack", "discord", "webhook"}

// Failure is an alert that could not be sent.
type Failure struct {
	At      time.Time `json:"at"`
	Target  string    `json:"target"`
	Subject string    `json:"subject"`
	Error   string    `json:"error"`
}

// Message is one alert.
type Message struct {
	Event   string // "runs_failed", "silence", "test"
	FlowID  string
	Subject string
	Text    string
	Data    map[string]any // the webhook target's body
}

// DefaultInterval is the failed-run message interval when none is set.
const DefaultInterval = 15 * time.Minute

// metaKey is where Settings are stored.
const metaKey = "alerts"

// maxFailures is how many unsent alerts are remembered.
const maxFailures = 50

// Store is what the alerter reads: its settings, runs and deliveries.
type Store interface {
	engine.MetaStore
	ListRuns(ctx context.Context, q engine.RunQuery) ([]*engine.Run, string, error)
	ListDeliveries(ctx context.Context, q engine.DeliveryQuery) ([]*engine.Delivery, string, error)
}

// Config is what New needs.
type Config struct {
	Store    Store
	Registry *engine.Registry
	// Secrets gives the secret values for targets' templates; Redact hides
	// them in recorded errors.
	Secrets func() map[string]any
	Redact  func(string) string
	// FlowNames maps flow ids to names (for messages).
	FlowNames func() map[string]string
	// BaseURL builds links to runs and flows.
	BaseURL string
	HTTP    *http.Client
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	Now     func() time.Time
	Logf    func(format string, args ...any)
}

// Alerter counts failures per flow and sends alerts when they are due.
type Alerter struct {
	cfg     Config
	started time.Time
	poke    chan struct{}

	mu       sync.Mutex
	pending  map[string]int       // failed runs not yet told, per flow
	lastSent map[string]time.Time // last failed-run message per flow
	silenced map[string]string    // flow → newest delivery id when its silence alert was sent ("-": none ever)
	failures []Failure
	sendMu   sync.Mutex // one Check at a time
}

// New returns an Alerter; Run sends alerts in the background.
func New(cfg Config) *Alerter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	if cfg.Secrets == nil {
		cfg.Secrets = func() map[string]any { return map[string]any{} }
	}
	if cfg.FlowNames == nil {
		cfg.FlowNames = func() map[string]string { return nil }
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Alerter{cfg: cfg, started: cfg.Now(), poke: make(chan struct{}, 1),
		pending: map[string]int{}, lastSent: map[string]time.Time{}, silenced: map[string]string{}}
}

// RunFailed counts a failed run of a flow; the message goes out at once when
// the flow's last one is older than the interval, else with the next.
func (a *Alerter) RunFailed(flowID string) {
	a.mu.Lock()
	a.pending[flowID]++
	a.mu.Unlock()
	select {
	case a.poke <- struct{}{}:
	default:
	}
}

// Run checks for due alerts on every RunFailed and every minute until ctx ends.
func (a *Alerter) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.poke:
		case <-t.C:
		}
		a.Check(ctx)
	}
}

// Settings reads the stored settings (zero settings when none are stored).
func (a *Alerter) Settings(ctx context.Context) (*Settings, error) {
	s := new(Settings)
	b, err := a.cfg.Store.GetMeta(ctx, metaKey)
	if errors.Is(err, engine.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read alert settings: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("read alert settings: %w", err)
	}
	return s, nil
}

// SaveSettings checks every target (its kind, templates and fields, with a
// sample message) and stores the settings.
func (a *Alerter) SaveSettings(ctx context.Context, s *Settings) error {
	var ps engine.Problems
	names := map[string]bool{}
	for i, t := range s.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		if strings.TrimSpace(t.Name) == "" {
			ps = append(ps, engine.Problem{Path: path + ".name", Message: "required"})
		} else if names[t.Name] {
			ps = append(ps, engine.Problem{Path: path + ".name", Message: fmt.Sprintf("%q is used twice", t.Name)})
		}
		names[t.Name] = true
		if _, err := a.prepare(t, Message{Event: "test", Subject: "test", Text: "test", Data: map[string]any{}}); err != nil {
			ps = append(ps, engine.Problem{Path: path + ".with", Message: err.Error()})
		}
	}
	if s.Interval < 0 {
		ps = append(ps, engine.Problem{Path: "interval", Message: "must not be negative"})
	}
	for id, d := range s.Silence {
		if d.D() < time.Minute {
			ps = append(ps, engine.Problem{Path: "silence." + id, Message: "must be at least 1m"})
		}
	}
	if len(ps) > 0 {
		return &engine.ProblemsError{Problems: ps}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save alert settings: %w", err)
	}
	if err := a.cfg.Store.PutMeta(ctx, metaKey, b); err != nil {
		return fmt.Errorf("save alert settings: %w", err)
	}
	return nil
}

// Failures returns the alerts that could not be sent, newest first.
func (a *Alerter) Failures() []Failure {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Failure, len(a.failures))
	for i, f := range a.failures {
		out[len(out)-1-i] = f
	}
	return out
}

// Check sends every alert that is due now: failed-run messages of flows whose
// interval has passed, and silence alerts. It returns how many messages went
// to at least one target.
func (a *Alerter) Check(ctx context.Context) int {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	s, err := a.Settings(ctx)
	if err != nil {
		a.cfg.Logf("alerts: %v", err)
		return 0
	}
	now := a.cfg.Now()
	interval := s.Interval.D()
	if interval <= 0 {
		interval = DefaultInterval
	}
	names := a.cfg.FlowNames()
	a.mu.Lock()
	due := map[string]int{}
	for flow, n := range a.pending {
		if n > 0 && now.Sub(a.lastSent[flow]) >= interval {
			due[flow] = n
			a.pending[flow] = 0
			a.lastSent[flow] = now
		}
	}
	a.mu.Unlock()
	sent := 0
	for _, flow := range sortedKeys(due) {
		if len(s.Targets) == 0 {
			continue
		}
		if a.Send(ctx, s, a.failedMessage(ctx, flow, names[flow], due[flow], interval)) {
			sent++
		}
	}
	for _, flow := range sortedKeys(s.Silence) {
		if m, ok := a.silence(ctx, flow, names[flow], s.Silence[flow].D(), now); ok && len(s.Targets) > 0 {
			if a.Send(ctx, s, m) {
				sent++
			}
		}
	}
	return sent
}

// failedMessage describes a flow's failures, the newest in detail.
func (a *Alerter) failedMessage(ctx context.Context, flow, name string, n int, interval time.Duration) Message {
	if name == "" {
		name = flow
	}
	m := Message{Event: "runs_failed", FlowID: flow, Data: map[string]any{"event": "runs_failed", "flow_id": flow,
		"flow_name": name, "count": n}}
	if n == 1 {
		m.Subject = fmt.Sprintf("Hookflow: a run of %q failed", name)
	} else {
		m.Subject = fmt.Sprintf("Hookflow: %d runs of %q failed", n, name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (flow %s)", m.Subject, flow)
	if n > 1 {
		fmt.Fprintf(&b, " since the last alert (at most one per %s per flow)", interval)
	}
	b.WriteString(".")
	runs, _, err := a.cfg.Store.ListRuns(ctx, engine.RunQuery{FlowID: flow, Status: engine.RunFailed, Limit: 1})
	if err == nil && len(runs) > 0 {
		r := runs[0]
		step := ""
		for _, s := range r.Steps {
			if s.Status == engine.StepFailed {
				step = s.ID
			}
		}
		link := a.cfg.BaseURL + "/runs/" + r.ID
		fmt.Fprintf(&b, "\nLatest: ")
		if step != "" {
			fmt.Fprintf(&b, "step %q: ", step)
		}
		fmt.Fprintf(&b, "%s\n%s", r.Error, link)
		m.Data["run_id"], m.Data["step"], m.Data["error"], m.Data["run_url"] = r.ID, step, r.Error, link
	}
	m.Text = b.String()
	return m
}

// silence returns the flow's silence alert when it is due: no delivery for
// d (counted from the newest delivery, or from the alerter's start), sent
// once until a delivery arrives.
func (a *Alerter) silence(ctx context.Context, flow, name string, d time.Duration, now time.Time) (Message, bool) {
	ds, _, err := a.cfg.Store.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: flow, Limit: 1})
	if err != nil {
		a.cfg.Logf("alerts: silence of %s: %v", flow, err)
		return Message{}, false
	}
	last, lastID := a.started, "-"
	if len(ds) > 0 {
		last, lastID = ds[0].ReceivedAt, ds[0].ID
	}
	a.mu.Lock()
	told := a.silenced[flow] == lastID
	due := !told && now.Sub(last) >= d
	if due {
		a.silenced[flow] = lastID
	}
	a.mu.Unlock()
	if !due {
		return Message{}, false
	}
	if name == "" {
		name = flow
	}
	m := Message{Event: "silence", FlowID: flow, Subject: fmt.Sprintf("Hookflow: no delivery to %q for %s", name, d),
		Data: map[string]any{"event": "silence", "flow_id": flow, "flow_name": name, "silent_for": d.String()}}
	if len(ds) > 0 {
		m.Text = fmt.Sprintf("%s: the last request reached %s at %s.\n%s/flows/%s/deliveries", m.Subject, flow,
			last.UTC().Format(time.RFC3339), a.cfg.BaseURL, flow)
		m.Data["last_delivery_at"] = last.UTC().Format(time.RFC3339)
	} else {
		m.Text = fmt.Sprintf("%s: no request has reached %s since the alert was set up.\n%s/flows/%s/deliveries", m.Subject, flow, a.cfg.BaseURL, flow)
	}
	return m, true
}

// Send delivers m to every target and records each failure; it reports
// whether at least one target took it.
func (a *Alerter) Send(ctx context.Context, s *Settings, m Message) bool {
	ok := false
	for _, t := range s.Targets {
		if err := a.sendTo(ctx, t, m); err != nil {
			msg := a.cfg.Redact(err.Error())
			a.cfg.Logf("alerts: %s to %s: %s", m.Subject, t.Name, msg)
			a.mu.Lock()
			a.failures = append(a.failures, Failure{At: a.cfg.Now(), Target: t.Name, Subject: m.Subject, Error: msg})
			if len(a.failures) > maxFailures {
				a.failures = a.failures[len(a.failures)-maxFailures:]
			}
			a.mu.Unlock()
			continue
		}
		ok = true
	}
	return ok
}

func (a *Alerter) sendTo(ctx context.Context, t Target, m Message) error {
	act, err := a.prepare(t, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id := "alert-" + engine.NewID()
	sc := &engine.StepContext{RunID: id, FlowID: m.FlowID, StepID: "alert", Attempt: 1,
		IdempotencyKey: id, HTTP: a.cfg.HTTP, Dial: a.cfg.Dial, Now: a.cfg.Now, Log: func(string) {}}
	if _, err := act.Run(ctx, sc); err != nil {
		return fmt.Errorf("%s: %w", t.Kind, err)
	}
	return nil
}

// prepare renders the target's settings, adds the message fields of its kind
// and decodes them into the action, as a step's `with` is.
func (a *Alerter) prepare(t Target, m Message) (engine.Action, error) {
	if !validKind(t.Kind) {
		return nil, fmt.Errorf("kind %q: alerts go to %s", t.Kind, strings.Join(Kinds, ", "))
	}
	kind, ok := a.cfg.Registry.Action(t.Kind)
	if !ok {
		return nil, fmt.Errorf("kind %q is not registered", t.Kind)
	}
	tpl, errs := engine.CompileValue(t.With, []string{"secrets"})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	v, err := tpl.Eval(map[string]any{"secrets": a.cfg.Secrets()})
	if err != nil {
		return nil, err
	}
	with, _ := v.(map[string]any)
	if with == nil {
		if v != nil {
			return nil, fmt.Errorf("settings must be an object")
		}
		with = map[string]any{}
	}
	switch t.Kind {
	case "email":
		with["subject"], with["text"] = m.Subject, m.Text
	case "slack", "discord":
		with["text"] = m.Text
	case "webhook":
		with["body"] = m.Data
	}
	act := kind.New()
	if _, err := engine.DecodeWith(&kind.Spec, with, act); err != nil {
		return nil, err
	}
	return act, nil
}

func validKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Observer passes measurements on and tells the alerter about failed runs:
// it wires alerts to the engine without a hook of their own.
type Observer struct {
	engine.Observer
	Alerts *Alerter
}

// RunFinished counts a failed run for its flow's alert.
func (o Observer) RunFinished(flowID string, status engine.RunStatus) {
	o.Observer.RunFinished(flowID, status)
	if status == engine.RunFailed {
		o.Alerts.RunFailed(flowID)
	}
}

// RunsClaimed and LeasesLost pass the cluster's measurements on to the
// wrapped Observer when it takes them (the metrics do): the wrapper must not
// hide them.
func (o Observer) RunsClaimed(n, takenOver int, d time.Duration) {
	if co, ok := o.Observer.(engine.ClusterObserver); ok {
		co.RunsClaimed(n, takenOver, d)
	}
}

// LeasesLost: see RunsClaimed.
func (o Observer) LeasesLost(n int) {
	if co, ok := o.Observer.(engine.ClusterObserver); ok {
		co.LeasesLost(n)
	}
}

var (
	_ engine.Observer        = Observer{}
	_ engine.ClusterObserver = Observer{}
)
