package triggers

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// Form and scheduling provider schemes.
const (
	SchemeTypeform = "typeform"
	SchemeTally    = "tally"
	SchemeWebflow  = "webflow"
	SchemeCalendly = "calendly"
)

var formProviders = map[string]provider{
	SchemeTypeform: {verify: bodyMAC("typeform-signature", "Typeform-Signature", sha256.New, "base64", "sha256="),
		dedupe: func(t *engine.TriggerData) any { return bodyField(t, "event_id") }},
	SchemeTally: {verify: bodyMAC("tally-signature", "Tally-Signature", sha256.New, "base64", ""),
		dedupe: func(t *engine.TriggerData) any { return bodyField(t, "eventId") }},
	SchemeWebflow: {tol: tolOld, verify: verifyWebflow,
		dedupe: func(t *engine.TriggerData) any {
			return joinKey(bodyField(t, "triggerType"), bodyField(t, "payload", "id"))
		}},
	SchemeCalendly: {tol: tolOld, defTol: 3 * time.Minute, verify: verifyCalendly,
		dedupe: func(t *engine.TriggerData) any {
			return joinKey(bodyField(t, "event"), bodyField(t, "payload", "uri"))
		}},
}

// verifyWebflow: x-webflow-signature is hex HMAC-SHA256 of
// "<x-webflow-timestamp>:<body>", the timestamp in milliseconds
// (developers.webflow.com "Working with webhooks" → validating request
// signatures; webflow-js SDK WebhooksClient.verifySignature refuses requests
// older than 5 minutes).
func verifyWebflow(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	hv := in.Headers["x-webflow-signature"]
	if hv == "" {
		return sigErr("missing X-Webflow-Signature header")
	}
	tsv := strings.TrimSpace(in.Headers["x-webflow-timestamp"])
	if tsv == "" {
		return sigErr("missing X-Webflow-Timestamp header")
	}
	ms, err := ParseTimestamp(tsv)
	if err != nil {
		return sigErr("malformed X-Webflow-Timestamp header: not a unix time in milliseconds")
	}
	sig, err := parseOneSig(hv, "", "hex", sha256.Size)
	if err != nil {
		return sigErr("malformed X-Webflow-Signature header: %v", err)
	}
	if err := v.checkTol(tolOld, ms/1000, now); err != nil {
		return err
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, []byte(tsv+":"), in.Raw)
}

// verifyCalendly: Calendly-Webhook-Signature "t=<unix>,v1=<hex>", the hex
// HMAC-SHA256 of "<t>.<body>" keyed with the subscription's signing key
// (developer.calendly.com "Webhook signatures"; its sample refuses requests
// older than 3 minutes).
func verifyCalendly(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	hv := in.Headers["calendly-webhook-signature"]
	if hv == "" {
		return sigErr("missing Calendly-Webhook-Signature header")
	}
	ts, sigs, err := ParseKeyValueSignature(hv, ',', "t", "v1")
	if err != nil {
		return sigErr("malformed Calendly-Webhook-Signature header: %v", err)
	}
	if err := v.checkTol(tolOld, ts, now); err != nil {
		return err
	}
	return matchKeys(sha256.New, keys, sigs, []byte(strconv.FormatInt(ts, 10)+"."), in.Raw)
}
