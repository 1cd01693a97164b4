package triggers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/flows"
)

// saved is when the example flows (and their reconcile blocks) are saved in
// these tests: poll.started_at.
var saved = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// exampleFlow reads a flow of the gallery, replacing the provider's base URL
// with a local server's.
func exampleFlow(t *testing.T, name string, replace ...string) *engine.Flow {
	t.Helper()
	b, err := flows.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer(replace...).Replace(string(b))
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// reconcileRig is a real engine with an example flow whose webhook has a
// reconcile block, started with a fake clock.
type reconcileRig struct {
	eng     *engine.Engine
	st      *boltstore.Store
	flow    *engine.Flow
	hook    *Webhook
	clk     *fakeClock
	secrets map[string]any
	results chan pollResult
}

func newReconcileRig(t *testing.T, f *engine.Flow, secrets map[string]any) *reconcileRig {
	t.Helper()
	eng, st := newEngine(t)
	if _, err := eng.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	c, err := eng.Flow(f.ID)
	if err != nil {
		t.Fatal(err)
	}
	rig := &reconcileRig{eng: eng, st: st, flow: c.Flow, hook: c.Trigger.(*Webhook), clk: newFakeClock(saved),
		secrets: secrets, results: make(chan pollResult, 10)}
	start(t, rig.hook, engineContext(t, eng, st, c.Flow, rig.clk, secrets, rig.results))
	rig.clk.BlockUntil(t, 1) // poll.started_at is stored, the first cycle is `every` away
	return rig
}

// deliver sends a webhook through the real path: Receive (verify, parse,
// dedupe key), then the engine's Accept.
func (r *reconcileRig) deliver(t *testing.T, headers map[string]string, body []byte, at time.Time) (runID string, dup bool) {
	t.Helper()
	headers["content-type"] = "application/json"
	in := &engine.Inbound{Method: "POST", Headers: headers, Raw: body, ReceivedAt: at}
	ev, err := r.hook.Receive(in, &engine.ReceiveContext{Secrets: r.secrets, Now: at})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	id, dup, err := r.eng.Accept(context.Background(), r.flow.ID, ev)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return id, dup
}

// cycle advances the clock by d (the reconcile's every) and returns the
// cycle's report.
func (r *reconcileRig) cycle(t *testing.T, d time.Duration) pollResult {
	t.Helper()
	r.clk.BlockUntil(t, 1)
	r.clk.Advance(d)
	select {
	case res := <-r.results:
		if res.kind != "reconcile" {
			t.Errorf("reported kind %q", res.kind)
		}
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no reconcile cycle within 10s")
		return pollResult{}
	}
}

// runs counts the flow's runs: by webhook, reconciled, and the reconciled
// runs by their dedupe key.
func (r *reconcileRig) runs(t *testing.T) (webhook, reconciled int, byKey map[string]*engine.Run) {
	t.Helper()
	byKey = map[string]*engine.Run{}
	for _, run := range allRuns(t, r.st, r.flow.ID) {
		if run.Trigger.Type != "webhook" {
			t.Errorf("run %s has trigger type %q", run.ID, run.Trigger.Type)
		}
		if run.Trigger.Reconciled {
			reconciled++
			byKey[run.DedupeKey] = run
		} else {
			webhook++
		}
	}
	return webhook, reconciled, byKey
}

func hmacSHA256(secret string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return m.Sum(nil)
}

// stripeAPI mimics GET /v1/events: newest first, created[gte], type,
// starting_after/has_more paging, limit capped at 25 here so that a cycle
// reads several pages.
type stripeAPI struct {
	mu     sync.Mutex
	events []map[string]any // oldest first
	reqs   []url.Values
	srv    *httptest.Server
}

func newStripeAPI(t *testing.T, n int, firstCreated int64) *stripeAPI {
	a := &stripeAPI{}
	for i := range n {
		a.events = append(a.events, map[string]any{
			"id": fmt.Sprintf("evt_1NG8Du2eZvKYlo2C%06d", i), "object": "event", "api_version": "2024-06-20",
			"created": firstCreated + int64(i)*10, "type": "payment_intent.succeeded", "livemode": false,
			"data": map[string]any{"object": map[string]any{
				"id": fmt.Sprintf("pi_3NG8Dt2eZvKYlo2C%06d", i), "object": "payment_intent",
				"amount": 1000 + i, "currency": "usd", "status": "succeeded"}},
		})
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if r.URL.Path != "/v1/events" || r.Header.Get("Authorization") != "Bearer sk_test_123" {
			http.Error(w, `{"error":{"message":"no such route or bad key"}}`, http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		a.reqs = append(a.reqs, q)
		gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
		var list []map[string]any
		for i := len(a.events) - 1; i >= 0; i-- {
			e := a.events[i]
			if e["created"].(int64) >= gte && (q.Get("type") == "" || q.Get("type") == e["type"]) {
				list = append(list, e)
			}
		}
		if after := q.Get("starting_after"); after != "" {
			for i, e := range list {
				if e["id"] == after {
					list = list[i+1:]
					break
				}
			}
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		limit = min(max(limit, 1), 25)
		more := len(list) > limit
		if more {
			list = list[:limit]
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/events", "has_more": more, "data": list})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// THE reconcile test: Stripe holds 100 events; 80 come as signed webhooks
// through the real webhook path, 20 are dropped. One reconcile cycle makes
// it exactly 100 runs — 80 from webhooks, 20 reconciled — a second cycle
// adds none, and a late webhook for a reconciled event is a duplicate.
func TestReconcileStripe(t *testing.T) {
	const whsec = "whsec_test_reconcile"
	api := newStripeAPI(t, 100, saved.Unix()+60)
	rig := newReconcileRig(t, exampleFlow(t, "stripe-reconcile.json", "https://api.stripe.com", api.srv.URL),
		map[string]any{"STRIPE_WHSEC": whsec, "STRIPE_SECRET_KEY": "sk_test_123"})

	// sign signs a delivery of ev sent late after the event was created.
	sign := func(ev map[string]any, late time.Duration) (map[string]string, []byte, time.Time) {
		body, _ := json.Marshal(ev)
		at := time.Unix(ev["created"].(int64)+2, 0).Add(late)
		ts := strconv.FormatInt(at.Unix(), 10)
		sig := hex.EncodeToString(hmacSHA256(whsec, []byte(ts+"."+string(body))))
		return map[string]string{"stripe-signature": "t=" + ts + ",v1=" + sig}, body, at
	}
	dropped := map[string]bool{}
	for i, ev := range api.events {
		if i%5 == 2 {
			dropped[ev["id"].(string)] = true
			continue
		}
		h, body, at := sign(ev, 0)
		if _, dup := rig.deliver(t, h, body, at); dup {
			t.Fatalf("webhook %d answered as a duplicate", i)
		}
	}

	res := rig.cycle(t, 10*time.Minute)
	if res.err != nil || res.started != 20 {
		t.Fatalf("first cycle: %d runs, %v; want 20", res.started, res.err)
	}
	webhook, reconciled, byKey := rig.runs(t)
	if webhook != 80 || reconciled != 20 {
		t.Fatalf("runs: %d by webhook, %d reconciled; want 80 and 20", webhook, reconciled)
	}
	for id := range dropped {
		run := byKey[id]
		if run == nil {
			t.Errorf("dropped event %s was not reconciled", id)
			continue
		}
		body, _ := run.Trigger.Body.(map[string]any)
		if body["id"] != id || body["type"] != "payment_intent.succeeded" {
			t.Errorf("reconciled run body = %v, want the event %s", body, id)
		}
	}

	// The first cycle began when reconcile was saved and read every page.
	reqs := api.requests()
	if len(reqs) != 4 || reqs[0].Get("created[gte]") != strconv.FormatInt(saved.Unix(), 10) ||
		reqs[0].Get("type") != "payment_intent.succeeded" || reqs[0].Get("starting_after") != "" ||
		reqs[1].Get("starting_after") != "evt_1NG8Du2eZvKYlo2C000075" {
		t.Errorf("first cycle's requests: %v", reqs)
	}

	res = rig.cycle(t, 10*time.Minute)
	if res.err != nil || res.started != 0 {
		t.Fatalf("second cycle: %d runs, %v; want none", res.started, res.err)
	}
	if webhook, reconciled, _ := rig.runs(t); webhook+reconciled != 100 {
		t.Fatalf("%d runs after the second cycle, want 100", webhook+reconciled)
	}
	if got, want := api.requests()[4].Get("created[gte]"), strconv.FormatInt(saved.Unix()+60+99*10, 10); got != want {
		t.Errorf("second cycle's created[gte] = %s, want the cursor %s", got, want)
	}

	// Stripe finally delivers a dropped event: a duplicate of its reconciled run.
	late := api.events[2]
	h, body, at := sign(late, 3*time.Hour)
	id, dup := rig.deliver(t, h, body, at)
	if !dup || id != byKey[late["id"].(string)].ID {
		t.Errorf("late webhook: run %s, duplicate %v; want the reconciled run %s", id, dup, byKey[late["id"].(string)].ID)
	}
	if webhook, reconciled, _ := rig.runs(t); webhook+reconciled != 100 {
		t.Errorf("%d runs after the late webhook, want 100", webhook+reconciled)
	}
}

func (a *stripeAPI) requests() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.reqs...)
}

// shopifyAPI mimics GET /admin/api/2025-01/orders.json with since_id paging
// (orders in id order; limit capped at 10 here) and created_at_min.
type shopifyAPI struct {
	mu     sync.Mutex
	orders []map[string]any
	reqs   []url.Values
	srv    *httptest.Server
}

func newShopifyAPI(t *testing.T) *shopifyAPI {
	a := &shopifyAPI{}
	paris := time.FixedZone("", 3600)
	for i := range 32 {
		id := int64(5001234567890 + i*7)
		created := saved.Add(time.Duration(i) * time.Minute)
		if i < 2 { // older than the reconcile block: never reconciled
			created = saved.Add(-time.Duration(i+1) * time.Hour)
		}
		a.orders = append(a.orders, map[string]any{
			"id": id, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", id),
			"name": fmt.Sprintf("#%d", 1001+i), "email": fmt.Sprintf("buyer%d@example.com", i),
			"total_price": fmt.Sprintf("%d.00", 20+i), "currency": "EUR",
			"created_at": created.In(paris).Format(time.RFC3339),
		})
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if r.URL.Path != "/admin/api/2025-01/orders.json" || r.Header.Get("X-Shopify-Access-Token") != "shpat_test" {
			http.Error(w, `{"errors":"[API] Invalid API key or access token"}`, http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		a.reqs = append(a.reqs, q)
		since, err1 := strconv.ParseInt(q.Get("since_id"), 10, 64)
		minCreated, err2 := time.Parse(time.RFC3339, q.Get("created_at_min"))
		if err1 != nil || err2 != nil || q.Get("status") != "any" {
			http.Error(w, `{"errors":"bad query"}`, http.StatusBadRequest)
			return
		}
		list := []map[string]any{}
		for _, o := range a.orders {
			created, _ := time.Parse(time.RFC3339, o["created_at"].(string))
			if o["id"].(int64) > since && !created.Before(minCreated) && len(list) < 10 {
				list = append(list, o)
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"orders": list})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// The Shopify example: 30 orders since reconcile was saved, 25 delivered by
// webhook; one cycle reconciles the other 5 (pages by since_id), a second
// adds none, a late webhook is a duplicate.
func TestReconcileShopifyOrders(t *testing.T) {
	const secret = "shpss_test_secret"
	api := newShopifyAPI(t)
	rig := newReconcileRig(t, exampleFlow(t, "shopify-orders-reconcile.json",
		"https://{{ secrets.SHOPIFY_SHOP }}.myshopify.com", api.srv.URL),
		map[string]any{"SHOPIFY_WEBHOOK_SECRET": secret, "SHOPIFY_ADMIN_TOKEN": "shpat_test", "SHOPIFY_SHOP": "unused"})
	send := func(i int, o map[string]any, at time.Time) (string, bool) {
		body, _ := json.Marshal(o)
		return rig.deliver(t, map[string]string{
			"x-shopify-hmac-sha256": base64.StdEncoding.EncodeToString(hmacSHA256(secret, body)),
			"x-shopify-topic":       "orders/create", "x-shopify-shop-domain": "hookflow-test.myshopify.com",
			"x-shopify-event-id": fmt.Sprintf("98880550-7158-44d4-b7cd-2c97c8a0%04d", i),
		}, body, at)
	}
	dropped := map[string]bool{}
	for i, o := range api.orders[2:] {
		if i%6 == 5 {
			dropped[o["admin_graphql_api_id"].(string)] = true
			continue
		}
		send(i, o, saved.Add(time.Duration(i)*time.Minute))
	}
	if len(dropped) != 5 {
		t.Fatalf("dropped %d", len(dropped))
	}
	res := rig.cycle(t, 15*time.Minute)
	if res.err != nil || res.started != 5 {
		t.Fatalf("first cycle: %d runs, %v; want 5", res.started, res.err)
	}
	webhook, reconciled, byKey := rig.runs(t)
	if webhook != 25 || reconciled != 5 {
		t.Fatalf("runs: %d by webhook, %d reconciled; want 25 and 5", webhook, reconciled)
	}
	for gid := range dropped {
		if run := byKey[gid]; run == nil || run.Trigger.Body.(map[string]any)["admin_graphql_api_id"] != gid {
			t.Errorf("order %s not reconciled with its body", gid)
		}
	}
	var since []string
	for _, q := range api.requests() {
		since = append(since, q.Get("since_id"))
		if q.Get("created_at_min") != "2026-11-22T10:00:00Z" || q.Get("limit") != "250" {
			t.Errorf("query %v", q)
		}
	}
	// 30 orders at 10 a page, then an empty page ends the cycle.
	if strings.Join(since, ",") != "0,5001234567967,5001234568037,5001234568107" {
		t.Errorf("since_id per page: %v", since)
	}
	if res := rig.cycle(t, 15*time.Minute); res.err != nil || res.started != 0 {
		t.Fatalf("second cycle: %d runs, %v; want none", res.started, res.err)
	}
	if q := api.requests()[4]; q.Get("since_id") != "5001234568107" {
		t.Errorf("second cycle starts at since_id %s, want the cursor (the largest id, written in full)", q.Get("since_id"))
	}
	late := api.orders[2+5]
	if id, dup := send(99, late, saved.Add(2*time.Hour)); !dup || id != byKey[late["admin_graphql_api_id"].(string)].ID {
		t.Errorf("late webhook: run %s, duplicate %v", id, dup)
	}
}

// githubAPI mimics GET /repos/OWNER/REPO/issues with since and page, and a
// Link header to the next page (per_page capped at 10 here).
type githubAPI struct {
	mu     sync.Mutex
	issues []map[string]any // by updated_at
	reqs   []url.Values
	srv    *httptest.Server
}

func newGitHubAPI(t *testing.T) *githubAPI {
	a := &githubAPI{}
	for i := range 27 {
		created := saved.Add(time.Duration(i+1) * time.Minute)
		if i < 2 { // opened before reconcile was saved, updated since: listed, never reconciled
			created = saved.Add(-48 * time.Hour)
		}
		is := map[string]any{
			"id": 2000000000 + i, "node_id": fmt.Sprintf("I_kwDOKb3wUM5%07d", i), "number": 100 + i,
			"title": fmt.Sprintf("Bug %d", i), "state": "open",
			"html_url":   fmt.Sprintf("https://github.com/OWNER/REPO/issues/%d", 100+i),
			"created_at": created.Format(time.RFC3339), "updated_at": saved.Add(time.Duration(i+1) * time.Minute).Format(time.RFC3339),
		}
		if i%9 == 4 { // pull requests are listed too
			is["pull_request"] = map[string]any{"url": "https://api.github.com/repos/OWNER/REPO/pulls/1"}
		}
		a.issues = append(a.issues, is)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if r.URL.Path != "/repos/OWNER/REPO/issues" || r.Header.Get("Authorization") != "Bearer ghp_test" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		a.reqs = append(a.reqs, q)
		since, err := time.Parse(time.RFC3339, q.Get("since"))
		if err != nil {
			http.Error(w, `{"message":"bad since"}`, http.StatusUnprocessableEntity)
			return
		}
		var list []map[string]any
		for _, is := range a.issues {
			if u, _ := time.Parse(time.RFC3339, is["updated_at"].(string)); !u.Before(since) {
				list = append(list, is)
			}
		}
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		from, to := min((page-1)*10, len(list)), min(page*10, len(list))
		if to < len(list) {
			next := *r.URL
			nq := next.Query()
			nq.Set("page", strconv.Itoa(page+1))
			next.RawQuery = nq.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next", <%s/repos/OWNER/REPO/issues?page=99>; rel="last"`, a.srv.URL, next.RequestURI(), a.srv.URL))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		out := list[from:to]
		if out == nil {
			out = []map[string]any{}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// The GitHub example: GitHub never retries, so 4 of the 22 issues opened
// since reconcile was saved never arrive; one cycle (pages from the Link
// header) reconciles them with a webhook-shaped body, skipping pull requests
// and older issues; a second adds none; a late delivery is a duplicate.
func TestReconcileGitHubIssues(t *testing.T) {
	const secret = "gh_webhook_secret"
	api := newGitHubAPI(t)
	rig := newReconcileRig(t, exampleFlow(t, "github-issues-reconcile.json", "https://api.github.com", api.srv.URL),
		map[string]any{"GITHUB_WEBHOOK_SECRET": secret, "GITHUB_TOKEN": "ghp_test"})
	send := func(i int, is map[string]any, at time.Time) (string, bool) {
		body, _ := json.Marshal(map[string]any{"action": "opened", "issue": is,
			"repository": map[string]any{"full_name": "OWNER/REPO"}})
		return rig.deliver(t, map[string]string{
			"x-hub-signature-256": "sha256=" + hex.EncodeToString(hmacSHA256(secret, body)),
			"x-github-event":      "issues", "x-github-delivery": fmt.Sprintf("72d3162e-cc78-11e3-81ab-4c9367dc%04d", i),
		}, body, at)
	}
	var want []string
	delivered := 0
	for i, is := range api.issues {
		if i < 2 || is["pull_request"] != nil {
			continue
		}
		if i%5 == 3 {
			want = append(want, is["node_id"].(string))
			continue
		}
		send(i, is, saved.Add(time.Duration(i)*time.Minute))
		delivered++
	}
	res := rig.cycle(t, 5*time.Minute)
	if res.err != nil || res.started != len(want) {
		t.Fatalf("first cycle: %d runs, %v; want %d", res.started, res.err, len(want))
	}
	webhook, reconciled, byKey := rig.runs(t)
	if webhook != delivered || reconciled != len(want) || delivered+len(want) != 22 {
		t.Fatalf("runs: %d by webhook, %d reconciled; want %d and %d", webhook, reconciled, delivered, len(want))
	}
	var got []string
	for k, run := range byKey {
		got = append(got, k)
		body := run.Trigger.Body.(map[string]any)
		if body["action"] != "opened" || body["issue"].(map[string]any)["node_id"] != k {
			t.Errorf("reconciled body %v", body)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("reconciled %v, want %v", got, want)
	}
	var pages []string
	for _, q := range api.requests() {
		pages = append(pages, q.Get("page"))
		if q.Get("since") != "2026-11-22T10:00:00Z" || q.Get("per_page") != "100" {
			t.Errorf("query %v", q)
		}
	}
	if strings.Join(pages, ",") != ",2,3" {
		t.Errorf("pages read: %q, want the first then 2 and 3 from the Link header", pages)
	}
	if res := rig.cycle(t, 5*time.Minute); res.err != nil || res.started != 0 {
		t.Fatalf("second cycle: %d runs, %v; want none", res.started, res.err)
	}
	if q := api.requests()[3]; q.Get("since") != "2026-11-22T10:27:00Z" {
		t.Errorf("second cycle's since = %s, want the cursor", q.Get("since"))
	}
	late := api.issues[3]
	if id, dup := send(99, late, saved.Add(time.Hour)); !dup || id != byKey[late["node_id"].(string)].ID {
		t.Errorf("late webhook: run %s, duplicate %v", id, dup)
	}
}

// The key a reconcile computes from an API answer is the very string the
// webhook's dedupe computes from the same event, numbers included.
func TestReconcileKeyMatchesWebhook(t *testing.T) {
	items := []any{"evt_1", 450789469, 5001234567890, 12.5, "gid://shopify/Order/1", strings.Repeat("k", 300)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := make([]map[string]any, len(items))
		for i, id := range items {
			list[i] = map[string]any{"id": id}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()
	w := compiled(t, `{"dedupe":"trigger.body.id","reconcile":{"every":"1m","request":{"url":"`+srv.URL+`"},"items":"response.body","key":"item.id"}}`)
	h := newHarness(t, "keys", saved)
	for _, id := range items {
		body, _ := json.Marshal(map[string]any{"id": id})
		ev, err := w.Receive(&engine.Inbound{Method: "POST", Headers: map[string]string{"content-type": "application/json"}, Raw: body, ReceivedAt: saved}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.sink.Accept(context.Background(), "keys", ev); err != nil {
			t.Fatal(err)
		}
	}
	n, err := w.RunReconcile(context.Background(), h.sc)
	if err != nil || n != 0 {
		t.Errorf("reconcile started %d runs (%v) for events the webhook already had: %v", n, err, h.sink.bodies()[len(items):])
	}
}

// A webhook without reconcile starts nothing and returns at once; the
// reconcile block's problems carry its path.
func TestReconcileSettings(t *testing.T) {
	if err := compiled(t, `{}`).Start(context.Background(), newHarness(t, "x", saved).sc); err != nil {
		t.Errorf("Start without reconcile: %v", err)
	}
	if _, err := compiled(t, `{}`).RunReconcile(context.Background(), newHarness(t, "x", saved).sc); err == nil {
		t.Error("RunReconcile without reconcile: no error")
	}
	reg := engine.NewRegistry()
	Register(reg)
	f, err := engine.DecodeFlow([]byte(`{"id":"r","name":"r","trigger":{"type":"webhook","with":{"reconcile":{"every":"5s","request":{},"items":"response.body","key":"item.id","body":"trigger.body"}}},"steps":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range engine.Validate(f, reg) {
		got = append(got, p.Path)
	}
	want := "trigger.with.reconcile.every,trigger.with.reconcile.request,trigger.with.reconcile.body"
	if strings.Join(got, ",") != want {
		t.Errorf("problem paths %v, want %s", got, want)
	}
}

func (a *shopifyAPI) requests() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.reqs...)
}

func (a *githubAPI) requests() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.reqs...)
}
