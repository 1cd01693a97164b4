package ui_test

import (
	"context"
	"strings"
	"testing"
)

// TestTriggerNotes: the editor previews a schedule's next fire times and
// shows the outcome of the last poll.
func TestTriggerNotes(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"nightly","name":"Nightly","trigger":{"type":"schedule","with":{"cron":"0 9 * * 1-5","timezone":"Europe/Paris"}},"steps":[]}`)
	p := e.get("/flows/nightly")
	notes := text(mustTestID(t, p, "trigger-notes"))
	if !strings.Contains(notes, "Next fires:") || strings.Count(notes, "·") != 4 || !strings.Contains(notes, "09:00:00") {
		t.Errorf("schedule notes = %q", notes)
	}
	e.flow(`{"id":"gh","name":"GH","trigger":{"type":"webhook","with":{"verify":{"scheme":"github","secret":"x"},"respond":{"mode":"wait"}}},"steps":[]}`)
	notes = text(mustTestID(t, e.get("/flows/gh"), "trigger-notes"))
	if !strings.Contains(notes, "GitHub waits at most 10s") {
		t.Errorf("wait-mode warning = %q", notes)
	}
	e.flow(`{"id":"orders","name":"Orders","trigger":{"type":"poll","with":{"every":"1h","request":{"url":"https://api.example.com/orders"},"items":"response.body","key":"item.id"}},"steps":[]}`)
	if err := e.store.PutState(context.Background(), "orders", "last_poll",
		[]byte(`{"at":"2026-11-24T10:00:00Z","ok":false,"error":"HTTP 500 Internal Server Error: boom","started":0}`)); err != nil {
		t.Fatal(err)
	}
	notes = text(mustTestID(t, e.get("/flows/orders"), "trigger-notes"))
	if !strings.Contains(notes, "Last poll 2026-11-24 10:00:00 UTC failed: HTTP 500") {
		t.Errorf("poll notes = %q", notes)
	}
}
