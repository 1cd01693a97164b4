package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sendHook posts a body with headers and returns the status answered.
func sendHook(t *testing.T, url, body string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserDeliveriesTab: the flow's Deliveries tab lists accepted and
// refused requests with the reason and masked signatures, filters by
// outcome and shows new requests without a reload.
func TestBrowserDeliveriesTab(t *testing.T) {
	ctx := browser(t)
	e := newUIEnv(t)
	shot := newShots(t)
	if err := e.secrets.Set(context.Background(), "TOKEN", "s3cret-token-value"); err != nil {
		t.Fatal(err)
	}
	e.flow(`{"id":"orders","name":"Orders","trigger":{"type":"webhook","with":{"verify":{"scheme":"token","header":"x-api-token","secret":"{{ secrets.TOKEN }}"}}},"steps":[]}`)
	hook := e.base + "/hooks/orders"
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shot.take(ctx, "fail-deliveries")
			t.Fatalf("%s: %v", what, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	run("setup",
		chromedp.Navigate(e.base+"/setup"),
		chromedp.SendKeys(tid("email"), "ada@example.com"),
		chromedp.SendKeys(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("flow-row-orders")),
	)
	if c := sendHook(t, hook, `{"id":1}`, map[string]string{"X-Api-Token": "s3cret-token-value"}); c != 202 {
		t.Fatalf("valid: %d", c)
	}
	if c := sendHook(t, hook, `{"id":2}`, map[string]string{"X-Api-Token": "wrong-token-guess"}); c != 401 {
		t.Fatalf("wrong token: %d", c)
	}

	// From the editor to its Deliveries tab.
	run("open the tab",
		chromedp.Navigate(e.base+"/flows/orders"),
		chromedp.Click(tid("flow-deliveries")),
		chromedp.WaitVisible(tid("delivery-rows")),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('[data-testid^="delivery-row-"]').length == 2`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("two deliveries: %v", err)
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#delivery-rows').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"401", "202", "refused", "run"} {
		if !strings.Contains(strings.ToLower(page), want) {
			t.Errorf("the tab does not show %q:\n%s", want, page)
		}
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#delivery-rows').innerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "s3cret") || strings.Contains(html, "wrong-token") || !strings.Contains(html, "[masked") {
		t.Errorf("credential values are not masked:\n%s", html)
	}
	if n := count(`[data-outcome="refused"] [data-testid="delivery-reason"]`); n != 1 {
		t.Errorf("reasons shown on refused rows: %d", n)
	}
	shot.take(ctx, "11-deliveries")

	// Filter: refused only.
	run("filter refused",
		chromedp.SetValue(tid("filter-outcome"), "refused"),
		chromedp.Click(tid("outcome-apply")),
		chromedp.WaitVisible(`#delivery-rows[hx-get*="outcome=refused"]`), // the new page
	)
	// The filtered page: one row, the refused one.
	if n, all := count(`[data-outcome="refused"]`), count(`[data-testid^="delivery-row-"]`); n != 1 || all != 1 {
		t.Errorf("refused filter shows %d rows (%d refused)", all, n)
	}
	// Live: a new refused request appears without a reload.
	if c := sendHook(t, hook, `{"id":3}`, nil); c != 401 {
		t.Fatalf("unsigned: %d", c)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('[data-outcome="refused"]').length == 2`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("live update: %v", err)
	}
}
