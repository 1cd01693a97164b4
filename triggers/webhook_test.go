package triggers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

var received = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func compiled(t testing.TB, with string) *Webhook {
	t.Helper()
	w := new(Webhook)
	dec := json.NewDecoder(strings.NewReader(with))
	dec.DisallowUnknownFields()
	if err := dec.Decode(w); err != nil {
		t.Fatalf("decode %s: %v", with, err)
	}
	if ps := w.Compile(); len(ps) > 0 {
		t.Fatalf("Compile %s: %v", with, ps)
	}
	return w
}

func TestReceive(t *testing.T) {
	mpCT, mpRaw := multipartBody(t, [][2]string{{"email", "ada@example.com"}},
		[]struct{ field, name, ct, data string }{{"upload", "report.csv", "text/csv", "a,b\n1,2\n"}})
	tests := []struct {
		name     string
		with     string
		method   string
		path     string
		headers  map[string]string
		query    map[string][]string
		raw      string
		check    func(t *testing.T, ev *engine.Event)
		wantErr  error
		errMatch string
	}{
		{name: "form", with: `{}`, raw: "name=Ada&tag=x&tag=y",
			headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
			query:   map[string][]string{"src": {"site"}, "n": {"1", "2"}},
			path:    "/signup",
			check: func(t *testing.T, ev *engine.Event) {
				td := ev.Trigger
				wantBody := map[string]any{"name": "Ada", "tag": []any{"x", "y"}}
				if !reflect.DeepEqual(td.Body, wantBody) {
					t.Errorf("body = %#v", td.Body)
				}
				if !reflect.DeepEqual(td.Query, map[string]any{"src": "site", "n": []any{"1", "2"}}) {
					t.Errorf("query = %#v", td.Query)
				}
				if td.Type != "webhook" || td.Method != "POST" || td.Path != "/signup" || !td.ReceivedAt.Equal(received) {
					t.Errorf("trigger = %+v", td)
				}
				if td.Raw != "name=Ada&tag=x&tag=y" || len(td.Files) != 0 || td.Files == nil {
					t.Errorf("raw %q, files %#v; want the raw body and an empty, non-nil list", td.Raw, td.Files)
				}
				if ev.DedupeKey != "" || ev.DedupeWindow != DefaultDedupeWindow {
					t.Errorf("dedupe %q %s", ev.DedupeKey, ev.DedupeWindow)
				}
			}},
		{name: "multipart with a file", with: `{}`, raw: string(mpRaw), headers: map[string]string{"content-type": mpCT},
			check: func(t *testing.T, ev *engine.Event) {
				// sha256 of "a,b\n1,2\n", computed with sha256sum.
				want := []engine.File{{Field: "upload", Filename: "report.csv", ContentType: "text/csv", Size: 8,
					SHA256: "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"}}
				if !reflect.DeepEqual(ev.Trigger.Files, want) {
					t.Errorf("files = %#v", ev.Trigger.Files)
				}
				if !reflect.DeepEqual(ev.Trigger.Body, map[string]any{"email": "ada@example.com"}) {
					t.Errorf("body = %#v", ev.Trigger.Body)
				}
				if ev.Trigger.FileData != nil {
					t.Errorf("file data kept without keep_files")
				}
			}},
		{name: "multipart keep_files", with: `{"keep_files":true}`, raw: string(mpRaw), headers: map[string]string{"content-type": mpCT},
			check: func(t *testing.T, ev *engine.Event) {
				if got := ev.Trigger.FileData[sha("a,b\n1,2\n")]; got != "YSxiCjEsMgo=" {
					t.Errorf("file data = %v", ev.Trigger.FileData)
				}
			}},
		{name: "json files key stays in body", with: `{}`, raw: `{"files":[{"field":"x","filename":"../../etc/passwd","size":1,"sha256":"00"}]}`,
			headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if len(ev.Trigger.Files) != 0 || ev.Trigger.FileData != nil {
					t.Errorf("files = %#v: a JSON body must not produce files", ev.Trigger.Files)
				}
				if _, ok := ev.Trigger.Body.(map[string]any)["files"]; !ok {
					t.Errorf("body lost its files key: %#v", ev.Trigger.Body)
				}
				if m := TriggerMap(&ev.Trigger); len(m["files"].([]any)) != 0 {
					t.Errorf("trigger.files = %#v", m["files"])
				}
			}},
		{name: "xml is text, also parsed", with: `{}`, raw: `<note><to>Ada</to></note>`, headers: map[string]string{"content-type": "application/xml"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Body != `<note><to>Ada</to></note>` {
					t.Errorf("body = %#v", ev.Trigger.Body)
				}
				if !reflect.DeepEqual(ev.Trigger.XML, map[string]any{"note": map[string]any{"to": "Ada"}}) {
					t.Errorf("xml = %#v", ev.Trigger.XML)
				}
				if ev.Trigger.Raw != `<note><to>Ada</to></note>` {
					t.Errorf("raw = %q", ev.Trigger.Raw)
				}
			}},
		{name: "text keeps raw", with: `{}`, raw: "ping", headers: map[string]string{"content-type": "text/plain"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Body != "ping" || ev.Trigger.Raw != "ping" {
					t.Errorf("body %#v raw %q", ev.Trigger.Body, ev.Trigger.Raw)
				}
			}},
		{name: "json keeps raw", with: `{}`, raw: `{"a":1}`, headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Raw != `{"a":1}` {
					t.Errorf("raw = %q", ev.Trigger.Raw)
				}
			}},
		{name: "multipart omits raw", with: `{}`, raw: string(mpRaw), headers: map[string]string{"content-type": mpCT},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Raw != "" {
					t.Errorf("raw kept for multipart (it holds the uploads): %d bytes", len(ev.Trigger.Raw))
				}
			}},
		{name: "empty body", with: `{}`, raw: "", headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Body != nil {
					t.Errorf("body = %#v", ev.Trigger.Body)
				}
			}},
		{name: "bad json", with: `{}`, raw: `{"a":`, headers: map[string]string{"content-type": "application/json"}, wantErr: engine.ErrBadBody},
		{name: "method refused", with: `{"methods":"PUT"}`, raw: "", wantErr: engine.ErrMethod},
		{name: "method allowed", with: `{"methods":"get, post"}`, method: "GET", raw: "",
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Trigger.Method != "GET" {
					t.Errorf("method = %q", ev.Trigger.Method)
				}
			}},
		{name: "token header redacted", with: `{"verify":{"scheme":"token","secret":"tok"}}`, raw: "",
			headers: map[string]string{"authorization": "Bearer tok", "x-other": "1"},
			check: func(t *testing.T, ev *engine.Event) {
				if h := ev.Trigger.Headers; h["authorization"] != "[redacted]" || h["x-other"] != "1" {
					t.Errorf("headers = %v", h)
				}
			}},
		{name: "custom dedupe expression", with: `{"dedupe":"trigger.body.order.id + ':' + trigger.query.shop","dedupe_window":"1h"}`,
			raw: `{"order":{"id":"o-1"}}`, headers: map[string]string{"content-type": "application/json"},
			query: map[string][]string{"shop": {"paris"}},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.DedupeKey != "o-1:paris" || ev.DedupeWindow != time.Hour {
					t.Errorf("dedupe = %q %s", ev.DedupeKey, ev.DedupeWindow)
				}
			}},
		{name: "custom dedupe number and header", with: `{"dedupe":"trigger.body.n"}`, raw: `{"n":42}`,
			headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.DedupeKey != "42" {
					t.Errorf("dedupe = %q", ev.DedupeKey)
				}
			}},
		{name: "custom dedupe missing field is no key", with: `{"dedupe":"trigger.body.nope.id"}`, raw: `{}`,
			headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.DedupeKey != "" {
					t.Errorf("dedupe = %q", ev.DedupeKey)
				}
			}},
		{name: "custom dedupe long key hashed", with: `{"dedupe":"trigger.body.k"}`, raw: `{"k":"` + strings.Repeat("k", 300) + `"}`,
			headers: map[string]string{"content-type": "application/json"},
			check: func(t *testing.T, ev *engine.Event) {
				if ev.DedupeKey != "sha256:"+sha(strings.Repeat("k", 300)) {
					t.Errorf("dedupe = %q", ev.DedupeKey)
				}
			}},
		{name: "custom dedupe error", with: `{"dedupe":"trigger.body.a + 1"}`, raw: `{"a":"x"}`,
			headers: map[string]string{"content-type": "application/json"}, wantErr: engine.ErrBadBody, errMatch: "dedupe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := compiled(t, tc.with)
			method := tc.method
			if method == "" {
				method = "POST"
			}
			headers := tc.headers
			if headers == nil {
				headers = map[string]string{}
			}
			in := &engine.Inbound{Method: method, Path: tc.path, Headers: headers, Query: tc.query, Raw: []byte(tc.raw), ReceivedAt: received}
			ev, err := w.Receive(in, &engine.ReceiveContext{Now: received})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(fmt.Sprint(err), tc.errMatch) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			tc.check(t, ev)
		})
	}
}

func TestReceiveDefaultDedupe(t *testing.T) {
	sign := func(key, msg string) string { return macHex(sha256New, key, msg) }
	tests := []struct {
		name    string
		with    string
		headers map[string]string
		raw     string
		now     time.Time
		want    string
	}{
		{name: "stripe event id", with: `{"verify":{"scheme":"stripe","secret":"` + stripeSecret + `"}}`,
			headers: map[string]string{"content-type": "application/json", "stripe-signature": "t=1700000000,v1=" + stripeSig},
			raw:     stripeBody, now: time.Unix(stripeTS, 0), want: "evt_test_webhook"},
		{name: "github delivery", with: `{"verify":{"scheme":"github","secret":"mysecret"}}`,
			headers: map[string]string{"content-type": "application/json", "x-hub-signature-256": octoSig, "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			raw:     octoBody, want: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{name: "shopify event id", with: `{"verify":{"scheme":"shopify","secret":"hush"}}`,
			headers: map[string]string{"content-type": "application/json", "x-shopify-hmac-sha256": shopifySig, "x-shopify-event-id": "ev-1", "x-shopify-webhook-id": "wh-1"},
			raw:     shopifyBody, want: "ev-1"},
		{name: "shopify webhook id fallback", with: `{"verify":{"scheme":"shopify","secret":"hush"}}`,
			headers: map[string]string{"content-type": "application/json", "x-shopify-hmac-sha256": shopifySig, "x-shopify-webhook-id": "wh-1"},
			raw:     shopifyBody, want: "wh-1"},
		{name: "standard webhook-id", with: `{"verify":{"scheme":"standard","secret":"` + swSecret + `"}}`,
			headers: map[string]string{"content-type": "application/json", "webhook-id": swID, "webhook-timestamp": "1614265330", "webhook-signature": swSig},
			raw:     swBody, now: time.Unix(swTS, 0), want: swID},
		{name: "slack has none", with: `{"verify":{"scheme":"slack","secret":"` + slackSecret + `"}}`,
			headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": "1531420618", "x-slack-signature": slackSig},
			raw:     slackBody, now: time.Unix(slackTS, 0), want: ""},
		{name: "hmac has none", with: `{"verify":{"scheme":"hmac","secret":"k","header":"x-sig"}}`,
			headers: map[string]string{"x-sig": sign("k", "b"), "webhook-id": "x"}, raw: "b", want: ""},
		{name: "expression wins over scheme default", with: `{"dedupe":"trigger.body.object","verify":{"scheme":"stripe","secret":"` + stripeSecret + `"}}`,
			headers: map[string]string{"content-type": "application/json", "stripe-signature": "t=1700000000,v1=" + stripeSig},
			raw:     stripeBody, now: time.Unix(stripeTS, 0), want: "event"},
		{name: "no verify has none", with: `{}`, headers: map[string]string{"x-github-delivery": "d", "webhook-id": "w"}, raw: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := compiled(t, tc.with)
			now := tc.now
			if now.IsZero() {
				now = received
			}
			ev, err := w.Receive(&engine.Inbound{Method: "POST", Headers: tc.headers, Raw: []byte(tc.raw), ReceivedAt: now}, &engine.ReceiveContext{Now: now})
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if ev.DedupeKey != tc.want {
				t.Errorf("dedupe key = %q, want %q", ev.DedupeKey, tc.want)
			}
		})
	}
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name string
		with string
		want []string // "path: message fragment"
	}{
		{name: "unknown scheme", with: `{"verify":{"scheme":"carrier-pigeon","secret":"x"}}`, want: []string{"verify.scheme: unknown scheme \"carrier-pigeon\""}},
		{name: "missing scheme", with: `{"verify":{"secret":"x"}}`, want: []string{"verify.scheme: required"}},
		{name: "missing secret", with: `{"verify":{"scheme":"stripe"}}`, want: []string{"verify.secret: required"}},
		{name: "bad secret template", with: `{"verify":{"scheme":"github","secret":"{{ secrets. }}"}}`, want: []string{"verify.secret:"}},
		{name: "secret outside scope", with: `{"verify":{"scheme":"github","secret":"{{ trigger.body.x }}"}}`, want: []string{"verify.secret:"}},
		{name: "standard secret not base64", with: `{"verify":{"scheme":"standard","secret":"whsec_!!"}}`, want: []string{"verify.secret: a Standard Webhooks secret"}},
		{name: "hmac without header", with: `{"verify":{"scheme":"hmac","secret":"x","algorithm":"md5","encoding":"b32"}}`,
			want: []string{"verify.header: required", "verify.algorithm: unknown algorithm", "verify.encoding: unknown encoding"}},
		{name: "field not used by scheme", with: `{"verify":{"scheme":"github","secret":"x","tolerance":"1m","header":"x-y"}}`,
			want: []string{"verify.tolerance: not used", "verify.header: not used"}},
		{name: "basic without credentials", with: `{"verify":{"scheme":"basic","secret":"x"}}`, want: []string{"verify.secret: not used", "verify.password: required"}},
		{name: "bad dedupe", with: `{"dedupe":"trigger.body.id +"}`, want: []string{"dedupe:"}},
		{name: "dedupe unknown name", with: `{"dedupe":"steps.a.output"}`, want: []string{"dedupe:"}},
		{name: "dedupe sees only trigger", with: `{"dedupe":"flow.id"}`, want: []string{"dedupe:"}},
		{name: "redirect never sees secrets", with: `{"respond":{"mode":"redirect","url":"https://x/?k={{ secrets.KEY }}"}}`, want: []string{"respond.url:"}},
		{name: "dedupe too costly", with: `{"dedupe":"all(trigger.body.a, {all(#, {all(#, {true})})})"}`, want: []string{"dedupe: closures nested"}},
		{name: "negative values", with: `{"dedupe_window":"-1h","body_limit":-1,"verify":{"scheme":"stripe","secret":"x","tolerance":"-1s"}}`,
			want: []string{"verify.tolerance: must not be negative", "dedupe_window: must not be negative", "body_limit: must not be negative"}},
		{name: "respond", with: `{"respond":{"mode":"later","timeout":"-1s"}}`, want: []string{"respond.mode: unknown mode", "respond.timeout: must not be negative"}},
		{name: "redirect without url", with: `{"respond":{"mode":"redirect"}}`, want: []string{"respond.url: required"}},
		{name: "redirect bad template", with: `{"respond":{"mode":"redirect","url":"https://x/{{ run.id "}}`, want: []string{"respond.url: unclosed"}},
		{name: "rate limit", with: `{"rate_limit":{"requests":0,"per":"-1s","burst":-1}}`,
			want: []string{"rate_limit.requests: must be at least 1", "rate_limit.per: must not be negative", "rate_limit.burst: must not be negative"}},
		{name: "bad method", with: `{"methods":["POST","GE T"]}`, want: []string{"methods[1]:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := new(Webhook)
			if err := json.Unmarshal([]byte(tc.with), w); err != nil {
				t.Fatal(err)
			}
			ps := w.Compile()
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(got[i], want) && !strings.Contains(got[i], want) {
					t.Errorf("problem %d = %q, want %q", i, got[i], want)
				}
			}
			if _, err := w.Receive(&engine.Inbound{Method: "POST"}, nil); !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("Receive with bad settings: err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestWebhookAccessors(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		w := compiled(t, `{}`)
		if !w.AllowsMethod("POST") || !w.AllowsMethod("post") || w.AllowsMethod("GET") {
			t.Error("default methods should be POST only")
		}
		if w.Limit(0) != 1<<20 || w.Limit(4096) != 4096 {
			t.Errorf("Limit = %d / %d", w.Limit(0), w.Limit(4096))
		}
		if w.RespondMode() != "immediate" || w.RespondTimeout() != 10*time.Second {
			t.Errorf("respond = %s %s", w.RespondMode(), w.RespondTimeout())
		}
		if _, err := w.RedirectURL(nil); err == nil {
			t.Error("RedirectURL without url should fail")
		}
	})
	t.Run("set", func(t *testing.T) {
		w := compiled(t, `{"methods":["*"],"body_limit":26214400,"respond":{"mode":"redirect","timeout":"3s","url":"https://example.com/thanks?run={{ run.id }}&n={{ trigger.body.name }}"}}`)
		if !w.AllowsMethod("DELETE") {
			t.Error("* should allow any method")
		}
		if w.Limit(0) != 25<<20 || w.Limit(1<<20) != 1<<20 {
			t.Errorf("Limit = %d / %d", w.Limit(0), w.Limit(1<<20))
		}
		if w.RespondMode() != "redirect" || w.RespondTimeout() != 3*time.Second {
			t.Errorf("respond = %s %s", w.RespondMode(), w.RespondTimeout())
		}
		td := engine.TriggerData{Type: "webhook", Body: map[string]any{"name": "Ada"}}
		u, err := w.RedirectURL(map[string]any{"trigger": TriggerMap(&td), "run": map[string]any{"id": "01J"}})
		if err != nil || u != "https://example.com/thanks?run=01J&n=Ada" {
			t.Errorf("RedirectURL = %q, %v", u, err)
		}
	})
}

func TestTriggerMapIsPlainData(t *testing.T) {
	td := engine.TriggerData{
		Type: "webhook", Method: "POST", Path: "/x",
		Headers:    map[string]string{"x-a": "1"},
		Query:      map[string]any{"q": "1", "l": []string{"a", "b"}},
		Body:       map[string]any{"a": 1.0},
		Files:      []engine.File{{Field: "f", Filename: "a.txt", ContentType: "text/plain", Size: 3, SHA256: "ab"}},
		ReceivedAt: time.Date(2026, 11, 22, 11, 0, 0, 0, time.FixedZone("CET", 3600)),
		FileData:   map[string]string{"ab": "eA=="},
	}
	m := TriggerMap(&td)
	want := map[string]any{
		"type": "webhook", "method": "POST", "path": "/x",
		"headers":     map[string]any{"x-a": "1"},
		"query":       map[string]any{"q": "1", "l": []any{"a", "b"}},
		"body":        map[string]any{"a": 1.0},
		"files":       []any{map[string]any{"field": "f", "filename": "a.txt", "content_type": "text/plain", "size": int64(3), "sha256": "ab"}},
		"raw":         "",
		"received_at": "2026-11-22T10:00:00Z",
		"reconciled":  false,
		"raw_base64":  false,
		"file_data":   map[string]any{"ab": "eA=="},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("TriggerMap =\n%#v\nwant\n%#v", m, want)
	}
	// Expressions reach every part of it.
	e, err := engine.CompileExpr(`trigger.headers["x-a"] + trigger.files[0].filename + trigger.query.l[1] + trigger.received_at`, engine.TriggerScope)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Eval(map[string]any{"trigger": m})
	if err != nil || got != "1a.txtb2026-11-22T10:00:00Z" {
		t.Errorf("eval = %v, %v", got, err)
	}
}

// stripeEvent returns a realistic ~2 KB Stripe event.
func stripeEvent() []byte {
	obj := `{"id":"pi_3NG8Dt2eZvKYlo2C0YdOp3Ox","object":"payment_intent","amount":2000,"amount_capturable":0,"amount_details":{"tip":{}},"amount_received":2000,"application":null,"application_fee_amount":null,"automatic_payment_methods":null,"canceled_at":null,"cancellation_reason":null,"capture_method":"automatic","client_secret":"pi_3NG8Dt2eZvKYlo2C0YdOp3Ox_secret_xxxxxxxxxxxx","confirmation_method":"automatic","created":1686089969,"currency":"usd","customer":"cus_NzB8EzAcVy2XJk","description":"Order #1042 \u2014 2 items","invoice":null,"last_payment_error":null,"latest_charge":"ch_3NG8Dt2eZvKYlo2C0NYbbyBH","livemode":false,"metadata":{"order_id":"1042","source":"web","campaign":"black-friday-2026","customer_note":"Please leave the parcel with the concierge at the front desk."},"charges":{"object":"list","data":[],"has_more":false,"total_count":1,"url":"/v1/charges?payment_intent=pi_3NG8Dt2eZvKYlo2C0YdOp3Ox"},"next_action":null,"on_behalf_of":null,"payment_method":"pm_1NG8Dt2eZvKYlo2CjJnRTAdq","payment_method_options":{"card":{"installments":null,"mandate_options":null,"network":null,"request_three_d_secure":"automatic"}},"payment_method_types":["card"],"processing":null,"receipt_email":"jenny.rosen@example.com","review":null,"setup_future_usage":null,"shipping":{"address":{"city":"San Francisco","country":"US","line1":"510 Townsend St","line2":null,"postal_code":"94103","state":"CA"},"carrier":null,"name":"Jenny Rosen","phone":"+14155550100","tracking_number":null},"source":null,"statement_descriptor":null,"statement_descriptor_suffix":null,"status":"succeeded","transfer_data":null,"transfer_group":null}`
	ev := `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","api_version":"2022-11-15","created":1686089970,"data":{"object":` + obj +
		`,"previous_attributes":{"status":"requires_payment_method","amount_received":0}},"livemode":false,"pending_webhooks":2,"request":{"id":"req_8Q3kR0pYc2v1Xz","idempotency_key":"5e1a6b0c-3f4d-4c1e-9a7b-2d8f6e4c1a90"},"type":"payment_intent.succeeded"}`
	return []byte(ev)
}

func BenchmarkReceiveStripe(b *testing.B) {
	body := stripeEvent()
	w := compiled(b, `{"verify":{"scheme":"stripe","secret":"{{ secrets.STRIPE_WHSEC }}"}}`)
	sig := macHex(sha256New, stripeSecret, "1700000000."+string(body))
	in := &engine.Inbound{Method: "POST", Headers: map[string]string{
		"content-type": "application/json", "stripe-signature": "t=1700000000,v1=" + sig,
		"user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "accept": "*/*; q=0.5, application/xml",
	}, Raw: body, ReceivedAt: time.Unix(stripeTS, 0)}
	rc := &engine.ReceiveContext{Secrets: map[string]any{"STRIPE_WHSEC": stripeSecret}, Now: time.Unix(stripeTS+1, 0)}
	ev, err := w.Receive(in, rc)
	if err != nil || ev.DedupeKey != "evt_1NG8Du2eZvKYlo2CUI79vXWy" {
		b.Fatalf("Receive: %v %+v", err, ev)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Receive(in, rc); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStripeEventSize(t *testing.T) {
	if n := len(stripeEvent()); n < 1800 || n > 2400 || !json.Valid(stripeEvent()) || bytes.Contains(stripeEvent(), []byte("\n")) {
		t.Errorf("benchmark event is %d bytes, want a valid ~2 KB event", n)
	}
}
