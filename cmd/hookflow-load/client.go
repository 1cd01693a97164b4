package main

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// loadConfig says what load to send.
type loadConfig struct {
	Target      string        // base URL, e.g. http://127.0.0.1:8080, or several, comma-separated
	Targets     []string      // Target split (parseTargets); requests go round robin
	Rate        float64       // webhooks per second (open loop); 0: closed loop with Concurrency clients
	Concurrency int           // clients each sending one webhook after another
	Duration    time.Duration // how long to send
	Max         int64         // at most this many webhooks
	FormShare   float64       // share of HTML form posts, 0..1
	Secret      string        // Stripe signing secret
	Prefix      string        // makes event ids unique to this run
	Timeout     time.Duration // per request
	MaxInflight int           // rate mode: requests in flight before the tool counts itself saturated
}

// loadResult is what the clients saw.
type loadResult struct {
	mu       sync.Mutex
	ackLat   []time.Duration
	status   map[string]int // "202", "200", "503", "transport", "saturated" → count
	sent     int
	acked    int            // 2xx
	dups     int            // 200 {"duplicate":true}
	byTarget map[string]int // acked per target (only with several targets)
	start    time.Time
	elapsed  time.Duration
	inflight atomic.Int64
}

// ackAnswer is the part of a webhook's answer the tool reads.
type ackAnswer struct {
	RunID     string `json:"run_id"`
	Duplicate bool   `json:"duplicate"`
}

// loader sends webhooks and records the answers.
type loader struct {
	cfg    loadConfig
	client *fasthttp.Client
	tr     *tracker  // nil: no end-to-end tracking
	rec    *recorder // nil: no record file
	seq    atomic.Int64
	rr     atomic.Uint64 // round robin over cfg.Targets
	res    *loadResult
}

// The tool sends with fasthttp's client, not net/http's: it shares the
// machine with the server it measures, and every CPU microsecond it spends
// per webhook is taken from that server (docs/benchmarks.md, "The load
// tool's own CPU").
func newLoader(cfg loadConfig, tr *tracker, rec *recorder) *loader {
	conns := cfg.Concurrency + cfg.MaxInflight
	return &loader{cfg: cfg, tr: tr, rec: rec,
		client: &fasthttp.Client{MaxConnsPerHost: max(conns, 1), MaxIdleConnDuration: 30 * time.Second,
			MaxConnWaitTimeout: cfg.Timeout, MaxResponseBodySize: 64 << 10, NoDefaultUserAgentHeader: true},
		res: &loadResult{status: map[string]int{}, byTarget: map[string]int{}}}
}

// next builds the next webhook: a share of FormShare are form posts, spread
// evenly, the rest Stripe events.
func (l *loader) next() (webhook, bool) {
	seq := l.seq.Add(1)
	if l.cfg.Max > 0 && seq > l.cfg.Max {
		return webhook{}, false
	}
	if float64(seq%100) < l.cfg.FormShare*100 {
		return formPost(l.cfg.Prefix, seq), true
	}
	return stripeEvent(l.cfg.Prefix, seq, time.Now().Unix()), true
}

// run sends load until the duration ends, Max webhooks are sent or ctx ends.
func (l *loader) run(ctx context.Context) *loadResult {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Duration)
	defer cancel()
	l.res.start = time.Now()
	var wg sync.WaitGroup
	if l.cfg.Rate > 0 {
		l.paced(ctx, &wg)
	} else {
		for range l.cfg.Concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					w, ok := l.next()
					if !ok {
						return
					}
					if !l.send(w, time.Now()) {
						time.Sleep(10 * time.Millisecond) // the server is down: do not spin
					}
				}
			})
		}
	}
	wg.Wait()
	l.res.elapsed = time.Since(l.res.start)
	l.client.CloseIdleConnections()
	return l.res
}

// paced sends at a fixed rate (open loop). Latency counts from the moment a
// webhook was due, so a slow server cannot hide its queueing by slowing the
// tool down (coordinated omission).
func (l *loader) paced(ctx context.Context, wg *sync.WaitGroup) {
	interval := time.Duration(float64(time.Second) / l.cfg.Rate)
	for i := 0; ; i++ {
		due := l.res.start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		w, ok := l.next()
		if !ok {
			return
		}
		if l.res.inflight.Load() >= int64(l.cfg.MaxInflight) {
			l.count("saturated", 0, w, nil)
			continue
		}
		wg.Go(func() { l.send(w, due) })
	}
}

// send posts one webhook and records the answer; false on a transport error.
func (l *loader) send(w webhook, due time.Time) bool {
	l.res.inflight.Add(1)
	defer l.res.inflight.Add(-1)
	if l.tr != nil {
		l.tr.send(w.ID, due)
	}
	target := l.target()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(target + "/hooks/" + flowOf[w.Kind])
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(w.ContentType)
	req.Header.SetUserAgent("hookflow-load")
	if w.Kind == kindStripe {
		req.Header.Set("Stripe-Signature", stripeSignature(l.cfg.Secret, time.Now().Unix(), w.Body))
	}
	req.SetBodyRaw(w.Body)
	if err := l.client.DoTimeout(req, resp, l.cfg.Timeout); err != nil {
		l.count("transport", 0, w, nil)
		return false
	}
	var ans ackAnswer
	lat := time.Since(due)
	code := resp.StatusCode()
	if code/100 == 2 {
		_ = json.Unmarshal(resp.Body(), &ans)
	}
	l.count(strconv.Itoa(code), lat, w, &ans)
	if code/100 == 2 && len(l.cfg.Targets) > 1 {
		l.res.mu.Lock()
		l.res.byTarget[target]++
		l.res.mu.Unlock()
	}
	return true
}

// target picks the next request's base URL: round robin over cfg.Targets
// (cfg.Target when none were parsed).
func (l *loader) target() string {
	if len(l.cfg.Targets) == 0 {
		return l.cfg.Target
	}
	return l.cfg.Targets[(l.rr.Add(1)-1)%uint64(len(l.cfg.Targets))]
}

// count records one answer: status is the HTTP status code or a word for a
// request that got none.
func (l *loader) count(status string, lat time.Duration, w webhook, ans *ackAnswer) {
	ok := len(status) == 3 && status[0] == '2'
	l.res.mu.Lock()
	l.res.sent++
	l.res.status[status]++
	if ok {
		l.res.acked++
		l.res.ackLat = append(l.res.ackLat, lat)
		if ans != nil && ans.Duplicate {
			l.res.dups++
		}
	}
	l.res.mu.Unlock()
	if ok && l.tr != nil {
		l.tr.ack(w.ID)
	}
	if l.rec != nil {
		code, _ := strconv.Atoi(status)
		runID := ""
		if ans != nil {
			runID = ans.RunID
		}
		l.rec.write(w, code, runID)
	}
}
