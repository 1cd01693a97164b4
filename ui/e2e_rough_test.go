package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRowMenuNotClipped: the "•••" menu of the flows table's last row
// opens fully visible, not cut by the table's scroll box.
func TestBrowserRowMenuNotClipped(t *testing.T) {
	ctx := browser(t)
	e := newUIEnv(t)
	for i := range 3 {
		e.flow(fmt.Sprintf(`{"id":"f%d","name":"Flow %d","trigger":{"type":"webhook"},"steps":[]}`, i, i))
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(sctx,
		chromedp.Navigate(e.base+"/setup"),
		chromedp.SendKeys(tid("email"), "ada@example.com"),
		chromedp.SendKeys(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("flow-row-f2")),
		chromedp.Click(chromedp.CSS(`[data-testid="flow-row-f2"] details.menu > summary`)),
		chromedp.Click(chromedp.CSS(`[data-testid="flow-row-f2"] [data-testid="delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flow-row-f2"] [data-testid="delete-confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Scroll the page (not the table) so the menu's bottom is in view, then
	// ask what is drawn at the confirm button's centre.
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const b = document.querySelector('[data-testid="flow-row-f2"] [data-testid="delete-confirm"]');
		const wrap = b.closest('.table-wrap');
		wrap.scrollTop = 0;
		const r0 = b.getBoundingClientRect();
		window.scrollTo(0, window.scrollY + r0.bottom - window.innerHeight + 40);
		const r = b.getBoundingClientRect();
		const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return wrap.scrollTop === 0 && (hit === b || b.contains(hit));
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if !visible {
		newShots(t).take(ctx, "fail-row-menu")
		t.Fatal("the last row's menu is clipped by the table's scroll box")
	}
}
