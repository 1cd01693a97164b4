package actions

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// fakeHubSpot enforces the CRM API's documented request shapes and answers
// like HubSpot: contacts are keyed by email; a deal named "dup" conflicts
// (409); a deal named "slow down" is rate limited (429, Retry-After 10).
type fakeHubSpot struct {
	mu       sync.Mutex
	contacts map[string]string // email → id
	deals    map[string]map[string]string
	assoc    []string
	nextID   int
}

const hubspotToken = "pat-na1-test-token"

func (f *fakeHubSpot) fail(w http.ResponseWriter, code int, category, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"status": "error", "message": msg, "correlationId": "c0ffee", "category": category})
}

// decode reads a JSON body strictly; a wrong shape is HubSpot's 400.
func (f *fakeHubSpot) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Header.Get("Content-Type") != "application/json" {
		f.fail(w, 415, "VALIDATION_ERROR", "content type must be application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.fail(w, 400, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error())
		return false
	}
	return true
}

func (f *fakeHubSpot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+hubspotToken {
		f.fail(w, 401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/crm/v3/objects/contacts/batch/upsert":
		var in struct {
			Inputs []struct {
				IDProperty string            `json:"idProperty"`
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
			} `json:"inputs"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		if len(in.Inputs) != 1 || in.Inputs[0].IDProperty != "email" || in.Inputs[0].ID == "" {
			f.fail(w, 400, "VALIDATION_ERROR", "inputs must hold one contact keyed by email")
			return
		}
		c := in.Inputs[0]
		id, exists := f.contacts[c.ID]
		if !exists {
			f.nextID++
			id = fmt.Sprint(100 + f.nextID)
			f.contacts[c.ID] = id
		}
		props := map[string]string{"email": c.ID, "hs_object_id": id}
		for k, v := range c.Properties {
			props[k] = v
		}
		json.NewEncoder(w).Encode(map[string]any{
			"status": "COMPLETE", "startedAt": now, "completedAt": now,
			"results": []any{map[string]any{"id": id, "properties": props, "createdAt": now, "updatedAt": now, "archived": false, "new": !exists}},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/crm/v3/objects/deals":
		var in struct {
			Properties   map[string]string `json:"properties"`
			Associations []struct {
				To    struct{ ID string } `json:"to"`
				Types []struct {
					AssociationCategory string `json:"associationCategory"`
					AssociationTypeID   int    `json:"associationTypeId"`
				} `json:"types"`
			} `json:"associations"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		switch in.Properties["dealname"] {
		case "":
			f.fail(w, 400, "VALIDATION_ERROR", "Property values were not valid: dealname is required")
			return
		case "dup":
			f.fail(w, 409, "CONFLICT", "A deal with this unique value already exists. Existing ID: 7")
			return
		case "slow down":
			w.Header().Set("Retry-After", "10")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			io.WriteString(w, `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`)
			return
		}
		for _, a := range in.Associations {
			if len(a.Types) != 1 || a.Types[0].AssociationCategory != "HUBSPOT_DEFINED" || a.Types[0].AssociationTypeID != 3 {
				f.fail(w, 400, "VALIDATION_ERROR", "bad association type")
				return
			}
			f.assoc = append(f.assoc, "deal-contact:"+a.To.ID)
		}
		f.nextID++
		id := fmt.Sprint(200 + f.nextID)
		f.deals[id] = in.Properties
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "properties": in.Properties, "createdAt": now, "updatedAt": now, "archived": false})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/crm/v3/objects/deals/"):
		id := strings.TrimPrefix(r.URL.Path, "/crm/v3/objects/deals/")
		var in struct {
			Properties map[string]string `json:"properties"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		d, ok := f.deals[id]
		if !ok {
			f.fail(w, 404, "OBJECT_NOT_FOUND", "resource not found")
			return
		}
		for k, v := range in.Properties {
			d[k] = v
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id, "properties": d, "createdAt": now, "updatedAt": now, "archived": false})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/crm/v4/objects/contact/"):
		// /crm/v4/objects/contact/{id}/associations/default/deal/{id}
		p := strings.Split(strings.TrimPrefix(r.URL.Path, "/crm/v4/objects/contact/"), "/")
		if len(p) != 5 || p[1] != "associations" || p[2] != "default" || p[3] != "deal" {
			f.fail(w, 404, "OBJECT_NOT_FOUND", "no such route")
			return
		}
		if _, ok := f.deals[p[4]]; !ok {
			f.fail(w, 404, "OBJECT_NOT_FOUND", "deal not found")
			return
		}
		f.assoc = append(f.assoc, p[0]+"-"+p[4])
		json.NewEncoder(w).Encode(map[string]any{"status": "COMPLETE", "results": []any{
			map[string]any{"from": map[string]any{"id": p[0]}, "to": map[string]any{"id": p[4]},
				"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}},
		}, "startedAt": now, "completedAt": now})
	default:
		f.fail(w, 404, "OBJECT_NOT_FOUND", "no route "+r.Method+" "+r.URL.Path)
	}
}

func TestHubSpot(t *testing.T) {
	fake := &fakeHubSpot{contacts: map[string]string{}, deals: map[string]map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	base := `"base_url":"` + srv.URL + `","token":"` + hubspotToken + `"`
	// Steps run in order: later ones use ids created by earlier ones (101, 202).
	tests := []struct {
		name   string
		with   string
		class  string
		errHas string
		after  time.Duration
		want   string // expected output, as JSON
	}{
		{name: "upsert creates", with: `{"operation":"upsert_contact",` + base + `,"email":"ann@example.com","properties":{"firstname":"Ann"}}`,
			class: "ok", want: `{"created":true,"id":"101","properties":{"email":"ann@example.com","firstname":"Ann","hs_object_id":"101"}}`},
		{name: "upsert updates the same contact", with: `{"operation":"upsert_contact",` + base + `,"email":"ann@example.com","properties":{"lifecyclestage":"customer"}}`,
			class: "ok", want: `{"created":false,"id":"101","properties":{"email":"ann@example.com","hs_object_id":"101","lifecyclestage":"customer"}}`},
		{name: "create deal linked to the contact", with: `{"operation":"create_deal",` + base + `,"contact_id":"101","properties":{"dealname":"Order 42","amount":"99.5"}}`,
			class: "ok", want: `{"id":"202","properties":{"amount":"99.5","dealname":"Order 42"}}`},
		{name: "update deal", with: `{"operation":"update_deal",` + base + `,"deal_id":"202","properties":{"dealstage":"closedwon"}}`,
			class: "ok", want: `{"id":"202","properties":{"amount":"99.5","dealname":"Order 42","dealstage":"closedwon"}}`},
		{name: "associate", with: `{"operation":"associate",` + base + `,"contact_id":"101","deal_id":"202"}`,
			class: "ok", want: `{"associated":true,"contact_id":"101","deal_id":"202"}`},
		{name: "wrong token", with: `{"operation":"upsert_contact","base_url":"` + srv.URL + `","token":"pat-wrong-000","email":"x@example.com"}`,
			class: "permanent", errHas: "hubspot upsert_contact: HTTP 401 Unauthorized: " + `{"category":"INVALID_AUTHENTICATION"`},
		{name: "conflict", with: `{"operation":"create_deal",` + base + `,"properties":{"dealname":"dup"}}`,
			class: "permanent", errHas: "HTTP 409 Conflict"},
		{name: "rate limited", with: `{"operation":"create_deal",` + base + `,"properties":{"dealname":"slow down"}}`,
			class: "retryable", errHas: "HTTP 429 Too Many Requests", after: 10 * time.Second},
		{name: "unknown deal", with: `{"operation":"update_deal",` + base + `,"deal_id":"999","properties":{"dealstage":"x"}}`,
			class: "permanent", errHas: "HTTP 404 Not Found"},
		{name: "missing email", with: `{"operation":"upsert_contact",` + base + `}`, class: "permanent", errHas: "email is required"},
		{name: "missing dealname", with: `{"operation":"create_deal",` + base + `,"properties":{"amount":"1"}}`, class: "permanent", errHas: "dealname is required"},
		{name: "unknown operation", with: `{"operation":"delete_everything",` + base + `}`, class: "permanent", errHas: `operation "delete_everything"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, hubspotKind, testSC(t), tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), hubspotToken) {
				t.Fatalf("error shows the token: %v", err)
			}
			if tc.after != 0 && engine.RetryAfter(err) != tc.after {
				t.Fatalf("retry after %v, want %v", engine.RetryAfter(err), tc.after)
			}
			if tc.want != "" {
				got, _ := json.Marshal(out)
				if string(got) != tc.want {
					t.Fatalf("output %s, want %s", got, tc.want)
				}
			}
		})
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if got := strings.Join(fake.assoc, ","); got != "deal-contact:101,101-202" {
		t.Fatalf("associations %s", got)
	}
}
