package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
	"github.com/jackc/pgx/v5"
)

// benchRun returns a queued run of about 1 KiB once encoded (as boltstore's
// benchmark).
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

// BenchmarkCreateRun measures durable CreateRun calls on PostgreSQL (each
// returns after its batch's COMMIT, synchronous_commit on) at 1, 16 and 64
// concurrent callers, without and with a dedupe key.
func BenchmarkCreateRun(b *testing.B) {
	for _, dedupe := range []bool{false, true} {
		for _, callers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("dedupe=%v/callers=%d", dedupe, callers), func(b *testing.B) {
				obs := &batchObserver{}
				s, err := Open(context.Background(), pgtest.DB(b, cluster), Options{Observer: obs})
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
							key := ""
							if dedupe {
								key = fmt.Sprint("evt_", i)
							}
							t0 := time.Now()
							if _, _, err := s.CreateRun(ctx, benchRun(), key, time.Hour); err != nil {
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
				obs.mu.Lock()
				if n := len(obs.sizes); n > 0 {
					total := 0
					for _, s := range obs.sizes {
						total += s
					}
					b.ReportMetric(float64(total)/float64(n), "ops/commit")
				}
				obs.mu.Unlock()
				b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// BenchmarkRunLifecycle measures a run's writes as the engine makes them:
// CreateRun, then SaveRun three times (running, a step done, succeeded),
// each durable, at 1, 16 and 64 concurrent callers. ops/s counts runs.
func BenchmarkRunLifecycle(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s, err := Open(context.Background(), pgtest.DB(b, cluster), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Pointer[error]
			b.ResetTimer()
			start := time.Now()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						r := benchRun()
						if _, _, err := s.CreateRun(ctx, r, "", 0); err != nil {
							failed.Store(&err)
							return
						}
						for _, st := range []engine.RunStatus{engine.RunRunning, engine.RunRunning, engine.RunSucceeded} {
							r.Status = st
							if err := s.SaveRun(ctx, r); err != nil {
								failed.Store(&err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
		})
	}
}

// BenchmarkStatements measures the database's time per run statement,
// without the commit's fsync: 1000 CreateRun statements, then 1000 fenced
// checkpoints of them three times (the last ends the runs), each set sent
// as one batch in one transaction. ns/op is per statement.
func BenchmarkStatements(b *testing.B) {
	s, err := Open(context.Background(), pgtest.DB(b, cluster), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	r := benchRun()
	data, err := encodeRun(r)
	if err != nil {
		b.Fatal(err)
	}
	trig, err := json.Marshal(&r.Trigger)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	const perBatch = 1000
	send := func(b *testing.B, fill func(batch *pgx.Batch)) {
		batch := &pgx.Batch{}
		fill(batch)
		if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
			b.Fatal(err)
		}
	}
	newIDs := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = engine.NewID()
		}
		return ids
	}
	create := func(b *testing.B, ids []string) {
		send(b, func(batch *pgx.Batch) {
			for _, id := range ids {
				batch.Queue(createSQL, id, "f", "queued", true, now, data, trig, now, s.node, s.lease)
			}
		})
	}
	b.Run("create", func(b *testing.B) {
		for i := 0; i < b.N; i += perBatch {
			create(b, newIDs(min(perBatch, b.N-i)))
		}
	})
	b.Run("save", func(b *testing.B) {
		// Rounds of 3 checkpoints of the same runs: running, running, ended.
		for i, round := 0, 0; i < b.N; round++ {
			n := min(perBatch, (b.N-i+2)/3)
			b.StopTimer()
			ids := newIDs(n)
			create(b, ids)
			b.StartTimer()
			for _, pending := range []bool{true, true, false} {
				send(b, func(batch *pgx.Batch) {
					for _, id := range ids {
						batch.Queue(saveSQL, id, "running", pending, data, s.node, s.lease)
					}
				})
			}
			i += 3 * n
		}
	})
}
