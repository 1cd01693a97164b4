package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// slowBody is 20,000 numbers: the filter below loops 2×10^8 times over it.
func slowBody() any {
	items := make([]any, 20000)
	for i := range items {
		items[i] = float64(i)
	}
	return items
}

const slowFilter = `[{"id":"slow","type":"filter","when":"sum(trigger.body, {sum(1..10000, {#})}) > 0"},{"id":"p","type":"probe"}]`

func unbounded(c *engine.Config) {
	c.ExprLimits = engine.Limits{Time: time.Hour, Iterations: 1 << 50, Memory: 1 << 40}
}

// TestLongEvaluationFailsItsStep: with the default limits a runaway
// condition fails its step, naming the bound and the expression.
func TestLongEvaluationFailsItsStep(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(slowFilter))
	r := h.wait(h.accept("f", slowBody(), ""))
	if r.Status != engine.RunFailed || !strings.Contains(r.Error, "limit") || !strings.Contains(r.Error, "sum(trigger.body") {
		t.Fatalf("status %s, error %q", r.Status, r.Error)
	}
	if len(calls(r.ID)) != 0 {
		t.Error("the step after the failed filter ran")
	}
}

// TestCancelStopsAnEvaluation: a cancel stops a step that is evaluating
// (here one with no time or iteration bound), and the run ends canceled.
func TestCancelStopsAnEvaluation(t *testing.T) {
	h := &harness{t: t, path: t.TempDir() + "/hookflow.db", tweak: unbounded}
	h.open()
	t.Cleanup(h.close)
	h.flow(flowDoc(slowFilter))
	id := h.accept("f", slowBody(), "")
	time.Sleep(100 * time.Millisecond) // let a worker start on it
	asked := time.Now()
	if err := h.eng.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	r := h.wait(id)
	took := time.Since(asked)
	if r.Status != engine.RunCanceled {
		t.Fatalf("status %s (%s)", r.Status, r.Error)
	}
	if took > 5*time.Second { // the contract is about a second; this only catches "never"
		t.Errorf("cancel took %s", took)
	}
	if s := r.Step("slow"); s == nil || s.Status != engine.StepSkipped || s.Error != "canceled" {
		t.Errorf("the interrupted step: %+v", s)
	}
}

// TestCloseStopsEvaluations: shutdown ends within its grace whatever a
// step is doing, and the interrupted run resumes (not failed) at the next
// start.
func TestCloseStopsEvaluations(t *testing.T) {
	h := &harness{t: t, path: t.TempDir() + "/hookflow.db", tweak: unbounded}
	h.open()
	t.Cleanup(h.close)
	h.flow(flowDoc(slowFilter))
	id := h.accept("f", slowBody(), "")
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	h.eng.Close(2 * time.Second)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("Close(2s) took %s", took)
	}
	r, err := h.store.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status.Final() {
		t.Fatalf("shutdown ended the run: %s %q", r.Status, r.Error)
	}
	h.store.Close()
	h.eng = nil
	// The next start (default limits) resumes it; the filter now hits its bound.
	h.tweak = nil
	h.open()
	if r := h.wait(id); r.Status != engine.RunFailed || !strings.Contains(r.Error, "limit") {
		t.Fatalf("after restart: %s %q", r.Status, r.Error)
	}
}

// TestCrashLoopFailsTheRun: a run found executing at MaxInterrupted starts
// in a row after unclean stops is failed with a message naming the step,
// not resumed; a clean stop does not count, and progress resets the count.
func TestCrashLoopFailsTheRun(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"a","type":"probe"},{"id":"b","type":"probe"}]`))
	h.close()

	st, err := boltstore.Open(h.path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, _ := st.GetFlow(ctx, "f")
	now := time.Now().UTC()
	mk := func(interrupted int) *engine.Run {
		r := &engine.Run{ID: engine.NewID(), FlowID: "f", FlowVersion: f.Version, Status: engine.RunRunning, CreatedAt: now,
			Trigger: engine.TriggerData{Type: "test", ReceivedAt: now}, Interrupted: interrupted,
			Steps: []*engine.StepRun{
				{ID: "a", Type: "probe", Status: engine.StepSucceeded, Attempts: 1},
				{ID: "b", Type: "probe", Status: engine.StepRunning, Attempts: 1, StartedAt: &now},
			}}
		if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
		return r
	}
	looping, once := mk(1), mk(0)
	if err := st.PutMeta(ctx, "engine.clean_stop", []byte("0")); err != nil { // as a crash leaves it
		t.Fatal(err)
	}
	st.Close()

	h.open()
	r := h.wait(looping.ID)
	if r.Status != engine.RunFailed || !strings.Contains(r.Error, "stopped 2 times in a row while this run executed step b") {
		t.Fatalf("looping run: %s %q", r.Status, r.Error)
	}
	if n := len(calls(looping.ID)); n != 0 {
		t.Errorf("the looping run's step ran %d times", n)
	}
	if r := h.wait(once.ID); r.Status != engine.RunSucceeded || r.Interrupted != 0 {
		t.Fatalf("run interrupted once: %s %q interrupted=%d", r.Status, r.Error, r.Interrupted)
	}
	// Replay by hand works.
	id, err := h.eng.Replay(ctx, looping.ID, engine.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.wait(id); r.Status != engine.RunSucceeded {
		t.Fatalf("replay: %s %q", r.Status, r.Error)
	}

	// After a clean stop a run left running is not counted.
	h.close()
	st, err = boltstore.Open(h.path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := mk(1)
	if v, _ := st.GetMeta(ctx, "engine.clean_stop"); string(v) != "1" {
		t.Errorf("clean stop not recorded: %q", v)
	}
	st.Close()
	h.open()
	if r := h.wait(after.ID); r.Status != engine.RunSucceeded {
		t.Fatalf("after a clean stop: %s %q", r.Status, r.Error)
	}
}
