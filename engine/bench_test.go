package engine_test

import (
	"context"
	"fmt"
	"go/build"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// BenchmarkCondition: a compiled condition over a Stripe-like event (target < 1 µs).
func BenchmarkCondition(b *testing.B) {
	e, err := engine.CompileCond("trigger.body.data.object.amount >= 1000 && trigger.body.type == 'payment_intent.succeeded'", engine.StepScope)
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]any{"trigger": map[string]any{"body": map[string]any{"type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{"amount": 2000.0}}}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := e.Bool(env); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkTemplate: a mixed text template with two expressions.
func BenchmarkTemplate(b *testing.B) {
	tp, err := engine.CompileString("We received {{ trigger.body.amount / 100 }} USD from {{ lower(trigger.body.email) }}.", engine.StepScope)
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]any{"trigger": map[string]any{"body": map[string]any{"amount": 1250.0, "email": "A@B.COM"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.EvalString(env); err != nil {
			b.Fatal(err)
		}
	}
}

// noop is an action with no I/O, so that flow benchmarks measure the engine.
type noop struct {
	V any `json:"v"`
}

func (n *noop) Run(context.Context, *engine.StepContext) (any, error) {
	return map[string]any{"v": n.V}, nil
}

func benchRegistry() *engine.Registry {
	r := testRegistry()
	r.AddAction(engine.ActionKind{Spec: engine.Spec{Kind: "noop", Title: "Noop", Summary: "no I/O",
		Fields: []engine.Field{{Name: "v", Type: engine.FieldJSON}}}, New: func() engine.Action { return new(noop) }})
	return r
}

// runFlow executes flow docs end to end on a real store and reports runs/s.
func benchFlow(b *testing.B, doc string, body any) {
	st, err := openStore(b.TempDir() + "/hookflow.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: benchRegistry(), Workers: 64, Logf: b.Logf})
	if err := eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer eng.Close(0)
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.CreateFlow(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	ids := make([]string, 0, b.N)
	for i := 0; i < b.N; i++ {
		id, _, err := eng.Accept(context.Background(), f.ID, &engine.Event{Trigger: engine.TriggerData{Type: "test", Body: body}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		for {
			r, err := st.GetRun(context.Background(), id)
			if err != nil {
				b.Fatal(err)
			}
			if r.Status.Final() {
				if r.Status != engine.RunSucceeded {
					b.Fatalf("run %s: %s", r.Status, r.Error)
				}
				break
			}
			eng.Stats() // yield
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkThreeStepFlow: webhook → filter → set → action, durable (fsynced).
func BenchmarkThreeStepFlow(b *testing.B) {
	benchFlow(b, `{"id":"three","name":"3","trigger":{"type":"test"},"steps":[
		{"id":"f","type":"filter","when":"trigger.body.amount >= 1000"},
		{"id":"s","type":"set","with":{"vars":{"cents":"{{ trigger.body.amount }}"}}},
		{"id":"a","type":"noop","with":{"v":"{{ vars.cents / 100 }}"}}]}`, map[string]any{"amount": 2000.0})
}

// BenchmarkEngineOverhead: a 10-step flow with branches and a 100-item foreach,
// executed in memory without the store's fsyncs, to isolate the engine's own
// cost (target < 1 ms per run).
func BenchmarkEngineOverhead(b *testing.B) {
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{"sku": fmt.Sprintf("sku-%d", i), "qty": float64(i % 3), "price": 9.5}
	}
	body := map[string]any{"amount": 2000.0, "kind": "order", "items": items, "email": "X@Y.Z"}
	doc := `{"id":"ten","name":"10","trigger":{"type":"test"},"steps":[
		{"id":"f","type":"filter","when":"trigger.body.amount >= 1000"},
		{"id":"s","type":"set","with":{"vars":{"email":"{{ lower(trigger.body.email) }}"}}},
		{"id":"b","type":"branch","cases":[{"when":"trigger.body.kind == 'refund'","steps":[{"id":"r","type":"noop"}]},
			{"when":"trigger.body.kind == 'order'","steps":[{"id":"o","type":"noop","with":{"v":"{{ vars.email }}"}}]}],"default":[{"id":"d","type":"noop"}]},
		{"id":"loop","type":"foreach","items":"trigger.body.items","steps":[
			{"id":"line","type":"set","with":{"vars":{"t":"{{ item.qty * item.price }}"}}}]},
		{"id":"total","type":"set","with":{"vars":{"sum":"{{ sum(map(steps.loop.output, #.t)) }}"}}},
		{"id":"b2","type":"branch","cases":[{"when":"vars.sum > 100","steps":[{"id":"big","type":"noop"}]}],"default":[{"id":"small","type":"noop"}]},
		{"id":"a1","type":"noop","with":{"v":"{{ vars.sum }}"}},
		{"id":"a2","type":"noop","if":"vars.sum > 0","with":{"v":"{{ steps.a1.output.v }}"}},
		{"id":"a3","type":"noop"},
		{"id":"a4","type":"noop","with":{"v":{"email":"{{ vars.email }}","n":"{{ len(trigger.body.items) }}"}}}]}`
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	st, err := openStore(b.TempDir() + "/hookflow.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Registry: benchRegistry(), Workers: 1, Logf: b.Logf})
	if _, err := eng.CreateFlow(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := eng.ExecuteNow(context.Background(), f.ID, engine.TriggerData{Type: "test", Body: body})
		if err != nil || r.Status != engine.RunSucceeded {
			b.Fatalf("%v %v %s", err, r.Status, r.Error)
		}
	}
}

// TestEngineImports keeps the engine free of HTTP, HTML and storage engines
// (DESIGN §1), and the whole engine tree free of the layers above it: the
// arrows run cmd → ui → triggers, actions → engine.
func TestEngineImports(t *testing.T) {
	above := []string{"github.com/hookflow/hookflow/triggers", "github.com/hookflow/hookflow/actions",
		"github.com/hookflow/hookflow/ui", "github.com/hookflow/hookflow/cmd"}
	for _, dir := range []string{"boltstore", "pgstore", "alerts", "jsbox", "storetest"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range above {
				if strings.HasPrefix(imp, f) {
					t.Errorf("engine/%s imports %s", dir, imp)
				}
			}
		}
	}
	forbidden := []string{"github.com/gofiber/", "github.com/a-h/templ", "go.etcd.io/bbolt", "github.com/valyala/"}
	for _, dir := range []string{".", "secrets", "netguard"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("engine/%s imports %s", dir, imp)
				}
			}
		}
	}
}

func openStore(path string) (*boltstore.Store, error) {
	return boltstore.Open(path, boltstore.Options{})
}

// BenchmarkWaitingRuns measures the memory 10,000 runs waiting in a delay
// cost the server (target < 50 MB): their state is on disk; memory holds
// only the timer index.
func BenchmarkWaitingRuns(b *testing.B) {
	for b.Loop() {
		st, err := openStore(b.TempDir() + "/hookflow.db")
		if err != nil {
			b.Fatal(err)
		}
		eng := engine.New(engine.Config{Store: st, Registry: benchRegistry(), Workers: 64, Logf: func(string, ...any) {}})
		if err := eng.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		f, _ := engine.DecodeFlow([]byte(`{"id":"w","name":"W","trigger":{"type":"test"},"steps":[{"id":"d","type":"delay","with":{"for":"1h"}},{"id":"a","type":"noop"}]}`))
		if _, err := eng.CreateFlow(context.Background(), f); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 10000
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/64+1; i++ {
					if _, _, err := eng.Accept(context.Background(), "w", &engine.Event{Trigger: engine.TriggerData{Type: "test", Body: map[string]any{"i": i}}}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for eng.Stats().Waiting < n {
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MB-heap")
		b.ReportMetric(float64(eng.Stats().Waiting), "waiting")
		eng.Close(time.Second)
		st.Close()
	}
}
