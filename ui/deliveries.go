package ui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// Deliveries are diagnostics, not runs (DESIGN §8): the webhook handler hands
// a few copied bytes to a bounded queue without waiting, and one background
// writer turns them into records (headers parsed and masked, the error's text
// redacted), writes them in batches and logs refused requests, rate-limited.
// When the queue is full a delivery is dropped and counted
// (hookflow_deliveries_dropped_total): an accepted webhook never waits for
// its delivery record, and a flood of refused requests costs at most the
// queue and the per-flow bound on disk.

// Defaults for the per-flow bound (SPEC §5).
const (
	DefaultDeliveryKeep   = 1000
	DefaultDeliveryMaxAge = 7 * 24 * time.Hour
)

const (
	deliveryQueue      = 4096
	deliveryBatch      = 512
	deliveryFlushEvery = 50 * time.Millisecond
	deliveryPruneEvery = time.Hour
	// refusedLogBurst refused requests per flow are logged per refusedLogWindow.
	refusedLogBurst  = 5
	refusedLogWindow = 10 * time.Second
)

// pendingDelivery is what the webhook handler hands over: copies, no parsing.
type pendingDelivery struct {
	flowID, method, path, runID, remote string
	status                              int
	outcome                             engine.DeliveryOutcome
	err                                 error
	size                                int
	header                              []byte // the raw header block, "Name: value\r\n" lines
	mask                                string // the flow's own credential header (hmac, token), lower case
	at                                  time.Time
}

// deliveryRecorder is the bounded queue and its background writer.
type deliveryRecorder struct {
	store   engine.DeliveryStore
	keep    int
	maxAge  time.Duration
	reason  func(err error, code int) string
	logf    func(format string, args ...any)
	q       chan *pendingDelivery
	dropped atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	// written counts stored deliveries (tests wait on it).
	written atomic.Uint64
	logs    map[string]*logWindow // only the writer goroutine touches it
	budget  map[string]*refusedBudget
}

// refusedBudget caps the refused deliveries recorded per flow: a bucket of
// keep tokens refilled at keep per refusedRefill. Beyond it refused requests
// are counted as dropped, so a flood costs the writer (and the store's
// commits, shared with accepted webhooks) a bounded amount of work; the
// bucket holds a whole bound's worth, so short bursts are all on record.
type refusedBudget struct {
	tokens float64
	last   time.Time
}

const refusedRefill = 10 * time.Second

// allowRefused takes a token from the flow's budget.
func (r *deliveryRecorder) allowRefused(flowID string, now time.Time) bool {
	b := r.budget[flowID]
	if b == nil {
		if len(r.budget) > 10000 {
			clear(r.budget)
		}
		b = &refusedBudget{tokens: float64(r.keep), last: now}
		r.budget[flowID] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(r.keep), b.tokens+float64(r.keep)*d.Seconds()/refusedRefill.Seconds())
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// logWindow rate-limits refused-request log lines of one flow.
type logWindow struct {
	start      time.Time
	n, skipped int
}

func newDeliveryRecorder(st engine.DeliveryStore, keep int, maxAge time.Duration, reason func(error, int) string, logf func(string, ...any)) *deliveryRecorder {
	r := &deliveryRecorder{store: st, keep: keep, maxAge: maxAge, reason: reason, logf: logf,
		q: make(chan *pendingDelivery, deliveryQueue), stop: make(chan struct{}), done: make(chan struct{}),
		logs: map[string]*logWindow{}, budget: map[string]*refusedBudget{}}
	go r.run()
	return r
}

// record enqueues a delivery without ever blocking: a full queue drops it.
func (r *deliveryRecorder) record(p *pendingDelivery) {
	select {
	case r.q <- p:
	default:
		r.dropped.Add(1)
	}
}

// close writes what is queued and stops the writer.
func (r *deliveryRecorder) close() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

func (r *deliveryRecorder) run() {
	defer close(r.done)
	prune := time.NewTicker(deliveryPruneEvery)
	defer prune.Stop()
	r.prune()
	batch := make([]*pendingDelivery, 0, deliveryBatch)
	for {
		select {
		case p := <-r.q:
			batch = append(batch[:0], p)
			// Gather what arrives within deliveryFlushEvery into one commit.
			t := time.NewTimer(deliveryFlushEvery)
		gather:
			for len(batch) < deliveryBatch {
				select {
				case p := <-r.q:
					batch = append(batch, p)
				case <-t.C:
					break gather
				case <-r.stop:
					break gather
				}
			}
			t.Stop()
			r.write(batch)
			clear(batch)
		case <-prune.C:
			r.prune()
		case <-r.stop:
			for {
				batch = batch[:0]
				for len(batch) < deliveryBatch {
					select {
					case p := <-r.q:
						batch = append(batch, p)
						continue
					default:
					}
					break
				}
				if len(batch) == 0 {
					return
				}
				r.write(batch)
			}
		}
	}
}

func (r *deliveryRecorder) prune() {
	if _, err := r.store.PruneDeliveries(context.Background(), r.keep, r.cutoff()); err != nil {
		r.logf("deliveries: prune: %v", err)
	}
}

func (r *deliveryRecorder) cutoff() time.Time {
	if r.maxAge <= 0 {
		return time.Time{}
	}
	return time.Now().Add(-r.maxAge)
}

// write turns a batch into records, logs the refused ones and stores them.
func (r *deliveryRecorder) write(batch []*pendingDelivery) {
	ds := make([]*engine.Delivery, 0, len(batch))
	for _, p := range batch {
		if p.err != nil {
			r.logRefused(p)
			if !r.allowRefused(p.flowID, p.at) {
				r.dropped.Add(1)
				continue
			}
		}
		d := &engine.Delivery{ID: engine.NewID(), FlowID: p.flowID, ReceivedAt: p.at, Method: p.method,
			Path: p.path, Status: p.status, Outcome: p.outcome, RunID: p.runID, Size: p.size,
			Headers: maskedHeaders(p.header, p.mask)}
		if p.err != nil {
			d.Reason = r.reason(p.err, p.status)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return
	}
	if err := r.store.AddDeliveries(context.Background(), ds, r.keep, r.cutoff()); err != nil {
		r.dropped.Add(uint64(len(ds)))
		r.logf("deliveries: %d not recorded: %v", len(ds), err)
		return
	}
	r.written.Add(uint64(len(ds)))
}

// logRefused logs one line per refused request, at most refusedLogBurst per
// flow per refusedLogWindow; the next line says how many were not logged.
func (r *deliveryRecorder) logRefused(p *pendingDelivery) {
	w := r.logs[p.flowID]
	if w == nil || p.at.Sub(w.start) >= refusedLogWindow {
		skipped := 0
		if w != nil {
			skipped = w.skipped
		}
		w = &logWindow{start: p.at}
		r.logs[p.flowID] = w
		if skipped > 0 {
			r.logf("webhook %s: %d more refused requests were not logged", p.flowID, skipped)
		}
		if len(r.logs) > 10000 { // flows come and go: forget old windows
			for id, lw := range r.logs {
				if p.at.Sub(lw.start) >= refusedLogWindow && lw.skipped == 0 {
					delete(r.logs, id)
				}
			}
		}
	}
	if w.n >= refusedLogBurst {
		w.skipped++
		return
	}
	w.n++
	r.logf("webhook %s refused: %s %d from %s: %s", p.flowID, p.method, p.status, p.remote, r.reason(p.err, p.status))
}

// maskedHeaders parses a raw header block into lower-case names and values,
// with the values of signature and credential headers replaced by a note
// of their length: no part of a signature appears.
func maskedHeaders(raw []byte, extra string) map[string]string {
	h := map[string]string{}
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r")
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name := strings.ToLower(string(bytes.TrimSpace(line[:i])))
		value := string(bytes.TrimSpace(line[i+1:]))
		if old, ok := h[name]; ok {
			value = old + ", " + value
		}
		h[name] = value
	}
	for name, v := range h {
		if name == extra || secretHeader(name) {
			h[name] = fmt.Sprintf("[masked, %d bytes]", len(v))
		}
	}
	return h
}

// secretHeader reports whether a header carries a signature or credential.
func secretHeader(name string) bool {
	for _, w := range []string{"signature", "authorization", "token", "secret", "hmac", "api-key", "apikey", "password", "cookie", "-sig"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// droppedCollector exposes the recorder's drop count on /metrics.
func (r *deliveryRecorder) collector() prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "hookflow_deliveries_dropped_total",
		Help: "Delivery records not kept: their queue was full, a flow's refused requests came faster than its bound per 10 s, or the store refused them."},
		func() float64 { return float64(r.dropped.Load()) })
}

// recordDelivery hands the request's delivery to the recorder: a few copies
// and a non-blocking send, nothing more on the answer's path.
func (s *Server) recordDelivery(c *fiber.Ctx, flowID string, code int, res *hookResult, refusal error) {
	if s.deliveries == nil {
		return
	}
	p := &pendingDelivery{flowID: flowID, method: c.Method(), runID: res.runID, status: code,
		size: len(c.Request().Body()), mask: res.mask, at: time.Now().UTC(), remote: c.IP()}
	if rest := c.Params("*"); rest != "" {
		p.path = "/" + rest
	}
	switch {
	case refusal != nil:
		p.outcome, p.err = engine.DeliveryRefused, refusal
	case res.dup:
		p.outcome = engine.DeliveryDuplicate
	case res.captured:
		p.outcome = engine.DeliveryCaptured
	default:
		p.outcome = engine.DeliveryRun
	}
	if raw := c.Request().Header.RawHeaders(); len(raw) > 0 {
		p.header = append([]byte(nil), raw...)
	} else {
		p.header = append([]byte(nil), c.Request().Header.Header()...)
	}
	s.deliveries.record(p)
}

// startDeliveries starts the recorder when the store keeps deliveries.
func (s *Server) startDeliveries() {
	st, ok := s.store.(engine.DeliveryStore)
	if !ok || s.DeliveryKeep < 0 {
		return
	}
	if s.DeliveryKeep <= 0 {
		s.DeliveryKeep = DefaultDeliveryKeep
	}
	if s.DeliveryMaxAge <= 0 {
		s.DeliveryMaxAge = DefaultDeliveryMaxAge
	}
	reason := func(err error, code int) string { return errorText(s.redacted(err), code) }
	s.deliveries = newDeliveryRecorder(st, s.DeliveryKeep, s.DeliveryMaxAge, reason, s.Logf)
	// A second server on the same Metrics (tests) keeps the first one's counter.
	_ = s.Metrics.reg.Register(s.deliveries.collector())
}
