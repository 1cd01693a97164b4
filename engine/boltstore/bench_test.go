package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// commitCounter is an Observer that counts commits and committed ops.
type commitCounter struct {
	engine.NopObserver
	commits, ops atomic.Int64
}

func (c *commitCounter) Commit(batch int, _ time.Duration) {
	c.commits.Add(1)
	c.ops.Add(int64(batch))
}

// benchRun returns a queued run of about 1 KiB once encoded.
func benchRun() *engine.Run {
	return &engine.Run{
		FlowID: "bench", FlowVersion: 1, Status: engine.RunQueued,
		Trigger: engine.TriggerData{
			Type: "webhook", Method: "POST", Headers: map[string]string{"content-type": "application/json"},
			Body:       map[string]any{"id": "evt_123", "data": strings.Repeat("x", 800)},
			ReceivedAt: time.Now().UTC(),
		},
	}
}

// BenchmarkCreateRun measures durable CreateRun calls (each returns after its
// batch is fsynced) at 1, 16 and 64 concurrent callers.
func BenchmarkCreateRun(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			obs := &commitCounter{}
			s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{Observer: obs})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Pointer[error]
			b.ResetTimer()
			start := time.Now()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						r := benchRun()
						t0 := time.Now()
						if _, _, err := s.CreateRun(ctx, r, "", 0); err != nil {
							failed.Store(&err)
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
			if c := obs.commits.Load(); c > 0 {
				b.ReportMetric(float64(obs.ops.Load())/float64(c), "ops/commit")
			}
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
}
