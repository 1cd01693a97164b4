package ui_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/hookflow/hookflow/engine"
)

// nocode drives the editor as a person who writes no expression syntax:
// every string typed is recorded and checked for `{{`, `trigger.`, `==`, `&&`.
type nocode struct {
	t     *testing.T
	ctx   context.Context
	e     *uiEnv
	shot  *shots
	typed []string
}

func newNocode(t *testing.T) *nocode {
	n := &nocode{t: t, ctx: browser(t), e: newUIEnv(t), shot: newShots(t)}
	n.do("open setup", chromedp.Navigate(n.e.base+"/"), chromedp.WaitVisible(tid("setup-form")))
	n.do("create admin",
		n.typeIn(tid("email"), "ada@example.com"),
		n.typeIn(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("flows-empty")),
	)
	return n
}

// typeIn types a value, as a person would, and records it.
func (n *nocode) typeIn(sel chromedp.CSS, text string) chromedp.Action[chromedp.Void] {
	n.typed = append(n.typed, text)
	return chromedp.SendKeys(sel, text)
}

func (n *nocode) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	n.t.Helper()
	sctx, cancel := context.WithTimeout(n.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(n.ctx, chromedp.Location())
		n.shot.take(n.ctx, "nocode-fail")
		n.t.Fatalf("%s: %v\nat %s", what, err, loc)
	}
}

func (n *nocode) eval(what, js string) string {
	n.t.Helper()
	v, err := chromedp.Run(n.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		n.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// part writes screenshots of one element at the given widths (for the guide).
func (n *nocode) part(sel chromedp.CSS, name string, widths ...int64) {
	n.t.Helper()
	for _, w := range widths {
		opts := []chromedp.EmulateViewportOption{}
		if w < 600 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		if err := chromedp.Do(n.ctx, chromedp.EmulateViewport(w, 900, opts...), chromedp.Sleep(150*time.Millisecond)); err != nil {
			n.t.Fatal(err)
		}
		buf, err := chromedp.Run(n.ctx, chromedp.Screenshot(sel))
		if err != nil {
			n.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(n.shot.dir, fmt.Sprintf("%s-%d.png", name, w)), buf, 0o644); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := chromedp.Do(n.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		n.t.Fatal(err)
	}
}

// poll waits until the JavaScript expression is true.
// pin pins a step test's output. The button arrives with the test's result;
// a mouse click while that panel still settles can land beside it (seen in
// CI: the click went nowhere), so it is clicked once the page is quiet.
func (n *nocode) pin(step string) {
	n.t.Helper()
	n.do("the test's output of "+step, chromedp.WaitVisible(in("steptest-"+step, "pin-output")))
	n.poll("the page settles", `document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping") === null`)
	n.eval("pin "+step, `document.querySelector('[data-testid="steptest-`+step+`"] [data-testid="pin-output"]').click(); ""`)
	n.do("pinned "+step, chromedp.WaitVisible(in("steptest-"+step, "pinned")))
}

func (n *nocode) poll(what, js string) {
	n.t.Helper()
	if _, err := chromedp.Run(n.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		n.shot.take(n.ctx, "nocode-fail")
		n.t.Fatalf("%s: %v", what, err)
	}
}

// noSyntax fails when anything typed was expression syntax.
func (n *nocode) noSyntax() {
	n.t.Helper()
	for _, s := range n.typed {
		for _, bad := range []string{"{{", "trigger.", "==", "&&"} {
			if strings.Contains(s, bad) {
				n.t.Errorf("typed %q, which contains %q", s, bad)
			}
		}
	}
}

// pickInto opens the field picker from the control and picks the path.
func (n *nocode) pickInto(control chromedp.CSS, path string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Click(control),
		chromedp.WaitVisible(tid("pick-item-" + path)),
		chromedp.Click(tid("pick-item-" + path)),
		chromedp.WaitNotVisible(tid("picker")),
	}
}

// chatServer stands in for Discord or Slack: it records the messages posted.
func chatServer(t *testing.T) (*httptest.Server, func() []map[string]any) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		if strings.Contains(r.URL.Path, "/services/") { // Slack answers "ok"
			_, _ = io.WriteString(w, "ok")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), got...)
	}
}

const githubLabeled = `{"action":"labeled","label":{"name":"bug"},"issue":{"number":7,"title":"Crash on save","html_url":"https://github.com/acme/app/issues/7","user":{"login":"ann"}},"repository":{"full_name":"acme/app"}}`

// TestNoCodeGitHubBugToDiscord builds "When a GitHub issue has label bug,
// post to Discord" from a blank flow by clicking fields and typing values.
func TestNoCodeGitHubBugToDiscord(t *testing.T) {
	n := newNocode(t)
	chat, messages := chatServer(t)
	// The channel's webhook URL is a secret, picked by name in the step.
	if err := n.e.secrets.Set(context.Background(), "DISCORD_WEBHOOK_URL", chat.URL+"/api/webhooks/1/abc"); err != nil {
		t.Fatal(err)
	}

	n.do("new flow",
		n.typeIn(tid("new-flow-name"), "Bug reports"),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("webhook-url")),
	)
	hookURL := n.eval("webhook URL", `document.querySelector('[data-testid="webhook-url"]').value`)
	n.do("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	postHook(t, hookURL, githubLabeled)
	n.do("sample arrives", chromedp.WaitVisible(tid("sample")))

	// Filter: action is labeled, and label name is bug — picked and typed.
	cond := "cond-steps[0].when"
	n.do("add filter",
		chromedp.Click(tid("palette-steps")+" > summary"),
		n.typeIn(in("palette-steps", "palette-search"), "filter"),
		chromedp.Click(in("palette-steps", "add-filter")),
		chromedp.WaitVisible(tid(cond)),
	)
	n.do("first condition", n.pickInto(in(cond, "cond-row-0-0")+" "+tid("cond-field"), "trigger.body.action")...)
	n.do("first value", n.typeIn(in(cond, "cond-row-0-0")+" "+tid("cond-value"), "labeled"))
	n.do("add a row",
		chromedp.Click(in(cond, "cond-add-row")),
		chromedp.WaitVisible(in(cond, "cond-row-0-1")),
	)
	n.do("second condition", n.pickInto(in(cond, "cond-row-0-1")+" "+tid("cond-field"), "trigger.body.label.name")...)
	n.do("second value", n.typeIn(in(cond, "cond-row-0-1")+" "+tid("cond-value"), "bug"))
	if got := n.eval("first value kept", `document.querySelector('[data-testid="cond-row-0-0"] [data-testid="cond-value"]').value`); got != "labeled" {
		t.Errorf("the first row's value after adding a row = %q", got)
	}

	// Discord: the webhook URL is a value; the text is picked fields and words.
	text := "input-steps[1].with.text"
	n.do("add discord",
		chromedp.Click(tid("palette-steps")+" > summary"),
		n.typeIn(in("palette-steps", "palette-search"), "discord"),
		chromedp.Click(in("palette-steps", "add-discord")),
		chromedp.WaitVisible(tid(text)),
		n.typeIn(tid(text), "New bug: "),
	)
	n.pickSecret("steps[1].with.webhook_url", "DISCORD_WEBHOOK_URL")
	n.do("pick the title", n.pickInto(tid("pick-steps[1].with.text"), "trigger.body.issue.title")...)
	n.do("more words", n.typeIn(tid(text), " by "))
	n.do("pick the author", n.pickInto(tid("pick-steps[1].with.text"), "trigger.body.issue.user.login")...)
	n.do("preview", chromedp.WaitVisible(tid("preview-steps[1].with.text")+` [data-testid="preview-value"]`))
	n.poll("preview updated", `(document.querySelector('[data-testid="preview-steps[1].with.text"]')||{}).textContent.indexOf("New bug: Crash on save by ann") >= 0`)
	pills := n.eval("pills", `Array.from(document.querySelectorAll('[data-testid="input-steps[1].with.text"] .pill')).map(p => p.textContent).join("|")`)
	if pills != "body › issue › title|body › issue › user › login" {
		t.Errorf("pills = %q", pills)
	}
	n.shot.take(n.ctx, "nocode-01-builder-and-pills")
	n.part(tid(cond), "part-builder", 1280, 390)
	n.part(tid("field-steps[1].with.text"), "part-pills-preview", 1280, 390)

	n.do("pill menu for the picture",
		chromedp.Click(tid("input-steps[1].with.text")+` .pill:last-of-type`),
		chromedp.WaitVisible(tid("pill-menu")),
	)
	n.part(tid("field-steps[1].with.text"), "part-pill-menu", 1280)
	n.eval("close the menu", `document.getElementById("pill-menu").hidden = true; ""`)

	// Upper-case the author from the pill's menu.
	n.do("pill menu",
		chromedp.Click(tid("input-steps[1].with.text")+` .pill:last-of-type`),
		chromedp.WaitVisible(tid("pill-menu")),
		chromedp.Click(tid("pill-upper")),
		chromedp.WaitNotVisible(tid("pill-menu")),
	)
	n.poll("preview upper", `(document.querySelector('[data-testid="preview-steps[1].with.text"]')||{}).textContent.indexOf("by ANN") >= 0`)

	n.do("save", chromedp.Click(tid("save")), chromedp.WaitVisible(tid("saved")), chromedp.WaitVisible(tid("toast")))
	f, err := n.e.store.GetFlow(context.Background(), "bug-reports")
	if err != nil {
		t.Fatal(err)
	}
	if want := `trigger.body.action == "labeled" && trigger.body.label.name == "bug"`; f.Steps[0].When != want {
		t.Errorf("saved condition = %q, want %q", f.Steps[0].When, want)
	}
	var with struct {
		Text       string
		WebhookURL string `json:"webhook_url"`
	}
	_ = json.Unmarshal(f.Steps[1].With, &with)
	if with.WebhookURL != "{{ secrets.DISCORD_WEBHOOK_URL }}" {
		t.Errorf("saved webhook URL = %q, want the secret", with.WebhookURL)
	}
	if want := `New bug: {{ trigger.body.issue.title }} by {{ upper(trigger.body.issue.user.login ?? "") }}`; with.Text != want {
		t.Errorf("saved text = %q, want %q", with.Text, want)
	}

	// A real webhook: a bug label posts, another label is filtered.
	postHook(t, hookURL, githubLabeled)
	postHook(t, hookURL, strings.Replace(githubLabeled, `"name":"bug"`, `"name":"docs"`, 1))
	n.do("runs", chromedp.Navigate(n.e.base+"/runs?flow=bug-reports"), chromedp.WaitVisible(tid("run-rows")))
	if _, err := chromedp.Run(n.ctx, chromedp.Poll[bool](`document.querySelectorAll('#run-rows .badge-succeeded').length >= 1 && document.querySelectorAll('#run-rows .badge-filtered').length >= 1`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("runs: %v", err)
	}
	n.do("open the run",
		chromedp.Click(chromedp.CSS(`#run-rows tr:has(.badge-succeeded) [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-discord")),
	)
	msgs := messages()
	if len(msgs) != 1 || msgs[0]["content"] != "New bug: Crash on save by ANN" {
		t.Errorf("Discord got %v", msgs)
	}
	n.noSyntax()
}

// signedGitHub posts a GitHub "issues" delivery signed with the secret.
func signedGitHub(t *testing.T, url, secret, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("d-%d", time.Now().UnixNano()))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("GitHub delivery: %d %s", resp.StatusCode, b)
	}
}

// TestNoCodeGitHubBugToDiscordFromTemplate starts from the gallery's GitHub
// → Discord template, turns "opened" into "labeled bug" in the builder, tests
// the Discord step (asked once before calling it), pins its output, saves,
// and follows a signed delivery to its run.
func TestNoCodeGitHubBugToDiscordFromTemplate(t *testing.T) {
	n := newNocode(t)
	chat, messages := chatServer(t)
	const secret = "gh-secret-for-tests"
	ctx := context.Background()
	if err := n.e.secrets.Set(ctx, "GITHUB_WEBHOOK_SECRET", secret); err != nil {
		t.Fatal(err)
	}
	if err := n.e.secrets.Set(ctx, "DISCORD_WEBHOOK_URL", chat.URL+"/api/webhooks/1/abc"); err != nil {
		t.Fatal(err)
	}
	n.do("new flow from the template",
		chromedp.Navigate(n.e.base+"/flows#new"),
		chromedp.WaitVisible(tid("new-flow-form")),
		n.typeIn(tid("new-flow-name"), "Bugs to Discord"),
		chromedp.Click(tid("template-github-issue-discord.json")),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("webhook-url")),
	)
	hookURL := n.eval("webhook URL", `document.querySelector('[data-testid="webhook-url"]').value`)
	n.do("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	signedGitHub(t, hookURL, secret, githubLabeled)
	n.do("sample arrives", chromedp.WaitVisible(tid("sample")))

	// The template's condition opens as builder rows.
	cond := "cond-steps[0].when"
	row := func(r int, id string) chromedp.CSS {
		return in(cond, fmt.Sprintf("cond-row-0-%d", r)) + " " + tid(id)
	}
	if got := n.eval("rows", `document.querySelector('[data-testid="cond-steps[0].when"]').getAttribute("data-mode") + ":" +
		document.querySelectorAll('[data-testid="cond-steps[0].when"] [data-cond-row]').length`); got != "builder:2" {
		t.Fatalf("template condition shown as %s, want builder:2", got)
	}
	n.eval("clear the value", `document.querySelector('[data-testid="cond-row-0-1"] [data-testid="cond-value"]').value = ""`)
	n.do("opened → labeled",
		n.typeIn(row(1, "cond-value"), "labeled"),
		chromedp.Click(in(cond, "cond-add-row")),
		chromedp.WaitVisible(in(cond, "cond-row-0-2")),
	)
	n.do("label name", n.pickInto(row(2, "cond-field"), "trigger.body.label.name")...)
	n.do("bug", n.typeIn(row(2, "cond-value"), "bug"))
	n.shot.take(n.ctx, "nocode-02-builder-from-template")

	// Test the filter and the Discord step; the Discord test asks first, once.
	n.eval("count confirms", `window.__asked = []; window.confirm = function (m) { window.__asked.push(m); return true; }; ""`)
	n.do("test the filter",
		chromedp.Click(in("steptest-opened", "test-step")),
		chromedp.WaitVisible(in("steptest-opened", "steptest-output")),
	)
	if got := n.eval("filter output", `document.querySelector('[data-testid="steptest-opened"] [data-testid="steptest-output"]').textContent`); !strings.Contains(got, `"continue": true`) {
		t.Errorf("filter test = %s", got)
	}
	n.do("test discord",
		chromedp.Click(in("steptest-post", "test-step")),
		chromedp.WaitVisible(in("steptest-post", "steptest-output")),
		chromedp.Click(in("steptest-post", "test-step")),
		chromedp.Sleep(300*time.Millisecond),
	)
	n.pin("post")
	if got := n.eval("asked", `String(window.__asked.length)`); got != "1" {
		t.Errorf("asked %s times before calling Discord, want once", got)
	}
	if len(messages()) != 2 {
		t.Errorf("Discord got %d test messages, want 2", len(messages()))
	}
	n.shot.take(n.ctx, "nocode-03-step-test")
	n.part(tid("steptest-post"), "part-step-test", 1280, 390)
	n.part(tid("flow-map"), "part-flow-map", 1280)

	n.do("save", chromedp.Click(tid("save")), chromedp.WaitVisible(tid("saved")))
	f, err := n.e.store.GetFlow(ctx, "bugs-to-discord")
	if err != nil {
		t.Fatal(err)
	}
	if want := `trigger.headers["x-github-event"] == "issues" && trigger.body.action == "labeled" && trigger.body.label.name == "bug"`; f.Steps[0].When != want {
		t.Errorf("saved condition = %q\nwant %q", f.Steps[0].When, want)
	}
	signedGitHub(t, hookURL, secret, githubLabeled)
	signedGitHub(t, hookURL, secret, strings.Replace(githubLabeled, `"name":"bug"`, `"name":"docs"`, 1))
	n.do("runs", chromedp.Navigate(n.e.base+"/runs?flow=bugs-to-discord"), chromedp.WaitVisible(tid("run-rows")))
	n.poll("runs end", `document.querySelectorAll('#run-rows .badge-succeeded').length >= 1 && document.querySelectorAll('#run-rows .badge-filtered').length >= 1`)
	n.do("open the run",
		chromedp.Click(chromedp.CSS(`#run-rows tr:has(.badge-succeeded) [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-post")),
	)
	n.shot.take(n.ctx, "nocode-04-run")
	if msgs := messages(); len(msgs) != 3 || !strings.Contains(fmt.Sprint(msgs[2]["content"]), "Crash on save") {
		t.Errorf("Discord got %v", msgs)
	}
	n.noSyntax()
}

// axeSource reads axe-core (npm axe-core's axe.min.js) from HOOKFLOW_AXE_JS;
// outside CI a missing file skips the test, in CI it fails (.ci/run installs it).
func axeSource(t *testing.T) string {
	path := os.Getenv("HOOKFLOW_AXE_JS")
	if path == "" {
		path = filepath.Join(os.TempDir(), "hookflow-axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core not found at %s (HOOKFLOW_AXE_JS): %v", path, err)
		}
		t.Skipf("axe-core not found at %s: npm install axe-core there or set HOOKFLOW_AXE_JS", path)
	}
	return string(b)
}

// TestAccessibility runs axe-core in Chromium on /flows, the editor (with
// builder rows, pills and a step test), /runs and a run page: no serious or
// critical violations.
func TestAccessibility(t *testing.T) {
	axe := axeSource(t)
	n := newNocode(t)
	ctx := context.Background()
	e := n.e
	if err := e.secrets.Set(ctx, "TOKEN", "t0ken"); err != nil {
		t.Fatal(err)
	}
	// The verify secret shows the secret field's pill and list.
	f, err := engine.DecodeFlow([]byte(`{"id":"orders","name":"Orders","trigger":{"type":"webhook","with":{"verify":{"scheme":"token","header":"x-api-token","secret":"{{ secrets.TOKEN }}"}}},"steps":[
		{"id":"big","type":"filter","when":"trigger.body.amount > 100 && trigger.body.email != nil"},
		{"id":"pick","type":"branch","cases":[{"name":"vip","when":"trigger.body.vip == true","steps":[{"id":"note","type":"log","with":{"message":"vip {{ trigger.body.email }}"}}]}]},
		{"id":"say","type":"log","if":"trigger.body.note != nil","with":{"message":"Order {{ trigger.body.id }} from {{ lower(trigger.body.email ?? \"\") }}"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.PutFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"id": "o-1", "amount": 150.0, "email": "Ann@Example.com", "vip": true}
	if err := e.store.PutSample(ctx, "orders", &engine.TriggerData{Type: "webhook", Method: "POST", Body: body, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	runID, err := e.eng.RunManual(ctx, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.waitRun(runID)
	check := func(name, url string, ready chromedp.CSS, prepare ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		n.do("open "+name, append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(url), chromedp.WaitVisible(ready)}, prepare...)...)
		n.eval("load axe", axe+`;""`)
		res, err := chromedp.Run(n.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(x => x.target.join(" ") + " " + x.failureSummary)}))))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe on %s: %v", name, err)
		}
		if res != "[]" {
			t.Errorf("axe on %s: serious or critical violations:\n%s", name, res)
		}
	}
	check("flows", e.base+"/flows", tid("flow-row-orders"))
	check("editor", e.base+"/flows/orders", tid("secret-pill-trigger.with.verify.secret"),
		chromedp.Click(in("steptest-say", "test-step")),
		chromedp.WaitVisible(in("steptest-say", "steptest-result")))
	check("runs", e.base+"/runs", tid("run-rows"))
	check("run", e.base+"/runs/"+runID, tid("timeline"))
}

// pipedriveServer answers person searches with nothing and creates person 42.
func pipedriveServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/persons/search":
			_, _ = io.WriteString(w, `{"success":true,"data":{"items":[]}}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/persons":
			var in struct{ Name string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"id": 42, "name": in.Name}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// postForm posts an HTML form as a browser does (no charset declared) and
// returns the status and where it redirects.
func postForm(t *testing.T, url, body string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestNoCodeContactForm: "When the contact form is posted, add a Pipedrive
// person, post to Slack, redirect to /thanks" — from the gallery template,
// with the form snippet, step tests, a real form post and its run.
func TestNoCodeContactForm(t *testing.T) {
	n := newNocode(t)
	chat, messages := chatServer(t)
	crm := pipedriveServer(t)
	ctx := context.Background()
	if err := n.e.secrets.Set(ctx, "PIPEDRIVE_TOKEN", "pd-token"); err != nil {
		t.Fatal(err)
	}
	if err := n.e.secrets.Set(ctx, "SLACK_WEBHOOK_URL", chat.URL+"/services/T1/B1/x"); err != nil {
		t.Fatal(err)
	}
	n.do("new flow from the template",
		chromedp.Navigate(n.e.base+"/flows#new"),
		chromedp.WaitVisible(tid("new-flow-form")),
		n.typeIn(tid("new-flow-name"), "Contact form"),
		chromedp.Click(tid("template-form-lead.json")),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("form-snippet")),
	)
	hookURL := n.eval("webhook URL", `document.querySelector('[data-testid="webhook-url"]').value`)
	snippet := n.eval("snippet", `document.getElementById("form-snippet").value`)
	if !strings.Contains(snippet, `action="`+hookURL+`"`) || !strings.Contains(snippet, `accept-charset="utf-8"`) {
		t.Errorf("form snippet = %s", snippet)
	}
	if got := n.eval("condition", `document.querySelector('[data-testid="cond-steps[0].when"]').getAttribute("data-mode")`); got != "builder" {
		t.Errorf("the template's condition is shown as %s", got)
	}
	// The CRM's address is a value typed into the step's advanced options.
	n.eval("open more options", `document.querySelector('[data-testid="field-steps[1].with.base_url"]').closest("details").open = true; ""`)
	n.do("CRM address", n.typeIn(tid("input-steps[1].with.base_url"), crm.URL))
	n.do("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	postForm(t, hookURL, "name=Zo%C3%AB&email=zoe%40example.com")
	n.do("sample arrives", chromedp.WaitVisible(tid("sample")))
	n.eval("accept confirms", `window.confirm = function () { return true; }; ""`)
	n.do("test the Pipedrive step",
		chromedp.Click(in("steptest-person", "test-step")),
		chromedp.WaitVisible(in("steptest-person", "steptest-output")),
	)
	n.pin("person")
	if got := n.eval("crm output", `document.querySelector('[data-testid="steptest-person"] [data-testid="steptest-output"]').textContent`); !strings.Contains(got, `"created": true`) {
		t.Errorf("Pipedrive test output = %s", got)
	}
	n.do("test the Slack step",
		chromedp.Click(in("steptest-tell_sales", "test-step")),
		chromedp.WaitVisible(in("steptest-tell_sales", "steptest-output")),
	)
	if msgs := messages(); len(msgs) != 1 || msgs[0]["text"] != "New lead: Zoë <zoe@example.com> (new in Pipedrive)" {
		t.Errorf("Slack test message = %v", msgs)
	}
	n.shot.take(n.ctx, "nocode-05-contact-form")
	// Unsaved changes: an in-app link asks first (declined: we stay).
	n.eval("decline leaving", `window.__left = []; window.confirm = function (m) { window.__left.push(m); return false; }; ""`)
	n.do("try to leave", chromedp.Click(tid("flow-runs")), chromedp.Sleep(300*time.Millisecond))
	if loc := n.eval("still here", `location.pathname + " " + window.__left.length`); loc != "/flows/contact-form 1" {
		t.Errorf("after declining to leave: %s", loc)
	}
	// Ctrl-S saves.
	n.eval("ctrl-s", `document.dispatchEvent(new KeyboardEvent("keydown", {key: "s", ctrlKey: true, bubbles: true})); ""`)
	n.do("saved", chromedp.WaitVisible(tid("saved")), chromedp.WaitVisible(tid("toast")))

	code, loc := postForm(t, hookURL, "name=Zo%C3%AB&email=zoe%40example.com")
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "https://example.com/thanks?name=Zo%C3%AB") {
		t.Errorf("form post: %d %s", code, loc)
	}
	n.do("runs", chromedp.Navigate(n.e.base+"/runs?flow=contact-form"), chromedp.WaitVisible(tid("run-rows")))
	n.poll("run ends", `document.querySelectorAll('#run-rows .badge-succeeded').length >= 1`)
	n.do("open the run",
		chromedp.Click(chromedp.CSS(`#run-rows tr:has(.badge-succeeded) [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-tell_sales")),
	)
	if msgs := messages(); len(msgs) != 2 || msgs[1]["text"] != "New lead: Zoë <zoe@example.com> (new in Pipedrive)" {
		t.Errorf("Slack got %v", msgs)
	}
	n.noSyntax()
}

// pickSecret chooses a secret by name in a secret field's list, as a person
// picks an option: the field then shows it as a pill.
func (n *nocode) pickSecret(path, name string) {
	n.t.Helper()
	n.do("pick the secret "+name,
		chromedp.Click(tid("secret-"+path)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function(){ var s = document.querySelector('[data-testid="secret-%s"]'); s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, path, name)),
		chromedp.WaitVisible(tid("secret-pill-"+path)),
	)
	if got := n.eval("secret pill", fmt.Sprintf(`document.querySelector('[data-testid="secret-pill-%s"]').textContent`, path)); got != "🔒 secret "+name {
		n.t.Errorf("%s shows %q, want the pill 🔒 secret %s", path, got, name)
	}
}

// noSecretSyntax fails when a visible control of the editor shows a
// placeholder or a secret's reference as text ({{ secrets.NAME }}) instead
// of a pill.
func (n *nocode) noSecretSyntax() {
	n.t.Helper()
	got := n.eval("secret syntax shown", `Array.from(document.querySelectorAll('#flow-form input:not([type=hidden]), #flow-form [contenteditable], #flow-form select'))
		.filter(e => !e.closest('[data-testid="json-view"]') && e.offsetParent !== null)
		.map(e => e.value !== undefined ? e.value : e.textContent).filter(v => v.indexOf("secrets.") >= 0 || v.indexOf("{{") >= 0).join(" | ")`)
	if got != "" {
		n.t.Errorf("the editor shows secret references as text: %s", got)
	}
}

// clearText empties a text box or a pill input, as select-all and delete do.
func (n *nocode) clearText(sel chromedp.CSS) {
	n.t.Helper()
	n.do("clear "+string(sel), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function(){ var el = document.querySelector(%q);
		if (el.isContentEditable) { el.textContent = ""; } else { el.value = ""; }
		el.dispatchEvent(new Event("input", {bubbles: true})); })()`, string(sel))))
}

// chooseOption picks an option of a select, as a click on it does.
func (n *nocode) chooseOption(sel chromedp.CSS, value string) {
	n.t.Helper()
	n.do("choose "+value, chromedp.Click(sel), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function(){ var s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, string(sel), value)))
}

// signedStripe posts a Stripe event with its Stripe-Signature header:
// t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>").
func signedStripe(t *testing.T, url, secret, body string) {
	t.Helper()
	ts := fmt.Sprint(time.Now().Unix())
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("Stripe delivery: %d %s", resp.StatusCode, b)
	}
}

func stripePayment(id string, cents int) string {
	return fmt.Sprintf(`{"id":"evt_%s","type":"payment_intent.succeeded","data":{"object":{"id":%q,"amount":%d,"currency":"usd","receipt_email":"ann@example.com"}}}`, id, id, cents)
}

// hubspotServer stands in for HubSpot's contact upsert: it demands the
// bearer token and one input keyed by email, as actions/hubspot_test.go does.
func hubspotServer(t *testing.T, token string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var emails []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"status":"error","category":"INVALID_AUTHENTICATION","message":"Authentication credentials not found."}`)
			return
		}
		var in struct {
			Inputs []struct {
				IDProperty string            `json:"idProperty"`
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
			} `json:"inputs"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/crm/v3/objects/contacts/batch/upsert" {
			http.NotFound(w, r)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Inputs) != 1 || in.Inputs[0].IDProperty != "email" || in.Inputs[0].ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"status":"error","category":"VALIDATION_ERROR","message":"inputs must hold one contact keyed by email"}`)
			return
		}
		mu.Lock()
		emails = append(emails, in.Inputs[0].ID)
		isNew := len(emails) == 1
		mu.Unlock()
		props := map[string]string{"email": in.Inputs[0].ID, "hs_object_id": "501"}
		for k, v := range in.Inputs[0].Properties {
			props[k] = v
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "COMPLETE",
			"results": []any{map[string]any{"id": "501", "properties": props, "new": isNew}}})
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), emails...)
	}
}

// mailbox is a real SMTP server on 127.0.0.1 (no TLS) that accepts the one
// user and password given and keeps the messages.
type mailbox struct {
	user, pass string
	mu         sync.Mutex
	msgs       []mailMsg
}

type mailMsg struct {
	To   []string
	Data string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

func (b *mailbox) got() []mailMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailMsg(nil), b.msgs...)
}

type mailSession struct {
	b    *mailbox
	auth bool
	cur  mailMsg
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed
		}
		s.auth = true
		return nil
	}), nil
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	s.cur = mailMsg{}
	return nil
}

func (s *mailSession) Reset()        { s.cur = mailMsg{} }
func (s *mailSession) Logout() error { return nil }

func startMailbox(t *testing.T, user, pass string) (*mailbox, int) {
	t.Helper()
	b := &mailbox{user: user, pass: pass}
	s := smtp.NewServer(b)
	s.Domain = "127.0.0.1"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return b, ln.Addr().(*net.TCPAddr).Port
}

// TestNoCodeStripeReceipt: "When a Stripe payment over $100 arrives, upsert
// the HubSpot contact and email a receipt" — from the gallery template, with
// secrets shown and picked as pills, the amount changed in the builder, each
// step tested (HubSpot and a real SMTP server on 127.0.0.1), a signed Stripe
// delivery and its run.
func TestNoCodeStripeReceipt(t *testing.T) {
	n := newNocode(t)
	const whsec, hsToken, smtpPass = "whsec_test_e2e", "pat-na1-e2e", "smtp-pw-e2e"
	crm, upserts := hubspotServer(t, hsToken)
	mail, port := startMailbox(t, "billing@example.com", smtpPass)
	ctx := context.Background()
	for name, v := range map[string]string{"STRIPE_WHSEC": whsec, "HUBSPOT_TOKEN": hsToken, "SMTP_PASSWORD": smtpPass, "OTHER_TOKEN": "x"} {
		if err := n.e.secrets.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	n.do("new flow from the template",
		chromedp.Navigate(n.e.base+"/flows#new"),
		chromedp.WaitVisible(tid("new-flow-form")),
		n.typeIn(tid("new-flow-name"), "Stripe receipts"),
		chromedp.Click(tid("template-stripe-payment-receipt.json")),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("webhook-url")),
	)
	// The template's secrets show as pills, never as {{ secrets.… }} text.
	for path, name := range map[string]string{"trigger.with.verify.secret": "STRIPE_WHSEC", "steps[2].with.token": "HUBSPOT_TOKEN", "steps[3].with.password": "SMTP_PASSWORD"} {
		if got := n.eval("pill", fmt.Sprintf(`(document.querySelector('[data-testid="secret-pill-%s"]')||{}).textContent`, path)); got != "🔒 secret "+name {
			t.Errorf("%s shows %q, want 🔒 secret %s", path, got, name)
		}
	}
	n.noSecretSyntax()

	hookURL := n.eval("webhook URL", `document.querySelector('[data-testid="webhook-url"]').value`)
	n.do("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	signedStripe(t, hookURL, whsec, stripePayment("pi_1", 25000))
	n.do("sample arrives", chromedp.WaitVisible(tid("sample")))
	// The previews follow the test event as it arrives.
	n.poll("previews with the test event", `(document.querySelector('[data-testid="preview-steps[3].with.to"]')||{textContent: ""}).textContent.indexOf("ann@example.com") >= 0`)

	// "over $100": amount greater than 10000 (cents), in the builder.
	cond := "cond-steps[1].when"
	if got := n.eval("rows", `document.querySelector('[data-testid="cond-steps[1].when"]').getAttribute("data-mode")`); got != "builder" {
		t.Fatalf("the amount condition is shown as %s, want builder", got)
	}
	row := in(cond, "cond-row-0-0")
	n.chooseOption(row+" "+tid("cond-op"), "gt")
	n.clearText(row + " " + tid("cond-value"))
	n.do("over 100 dollars", n.typeIn(row+" "+tid("cond-value"), "10000"))

	// HubSpot: the address of the (local) API, and the token picked again.
	n.eval("open more options", `document.querySelector('[data-testid="field-steps[2].with.base_url"]').closest("details").open = true; ""`)
	n.do("HubSpot address", n.typeIn(tid("input-steps[2].with.base_url"), crm.URL))
	n.do("type instead of the secret", chromedp.Click(tid("secret-clear-steps[2].with.token")), chromedp.WaitVisible(tid("input-steps[2].with.token")))
	n.pickSecret("steps[2].with.token", "OTHER_TOKEN")
	n.pickSecret("steps[2].with.token", "HUBSPOT_TOKEN")

	// Email: the mail server's host, port and no encryption (it is local).
	n.clearText(tid("input-steps[3].with.host"))
	n.do("SMTP host", n.typeIn(tid("input-steps[3].with.host"), "127.0.0.1"))
	n.clearText(tid("input-steps[3].with.port"))
	n.do("SMTP port", n.typeIn(tid("input-steps[3].with.port"), fmt.Sprint(port)))
	n.chooseOption(tid("input-steps[3].with.tls"), "none")
	n.noSecretSyntax()
	n.shot.take(n.ctx, "nocode-06-stripe-receipt")
	n.part(tid("step-crm"), "part-secret-pill", 1280, 390)
	n.part(tid("field-trigger.with.verify"), "part-secret-verify", 1280, 390)

	// Test each step; the outside calls ask first, once each.
	n.eval("accept confirms", `window.__asked = 0; window.confirm = function () { window.__asked++; return true; }; ""`)
	for _, id := range []string{"succeeded", "paid_enough"} {
		n.do("test "+id, chromedp.Click(in("steptest-"+id, "test-step")), chromedp.WaitVisible(in("steptest-"+id, "steptest-output")))
		if got := n.eval(id+" output", `document.querySelector('[data-testid="steptest-`+id+`"] [data-testid="steptest-output"]').textContent`); !strings.Contains(got, `"continue": true`) {
			t.Errorf("test of %s = %s", id, got)
		}
	}
	n.do("test HubSpot",
		chromedp.Click(in("steptest-crm", "test-step")),
		chromedp.WaitVisible(in("steptest-crm", "steptest-output")),
	)
	n.pin("crm")
	if got := n.eval("crm output", `document.querySelector('[data-testid="steptest-crm"] [data-testid="steptest-output"]').textContent`); !strings.Contains(got, `"501"`) {
		t.Errorf("HubSpot test output = %s", got)
	}
	n.do("test the receipt",
		chromedp.Click(in("steptest-receipt", "test-step")),
		chromedp.WaitVisible(in("steptest-receipt", "steptest-output")),
	)
	if got := mail.got(); len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "ann@example.com" || !strings.Contains(got[0].Data, "Payment pi_1.") {
		t.Errorf("the receipt's test mail: %+v", got)
	}
	n.shot.take(n.ctx, "nocode-07-stripe-step-tests")
	n.part(tid("step-receipt"), "part-stripe-receipt-step", 1280, 390)

	n.do("save", chromedp.Click(tid("save")))
	n.poll("saved", `(document.querySelector('[data-testid="saved"]')||{textContent: ""}).textContent.indexOf("version 2") >= 0`)
	// The toast comes after the editor is redrawn clean: leaving asks nothing.
	n.do("saved toast", chromedp.WaitVisible(chromedp.CSS(".toast.flash-ok")))
	f, err := n.e.store.GetFlow(ctx, "stripe-receipts")
	if err != nil {
		t.Fatal(err)
	}
	if want := `trigger.body.data.object.amount > 10000`; f.Steps[1].When != want {
		t.Errorf("saved condition = %q, want %q", f.Steps[1].When, want)
	}
	var crmWith struct {
		Token   string `json:"token"`
		BaseURL string `json:"base_url"`
	}
	_ = json.Unmarshal(f.Steps[2].With, &crmWith)
	if crmWith.Token != "{{ secrets.HUBSPOT_TOKEN }}" || crmWith.BaseURL != crm.URL {
		t.Errorf("saved HubSpot settings: %+v", crmWith)
	}

	// Real deliveries: $250 goes through, $50 is filtered.
	signedStripe(t, hookURL, whsec, stripePayment("pi_2", 25000))
	signedStripe(t, hookURL, whsec, stripePayment("pi_3", 5000))
	n.do("runs", chromedp.Navigate(n.e.base+"/runs?flow=stripe-receipts"), chromedp.WaitVisible(tid("run-rows")))
	n.poll("runs end", `document.querySelectorAll('#run-rows .badge-succeeded').length >= 1 && document.querySelectorAll('#run-rows .badge-filtered').length >= 1`)
	n.do("open the run",
		chromedp.Click(chromedp.CSS(`#run-rows tr:has(.badge-succeeded) [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-receipt")),
	)
	n.shot.take(n.ctx, "nocode-08-stripe-run")
	if got := mail.got(); len(got) != 2 || !strings.Contains(got[1].Data, "Payment pi_2.") || !strings.Contains(got[1].Data, "USD") {
		t.Errorf("receipts sent: %+v", got)
	}
	if got := upserts(); len(got) != 2 || got[1] != "ann@example.com" {
		t.Errorf("HubSpot upserts: %v", got)
	}
	n.noSyntax()
}

// TestNoCodeStripeReceiptFromBlank builds the same flow from a blank one:
// the filter rows, the HubSpot and email steps are picked and typed, the
// secrets chosen by name.
func TestNoCodeStripeReceiptFromBlank(t *testing.T) {
	n := newNocode(t)
	const hsToken, smtpPass = "pat-na1-blank", "smtp-pw-blank"
	crm, upserts := hubspotServer(t, hsToken)
	mail, port := startMailbox(t, "billing@example.com", smtpPass)
	ctx := context.Background()
	for name, v := range map[string]string{"HUBSPOT_TOKEN": hsToken, "SMTP_PASSWORD": smtpPass} {
		if err := n.e.secrets.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	n.do("new flow",
		n.typeIn(tid("new-flow-name"), "Receipts"),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("webhook-url")),
	)
	hookURL := n.eval("webhook URL", `document.querySelector('[data-testid="webhook-url"]').value`)
	n.do("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	postHook(t, hookURL, stripePayment("pi_1", 25000))
	n.do("sample arrives", chromedp.WaitVisible(tid("sample")))

	add := func(kind, search string) {
		n.do("add "+kind,
			chromedp.Click(tid("palette-steps")+" > summary"),
			n.typeIn(in("palette-steps", "palette-search"), search),
			chromedp.Click(in("palette-steps", "add-"+kind)),
			chromedp.WaitVisible(tid("step-"+kind)),
		)
	}
	// Filter: the event is a succeeded payment, and the amount is over 10000 cents.
	add("filter", "filter")
	cond := "cond-steps[0].when"
	n.do("event type", n.pickInto(in(cond, "cond-row-0-0")+" "+tid("cond-field"), "trigger.body.type")...)
	n.do("succeeded", n.typeIn(in(cond, "cond-row-0-0")+" "+tid("cond-value"), "payment_intent.succeeded"))
	n.do("add a row", chromedp.Click(in(cond, "cond-add-row")), chromedp.WaitVisible(in(cond, "cond-row-0-1")))
	n.do("amount", n.pickInto(in(cond, "cond-row-0-1")+" "+tid("cond-field"), "trigger.body.data.object.amount")...)
	n.chooseOption(in(cond, "cond-row-0-1")+" "+tid("cond-op"), "gt")
	n.do("over 100 dollars", n.typeIn(in(cond, "cond-row-0-1")+" "+tid("cond-value"), "10000"))

	// HubSpot: upsert the payer, token picked, email picked.
	add("hubspot", "hubspot")
	n.chooseOption(tid("input-steps[1].with.operation"), "upsert_contact")
	n.pickSecret("steps[1].with.token", "HUBSPOT_TOKEN")
	n.do("contact email", n.pickInto(tid("pick-steps[1].with.email"), "trigger.body.data.object.receipt_email")...)
	n.eval("open more options", `document.querySelector('[data-testid="field-steps[1].with.base_url"]').closest("details").open = true; ""`)
	n.do("HubSpot address", n.typeIn(tid("input-steps[1].with.base_url"), crm.URL))

	// Email: the receipt.
	add("email", "email")
	n.do("mail server",
		n.typeIn(tid("input-steps[2].with.host"), "127.0.0.1"),
		n.typeIn(tid("input-steps[2].with.port"), fmt.Sprint(port)),
		n.typeIn(tid("input-steps[2].with.username"), "billing@example.com"),
		n.typeIn(tid("input-steps[2].with.from"), "billing@example.com"),
		n.typeIn(tid("input-steps[2].with.subject"), "Thanks for your payment"),
	)
	n.chooseOption(tid("input-steps[2].with.tls"), "none")
	n.pickSecret("steps[2].with.password", "SMTP_PASSWORD")
	n.do("to", n.pickInto(tid("pick-steps[2].with.to"), "trigger.body.data.object.receipt_email")...)
	n.do("text", n.typeIn(tid("input-steps[2].with.text"), "Payment "))
	n.do("payment id", n.pickInto(tid("pick-steps[2].with.text"), "trigger.body.data.object.id")...)
	n.do("text end", n.typeIn(tid("input-steps[2].with.text"), " received."))
	n.poll("text preview", `(document.querySelector('[data-testid="preview-steps[2].with.text"]')||{textContent: ""}).textContent.indexOf("Payment pi_1 received.") >= 0`)
	n.noSecretSyntax()
	n.shot.take(n.ctx, "nocode-09-stripe-from-blank")

	n.eval("accept confirms", `window.confirm = function () { return true; }; ""`)
	n.do("test the filter", chromedp.Click(in("steptest-filter", "test-step")), chromedp.WaitVisible(in("steptest-filter", "steptest-output")))
	n.do("test HubSpot", chromedp.Click(in("steptest-hubspot", "test-step")), chromedp.WaitVisible(in("steptest-hubspot", "steptest-output")))
	n.do("test the email", chromedp.Click(in("steptest-email", "test-step")), chromedp.WaitVisible(in("steptest-email", "steptest-output")))
	if got := mail.got(); len(got) != 1 || !strings.Contains(got[0].Data, "Payment pi_1 received.") {
		t.Errorf("test mail: %+v", got)
	}

	n.do("save", chromedp.Click(tid("save")))
	n.poll("saved", `(document.querySelector('[data-testid="saved"]')||{textContent: ""}).textContent.indexOf("version 2") >= 0`)
	n.do("saved toast", chromedp.WaitVisible(chromedp.CSS(".toast.flash-ok")))
	f, err := n.e.store.GetFlow(ctx, "receipts")
	if err != nil {
		t.Fatal(err)
	}
	if want := `trigger.body.type == "payment_intent.succeeded" && trigger.body.data.object.amount > 10000`; f.Steps[0].When != want {
		t.Errorf("saved condition = %q\nwant %q", f.Steps[0].When, want)
	}
	postHook(t, hookURL, stripePayment("pi_2", 25000))
	postHook(t, hookURL, stripePayment("pi_3", 5000))
	n.do("runs", chromedp.Navigate(n.e.base+"/runs?flow=receipts"), chromedp.WaitVisible(tid("run-rows")))
	n.poll("runs end", `document.querySelectorAll('#run-rows .badge-succeeded').length >= 1 && document.querySelectorAll('#run-rows .badge-filtered').length >= 1`)
	n.do("open the run",
		chromedp.Click(chromedp.CSS(`#run-rows tr:has(.badge-succeeded) [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-email")),
	)
	if got := mail.got(); len(got) != 2 || !strings.Contains(got[1].Data, "Payment pi_2 received.") {
		t.Errorf("receipts: %+v", got)
	}
	if got := upserts(); len(got) != 2 {
		t.Errorf("HubSpot upserts: %v", got)
	}
	n.noSyntax()
}
