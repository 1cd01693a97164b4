package actions

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

const pipedriveToken = "0123456789abcdef0123456789abcdef01234567"

// fakePipedrive enforces the v1 API's documented shapes: api_token in the
// query, persons/search parameters, person emails as [{value, primary}],
// numeric ids. A deal titled "slow down" is rate limited (429, Retry-After 2).
type fakePipedrive struct {
	mu      sync.Mutex
	persons map[string]int // email → id
	nextID  int
	posted  []string
}

func (f *fakePipedrive) reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (f *fakePipedrive) fail(w http.ResponseWriter, code int, msg string) {
	f.reply(w, code, map[string]any{"success": false, "error": msg, "errorCode": code, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."})
}

func (f *fakePipedrive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api_token") != pipedriveToken {
		f.fail(w, 401, "unauthorized access")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	decode := func(v any) bool {
		if r.Header.Get("Content-Type") != "application/json" {
			f.fail(w, 400, "content type must be application/json")
			return false
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			f.fail(w, 400, "bad request: "+err.Error())
			return false
		}
		return true
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/persons/search":
		q := r.URL.Query()
		if q.Get("fields") != "email" || q.Get("exact_match") != "true" || q.Get("term") == "" {
			f.fail(w, 400, "term, fields=email and exact_match=true expected")
			return
		}
		items := []any{}
		if id, ok := f.persons[strings.ToLower(q.Get("term"))]; ok {
			items = append(items, map[string]any{"result_score": 1.2, "item": map[string]any{
				"id": id, "type": "person", "name": "Found Person", "emails": []string{q.Get("term")}, "phones": []string{}}})
		}
		f.reply(w, 200, map[string]any{"success": true, "data": map[string]any{"items": items},
			"additional_data": map[string]any{"pagination": map[string]any{"start": 0, "limit": 1, "more_items_in_collection": false}}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/persons":
		var in struct {
			Name  string `json:"name"`
			Email []struct {
				Value   string `json:"value"`
				Primary bool   `json:"primary"`
				Label   string `json:"label"`
			} `json:"email"`
			Phone []struct {
				Value   string `json:"value"`
				Primary bool   `json:"primary"`
				Label   string `json:"label"`
			} `json:"phone"`
			OrgID int `json:"org_id"`
		}
		if !decode(&in) {
			return
		}
		if in.Name == "" || len(in.Email) != 1 || !in.Email[0].Primary || in.Email[0].Value == "" {
			f.fail(w, 400, "name and one primary email expected")
			return
		}
		f.nextID++
		f.persons[strings.ToLower(in.Email[0].Value)] = f.nextID
		f.posted = append(f.posted, "person:"+in.Name)
		f.reply(w, 201, map[string]any{"success": true, "data": map[string]any{"id": f.nextID, "name": in.Name,
			"email": []any{map[string]any{"value": in.Email[0].Value, "primary": true, "label": "work"}}}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/deals":
		var in struct {
			Title    string  `json:"title"`
			Value    float64 `json:"value"`
			Currency string  `json:"currency"`
			PersonID int     `json:"person_id"`
			OrgID    int     `json:"org_id"`
			StageID  int     `json:"stage_id"`
			Custom   string  `json:"abc123_source"`
		}
		if !decode(&in) {
			return
		}
		if in.Title == "slow down" {
			w.Header().Set("Retry-After", "2")
			f.fail(w, 429, "Request over limit")
			return
		}
		if in.Title == "" {
			f.fail(w, 400, "Deal title must be given.")
			return
		}
		f.nextID++
		f.posted = append(f.posted, "deal:"+in.Title+":"+in.Currency+":"+in.Custom)
		f.reply(w, 201, map[string]any{"success": true, "data": map[string]any{"id": f.nextID, "title": in.Title,
			"value": in.Value, "currency": in.Currency, "person_id": in.PersonID, "status": "open"}})
	default:
		f.fail(w, 404, "Unknown method .")
	}
}

func TestPipedrive(t *testing.T) {
	fake := &fakePipedrive{persons: map[string]int{"known@example.com": 7}, nextID: 7}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	base := `"base_url":"` + srv.URL + `","api_token":"` + pipedriveToken + `"`
	tests := []struct {
		name   string
		with   string
		class  string
		errHas string
		after  time.Duration
		want   string
	}{
		{name: "finds an existing person", with: `{"operation":"find_or_create_person",` + base + `,"email":"known@example.com"}`,
			class: "ok", want: `{"created":false,"id":7,"name":"Found Person"}`},
		{name: "creates a missing person", with: `{"operation":"find_or_create_person",` + base + `,"email":"new@example.com","name":"New Person","phone":"+331234"}`,
			class: "ok", want: `{"created":true,"id":8,"name":"New Person"}`},
		{name: "then finds them", with: `{"operation":"find_or_create_person",` + base + `,"email":"new@example.com"}`,
			class: "ok", want: `{"created":false,"id":8,"name":"Found Person"}`},
		{name: "name defaults to the email", with: `{"operation":"find_or_create_person",` + base + `,"email":"anon@example.com"}`,
			class: "ok", want: `{"created":true,"id":9,"name":"anon@example.com"}`},
		{name: "create deal", with: `{"operation":"create_deal",` + base + `,"title":"Order 42","value":99.5,"currency":"EUR","person_id":8,"stage_id":2,"fields":{"abc123_source":"web"}}`,
			class: "ok", want: `{"id":10,"title":"Order 42"}`},
		{name: "wrong token", with: `{"operation":"create_deal","base_url":"` + srv.URL + `","api_token":"badtoken99","title":"x"}`,
			class: "permanent", errHas: `HTTP 401 Unauthorized: {"error":"unauthorized access"`},
		{name: "rate limited", with: `{"operation":"create_deal",` + base + `,"title":"slow down"}`,
			class: "retryable", errHas: "HTTP 429 Too Many Requests", after: 2 * time.Second},
		{name: "missing title", with: `{"operation":"create_deal",` + base + `}`, class: "permanent", errHas: "title is required"},
		{name: "connection refused hides the token", with: `{"operation":"create_deal","base_url":"http://` + deadAddr(t) + `","api_token":"` + pipedriveToken + `","title":"x"}`,
			class: "plain", errHas: "api_token=[redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, pipedriveKind, testSC(t), tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), pipedriveToken) {
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
	if got := strings.Join(fake.posted, ","); got != "person:New Person,person:anon@example.com,deal:Order 42:EUR:web" {
		t.Fatalf("posted %s", got)
	}
}
