package ui_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/hookflow/hookflow/flows"
)

// edit submits the editor form as shown in p, with some inputs changed, and one action.
func (e *uiEnv) edit(p page, csrf, op string, set map[string]string) page {
	e.t.Helper()
	form := formOf(e.t, p, "editor-form")
	for k, v := range set {
		form.Set(k, v)
	}
	form.Set("op", op)
	id := attr(mustTestID(e.t, p, "editor-form"), "action")
	return e.postHTMX(id, csrf, form)
}

// cardOrder lists the step cards' test ids in document order.
func cardOrder(p page) []string {
	var out []string
	for _, n := range findAll(p.doc, func(n *html.Node) bool { return attr(n, "data-path") != "" }) {
		out = append(out, attr(n, "data-testid"))
	}
	return out
}

func TestEditorBuildsAFlow(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.post("/flows/new", url.Values{"_csrf": {csrf}, "name": {"Orders"}})
	p := e.get("/flows/orders")
	if byTestID(p.doc, "no-steps") == nil {
		t.Errorf("no empty state for steps")
	}
	// The palette lists control steps and actions.
	pal := mustTestID(t, p, "palette-steps")
	for _, kind := range []string{"filter", "branch", "foreach", "http", "email", "log"} {
		if byTestID(pal, "add-"+kind) == nil {
			t.Errorf("palette lacks %s", kind)
		}
	}

	p = e.edit(p, csrf, "add|steps|filter", nil)
	mustTestID(t, p, "step-filter")
	if got := text(mustTestID(t, p, "dirty")); got != "Unsaved changes" {
		t.Errorf("dirty state = %q", got)
	}
	p = e.edit(p, csrf, "add|steps|http", map[string]string{"f:expression:steps[0].when": "trigger.body.amount > 10"})
	mustTestID(t, p, "step-http")
	// The new step's first input gets the focus.
	if n := byTestID(p.doc, "input-steps[1].with.method"); n == nil || !hasAttr(n, "autofocus") {
		t.Errorf("new step's first input is not focused")
	}
	if got := attr(mustTestID(t, p, "cond-steps[0].when"), "data-expr"); got != "trigger.body.amount > 10" {
		t.Errorf("draft lost the filter condition: %q", got)
	}

	// Save without a URL: the problem shows beside the URL field and in the summary.
	p = e.edit(p, csrf, "save", nil)
	if got := text(mustTestID(t, p, "problem-steps[1].with.url")); got != "required" {
		t.Errorf("problem beside url = %q", got)
	}
	// The summary names the problem in words: step, kind, field.
	if got := text(mustTestID(t, p, "problems")); !strings.Contains(got, "Step 2 · HTTP request · URL: required") {
		t.Errorf("summary = %q", got)
	}
	if !strings.Contains(attr(mustTestID(t, p, "step-http"), "class"), "has-error") {
		t.Errorf("card with a problem is not marked")
	}
	if f, _ := e.store.GetFlow(context.Background(), "orders"); len(f.Steps) != 0 {
		t.Errorf("an invalid draft was saved")
	}

	p = e.edit(p, csrf, "save", map[string]string{
		"f:text:steps[1].with.url":         "https://api.example.com/orders/{{ trigger.body.id }}",
		"f:select:steps[1].with.method":    "POST",
		"f:map:steps[1].with.headers":      "X-Source: hookflow\nX-Order: {{ trigger.body.id }}",
		"f:expression:trigger.with.dedupe": "trigger.body.id",
		"f:number:steps[1].retry.attempts": "3",
	})
	if got := text(mustTestID(t, p, "saved")); got != "Saved · version 2" {
		t.Fatalf("after save: %q (%s)", got, text(byTestID(p.doc, "problems")))
	}
	f, err := e.store.GetFlow(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Steps) != 2 || f.Steps[0].When != "trigger.body.amount > 10" || f.Steps[1].Retry == nil || f.Steps[1].Retry.Attempts != 3 {
		t.Fatalf("saved steps: %+v", f.Steps)
	}
	with := string(f.Steps[1].With)
	for _, want := range []string{`"method":"POST"`, `"X-Source":"hookflow"`, `"url":"https://api.example.com/orders/{{ trigger.body.id }}"`} {
		if !strings.Contains(with, want) {
			t.Errorf("http with = %s, lacks %s", with, want)
		}
	}
	if tw := string(f.Trigger.With); !strings.Contains(tw, `"dedupe":"trigger.body.id"`) || strings.Contains(tw, "verify") {
		t.Errorf("trigger with = %s", tw)
	}

	// Reorder, nest in a branch, remove.
	p = e.edit(p, csrf, "up|steps[1]", nil)
	if got := strings.Join(cardOrder(p), ","); got != "step-http,step-filter" {
		t.Errorf("after up: %s", got)
	}
	p = e.edit(p, csrf, "down|steps[0]", nil)
	if got := strings.Join(cardOrder(p), ","); got != "step-filter,step-http" {
		t.Errorf("after down: %s", got)
	}
	p = e.edit(p, csrf, "add|steps|branch", nil)
	p = e.edit(p, csrf, "add|steps[2].cases[0].steps|log", map[string]string{"f:expression:steps[2].cases[0].when": "trigger.body.vip == true"})
	p = e.edit(p, csrf, "add|steps[2].default|log", map[string]string{"f:textarea:steps[2].cases[0].steps[0].with.message": "VIP {{ trigger.body.id }}"})
	if got := strings.Join(cardOrder(p), ","); got != "step-filter,step-http,step-branch,step-log,step-log_2" {
		t.Errorf("nested cards: %s", got)
	}
	p = e.edit(p, csrf, "remove|steps[0]", map[string]string{"f:textarea:steps[2].default[0].with.message": "regular"})
	p = e.edit(p, csrf, "save", nil)
	if got := text(mustTestID(t, p, "saved")); got != "Saved · version 3" {
		t.Fatalf("after nesting: %q (%s)", got, text(byTestID(p.doc, "problems")))
	}
	f, _ = e.store.GetFlow(context.Background(), "orders")
	if len(f.Steps) != 2 || f.Steps[1].Type != "branch" || f.Steps[1].Cases[0].Steps[0].Type != "log" || f.Steps[1].Default[0].ID != "log_2" {
		t.Fatalf("saved nested flow: %+v", f.Steps)
	}

	// The JSON view saves too, and refuses another id.
	p = e.edit(p, csrf, "savejson", map[string]string{"json": `{"id":"other","name":"X","trigger":{"type":"webhook"},"steps":[]}`})
	if got := text(mustTestID(t, p, "problems")); !strings.Contains(got, "id cannot change") {
		t.Errorf("JSON with another id: %q", got)
	}
	p = e.edit(e.get("/flows/orders"), csrf, "savejson", map[string]string{"json": `{"id":"orders","name":"Orders v4","trigger":{"type":"webhook"},"steps":[]}`})
	if got := text(mustTestID(t, p, "flow-name")); got != "Orders v4" {
		t.Errorf("after JSON save: %q", got)
	}

	// Changing the trigger type swaps its form.
	p = e.edit(p, csrf, "trigger", map[string]string{"trigger_type": "manual"})
	if byTestID(p.doc, "webhook-url") != nil {
		t.Errorf("manual trigger still shows a webhook URL")
	}
}

func TestEditorVersions(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"v","name":"First","trigger":{"type":"webhook"},"steps":[]}`)
	e.flow(`{"id":"v","name":"Second","trigger":{"type":"webhook"},"steps":[]}`)
	p := e.get("/flows/v/versions")
	mustTestID(t, p, "version-1")
	mustTestID(t, p, "version-2")
	p = e.get("/flows/v/versions/1")
	if got := text(mustTestID(t, p, "version-json")); !strings.Contains(got, `"First"`) {
		t.Errorf("version 1 = %s", got)
	}
	p = e.post("/flows/v/versions/1/restore", url.Values{"_csrf": {csrf}})
	if p.code != http.StatusSeeOther || p.location != "/flows/v" {
		t.Fatalf("restore: %d %q", p.code, p.location)
	}
	if f, _ := e.store.GetFlow(context.Background(), "v"); f.Name != "First" || f.Version != 3 {
		t.Errorf("restored: %s v%d", f.Name, f.Version)
	}
}

func TestListenPickerAndTest(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"cap","name":"Capture","trigger":{"type":"webhook"},"steps":[{"id":"say","type":"log","with":{"message":"hi {{ trigger.body.name }}"}}]}`)

	p := e.postHTMX("/flows/cap/listen", csrf, nil)
	poll := attr(mustTestID(t, p, "listen"), "hx-get")
	if byTestID(p.doc, "listening") == nil || poll == "" {
		t.Fatalf("listen: %d %s", p.code, p.body)
	}
	resp, err := http.Post(e.base+"/hooks/cap", "application/json", strings.NewReader(`{"name":"Ada","order":{"id":7}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p = e.htmx(poll)
		if byTestID(p.doc, "sample") != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := text(mustTestID(t, p, "sample")); !strings.Contains(got, `"Ada"`) {
		t.Errorf("sample = %q", got)
	}
	if attr(byTestID(p.doc, "listen"), "hx-get") != "" {
		t.Errorf("still polling after the capture")
	}
	// The capture started no run.
	if runs, _, _ := e.store.ListRuns(context.Background(), engineQuery("cap")); len(runs) != 0 {
		t.Errorf("capture started %d runs", len(runs))
	}

	p = e.htmx("/flows/cap/picker")
	for _, want := range []string{"pick-item-trigger.body.name", "pick-item-trigger.body.order.id", "pick-item-trigger.headers[\"content-type\"]"} {
		if byTestID(p.doc, want) == nil {
			t.Errorf("picker lacks %s", want)
		}
	}

	// Test flow runs with the sample and shows each step.
	p = e.edit(e.get("/flows/cap"), csrf, "test", nil)
	tr := mustTestID(t, p, "test-result")
	link := attr(byTestID(tr, "open-run"), "href")
	if link == "" {
		t.Fatalf("no run link in the test result: %s", text(tr))
	}
	r := e.waitRun(strings.TrimPrefix(link, "/runs/"))
	if r.Trigger.Body.(map[string]any)["name"] != "Ada" {
		t.Errorf("test run body = %v", r.Trigger.Body)
	}
	p = e.htmx("/runs/" + r.ID + "/timeline?compact=1")
	if got := text(mustTestID(t, p, "run-step-say")); !strings.Contains(got, "succeeded") {
		t.Errorf("step in the timeline = %q", got)
	}
	if attr(mustTestID(t, p, "timeline"), "hx-get") != "" {
		t.Errorf("a finished run's timeline still polls")
	}
	// After the run, the picker offers the step's output.
	p = e.htmx("/flows/cap/picker")
	if len(findAll(p.doc, func(n *html.Node) bool {
		return strings.HasPrefix(attr(n, "data-testid"), "pick-item-steps.say.output")
	})) == 0 {
		t.Errorf("picker lacks the step's output: %s", p.body)
	}
}

// A provider preset's trigger card says where to paste the URL and find the
// secret, the Verify menu lists the providers, and before any delivery the
// picker offers the fields of the provider's sample event.
func TestEditorVerifyPresetHintAndSample(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"pay","name":"Paddle","trigger":{"type":"webhook","with":{"verify":{"scheme":"paddle","secret":"{{ secrets.PADDLE }}"}}},"steps":[{"id":"say","type":"log","with":{"message":"hi"}}]}`)
	e.flow(`{"id":"plain","name":"Plain","trigger":{"type":"webhook"},"steps":[{"id":"say","type":"log","with":{"message":"hi"}}]}`)

	p := e.get("/flows/pay")
	notes := text(mustTestID(t, p, "trigger-notes"))
	if !strings.Contains(notes, "Paddle Billing: Paddle → Developer tools → Notifications") {
		t.Errorf("trigger card notes = %q", notes)
	}
	menu := text(mustTestID(t, p, "input-trigger.with.verify.scheme"))
	for _, s := range []string{"paypal", "paddle", "twilio", "sendgrid", "hmac"} {
		if !strings.Contains(menu, s) {
			t.Errorf("verify menu lacks %s: %q", s, menu)
		}
	}

	p = e.htmx("/flows/pay/picker")
	for _, want := range []string{"pick-item-trigger.body.event_id", "pick-item-trigger.body.data.status"} {
		if byTestID(p.doc, want) == nil {
			t.Errorf("picker lacks %s: %s", want, p.body)
		}
	}
	p = e.htmx("/flows/plain/picker")
	if byTestID(p.doc, "pick-item-trigger.body.event_id") != nil {
		t.Errorf("a flow without a preset got a sample")
	}
	if byTestID(e.get("/flows/plain").doc, "trigger-notes") != nil {
		t.Errorf("a flow without a preset got a hint")
	}
}

// The shipped Slack Events API flow answers Slack's url_verification with the
// challenge (wait mode and a respond step), acknowledges events, and a retry
// of the same event is a duplicate (Slack's default dedupe key body.event_id).
func TestSlackEventsFlow(t *testing.T) {
	e := newUIEnv(t)
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	if err := e.secrets.Set(context.Background(), "SLACK_SIGNING_SECRET", secret); err != nil {
		t.Fatal(err)
	}
	doc, err := fs.ReadFile(flows.FS, "slack-events.json")
	if err != nil {
		t.Fatal(err)
	}
	e.flow(string(doc))
	send := func(body string, sign bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.base+"/hooks/slack-events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("v0:" + ts + ":" + body))
		if sign {
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name     string
		body     string
		sign     bool
		wantCode int
		want     string
	}{
		{"url_verification answered with the challenge", `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, true, 200, `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`},
		{"unsigned refused", `{"type":"url_verification","challenge":"x"}`, false, 401, "missing X-Slack-Signature header"},
		{"event acknowledged", `{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"message","text":"hi"}}`, true, 200, `{"ok":true}`},
		{"retry of the same event is a duplicate", `{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"message","text":"hi"}}`, true, 200, `"duplicate":true`},
	}
	for _, tc := range tests {
		code, body := send(tc.body, tc.sign)
		if code != tc.wantCode || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.wantCode, tc.want)
		}
	}
}
