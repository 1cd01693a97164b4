package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/hookflow/hookflow/engine"
)

// TestUndoStepRemoval: removing a step offers Undo, which puts it back in
// its place with its settings; a draft without a removal offers nothing.
func TestUndoStepRemoval(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[
		{"id":"a","type":"log","with":{"message":"one"}},
		{"id":"b","type":"log","with":{"message":"two {{ trigger.body.x }}"}},
		{"id":"c","type":"log","with":{"message":"three"}}]}`)
	p := e.get("/flows/f")
	if byTestID(p.doc, "undo-bar") != nil {
		t.Fatal("undo offered before any removal")
	}
	p = e.edit(p, csrf, "remove|steps[1]", nil)
	if got := cardOrder(p); len(got) != 2 {
		t.Fatalf("cards after remove = %v", got)
	}
	if got := text(mustTestID(t, p, "undo-bar")); got != `Removed step "b". Undo` {
		t.Errorf("undo bar = %q", got)
	}
	p = e.edit(p, csrf, "undo", nil)
	if got := cardOrder(p); len(got) != 3 || got[1] != "step-b" {
		t.Fatalf("cards after undo = %v", got)
	}
	if byTestID(p.doc, "undo-bar") != nil {
		t.Error("undo offered twice")
	}
	p = e.edit(p, csrf, "save", nil)
	f, err := e.store.GetFlow(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Steps) != 3 || f.Steps[1].ID != "b" || string(f.Steps[1].With) != `{"message":"two {{ trigger.body.x }}"}` {
		t.Errorf("saved steps = %+v", f.Steps)
	}
	// A second step with the same id blocks the undo with a reason.
	p = e.edit(p, csrf, "remove|steps[0]", nil)
	p = e.edit(p, csrf, "undo", map[string]string{"f:text:steps[0].id": "a"})
	if got := text(mustTestID(t, p, "problems")); got == "" {
		t.Error("no problem when the id is taken")
	}
}

// TestWarningsBeforeFirstRun: a secret used but not set is named with the
// step and field, and saving is still allowed.
func TestWarningsBeforeFirstRun(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	if err := e.secrets.Set(context.Background(), "HAVE", "x"); err != nil {
		t.Fatal(err)
	}
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[
		{"id":"post","type":"discord","with":{"webhook_url":"{{ secrets.DISCORD_URL }}","text":"hi {{ secrets.HAVE }}"}}]}`)
	p := e.get("/flows/f")
	got := text(mustTestID(t, p, "warnings"))
	if !strings.Contains(got, "Step 1 · Discord message · Webhook URL: uses the secret DISCORD_URL, which is not set yet") {
		t.Errorf("warnings = %q", got)
	}
	if strings.Contains(got, "HAVE") {
		t.Errorf("a set secret is warned about: %q", got)
	}
	p = e.edit(p, csrf, "save", map[string]string{"f:text:name": "F2"})
	mustTestID(t, p, "saved")
}

// TestScheduleTestFlow: "Test flow" of a schedule runs with scheduled_at set
// to now, and the editor carries the zone for the browser to compare.
func TestScheduleTestFlow(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"s","name":"S","trigger":{"type":"schedule","with":{"cron":"0 9 * * *"}},"steps":[
		{"id":"say","type":"log","with":{"message":"fired {{ trigger.body.scheduled_at }}"}}]}`)
	p := e.get("/flows/s")
	if got := attr(mustTestID(t, p, "tz-warning"), "data-tz-warn"); got != "UTC" {
		t.Errorf("zone carried = %q", got)
	}
	before := time.Now().UTC().Add(-time.Second)
	p = e.edit(p, csrf, "test", nil)
	mustTestID(t, p, "test-result")
	runs, _, err := e.store.ListRuns(context.Background(), engineQuery("s"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %d", err, len(runs))
	}
	body, _ := runs[0].Trigger.Body.(map[string]any)
	at, err := time.Parse(time.RFC3339, fmt.Sprint(body["scheduled_at"]))
	if err != nil || at.Before(before.Truncate(time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("scheduled_at = %v (%v)", body["scheduled_at"], err)
	}
}

// TestHTMLFormPreset: the preset redirects, the snippet posts UTF-8 to the
// flow URL, and a form post without a declared charset arrives as UTF-8.
func TestHTMLFormPreset(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"contact","name":"Contact","trigger":{"type":"webhook"},"steps":[{"id":"say","type":"log","with":{"message":"from {{ trigger.body.name }}"}}]}`)
	p := e.get("/flows/contact")
	p = e.edit(p, csrf, "formpreset", nil)
	snippet := text(mustTestID(t, p, "form-snippet"))
	for _, want := range []string{`action="` + e.base + `/hooks/contact"`, `accept-charset="utf-8"`, `method="post"`} {
		if !strings.Contains(snippet, want) {
			t.Errorf("snippet lacks %s: %s", want, snippet)
		}
	}
	p = e.edit(p, csrf, "save", map[string]string{"f:text:trigger.with.respond.url": "https://example.com/thanks"})
	mustTestID(t, p, "saved")

	req, _ := http.NewRequest(http.MethodPost, e.base+"/hooks/contact", strings.NewReader("name=Zo%C3%AB&email=zoe%40example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // no charset, as a page without one sends
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://example.com/thanks" {
		t.Fatalf("form post: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	runs, _, err := e.store.ListRuns(context.Background(), engineQuery("contact"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %d", err, len(runs))
	}
	body, _ := runs[0].Trigger.Body.(map[string]any)
	if body["name"] != "Zoë" {
		t.Errorf("name = %q, want Zoë", body["name"])
	}
}

// TestFlowMap: the map lists the trigger, every step (nested ones too) with
// a link to its card, and colours the last run's failed step.
func TestFlowMap(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"m","name":"M","trigger":{"type":"webhook"},"steps":[
		{"id":"pick","type":"branch","cases":[{"name":"big","when":"trigger.body.n > 1","steps":[{"id":"loud","type":"log","with":{"message":"big"}}]}],
		 "default":[{"id":"quiet","type":"log","with":{"message":"small"}}]},
		{"id":"boom","type":"fail","with":{"message":"stop"}}]}`)
	runID, err := e.eng.RunManual(context.Background(), "m", map[string]any{"n": 2})
	if err != nil {
		t.Fatal(err)
	}
	e.waitRun(runID)
	p := e.get("/flows/m")
	m := mustTestID(t, p, "flow-map")
	for id, card := range map[string]string{"pick": "#card-steps-0", "loud": "#card-steps-0-cases-0-steps-0", "quiet": "#card-steps-0-default-0", "boom": "#card-steps-1"} {
		n := byTestID(m, "map-node-"+id)
		if n == nil {
			t.Errorf("no map node for %s", id)
			continue
		}
		if got := attr(n, "href"); got != card {
			t.Errorf("%s links to %q, want %q", id, got, card)
		}
		if byID(p.doc, strings.TrimPrefix(card, "#")) == nil {
			t.Errorf("%s: no card with id %s", id, card)
		}
	}
	rect := findAll(byTestID(m, "map-node-boom"), func(n *html.Node) bool { return n.Data == "rect" })
	if len(rect) != 1 || !strings.Contains(attr(rect[0], "class"), "status-failed") {
		t.Errorf("the failed step is not coloured")
	}
}

func byID(doc *html.Node, id string) *html.Node {
	all := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(all) == 0 {
		return nil
	}
	return all[0]
}

// TestStepTestAndPin: "Test this step" runs one step of the draft with the
// test event, shows its output, and a pinned output feeds later previews.
func TestStepTestAndPin(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	echo := echoServer(t)
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[
		{"id":"gate","type":"filter","when":"trigger.body.n > 1"},
		{"id":"call","type":"http","with":{"method":"POST","url":"` + echo.URL + `/x","body":{"n":"{{ trigger.body.n }}"}}},
		{"id":"say","type":"log","with":{"message":"got {{ steps.call.output.body.received.n }}"}}]}`)
	if err := e.store.PutSample(context.Background(), "f", &engine.TriggerData{Type: "webhook", Method: "POST", Body: map[string]any{"n": 3.0}, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	p := e.get("/flows/f")
	if got := attr(byTestIDIn(mustTestID(t, p, "steptest-call"), "test-step"), "data-confirm-once"); !strings.Contains(got, "calls the real service") {
		t.Errorf("no confirmation before calling a service: %q", got)
	}
	if got := attr(byTestIDIn(mustTestID(t, p, "steptest-gate"), "test-step"), "data-confirm-once"); got != "" {
		t.Errorf("a filter asks before its test: %q", got)
	}
	test := func(path string) page {
		form := formOf(t, p, "editor-form")
		form.Set("step", path)
		return e.postHTMX("/flows/f/steptest", csrf, form)
	}
	r := test("steps[0]")
	if got := text(mustTestID(t, r, "steptest-output")); !strings.Contains(got, `"continue": true`) {
		t.Errorf("filter test output = %s", got)
	}
	r = test("steps[1]")
	out := text(mustTestID(t, r, "steptest-output"))
	if !strings.Contains(out, `"status": 200`) || !strings.Contains(out, `"n": 3`) {
		t.Fatalf("http test output = %s", out)
	}
	if runs, _, _ := e.store.ListRuns(context.Background(), engineQuery("f")); len(runs) != 0 {
		t.Errorf("a step test recorded %d runs", len(runs))
	}
	// Pin it: the later step's preview now resolves.
	pin := mustTestID(t, r, "pin-output")
	var vals map[string]string
	if err := json.Unmarshal([]byte(attr(pin, "hx-vals")), &vals); err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range vals {
		form.Set(k, v)
	}
	mustTestID(t, e.postHTMX("/flows/f/pin", csrf, form), "pinned")
	p = e.get("/flows/f")
	if got := text(mustTestID(t, p, "preview-steps[2].with.message")); !strings.Contains(got, "got 3") {
		t.Errorf("preview with pinned data = %q", got)
	}
}

// TestStripeOver100WithoutSyntax: the Stripe template's conditions open as
// rows; "amount greater than 10000" (cents: over $100) is chosen and typed,
// and saved as a number comparison.
func TestStripeOver100WithoutSyntax(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	p := e.post("/flows/new", url.Values{"_csrf": {csrf}, "name": {"Big payments"}, "template": {"stripe-payment-receipt.json"}})
	p = e.get("/flows/big-payments")
	cond := mustTestID(t, p, "cond-steps[1].when")
	if attr(cond, "data-mode") != "builder" {
		t.Fatalf("the template's amount condition is %s", attr(cond, "data-mode"))
	}
	set := rowInputs("steps[1].when", 0, 0, "trigger.body.data.object.amount", "number", "gt", "10000")
	p = e.edit(p, csrf, "save", set)
	mustTestID(t, p, "saved")
	f, err := e.store.GetFlow(context.Background(), "big-payments")
	if err != nil {
		t.Fatal(err)
	}
	if f.Steps[1].When != "trigger.body.data.object.amount > 10000" {
		t.Errorf("saved = %q", f.Steps[1].When)
	}
	// The only text typed is the value; the field was picked and the comparison chosen.
	if typed := set["c:steps[1].when|0|0|value"]; typed != "10000" {
		t.Errorf("typed %q", typed)
	}
}

// TestPinnedFieldsOffered: pinned step data is offered by the field picker.
func TestPinnedFieldsOffered(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[{"id":"crm","type":"log","with":{"message":"x"}}]}`)
	if err := e.store.KVSet(context.Background(), "pin:f:crm", map[string]any{"id": 42.0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	p := e.htmx("/flows/f/picker")
	item := mustTestID(t, p, "pick-item-steps.crm.output.id")
	if attr(item, "data-type") != "number" {
		t.Errorf("pinned id type = %q", attr(item, "data-type"))
	}
}

// TestSecretFieldAsPill: a secret field that only refers to a secret shows
// it as a pill with the names to choose from (never a value); a typed value
// or a longer template stays text, and the form posts the field unchanged.
func TestSecretFieldAsPill(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	ctx := context.Background()
	for _, n := range []string{"HOOK_URL", "OTHER"} {
		if err := e.secrets.Set(ctx, n, "value-of-"+n); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, value string
		pill        string // the pill's name; "" when the value shows as text
	}{
		{"reference", "{{ secrets.HOOK_URL }}", "HOOK_URL"},
		{"reference without spaces", "{{secrets.OTHER}}", "OTHER"},
		{"not set yet", "{{ secrets.MISSING }}", "MISSING"},
		{"a typed value", "https://discord.com/api/webhooks/1/x", ""},
		{"more than a reference", "https://x.example/{{ secrets.HOOK_URL }}", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("s%d", i)
			doc, _ := json.Marshal(map[string]any{"id": id, "name": id, "trigger": map[string]any{"type": "webhook"},
				"steps": []any{map[string]any{"id": "post", "type": "discord", "with": map[string]any{"webhook_url": tc.value, "text": "hi"}}}})
			e.flow(string(doc))
			p := e.get("/flows/" + id)
			const path = "steps[0].with.webhook_url"
			pill := mustTestID(t, p, "secret-pill-"+path)
			box := mustTestID(t, p, "input-"+path)
			if tc.pill != "" {
				if hasAttr(pill, "hidden") || text(pill) != "🔒 secret "+tc.pill || !hasAttr(box, "hidden") || attr(box, "value") != "" {
					t.Errorf("pill %q hidden=%v, text box hidden=%v value %q", text(pill), hasAttr(pill, "hidden"), hasAttr(box, "hidden"), attr(box, "value"))
				}
			} else if !hasAttr(pill, "hidden") || hasAttr(box, "hidden") || attr(box, "value") != tc.value {
				t.Errorf("a value shown as pill %q (hidden=%v) / text %q", text(pill), hasAttr(pill, "hidden"), attr(box, "value"))
			}
			if got := attr(mustTestID(t, p, "value-"+path), "value"); got != tc.value {
				t.Errorf("posted value = %q, want %q", got, tc.value)
			}
			var opts []string
			for _, o := range findAll(mustTestID(t, p, "secret-"+path), func(n *html.Node) bool { return n.Data == "option" && attr(n, "value") != "" }) {
				opts = append(opts, attr(o, "value")+"="+text(o))
			}
			if got := strings.Join(opts, ","); got != "HOOK_URL=🔒 HOOK_URL,OTHER=🔒 OTHER" {
				t.Errorf("secret choices = %s", got)
			}
			if strings.Contains(p.body, "value-of-") {
				t.Error("the page carries a secret's value")
			}
			// Saving posts the field as shown: the reference is kept.
			p = e.edit(p, csrf, "save", nil)
			mustTestID(t, p, "saved")
			f, err := e.store.GetFlow(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var with struct {
				URL string `json:"webhook_url"`
			}
			_ = json.Unmarshal(f.Steps[0].With, &with)
			if with.URL != tc.value {
				t.Errorf("saved %q, want %q", with.URL, tc.value)
			}
		})
	}
	// The field picker offers the secrets by name for template fields.
	p := e.htmx("/flows/s0/picker")
	for _, n := range []string{"HOOK_URL", "OTHER"} {
		if byTestID(p.doc, "pick-item-secrets."+n) == nil {
			t.Errorf("the picker does not offer the secret %s", n)
		}
	}
}
