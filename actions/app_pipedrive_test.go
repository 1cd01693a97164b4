package actions

import (
	"net/http"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestAppPipedrive(t *testing.T) {
	e := newAppEnv(t, "pipedrive", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api_token") != "pd-token-1" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			w.Write([]byte(`{"success":false,"error":"unauthorized access","errorCode":401,"error_info":"Please check developers.pipedrive.com"}`))
			return
		}
		fakeAPI(t,
			fakeRule{method: "GET", path: "/v1/persons/search", check: want(map[string]any{"query:term": "ada@example.com", "query:fields": "email", "query:exact_match": "true"}),
				answer: `{"success":true,"data":{"items":[{"result_score":1,"item":{"id":7,"name":"Ada"}}]}}`},
			fakeRule{method: "POST", path: "/v1/persons", check: want(map[string]any{"name": "Ada", "email.0.value": "ada@example.com", "email.0.primary": true, "absent:phone": true}),
				answer: `{"success":true,"data":{"id":8,"name":"Ada"}}`, status: 201},
			fakeRule{method: "POST", path: "/v1/deals", check: want(map[string]any{"title": "Order 7", "value": 120.0, "person_id": 8.0, "absent:org_id": true}),
				answer: `{"success":true,"data":{"id":55,"title":"Order 7"}}`, status: 201},
		).ServeHTTP(w, r)
	}))
	e.conn("pd", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "pd-token-1"})
	e.conn("bad", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "pd-token-x"})
	runAppCases(t, e, []appCase{
		{name: "find", op: "find_person", with: `{"connection":"pd","email":"ada@example.com"}`, class: "ok", out: "items.0.id", outVal: 7},
		{name: "create person", op: "create_person", with: `{"connection":"pd","name":"Ada","email":"ada@example.com"}`, class: "ok", out: "id", outVal: 8},
		{name: "create deal", op: "create_deal", with: `{"connection":"pd","title":"Order 7","value":"120","person_id":8}`, class: "ok", out: "id", outVal: 55},
		{name: "bad token", op: "find_person", with: `{"connection":"bad","email":"a@example.com"}`, class: "permanent", want: "unauthorized access"},
	})
}
