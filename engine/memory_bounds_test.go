package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// TestHeavyEvaluationsWaitForASlot: a run's evaluation that loops or builds
// strings waits for one of the 64 slots (its context ends the wait); a plain
// one never waits, nor does one outside a run (no context: a webhook's
// dedupe key).
func TestHeavyEvaluationsWaitForASlot(t *testing.T) {
	heavy, err := engine.CompileExpr(`len(map(1..10, {# * 2})) > 0`, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := engine.CompileExpr(`trigger.n > 1`, []string{"trigger"})
	if err != nil {
		t.Fatal(err)
	}
	giveBack := sync.OnceFunc(engine.FillHeavySlots()) // given back when the test fails, too
	t.Cleanup(giveBack)
	env := map[string]any{"trigger": map[string]any{"n": 2.0}}
	if v, err := plain.Run(nil, env); err != nil || v != true {
		t.Fatalf("plain evaluation with every slot taken: %v %v", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = heavy.Run(&engine.Evaluation{Ctx: ctx}, env)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "expression `") {
		t.Fatalf("heavy evaluation with every slot taken: %v", err)
	}
	if v, err := heavy.Run(nil, env); err != nil || v != true {
		t.Fatalf("heavy evaluation outside a run with every slot taken: %v %v", v, err)
	}
	giveBack()
	if v, err := heavy.Run(&engine.Evaluation{Ctx: context.Background()}, env); err != nil || v != true {
		t.Fatalf("heavy evaluation with slots free: %v %v", v, err)
	}
}

// TestBigBodiesWaitForRoom: a run whose body is big (over 64 KiB) waits
// while the big bodies executing fill their bound; small ones go on.
func TestBigBodiesWaitForRoom(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: testRegistry(), Workers: 4, Logf: t.Logf})
	ctx := context.Background()
	f, err := engine.DecodeFlow([]byte(flowDoc(`[{"id":"p","type":"probe","with":{"out":"{{ len(trigger.body.pad) }}"}}]`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := eng.Bodies().Acquire(ctx, engine.ExecutingBodyBytes); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(5 * time.Second)
	accept := func(pad int) string {
		p := strings.Repeat("x", pad)
		js := `{"pad":"` + p + `"}`
		id, _, err := eng.Accept(ctx, "f", &engine.Event{Trigger: engine.TriggerData{Type: "test",
			Body: map[string]any{"pad": p}, Raw: js, BodyJSON: []byte(js)}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	big, small := accept(100<<10), accept(10)
	h := &harness{t: t, store: st}
	if r := h.wait(small); r.Status != engine.RunSucceeded {
		t.Fatalf("small run: %s %s", r.Status, r.Error)
	}
	time.Sleep(200 * time.Millisecond)
	if r, err := st.GetRun(ctx, big); err != nil || r.Status != engine.RunQueued {
		t.Fatalf("big run while the bound is full: %v %v", r.Status, err)
	}
	eng.Bodies().Release(engine.ExecutingBodyBytes)
	if r := h.wait(big); r.Status != engine.RunSucceeded {
		t.Fatalf("big run: %s %s", r.Status, r.Error)
	}
}
