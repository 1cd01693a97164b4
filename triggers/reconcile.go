package triggers

import (
	"context"
	"fmt"

	"github.com/hookflow/hookflow/engine"
)

// reconcileField describes a webhook's `reconcile` block.
var reconcileField = engine.Field{Name: "reconcile", Label: "Reconcile", Type: engine.FieldObject, Advanced: true,
	Help: "Catch the events the sender never delivered: call its list API every so often and start a run for each event " +
		"whose key no webhook brought (within the dedupe window). Such runs have trigger.reconciled = true; " +
		"a webhook arriving later for the same key is answered as a duplicate. The key must match the webhook's dedupe key.",
	Fields: append(pollFields("item.id",
		"An expression over items (every page of the cycle) and poll, evaluated once per cycle: the value is kept with the flow "+
			"and is poll.cursor in the next cycle's request, e.g. max(map(items, .created)) for Stripe's created[gte]. nil keeps the previous cursor."),
		engine.Field{Name: "body", Label: "Run body", Type: engine.FieldExpression, Placeholder: "item",
			Help: "An expression over item building the trigger.body of a reconciled run, so that it looks like the webhook's body. Default: the item itself."}),
}

// Reconcile, inside a webhook's `with`, calls the sender's list API every
// Every and starts a run for each event no webhook brought: the safety net
// for providers that drop or give up on deliveries (Stripe's Events API,
// Shopify's and GitHub's REST lists). Its keys share the webhook's dedupe key
// space: an item whose key a webhook already brought (within dedupe_window)
// is skipped, and a webhook arriving after its item was reconciled is a
// duplicate (200).
type Reconcile struct {
	// Every is how often the list is read, at least 10s. The first cycle is
	// Every after the flow is saved or the server starts.
	Every engine.Duration `json:"every"`
	// Request is the list call: the http action's fields. Its texts are
	// templates over secrets and poll (cursor, started_at, started_unix),
	// e.g. "query": {"created[gte]": "{{ poll.cursor ?? poll.started_unix }}"}
	// so that the first cycle begins when reconcile was first saved.
	Request Request `json:"request"`
	// Items is an expression over response ({status, headers, body, links})
	// giving one page's events, e.g. response.body.data.
	Items string `json:"items"`
	// Key is an expression over item giving the same key the webhook's
	// dedupe gives for that event (for Stripe: item.id, the event id).
	Key string `json:"key"`
	// Next gives the next page, as in poll: nil ends, an object is merged
	// into the query, a text is the next page's URL on the same host.
	Next string `json:"next,omitempty"`
	// Cursor, evaluated once per cycle over items, is poll.cursor in the
	// next cycle; nil keeps the previous value.
	Cursor string `json:"cursor,omitempty"`
	// Body is an expression over item building the reconciled run's
	// trigger.body (default: the item), so that it has the webhook's shape.
	Body string `json:"body,omitempty"`
	// MaxPages bounds the pages one cycle reads (default 100, at most 1000).
	MaxPages int `json:"max_pages,omitempty"`

	prog *poller
}

// compileReconcile checks and compiles a webhook's reconcile block (nil:
// nothing to do); paths start with "reconcile.".
func compileReconcile(r *Reconcile, ps *engine.Problems) {
	if r == nil {
		return
	}
	r.prog = compilePoller("reconcile", "reconcile.", r.Every, &r.Request, r.Items, r.Key, r.Next, r.Cursor, r.Body, r.MaxPages, ps)
}

// Start runs the webhook's reconcile cycles until ctx ends (engine.Starter);
// without a reconcile block it returns nil at once.
func (w *Webhook) Start(ctx context.Context, sc *engine.StartContext) error {
	if w.Reconcile == nil {
		return nil
	}
	if ps := w.Compile(); len(ps) > 0 {
		return fmt.Errorf("webhook settings: %w", ps.Err())
	}
	return w.Reconcile.prog.loop(ctx, sc, w.RunReconcile)
}

// RunReconcile runs one reconcile cycle: it reads every page of the list
// and starts a run for each item whose key is not recorded, with
// trigger.type "webhook" and trigger.reconciled true. It returns how many
// runs it started.
func (w *Webhook) RunReconcile(ctx context.Context, sc *engine.StartContext) (int, error) {
	if w.Reconcile == nil {
		return 0, fmt.Errorf("webhook has no reconcile settings")
	}
	if ps := w.Compile(); len(ps) > 0 {
		return 0, fmt.Errorf("webhook settings: %w", ps.Err())
	}
	window := DefaultDedupeWindow
	if w.DedupeWindow > 0 {
		window = w.DedupeWindow.D()
	}
	p := w.Reconcile.prog
	return p.cycle(ctx, sc, func(ctx context.Context, f *fetched) (int, error) {
		return f.start(ctx, sc, func(item any, key string) (*engine.Event, error) {
			body := item
			if p.body != nil {
				v, err := p.body.Eval(map[string]any{"item": item, "poll": f.env})
				if err != nil {
					return nil, fmt.Errorf("body: %w", err)
				}
				body = v
			}
			return &engine.Event{
				Trigger: engine.TriggerData{Type: "webhook", Reconciled: true, Body: body,
					Headers: map[string]string{}, Query: map[string]any{}, Files: []engine.File{},
					ReceivedAt: clockOf(sc).now().UTC()},
				DedupeKey:    key,
				DedupeWindow: window,
			}, nil
		})
	})
}

var _ engine.Starter = (*Webhook)(nil)
