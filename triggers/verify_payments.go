package triggers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/netguard"
)

// Payment provider schemes.
const (
	SchemePayPal       = "paypal"
	SchemePaddle       = "paddle"
	SchemeSquare       = "square"
	SchemeRazorpay     = "razorpay"
	SchemeLemonSqueezy = "lemonsqueezy"
	SchemeAdyen        = "adyen"
	SchemeBraintree    = "braintree"
)

var paymentProviders = map[string]provider{
	SchemePayPal: {verify: verifyPayPal, dedupe: func(t *engine.TriggerData) any { return bodyField(t, "id") }},
	SchemePaddle: {tol: tolOld, verify: verifyPaddle, dedupe: func(t *engine.TriggerData) any { return bodyField(t, "event_id") }},
	SchemeSquare: {needsURL: true, verify: verifySquare, dedupe: func(t *engine.TriggerData) any { return bodyField(t, "event_id") }},
	SchemeRazorpay: {verify: bodyMAC("x-razorpay-signature", "X-Razorpay-Signature", sha256.New, "hex", ""),
		dedupe: func(t *engine.TriggerData) any { return t.Headers["x-razorpay-event-id"] }},
	SchemeLemonSqueezy: {verify: bodyMAC("x-signature", "X-Signature", sha256.New, "hex", ""),
		dedupe: func(t *engine.TriggerData) any {
			return joinKey(bodyField(t, "meta", "event_name"), bodyField(t, "data", "id"), bodyField(t, "data", "attributes", "updated_at"))
		}},
	SchemeAdyen:     {checkKey: func(s string) error { _, err := adyenKey(s); return err }, verify: verifyAdyen, dedupe: adyenDedupe},
	SchemeBraintree: {verify: verifyBraintree, dedupe: func(t *engine.TriggerData) any { return bodyField(t, "bt_payload") }},
}

// --- PayPal -----------------------------------------------------------------
//
// PayPal signs "<transmission id>|<transmission time>|<webhook id>|<crc32 of
// the body, decimal>" with SHA256withRSA; the certificate is at
// PAYPAL-CERT-URL. Hookflow verifies offline, as PayPal's REST SDKs'
// WebhookEvent.verify did: the certificate is fetched once per URL, only
// from PayPal's API hosts, through the SSRF guard, its chain checked against
// the system roots and its subject checked to be PayPal's message
// verification certificate, then cached until it expires. The secret is the
// webhook's id (it is what binds a delivery to this endpoint). The
// alternative, PayPal's verify-webhook-signature API, needs an OAuth
// connection and a PayPal round trip on every delivery, on the path that
// must answer fast; the certificate costs one fetch per certificate.

// paypalHosts are the hosts a PAYPAL-CERT-URL may name.
var paypalHosts = []string{"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}

// paypalCertPath is the path every PayPal certificate URL starts with.
const paypalCertPath = "/v1/notifications/certs/"

// certSource fetches, checks and caches signing certificates.
type certSource struct {
	hosts  []string
	client *http.Client
	roots  *x509.CertPool // nil: the system roots
	// names are the accepted leaf subject common names.
	names   []string
	timeout time.Duration

	mu     sync.Mutex
	fetch  sync.Mutex // one fetch at a time: certificates change about once a year
	cache  map[string]*cachedCert
	failed map[string]time.Time // URL → when a fetch failed (not retried for a minute)
}

type cachedCert struct {
	key      *rsa.PublicKey
	notAfter time.Time
}

const maxCertBytes = 64 << 10

func newCertSource(hosts, names []string, guard *netguard.Guard) *certSource {
	c := guard.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("certificate URL redirected") }
	return &certSource{hosts: hosts, names: names, client: c, timeout: 5 * time.Second,
		cache: map[string]*cachedCert{}, failed: map[string]time.Time{}}
}

// paypalCerts is the production source: PayPal's hosts, public addresses only.
var paypalCerts = newCertSource(paypalHosts,
	[]string{"messageverificationcerts.paypal.com", "messageverificationcerts.sandbox.paypal.com"}, netguard.New(nil))

// checkURL refuses certificate URLs that are not https on one of the hosts.
func (cs *certSource) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("not an https URL")
	}
	ok := false
	for _, h := range cs.hosts {
		ok = ok || strings.EqualFold(u.Host, h)
	}
	if !ok {
		return fmt.Errorf("host %q is not PayPal's", abbrev(u.Host, 60))
	}
	if !strings.HasPrefix(u.Path, paypalCertPath) || strings.Contains(u.Path, "..") {
		return errors.New("not a certificate path")
	}
	return nil
}

// key returns the public key of the certificate at raw, fetching and
// checking it on first use.
func (cs *certSource) key(raw string, now time.Time) (*rsa.PublicKey, error) {
	if err := cs.checkURL(raw); err != nil {
		return nil, err
	}
	cs.mu.Lock()
	c := cs.cache[raw]
	failedAt, failed := cs.failed[raw]
	cs.mu.Unlock()
	if c != nil && now.Before(c.notAfter) {
		return c.key, nil
	}
	if failed && now.Sub(failedAt) < time.Minute {
		return nil, errors.New("certificate fetch failed less than a minute ago")
	}
	cs.fetch.Lock()
	defer cs.fetch.Unlock()
	cs.mu.Lock()
	c = cs.cache[raw]
	cs.mu.Unlock()
	if c != nil && now.Before(c.notAfter) {
		return c.key, nil
	}
	c, err := cs.load(raw, now)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if err != nil {
		if len(cs.failed) > 256 {
			clear(cs.failed)
		}
		cs.failed[raw] = now
		return nil, err
	}
	if len(cs.cache) > 64 {
		clear(cs.cache)
	}
	cs.cache[raw] = c
	delete(cs.failed, raw)
	return c.key, nil
}

func (cs *certSource) load(raw string, now time.Time) (*cachedCert, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cs.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cs.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch certificate: %v", engine.OneLine(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch certificate: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch certificate: %v", err)
	}
	if len(data) > maxCertBytes {
		return nil, errors.New("certificate file over 64 KiB")
	}
	return cs.parse(data, now)
}

// parse reads a PEM bundle (leaf first, then intermediates) and checks it.
func (cs *certSource) parse(data []byte, now time.Time) (*cachedCert, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, errors.New("certificate does not parse")
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: cs.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("certificate chain: %v", engine.OneLine(err))
	}
	ok := false
	for _, n := range cs.names {
		ok = ok || leaf.Subject.CommonName == n
	}
	if !ok {
		return nil, fmt.Errorf("certificate is for %q, not PayPal's message verification", abbrev(leaf.Subject.CommonName, 60))
	}
	key, isRSA := leaf.PublicKey.(*rsa.PublicKey)
	if !isRSA {
		return nil, errors.New("certificate key is not RSA")
	}
	return &cachedCert{key: key, notAfter: leaf.NotAfter}, nil
}

// PayPalMessage is what PayPal signs for a delivery to the webhook with id webhookID.
func PayPalMessage(transmissionID, transmissionTime, webhookID string, body []byte) []byte {
	return []byte(transmissionID + "|" + transmissionTime + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
}

func verifyPayPal(_ *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	return paypalCerts.verify(in, keys, now)
}

func (cs *certSource) verify(in *engine.Inbound, keys []string, now time.Time) error {
	h := in.Headers
	for _, n := range []string{"paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig", "paypal-cert-url", "paypal-auth-algo"} {
		if h[n] == "" {
			return sigErr("missing %s header", strings.ToUpper(n))
		}
	}
	if algo := h["paypal-auth-algo"]; algo != "SHA256withRSA" {
		return sigErr("malformed PAYPAL-AUTH-ALGO header: %q is not SHA256withRSA", abbrev(algo, 30))
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h["paypal-transmission-sig"]))
	if err != nil {
		return sigErr("malformed PAYPAL-TRANSMISSION-SIG header: not base64")
	}
	key, err := cs.key(strings.TrimSpace(h["paypal-cert-url"]), now)
	if err != nil {
		return sigErr("PAYPAL-CERT-URL: %v", err)
	}
	ok := false
	for _, webhookID := range keys {
		sum := sha256.Sum256(PayPalMessage(h["paypal-transmission-id"], h["paypal-transmission-time"], webhookID, in.Raw))
		ok = rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil || ok
	}
	if !ok {
		return errNoMatch
	}
	return nil
}

// --- Paddle Billing ---------------------------------------------------------

// ParsePaddleSignature reads "ts=<unix>;h1=<hex>[;h1=<hex>…]".
func ParsePaddleSignature(h string) (int64, [][]byte, error) {
	return ParseKeyValueSignature(h, ';', "ts", "h1")
}

func verifyPaddle(v *Verify, in *engine.Inbound, keys []string, now time.Time) error {
	hv := in.Headers["paddle-signature"]
	if hv == "" {
		return sigErr("missing Paddle-Signature header")
	}
	ts, sigs, err := ParsePaddleSignature(hv)
	if err != nil {
		return sigErr("malformed Paddle-Signature header: %v", err)
	}
	if err := v.checkTol(tolOld, ts, now); err != nil {
		return err
	}
	return matchKeys(sha256.New, keys, sigs, []byte(strconv.FormatInt(ts, 10)+":"), in.Raw)
}

// --- Square -----------------------------------------------------------------

func verifySquare(v *Verify, in *engine.Inbound, keys []string, _ time.Time) error {
	hv := in.Headers["x-square-hmacsha256-signature"]
	if hv == "" {
		return sigErr("missing X-Square-Hmacsha256-Signature header")
	}
	sig, err := parseOneSig(hv, "", "base64", sha256.Size)
	if err != nil {
		return sigErr("malformed X-Square-Hmacsha256-Signature header: %v", err)
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, []byte(v.URL), in.Raw)
}

// --- Adyen ------------------------------------------------------------------
//
// Adyen signs each notification item, not the body: HMAC-SHA256 keyed with
// the hex-decoded HMAC key over "pspReference:originalReference:
// merchantAccountCode:merchantReference:value:currency:eventCode:success",
// base64 in additionalData.hmacSignature. Every item must match.

func adyenKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) == 0 {
		return nil, errors.New("an Adyen HMAC key is hexadecimal (Customer Area → Webhooks → HMAC key)")
	}
	return b, nil
}

type adyenItem struct {
	PSPReference        string `json:"pspReference"`
	OriginalReference   string `json:"originalReference"`
	MerchantAccountCode string `json:"merchantAccountCode"`
	MerchantReference   string `json:"merchantReference"`
	Amount              struct {
		Value    json.Number `json:"value"`
		Currency string      `json:"currency"`
	} `json:"amount"`
	EventCode      string `json:"eventCode"`
	Success        string `json:"success"`
	AdditionalData struct {
		HMACSignature string `json:"hmacSignature"`
	} `json:"additionalData"`
}

// AdyenSigned is the string Adyen signs for one notification item.
func (it *adyenItem) signed() []byte {
	return []byte(strings.Join([]string{it.PSPReference, it.OriginalReference, it.MerchantAccountCode, it.MerchantReference,
		it.Amount.Value.String(), it.Amount.Currency, it.EventCode, it.Success}, ":"))
}

func adyenItems(raw []byte) ([]adyenItem, error) {
	var n struct {
		NotificationItems []struct {
			Item *adyenItem `json:"NotificationRequestItem"`
		} `json:"notificationItems"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&n); err != nil {
		return nil, errors.New("body is not an Adyen notification")
	}
	if len(n.NotificationItems) == 0 || len(n.NotificationItems) > 1000 {
		return nil, errors.New("no notificationItems")
	}
	out := make([]adyenItem, 0, len(n.NotificationItems))
	for _, x := range n.NotificationItems {
		if x.Item == nil {
			return nil, errors.New("a notification item without NotificationRequestItem")
		}
		out = append(out, *x.Item)
	}
	return out, nil
}

func verifyAdyen(_ *Verify, in *engine.Inbound, keys []string, _ time.Time) error {
	items, err := adyenItems(in.Raw)
	if err != nil {
		return sigErr("%v", err)
	}
	ks := make([][]byte, 0, len(keys))
	for _, k := range keys {
		b, err := adyenKey(k)
		if err != nil {
			return sigErr("%v", err)
		}
		ks = append(ks, b)
	}
	for i := range items {
		sig, err := base64.StdEncoding.DecodeString(items[i].AdditionalData.HMACSignature)
		if err != nil || len(sig) == 0 {
			return sigErr("notification item %d: missing or malformed additionalData.hmacSignature", i)
		}
		expected := make([][]byte, len(ks))
		for j, k := range ks {
			expected[j] = mac(sha256.New, k, items[i].signed())
		}
		if !anyMatch(expected, [][]byte{sig}) {
			return sigErr("notification item %d: no signature matched", i)
		}
	}
	return nil
}

// adyenDedupe is "pspReference:eventCode:success" of each item (Adyen:
// duplicates share eventCode and pspReference).
func adyenDedupe(t *engine.TriggerData) any {
	list, _ := bodyField(t, "notificationItems").([]any)
	var parts []string
	for _, x := range list {
		m, _ := x.(map[string]any)
		it, _ := m["NotificationRequestItem"].(map[string]any)
		k := joinKey(it["pspReference"], it["eventCode"], it["success"])
		if k == nil {
			return nil
		}
		parts = append(parts, k.(string))
	}
	if len(parts) == 0 {
		return nil
	}
	return strings.Join(parts, ",")
}

// --- Braintree --------------------------------------------------------------
//
// Braintree posts form fields bt_signature ("<public key>|<hex>", several
// joined by "&") and bt_payload (base64 XML). The hex is HMAC-SHA1 of the
// payload keyed with SHA-1 of the private key (braintree_python
// WebhookNotificationGateway and util/crypto.py sha1_hmac_hash); the SDKs
// also accept the payload with trailing space replaced by one "\n".

func verifyBraintree(_ *Verify, in *engine.Inbound, keys []string, _ time.Time) error {
	form, err := url.ParseQuery(string(in.Raw))
	if err != nil {
		return sigErr("body is not form-encoded")
	}
	sigField, payload := form.Get("bt_signature"), form.Get("bt_payload")
	if sigField == "" || payload == "" {
		return sigErr("missing bt_signature or bt_payload field")
	}
	for _, c := range []byte(payload) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '=' || c == '/' || c == '\n') {
			return sigErr("bt_payload holds characters that are not base64")
		}
	}
	var sigs [][]byte
	for pair := range strings.SplitSeq(sigField, "&") {
		_, hx, ok := strings.Cut(pair, "|")
		if b, err := hex.DecodeString(hx); ok && err == nil && len(b) == sha1.Size && len(sigs) < maxSignatures {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return sigErr("malformed bt_signature field: no public_key|signature pair")
	}
	withNL := strings.TrimRight(payload, " \t\r\n") + "\n"
	var expected [][]byte
	for _, k := range keys {
		key := sha1.Sum([]byte(k))
		expected = append(expected, mac(sha1.New, key[:], []byte(payload)), mac(sha1.New, key[:], []byte(withNL)))
	}
	if !anyMatch(expected, sigs) {
		return errNoMatch
	}
	return nil
}
