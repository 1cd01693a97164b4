package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// TestDeleteFlowWithPendingRuns: the delete confirmation says how many runs
// are queued or waiting and offers to cancel them; with the box ticked they
// end canceled, without it the flash says they will fail.
func TestDeleteFlowWithPendingRuns(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	cases := []struct {
		name      string
		cancel    bool
		flash     string
		endStatus engine.RunStatus
	}{
		{"cancel them", true, "Canceled 2 runs that were queued or waiting", engine.RunCanceled},
		{"leave them", false, "2 runs queued or waiting will fail", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.flow(`{"id":"slow","name":"Slow","trigger":{"type":"manual"},"steps":[{"id":"d","type":"delay","with":{"for":"1h"}}]}`)
			var ids []string
			for range 2 {
				id, err := e.eng.RunManual(context.Background(), "slow", map[string]any{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			p := e.get("/flows")
			if n := mustTestID(t, p, "delete-pending"); !strings.Contains(text(n), "2 runs queued, running or waiting") {
				t.Fatalf("delete confirmation: %q", text(n))
			}
			mustTestID(t, p, "delete-cancel-runs")
			form := url.Values{"_csrf": {csrf}}
			if tc.cancel {
				form.Set("cancel_runs", "on")
			}
			p = e.post("/flows/slow/delete", form)
			if p.code != 303 {
				t.Fatalf("delete: %d %s", p.code, p.body)
			}
			if p = e.get("/flows"); !strings.Contains(p.body, tc.flash) {
				t.Fatalf("flash %q missing:\n%s", tc.flash, p.body)
			}
			if tc.endStatus != "" {
				for _, id := range ids {
					if r := e.waitRun(id); r.Status != tc.endStatus {
						t.Fatalf("run %s ended %s, want %s", id, r.Status, tc.endStatus)
					}
				}
			}
			// Clean up the waiting runs for the next case.
			for _, id := range ids {
				_ = e.eng.Cancel(context.Background(), id)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if rs, _ := e.store.PendingRuns(context.Background()); len(rs) == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestSettingsPasswordAndRoles: anyone changes their own password (knowing
// the current one); an admin changes another user's role or removes them.
func TestSettingsPasswordAndRoles(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	if p := e.post("/settings/users", url.Values{"_csrf": {csrf}, "email": {"ed@example.com"}, "password": {"editor password"}, "role": {"editor"}}); p.code != 303 {
		t.Fatalf("create user: %d", p.code)
	}
	ed, err := e.store.GetUserByEmail(context.Background(), "ed@example.com")
	if err != nil {
		t.Fatal(err)
	}
	me, _ := e.store.GetUserByEmail(context.Background(), "admin@example.com")
	steps := []struct {
		name  string
		path  string
		form  url.Values
		flash string
		check func() bool
	}{
		{"wrong current password", "/settings/password", url.Values{"current": {"nope nope"}, "password": {"a new password"}}, "current password is not right", nil},
		{"new password too short", "/settings/password", url.Values{"current": {"correct horse"}, "password": {"short"}}, "at least 8", nil},
		{"password changed", "/settings/password", url.Values{"current": {"correct horse"}, "password": {"a new password"}}, "Password changed", func() bool {
			u, _ := e.store.GetUser(context.Background(), me.ID)
			return u.PasswordHash != me.PasswordHash
		}},
		{"role changed", "/settings/users/" + ed.ID + "/role", url.Values{"role": {"viewer"}}, "ed@example.com is now viewer", func() bool {
			u, _ := e.store.GetUser(context.Background(), ed.ID)
			return u.Role == engine.RoleViewer
		}},
		{"unknown role", "/settings/users/" + ed.ID + "/role", url.Values{"role": {"root"}}, "Choose a role", nil},
		{"not your own role", "/settings/users/" + me.ID + "/role", url.Values{"role": {"viewer"}}, "cannot change your own role", nil},
		{"user removed", "/settings/users/" + ed.ID + "/delete", url.Values{}, "User removed", func() bool {
			_, err := e.store.GetUser(context.Background(), ed.ID)
			return err != nil
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.form.Set("_csrf", csrf)
			p := e.post(st.path, st.form)
			if p.code != 303 {
				t.Fatalf("%d %s", p.code, p.body)
			}
			if p = e.get("/settings"); !strings.Contains(p.body, st.flash) {
				t.Fatalf("flash %q missing", st.flash)
			}
			if st.check != nil && !st.check() {
				t.Fatal("not changed")
			}
		})
	}
	// The new password signs in.
	e.post("/logout", url.Values{"_csrf": {csrf}})
	if p := e.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"a new password"}}); p.code != 303 {
		t.Fatalf("login with the new password: %d", p.code)
	}
	mustTestID(t, e.get("/settings"), "password-form")
}

// TestWelcomeAndTimezonePlaceholder: the welcome banner asks for a first
// flow only when there is none; the schedule's time zone shows its default
// as a placeholder, not a zone that looks like a value.
func TestWelcomeAndTimezonePlaceholder(t *testing.T) {
	cases := []struct {
		name    string
		flows   int
		welcome string
	}{
		{"no flow yet", 0, "Welcome! Create your first flow."},
		{"one imported", 1, "Welcome! Your 1 flow is below."},
		{"two imported", 2, "Welcome! Your 2 flows are below."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newUIEnv(t)
			for i := range tc.flows {
				e.flow(`{"id":"nightly-` + string(rune('a'+i)) + `","name":"Nightly","trigger":{"type":"schedule","with":{"cron":"0 9 * * *"}},"steps":[]}`)
			}
			if p := e.post("/setup", url.Values{"email": {"admin@example.com"}, "password": {"correct horse"}}); p.code != 303 {
				t.Fatalf("setup: %d", p.code)
			}
			p := e.get("/flows") // the first page after setup shows the flash
			if !strings.Contains(p.body, tc.welcome) {
				t.Fatalf("no %q on the first page", tc.welcome)
			}
			if tc.flows == 0 {
				return
			}
			p = e.get("/flows/nightly-a")
			// The field is a pill editor: its text sits in a hidden input, its
			// placeholder on the editable box.
			tz := mustTestID(t, p, "input-trigger.with.timezone")
			val := mustTestID(t, p, "value-trigger.with.timezone")
			if attr(val, "value") != "" || attr(tz, "data-placeholder") != "Default: UTC" {
				t.Fatalf("time zone input: value %q placeholder %q", attr(val, "value"), attr(tz, "data-placeholder"))
			}
		})
	}
}
