package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium; it skips only when Chromium is missing outside CI.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if os.Getenv("CI") != "true" {
			t.Skip("chromium is not installed")
		} else {
			t.Fatal("chromium is not installed (CI=true)")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	_ = chromedp.Listen(ctx, func(ev any) {
		if c, ok := ev.(*runtime.EventConsoleAPICalled); ok {
			for _, a := range c.Args {
				t.Logf("console.%s: %s %s", c.Type, a.Value, a.Description)
			}
		}
		if ex, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("JavaScript error: %s %s", ex.ExceptionDetails.Text, ex.ExceptionDetails.URL)
		}
	})
	return ctx
}

// shots writes full-page screenshots at desktop and phone widths.
type shots struct {
	t   *testing.T
	dir string
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("HOOKFLOW_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{t: t, dir: dir}
}

func (s *shots) take(ctx context.Context, name string) {
	s.t.Helper()
	for _, w := range []struct {
		width, height int64
		mobile        bool
	}{{1280, 900, false}, {390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height, opts...),
			chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), chromedp.Sleep(150*time.Millisecond))
		var buf []byte
		if err == nil {
			buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if err != nil {
			s.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(s.dir, fmt.Sprintf("%s-%d.png", name, w.width))
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		s.t.Fatal(err)
	}
}

func tid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// in is a selector for an element with the test id inside another.
func in(outer, inner string) chromedp.CSS { return tid(outer) + " " + tid(inner) }

// echoServer answers every request with what it received.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body any
		_ = json.Unmarshal(b, &body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "method": r.Method, "path": r.URL.Path, "received": body})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func postHook(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
}

func TestBrowserBuildTestAndWatchAFlow(t *testing.T) {
	ctx := browser(t)
	e := newUIEnv(t)
	echo := echoServer(t)
	shot := newShots(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.toast') || {}).innerText || "no toast"`))
			shot.take(ctx, "fail")
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}

	// First-run setup.
	run("open setup", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(tid("setup-form")))
	shot.take(ctx, "01-setup")
	run("create admin",
		chromedp.SendKeys(tid("email"), "ada@example.com"),
		chromedp.SendKeys(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("flows-empty")),
	)
	shot.take(ctx, "02-flows-empty")

	// A new flow from scratch.
	run("new flow",
		chromedp.SendKeys(tid("new-flow-name"), "Paid orders"),
		chromedp.Click(tid("new-flow-submit")),
		chromedp.WaitVisible(tid("webhook-url")),
	)
	hookURL := value("read webhook URL", chromedp.Value(tid("webhook-url")))
	if hookURL != e.base+"/hooks/paid-orders" {
		t.Fatalf("webhook URL = %q", hookURL)
	}

	// Listen for a test event and capture one posted from here.
	run("listen", chromedp.Click(tid("listen-button")), chromedp.WaitVisible(tid("listening")))
	postHook(t, hookURL, `{"id":"o-1","amount":42,"email":"ada@example.com"}`)
	run("sample arrives", chromedp.WaitVisible(tid("sample")))

	// Filter: pick the amount from the test event, choose "at least", type 10.
	run("add filter",
		chromedp.Click(tid("palette-steps")+" > summary"),
		chromedp.SendKeys(in("palette-steps", "palette-search"), "filt"),
		chromedp.Click(in("palette-steps", "add-filter")),
		chromedp.WaitVisible(tid("step-filter")),
		chromedp.Click(in("cond-steps[0].when", "cond-field")),
		chromedp.WaitVisible(tid("pick-item-trigger.body.amount")),
		chromedp.Click(tid("pick-item-trigger.body.amount")),
		chromedp.SetValue(in("cond-steps[0].when", "cond-op"), "gte"),
		chromedp.SendKeys(in("cond-steps[0].when", "cond-value"), "10"),
	)
	if typ := value("read type", chromedp.Value(in("cond-steps[0].when", "cond-type"))); typ != "number" {
		t.Errorf("the amount compares as %q, want number", typ)
	}

	// HTTP step; saving without its URL shows the problem beside the field.
	run("add http",
		chromedp.Click(tid("palette-steps")+" > summary"),
		chromedp.Click(in("palette-steps", "add-http")),
		chromedp.WaitVisible(tid("step-http")),
		chromedp.Click(tid("save")),
		chromedp.WaitVisible(tid("problem-steps[1].with.url")),
	)
	problem := value("read problem", chromedp.Text(tid("problem-steps[1].with.url")))
	if problem != "required" {
		t.Errorf("problem beside the URL = %q", problem)
	}
	shot.take(ctx, "03-editor-problem")
	run("fill http and save",
		chromedp.SendKeys(tid("input-steps[1].with.url"), echo.URL+"/orders/{{ trigger.body.id }}"),
		chromedp.SetValue(tid("input-steps[1].with.method"), "POST"),
		chromedp.SendKeys(tid("input-steps[1].with.body"), `{"order": "{{ trigger.body.id }}", "amount": "{{ trigger.body.amount }}"}`),
		chromedp.Click(tid("save")),
		chromedp.WaitVisible(tid("saved")),
	)

	// Test flow: runs with the captured event and shows each step.
	run("test flow",
		chromedp.Click(tid("test-flow")),
		chromedp.WaitVisible(tid("test-result")),
		chromedp.WaitVisible(in("test-result", "run-step-http")+" .badge-succeeded"),
	)
	shot.take(ctx, "04-editor")

	// Live webhooks.
	for _, body := range []string{`{"id":"o-2","amount":5}`, `{"id":"o-3","amount":50}`, `{"id":"o-4","amount":60}`} {
		postHook(t, hookURL, body)
	}
	run("runs appear",
		chromedp.Navigate(e.base+"/runs"),
		chromedp.WaitVisible(tid("run-rows")),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('[data-testid^="run-row-"]').length >= 4 && !document.querySelector('#run-rows .badge-queued, #run-rows .badge-running')`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("live runs: %v", err)
	}
	filtered, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#run-rows .badge-filtered').length`))
	if err != nil {
		t.Fatal(err)
	}
	if filtered != 1 {
		t.Errorf("filtered runs shown = %d, want 1", filtered)
	}
	shot.take(ctx, "05-runs")

	// Open the newest run and read the http step's output.
	run("open run",
		chromedp.Click(chromedp.CSS(`#run-rows tbody tr:first-child [data-testid="run-link"]`)),
		chromedp.WaitVisible(tid("run-step-http")),
	)
	run("output shown", chromedp.WaitVisible(in("run-step-http", "step-output")+" pre"))
	output := value("read output", chromedp.Evaluate[string](`document.querySelector('[data-testid="run-step-http"] [data-testid="step-output"] pre').textContent`))
	if !strings.Contains(output, `"/orders/o-4"`) || !strings.Contains(output, `"amount": 60`) {
		t.Errorf("http output = %s", output)
	}
	shot.take(ctx, "06-run")

	// Replay it.
	oldURL := value("location", chromedp.Location())
	run("replay",
		chromedp.Click(tid("replay")),
		chromedp.WaitVisible(tid("flash")),
		chromedp.WaitVisible(tid("timeline")+` .run-summary .badge-succeeded`),
	)
	newURL := value("location", chromedp.Location())
	if newURL == oldURL || !strings.Contains(newURL, "/runs/") {
		t.Errorf("replay stayed on %s", newURL)
	}

	// The other pages, for the screenshots, with some content.
	_ = e.secrets.Set(context.Background(), "STRIPE_WHSEC", "whsec_x")
	_ = e.store.KVSet(context.Background(), "orders:count", 3, 0)
	run("flows list", chromedp.Navigate(e.base+"/flows"), chromedp.WaitVisible(tid("flow-row-paid-orders")))
	shot.take(ctx, "07-flows")
	run("secrets", chromedp.Navigate(e.base+"/secrets"), chromedp.WaitVisible(tid("secret-STRIPE_WHSEC")))
	shot.take(ctx, "08-secrets")
	run("data", chromedp.Navigate(e.base+"/store"), chromedp.WaitVisible(tid("kv-orders:count")))
	shot.take(ctx, "09-data")
	run("settings", chromedp.Navigate(e.base+"/settings"), chromedp.WaitVisible(tid("users-list")))
	shot.take(ctx, "10-settings")
}
