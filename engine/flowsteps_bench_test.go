package engine_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// BenchmarkWaitingOnWait measures the heap 10,000 runs waiting in a wait
// step (72h timeout) cost the server, once they wait and again after a
// restart (target < 50 MB): their state is on disk; memory holds the timer
// index only, and the resume key.
func BenchmarkWaitingOnWait(b *testing.B) {
	const perWorker = 10000 / 64
	const n = 64 * (perWorker + 1) // 10,048
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	for b.Loop() {
		path := b.TempDir() + "/hookflow.db"
		st, err := openStore(path)
		if err != nil {
			b.Fatal(err)
		}
		cfg := engine.Config{Store: st, Registry: benchRegistry(), Workers: 64, Logf: func(string, ...any) {}}
		eng := engine.New(cfg)
		if err := eng.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		f, _ := engine.DecodeFlow([]byte(`{"id":"w","name":"W","trigger":{"type":"test"},"steps":[
		  {"id":"mail","type":"noop","with":{"v":"{{ resume_url('approval') }}"}},
		  {"id":"approval","type":"wait","with":{"timeout":"72h"}},{"id":"a","type":"noop"}]}`))
		if _, err := eng.CreateFlow(context.Background(), f); err != nil {
			b.Fatal(err)
		}
		before := heap()
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i <= perWorker; i++ {
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
		waiting := heap()
		b.ReportMetric(float64(waiting-before)/(1<<20), "MB-heap")
		b.ReportMetric(float64(eng.Stats().Waiting), "waiting")
		eng.Close(time.Second)

		start := time.Now()
		eng = engine.New(cfg)
		if err := eng.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-restart")
		b.ReportMetric(float64(heap()-before)/(1<<20), "MB-heap-restarted")
		if eng.Stats().Waiting < n || eng.Stats().Queued > 64 {
			b.Fatalf("after the restart: %+v, want every run asleep on its timer", eng.Stats())
		}
		eng.Close(time.Second)
		st.Close()
	}
}
