package actions

import (
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// TestAppHubSpot: the hubspot app file makes the same requests and outputs as
// the hubspot kind, with a connection instead of a token.
func TestAppHubSpot(t *testing.T) {
	e := newAppEnv(t, "hubspot", requireHeader("Authorization", "Bearer pat-na1-1", 401,
		`{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`, fakeAPI(t,
			fakeRule{method: "POST", path: "/crm/v3/objects/contacts/batch/upsert",
				check: want(map[string]any{"inputs.0.idProperty": "email", "inputs.0.id": "ada@example.com",
					"inputs.0.properties.email": "ada@example.com", "inputs.0.properties.firstname": "Ada"}),
				answer: `{"status":"COMPLETE","results":[{"id":"101","properties":{"email":"ada@example.com"},"new":true}]}`},
			fakeRule{method: "POST", path: "/crm/v3/objects/deals",
				check: want(map[string]any{"properties.dealname": "Order 7", "associations.0.to.id": "101",
					"associations.0.types.0.associationTypeId": 3.0}),
				answer: `{"id":"202","properties":{"dealname":"Order 7"}}`, status: 201},
			fakeRule{method: "PATCH", path: "/crm/v3/objects/deals/202", check: want(map[string]any{"properties.dealstage": "closedwon"}),
				answer: `{"id":"202","properties":{"dealstage":"closedwon"}}`},
			fakeRule{method: "PUT", path: "/crm/v4/objects/contact/101/associations/default/deal/202",
				answer: `{"status":"COMPLETE","results":[]}`},
			fakeRule{method: "PATCH", path: "/crm/v3/objects/deals/404", status: 404,
				answer: `{"status":"error","message":"Object not found.  objectId are usually numeric.","category":"OBJECT_NOT_FOUND"}`},
		)))
	e.conn("hs", &engine.Credential{Type: engine.ConnBearer, Token: "pat-na1-1"})
	runAppCases(t, e, []appCase{
		{name: "upsert contact", op: "upsert_contact", with: `{"connection":"hs","email":"ada@example.com","properties":{"firstname":"Ada"}}`,
			class: "ok", out: "created", outVal: true},
		{name: "create deal", op: "create_deal", with: `{"connection":"hs","properties":{"dealname":"Order 7"},"contact_id":"101"}`,
			class: "ok", out: "id", outVal: "202"},
		{name: "update deal", op: "update_deal", with: `{"connection":"hs","deal_id":"202","properties":{"dealstage":"closedwon"}}`,
			class: "ok", out: "properties.dealstage", outVal: "closedwon"},
		{name: "associate", op: "associate", with: `{"connection":"hs","contact_id":"101","deal_id":"202"}`,
			class: "ok", out: "associated", outVal: true},
		{name: "not found", op: "update_deal", with: `{"connection":"hs","deal_id":"404","properties":{"a":"b"}}`,
			class: "permanent", want: "Object not found."},
	})
}
