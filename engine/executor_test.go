package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// probe is a test action: it fails its first Fail attempts (with the kind of
// error Mode says) and records every call's idempotency key.
type probe struct {
	Fail int    `json:"fail"`
	Mode string `json:"mode"`
	Out  any    `json:"out"`
}

var (
	probeMu    sync.Mutex
	probeCalls = map[string][]string{} // run id → idempotency keys in call order
)

func (p *probe) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	probeMu.Lock()
	probeCalls[sc.RunID] = append(probeCalls[sc.RunID], sc.IdempotencyKey)
	probeMu.Unlock()
	if sc.Attempt <= p.Fail {
		err := fmt.Errorf("probe failure %d", sc.Attempt)
		switch p.Mode {
		case "permanent":
			return nil, engine.Permanent(err)
		case "retryable":
			return nil, engine.Retryable(err, 0)
		}
		return nil, err
	}
	return map[string]any{"out": p.Out, "attempt": sc.Attempt}, nil
}

func calls(runID string) []string {
	probeMu.Lock()
	defer probeMu.Unlock()
	return append([]string(nil), probeCalls[runID]...)
}

// testTrigger is a minimal trigger kind with no settings.
type testTrigger struct{}

func testRegistry() *engine.Registry {
	r := engine.NewRegistry()
	r.AddTrigger(engine.TriggerKind{Spec: engine.Spec{Kind: "test", Title: "Test", Summary: "test"}, New: func() any { return new(testTrigger) }})
	r.AddAction(engine.ActionKind{Spec: engine.Spec{Kind: "probe", Title: "Probe", Summary: "test action",
		Fields: []engine.Field{{Name: "fail", Type: engine.FieldNumber}, {Name: "mode", Type: engine.FieldText}, {Name: "out", Type: engine.FieldJSON}}},
		New: func() engine.Action { return new(probe) }})
	return r
}

type harness struct {
	t     *testing.T
	path  string
	store *boltstore.Store
	eng   *engine.Engine
	// tweak, when set, adjusts the engine's config at each open.
	tweak func(*engine.Config)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "hookflow.db")}
	h.open()
	t.Cleanup(h.close)
	return h
}

func (h *harness) open() {
	h.t.Helper()
	st, err := boltstore.Open(h.path, boltstore.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = st
	cfg := engine.Config{Store: st, Registry: testRegistry(), Workers: 4, Logf: h.t.Logf}
	if h.tweak != nil {
		h.tweak(&cfg)
	}
	h.eng = engine.New(cfg)
	if err := h.eng.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) close() {
	if h.eng != nil {
		h.eng.Close(5 * time.Second)
		h.store.Close()
		h.eng = nil
	}
}

func (h *harness) flow(doc string) *engine.Flow {
	h.t.Helper()
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		h.t.Fatalf("decode flow: %v", err)
	}
	if _, err := h.eng.PutFlow(context.Background(), f); err != nil {
		h.t.Fatalf("save flow: %v", err)
	}
	return f
}

func (h *harness) accept(flowID string, body any, dedupe string) string {
	h.t.Helper()
	id, _, err := h.eng.Accept(context.Background(), flowID, &engine.Event{
		Trigger: engine.TriggerData{Type: "test", Body: body}, DedupeKey: dedupe, DedupeWindow: time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// wait polls the store until the run ends (bounded), and returns it.
func (h *harness) wait(id string) *engine.Run {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := h.store.GetRun(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if r.Status.Final() {
			return r
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(r, "", " ")
			h.t.Fatalf("run %s did not end: %s", id, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func flowDoc(steps string) string {
	return `{"id":"f","name":"F","trigger":{"type":"test"},"steps":` + steps + `}`
}

func jsonBody(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

func TestControlSteps(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name   string
		steps  string
		body   string
		status engine.RunStatus
		steps_ map[string]engine.StepStatus // expected step statuses by instance id
		check  func(t *testing.T, r *engine.Run)
	}{
		{name: "filter passes", body: `{"amount":1500}`,
			steps:  `[{"id":"big","type":"filter","when":"trigger.body.amount >= 1000"},{"id":"p","type":"probe","with":{"out":"{{ trigger.body.amount }}"}}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"big": "succeeded", "p": "succeeded"},
			check: func(t *testing.T, r *engine.Run) {
				// A whole-value template keeps the expression's type: a number, not "1500".
				if got := r.Step("p").Output.(map[string]any)["out"]; got != 1500.0 {
					t.Errorf("out = %#v, want 1500 (number)", got)
				}
			}},
		{name: "filter stops", body: `{"amount":5}`,
			steps:  `[{"id":"big","type":"filter","when":"trigger.body.amount >= 1000"},{"id":"p","type":"probe"}]`,
			status: engine.RunFiltered, steps_: map[string]engine.StepStatus{"big": "succeeded"},
			check: func(t *testing.T, r *engine.Run) {
				if r.Step("p") != nil {
					t.Error("a step after a failing filter ran")
				}
			}},
		{name: "missing field is nil, not an error", body: `{}`,
			steps:  `[{"id":"f1","type":"filter","when":"trigger.body.a.b.c == nil && (trigger.body.x?.y ?? 'd') == 'd'"}]`,
			status: engine.RunSucceeded},
		{name: "branch picks the first true case", body: `{"kind":"refund"}`,
			steps: `[{"id":"b","type":"branch","cases":[{"name":"pay","when":"trigger.body.kind == 'payment'","steps":[{"id":"a","type":"probe"}]},
			         {"name":"refund","when":"trigger.body.kind == 'refund'","steps":[{"id":"c","type":"probe","with":{"out":"r"}}]}],
			         "default":[{"id":"d","type":"probe"}]}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"b": "succeeded", "c": "succeeded"},
			check: func(t *testing.T, r *engine.Run) {
				if r.Step("a") != nil || r.Step("d") != nil {
					t.Error("steps of other cases ran")
				}
				if name := r.Step("b").Output.(map[string]any)["name"]; name != "refund" {
					t.Errorf("branch output name = %v", name)
				}
			}},
		{name: "branch default", body: `{"kind":"other"}`,
			steps:  `[{"id":"b","type":"branch","cases":[{"when":"trigger.body.kind == 'payment'","steps":[{"id":"a","type":"probe"}]}],"default":[{"id":"d","type":"probe"}]}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"d": "succeeded"}},
		{name: "foreach collects outputs", body: `{"items":[{"n":1},{"n":2},{"n":3}]}`,
			steps: `[{"id":"loop","type":"foreach","items":"trigger.body.items","steps":[
			          {"id":"sq","type":"set","with":{"vars":{"last":"{{ item.n * item.n }}"}}},
			          {"id":"each","type":"probe","with":{"out":"{{ index }}:{{ vars.last }}"}}]},
			         {"id":"after","type":"probe","with":{"out":"{{ len(steps.loop.output) }}"}}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"loop": "succeeded", "loop[2].each": "succeeded"},
			check: func(t *testing.T, r *engine.Run) {
				outs := r.Step("loop").Output.([]any)
				if len(outs) != 3 || outs[2].(map[string]any)["out"] != "2:9" {
					t.Errorf("loop output = %v", outs)
				}
				if got := r.Step("after").Output.(map[string]any)["out"]; got != 3.0 {
					t.Errorf("after = %v", got)
				}
			}},
		{name: "foreach over max_items fails", body: `{"items":[1,2,3]}`,
			steps:  `[{"id":"loop","type":"foreach","items":"trigger.body.items","max_items":2,"steps":[{"id":"x","type":"probe"}]}]`,
			status: engine.RunFailed, steps_: map[string]engine.StepStatus{"loop": "failed"}},
		{name: "set then template", body: `{"email":"A@B.COM"}`,
			steps:  `[{"id":"s","type":"set","with":{"vars":{"email":"{{ lower(trigger.body.email) }}"}}},{"id":"p","type":"probe","with":{"out":"to {{ vars.email }}"}}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				if got := r.Step("p").Output.(map[string]any)["out"]; got != "to a@b.com" {
					t.Errorf("out = %v", got)
				}
			}},
		{name: "if false skips", body: `{}`,
			steps:  `[{"id":"p","type":"probe","if":"false"},{"id":"q","type":"probe","with":{"out":"{{ steps.p.status }}"}}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"p": "skipped", "q": "succeeded"}},
		{name: "fail step", body: `{"id":7}`,
			steps:  `[{"id":"nope","type":"fail","with":{"message":"order {{ trigger.body.id }} has no email"}}]`,
			status: engine.RunFailed, steps_: map[string]engine.StepStatus{"nope": "failed"},
			check: func(t *testing.T, r *engine.Run) {
				if !strings.Contains(r.Error, "order 7 has no email") {
					t.Errorf("run error = %q", r.Error)
				}
			}},
		{name: "on_error continue", body: `{}`,
			steps:  `[{"id":"p","type":"probe","with":{"fail":9,"mode":"permanent"},"on_error":"continue"},{"id":"q","type":"probe","with":{"out":"{{ steps.p.error }}"}}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"p": "failed", "q": "succeeded"},
			check: func(t *testing.T, r *engine.Run) {
				if got := r.Step("q").Output.(map[string]any)["out"]; got != "probe failure 1" {
					t.Errorf("q saw %v", got)
				}
			}},
		{name: "retry until success", body: `{}`,
			steps:  `[{"id":"p","type":"probe","with":{"fail":2},"retry":{"attempts":3,"backoff":"1ms"}}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				if s := r.Step("p"); s.Attempts != 3 || s.Status != engine.StepSucceeded {
					t.Errorf("attempts=%d status=%s", s.Attempts, s.Status)
				}
				// one key for every attempt: a retry after a timeout is what the key is for
				if keys := calls(r.ID); len(keys) != 3 || keys[0] != r.ID+":p" || keys[2] != r.ID+":p" {
					t.Errorf("idempotency keys = %v", keys)
				}
			}},
		{name: "retry exhausted", body: `{}`,
			steps:  `[{"id":"p","type":"probe","with":{"fail":5,"mode":"retryable"},"retry":{"attempts":2,"backoff":"1ms"}}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if s := r.Step("p"); s.Attempts != 2 || s.Error != "probe failure 2" {
					t.Errorf("attempts=%d error=%q", s.Attempts, s.Error)
				}
			}},
		{name: "permanent error is not retried", body: `{}`,
			steps:  `[{"id":"p","type":"probe","with":{"fail":5,"mode":"permanent"},"retry":{"attempts":4,"backoff":"1ms"}}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if s := r.Step("p"); s.Attempts != 1 {
					t.Errorf("attempts=%d, want 1", s.Attempts)
				}
			}},
		{name: "runtime expression error names the expression", body: `{"n":"x"}`,
			steps:  `[{"id":"p","type":"probe","with":{"out":"{{ trigger.body.n * 2 }}"}}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if e := r.Step("p").Error; !strings.Contains(e, "trigger.body.n * 2") || !strings.Contains(e, "with.out") {
					t.Errorf("error = %q", e)
				}
			}},
		{name: "a failing step names the secret it reads that is not set", body: `{}`,
			steps:  `[{"id":"p","type":"probe","with":{"fail":1,"mode":"permanent","out":"{{ secrets.API_TOKEN }}"}}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if e := r.Step("p").Error; !strings.Contains(e, "secret API_TOKEN is not set") {
					t.Errorf("error = %q", e)
				}
			}},
		{name: "delay", body: `{}`,
			steps:  `[{"id":"w","type":"delay","with":{"for":"20ms"}},{"id":"p","type":"probe"}]`,
			status: engine.RunSucceeded, steps_: map[string]engine.StepStatus{"w": "succeeded", "p": "succeeded"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("f%d", i)
			h.flow(strings.Replace(flowDoc(tc.steps), `"id":"f"`, `"id":"`+id+`"`, 1))
			r := h.wait(h.accept(id, jsonBody(tc.body), ""))
			if r.Status != tc.status {
				b, _ := json.MarshalIndent(r.Steps, "", " ")
				t.Fatalf("status = %s (%s), want %s; steps: %s", r.Status, r.Error, tc.status, b)
			}
			for sid, want := range tc.steps_ {
				if s := r.Step(sid); s == nil || s.Status != want {
					t.Errorf("step %s = %+v, want %s", sid, s, want)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"p","type":"probe"}]`))
	ids := make(chan string, 50)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _, err := h.eng.Accept(context.Background(), "f", &engine.Event{Trigger: engine.TriggerData{Type: "test"},
				DedupeKey: "evt_1", DedupeWindow: time.Hour})
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("duplicates got different run ids: %s and %s", first, id)
		}
	}
	runs, _, err := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "f"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %d (%v), want 1", len(runs), err)
	}
}

func TestReplayFromFailedStep(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"a","type":"probe"},{"id":"b","type":"probe","with":{"fail":1,"mode":"permanent"}}]`))
	first := h.wait(h.accept("f", map[string]any{"x": 1}, ""))
	if first.Status != engine.RunFailed {
		t.Fatalf("first run %s", first.Status)
	}
	id, err := h.eng.Replay(context.Background(), first.ID, engine.ReplayOptions{From: "failed_step"})
	if err != nil {
		t.Fatal(err)
	}
	r := h.wait(id)
	// b fails only on attempt 1, and a replay starts attempts afresh: it fails again,
	// but a (succeeded) must not have run again.
	if n := len(calls(id)); n != 1 {
		t.Errorf("replay from failed step made %d calls, want 1 (only b)", n)
	}
	if r.ReplayOf != first.ID || r.Step("a").Status != engine.StepSucceeded {
		t.Errorf("replay_of=%s a=%+v", r.ReplayOf, r.Step("a"))
	}
	full, err := h.eng.Replay(context.Background(), first.ID, engine.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.wait(full)
	if n := len(calls(full)); n != 2 {
		t.Errorf("replay from start made %d calls, want 2", n)
	}
}

// TestResume: after a restart, a step found running runs again with the same
// idempotency key, finished steps are not re-run, and a delay fires once.
func TestResume(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"a","type":"probe"},{"id":"b","type":"probe"},{"id":"w","type":"delay","with":{"for":"300ms"}},{"id":"c","type":"probe"}]`))
	h.close()

	// A run as a crash leaves it: a succeeded, b started (running, attempt 1).
	st, err := boltstore.Open(h.path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	f, _ := st.GetFlow(context.Background(), "f")
	r := &engine.Run{ID: engine.NewID(), FlowID: "f", FlowVersion: f.Version, Status: engine.RunRunning, CreatedAt: now,
		Trigger: engine.TriggerData{Type: "test", ReceivedAt: now},
		Steps: []*engine.StepRun{
			{ID: "a", Type: "probe", Status: engine.StepSucceeded, Attempts: 1, Output: map[string]any{"out": "done"}},
			{ID: "b", Type: "probe", Status: engine.StepRunning, Attempts: 1, StartedAt: &now},
		}}
	if _, _, err := st.CreateRun(context.Background(), r, "", 0); err != nil {
		t.Fatal(err)
	}
	st.Close()

	h.open()
	// Stop while the run sits in its delay, then start again: it still ends once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := h.store.GetRun(context.Background(), r.ID)
		if got.Status == engine.RunWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never reached its delay: %s", got.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.close()
	h.open()
	done := h.wait(r.ID)
	if done.Status != engine.RunSucceeded {
		t.Fatalf("status %s: %s", done.Status, done.Error)
	}
	keys := calls(r.ID)
	want := []string{r.ID + ":b", r.ID + ":c"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v, want %v (a not re-run, b re-run with its key, c once)", keys, want)
	}
	if w := done.Step("w"); w.FinishedAt == nil || w.FinishedAt.Sub(*w.StartedAt) < 300*time.Millisecond {
		t.Errorf("delay ended early: %+v", w)
	}
}

func TestCancelWaitingRun(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"w","type":"delay","with":{"for":"1h"}},{"id":"p","type":"probe"}]`))
	id := h.accept("f", nil, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := h.store.GetRun(context.Background(), id)
		if r.Status == engine.RunWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run never waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.eng.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(id); r.Status != engine.RunCanceled || r.Step("p") != nil || r.Step("w").Status != engine.StepSkipped {
		t.Errorf("status %s, p=%v, w=%+v", r.Status, r.Step("p"), r.Step("w"))
	}
	if err := h.eng.Cancel(context.Background(), id); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("second cancel: %v, want ErrConflict", err)
	}
}

func TestOnFailureFlow(t *testing.T) {
	h := newHarness(t)
	h.flow(`{"id":"alerts","name":"Alerts","trigger":{"type":"test"},"steps":[{"id":"p","type":"probe","with":{"out":"{{ trigger.body.error }}"}}]}`)
	h.flow(`{"id":"main","name":"Main","on_failure":"alerts","trigger":{"type":"test"},"steps":[{"id":"x","type":"fail","with":{"message":"boom"}}]}`)
	r := h.wait(h.accept("main", nil, ""))
	if r.Status != engine.RunFailed {
		t.Fatal(r.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, _, _ := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "alerts"})
		if len(runs) == 1 {
			a := h.wait(runs[0].ID)
			if a.Trigger.Type != "failure" || !strings.Contains(fmt.Sprint(a.Step("p").Output), "boom") {
				t.Errorf("failure run: type %s output %v", a.Trigger.Type, a.Step("p").Output)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("on_failure flow did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRetentionAndTruncation(t *testing.T) {
	h := newHarness(t)
	big := strings.Repeat("x", engine.MaxStepOutput+10)
	h.flow(`{"id":"r","name":"R","retention":{"max_runs":2},"trigger":{"type":"test"},"steps":[
		{"id":"big","type":"probe","with":{"out":"{{ trigger.body.s }}"}},
		{"id":"after","type":"probe","with":{"out":"{{ len(steps.big.output.out) }}"}}]}`)
	var last *engine.Run
	for i := 0; i < 4; i++ {
		last = h.wait(h.accept("r", map[string]any{"s": big}, ""))
	}
	if !last.Truncated || last.Step("big").Output.(map[string]any)["truncated"] != true {
		t.Errorf("large output kept whole in history: truncated=%v", last.Truncated)
	}
	if got := last.Step("after").Output.(map[string]any)["out"]; got != float64(len(big)) {
		t.Errorf("the next step saw %v characters, want %d", got, len(big))
	}
	if n := h.eng.Prune(context.Background()); n != 2 {
		t.Errorf("pruned %d runs, want 2", n)
	}
	runs, _, _ := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "r"})
	if len(runs) != 2 || runs[0].ID != last.ID {
		t.Errorf("kept %d runs", len(runs))
	}
}

// gate is a test action that takes a moment (2 ms) and tracks how many of
// its calls run at once, per flow.
type gate struct{}

var (
	gateMu      sync.Mutex
	gateRunning = map[string]int{}
	gateMax     = map[string]int{}
	gateOrder   []string
)

func (gate) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	gateMu.Lock()
	gateRunning[sc.FlowID]++
	gateMax[sc.FlowID] = max(gateMax[sc.FlowID], gateRunning[sc.FlowID])
	gateMu.Unlock()
	time.Sleep(2 * time.Millisecond)
	gateMu.Lock()
	gateRunning[sc.FlowID]--
	gateOrder = append(gateOrder, sc.FlowID)
	gateMu.Unlock()
	return nil, nil
}

// TestConcurrencyAndFairness: a flow's concurrency caps its runs executing at
// once, and a busy flow does not starve another one.
func TestConcurrencyAndFairness(t *testing.T) {
	gateMu.Lock()
	gateOrder, gateMax = nil, map[string]int{}
	gateMu.Unlock()
	reg := testRegistry()
	reg.AddAction(engine.ActionKind{Spec: engine.Spec{Kind: "gate", Title: "Gate", Summary: "test"}, New: func() engine.Action { return &gate{} }})
	path := filepath.Join(t.TempDir(), "hookflow.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: reg, Workers: 4, Logf: t.Logf})
	ctx := context.Background()
	for _, doc := range []string{
		`{"id":"busy","name":"Busy","concurrency":2,"trigger":{"type":"test"},"steps":[{"id":"g","type":"gate"}]}`,
		`{"id":"quiet","name":"Quiet","trigger":{"type":"test"},"steps":[{"id":"g","type":"gate"}]}`,
		`{"id":"flood","name":"Flood","trigger":{"type":"test"},"steps":[{"id":"g","type":"gate"}]}`,
	} {
		f, _ := engine.DecodeFlow([]byte(doc))
		if _, err := eng.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	// Queued before the workers start, the busy flow (capped at 2) and an
	// uncapped flood are first in line: without round-robin between flows the
	// flood alone would keep every worker until its last run.
	for i := 0; i < 60; i++ {
		for _, flow := range []string{"busy", "flood"} {
			id, _, err := eng.Accept(ctx, flow, &engine.Event{Trigger: engine.TriggerData{Type: "test"}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	quiet, _, _ := eng.Accept(ctx, "quiet", &engine.Event{Trigger: engine.TriggerData{Type: "test"}})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(time.Second)
	h := &harness{t: t, store: st}
	h.wait(quiet)
	for _, id := range ids {
		h.wait(id)
	}
	gateMu.Lock()
	defer gateMu.Unlock()
	if gateMax["busy"] > 2 {
		t.Errorf("busy flow ran %d at once, its concurrency is 2", gateMax["busy"])
	}
	pos := -1
	for i, f := range gateOrder {
		if f == "quiet" {
			pos = i
		}
	}
	if pos < 0 || pos > 10 {
		t.Errorf("the quiet flow's run finished at position %d of %d: starved by the busy flow", pos, len(gateOrder))
	}
}
