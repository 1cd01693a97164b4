package actions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// BenchmarkHTTPAction is the load tool's http step: a small JSON POST to a
// sink on 127.0.0.1 that answers {"ok":true}, through the guarded client
// (connections kept), answer parsed.
func BenchmarkHTTPAction(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	sc := testSC(&testing.T{})
	h := &HTTP{Method: "POST", URL: srv.URL + "/sink/stripe",
		Body: map[string]any{"id": "evt_3PqLr2Ab7Cd9Ef1Gh2Ij3Kl4", "amount": "4200"}}
	b.ReportAllocs()
	for b.Loop() {
		out, err := h.Run(context.Background(), sc)
		if err != nil {
			b.Fatal(err)
		}
		if out.(map[string]any)["status"] != 200 {
			b.Fatalf("answer %v", out)
		}
	}
}

// BenchmarkHTTPSettings: an http step's evaluated settings (the load tool's
// step) into the action: through DecodeWith (the fast decode) and the JSON
// round trip it replaces.
func BenchmarkHTTPSettings(b *testing.B) {
	with := func() map[string]any {
		return map[string]any{"method": "POST", "url": "http://127.0.0.1:9/sink/stripe",
			"headers": map[string]any{"Content-Type": "application/json"},
			"body":    map[string]any{"id": "evt_3PqLr2Ab7Cd9Ef1Gh2Ij3Kl4", "amount": 4200.0, "currency": "usd"}}
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := engine.DecodeWith(&httpKind.Spec, with(), new(HTTP)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, err := viaJSON(with())
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
