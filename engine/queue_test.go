package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// TestQueuedBeyondMemoryCap: runs queued past the in-memory bounds (8 MiB of
// bodies kept decoded) run with the body they were accepted with, whether
// they wait in full, as light items (record without the decoded body) or as
// ids (reloaded from disk: past the light items' 8 MiB too).
func TestQueuedBeyondMemoryCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: testRegistry(), Workers: 4, Logf: func(string, ...any) {}})
	ctx := context.Background()
	f, err := engine.DecodeFlow([]byte(flowDoc(`[{"id":"p","type":"probe","with":{"out":"{{ trigger.body.n }}-{{ len(trigger.body.pad) }}"}}]`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	type event struct {
		n    int
		pad  int  // bytes of padding in the body
		json bool // the body's JSON as it arrived is kept (BodyJSON)
	}
	var events []event
	for i := range 200 {
		events = append(events, event{n: i, pad: 10, json: i%5 != 0})
	}
	// A body's JSON and raw text both count. In order: 7.2 MiB in full; 2 MiB
	// past the full items' 8 MiB, light; 7 MiB past the light items' 8 MiB
	// too, an id; no JSON, in full; small, in full; 1 MiB, light.
	events = append(events, event{n: 200, pad: 3600 << 10, json: true}, event{n: 201, pad: 1 << 20, json: true},
		event{n: 202, pad: 3500 << 10, json: true}, event{n: 203, pad: 100, json: false},
		event{n: 204, pad: 100, json: true}, event{n: 205, pad: 500 << 10, json: true})
	ids := make([]string, len(events))
	// Accepted before the workers start: everything queues. In order, so that
	// the last ones are past the cap.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, ev := range events {
		if i == 200 {
			wg.Wait() // the first 200 are queued in full
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pad := strings.Repeat("x", ev.pad)
			js := fmt.Sprintf(`{"n":%d,"pad":%q}`, ev.n, pad)
			trig := engine.TriggerData{Type: "test", Body: map[string]any{"n": float64(ev.n), "pad": pad}}
			if ev.json {
				trig.Raw, trig.BodyJSON = js, []byte(js)
			}
			id, _, err := eng.Accept(ctx, "f", &engine.Event{Trigger: trig})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = id
		}()
		if i >= 200 {
			wg.Wait() // then one at a time: which item is light depends on the order
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(5 * time.Second)
	h := &harness{t: t, store: st}
	for i, id := range ids {
		r := h.wait(id)
		if r.Status != engine.RunSucceeded {
			t.Fatalf("run %d: %s %s", i, r.Status, r.Error)
		}
		out, _ := r.Steps[0].Output.(map[string]any)
		if want := fmt.Sprintf("%d-%d", events[i].n, events[i].pad); fmt.Sprint(out["out"]) != want {
			t.Fatalf("run %d saw trigger.body as %v, want %s", i, out["out"], want)
		}
	}
}
