package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type deliveryJSON struct {
	ID         string            `json:"id"`
	ReceivedAt time.Time         `json:"received_at"`
	Method     string            `json:"method"`
	Status     int               `json:"status"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason"`
	RunID      string            `json:"run_id"`
	Size       int               `json:"size"`
	Headers    map[string]string `json:"headers"`
}

// deliveries reads one page of a flow's deliveries through the API.
func (h *hookEnv) deliveries(flowID, query string) ([]deliveryJSON, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+"/api/v1/flows/"+flowID+"/deliveries?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("deliveries of %s: %d %s", flowID, resp.StatusCode, b)
	}
	var out struct {
		Deliveries []deliveryJSON `json:"deliveries"`
		Next       string         `json:"next_cursor"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatal(err)
	}
	return out.Deliveries, out.Next
}

// waitDeliveries waits until the background writer has stored n of a flow's
// deliveries and returns the newest n (newest first).
func (h *hookEnv) waitDeliveries(flowID string, n int) []deliveryJSON {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, _ := h.deliveries(flowID, fmt.Sprintf("limit=%d", min(n, 500)))
		if len(ds) >= min(n, 500) {
			return ds
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("flow %s: %d deliveries recorded, want %d", flowID, len(ds), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliveriesAPI(t *testing.T) {
	h := newHookEnv(t)
	if err := h.vault.Set(context.Background(), "WHSEC", "whsec_test"); err != nil {
		t.Fatal(err)
	}
	h.flow(`{"id":"pay","name":"Pay","trigger":{"type":"webhook","with":{"body_limit":1024,"verify":{"scheme":"stripe","secret":"{{ secrets.WHSEC }}"}}},"steps":[]}`)
	h.flow(`{"id":"form","name":"Form","trigger":{"type":"webhook","with":{"body_limit":64,"dedupe":"trigger.body.id"}},"steps":[]}`)

	evt := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	now := time.Now().Unix()
	goodSig := stripeSig("whsec_test", now, evt)
	cases := []struct {
		name    string
		flow    string
		ctype   string
		body    []byte
		headers map[string]string
		status  int
		outcome string
		reason  string // part of the reason; "" for accepted ones
	}{
		{"valid", "pay", "application/json", evt, map[string]string{"Stripe-Signature": goodSig}, 202, "run", ""},
		{"duplicate", "pay", "application/json", evt, map[string]string{"Stripe-Signature": goodSig}, 200, "duplicate", ""},
		{"wrong signature", "pay", "application/json", evt, map[string]string{"Stripe-Signature": stripeSig("whsec_other", now, evt)}, 401, "refused", "signature"},
		{"stale timestamp", "pay", "application/json", evt, map[string]string{"Stripe-Signature": stripeSig("whsec_test", now-3600, evt)}, 401, "refused", "old"},
		{"malformed", "form", "application/json", []byte(`{"id":`), nil, 400, "refused", "malformed JSON"},
		{"over limit", "form", "text/plain", bytes.Repeat([]byte("x"), 100), nil, 413, "refused", "over this flow's limit"},
		{"form accepted", "form", "application/json", []byte(`{"id":"a"}`), map[string]string{"Authorization": "Bearer sekret-token-value"}, 202, "run", ""},
	}
	for _, tc := range cases {
		a := h.post("/hooks/"+tc.flow, tc.ctype, tc.body, tc.headers)
		if a.code != tc.status {
			t.Fatalf("%s: answered %d %s, want %d", tc.name, a.code, a.raw, tc.status)
		}
	}
	h.post("/hooks/nope", "application/json", evt, nil) // unknown flows record nothing

	got := map[string][]deliveryJSON{"pay": h.waitDeliveries("pay", 4), "form": h.waitDeliveries("form", 3)}
	// Newest first: walk the cases backwards per flow.
	idx := map[string]int{}
	for i := len(cases) - 1; i >= 0; i-- {
		tc := cases[i]
		t.Run(tc.name, func(t *testing.T) {
			d := got[tc.flow][idx[tc.flow]]
			idx[tc.flow]++
			if d.Status != tc.status || d.Outcome != tc.outcome || d.Method != "POST" || d.Size != len(tc.body) {
				t.Fatalf("delivery %+v, want status %d outcome %s size %d", d, tc.status, tc.outcome, len(tc.body))
			}
			if (tc.reason == "") != (d.Reason == "") || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("reason %q, want it to contain %q", d.Reason, tc.reason)
			}
			if (tc.outcome == "refused") == (d.RunID != "") {
				t.Fatalf("outcome %s with run id %q", d.Outcome, d.RunID)
			}
			if d.ReceivedAt.IsZero() || d.Headers["content-type"] != tc.ctype {
				t.Fatalf("received_at %v, headers %v", d.ReceivedAt, d.Headers)
			}
			for name, v := range tc.headers {
				stored := d.Headers[strings.ToLower(name)]
				if !strings.HasPrefix(stored, "[masked") || strings.Contains(stored, v[len(v)-8:]) {
					t.Fatalf("header %s stored as %q", name, stored)
				}
			}
		})
	}
	// The reason is exactly the error the sender got.
	a := h.post("/hooks/form", "application/json", []byte(`[`), nil)
	if ds := h.waitDeliveries("form", 4); ds[0].Reason != a.body["error"] {
		t.Fatalf("reason %q, answer %q", ds[0].Reason, a.body["error"])
	}
	// The run ids are the runs' ids; the duplicate names the first run.
	if p := got["pay"]; p[3].RunID == "" || p[2].RunID != p[3].RunID {
		t.Fatalf("run ids: valid %q, duplicate %q", p[3].RunID, p[2].RunID)
	}

	filters := []struct {
		query string
		want  int
		code  int
	}{
		{"outcome=refused", 2, 200},
		{"outcome=run", 1, 200},
		{"outcome=duplicate", 1, 200},
		{"limit=1", 1, 200},
		{"outcome=maybe", 0, 422},
		{"limit=0", 0, 422},
	}
	for _, f := range filters {
		t.Run("filter "+f.query, func(t *testing.T) {
			a := h.api("GET", "/api/v1/flows/pay/deliveries?"+f.query, h.token, "")
			if a.code != f.code {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			if list, _ := a.body["deliveries"].([]any); f.code == 200 && len(list) != f.want {
				t.Fatalf("%d deliveries, want %d", len(list), f.want)
			}
		})
	}
	if a := h.api("GET", "/api/v1/flows/nope/deliveries", h.token, ""); a.code != 404 {
		t.Fatalf("unknown flow: %d", a.code)
	}
}

// TestDeliveriesFloodBound: 3,000 unsigned requests leave at most the
// per-flow bound (1,000) on record, and the newest are kept.
func TestDeliveriesFloodBound(t *testing.T) {
	h := newHookEnv(t)
	if err := h.vault.Set(context.Background(), "WHSEC", "whsec_test"); err != nil {
		t.Fatal(err)
	}
	h.flow(`{"id":"pay","name":"Pay","trigger":{"type":"webhook","with":{"verify":{"scheme":"stripe","secret":"{{ secrets.WHSEC }}"}}},"steps":[]}`)
	const total, workers = 3000, 8
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				resp, err := client.Post(h.url+"/hooks/pay", "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 401 {
					t.Errorf("unsigned request answered %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	// A valid request last: once it is on record the writer has handled
	// every refused one before it (one queue, one writer).
	evt := []byte(`{"id":"evt_last"}`)
	if a := h.post("/hooks/pay", "application/json", evt, map[string]string{"Stripe-Signature": stripeSig("whsec_test", time.Now().Unix(), evt)}); a.code != 202 {
		t.Fatalf("valid request: %d %s", a.code, a.raw)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, _ := h.deliveries("pay", "limit=1")
		if len(ds) == 1 && ds[0].Outcome == "run" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the valid request was never recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	n, cursor := 0, ""
	for {
		ds, next := h.deliveries("pay", "limit=500&cursor="+cursor)
		for i, d := range ds {
			if (n > 0 || i > 0) && (d.Outcome != "refused" || d.Status != 401) {
				t.Fatalf("delivery %+v", d)
			}
		}
		n += len(ds)
		if next == "" {
			break
		}
		cursor = next
	}
	if n > 1000 || n < 900 {
		t.Fatalf("%d deliveries on record after %d refused requests, want the bound (1000; a few may be dropped)", n, total)
	}
}
