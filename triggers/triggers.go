// Package triggers holds the kinds that start runs: webhook (verify, parse,
// dedupe, and an optional reconcile poll), schedule, poll and manual. Each
// kind is one file; Register lists them all. Receiving a webhook does no I/O
// (the HTTP server calls in); schedule, poll and reconcile are engine.Starters
// that run in the background and call their APIs through the guarded client.
//
// The webhook handler's sequence, with the status each step's error maps to:
//
//	w := compiled.Trigger.(*triggers.Webhook)
//	w.AllowsMethod(method)                       // false → 405
//	limiters.Allow(flowID, w.RateLimit, now)     // false → 429 + Retry-After
//	len(raw) > w.Limit(globalMax)                // → 413, before inflating
//	raw, err = triggers.Inflate(contentEncoding, raw, w.Limit(globalMax))
//	                                             // ErrTooLarge 413, ErrUnsupported 415, ErrBadBody 400
//	ev, err := w.Receive(inbound, rc)            // ErrSignature 401, ErrBadBody 400, ErrMethod 405
//	sink.Accept(ctx, flowID, ev), then answer per w.RespondMode()
package triggers

import "github.com/hookflow/hookflow/engine"

// Register adds every trigger kind to r.
func Register(r *engine.Registry) {
	r.AddTrigger(webhookKind)
	r.AddTrigger(manualKind)
	r.AddTrigger(scheduleKind)
	r.AddTrigger(pollKind)
}
