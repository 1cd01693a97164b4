package main

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// tracker correlates webhooks with the sink calls their runs make, by the
// event id the flows copy into the call's body.
type tracker struct {
	mu      sync.Mutex
	sent    map[string]time.Time // event id → when its webhook was (to be) sent
	acked   map[string]bool      // event ids answered 2xx
	reached map[string]time.Time // event id → first sink call
	dups    int                  // sink calls for an id already reached (at-least-once retries)
	unknown int                  // sink calls for ids this run never sent
	last    time.Time            // the latest first sink call
}

func newTracker() *tracker {
	return &tracker{sent: map[string]time.Time{}, acked: map[string]bool{}, reached: map[string]time.Time{}}
}

// send records that the webhook for id is sent at t.
func (t *tracker) send(id string, at time.Time) {
	t.mu.Lock()
	t.sent[id] = at
	t.mu.Unlock()
}

// ack records that the webhook for id was answered 2xx.
func (t *tracker) ack(id string) {
	t.mu.Lock()
	t.acked[id] = true
	t.mu.Unlock()
}

// sink records a sink call for id at t.
func (t *tracker) sink(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch _, known := t.sent[id]; {
	case !known:
		t.unknown++
	case !t.reached[id].IsZero():
		t.dups++
	default:
		t.reached[id] = at
		if at.After(t.last) {
			t.last = at
		}
	}
}

// pending counts acknowledged webhooks whose run has not called the sink yet.
func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id := range t.acked {
		if t.reached[id].IsZero() {
			n++
		}
	}
	return n
}

// endToEnd returns, for acknowledged webhooks, the time from send to the
// first sink call, the number still missing, and the latest sink call.
func (t *tracker) endToEnd() (lat []time.Duration, missing, dups, unknown int, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.acked {
		r := t.reached[id]
		if r.IsZero() {
			missing++
			continue
		}
		lat = append(lat, r.Sub(t.sent[id]))
	}
	return lat, missing, t.dups, t.unknown, t.last
}

// sinkServer answers the flows' outgoing http calls on a loopback address.
// It is fasthttp's server, not net/http's: the tool shares the machine with
// the server it measures, and every CPU microsecond it spends per call is
// taken from that server (docs/benchmarks.md, "The load tool's own CPU").
type sinkServer struct {
	srv *fasthttp.Server
	ln  net.Listener
}

// startSink listens on addr and records every call whose JSON body has an id.
func startSink(addr string, tr *tracker) (*sinkServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := func(c *fasthttp.RequestCtx) {
		now := time.Now()
		var msg struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(c.PostBody(), &msg) != nil || msg.ID == "" {
			c.Error(`{"error":"want a JSON body with an id"}`, fasthttp.StatusBadRequest)
			return
		}
		tr.sink(msg.ID, now)
		c.SetContentType("application/json")
		c.SetBodyString(`{"ok":true}`)
	}
	s := &sinkServer{ln: ln, srv: &fasthttp.Server{Handler: h, ReadTimeout: 30 * time.Second,
		MaxRequestBodySize: 1 << 20, NoDefaultServerHeader: true}}
	go func() { _ = s.srv.Serve(ln) }() // ends when Close closes the listener
	return s, nil
}

// Addr is the sink's host:port.
func (s *sinkServer) Addr() string { return s.ln.Addr().String() }

// Close stops the sink (a call still open after 5 s is cut).
func (s *sinkServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.ShutdownWithContext(ctx)
}
