package actions

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// BenchmarkAppStep runs airtable.create_record against a local fake: decode,
// validate, render the request, send it, classify and select the output.
func BenchmarkAppStep(b *testing.B) {
	t := &testing.T{}
	e := newAppEnv(t, "airtable", fakeAPI(t, fakeRule{method: "POST", path: "/v0/appBASE1/Leads",
		answer: `{"records":[{"id":"recA1","fields":{"Name":"Ada"}}]}`}))
	defer e.srv.Close()
	e.conn("at", &engine.Credential{Type: engine.ConnBearer, Token: "patAIRTABLE123.secret"})
	op := &e.app.Operations[0]
	kind := engine.ActionKind{Spec: op.spec(e.app), New: func() engine.Action { return &appStep{app: e.app, op: op} }}
	var w any
	_ = json.Unmarshal([]byte(`{"connection":"at","base_id":"appBASE1","table":"Leads","fields":{"Name":"Ada","Email":"ada@example.com"}}`), &w)
	sc := testSC(t)
	sc.Connections = e.conns
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := engine.DecodeWith(&kind.Spec, w, kind.New())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cfg.(engine.Action).Run(ctx, sc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppBuild renders one request without sending it.
func BenchmarkAppBuild(b *testing.B) {
	c, _ := NewApps()
	a, _ := c.Get("airtable")
	s := &appStep{app: a, op: &a.Operations[0], Input: map[string]any{"base_id": "appBASE1", "table": "Leads", "fields": map[string]any{"Name": "Ada"}}}
	cred := &engine.Credential{Type: engine.ConnBearer, Token: "patAIRTABLE123.secret"}
	env := map[string]any{"input": s.Input, "auth": cred.Values()}
	sc := &engine.StepContext{IdempotencyKey: "r:s"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.build(context.Background(), sc, env, cred, nil); err != nil {
			b.Fatal(err)
		}
	}
}
