package triggers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// Vectors from REFERENCE.md §1 (vendor docs, official libraries, or computed
// and cross-checked with stripe-go).
const (
	stripeSecret = "whsec_test_secret"
	stripeTS     = 1700000000
	stripeBody   = `{"id":"evt_test_webhook","object":"event"}`
	stripeSig    = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"

	ghDocsSecret = "It's a Secret to Everybody"
	ghDocsBody   = "Hello, World!"
	ghDocsSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	octoSecret   = "mysecret"
	octoBody     = `{"foo":"bar"}`
	octoSig      = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"

	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS     = 1614265330
	swBody   = `{"test": 2432232314}`
	swSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTS     = 1531420618
	slackBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

	shopifySecret = "hush"
	shopifyBody   = `{"id":1}`
	shopifySig    = "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="

	typeformSecret = "abc123"
	typeformBody   = `{"event_id":"x"}`
	typeformSig    = "sha256=U1rJymdgorpNL5RkZrWJNbgFqLo1b0tqVtnqONoXh1w="
)

func macHex(h func() hash.Hash, key, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func macB64(h func() hash.Hash, key, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secretLike matches what a leaked signature or digest would look like.
var secretLike = regexp.MustCompile(`[0-9a-f]{40,}|[A-Za-z0-9+/]{40,}={0,2}`)

func TestVerify(t *testing.T) {
	stripeNow := time.Unix(stripeTS+60, 0)
	slackNow := time.Unix(slackTS+10, 0)
	swNow := time.Unix(swTS+10, 0)
	stripe := func(secret string) Verify { return Verify{Scheme: "stripe", Secret: secret} }
	stripeH := func(v string) map[string]string { return map[string]string{"stripe-signature": v} }
	sw := func(id, ts, sig string) map[string]string {
		return map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}
	}
	slackH := func(ts, sig string) map[string]string {
		return map[string]string{"x-slack-request-timestamp": ts, "x-slack-signature": sig}
	}
	secrets := map[string]any{"STRIPE": stripeSecret, "OLD": "whsec_old", "EMPTY": ""}
	tests := []struct {
		name    string
		verify  Verify
		headers map[string]string
		body    string
		now     time.Time
		wantErr string // "" means verification passes
	}{
		// Stripe (computed vector, cross-checked with stripe-go).
		{name: "stripe/valid", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow},
		{name: "stripe/secret from secrets", verify: stripe("{{ secrets.STRIPE }}"), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow},
		{name: "stripe/rotation second v1 matches", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + strings.Repeat("ab", 32) + ",v1=" + stripeSig), body: stripeBody, now: stripeNow},
		{name: "stripe/rotation of our secrets", verify: stripe("{{ [secrets.OLD, secrets.STRIPE] }}"), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow},
		{name: "stripe/v0 and bad hex ignored", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v0=zz,v1=nothex,v1=" + stripeSig), body: stripeBody, now: stripeNow},
		{name: "stripe/too new is accepted as stripe-go does", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: time.Unix(stripeTS-3600, 0)},
		{name: "stripe/custom tolerance", verify: Verify{Scheme: "stripe", Secret: stripeSecret, Tolerance: engine.Duration(10 * time.Minute)}, headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: time.Unix(stripeTS+500, 0)},
		{name: "stripe/too old", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: time.Unix(stripeTS+301, 0), wantErr: "timestamp outside the tolerance of 5m0s"},
		{name: "stripe/tampered body", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig), body: `{"id":"evt_test_webhook","object":"evil"}`, now: stripeNow, wantErr: "no signature matched"},
		{name: "stripe/tampered timestamp", verify: stripe(stripeSecret), headers: stripeH("t=1700000001,v1=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "no signature matched"},
		{name: "stripe/wrong secret", verify: stripe("whsec_other"), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "no signature matched"},
		{name: "stripe/truncated signature", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig[:62]), body: stripeBody, now: stripeNow, wantErr: "no signature matched"},
		{name: "stripe/over-long signature", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v1=" + stripeSig + "00"), body: stripeBody, now: stripeNow, wantErr: "no signature matched"},
		{name: "stripe/missing header", verify: stripe(stripeSecret), body: stripeBody, now: stripeNow, wantErr: "missing Stripe-Signature header"},
		{name: "stripe/malformed header", verify: stripe(stripeSecret), headers: stripeH("garbage"), body: stripeBody, now: stripeNow, wantErr: "malformed Stripe-Signature header"},
		{name: "stripe/no timestamp", verify: stripe(stripeSecret), headers: stripeH("v1=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "malformed Stripe-Signature header"},
		{name: "stripe/only v0", verify: stripe(stripeSecret), headers: stripeH("t=1700000000,v0=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "malformed Stripe-Signature header"},
		{name: "stripe/secret not set", verify: stripe("{{ secrets.EMPTY }}"), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "secret is empty"},
		{name: "stripe/secret unknown", verify: stripe("{{ secrets.NOPE }}"), headers: stripeH("t=1700000000,v1=" + stripeSig), body: stripeBody, now: stripeNow, wantErr: "secret is empty"},

		// GitHub (github/docs and octokit vectors).
		{name: "github/docs vector", verify: Verify{Scheme: "github", Secret: ghDocsSecret}, headers: map[string]string{"x-hub-signature-256": ghDocsSig}, body: ghDocsBody},
		{name: "github/octokit vector", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature-256": octoSig}, body: octoBody},
		{name: "github/tampered body", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature-256": octoSig}, body: `{"foo":"baz"}`, wantErr: "no signature matched"},
		{name: "github/wrong secret", verify: Verify{Scheme: "github", Secret: "notmysecret"}, headers: map[string]string{"x-hub-signature-256": octoSig}, body: octoBody, wantErr: "no signature matched"},
		{name: "github/missing header", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature": "sha1=abc"}, body: octoBody, wantErr: "missing X-Hub-Signature-256 header"},
		{name: "github/truncated", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature-256": octoSig[:len(octoSig)-2]}, body: octoBody, wantErr: "malformed X-Hub-Signature-256 header"},
		{name: "github/over-long", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature-256": octoSig + "00"}, body: octoBody, wantErr: "malformed X-Hub-Signature-256 header"},
		{name: "github/wrong prefix", verify: Verify{Scheme: "github", Secret: octoSecret}, headers: map[string]string{"x-hub-signature-256": "sha1=" + octoSig[7:]}, body: octoBody, wantErr: "malformed X-Hub-Signature-256 header"},

		// Shopify (computed vector: base64).
		{name: "shopify/valid", verify: Verify{Scheme: "shopify", Secret: shopifySecret}, headers: map[string]string{"x-shopify-hmac-sha256": shopifySig}, body: shopifyBody},
		{name: "shopify/tampered body", verify: Verify{Scheme: "shopify", Secret: shopifySecret}, headers: map[string]string{"x-shopify-hmac-sha256": shopifySig}, body: `{"id":2}`, wantErr: "no signature matched"},
		{name: "shopify/wrong secret", verify: Verify{Scheme: "shopify", Secret: "hush2"}, headers: map[string]string{"x-shopify-hmac-sha256": shopifySig}, body: shopifyBody, wantErr: "no signature matched"},
		{name: "shopify/hex instead of base64", verify: Verify{Scheme: "shopify", Secret: shopifySecret}, headers: map[string]string{"x-shopify-hmac-sha256": macHex(sha256.New, shopifySecret, shopifyBody)}, body: shopifyBody, wantErr: "malformed X-Shopify-Hmac-SHA256 header"},
		{name: "shopify/truncated", verify: Verify{Scheme: "shopify", Secret: shopifySecret}, headers: map[string]string{"x-shopify-hmac-sha256": base64.StdEncoding.EncodeToString(make([]byte, 31))}, body: shopifyBody, wantErr: "malformed X-Shopify-Hmac-SHA256 header"},
		{name: "shopify/missing header", verify: Verify{Scheme: "shopify", Secret: shopifySecret}, body: shopifyBody, wantErr: "missing X-Shopify-Hmac-SHA256 header"},

		// Slack (python-slack-sdk vector).
		{name: "slack/sdk vector", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420618", slackSig), body: slackBody, now: slackNow},
		{name: "slack/too old", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420618", slackSig), body: slackBody, now: time.Unix(slackTS+301, 0), wantErr: "timestamp outside the tolerance of 5m0s (too old)"},
		{name: "slack/too new", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420618", slackSig), body: slackBody, now: time.Unix(slackTS-301, 0), wantErr: "timestamp outside the tolerance of 5m0s (too new)"},
		{name: "slack/tampered body", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420618", slackSig), body: slackBody + "&x=1", now: slackNow, wantErr: "no signature matched"},
		{name: "slack/tampered timestamp", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420619", slackSig), body: slackBody, now: slackNow, wantErr: "no signature matched"},
		{name: "slack/wrong secret", verify: Verify{Scheme: "slack", Secret: slackSecret + "x"}, headers: slackH("1531420618", slackSig), body: slackBody, now: slackNow, wantErr: "no signature matched"},
		{name: "slack/missing timestamp", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: map[string]string{"x-slack-signature": slackSig}, body: slackBody, now: slackNow, wantErr: "missing X-Slack-Request-Timestamp header"},
		{name: "slack/missing signature", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: map[string]string{"x-slack-request-timestamp": "1531420618"}, body: slackBody, now: slackNow, wantErr: "missing X-Slack-Signature header"},
		{name: "slack/malformed timestamp", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("yesterday", slackSig), body: slackBody, now: slackNow, wantErr: "malformed X-Slack-Request-Timestamp header"},
		{name: "slack/truncated", verify: Verify{Scheme: "slack", Secret: slackSecret}, headers: slackH("1531420618", slackSig[:len(slackSig)-4]), body: slackBody, now: slackNow, wantErr: "malformed X-Slack-Signature header"},

		// Standard Webhooks (standard-webhooks Go library vector).
		{name: "standard/library vector", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", swSig), body: swBody, now: swNow},
		{name: "standard/svix headers", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: map[string]string{"svix-id": swID, "svix-timestamp": "1614265330", "svix-signature": swSig}, body: swBody, now: swNow},
		{name: "standard/rotation second matches", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", "v1,"+b64(strings.Repeat("x", 32))+" v1a,abcd "+swSig), body: swBody, now: swNow},
		{name: "standard/too old", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", swSig), body: swBody, now: time.Unix(swTS+301, 0), wantErr: "timestamp outside the tolerance of 5m0s (too old)"},
		{name: "standard/too new", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", swSig), body: swBody, now: time.Unix(swTS-301, 0), wantErr: "timestamp outside the tolerance of 5m0s (too new)"},
		{name: "standard/tampered body", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", swSig), body: `{"test": 2432232315}`, now: swNow, wantErr: "no signature matched"},
		{name: "standard/other message id", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw("msg_other", "1614265330", swSig), body: swBody, now: swNow, wantErr: "no signature matched"},
		{name: "standard/wrong secret", verify: Verify{Scheme: "standard", Secret: "whsec_" + b64("another secret of 24 bytes")}, headers: sw(swID, "1614265330", swSig), body: swBody, now: swNow, wantErr: "no signature matched"},
		{name: "standard/truncated", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ"), body: swBody, now: swNow, wantErr: "no signature matched"},
		{name: "standard/only ed25519", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", "v1a,"+b64("sig")), body: swBody, now: swNow, wantErr: "malformed webhook-signature header"},
		{name: "standard/missing id", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw("", "1614265330", swSig), body: swBody, now: swNow, wantErr: "missing webhook-id header"},
		{name: "standard/missing timestamp", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "", swSig), body: swBody, now: swNow, wantErr: "missing webhook-timestamp header"},
		{name: "standard/missing signature", verify: Verify{Scheme: "standard", Secret: swSecret}, headers: sw(swID, "1614265330", ""), body: swBody, now: swNow, wantErr: "missing webhook-signature header"},

		// Generic HMAC (Typeform's documented format as a vector).
		{name: "hmac/typeform base64 with prefix", verify: Verify{Scheme: "hmac", Secret: typeformSecret, Header: "Typeform-Signature", Encoding: "base64", Prefix: "sha256="}, headers: map[string]string{"typeform-signature": typeformSig}, body: typeformBody},
		{name: "hmac/sha1 hex", verify: Verify{Scheme: "hmac", Secret: "k", Header: "x-sig", Algorithm: "sha1"}, headers: map[string]string{"x-sig": macHex(sha1.New, "k", "body")}, body: "body"},
		{name: "hmac/sha512 base64", verify: Verify{Scheme: "hmac", Secret: "k", Header: "x-sig", Algorithm: "sha512", Encoding: "base64"}, headers: map[string]string{"x-sig": macB64(sha512.New, "k", "body")}, body: "body"},
		{name: "hmac/rotation second matches", verify: Verify{Scheme: "hmac", Secret: "k", Header: "x-sig"}, headers: map[string]string{"x-sig": macHex(sha256.New, "old", "body") + ", " + macHex(sha256.New, "k", "body")}, body: "body"},
		{name: "hmac/wrong algorithm", verify: Verify{Scheme: "hmac", Secret: "k", Header: "x-sig"}, headers: map[string]string{"x-sig": macHex(sha1.New, "k", "body")}, body: "body", wantErr: "no signature matched"},
		{name: "hmac/tampered", verify: Verify{Scheme: "hmac", Secret: typeformSecret, Header: "typeform-signature", Encoding: "base64", Prefix: "sha256="}, headers: map[string]string{"typeform-signature": typeformSig}, body: `{"event_id":"y"}`, wantErr: "no signature matched"},
		{name: "hmac/missing prefix", verify: Verify{Scheme: "hmac", Secret: typeformSecret, Header: "typeform-signature", Encoding: "base64", Prefix: "sha256="}, headers: map[string]string{"typeform-signature": typeformSig[7:]}, body: typeformBody, wantErr: "malformed typeform-signature header"},
		{name: "hmac/missing header", verify: Verify{Scheme: "hmac", Secret: "k", Header: "x-sig"}, body: "body", wantErr: "missing x-sig header"},

		// Basic and token.
		{name: "basic/valid", verify: Verify{Scheme: "basic", Username: "hook", Password: "{{ secrets.OLD }}"}, headers: map[string]string{"authorization": "Basic " + b64("hook:whsec_old")}},
		{name: "basic/wrong password", verify: Verify{Scheme: "basic", Username: "hook", Password: "pw"}, headers: map[string]string{"authorization": "Basic " + b64("hook:pw2")}, wantErr: "username or password does not match"},
		{name: "basic/wrong user", verify: Verify{Scheme: "basic", Username: "hook", Password: "pw"}, headers: map[string]string{"authorization": "Basic " + b64("root:pw")}, wantErr: "username or password does not match"},
		{name: "basic/missing", verify: Verify{Scheme: "basic", Username: "hook", Password: "pw"}, wantErr: "missing Authorization header"},
		{name: "basic/bearer instead", verify: Verify{Scheme: "basic", Username: "hook", Password: "pw"}, headers: map[string]string{"authorization": "Bearer pw"}, wantErr: "malformed Authorization header"},
		{name: "token/bearer", verify: Verify{Scheme: "token", Secret: "s3cret"}, headers: map[string]string{"authorization": "bearer s3cret"}},
		{name: "token/named header", verify: Verify{Scheme: "token", Secret: "s3cret", Header: "X-Gitlab-Token"}, headers: map[string]string{"x-gitlab-token": "s3cret"}},
		{name: "token/prefix", verify: Verify{Scheme: "token", Secret: "s3cret", Prefix: "Token "}, headers: map[string]string{"authorization": "Token s3cret"}},
		{name: "token/wrong", verify: Verify{Scheme: "token", Secret: "s3cret"}, headers: map[string]string{"authorization": "Bearer s3cret2"}, wantErr: "token does not match"},
		{name: "token/prefix of the token", verify: Verify{Scheme: "token", Secret: "s3cret"}, headers: map[string]string{"authorization": "Bearer s3cr"}, wantErr: "token does not match"},
		{name: "token/missing", verify: Verify{Scheme: "token", Secret: "s3cret", Header: "x-token"}, headers: map[string]string{"authorization": "Bearer s3cret"}, wantErr: "missing x-token header"},
		{name: "token/not bearer", verify: Verify{Scheme: "token", Secret: "s3cret"}, headers: map[string]string{"authorization": "s3cret"}, wantErr: "malformed authorization header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.verify
			w := &Webhook{Verify: &v}
			if ps := w.Compile(); len(ps) > 0 {
				t.Fatalf("Compile: %v", ps)
			}
			now := tc.now
			if now.IsZero() {
				now = time.Unix(1700000000, 0)
			}
			headers := map[string]string{}
			for k, v := range tc.headers {
				if v != "" {
					headers[k] = v
				}
			}
			in := &engine.Inbound{Method: "POST", Headers: headers, Raw: []byte(tc.body), ReceivedAt: now}
			ev, err := w.Receive(in, &engine.ReceiveContext{Secrets: secrets, Now: now})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Receive: %v", err)
				}
				if ev == nil || ev.Trigger.Type != "webhook" {
					t.Fatalf("Receive returned %+v", ev)
				}
				return
			}
			if !errors.Is(err, engine.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
			}
			if s := secretLike.FindString(err.Error()); s != "" {
				t.Errorf("error message shows a signature-like value %q", s)
			}
			for _, sec := range []string{stripeSecret, slackSecret, octoSecret, "s3cret", "whsec_old"} {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error message shows the secret %q", sec)
				}
			}
		})
	}
}

// A request that fails verification is refused whatever its body: nothing is parsed first.
func TestVerifyBeforeParse(t *testing.T) {
	w := &Webhook{Verify: &Verify{Scheme: "github", Secret: octoSecret}}
	for _, tc := range []struct {
		name, ct, body string
	}{
		{"malformed json", "application/json", `{"foo":`},
		{"malformed xml", "application/xml", `<a><b></a>`},
		{"multipart without boundary", "multipart/form-data", "--x\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &engine.Inbound{Method: "POST", Headers: map[string]string{"content-type": tc.ct, "x-hub-signature-256": octoSig}, Raw: []byte(tc.body)}
			_, err := w.Receive(in, &engine.ReceiveContext{Now: time.Unix(stripeTS, 0)})
			if !errors.Is(err, engine.ErrSignature) || errors.Is(err, engine.ErrBadBody) {
				t.Fatalf("err = %v, want ErrSignature only", err)
			}
		})
	}
}

func TestParseStripeSignature(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantTS  int64
		wantN   int
		wantErr bool
	}{
		{name: "one", header: "t=1,v1=" + stripeSig, wantTS: 1, wantN: 1},
		{name: "two and v0", header: "t=5,v1=" + stripeSig + ",v0=ab,v1=abcd", wantTS: 5, wantN: 2},
		{name: "spaces tolerated", header: " t=5 , v1=ab ", wantTS: 5, wantN: 1},
		{name: "bad hex skipped", header: "t=5,v1=xyz,v1=ab", wantTS: 5, wantN: 1},
		{name: "only bad hex", header: "t=5,v1=xyz", wantErr: true},
		{name: "no t", header: "v1=ab", wantErr: true},
		{name: "two t", header: "t=1,t=2,v1=ab", wantErr: true},
		{name: "negative t", header: "t=-1,v1=ab", wantErr: true},
		{name: "no equals", header: "t=1,v1", wantErr: true},
		{name: "empty", header: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, sigs, err := ParseStripeSignature(tc.header)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && (ts != tc.wantTS || len(sigs) != tc.wantN) {
				t.Errorf("got t=%d and %d signatures, want t=%d and %d", ts, len(sigs), tc.wantTS, tc.wantN)
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	gh, _ := hex.DecodeString(octoSig[7:])
	tests := []struct {
		name    string
		parse   func(string) ([]byte, error)
		header  string
		want    []byte
		wantErr bool
	}{
		{name: "github ok", parse: ParseGitHubSignature, header: octoSig, want: gh},
		{name: "github upper-case hex", parse: ParseGitHubSignature, header: "sha256=" + strings.ToUpper(octoSig[7:]), want: gh},
		{name: "github no prefix", parse: ParseGitHubSignature, header: octoSig[7:], wantErr: true},
		{name: "github empty", parse: ParseGitHubSignature, header: "sha256=", wantErr: true},
		{name: "slack ok", parse: ParseSlackSignature, header: "v0=" + octoSig[7:], want: gh},
		{name: "slack v1", parse: ParseSlackSignature, header: "v1=" + octoSig[7:], wantErr: true},
		{name: "shopify ok", parse: ParseShopifySignature, header: base64.StdEncoding.EncodeToString(gh), want: gh},
		{name: "shopify url alphabet", parse: ParseShopifySignature, header: base64.URLEncoding.EncodeToString(gh), wantErr: strings.ContainsAny(base64.StdEncoding.EncodeToString(gh), "+/")},
		{name: "shopify empty", parse: ParseShopifySignature, header: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.header)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !hmac.Equal(got, tc.want) {
				t.Errorf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestParseBasicAndToken(t *testing.T) {
	t.Run("basic", func(t *testing.T) {
		for _, tc := range []struct {
			name, header, user, pass string
			wantErr                  bool
		}{
			{name: "ok", header: "Basic " + b64("a:b:c"), user: "a", pass: "b:c"},
			{name: "lower-case scheme", header: "basic " + b64("a:"), user: "a"},
			{name: "no colon", header: "Basic " + b64("ab"), wantErr: true},
			{name: "not base64", header: "Basic !!", wantErr: true},
			{name: "bearer", header: "Bearer x", wantErr: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u, p, err := ParseBasicAuth(tc.header)
				if (err != nil) != tc.wantErr || u != tc.user || p != tc.pass {
					t.Errorf("got %q %q %v", u, p, err)
				}
			})
		}
	})
	t.Run("token", func(t *testing.T) {
		for _, tc := range []struct {
			name, header string
			auth         bool
			prefix, want string
			wantErr      bool
		}{
			{name: "bearer", header: "Bearer abc", auth: true, want: "abc"},
			{name: "bearer missing", header: "abc", auth: true, wantErr: true},
			{name: "named header", header: " abc ", want: "abc"},
			{name: "prefix", header: "Token abc", auth: true, prefix: "Token ", want: "abc"},
			{name: "prefix missing", header: "abc", prefix: "Token ", wantErr: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := ParseToken(tc.header, tc.auth, tc.prefix)
				if (err != nil) != tc.wantErr || got != tc.want {
					t.Errorf("got %q %v", got, err)
				}
			})
		}
	})
}

var sha256New = sha256.New

// Fuzz targets for the header parsers: never panic, and what they return
// respects their contract. Seeds are in testdata/fuzz/<name>/.

func FuzzParseStripeSignature(f *testing.F) {
	f.Add("t=1700000000,v1=" + stripeSig + ",v0=ab")
	f.Add("t=,v1=,=,,")
	f.Fuzz(func(t *testing.T, h string) {
		ts, sigs, err := ParseStripeSignature(h)
		if err == nil && (ts < 0 || len(sigs) == 0 || len(sigs) > maxSignatures) {
			t.Fatalf("t=%d, %d signatures", ts, len(sigs))
		}
	})
}

func fuzzOneSig(f *testing.F, parse func(string) ([]byte, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		b, err := parse(h)
		if err == nil && len(b) != sha256.Size {
			t.Fatalf("accepted a %d-byte signature", len(b))
		}
	})
}

func FuzzParseGitHubSignature(f *testing.F) {
	fuzzOneSig(f, ParseGitHubSignature, octoSig, "sha256=", "sha1=abc")
}

func FuzzParseShopifySignature(f *testing.F) {
	fuzzOneSig(f, ParseShopifySignature, shopifySig, "====", "YQ")
}

func FuzzParseSlackSignature(f *testing.F) {
	fuzzOneSig(f, ParseSlackSignature, slackSig, "v0=", "v1=ab")
}

func FuzzParseStandardSignature(f *testing.F) {
	f.Add(swSig + " v1a,abc v1,!!")
	f.Add(",,, v1, v1,=")
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := ParseStandardSignature(h)
		if err == nil && (len(sigs) == 0 || len(sigs) > maxSignatures) {
			t.Fatalf("%d signatures", len(sigs))
		}
	})
}

func FuzzParseHMACSignature(f *testing.F) {
	f.Add(typeformSig, "sha256=", true)
	f.Add("ab, cd ,zz", "", false)
	f.Fuzz(func(t *testing.T, h, prefix string, base64 bool) {
		enc := "hex"
		if base64 {
			enc = "base64"
		}
		sigs, err := ParseHMACSignature(h, prefix, enc)
		if err == nil && (len(sigs) == 0 || len(sigs) > maxSignatures) {
			t.Fatalf("%d signatures", len(sigs))
		}
	})
}

func FuzzParseBasicAuth(f *testing.F) {
	f.Add("Basic " + b64("user:pa:ss"))
	f.Add("basic    ")
	f.Fuzz(func(t *testing.T, h string) {
		u, _, err := ParseBasicAuth(h)
		if err == nil && strings.Contains(u, ":") {
			t.Fatalf("user name %q holds ':'", u)
		}
	})
}

func FuzzParseToken(f *testing.F) {
	f.Add("Bearer abc", "", true)
	f.Add("Token  x ", "Token ", false)
	f.Fuzz(func(t *testing.T, h, prefix string, auth bool) {
		tok, err := ParseToken(h, auth, prefix)
		if err == nil && tok != strings.TrimSpace(tok) {
			t.Fatalf("token %q not trimmed", tok)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	f.Add("1531420618")
	f.Add("-1")
	f.Add("1e9")
	f.Fuzz(func(t *testing.T, h string) {
		if ts, err := ParseTimestamp(h); err == nil && ts < 0 {
			t.Fatalf("negative timestamp %d", ts)
		}
	})
}

// FuzzReceiveStripe drives the whole Receive path with arbitrary signature
// headers and bodies: it must never panic, and a failure is a signature or
// body error.
func FuzzReceiveStripe(f *testing.F) {
	f.Add("t=1700000000,v1="+stripeSig, []byte(stripeBody))
	f.Add("t=1700000000,v1="+stripeSig, []byte(`{"id":`))
	w := &Webhook{Verify: &Verify{Scheme: "stripe", Secret: stripeSecret}}
	f.Fuzz(func(t *testing.T, h string, body []byte) {
		in := &engine.Inbound{Method: "POST", Headers: map[string]string{"stripe-signature": h, "content-type": "application/json"}, Raw: body}
		_, err := w.Receive(in, &engine.ReceiveContext{Now: time.Unix(stripeTS, 0)})
		if err != nil && !errors.Is(err, engine.ErrSignature) && !errors.Is(err, engine.ErrBadBody) {
			t.Fatalf("error %v wraps neither ErrSignature nor ErrBadBody", err)
		}
	})
}

// TestStandardKeyRefusesEmpty: "whsec_" alone decodes to an empty HMAC key,
// which anyone could sign with.
func TestStandardKeyRefusesEmpty(t *testing.T) {
	for _, s := range []string{"whsec_", "", "whsec_!!"} {
		if _, err := standardKey(s); err == nil {
			t.Errorf("standardKey(%q) accepted", s)
		}
	}
	if k, err := standardKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil || len(k) == 0 {
		t.Errorf("valid secret refused: %v", err)
	}
}
