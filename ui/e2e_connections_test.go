package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookflow/hookflow/engine/oauthtest"
)

// TestBrowserConnectOAuth adds an OAuth 2.0 connection on /connections,
// clicks through the (fake) provider's consent and comes back connected.
func TestBrowserConnectOAuth(t *testing.T) {
	ctx := browser(t)
	e := newUIEnv(t)
	shot := newShots(t)
	prov := oauthtest.New("browser-client", "browser-client-secret-99")
	defer prov.Close()
	e.flow(`{"id":"crm-sync","name":"CRM sync","trigger":{"type":"manual"},"steps":[
		{"id":"me","type":"http","with":{"url":"` + prov.URL + `/api/me","connection":"crm"}}]}`)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			shot.take(ctx, "fail-connections")
			t.Fatalf("%s: %v (at %s)", what, err, loc)
		}
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+string(sel)+`').textContent.replace(/\s+/g, " ").trim()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	run("setup",
		chromedp.Navigate(e.base+"/setup"),
		chromedp.SendKeys(tid("email"), "ada@example.com"),
		chromedp.SendKeys(tid("password"), "correct horse battery"),
		chromedp.Click(tid("submit")),
		chromedp.WaitVisible(tid("nav")),
		chromedp.Navigate(e.base+"/connections"),
		chromedp.WaitVisible(tid("connections-empty")),
	)
	if got := text(tid("redirect-url")); got != e.base+"/oauth/callback" {
		t.Errorf("redirect URL shown = %q", got)
	}
	form := func(field string) chromedp.CSS { return in("conn-form-oauth2", field) }
	run("fill the OAuth form",
		chromedp.Click(tid("form-oauth2")+" summary"),
		chromedp.WaitVisible(form("conn-name")),
		chromedp.SendKeys(form("conn-name"), "crm"),
		chromedp.SendKeys(form("conn-auth_url"), prov.AuthURL()),
		chromedp.SendKeys(form("conn-token_url"), prov.TokenURL()),
		chromedp.SendKeys(form("conn-client_id"), "browser-client"),
		chromedp.SendKeys(form("conn-client_secret"), "browser-client-secret-99"),
		chromedp.SendKeys(form("conn-scopes"), "contacts, deals"),
	)
	shot.take(ctx, "connections-form")
	run("save sends the browser to the provider and back",
		chromedp.Click(form("conn-save")),
		chromedp.WaitVisible(tid("connection-crm")),
	)
	if got := text(in("connection-crm", "connection-status")); got != "connected" {
		t.Fatalf("status after consent = %q", got)
	}
	if got := text(in("connection-crm", "connection-used-by")); !strings.Contains(got, "crm-sync") {
		t.Errorf("used by = %q", got)
	}
	shot.take(ctx, "connections-connected")
	if exchanges, _, _ := prov.Counts(); exchanges != 1 {
		t.Errorf("code exchanges = %d", exchanges)
	}

	// Reconnect goes through the provider again; delete warns with the flow.
	run("reconnect", chromedp.Click(in("connection-crm", "connection-connect")))
	// The old page still shows the connection until the round trip through
	// the provider ends: wait for the second code exchange, then the page.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exchanges, _, _ := prov.Counts(); exchanges >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no second code exchange after reconnect")
		}
	}
	// the callback's 303 and the page load follow the exchange
	run("back from the provider", chromedp.Sleep(500*time.Millisecond), chromedp.WaitReady("body"), chromedp.WaitVisible(tid("connection-crm")))
	if exchanges, _, _ := prov.Counts(); exchanges != 2 {
		t.Errorf("code exchanges after reconnect = %d", exchanges)
	}
	run("open delete", chromedp.Click(tid("connection-crm")+" details.confirm summary"),
		chromedp.WaitVisible(in("connection-crm", "connection-delete-warning")))
	if got := text(in("connection-crm", "connection-delete-warning")); !strings.Contains(got, "crm-sync") {
		t.Errorf("delete warning = %q", got)
	}
	run("delete", chromedp.Click(in("connection-crm", "connection-delete")), chromedp.WaitVisible(tid("connections-empty")))
}
