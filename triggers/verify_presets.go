package triggers

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// A provider preset is a verification scheme named after the service that
// signs that way (verify_payments.go, verify_forms.go, verify_messaging.go).
// Each keeps the rules of the five original schemes: the signature is checked
// on the raw bytes before the body is parsed, every comparison is
// hmac.Equal, and a list of secrets ({{ [secrets.OLD, secrets.NEW] }}) lets
// any one match.

// tolPolicy says how a scheme treats its signed timestamp.
type tolPolicy int

const (
	tolNone  tolPolicy = iota // signs no timestamp
	tolOld                    // refuses timestamps older than the tolerance (the provider's SDK does no more)
	tolBoth                   // refuses timestamps too old and too far in the future
	tolOptIn                  // signs a timestamp but publishes no window: checked both ways only when verify.tolerance is set
)

// provider is one preset's verification.
type provider struct {
	tol    tolPolicy
	defTol time.Duration // default tolerance (0: DefaultTolerance)
	// needsURL: the provider signs the URL it calls; verify.url is required.
	needsURL bool
	// checkKey validates a literal secret at save (nil: any non-empty string).
	checkKey func(secret string) error
	verify   func(v *Verify, in *engine.Inbound, keys []string, now time.Time) error
	// dedupe is the provider's event id (nil: none).
	dedupe func(t *engine.TriggerData) any
}

// providers maps a preset scheme to its verification.
var providers = func() map[string]provider {
	out := map[string]provider{}
	for _, fam := range []map[string]provider{paymentProviders, formProviders, messagingProviders} {
		for k, p := range fam {
			out[k] = p
		}
	}
	return out
}()

// presetSchemes lists the preset schemes in the order of Presets.
func presetSchemes() []string {
	var out []string
	for _, p := range Presets {
		if _, ok := providers[p.Scheme]; ok && !p.Recipe {
			out = append(out, p.Scheme)
		}
	}
	return out
}

// checkTol applies the scheme's tolerance policy to a signed unix time.
func (v *Verify) checkTol(pol tolPolicy, ts int64, now time.Time) error {
	switch pol {
	case tolOld:
		return checkTimestamp(ts, now, v.tolerance(), false)
	case tolBoth:
		return checkTimestamp(ts, now, v.tolerance(), true)
	case tolOptIn:
		if v.Tolerance > 0 {
			return checkTimestamp(ts, now, v.Tolerance.D(), true)
		}
	}
	return nil
}

// compileURL checks verify.url: an absolute http(s) URL.
func (v *Verify) compileURL(ps *engine.Problems) {
	v.URL = strings.TrimSpace(v.URL)
	if v.URL == "" {
		ps.Add("verify.url", "required for the %s scheme: the flow URL exactly as entered in %s (it signs it)", v.Scheme, PresetName(v.Scheme))
		return
	}
	u, err := url.Parse(v.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.Add("verify.url", "want an absolute http or https URL, e.g. https://hooks.example.com/hooks/my-flow")
	}
}

// bodyMAC is the common shape: an HMAC of the raw body in one header.
func bodyMAC(header, name string, h func() hash.Hash, enc, prefix string) func(*Verify, *engine.Inbound, []string, time.Time) error {
	return func(_ *Verify, in *engine.Inbound, keys []string, _ time.Time) error {
		hv := in.Headers[header]
		if hv == "" {
			return sigErr("missing %s header", name)
		}
		sig, err := parseOneSig(hv, prefix, enc, h().Size())
		if err != nil {
			return sigErr("malformed %s header: %v", name, err)
		}
		return matchKeys(h, keys, [][]byte{sig}, in.Raw)
	}
}

// parseOneSig reads "<prefix><digest>" with the digest in hex or base64 and
// exactly size bytes long.
func parseOneSig(h, prefix, enc string, size int) ([]byte, error) {
	val, ok := strings.CutPrefix(strings.TrimSpace(h), prefix)
	if !ok {
		return nil, fmt.Errorf("want %q and a %s digest", prefix, enc)
	}
	var b []byte
	var err error
	if enc == "base64" {
		b, err = base64.StdEncoding.DecodeString(val)
	} else {
		b, err = hex.DecodeString(val)
	}
	if err != nil {
		return nil, fmt.Errorf("signature is not %s", enc)
	}
	if len(b) != size {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(b), size)
	}
	return b, nil
}

// ParseKeyValueSignature reads headers like Paddle's "ts=1;h1=ab;h1=cd" or
// Calendly's "t=1,v1=ab": sep-separated key=value pairs. It returns the
// timestamp under tsKey and the hex signatures under sigKey (values that are
// not hex are skipped, other keys ignored).
func ParseKeyValueSignature(h string, sep byte, tsKey, sigKey string) (ts int64, sigs [][]byte, err error) {
	haveT := false
	for pair := range strings.SplitSeq(h, string(sep)) {
		k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return 0, nil, errors.New("element without '='")
		}
		switch k {
		case tsKey:
			if haveT {
				return 0, nil, errors.New("more than one timestamp")
			}
			ts, err = strconv.ParseInt(val, 10, 64)
			if err != nil || ts < 0 {
				return 0, nil, errors.New("timestamp is not a unix time")
			}
			haveT = true
		case sigKey:
			b, err := hex.DecodeString(val)
			if err != nil || len(sigs) >= maxSignatures {
				continue
			}
			sigs = append(sigs, b)
		}
	}
	if !haveT {
		return 0, nil, errors.New("no timestamp")
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("no %s signature", sigKey)
	}
	return ts, sigs, nil
}

// bodyField returns body[path...] when the body is a JSON object.
func bodyField(t *engine.TriggerData, path ...string) any {
	var cur any = t.Body
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// joinKey joins the parts of a composite event id, or gives nil when one is missing.
func joinKey(parts ...any) any {
	ss := make([]string, len(parts))
	for i, p := range parts {
		ss[i] = engine.Stringify(p)
		if p == nil || ss[i] == "" {
			return nil
		}
	}
	return strings.Join(ss, ":")
}

// Preset describes a provider for the docs and the editor: how it signs,
// what Hookflow uses as its event id, and where its settings live.
type Preset struct {
	// Scheme is verify.scheme (for a recipe: the existing scheme it uses).
	Scheme string
	// Name is the provider's name.
	Name string
	// Family groups the editor's menu: payments, forms, messaging.
	Family string
	// Recipe is true for providers verified with a generic scheme (token,
	// basic, or none): they have no scheme of their own.
	Recipe bool
	// Headers are the headers the scheme reads.
	Headers string
	// Dedupe describes the default dedupe key.
	Dedupe string
	// Tolerance describes the timestamp window, in both directions.
	Tolerance string
	// Body is the body format the provider sends.
	Body string
	// Keep lists headers worth keeping or reading in steps.
	Keep string
	// Hint says where to paste the flow URL and where to find the secret.
	Hint string
	// Sample is a sample event body from the provider's documentation.
	Sample string
}

// PresetFor returns the preset of a scheme.
func PresetFor(scheme string) (Preset, bool) {
	for _, p := range Presets {
		if p.Scheme == scheme && !p.Recipe {
			return p, true
		}
	}
	return Preset{}, false
}

// PresetName is the provider's name for a scheme, or the scheme itself.
func PresetName(scheme string) string {
	if p, ok := PresetFor(scheme); ok {
		return p.Name
	}
	return scheme
}

// Presets lists every provider the docs and the editor know, in the Verify
// menu's order. Samples are shortened from each provider's documentation.
var Presets = []Preset{
	{Scheme: SchemeStripe, Name: "Stripe", Family: "payments",
		Headers: "Stripe-Signature: t=…,v1=…", Dedupe: "body.id (event id)", Tolerance: "5m too old; too new accepted (as stripe-go)",
		Body: "JSON", Keep: "Stripe-Signature",
		Hint:   "Stripe Dashboard → Developers → Webhooks → Add endpoint: paste the flow URL. The signing secret (whsec_…) is on the endpoint's page under Signing secret.",
		Sample: `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","api_version":"2022-11-15","created":1686089970,"type":"checkout.session.completed","data":{"object":{"id":"cs_test_a1","object":"checkout.session","amount_total":2000,"currency":"usd","customer_details":{"email":"jenny.rosen@example.com","name":"Jenny Rosen"},"payment_status":"paid"}}}`},
	{Scheme: SchemeGitHub, Name: "GitHub", Family: "developer",
		Headers: "X-Hub-Signature-256: sha256=…", Dedupe: "X-GitHub-Delivery header", Tolerance: "none (no signed timestamp)",
		Body: "JSON, or form-encoded with the JSON in payload", Keep: "X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID",
		Hint:   "Repository → Settings → Webhooks → Add webhook: paste the flow URL as Payload URL, content type application/json, and type a secret of your own there and in Hookflow's Secrets.",
		Sample: `{"action":"opened","issue":{"number":1347,"title":"Found a bug","html_url":"https://github.com/octocat/Hello-World/issues/1347","user":{"login":"octocat"}},"repository":{"full_name":"octocat/Hello-World"},"sender":{"login":"octocat"}}`},
	{Scheme: SchemeShopify, Name: "Shopify", Family: "payments",
		Headers: "X-Shopify-Hmac-SHA256 (base64)", Dedupe: "X-Shopify-Event-Id, else X-Shopify-Webhook-Id", Tolerance: "none (X-Shopify-Triggered-At is not signed)",
		Body: "JSON", Keep: "X-Shopify-Topic, X-Shopify-Shop-Domain, X-Shopify-Triggered-At",
		Hint:   "Shopify admin → Settings → Notifications → Webhooks → Create webhook: paste the flow URL; the signing key is shown under the list (\"Your webhooks will be signed with …\"). Apps: the app's client secret.",
		Sample: `{"id":820982911946154508,"email":"jon@example.com","created_at":"2021-12-31T19:00:00-05:00","total_price":"403.00","currency":"USD","line_items":[{"id":866550311766439020,"title":"IPod Nano - 8GB","quantity":1,"price":"199.00"}],"customer":{"id":115310627314723954,"email":"john@example.com","first_name":"John"}}`},
	{Scheme: SchemeSlack, Name: "Slack", Family: "messaging",
		Headers: "X-Slack-Signature: v0=…, X-Slack-Request-Timestamp", Dedupe: "body.event_id when present (Events API)", Tolerance: "5m both ways",
		Body: "JSON (Events API), form-encoded (slash commands; interactivity with the JSON in payload)", Keep: "X-Slack-Retry-Num, X-Slack-Retry-Reason",
		Hint:   "api.slack.com/apps → your app → Event Subscriptions (or Slash Commands, Interactivity): paste the flow URL as Request URL. The Signing Secret is under Basic Information → App Credentials.",
		Sample: `{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"message","channel":"C123ABC456","user":"U123ABC456","text":"Live long and prosper.","ts":"1355517523.000005"},"type":"event_callback","event_id":"Ev123ABC456","event_time":1355517523}`},
	{Scheme: SchemeStandard, Name: "Standard Webhooks / Svix", Family: "developer",
		Headers: "webhook-id, webhook-timestamp, webhook-signature: v1,… (or svix-*)", Dedupe: "webhook-id (or svix-id)", Tolerance: "5m both ways",
		Body: "JSON", Keep: "webhook-id",
		Hint:   "In the sender's webhook settings (Clerk, Resend, Svix-based apps …): add an endpoint with the flow URL; copy its signing secret (whsec_…).",
		Sample: `{"type":"user.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC","email_addresses":[{"email_address":"example@example.org"}]}}`},

	{Scheme: SchemePayPal, Name: "PayPal", Family: "payments",
		Headers: "PAYPAL-TRANSMISSION-ID, -TIME, -SIG, PAYPAL-CERT-URL, PAYPAL-AUTH-ALGO", Dedupe: "body.id (event id WH-…)", Tolerance: "none (transmission time signed, no window published)",
		Body: "JSON", Keep: "PAYPAL-TRANSMISSION-ID, PAYPAL-TRANSMISSION-TIME",
		Hint:   "developer.paypal.com → Apps & Credentials → your app → Webhooks → Add Webhook: paste the flow URL. The secret is the Webhook ID shown in the list (not the client secret).",
		Sample: `{"id":"WH-2WR32451HC0233532-67976317FL4543714","event_version":"1.0","create_time":"2014-10-23T17:23:52Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"A successful sale payment was made for $ 0.48 USD","resource":{"id":"42311647XV020574X","amount":{"currency_code":"USD","value":"0.48"},"status":"COMPLETED"}}`},
	{Scheme: SchemePaddle, Name: "Paddle Billing", Family: "payments",
		Headers: "Paddle-Signature: ts=…;h1=…", Dedupe: "body.event_id", Tolerance: "5m too old (Paddle's SDK uses 5 s; set tolerance to match); too new accepted",
		Body: "JSON", Keep: "Paddle-Signature",
		Hint:   "Paddle → Developer tools → Notifications → New destination: paste the flow URL. The secret key is on the destination (Edit destination → Secret key, pdl_ntfset_…).",
		Sample: `{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","occurred_at":"2023-08-23T13:20:15.360106Z","notification_id":"ntf_01h8bzam1z32agrxjwhjgqk8w6","data":{"id":"txn_01h8bz3jd7x2ds09jxmf4dn3kh","status":"completed","customer_id":"ctm_01h8441jn5pcwrfhwh78jqt8hk","currency_code":"USD"}}`},
	{Scheme: SchemeSquare, Name: "Square", Family: "payments",
		Headers: "X-Square-Hmacsha256-Signature (base64 over URL + body)", Dedupe: "body.event_id", Tolerance: "none",
		Body: "JSON", Keep: "Square-Environment",
		Hint:   "developer.squareup.com → your app → Webhooks → Subscriptions → Add subscription: paste the flow URL, and the same URL in verify.url. The Signature key is on the subscription's page.",
		Sample: `{"merchant_id":"MLEFBHHSJGVHD","type":"payment.updated","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","object":{"payment":{"id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","amount_money":{"amount":100,"currency":"USD"},"status":"COMPLETED"}}}}`},
	{Scheme: SchemeRazorpay, Name: "Razorpay", Family: "payments",
		Headers: "X-Razorpay-Signature (hex)", Dedupe: "X-Razorpay-Event-Id header", Tolerance: "none",
		Body: "JSON", Keep: "X-Razorpay-Event-Id",
		Hint:   "Razorpay Dashboard → Account & Settings → Webhooks → Add new webhook: paste the flow URL and type a secret of your own there and in Hookflow's Secrets.",
		Sample: `{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_DESlfW9H8K9uqM","amount":100,"currency":"INR","status":"captured","order_id":"order_DESlLckIVRkHWj","email":"gaurav.kumar@example.com"}}},"created_at":1567674606}`},
	{Scheme: SchemeLemonSqueezy, Name: "Lemon Squeezy", Family: "payments",
		Headers: "X-Signature (hex)", Dedupe: "meta.event_name:data.id:data.attributes.updated_at (no event id is sent)", Tolerance: "none",
		Body: "JSON", Keep: "X-Event-Name",
		Hint:   "Lemon Squeezy → Settings → Webhooks → +: paste the flow URL as Callback URL and type a Signing secret of your own there and in Hookflow's Secrets.",
		Sample: `{"meta":{"event_name":"order_created","custom_data":{"customer_id":25}},"data":{"type":"orders","id":"1","attributes":{"store_id":1,"identifier":"104e18a2-d755-4d4b-80c4-a6c1dcbe1c10","user_email":"darlene@example.com","total":999,"currency":"USD","status":"paid","updated_at":"2021-08-17T09:45:53.000000Z"}}}`},
	{Scheme: SchemeAdyen, Name: "Adyen", Family: "payments",
		Headers: "none: additionalData.hmacSignature in each notification item", Dedupe: "pspReference:eventCode:success of each item", Tolerance: "none",
		Body: "JSON (notificationItems); answer [accepted] with a respond step", Keep: "",
		Hint:   "Customer Area → Developers → Webhooks → + Webhook (Standard): paste the flow URL; under Security generate the HMAC key (hex) and copy it.",
		Sample: `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},"amount":{"currency":"EUR","value":1130},"eventCode":"AUTHORISATION","eventDate":"2019-05-06T17:15:34.121+02:00","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","paymentMethod":"visa","pspReference":"7914073381342284","success":"true"}}]}`},
	{Scheme: SchemeBraintree, Name: "Braintree", Family: "payments",
		Headers: "none: bt_signature and bt_payload form fields", Dedupe: "body.bt_payload (hashed)", Tolerance: "none",
		Body: "form-encoded: bt_payload is base64 XML", Keep: "",
		Hint:   "Braintree Control Panel → Settings (gear) → API → Webhooks → Create new webhook: paste the flow URL. The secret is the private key under API → API Keys.",
		Sample: `{"bt_signature":"public_key|signature","bt_payload":"PG5vdGlmaWNhdGlvbj48a2luZD5jaGVjazwva2luZD48L25vdGlmaWNhdGlvbj4="}`},
	{Scheme: "", Name: "Mollie", Family: "payments", Recipe: true,
		Headers: "none (Mollie does not sign)", Dedupe: "none by default (a payment's updates reuse its id)", Tolerance: "none",
		Body: "form-encoded: id=tr_…", Keep: "",
		Hint:   "Mollie sends only the payment id: the flow fetches the payment from Mollie's API (see flows/mollie-payment.json).",
		Sample: `{"id":"tr_WDqYK6vllg"}`},

	{Scheme: SchemeTypeform, Name: "Typeform", Family: "forms",
		Headers: "Typeform-Signature: sha256=… (base64)", Dedupe: "body.event_id", Tolerance: "none",
		Body: "JSON", Keep: "",
		Hint:   "Typeform → your form → Connect → Webhooks → Add a webhook: paste the flow URL, then Edit → Secret: type a secret of your own there and in Hookflow's Secrets.",
		Sample: `{"event_id":"LtWXD3crgy","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15","submitted_at":"2018-01-18T18:17:02Z","definition":{"id":"lT4Z3j","title":"Webhooks example"},"answers":[{"type":"email","email":"laura@example.com","field":{"id":"SMEUb7VJz92Q","type":"email"}}]}}`},
	{Scheme: SchemeTally, Name: "Tally", Family: "forms",
		Headers: "Tally-Signature (base64)", Dedupe: "body.eventId", Tolerance: "none",
		Body: "JSON", Keep: "",
		Hint:   "Tally → your form → Integrations → Webhooks → Connect: paste the flow URL and fill in a Signing secret of your own there and in Hookflow's Secrets.",
		Sample: `{"eventId":"a4cb511e-d513-4fa5-baee-b815d718dfd1","eventType":"FORM_RESPONSE","createdAt":"2023-06-28T15:00:21.889Z","data":{"responseId":"2wgx4n","submissionId":"2wgx4n","formId":"VwbNEw","formName":"Webhook payload","fields":[{"key":"question_mVGEg3_6a4f","label":"Email","type":"INPUT_EMAIL","value":"alice@example.com"}]}}`},
	{Scheme: SchemeWebflow, Name: "Webflow", Family: "forms",
		Headers: "x-webflow-signature (hex), x-webflow-timestamp (ms)", Dedupe: "triggerType:payload.id", Tolerance: "5m too old (Webflow's SDK); too new accepted",
		Body: "JSON", Keep: "",
		Hint:   "Webflow: webhooks created through the API (or an app) are signed; the secret is the webhook's secret returned at creation (apps: the app's client secret). Site settings → Apps & integrations → Webhooks lists them.",
		Sample: `{"triggerType":"form_submission","payload":{"name":"Contact Us","siteId":"65427cf400e02b306eaa049c","data":{"First Name":"Zaphod","Email":"zaphod@heartofgold.ai"},"submittedAt":"2022-09-14T12:35:16.117Z","id":"6321ca84df3949bfc6752327","formId":"65429eadebe8a9f3a30f62d0"}}`},
	{Scheme: SchemeCalendly, Name: "Calendly", Family: "forms",
		Headers: "Calendly-Webhook-Signature: t=…,v1=…", Dedupe: "event:payload.uri", Tolerance: "3m too old (Calendly's sample); too new accepted",
		Body: "JSON", Keep: "",
		Hint:   "Calendly webhooks are created through its API (POST /webhook_subscriptions with url = the flow URL and a signing_key of your own); keep the same signing key in Hookflow's Secrets.",
		Sample: `{"created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{"email":"test@example.com","name":"John Doe","status":"active","uri":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA","scheduled_event":{"name":"15 Minute Meeting","start_time":"2020-11-25T16:00:00.000000Z"}}}`},
	{Scheme: SchemeToken, Name: "Jotform", Family: "forms", Recipe: true,
		Headers: "none: the token rides in the URL (?token=…)", Dedupe: "set dedupe: trigger.body.submissionID", Tolerance: "none",
		Body: "multipart form; rawRequest holds the answers as a JSON string (json_decode)", Keep: "",
		Hint:   "Jotform → your form → Settings → Integrations → WebHooks: paste the flow URL followed by ?token= and a long random token kept in Hookflow's Secrets.",
		Sample: `{"formID":"31751954731962","submissionID":"5724218542918375512","formTitle":"Contact","rawRequest":"{\"q3_name\":{\"first\":\"Ada\",\"last\":\"Lovelace\"},\"q4_email\":\"ada@example.com\"}"}`},
	{Scheme: SchemeToken, Name: "Google Forms", Family: "forms", Recipe: true,
		Headers: "Authorization: Bearer … (set by the Apps Script)", Dedupe: "set dedupe to the response id the script sends", Tolerance: "none",
		Body: "JSON, as the Apps Script sends it", Keep: "",
		Hint:   "Google Forms has no webhooks: the form's Apps Script (Extensions → Apps Script, trigger On form submit) posts to the flow URL with UrlFetchApp and an Authorization: Bearer header holding a token kept in Hookflow's Secrets.",
		Sample: `{"responseId":"ACYDBNj4nF0","timestamp":"2024-05-02T10:00:00.000Z","answers":{"Name":"Ada","Email":"ada@example.com"}}`},

	{Scheme: SchemeTwilio, Name: "Twilio", Family: "messaging",
		Headers: "X-Twilio-Signature (base64 HMAC-SHA1 over URL + sorted form params)", Dedupe: "I-Twilio-Idempotency-Token header", Tolerance: "none",
		Body: "form-encoded (JSON with bodySHA256 in the URL for some products)", Keep: "I-Twilio-Idempotency-Token",
		Hint:   "Twilio Console → Phone Numbers → your number → Messaging/Voice configuration: paste the flow URL (and the same in verify.url). The secret is the Auth Token on the Console's account dashboard.",
		Sample: `{"MessageSid":"SM1234567890abcdef1234567890abcdef","AccountSid":"AC1234567890abcdef1234567890abcdef","From":"+14155551234","To":"+14155556789","Body":"Hello!","NumMedia":"0"}`},
	{Scheme: SchemeIntercom, Name: "Intercom", Family: "messaging",
		Headers: "X-Hub-Signature: sha1=… (hex)", Dedupe: "body.id (notification id)", Tolerance: "none",
		Body: "JSON", Keep: "",
		Hint:   "Intercom Developer Hub → your app → Webhooks: paste the flow URL as Endpoint URL. The secret is the app's client secret (Basic information).",
		Sample: `{"type":"notification_event","app_id":"abc123","id":"notif_ccd8a4d2-3c0a-4a58-9a92-1cb5f1f1e123","topic":"conversation.user.created","created_at":1671028894,"data":{"type":"notification_event_data","item":{"type":"conversation","id":"147","source":{"body":"<p>Hi</p>","author":{"email":"user@example.com"}}}}}`},
	{Scheme: SchemeZendesk, Name: "Zendesk", Family: "messaging",
		Headers: "X-Zendesk-Webhook-Signature (base64), X-Zendesk-Webhook-Signature-Timestamp", Dedupe: "X-Zendesk-Webhook-Invocation-Id header", Tolerance: "none unless verify.tolerance is set (then both ways)",
		Body: "JSON (as the webhook's request format says)", Keep: "X-Zendesk-Webhook-Id",
		Hint:   "Admin Center → Apps and integrations → Webhooks → Create webhook: paste the flow URL as Endpoint URL. The Signing secret is on the webhook's page (Reveal secret).",
		Sample: `{"type":"zen:event-type:ticket.created","account_id":22129848,"id":"cbe4028c-7239-495d-b020-f22348516046","time":"2024-05-02T18:44:43Z","zendesk_event_version":"2022-11-06","subject":"zen:ticket:34","detail":{"id":"34","subject":"Printer on fire","status":"NEW","requester_id":"8447388090495"}}`},
	{Scheme: SchemeMailgun, Name: "Mailgun", Family: "messaging",
		Headers: "none: signature.timestamp, .token, .signature in the body", Dedupe: "body[\"event-data\"].id, else the token", Tolerance: "none unless verify.tolerance is set (then both ways)",
		Body: "JSON (webhooks), multipart form (inbound routes)", Keep: "",
		Hint:   "Mailgun → Sending → Webhooks (or Receiving → Routes): paste the flow URL. The secret is the HTTP webhook signing key (Sending → Webhooks, or API Security).",
		Sample: `{"signature":{"timestamp":"1529006854","token":"a8ce0edb2dd8301dce9c1c9f8b9b1d7e3a8f8dd0e6a3c1b1c5","signature":"d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":1521472262.908181,"recipient":"alice@example.com","message":{"headers":{"message-id":"20130503182626.18666.16540@example.com","subject":"Test"}}}}`},
	{Scheme: SchemeSendGrid, Name: "SendGrid Event Webhook", Family: "messaging",
		Headers: "X-Twilio-Email-Event-Webhook-Signature (ECDSA), -Timestamp", Dedupe: "the batch's sg_event_id values", Tolerance: "none unless verify.tolerance is set (then both ways)",
		Body: "JSON array of events", Keep: "",
		Hint:   "SendGrid → Settings → Mail Settings → Event Webhook: paste the flow URL as Post URL, turn on Signed Event Webhook and copy the Verification Key (base64 public key) into Hookflow's Secrets.",
		Sample: `[{"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":"cat facts","sg_event_id":"sg_event_id","sg_message_id":"sg_message_id","response":"250 OK"}]`},
	{Scheme: SchemeBasic, Name: "Postmark", Family: "messaging", Recipe: true,
		Headers: "Authorization: Basic … (from the URL's user:password@)", Dedupe: "set dedupe: trigger.body.MessageID + trigger.body.RecordType", Tolerance: "none",
		Body: "JSON", Keep: "",
		Hint:   "Postmark → your server → Webhooks → Add webhook: paste the flow URL with a user and password in it (https://user:password@host/hooks/…), the same in verify.username and verify.password.",
		Sample: `{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"00000000-0000-0000-0000-000000000000","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2019-11-05T16:33:54.9070259Z","Details":"Test delivery webhook details"}`},
}
