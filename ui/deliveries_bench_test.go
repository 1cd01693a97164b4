package ui_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/ui"
)

// BenchmarkIngestDuringRefusedFlood: valid webhooks (16 clients, fsynced
// runs) while 4 other clients send unsigned requests to a verified flow as
// fast as they are refused. Compares p99 ack latency of the valid ones with
// no flood, with the flood and delivery recording off, and with the flood
// and recording on: recording must not be what slows accepted webhooks.
func BenchmarkIngestDuringRefusedFlood(b *testing.B) {
	cases := []struct {
		name          string
		flood, record bool
	}{
		{"no-flood", false, true},
		{"flood/record=off", true, false},
		{"flood/record=on", true, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			h := newHookEnv(b, func(d *ui.Deps) {
				if !tc.record {
					d.DeliveryKeep = -1
				}
			})
			h.flow(`{"id":"ingest","name":"Ingest","trigger":{"type":"webhook","with":{"dedupe":"trigger.body.id"}},"steps":[{"id":"f","type":"filter","when":"trigger.body.amount > 1e9"}]}`)
			h.flow(`{"id":"signed","name":"Signed","trigger":{"type":"webhook","with":{"verify":{"scheme":"stripe","secret":"whsec_x"}}},"steps":[]}`)
			const clients, flooders = 16, 4
			tr := &http.Transport{MaxIdleConnsPerHost: clients + flooders}
			client := &http.Client{Transport: tr}
			stop := make(chan struct{})
			var floodWG sync.WaitGroup
			var refused atomic.Int64
			if tc.flood {
				for range flooders {
					floodWG.Add(1)
					go func() {
						defer floodWG.Done()
						for {
							select {
							case <-stop:
								return
							default:
							}
							resp, err := client.Post(h.url+"/hooks/signed", "application/json", strings.NewReader(`{"id":"evt"}`))
							if err != nil {
								continue
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							refused.Add(1)
						}
					}()
				}
			}
			pad := bytes.Repeat([]byte("x"), 1500)
			var next, failed atomic.Int64
			lat := make([][]time.Duration, clients)
			b.ResetTimer()
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						payload := fmt.Sprintf(`{"id":"evt_%d","amount":%d,"pad":"%s"}`, i, i, pad)
						start := time.Now()
						resp, err := client.Post(h.url+"/hooks/ingest", "application/json", strings.NewReader(payload))
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
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(stop)
			floodWG.Wait()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d webhooks not acknowledged", n)
			}
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
			b.ReportMetric(float64(refused.Load())/b.Elapsed().Seconds(), "refused/s")
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			}
			tr.CloseIdleConnections()
		})
	}
}
