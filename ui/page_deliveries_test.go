package ui_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func deliveryRows(p page) []*html.Node {
	return findAll(p.doc, func(n *html.Node) bool { return strings.HasPrefix(attr(n, "data-testid"), "delivery-row-") })
}

func TestDeliveriesPage(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"orders","name":"Orders","trigger":{"type":"webhook","with":{"body_limit":16}},"steps":[]}`)
	hook := e.base + "/hooks/orders"
	sendHook(t, hook, `{"id":1}`, map[string]string{"X-Hub-Signature-256": "sha256=abcdef0123456789"})
	sendHook(t, hook, `{"id":"far too long for the limit"}`, nil)

	var p page
	deadline := time.Now().Add(10 * time.Second)
	for {
		p = e.get("/flows/orders/deliveries")
		if len(deliveryRows(p)) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cases := []struct {
		name, path string
		rows       int
		has        []string
		hasNot     []string
	}{
		{"all", "/flows/orders/deliveries", 2, []string{"202", "413", "over this flow&#39;s limit", "[masked, 23 bytes]", `hx-get="/flows/orders/deliveries/rows?"`}, []string{"abcdef0123456789"}},
		{"refused", "/flows/orders/deliveries?outcome=refused", 1, []string{"413"}, []string{">202<"}},
		{"rows fragment", "/flows/orders/deliveries/rows?outcome=run", 1, []string{"202"}, []string{"<html"}},
		{"duplicate: none", "/flows/orders/deliveries?outcome=duplicate", 0, []string{"No delivery with this outcome"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.get(tc.path)
			if p.code != 200 || len(deliveryRows(p)) != tc.rows {
				t.Fatalf("%d, %d rows, want %d:\n%s", p.code, len(deliveryRows(p)), tc.rows, p.body)
			}
			for _, s := range tc.has {
				if !strings.Contains(p.body, s) {
					t.Errorf("missing %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(p.body, s) {
					t.Errorf("shows %q", s)
				}
			}
		})
	}
	if p := e.get("/flows/nope/deliveries"); p.code != 404 {
		t.Fatalf("unknown flow: %d", p.code)
	}
	if p := e.get("/flows/orders/deliveries?outcome=bogus"); p.code != 422 {
		t.Fatalf("unknown outcome: %d", p.code)
	}
}
