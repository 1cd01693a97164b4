package actions

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
)

var webhookKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "webhook",
		Title:   "Send signed webhook",
		Summary: "POST an event to a URL, signed per Standard Webhooks.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "url", Label: "URL", Type: engine.FieldText, Required: true, Placeholder: "https://example.com/webhooks"},
			{Name: "secret", Label: "Signing secret", Type: engine.FieldSecret, Required: true,
				Placeholder: "{{ secrets.WEBHOOK_SECRET }}",
				Help:        "whsec_ followed by base64 of at least 24 random bytes; the receiver verifies with the same secret."},
			{Name: "body", Label: "Body", Type: engine.FieldJSON, Required: true,
				Help: "The event; an object or list is sent as JSON, text as it is."},
			{Name: "headers", Label: "Headers", Type: engine.FieldMap, Advanced: true, Help: "More headers to send."},
		},
		Example: `{"url":"https://example.com/webhooks","secret":"{{ secrets.WEBHOOK_SECRET }}",` +
			`"body":{"type":"order.paid","data":{"id":"{{ trigger.body.id }}"}}}`,
	},
	New: func() engine.Action { return new(Webhook) },
}

// Webhook POSTs a body signed per Standard Webhooks (webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>") and returns
// {status, id, body}. The webhook-id is derived from the step's idempotency
// key (without the attempt number), so a retry or a re-run after a crash
// sends the same id and receivers can dedupe, as the spec asks.
type Webhook struct {
	// URL receives the POST.
	URL string `json:"url"`
	// Secret is the signing secret, "whsec_<base64>".
	Secret string `json:"secret"`
	// Body is the event: objects and lists are sent as JSON, text as it is.
	Body any `json:"body"`
	// Headers are sent besides the signature headers.
	Headers map[string]string `json:"headers,omitempty"`
}

// Validate checks the URL and the secret's form.
func (w *Webhook) Validate() error {
	if err := checkURL("url", w.URL); err != nil {
		return err
	}
	if w.Secret == "" {
		return errors.New("secret is required")
	}
	if !isTemplate(w.Secret) {
		if _, err := webhookKey(w.Secret); err != nil {
			return err
		}
	}
	if w.Body == nil {
		return errors.New("body is required")
	}
	return nil
}

// webhookKey decodes "whsec_<base64>" (or bare base64) to the HMAC key.
func webhookKey(secret string) ([]byte, error) {
	key, err := secrets.WhsecKey(secret)
	if err != nil {
		return nil, errors.New("secret must be whsec_ followed by base64")
	}
	return key, nil
}

// signWebhook returns the webhook-signature value for id, timestamp and body.
func signWebhook(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookID derives a stable message id (no '.', as the spec asks).
func webhookID(key string) string {
	sum := sha256.Sum256([]byte("hookflow-webhook:" + key))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// Run signs and sends the event.
func (w *Webhook) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := w.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("webhook: %w", err))
	}
	client, err := httpClient(sc)
	if err != nil {
		return nil, err
	}
	key, err := webhookKey(w.Secret)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("webhook: %w", err))
	}
	var body []byte
	if s, ok := w.Body.(string); ok {
		body = []byte(s)
	} else if body, err = json.Marshal(w.Body); err != nil {
		return nil, engine.Permanent(fmt.Errorf("webhook: encode body: %w", err))
	}
	id := webhookID(messageKey(sc))
	ts := now(sc).Unix()
	secrets := []string{w.Secret}
	op := "webhook POST " + redact(w.URL, secrets)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %s", op, redact(err.Error(), secrets)))
	}
	for _, k := range sortedKeys(w.Headers) {
		req.Header.Set(k, w.Headers[k])
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", signWebhook(key, id, ts, body))
	a, err := send(sc, client, req, op, defaultMaxResponse, secrets)
	if a == nil {
		return nil, err
	}
	return map[string]any{"status": a.Status, "id": id, "body": a.Body}, err
}

var (
	_ engine.Action    = (*Webhook)(nil)
	_ engine.Validator = (*Webhook)(nil)
)
