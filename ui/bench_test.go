package ui_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngest: a webhook over real TCP on 127.0.0.1 → parsed,
// deduplicated and stored durably (fsynced) → 202, at 1, 16 and 64
// concurrent clients. The flow's one filter ends each run, so every webhook
// also costs the run's final write. Reports webhooks/s and p99 ack latency.
func BenchmarkIngest(b *testing.B) {
	for _, clients := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			h := newHookEnv(b)
			h.flow(`{"id":"ingest","name":"Ingest","trigger":{"type":"webhook","with":{"dedupe":"trigger.body.id"}},"steps":[{"id":"f","type":"filter","when":"trigger.body.amount > 1e9"}]}`)
			body := bytes.Repeat([]byte("x"), 1500)
			tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
			client := &http.Client{Transport: tr}
			var next atomic.Int64
			lat := make([][]time.Duration, clients)
			var failed atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						payload := fmt.Sprintf(`{"id":"evt_%d","amount":%d,"pad":"%s"}`, i, i, body)
						start := time.Now()
						resp, err := client.Post(h.url+"/hooks/ingest", "application/json", bytes.NewReader([]byte(payload)))
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 202 {
							failed.Add(1)
						}
						lat[c] = append(lat[c], time.Since(start))
					}
				}(c)
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d webhooks not acknowledged", n)
			}
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			}
			tr.CloseIdleConnections()
		})
	}
}
