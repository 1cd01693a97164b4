package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// barrier is a test action that returns once Want calls of its Name are
// inside it at the same time (or fails after a bound): a parallel step whose
// branches ran one after the other cannot pass it.
type barrier struct {
	Name string `json:"name"`
	Want int    `json:"want"`
}

var (
	barrierMu sync.Mutex
	barrierIn = map[string]chan struct{}{}
)

func (b *barrier) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	barrierMu.Lock()
	ch := barrierIn[b.Name]
	if ch == nil {
		ch = make(chan struct{}, 64)
		barrierIn[b.Name] = ch
	}
	barrierMu.Unlock()
	ch <- struct{}{}
	deadline := time.After(5 * time.Second)
	for len(ch) < b.Want {
		select {
		case <-deadline:
			return nil, fmt.Errorf("barrier %s: %d of %d branches arrived together", b.Name, len(ch), b.Want)
		case <-time.After(time.Millisecond):
		}
	}
	return map[string]any{"step": sc.StepID}, nil
}

func flowStepsRegistry() *engine.Registry {
	r := testRegistry()
	r.AddAction(engine.ActionKind{Spec: engine.Spec{Kind: "barrier", Title: "Barrier", Summary: "test",
		Fields: []engine.Field{{Name: "name", Type: engine.FieldText}, {Name: "want", Type: engine.FieldNumber}}},
		New: func() engine.Action { return new(barrier) }})
	return r
}

func newFlowHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, path: t.TempDir() + "/hookflow.db"}
	h.tweak = func(c *engine.Config) { c.Registry = flowStepsRegistry(); c.BaseURL = "https://hooks.example.com/" }
	h.open()
	t.Cleanup(h.close)
	return h
}

// until polls the run until cond holds (bounded).
func (h *harness) until(id string, what string, cond func(*engine.Run) bool) *engine.Run {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := h.store.GetRun(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(r, "", " ")
			h.t.Fatalf("run %s: %s did not happen: %s", id, what, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitingAt(id, step string) *engine.Run {
	h.t.Helper()
	return h.until(id, "waiting at "+step, func(r *engine.Run) bool {
		s := r.Step(step)
		return r.Status == engine.RunWaiting && s != nil && s.Status == engine.StepWaiting
	})
}

func tokenOf(url string) string { return url[strings.LastIndex(url, "/resume/")+len("/resume/"):] }

func TestFlowStepProblems(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // "path: substring of message"
	}{
		{name: "valid wait, call and parallel",
			doc: flowDoc(`[{"id":"mail","type":"probe","with":{"out":"{{ resume_url('approval') }}?decision=approve"}},
			  {"id":"approval","type":"wait","with":{"timeout":"72h","on_timeout":"fail"}},
			  {"id":"sub","type":"call","with":{"flow":"other","body":{"x":"{{ steps.approval.output.query.decision }}"}}},
			  {"id":"both","type":"parallel","branches":[{"name":"a","steps":[{"id":"pa","type":"probe"}]},{"name":"b","steps":[{"id":"pb","type":"probe"}]}]}]`)},
		{name: "a flow calling itself is refused at save",
			doc:  flowDoc(`[{"id":"again","type":"call","with":{"flow":"f"}}]`),
			want: []string{"steps[0].with.flow: a flow cannot call itself"}},
		{name: "call needs a flow id",
			doc:  flowDoc(`[{"id":"a","type":"call","with":{}},{"id":"b","type":"call","with":{"flow":"Not An Id"}},{"id":"c","type":"call","with":{"flow":"x","wait":"maybe"}}]`),
			want: []string{"steps[0].with.flow: required", "steps[1].with.flow: must be a flow id", "steps[2].with.wait: want true or false"}},
		{name: "resume_url names a wait step of the flow, in quotes",
			doc: flowDoc(`[{"id":"a","type":"probe","with":{"out":"{{ resume_url('nope') }}"}},
			  {"id":"b","type":"probe","with":{"out":"{{ resume_url(trigger.body.step) }}"}},
			  {"id":"c","type":"probe","with":{"out":"{{ resume_url('a') }}"}}]`),
			want: []string{"steps[0].with.out: the flow has no wait step \"nope\"", "steps[1].with.out: resume_url takes the wait step's id in quotes",
				"steps[2].with.out: the flow has no wait step \"a\""}},
		{name: "wait settings",
			doc:  flowDoc(`[{"id":"w","type":"wait","with":{"timeout":"soon","on_timeout":"retry"}},{"id":"v","type":"wait","with":{"timeout":"-1h"}},{"id":"u","type":"wait","with":{"colour":1}}]`),
			want: []string{"steps[0].with.timeout: bad duration", "steps[0].with.on_timeout: must be one of continue, fail", "steps[1].with.timeout: must be positive", "steps[2].with.colour: unknown field"}},
		{name: "wait inside foreach is refused",
			doc:  flowDoc(`[{"id":"l","type":"foreach","items":"trigger.body","steps":[{"id":"w","type":"wait"}]}]`),
			want: []string{"steps[0].steps[0].type: a wait step cannot be inside a foreach"}},
		{name: "parallel branches",
			doc: flowDoc(`[{"id":"p","type":"parallel"},
			  {"id":"q","type":"parallel","branches":[{"name":"","steps":[{"id":"x","type":"probe"}]},{"name":"b","steps":[]},{"name":"b","steps":[{"id":"x","type":"probe"}]}]},
			  {"id":"r","type":"probe","branches":[{"name":"a","steps":[]}]},
			  {"id":"s","type":"parallel","with":{"a":1},"branches":[{"name":"a","steps":[{"id":"y","type":"probe"}]}]}]`),
			want: []string{"steps[0].branches: required", "steps[1].branches[0].name: required", "steps[1].branches[1].steps: required",
				"steps[1].branches[2].name: \"b\" is already the name of branches[1]",
				"steps[1].branches[2].steps[0].id: \"x\" is already the id of steps[1].branches[0].steps[0]",
				"steps[2].branches: only parallel steps", "steps[3].with: parallel steps take no `with`"}},
	}
	reg := flowStepsRegistry()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := engine.DecodeFlow([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range engine.Validate(f, reg) {
				got = append(got, p.Path+": "+p.Message)
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Fatalf("unexpected problems:\n%s", strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				path, msg, _ := strings.Cut(w, ": ")
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, path+": ") && strings.Contains(g, msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing problem %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

const approvalFlow = `{"id":"approve","name":"Approve","trigger":{"type":"test"},"steps":[
  {"id":"mail","type":"probe","with":{"out":"{{ resume_url('approval') }}?decision=approve"}},
  {"id":"approval","type":"wait","with":{"timeout":"72h"}},
  {"id":"after","type":"probe","with":{"out":"{{ steps.approval.output.query.decision }}"}}]}`

// TestWaitResume: the resume URL is known before the wait, resumes the run
// once with the request as the step's output; replayed, forged, moved to
// another step or used too early, it resumes nothing.
func TestWaitResume(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(approvalFlow)
	id := h.accept("approve", map[string]any{}, "")
	r := h.waitingAt(id, "approval")
	sent := r.Step("mail").Output.(map[string]any)["out"].(string)
	url, _ := strings.CutSuffix(sent, "?decision=approve")
	if want, _ := h.eng.ResumeURL(ctx, id, "approval"); url != want || !strings.HasPrefix(url, "https://hooks.example.com/resume/"+id+".approval.") {
		t.Fatalf("resume_url() gave %q, want %q under the base URL", url, want)
	}
	if r.NextAt == nil || r.NextAt.Sub(time.Now()) < 71*time.Hour {
		t.Errorf("a 72h wait has next_at %v", r.NextAt)
	}
	token := tokenOf(url)
	other := h.accept("approve", map[string]any{}, "")
	h.waitingAt(other, "approval")
	otherURL, _ := h.eng.ResumeURL(ctx, other, "approval")
	runID, step, _ := strings.Cut(token, ".")
	mac := token[strings.LastIndex(token, ".")+1:]
	bad := []struct {
		name, token string
		want        error
	}{
		{"forged mac", token[:len(token)-2] + "xx", engine.ErrNotFound},
		{"mac of another run", other + "." + strings.SplitN(step, ".", 2)[0] + "." + mac, engine.ErrNotFound},
		{"another step of the run", runID + ".after." + mac, engine.ErrNotFound},
		{"not a token", "nothing-here", engine.ErrNotFound},
		{"empty", "", engine.ErrNotFound},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.eng.Resume(ctx, tc.token, &engine.ResumeRequest{Method: "GET"}); !errors.Is(err, tc.want) {
				t.Fatalf("Resume(%q) = %v, want %v", tc.token, err, tc.want)
			}
		})
	}
	got, err := h.eng.Resume(ctx, token, &engine.ResumeRequest{Method: "GET", Query: map[string]any{"decision": "approve"},
		Headers: map[string]string{"user-agent": "mail"}})
	if err != nil || got != id {
		t.Fatalf("Resume = %q, %v", got, err)
	}
	if _, err := h.eng.Resume(ctx, token, &engine.ResumeRequest{Method: "POST"}); !errors.Is(err, engine.ErrGone) {
		t.Errorf("a replayed resume URL: %v, want ErrGone", err)
	}
	done := h.wait(id)
	if done.Status != engine.RunSucceeded {
		t.Fatalf("run %s: %s", done.Status, done.Error)
	}
	out := done.Step("approval").Output.(map[string]any)
	if out["method"] != "GET" || out["query"].(map[string]any)["decision"] != "approve" || out["headers"].(map[string]any)["user-agent"] != "mail" || out["received_at"] == "" {
		t.Errorf("wait output = %v", out)
	}
	if d := done.Step("after").Output.(map[string]any)["out"]; d != "approve" {
		t.Errorf("the next step read decision %v", d)
	}
	if _, err := h.eng.Resume(ctx, token, &engine.ResumeRequest{Method: "GET"}); !errors.Is(err, engine.ErrGone) {
		t.Errorf("a resume URL of an ended run: %v, want ErrGone", err)
	}
	// The other run still waits: its URL is its own.
	if r, _ := h.store.GetRun(ctx, other); r.Status != engine.RunWaiting {
		t.Errorf("the other run is %s", r.Status)
	}
	if _, err := h.eng.Resume(ctx, tokenOf(otherURL), &engine.ResumeRequest{Method: "POST", Body: map[string]any{"ok": true}}); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(other); r.Step("approval").Output.(map[string]any)["body"].(map[string]any)["ok"] != true {
		t.Errorf("the POST body is not the output's body: %v", r.Step("approval").Output)
	}
}

// TestWaitResumeOnce: many requests racing for one resume URL resume it once.
func TestWaitResumeOnce(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(approvalFlow)
	id := h.accept("approve", map[string]any{}, "")
	h.waitingAt(id, "approval")
	url, _ := h.eng.ResumeURL(ctx, id, "approval")
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, gone := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.eng.Resume(ctx, tokenOf(url), &engine.ResumeRequest{Method: "GET", Query: map[string]any{"decision": fmt.Sprint(i)}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, engine.ErrGone):
				gone++
			default:
				t.Errorf("request %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || gone != n-1 {
		t.Fatalf("%d requests resumed the step and %d got gone, want 1 and %d", won, gone, n-1)
	}
	r := h.wait(id)
	if r.Status != engine.RunSucceeded || len(calls(id)) != 2 {
		t.Errorf("run %s with %d probe calls", r.Status, len(calls(id)))
	}
}

func TestWaitEdges(t *testing.T) {
	cases := []struct {
		name   string
		steps  string
		resume bool // resume the wait step once the run waits
		status engine.RunStatus
		check  func(t *testing.T, r *engine.Run)
	}{
		{name: "timeout continues with timed_out",
			steps:  `[{"id":"w","type":"wait","with":{"timeout":"50ms"}},{"id":"p","type":"probe","with":{"out":"{{ steps.w.output.timed_out }}"}}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				if got := r.Step("p").Output.(map[string]any)["out"]; got != true {
					t.Errorf("timed_out = %v", got)
				}
			}},
		{name: "timeout fails with on_timeout fail",
			steps:  `[{"id":"w","type":"wait","with":{"timeout":"50ms","on_timeout":"fail"}},{"id":"p","type":"probe"}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if !strings.Contains(r.Error, "step w: timed out after 50ms") || r.Step("p") != nil {
					t.Errorf("error %q, p %v", r.Error, r.Step("p"))
				}
			}},
		{name: "wait inside a parallel branch", resume: true,
			steps:  `[{"id":"par","type":"parallel","branches":[{"name":"ask","steps":[{"id":"w","type":"wait"}]},{"name":"work","steps":[{"id":"p","type":"probe","with":{"out":"done"}}]}]}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				out := r.Step("par").Output.(map[string]any)
				if out["ask"].(map[string]any)["method"] != "POST" || out["work"].(map[string]any)["out"] != "done" {
					t.Errorf("parallel output %v", out)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFlowHarness(t)
			h.flow(flowDoc(tc.steps))
			id := h.accept("f", map[string]any{}, "")
			if tc.resume {
				h.waitingAt(id, "w")
				url, _ := h.eng.ResumeURL(context.Background(), id, "w")
				if _, err := h.eng.Resume(context.Background(), tokenOf(url), &engine.ResumeRequest{Method: "POST"}); err != nil {
					t.Fatal(err)
				}
			}
			r := h.wait(id)
			if r.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Error, tc.status)
			}
			tc.check(t, r)
		})
	}
}

// TestWaitBeforeItWaits: a resume URL used before its run reaches the wait
// step does not resume it (ErrConflict) and is still good afterwards.
func TestWaitBeforeItWaits(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(flowDoc(`[{"id":"first","type":"wait"},{"id":"second","type":"wait"}]`))
	id := h.accept("f", map[string]any{}, "")
	h.waitingAt(id, "first")
	second, _ := h.eng.ResumeURL(ctx, id, "second")
	if _, err := h.eng.Resume(ctx, tokenOf(second), &engine.ResumeRequest{Method: "GET"}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("resume before the wait: %v, want ErrConflict", err)
	}
	first, _ := h.eng.ResumeURL(ctx, id, "first")
	if _, err := h.eng.Resume(ctx, tokenOf(first), &engine.ResumeRequest{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
	h.waitingAt(id, "second")
	if _, err := h.eng.Resume(ctx, tokenOf(second), &engine.ResumeRequest{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(id); r.Status != engine.RunSucceeded {
		t.Fatalf("%s: %s", r.Status, r.Error)
	}
}

// TestWaitSurvivesRestart: a waiting run, and one resumed while the engine
// was stopping, both finish after a restart with the same URLs.
func TestWaitSurvivesRestart(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(approvalFlow)
	a := h.accept("approve", map[string]any{}, "")
	b := h.accept("approve", map[string]any{}, "")
	h.waitingAt(a, "approval")
	h.waitingAt(b, "approval")
	urlA, _ := h.eng.ResumeURL(ctx, a, "approval")
	urlB, _ := h.eng.ResumeURL(ctx, b, "approval")
	h.close()
	h.open()
	if again, _ := h.eng.ResumeURL(ctx, a, "approval"); again != urlA {
		t.Fatalf("the resume URL changed across a restart: %s then %s", urlA, again)
	}
	// b's resume is stored while no worker runs it: the next start finds it.
	h.eng.Close(time.Second)
	if _, err := h.eng.Resume(ctx, tokenOf(urlB), &engine.ResumeRequest{Method: "GET", Query: map[string]any{"decision": "late"}}); err != nil {
		t.Fatal(err)
	}
	h.store.Close()
	h.eng = nil
	h.open()
	if r := h.wait(b); r.Status != engine.RunSucceeded || r.Step("after").Output.(map[string]any)["out"] != "late" {
		t.Fatalf("run resumed before the restart: %s %v", r.Status, r.Step("after"))
	}
	if r, _ := h.store.GetRun(ctx, a); r.Status != engine.RunWaiting {
		t.Fatalf("the other run is %s, want still waiting", r.Status)
	}
	if _, err := h.eng.Resume(ctx, tokenOf(urlA), &engine.ResumeRequest{Method: "GET", Query: map[string]any{"decision": "deny"}}); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(a); r.Step("after").Output.(map[string]any)["out"] != "deny" {
		t.Fatalf("after the restart: %v", r.Step("after"))
	}
	if n := len(calls(a)); n != 2 {
		t.Errorf("%d probe calls for run a, want 2 (mail once, after once)", n)
	}
}

func TestCallStep(t *testing.T) {
	cases := []struct {
		name   string
		flows  []string
		status engine.RunStatus
		check  func(t *testing.T, h *harness, r *engine.Run)
	}{
		{name: "waits for the child and gets its output",
			flows: []string{`{"id":"child","name":"Child","trigger":{"type":"test"},"steps":[{"id":"c","type":"probe","with":{"out":"{{ trigger.body.n * 2 }}"}}]}`,
				flowDoc(`[{"id":"sub","type":"call","with":{"flow":"child","body":{"n":21}}},{"id":"p","type":"probe","with":{"out":"{{ steps.sub.output.output.out }}"}}]`)},
			status: engine.RunSucceeded,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				out := r.Step("sub").Output.(map[string]any)
				child, err := h.store.GetRun(context.Background(), out["run_id"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if child.ParentRunID != r.ID || child.Trigger.Type != "call" || child.CallDepth != 1 || out["status"] != "succeeded" {
					t.Errorf("child %+v, step output %v", child, out)
				}
				if got := r.Step("p").Output.(map[string]any)["out"]; got != 42.0 {
					t.Errorf("the child's output reached the parent as %v", got)
				}
			}},
		{name: "a failed child fails the step with its error and run",
			flows: []string{`{"id":"child","name":"Child","trigger":{"type":"test"},"steps":[{"id":"c","type":"fail","with":{"message":"no stock"}}]}`,
				flowDoc(`[{"id":"sub","type":"call","with":{"flow":"child"}}]`)},
			status: engine.RunFailed,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				id := r.Step("sub").Output.(map[string]any)["run_id"].(string)
				if !strings.Contains(r.Error, "no stock") || !strings.Contains(r.Error, "/runs/"+id) {
					t.Errorf("error %q does not carry the child's error and link", r.Error)
				}
			}},
		{name: "without wait the step only starts the child",
			flows: []string{`{"id":"child","name":"Child","trigger":{"type":"test"},"steps":[{"id":"c","type":"wait"}]}`,
				flowDoc(`[{"id":"sub","type":"call","with":{"flow":"child","wait":false}}]`)},
			status: engine.RunSucceeded,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				out := r.Step("sub").Output.(map[string]any)
				if len(out) != 1 || out["run_id"] == "" {
					t.Errorf("output %v, want only run_id", out)
				}
				h.waitingAt(out["run_id"].(string), "c")
			}},
		{name: "a missing flow fails the step",
			flows:  []string{flowDoc(`[{"id":"sub","type":"call","with":{"flow":"nowhere"}}]`)},
			status: engine.RunFailed,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				if !strings.Contains(r.Error, `flow "nowhere" does not exist`) {
					t.Errorf("error %q", r.Error)
				}
			}},
		{name: "a disabled flow fails the step",
			flows: []string{`{"id":"child","name":"Child","enabled":false,"trigger":{"type":"test"},"steps":[]}`,
				flowDoc(`[{"id":"sub","type":"call","with":{"flow":"child"}}]`)},
			status: engine.RunFailed,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				if !strings.Contains(r.Error, `flow "child" is disabled`) {
					t.Errorf("error %q", r.Error)
				}
			}},
		{name: "a computed self-call fails at run time",
			flows:  []string{flowDoc(`[{"id":"sub","type":"call","with":{"flow":"{{ flow.id }}"}}]`)},
			status: engine.RunFailed,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				if !strings.Contains(r.Error, "cannot call itself") {
					t.Errorf("error %q", r.Error)
				}
			}},
		{name: "calls deeper than 10 fail",
			flows: []string{`{"id":"ping","name":"Ping","trigger":{"type":"test"},"steps":[{"id":"c","type":"call","with":{"flow":"pong"}}]}`,
				`{"id":"pong","name":"Pong","trigger":{"type":"test"},"steps":[{"id":"c","type":"call","with":{"flow":"ping"}}]}`,
				flowDoc(`[{"id":"sub","type":"call","with":{"flow":"ping"}}]`)},
			status: engine.RunFailed,
			check: func(t *testing.T, h *harness, r *engine.Run) {
				if !strings.Contains(r.Error, "deeper than 10") {
					t.Errorf("error %q", r.Error)
				}
				// Walk down the chain: 10 levels of children, the last failed by the depth.
				depth, id := 0, r.Step("sub").Output.(map[string]any)["run_id"].(string)
				for {
					c, err := h.store.GetRun(context.Background(), id)
					if err != nil {
						t.Fatal(err)
					}
					depth = c.CallDepth
					out, _ := c.Step("c").Output.(map[string]any)
					if out == nil {
						break
					}
					id = out["run_id"].(string)
				}
				if depth != engine.MaxCallDepth {
					t.Errorf("deepest run at depth %d, want %d", depth, engine.MaxCallDepth)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFlowHarness(t)
			for _, doc := range tc.flows {
				h.flow(doc)
			}
			id := h.accept("f", map[string]any{}, "")
			r := h.wait(id)
			if r.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Error, tc.status)
			}
			tc.check(t, h, r)
		})
	}
}

// TestCallSurvivesRestart: the parent waits durably for a child stopped in
// a wait step; after a restart the child is resumed, ends, and wakes the
// parent, which finishes with the child's output. No step runs twice.
func TestCallSurvivesRestart(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(`{"id":"child","name":"Child","trigger":{"type":"test"},"steps":[{"id":"hold","type":"wait"},{"id":"c","type":"probe","with":{"out":"child done"}}]}`)
	h.flow(flowDoc(`[{"id":"before","type":"probe"},{"id":"sub","type":"call","with":{"flow":"child"}},{"id":"after","type":"probe","with":{"out":"{{ steps.sub.output.output.out }}"}}]`))
	id := h.accept("f", map[string]any{}, "")
	parent := h.waitingAt(id, "sub")
	childID := parent.Step("sub").Output.(map[string]any)["run_id"].(string)
	h.waitingAt(childID, "hold")
	h.close()
	h.open()
	url, _ := h.eng.ResumeURL(ctx, childID, "hold")
	if _, err := h.eng.Resume(ctx, tokenOf(url), &engine.ResumeRequest{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
	r := h.wait(id)
	if r.Status != engine.RunSucceeded || r.Step("after").Output.(map[string]any)["out"] != "child done" {
		t.Fatalf("parent %s %v", r.Status, r.Step("after"))
	}
	if len(calls(id)) != 2 || len(calls(childID)) != 1 {
		t.Errorf("probe calls: parent %v, child %v", calls(id), calls(childID))
	}
	runs, _, _ := h.store.ListRuns(ctx, engine.RunQuery{FlowID: "child"})
	if len(runs) != 1 {
		t.Errorf("%d child runs, want 1", len(runs))
	}
}

func TestParallelStep(t *testing.T) {
	cases := []struct {
		name   string
		steps  string
		status engine.RunStatus
		check  func(t *testing.T, r *engine.Run)
	}{
		{name: "branches run at the same time; output maps names to last outputs",
			steps: `[{"id":"par","type":"parallel","branches":[
			  {"name":"crm","steps":[{"id":"a1","type":"barrier","with":{"name":"together","want":3}},{"id":"a2","type":"probe","with":{"out":"crm"}}]},
			  {"name":"chat","steps":[{"id":"b1","type":"barrier","with":{"name":"together","want":3}}]},
			  {"name":"skip","steps":[{"id":"c1","type":"barrier","with":{"name":"together","want":3}},{"id":"c2","type":"probe","if":"false"}]}]},
			  {"id":"after","type":"probe","with":{"out":"{{ steps.par.output.crm.out }}"}}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				out := r.Step("par").Output.(map[string]any)
				if out["crm"].(map[string]any)["out"] != "crm" || out["chat"].(map[string]any)["step"] != "b1" || out["skip"].(map[string]any)["step"] != "c1" {
					t.Errorf("output %v", out)
				}
				if r.Step("after").Output.(map[string]any)["out"] != "crm" {
					t.Errorf("after saw %v", r.Step("after").Output)
				}
			}},
		{name: "a failed branch fails the step after the others finish",
			steps: `[{"id":"par","type":"parallel","branches":[
			  {"name":"bad","steps":[{"id":"a1","type":"probe","with":{"fail":1,"mode":"permanent"}}]},
			  {"name":"good","steps":[{"id":"b1","type":"barrier","with":{"name":"slow","want":1}},{"id":"b2","type":"probe"}]}]},
			  {"id":"after","type":"probe"}]`,
			status: engine.RunFailed,
			check: func(t *testing.T, r *engine.Run) {
				if r.Step("b2") == nil || r.Step("b2").Status != engine.StepSucceeded || r.Step("par").Status != engine.StepFailed || r.Step("after") != nil {
					t.Errorf("steps: b2 %v, par %v, after %v", r.Step("b2"), r.Step("par"), r.Step("after"))
				}
				if !strings.Contains(r.Error, "probe failure 1") {
					t.Errorf("error %q", r.Error)
				}
			}},
		{name: "on_error continue inside a branch",
			steps: `[{"id":"par","type":"parallel","branches":[
			  {"name":"a","steps":[{"id":"a1","type":"probe","with":{"fail":1,"mode":"permanent"},"on_error":"continue"}]},
			  {"name":"b","steps":[{"id":"b1","type":"delay","with":{"for":"20ms"}},{"id":"b2","type":"probe","with":{"out":"late"}}]}]}]`,
			status: engine.RunSucceeded,
			check: func(t *testing.T, r *engine.Run) {
				if out := r.Step("par").Output.(map[string]any); out["b"].(map[string]any)["out"] != "late" {
					t.Errorf("output %v", out)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFlowHarness(t)
			h.flow(flowDoc(tc.steps))
			id := h.accept("f", map[string]any{}, "")
			r := h.wait(id)
			if r.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Error, tc.status)
			}
			tc.check(t, r)
			for _, c := range calls(id) {
				if strings.Count(strings.Join(calls(id), " "), c) != 1 {
					t.Errorf("step %s ran more than once: %v", c, calls(id))
				}
			}
		})
	}
}

// TestParallelSurvivesRestart: a parallel step suspended in one branch picks
// up after a restart where each branch was; finished steps do not run again.
func TestParallelSurvivesRestart(t *testing.T) {
	h := newFlowHarness(t)
	ctx := context.Background()
	h.flow(flowDoc(`[{"id":"par","type":"parallel","branches":[
	  {"name":"a","steps":[{"id":"a1","type":"probe"},{"id":"w","type":"wait"},{"id":"a2","type":"probe","with":{"out":"a"}}]},
	  {"name":"b","steps":[{"id":"b1","type":"probe"},{"id":"b2","type":"probe","with":{"out":"b"}}]}]},
	  {"id":"after","type":"probe"}]`))
	id := h.accept("f", map[string]any{}, "")
	r := h.waitingAt(id, "w")
	if r.Step("b2") == nil || r.Step("b2").Status != engine.StepSucceeded || r.Step("par").Status != engine.StepRunning {
		t.Fatalf("before the restart: b2 %v, par %v", r.Step("b2"), r.Step("par"))
	}
	h.close()
	h.open()
	url, _ := h.eng.ResumeURL(ctx, id, "w")
	if _, err := h.eng.Resume(ctx, tokenOf(url), &engine.ResumeRequest{Method: "GET"}); err != nil {
		t.Fatal(err)
	}
	r = h.wait(id)
	if r.Status != engine.RunSucceeded {
		t.Fatalf("%s: %s", r.Status, r.Error)
	}
	out := r.Step("par").Output.(map[string]any)
	if out["a"].(map[string]any)["out"] != "a" || out["b"].(map[string]any)["out"] != "b" {
		t.Errorf("output %v", out)
	}
	want := []string{id + ":a1", id + ":a2", id + ":after", id + ":b1", id + ":b2"}
	got := calls(id)
	if strings.Join(slices.Sorted(slices.Values(got)), " ") != strings.Join(want, " ") {
		t.Errorf("probe calls %v, want each of %v once", got, want)
	}
}
