package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	sctx, cancel := context.WithTimeout(n.ctx, 25*time.Second)
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

// poll waits until the JavaScript expression is true.
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

// chatServer stands in for Discord: it records the messages posted.
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
		n.typeIn(tid("input-steps[1].with.webhook_url"), chat.URL+"/api/webhooks/1/abc"),
		n.typeIn(tid(text), "New bug: "),
	)
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
	var with struct{ Text string }
	_ = json.Unmarshal(f.Steps[1].With, &with)
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
