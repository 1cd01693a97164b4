package actions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
