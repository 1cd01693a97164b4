package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRunPageLogsAndDeletedFlow: a code step's console lines are on
// its card, and the page of a run whose flow was deleted says so with no
// Replay button (screenshots 12-run-logs, 13-run-deleted-flow).
func TestBrowserRunPageLogsAndDeletedFlow(t *testing.T) {
	ctx := browser(t)
	e := newUIEnv(t)
	shot := newShots(t)
	e.flow(`{"id":"quote","name":"Quote","trigger":{"type":"manual"},"steps":[{"id":"price","type":"code","with":{"source":"console.log('items: ' + 3); console.log('total 42.50'); return {total: 42.5}"}}]}`)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shot.take(ctx, "fail-run-page")
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("setup",
		chromedp.Navigate(e.base+"/setup"),
		chromedp.SendKeys(tid("email"), "ada@example.com"),
		chromedp.SendKeys(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("flow-row-quote")),
	)
	id, err := e.eng.RunManual(context.Background(), "quote", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, e, id)
	run("the run page shows the logs",
		chromedp.Navigate(e.base+"/runs/"+id),
		chromedp.WaitVisible(tid("step-logs")),
	)
	logs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="step-logs"] pre').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if logs != "items: 3\ntotal 42.50" {
		t.Errorf("logs on the card: %q", logs)
	}
	shot.take(ctx, "12-run-logs")

	if err := e.eng.DeleteFlow(context.Background(), "quote"); err != nil {
		t.Fatal(err)
	}
	run("the run of a deleted flow",
		chromedp.Navigate(e.base+"/runs/"+id),
		chromedp.WaitVisible(tid("flow-deleted")),
	)
	replays, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="replay"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if replays != 0 {
		t.Errorf("%d replay buttons on a deleted flow's run", replays)
	}
	shot.take(ctx, "13-run-deleted-flow")
}
