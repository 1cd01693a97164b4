package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// bigEnv is a trigger with a 50 KB raw body and a 20,000-item array body.
func bigEnv() map[string]any {
	items := make([]any, 20000)
	for i := range items {
		items[i] = i
	}
	return map[string]any{
		"trigger": map[string]any{"raw": strings.Repeat("x", 50_000), "body": items,
			"headers": map[string]any{"x-n": "3"}},
		"secrets": map[string]any{"TOKEN": "s3cr3t-value"},
		"steps":   map[string]any{}, "vars": map[string]any{}, "run": map[string]any{}, "flow": map[string]any{},
		"item": nil, "index": nil,
	}
}

// heapGrowth runs f and reports how many bytes it allocated.
func heapGrowth(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestEvaluationLimits(t *testing.T) {
	small := engine.Limits{Time: 2 * time.Second, Memory: 1 << 20, Iterations: 100_000, Output: 4 << 20}
	tests := []struct {
		name, src string
		limit     string // the bound named in the error
	}{
		{"doubling string", `len(reduce(1..40, #acc + #acc, 'x')) > 0`, "memory limit"},
		{"repeat of the body", `len(repeat(trigger.raw, 10000)) > 0`, "memory limit"},
		{"concat in a loop", `len(reduce(1..10000, #acc + trigger.raw, '')) > 0`, "memory limit"},
		{"join with a big glue", `len(join(map(1..5000, ''), trigger.raw)) > 0`, "memory limit"},
		{"replace growing", `len(replace(trigger.raw, 'x', trigger.raw)) > 0`, "memory limit"},
		{"serializing shared refs", `len(toJSON(map(1..5000, trigger.raw))) > 0`, "memory limit"},
		{"upper in a loop", `len(map(1..5000, upper(trigger.raw))) > 0`, "memory limit"},
		{"json_encode of refs", `len(json_encode(map(1..5000, trigger.raw))) > 0`, "memory limit"},
		{"string() of refs", `len(string(map(1..5000, trigger.raw))) > 0`, "memory limit"},
		{"iterations", `sum(trigger.body, {#}) + sum(trigger.body, {#}) + sum(trigger.body, {#}) + sum(trigger.body, {#}) + sum(trigger.body, {#}) + sum(trigger.body, {#}) > 0`, "iteration limit"},
		{"result too large", `map(1..1000, trigger.raw)`, "output limit"},
		{"regex built from input", `trigger.raw matches trigger.raw`, "regex limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := engine.CompileExpr(tc.src, engine.StepScope)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			env := bigEnv()
			var runErr error
			grew := heapGrowth(func() { _, runErr = e.Run(&engine.Evaluation{Limits: small}, env) })
			if runErr == nil || !strings.Contains(runErr.Error(), tc.limit) {
				t.Fatalf("err = %v, want one naming the %s", runErr, tc.limit)
			}
			if !strings.Contains(runErr.Error(), tc.src[:10]) {
				t.Errorf("error %q does not name the expression", runErr)
			}
			// The budget is checked before building, so allocation stays
			// within a small multiple of the limit (VM bookkeeping included).
			if grew > 8*uint64(small.Memory) {
				t.Errorf("allocated %d bytes with a %d-byte limit", grew, small.Memory)
			}
			if _, ok := env["__hf"]; ok {
				t.Error("the budget was left in env")
			}
		})
	}
}

func TestEvaluationStopsOnTimeAndCancel(t *testing.T) {
	// 20,000 items, each the same 20,000-number list: an inner loop over the
	// item is allowed at save and is 4×10^8 iterations at run time.
	src := `sum(trigger.body, {sum(#, {#})}) > 0`
	e, err := engine.CompileExpr(src, engine.StepScope)
	if err != nil {
		t.Fatal(err)
	}
	nested := func() map[string]any {
		env := bigEnv()
		inner := env["trigger"].(map[string]any)["body"].([]any)
		outer := make([]any, len(inner))
		for i := range outer {
			outer[i] = inner
		}
		env["trigger"].(map[string]any)["body"] = outer
		return env
	}
	t.Run("time", func(t *testing.T) {
		_, err := e.Run(&engine.Evaluation{Limits: engine.Limits{Time: 50 * time.Millisecond, Iterations: 1 << 40}}, nested())
		if err == nil || !strings.Contains(err.Error(), "time limit") || !errors.Is(err, engine.ErrLimit) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		_, err := e.Run(&engine.Evaluation{Ctx: ctx, Limits: engine.Limits{Time: time.Hour, Iterations: 1 << 40}}, nested())
		if err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRefusedAtSave(t *testing.T) {
	tests := []struct{ src, want string }{
		{`sum(trigger.body, {sum(trigger.body, {#})}) > 0`, "square of the input"},
		{`let r = 1..10000; sum(r, {sum(r, {#})}) > 0`, "square of the input"},
		{`all(trigger.body, {any(trigger.body, {# == 1})})`, "square of the input"},
		{`__hf != nil`, "reserved"},
		{`__tick(1) == nil`, "reserved"},
	}
	for _, tc := range tests {
		if _, err := engine.CompileExpr(tc.src, engine.StepScope); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestGuardKeepsMeaning(t *testing.T) {
	env := map[string]any{
		"trigger": map[string]any{"body": map[string]any{
			"items": []any{map[string]any{"tags": []any{"a", "b"}, "price": 2.5}, map[string]any{"tags": []any{"c"}, "price": 1}},
			"name":  "Ann", "n": 3}},
		"secrets": map[string]any{}, "steps": map[string]any{}, "vars": map[string]any{}, "run": map[string]any{},
		"flow": map[string]any{}, "item": nil, "index": nil,
	}
	tests := []struct {
		src  string
		want any
	}{
		{`trigger.body.name + '!'`, "Ann!"},
		{`trigger.body.n + 2`, 5},
		{`1 + 2`, 3},
		{`'a' + 'b'`, "ab"},
		{`repeat('ab', 3)`, "ababab"},
		{`replace('a-b-c', '-', '+')`, "a+b+c"},
		{`join(['a', 'b'], ', ')`, "a, b"},
		{`join(map(trigger.body.items, {string(len(#.tags))}))`, "21"},
		{`all(trigger.body.items, {all(#.tags, {# != ''})})`, true},
		{`sum(trigger.body.items, {#.price})`, 3.5},
		{`upper(trigger.body.name)`, "ANN"},
		{`len(toJSON(trigger.body.items)) > 10`, true},
		{`json_decode('{"a":1}').a`, float64(1)},
		{`map(1..3, {# * 2})`, []any{2, 4, 6}},
		{`uniq([1, 1.0, 'a', 'a', 2, [1], [1]])`, []any{1, "a", 2, []any{1}}},
		{`'abc' matches '^a'`, true},
		{`trigger.body.name matches ('^' + 'A')`, true},
	}
	for _, tc := range tests {
		e, err := engine.CompileExpr(tc.src, engine.StepScope)
		if err != nil {
			t.Errorf("%s: compile: %v", tc.src, err)
			continue
		}
		got, err := e.Eval(env)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if toJSONString(got) != toJSONString(tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
		}
	}
	// type errors found at save stay errors at save
	if _, err := engine.CompileExpr(`'a' + 1`, engine.StepScope); err == nil {
		t.Error(`'a' + 1 compiled`)
	}
}

func TestDerivedFromSecrets(t *testing.T) {
	tpl, err := engine.CompileString(`Basic {{ base64('svc:' + secrets.TOKEN) }}`, engine.StepScope)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	out, err := tpl.Run(&engine.Evaluation{Derived: func(s string) { got = append(got, s) }}, bigEnv())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != out {
		t.Fatalf("derived %q, rendered %q", got, out)
	}
	plain, _ := engine.CompileString(`Hi {{ trigger.headers['x-n'] }}`, engine.StepScope)
	got = nil
	if _, err := plain.Run(&engine.Evaluation{Derived: func(s string) { got = append(got, s) }}, bigEnv()); err != nil || len(got) != 0 {
		t.Fatalf("a template without secrets derived %q (err %v)", got, err)
	}
}

func toJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
