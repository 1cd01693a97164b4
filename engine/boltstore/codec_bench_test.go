package boltstore

import (
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// stripeEvent is a Stripe-like event of the load tool's size (669 bytes).
const stripeEvent = `{"id":"evt_3PqLr2Ab7Cd9Ef1Gh2Ij3Kl4","object":"event","api_version":"2024-06-20",` +
	`"created":1733312345,"data":{"object":{"id":"pi_3PqLr2Ab7Cd9Ef1Gh2Ij3Kl4","object":"payment_intent",` +
	`"amount":4200,"amount_received":4200,"currency":"eur","customer":"cus_QhY7a8b9c0d1e2",` +
	`"description":"Order 12345","metadata":{"order_id":"12345","channel":"web"},` +
	`"payment_method":"pm_1PqLr2Ab7Cd9Ef1Gh2Ij3Kl4","status":"succeeded","receipt_email":"buyer@example.com",` +
	`"latest_charge":"ch_3PqLr2Ab7Cd9Ef1Gh2Ij3Kl4"}},"livemode":false,"pending_webhooks":1,` +
	`"request":{"id":"req_a1b2c3d4e5f6g7","idempotency_key":"4f1c2d3e-5a6b-7c8d-9e0f-a1b2c3d4e5f6"},` +
	`"type":"payment_intent.succeeded"}`

// benchTrigger is what ingest stores for a Stripe event: the decoded body
// and its JSON as it arrived.
func benchTrigger(b *testing.B) engine.TriggerData {
	body, err := engine.DecodeJSON([]byte(stripeEvent))
	if err != nil {
		b.Fatal(err)
	}
	return engine.TriggerData{Type: "webhook", Method: "POST", Path: "/hooks/load-stripe",
		Headers: map[string]string{"content-type": "application/json", "stripe-signature": "t=1733312345,v1=0123456789abcdef",
			"user-agent": "hookflow-load"},
		Query: map[string]any{}, Body: body, Raw: stripeEvent, BodyJSON: []byte(stripeEvent),
		ReceivedAt: time.Now().UTC()}
}

// BenchmarkCodec measures the run codec's hot paths on one Stripe event:
// the trigger written at ingest and read back by a worker that reloads a
// queued run, and a finished two-step run's checkpoint.
func BenchmarkCodec(b *testing.B) {
	trig := benchTrigger(b)
	tv, err := encodeTrigger(&trig)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	run := &engine.Run{ID: "r1", FlowID: "load-stripe", FlowVersion: 1, Status: engine.RunSucceeded, Trigger: trig,
		CreatedAt: now, StartedAt: &now, FinishedAt: &now,
		Steps: []*engine.StepRun{
			{ID: "succeeded", Type: "filter", Status: engine.StepSucceeded, Attempts: 1, StartedAt: &now, FinishedAt: &now,
				Output: map[string]any{"passed": true}},
			{ID: "notify", Type: "http", Status: engine.StepSucceeded, Attempts: 1, StartedAt: &now, FinishedAt: &now,
				Input:  map[string]any{"method": "POST", "url": "http://127.0.0.1:1/sink/stripe", "body": map[string]any{"id": "evt_1", "amount": "4200"}},
				Output: map[string]any{"status": 200, "headers": map[string]any{"content-type": "text/plain"}, "body": "ok"}},
		}}
	rv, err := encodeRun(run)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode-trigger", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeTrigger(&trig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-trigger", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t engine.TriggerData
			if err := decodeTrigger(tv, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeRun(run); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := decodeRunRecord([]byte("r1"), rv); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeIndex(run); err != nil {
				b.Fatal(err)
			}
		}
	})
}
