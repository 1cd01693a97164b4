package actions

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

const googleUnauth = `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`

func TestAppGoogleSheets(t *testing.T) {
	e := newAppEnv(t, "google-sheets", requireHeader("Authorization", "Bearer ya29.good", 401, googleUnauth, fakeAPI(t,
		fakeRule{method: "POST", path: "/v4/spreadsheets/SHEET1/values/Leads:append",
			check: want(map[string]any{"query:valueInputOption": "RAW", "query:insertDataOption": "INSERT_ROWS", "majorDimension": "ROWS",
				"values.0.0": "ada@example.com", "values.0.1": 42.0}),
			answer: `{"spreadsheetId":"SHEET1","tableRange":"Leads!A1:B3","updates":{"spreadsheetId":"SHEET1","updatedRange":"Leads!A4:B4","updatedRows":1,"updatedColumns":2,"updatedCells":2}}`},
		fakeRule{method: "GET", path: "/v4/spreadsheets/SHEET1/values/Leads!A:C",
			answer: `{"range":"Leads!A1:C4","majorDimension":"ROWS","values":[["email","name"],["bob@example.com","Bob"],["ada@example.com","Ada","x"],["ada@example.com"]]}`},
		fakeRule{method: "PUT", path: "/v4/spreadsheets/SHEET1/values/Leads!A3:B3",
			check:  want(map[string]any{"query:valueInputOption": "USER_ENTERED", "range": "Leads!A3:B3", "values.0.1": "paid"}),
			answer: `{"spreadsheetId":"SHEET1","updatedRange":"Leads!A3:B3","updatedRows":1,"updatedCells":2}`},
		fakeRule{method: "POST", path: "/v4/spreadsheets/NOPE/values/Leads:append", status: 404,
			answer: `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`},
	)))
	e.conn("g", &engine.Credential{Type: engine.ConnOAuth2, Token: "ya29.good"})
	runAppCases(t, e, []appCase{
		{name: "append", op: "append_row", with: `{"connection":"g","spreadsheet_id":"SHEET1","range":"Leads","values":["ada@example.com",42]}`,
			class: "ok", out: "updated_range", outVal: "Leads!A4:B4"},
		{name: "find", op: "find_rows", with: `{"connection":"g","spreadsheet_id":"SHEET1","range":"Leads!A:C","column":"1","value":"ada@example.com"}`,
			class: "ok", out: "rows.1.row_number", outVal: 4},
		{name: "update", op: "update_row", with: `{"connection":"g","spreadsheet_id":"SHEET1","range":"Leads!A3:B3","values":["ada@example.com","paid"],"value_input":"USER_ENTERED"}`,
			class: "ok", out: "updated_cells", outVal: 2},
		{name: "not found", op: "append_row", with: `{"connection":"g","spreadsheet_id":"NOPE","range":"Leads","values":[1]}`,
			class: "permanent", want: "NOT_FOUND: Requested entity was not found."},
	})
	// A 401 refreshes the OAuth token once, then succeeds.
	e.conn("stale", &engine.Credential{Type: engine.ConnOAuth2, Token: "ya29.stale"})
	e.conns.next["stale"] = &engine.Credential{Connection: "stale", Type: engine.ConnOAuth2, Token: "ya29.good"}
	runAppCases(t, e, []appCase{{name: "refresh on 401", op: "append_row",
		with: `{"connection":"stale","spreadsheet_id":"SHEET1","range":"Leads","values":["ada@example.com",42]}`, class: "ok", out: "updated_rows", outVal: 1}})
	if e.conns.refreshes != 1 {
		t.Errorf("refreshes = %d", e.conns.refreshes)
	}
}

func TestAppGmail(t *testing.T) {
	var raw string
	e := newAppEnv(t, "gmail", requireHeader("Authorization", "Bearer ya29.mail", 401, googleUnauth, fakeAPI(t,
		fakeRule{method: "POST", path: "/gmail/v1/users/me/messages/send", check: func(r *http.Request, b map[string]any) string {
			raw, _ = b["raw"].(string)
			if strings.ContainsAny(raw, "+/") {
				return "raw is not base64url"
			}
			return ""
		}, answer: `{"id":"18c1","threadId":"18c1","labelIds":["SENT"]}`})))
	e.conn("g", &engine.Credential{Type: engine.ConnOAuth2, Token: "ya29.mail"})
	runAppCases(t, e, []appCase{{name: "send", op: "send_email",
		with:  `{"connection":"g","to":"ada@example.com\r\nBcc: evil@example.com","subject":"Grüße ✓","text":"Hello ~~ Ada ???"}`,
		class: "ok", out: "id", outVal: "18c1"}})
	msg, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	head, body, _ := strings.Cut(string(msg), "\r\n\r\n")
	if !strings.HasPrefix(head, "To: ada@example.comBcc: evil@example.com\r\n") {
		t.Errorf("header injection not stopped: %q", head)
	}
	if !strings.Contains(head, "Subject: =?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Grüße ✓"))+"?=") {
		t.Errorf("subject: %q", head)
	}
	if text, _ := base64.StdEncoding.DecodeString(body); string(text) != "Hello ~~ Ada ???" {
		t.Errorf("body %q", text)
	}
}

func TestAppGoogleCalendar(t *testing.T) {
	e := newAppEnv(t, "google-calendar", requireHeader("Authorization", "Bearer ya29.cal", 401, googleUnauth, fakeAPI(t,
		fakeRule{method: "POST", path: "/calendar/v3/calendars/primary/events",
			check: want(map[string]any{"query:sendUpdates": "none", "summary": "Call", "start.dateTime": "2026-05-01T10:00:00+02:00",
				"end.dateTime": "2026-05-01T10:30:00+02:00", "absent:start.timeZone": true, "attendees.1.email": "bob@example.com", "absent:location": true}),
			answer: `{"id":"ev1","status":"confirmed","htmlLink":"https://www.google.com/calendar/event?eid=ev1"}`},
		fakeRule{method: "POST", path: "/calendar/v3/calendars/team@group.calendar.google.com/events", status: 400,
			answer: `{"error":{"code":400,"message":"The specified time range is empty.","status":"INVALID_ARGUMENT"}}`},
	)))
	e.conn("g", &engine.Credential{Type: engine.ConnOAuth2, Token: "ya29.cal"})
	runAppCases(t, e, []appCase{
		{name: "create", op: "create_event", with: `{"connection":"g","summary":"Call","start":"2026-05-01T10:00:00+02:00","end":"2026-05-01T10:30:00+02:00","attendees":"ada@example.com, bob@example.com"}`,
			class: "ok", out: "id", outVal: "ev1"},
		{name: "empty range", op: "create_event", with: `{"connection":"g","calendar_id":"team@group.calendar.google.com","summary":"x","start":"2026-05-01T10:00:00Z","end":"2026-05-01T10:00:00Z"}`,
			class: "permanent", want: "INVALID_ARGUMENT: The specified time range is empty."},
	})
}
