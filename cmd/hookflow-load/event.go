package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Kinds of webhook the tool sends.
const (
	kindStripe = "stripe" // signed JSON, flow load-stripe
	kindForm   = "form"   // urlencoded HTML form post, flow load-form
)

// flowOf maps a kind to the flow id (and webhook path) that receives it.
var flowOf = map[string]string{kindStripe: "load-stripe", kindForm: "load-form"}

// webhook is one request to send: its event id (carried to the sink by the
// flow), body and headers.
type webhook struct {
	Kind        string
	ID          string
	ContentType string
	Body        []byte
}

// stripeSignature returns the Stripe-Signature header value for body signed
// with secret at unix time t: "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func stripeSignature(secret string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	ts := strconv.FormatInt(t, 10)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// stripePadding fills the event's metadata so that a body is about 2 KB, the
// size of a real payment_intent.succeeded event.
var stripePadding = strings.Repeat("x", 760)

// stripeEvent builds a Stripe-like payment_intent.succeeded event with the
// unique id evt_<prefix>_<seq>. The body is deterministic in its arguments.
func stripeEvent(prefix string, seq int64, created int64) webhook {
	id := fmt.Sprintf("evt_%s_%d", prefix, seq)
	pi := fmt.Sprintf("pi_%s_%d", prefix, seq)
	amount := 1000 + seq%90000
	body := fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2024-06-20","created":%d,`+
		`"data":{"object":{"id":%q,"object":"payment_intent","amount":%d,"amount_capturable":0,`+
		`"amount_received":%d,"application":null,"capture_method":"automatic","client_secret":"%s_secret_loadtest",`+
		`"confirmation_method":"automatic","created":%d,"currency":"usd","customer":"cus_%s_%d",`+
		`"description":"Order #%d","invoice":null,"last_payment_error":null,"latest_charge":"ch_%s_%d",`+
		`"livemode":false,"metadata":{"order_id":"%d","channel":"web","note":%q},"next_action":null,`+
		`"on_behalf_of":null,"payment_method":"pm_%s_%d","payment_method_options":{"card":{"installments":null,`+
		`"mandate_options":null,"network":null,"request_three_d_secure":"automatic"}},"payment_method_types":["card"],`+
		`"receipt_email":"customer%d@example.com","review":null,"setup_future_usage":null,"shipping":null,`+
		`"statement_descriptor":null,"statement_descriptor_suffix":null,"status":"succeeded","transfer_data":null,`+
		`"transfer_group":null}},"livemode":false,"pending_webhooks":1,`+
		`"request":{"id":"req_%s_%d","idempotency_key":"%s-%d"},"type":"payment_intent.succeeded"}`,
		id, created, pi, amount, amount, pi, created, prefix, seq, seq, prefix, seq, seq, stripePadding,
		prefix, seq, seq%1000, prefix, seq, prefix, seq)
	return webhook{Kind: kindStripe, ID: id, ContentType: "application/json", Body: []byte(body)}
}

// formPost builds an HTML contact form post (application/x-www-form-urlencoded)
// with the unique id frm_<prefix>_<seq>.
func formPost(prefix string, seq int64) webhook {
	id := fmt.Sprintf("frm_%s_%d", prefix, seq)
	v := url.Values{}
	v.Set("id", id)
	v.Set("name", fmt.Sprintf("Customer %d", seq))
	v.Set("email", fmt.Sprintf("Customer%d@Example.com", seq%1000))
	v.Set("plan", []string{"free", "pro", "team"}[seq%3])
	v.Set("message", "Hello, I would like to know more about your product & pricing. "+strings.Repeat("Thanks! ", 30))
	v.Set("consent", "on")
	return webhook{Kind: kindForm, ID: id, ContentType: "application/x-www-form-urlencoded", Body: []byte(v.Encode())}
}

// bodyDigest is the hex sha256 of the canonical JSON form of a webhook's
// body as a run stores it in trigger.body: a JSON body re-encoded with sorted
// keys, a form as an object of strings (arrays for repeated fields).
func bodyDigest(contentType string, body []byte) (string, error) {
	var v any
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return "", fmt.Errorf("parse form: %w", err)
		}
		m := make(map[string]any, len(q))
		for k, vs := range q {
			if len(vs) == 1 {
				m[k] = vs[0]
			} else {
				m[k] = vs
			}
		}
		v = m
	} else if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("parse json: %w", err)
	}
	return canonicalDigest(v)
}

// canonicalDigest is the hex sha256 of v encoded as JSON; encoding/json sorts
// map keys, so equal values give equal digests.
func canonicalDigest(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
