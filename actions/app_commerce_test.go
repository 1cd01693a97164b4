package actions

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestAppSalesforce(t *testing.T) {
	var e *appEnv
	e = newAppEnv(t, "salesforce", requireHeader("Authorization", "Bearer 00Dsf!token", 401,
		`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, fakeAPI(t,
			fakeRule{method: "POST", path: "/services/data/v61.0/sobjects/Lead/", status: 201,
				check:  want(map[string]any{"LastName": "Lovelace", "Company": "Analytical Engines"}),
				answer: `{"id":"00Q5e000001","success":true,"errors":[]}`},
			fakeRule{method: "POST", path: "/services/data/v61.0/sobjects/Contact/", status: 400,
				answer: `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`},
			fakeRule{method: "PATCH", path: "/services/data/v61.0/sobjects/Contact/0035e000002", status: 204,
				check: want(map[string]any{"Phone": "+33 1 23 45 67 89"})},
		)))
	// instance_url comes from the token answer (auth.extra).
	e.conn("sf", &engine.Credential{Type: engine.ConnOAuth2, Token: "00Dsf!token", Extra: map[string]any{"instance_url": e.srv.URL}})
	e.conn("expired", &engine.Credential{Type: engine.ConnOAuth2, Token: "00Dsf!old", Extra: map[string]any{"instance_url": e.srv.URL}})
	e.conns.next["expired"] = &engine.Credential{Connection: "expired", Type: engine.ConnOAuth2, Token: "00Dsf!token", Extra: map[string]any{"instance_url": e.srv.URL}}
	e.conn("evil", &engine.Credential{Type: engine.ConnOAuth2, Token: "00Dsf!token", Extra: map[string]any{"instance_url": "file:///etc"}})
	runAppCases(t, e, []appCase{
		{name: "create lead", op: "create_record", with: `{"connection":"sf","object":"Lead","fields":{"LastName":"Lovelace","Company":"Analytical Engines"}}`,
			class: "ok", out: "id", outVal: "00Q5e000001"},
		{name: "missing field", op: "create_record", with: `{"connection":"sf","object":"Contact","fields":{"FirstName":"Ada"}}`,
			class: "permanent", want: "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"},
		{name: "update contact", op: "update_record", with: `{"connection":"sf","object":"Contact","record_id":"0035e000002","fields":{"Phone":"+33 1 23 45 67 89"}}`,
			class: "ok", out: "updated", outVal: true},
		{name: "expired session refreshes once", op: "create_record", with: `{"connection":"expired","object":"Lead","fields":{"LastName":"Lovelace","Company":"Analytical Engines"}}`,
			class: "ok", out: "success", outVal: true},
		{name: "unknown object", op: "create_record", with: `{"connection":"sf","object":"Spaceship","fields":{}}`, class: "permanent", want: "must be one of"},
		{name: "instance_url must be http", op: "create_record", with: `{"connection":"evil","object":"Lead","fields":{}}`, class: "permanent", want: "http:// or https://"},
	})
}

func TestAppStripe(t *testing.T) {
	e := newAppEnv(t, "stripe", requireHeader("Authorization", "Bearer sk_test_STRIPE1", 401,
		`{"error":{"message":"Invalid API Key provided: sk_test_****","type":"invalid_request_error"}}`, fakeAPI(t,
			fakeRule{method: "POST", path: "/v1/customers", check: func(r *http.Request, b map[string]any) string {
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
					return "not form-encoded"
				}
				return want(map[string]any{"email": "ada@example.com", "metadata[signup_id]": "s1", "header:Idempotency-Key": "run_1:step_1", "absent:description": true})(r, b)
			}, answer: `{"id":"cus_1","object":"customer","email":"ada@example.com"}`},
			fakeRule{method: "POST", path: "/v1/refunds", check: func(r *http.Request, b map[string]any) string {
				return want(map[string]any{"payment_intent": "pi_1", "amount": "1500", "reason": "requested_by_customer"})(r, b)
			}, reply: func(r *http.Request) (int, string) {
				r.ParseForm()
				if r.PostForm.Get("payment_intent") == "pi_1" {
					return 200, `{"id":"re_1","object":"refund","amount":1500,"status":"succeeded"}`
				}
				return 400, `{"error":{"code":"charge_already_refunded","message":"Charge ch_1 has already been refunded.","type":"invalid_request_error"}}`
			}},
		)))
	e.conn("st", &engine.Credential{Type: engine.ConnBearer, Token: "sk_test_STRIPE1"})
	runAppCases(t, e, []appCase{
		{name: "customer", op: "create_customer", with: `{"connection":"st","email":"ada@example.com","metadata":{"signup_id":"s1"}}`, class: "ok", out: "id", outVal: "cus_1"},
		{name: "refund", op: "create_refund", with: `{"connection":"st","payment_intent":"pi_1","amount":"1500","reason":"requested_by_customer"}`,
			class: "ok", out: "status", outVal: "succeeded"},
	})
	e2 := newAppEnv(t, "stripe", fakeAPI(t, fakeRule{method: "POST", path: "/v1/refunds", status: 400,
		answer: `{"error":{"code":"charge_already_refunded","message":"Charge ch_1 has already been refunded.","type":"invalid_request_error"}}`}))
	e2.conn("st", &engine.Credential{Type: engine.ConnBearer, Token: "sk_test_STRIPE1"})
	runAppCases(t, e2, []appCase{{name: "already refunded", op: "create_refund", with: `{"connection":"st","charge":"ch_1"}`,
		class: "permanent", want: "invalid_request_error (charge_already_refunded): Charge ch_1 has already been refunded."}})
}

func TestAppShopify(t *testing.T) {
	e := newAppEnv(t, "shopify", requireHeader("X-Shopify-Access-Token", "shpat_1", 401, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`,
		fakeAPI(t, fakeRule{method: "POST", path: "/admin/api/2025-01/graphql.json", reply: func(r *http.Request) (int, string) {
			b := mustJSON(r)
			switch {
			case dig(b, "variables.id") == "gid://shopify/Order/1001" && dig(b, "variables.tags.1") == "paid":
				return 200, `{"data":{"tagsAdd":{"node":{"id":"gid://shopify/Order/1001"},"userErrors":[]}},"extensions":{"cost":{"requestedQueryCost":10}}}`
			case dig(b, "variables.id") == "gid://shopify/Order/busy":
				return 200, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`
			case dig(b, "variables.input.email") == "taken@example.com":
				return 200, `{"data":{"customerCreate":{"customer":null,"userErrors":[{"field":["email"],"message":"Email has already been taken"}]}}}`
			case dig(b, "variables.input.email") != nil:
				return 200, `{"data":{"customerCreate":{"customer":{"id":"gid://shopify/Customer/7","email":"ada@example.com"},"userErrors":[]}}}`
			}
			return 200, `{"errors":[{"message":"Variable $id of type ID! was provided invalid value"}]}`
		}})))
	e.conn("sh", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "shpat_1", Params: map[string]string{"shop": "acme"}})
	e.conn("bad", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "shpat_bad", Params: map[string]string{"shop": "acme"}})
	runAppCases(t, e, []appCase{
		{name: "tag order", op: "add_order_tags", with: `{"connection":"sh","order_id":1001,"tags":"vip, paid"}`, class: "ok", out: "id", outVal: "gid://shopify/Order/1001"},
		{name: "throttled is retried", op: "add_order_tags", with: `{"connection":"sh","order_id":"gid://shopify/Order/busy","tags":"x"}`, class: "retryable", want: "Throttled"},
		{name: "create customer", op: "create_customer", with: `{"connection":"sh","email":"ada@example.com","first_name":"Ada"}`, class: "ok", out: "id", outVal: "gid://shopify/Customer/7"},
		{name: "user error", op: "create_customer", with: `{"connection":"sh","email":"taken@example.com"}`, class: "permanent", want: "Email has already been taken"},
		{name: "bad token", op: "create_customer", with: `{"connection":"bad","email":"a@example.com"}`, class: "permanent", want: "Invalid API key or access token"},
	})
}
