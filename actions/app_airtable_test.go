package actions

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// airtableAuth enforces Airtable's Bearer token and answers 401 as it does.
func airtableAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer patAIRTABLE123.secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestAppAirtable(t *testing.T) {
	const rec = `{"id":"recA1","createdTime":"2026-01-01T00:00:00.000Z","fields":{"Name":"Ada"}}`
	e := newAppEnv(t, "airtable", airtableAuth(fakeAPI(t,
		fakeRule{method: "POST", path: "/v0/appBASE1/Leads", answer: `{"records":[` + rec + `]}`,
			check: want(map[string]any{"records.0.fields.Name": "Ada", "absent:typecast": true, "header:Content-Type": "application/json"})},
		fakeRule{method: "POST", path: "/v0/appBASE1/Bad Table", status: 422,
			answer: `{"error":{"type":"INVALID_VALUE_FOR_COLUMN","message":"Field \"Age\" cannot accept the provided value"}}`},
		fakeRule{method: "POST", path: "/v0/appBASE1/Busy", status: 429, header: map[string]string{"Retry-After": "30"},
			answer: `{"errors":[{"error":"RATE_LIMIT_REACHED","message":"Rate limit exceeded"}]}`},
		fakeRule{method: "PATCH", path: "/v0/appBASE1/Leads/recA1", answer: rec,
			check: want(map[string]any{"fields.Status": "Contacted", "typecast": true})},
		fakeRule{method: "GET", path: "/v0/appBASE1/Leads",
			check: want(map[string]any{"query:filterByFormula": "{Email} = 'ada@example.com'", "query:pageSize": "100"}),
			reply: func(r *http.Request) (int, string) {
				if r.URL.Query().Get("offset") == "itrNEXT" {
					return 200, `{"records":[{"id":"recB2","fields":{}}]}`
				}
				return 200, `{"records":[` + rec + `],"offset":"itrNEXT"}`
			}},
	)))
	e.conn("at", &engine.Credential{Type: engine.ConnBearer, Token: "patAIRTABLE123.secret"})
	e.conn("wrong", &engine.Credential{Type: engine.ConnBearer, Token: "patWRONG"})
	e.conn("basic", &engine.Credential{Type: engine.ConnBasic, Username: "u", Password: "p"})

	tests := []struct {
		name, op, with string
		class, want    string
		out            string // a path in the output and its value
		outVal         any
	}{
		{name: "create", op: "create_record", with: `{"connection":"at","base_id":"appBASE1","table":"Leads","fields":{"Name":"Ada"}}`,
			class: "ok", out: "id", outVal: "recA1"},
		{name: "update with typecast", op: "update_record",
			with:  `{"connection":"at","base_id":"appBASE1","table":"Leads","record_id":"recA1","fields":{"Status":"Contacted"},"typecast":"true"}`,
			class: "ok", out: "fields.Name", outVal: "Ada"},
		{name: "find follows pages", op: "find_records", with: `{"connection":"at","base_id":"appBASE1","table":"Leads","formula":"{Email} = 'ada@example.com'"}`,
			class: "ok", out: "count", outVal: 2},
		{name: "422 is permanent with Airtable's message", op: "create_record",
			with: `{"connection":"at","base_id":"appBASE1","table":"Bad Table","fields":{"Age":"x"}}`, class: "permanent", want: `Field "Age" cannot accept`},
		{name: "429 is retried", op: "create_record", with: `{"connection":"at","base_id":"appBASE1","table":"Busy","fields":{}}`,
			class: "retryable", want: "HTTP 429"},
		{name: "bad token", op: "create_record", with: `{"connection":"wrong","base_id":"appBASE1","table":"Leads","fields":{}}`,
			class: "permanent", want: "Authentication required"},
		{name: "wrong connection type", op: "create_record", with: `{"connection":"basic","base_id":"appBASE1","table":"Leads","fields":{}}`,
			class: "permanent", want: "takes bearer or oauth2"},
		{name: "missing connection", op: "create_record", with: `{"connection":"nope","base_id":"appBASE1","table":"Leads","fields":{}}`,
			class: "permanent", want: "does not exist"},
		{name: "unknown field", op: "create_record", with: `{"connection":"at","base_id":"appBASE1","table":"Leads","fields":{},"colour":"red"}`,
			class: "permanent", want: `unknown field "colour"`},
		{name: "missing required field", op: "create_record", with: `{"connection":"at","table":"Leads","fields":{}}`,
			class: "permanent", want: "base_id: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.run(tc.op, tc.with)
			checkErr(t, err, tc.class, tc.want)
			if err != nil && strings.Contains(err.Error(), "patAIRTABLE123") {
				t.Errorf("error shows the token: %v", err)
			}
			if tc.out != "" {
				got := fmt.Sprint(dig(out, tc.out))
				if got != fmt.Sprint(tc.outVal) {
					t.Errorf("output %s = %v, want %v (%v)", tc.out, got, tc.outVal, out)
				}
			}
		})
	}
}
