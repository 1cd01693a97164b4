package triggers

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"mime"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// Messaging and support provider schemes.
const (
	SchemeTwilio   = "twilio"
	SchemeIntercom = "intercom"
	SchemeZendesk  = "zendesk"
	SchemeMailgun  = "mailgun"
	SchemeSendGrid = "sendgrid"
)

var messagingProviders = map[string]provider{
	SchemeTwilio: {needsURL: true, verify: verifyTwilio,
		dedupe: func(t *engine.TriggerData) any { return t.Headers["i-twilio-idempotency-token"] }},
	SchemeIntercom: {verify: bodyMAC("x-hub-signature", "X-Hub-Signature", sha1.New, "hex", "sha1="),
		dedupe: func(t *engine.TriggerData) any { return bodyField(t, "id") }},
	SchemeZendesk: {tol: tolOptIn, verify: verifyZendesk,
		dedupe: func(t *engine.TriggerData) any { return t.Headers["x-zendesk-webhook-invocation-id"] }},
	SchemeMailgun: {tol: tolOptIn, verify: verifyMailgun, dedupe: mailgunDedupe},
	SchemeSendGrid: {tol: tolOptIn, checkKey: func(s string) error { _, err := sendgridKey(s); return err },
		verify: verifySendGrid, dedupe: sendgridDedupe},
}

// --- Twilio -----------------------------------------------------------------
//
// X-Twilio-Signature is base64 HMAC-SHA1, keyed with the account's Auth
// Token, of the URL exactly as Twilio called it followed, for form POSTs, by
// each parameter's name and value sorted by name (twilio-python
// RequestValidator.compute_signature; twilio-node webhooks.js
// getExpectedTwilioSignature). A JSON body is signed through the bodySHA256
// query parameter Twilio adds: the URL is signed and the body's SHA-256 must
// equal it (validateRequestWithBody). As the SDKs do, the URL is tried with
// and without its default port. The URL is verify.url, not rebuilt from the
// request, so proxies that rewrite Host or scheme change nothing.

// TwilioSignedData is what Twilio signs: url, then each form parameter's name
// and value, sorted by name, then by value.
func TwilioSignedData(u string, params url.Values) []byte {
	var b strings.Builder
	b.WriteString(u)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	return []byte(b.String())
}

// twilioURLs is u as configured, with its default port added and removed.
func twilioURLs(u string) []string {
	out := []string{u}
	p, err := url.Parse(u)
	if err != nil {
		return out
	}
	def := map[string]string{"https": "443", "http": "80"}[p.Scheme]
	if p.Port() == "" {
		q := *p
		q.Host = p.Host + ":" + def
		out = append(out, q.String())
	} else {
		q := *p
		q.Host = p.Hostname()
		if strings.Contains(q.Host, ":") {
			q.Host = "[" + q.Host + "]"
		}
		out = append(out, q.String())
	}
	return out
}

func verifyTwilio(v *Verify, in *engine.Inbound, keys []string, _ time.Time) error {
	hv := in.Headers["x-twilio-signature"]
	if hv == "" {
		return sigErr("missing X-Twilio-Signature header")
	}
	sig, err := parseOneSig(hv, "", "base64", sha1.Size)
	if err != nil {
		return sigErr("malformed X-Twilio-Signature header: %v", err)
	}
	signedURL, params := v.URL, url.Values{}
	if bs := in.Query["bodySHA256"]; len(bs) > 0 {
		sep := "?"
		if strings.Contains(signedURL, "?") {
			sep = "&"
		}
		signedURL += sep + "bodySHA256=" + url.QueryEscape(bs[0])
		want, err := hex.DecodeString(bs[0])
		sum := sha256.Sum256(in.Raw)
		if err != nil || !hmac.Equal(want, sum[:]) {
			return sigErr("body does not match its bodySHA256")
		}
	} else if mt, _, _ := mime.ParseMediaType(in.Headers["content-type"]); mt == "application/x-www-form-urlencoded" {
		params, err = url.ParseQuery(string(in.Raw))
		if err != nil {
			return sigErr("form body does not parse")
		}
	}
	var expected [][]byte
	for _, u := range twilioURLs(signedURL) {
		data := TwilioSignedData(u, params)
		for _, k := range keys {
			expected = append(expected, mac(sha1.New, []byte(k), data))
		}
	}
	if !anyMatch(expected, [][]byte{sig}) {
		return errNoMatch
	}
	return nil
}

// --- Zendesk ----------------------------------------------------------------

// verifyZendesk: X-Zendesk-Webhook-Signature is base64 HMAC-SHA256 of
// "<X-Zendesk-Webhook-Signature-Timestamp><body>" keyed with the webhook's
// signing secret (developer.zendesk.com "Verifying webhook authenticity").
func verifyZendesk(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	hv := in.Headers["x-zendesk-webhook-signature"]
	if hv == "" {
		return sigErr("missing X-Zendesk-Webhook-Signature header")
	}
	tsv := in.Headers["x-zendesk-webhook-signature-timestamp"]
	if tsv == "" {
		return sigErr("missing X-Zendesk-Webhook-Signature-Timestamp header")
	}
	sig, err := parseOneSig(hv, "", "base64", sha256.Size)
	if err != nil {
		return sigErr("malformed X-Zendesk-Webhook-Signature header: %v", err)
	}
	if v.Tolerance > 0 {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(tsv))
		if err != nil {
			return sigErr("malformed X-Zendesk-Webhook-Signature-Timestamp header: not an RFC 3339 time")
		}
		if err := v.checkTol(tolOptIn, t.Unix(), now); err != nil {
			return err
		}
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, []byte(tsv), in.Raw)
}

// --- Mailgun ----------------------------------------------------------------

// mailgunFields finds timestamp, token and signature in a Mailgun body: the
// "signature" object of a JSON event webhook, or the top-level fields of a
// form or multipart post (inbound routes, legacy webhooks).
func mailgunFields(body any) (ts, token, sig string) {
	m, _ := body.(map[string]any)
	src := m
	if s, ok := m["signature"].(map[string]any); ok {
		src = s
	}
	return engine.Stringify(src["timestamp"]), engine.Stringify(src["token"]), engine.Stringify(src["signature"])
}

// verifyMailgun: the signature is hex HMAC-SHA256 of timestamp + token keyed
// with the HTTP webhook signing key (documentation.mailgun.com "Securing
// webhooks"). The values are in the body, so the body is parsed to find
// them; the run's body is parsed again from the same bytes.
func verifyMailgun(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	body, _, err := ParseBody(in.Headers["content-type"], in.Raw)
	if err != nil {
		return sigErr("body does not parse, so it holds no signature")
	}
	ts, token, hv := mailgunFields(body)
	if ts == "" || token == "" || hv == "" {
		return sigErr("missing signature, timestamp or token in the body")
	}
	sig, err := parseOneSig(hv, "", "hex", sha256.Size)
	if err != nil {
		return sigErr("malformed signature field: %v", err)
	}
	if v.Tolerance > 0 {
		t, err := ParseTimestamp(ts)
		if err != nil {
			return sigErr("malformed timestamp field: %v", err)
		}
		if err := v.checkTol(tolOptIn, t, now); err != nil {
			return err
		}
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, []byte(ts+token))
}

func mailgunDedupe(t *engine.TriggerData) any {
	if id := bodyField(t, "event-data", "id"); id != nil {
		return id
	}
	_, token, _ := mailgunFields(t.Body)
	if token == "" {
		return nil
	}
	return token
}

// --- SendGrid ---------------------------------------------------------------
//
// The Event Webhook signs "<X-Twilio-Email-Event-Webhook-Timestamp><body>"
// with ECDSA P-256 and SHA-256; the signature header is the base64 of the
// ASN.1 signature and the verification key the base64 of the DER public key
// (sendgrid-nodejs packages/eventwebhook/src/eventwebhook.js verifySignature).

func sendgridKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der = b.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("a SendGrid verification key is the base64 public key from Mail Settings → Event Webhook")
		}
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("the SendGrid verification key is not a public key")
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("the SendGrid verification key is not an ECDSA key")
	}
	return ec, nil
}

func verifySendGrid(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	hv := in.Headers["x-twilio-email-event-webhook-signature"]
	if hv == "" {
		return sigErr("missing X-Twilio-Email-Event-Webhook-Signature header")
	}
	tsv := in.Headers["x-twilio-email-event-webhook-timestamp"]
	if tsv == "" {
		return sigErr("missing X-Twilio-Email-Event-Webhook-Timestamp header")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(hv))
	if err != nil {
		return sigErr("malformed X-Twilio-Email-Event-Webhook-Signature header: not base64")
	}
	if v.Tolerance > 0 {
		ts, err := ParseTimestamp(tsv)
		if err != nil {
			return sigErr("malformed X-Twilio-Email-Event-Webhook-Timestamp header: %v", err)
		}
		if err := v.checkTol(tolOptIn, ts, now); err != nil {
			return err
		}
	}
	h := sha256.New()
	h.Write([]byte(tsv))
	h.Write(in.Raw)
	digest := h.Sum(nil)
	ok := false
	for _, k := range keys {
		pub, err := sendgridKey(k)
		if err != nil {
			return sigErr("%v", err)
		}
		ok = ecdsa.VerifyASN1(pub, digest, sig) || ok
	}
	if !ok {
		return errNoMatch
	}
	return nil
}

// sendgridDedupe joins the sg_event_id of every event in the batch.
func sendgridDedupe(t *engine.TriggerData) any {
	list, ok := t.Body.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		id := engine.Stringify(m["sg_event_id"])
		if id == "" {
			return nil
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ",")
}
