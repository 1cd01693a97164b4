package jsbox

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var sampleData = map[string]any{
	"trigger": map[string]any{"type": "webhook", "body": map[string]any{"amount": 12.5, "items": []any{"a", "b"}}},
	"steps":   map[string]any{"fetch": map[string]any{"output": map[string]any{"status": 200}}},
	"vars":    map[string]any{"tier": "gold"},
	"run":     map[string]any{"id": "01RUN", "attempt": 1},
	"flow":    map[string]any{"id": "f1", "name": "F", "version": 3},
	"item":    map[string]any{"sku": "X1"},
	"index":   2,
	"secrets": map[string]any{"API_KEY": "s3cr3t"},
}

func TestRunResults(t *testing.T) {
	box := NewQuickJS(Options{})
	for _, tc := range []struct {
		name, src string
		want      any
		logs      []string
	}{
		{"number from trigger", "return trigger.body.amount * 2", 25.0, nil},
		{"object from every name", "return {t: trigger.type, s: steps.fetch.output.status, v: vars.tier, r: run.id, f: flow.version, i: item.sku, n: index}",
			map[string]any{"t": "webhook", "s": 200.0, "v": "gold", "r": "01RUN", "f": 3.0, "i": "X1", "n": 2.0}, nil},
		{"list", "return trigger.body.items.map(x => x.toUpperCase())", []any{"A", "B"}, nil},
		{"undefined is null", "let x = 1", nil, nil},
		{"function is null", "return function () {}", nil, nil},
		{"string", "return `total ${trigger.body.amount}`", "total 12.5", nil},
		{"secrets are not in scope", "return typeof secrets", "undefined", nil},
		{"console lines", "console.log('hi', 2, {a: 1}, [1], null, undefined); console.warn('careful'); console.error(new TypeError('bad')); return true", true,
			[]string{`hi 2 {"a":1} [1] null undefined`, "warn: careful", "error: TypeError: bad"}},
		{"no network, files or processes", "return [typeof fetch, typeof XMLHttpRequest, typeof require, typeof process, typeof std, typeof os, typeof setTimeout, typeof WebAssembly, typeof Deno, typeof Bun].join()",
			"undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined", nil},
		{"the log hook is hidden", "return typeof __hookflow_log", "undefined", nil},
		{"eval stays inside", "return eval('1 + 1')", 2.0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := box.Run(context.Background(), tc.src, sampleData, Limits{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !reflect.DeepEqual(res.Output, tc.want) {
				t.Errorf("output = %#v, want %#v", res.Output, tc.want)
			}
			if !reflect.DeepEqual(res.Logs, tc.logs) {
				t.Errorf("logs = %q, want %q", res.Logs, tc.logs)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	box := NewQuickJS(Options{})
	for _, tc := range []struct {
		name, src string
		kind      Kind
		msg       string // substring of Error()
		line      int
	}{
		{"throw with line", "let a = 1;\n\nthrow new Error('boom')", KindThrow, "Error: boom", 3},
		{"type error in a nested function", "function f(o) {\n  return o.x.y\n}\nreturn f({})", KindThrow, "TypeError: cannot read property 'y' of undefined", 2},
		{"throw a string", "throw 'plain'", KindThrow, "plain", 0},
		{"throw null reads as memory", "throw null", KindMemory, "or threw null", 0},
		{"require is not there", "const fs = require('fs')", KindThrow, "ReferenceError: 'require' is not defined", 1},
		{"fetch is not there", "\nreturn fetch('http://127.0.0.1/')", KindThrow, "ReferenceError: 'fetch' is not defined", 2},
		{"syntax error", "let x = 1;\nreturn (", KindSyntax, "SyntaxError", 2},
		{"unclosed block", "if (true) {\n  return 1", KindSyntax, "SyntaxError", 2},
		{"BigInt is not JSON", "return 10n", KindOutput, "not JSON", 0},
		{"a Promise", "return Promise.resolve(1)", KindOutput, "synchronous", 0},
		{"output over 5 MiB", "return 'x'.repeat(6 << 20)", KindOutput, "larger than", 0},
		{"10 GB in 1 MiB pieces", "const keep = [];\nfor (let i = 0; i < 10240; i++) keep.push(new Uint8Array(1 << 20));\nreturn keep.length", KindMemory, "memory limit of 64 MiB", 0},
		{"one 1 GB buffer", "return new ArrayBuffer(1 << 30).byteLength", KindMemory, "memory limit of 64 MiB", 0},
		{"an array that grows", "const a = [];\nwhile (true) a.push({n: a.length, s: 'xxxxxxxxxxxxxxxx' + a.length});", KindMemory, "memory limit of 8 MiB", 0},
		{"deep recursion", "function f(n) { return f(n + 1) + 1 }\nreturn f(0)", KindThrow, "stack overflow", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := Limits{Timeout: 30 * time.Second}
			if tc.name == "an array that grows" {
				lim.Memory = 8 << 20 // reached sooner under the race detector
			}
			_, err := box.Run(context.Background(), tc.src, sampleData, lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Kind != tc.kind || !strings.Contains(e.Error(), tc.msg) || e.Line != tc.line {
				t.Errorf("err = %q kind %s line %d, want kind %s, %q, line %d", e.Error(), e.Kind, e.Line, tc.kind, tc.msg, tc.line)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	box := NewQuickJS(Options{})
	for _, tc := range []struct {
		name, src string
		line      int // 0: no error
	}{
		{"fine", "const x = trigger.body;\nreturn x", 0},
		{"does not run", "while (true) {}", 0},
		{"missing paren", "return (1 + 2", 1},
		{"second line", "let a = 1;\nlet a = 2;", 2},
		{"bad token on line 3", "let a = 1;\n\nlet = ;", 3},
		{"unclosed string", "return 'abc", 1},
		{"too long", strings.Repeat("//", MaxSource), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := box.Check(tc.src)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindSyntax {
				t.Fatalf("Check = %v, want a syntax error", err)
			}
			if tc.line > 0 && e.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", e.Line, tc.line, e)
			}
		})
	}
}

// TestTimeLimit: an endless loop, also one that catches, stops within twice
// its limit with the time message.
func TestTimeLimit(t *testing.T) {
	box := NewQuickJS(Options{})
	const limit = 300 * time.Millisecond
	for _, src := range []string{
		"while (true) {}",
		"for (;;) { try { while (true) {} } catch (e) {} }",
		"console.log('before');\nlet n = 0; while (true) { n++ }",
		"}; while (true) {}; {", // escapes the wrapper: runs at definition
		"const re = /(a+)+$/; return re.test('a'.repeat(40) + 'b')",
		"const s = 'ab'.repeat(1e5);\nfor (let i = 0; i < 1e6; i++) s.indexOf('c'); // few loop turns, each a slow built-in call",
	} {
		t.Run(src, func(t *testing.T) {
			start := time.Now()
			res, err := box.Run(context.Background(), src, sampleData, Limits{Timeout: limit})
			took := time.Since(start)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindTimeout || !strings.Contains(e.Error(), "time limit of 300ms") {
				t.Fatalf("err = %v, want the time limit", err)
			}
			if took > 2*limit {
				t.Errorf("stopped after %v, want ≤ %v", took, 2*limit)
			}
			if strings.HasPrefix(src, "console") && !reflect.DeepEqual(res.Logs, []string{"before"}) {
				t.Errorf("logs = %q, want the line before the loop", res.Logs)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	box := NewQuickJS(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := box.Run(ctx, "while (true) {}", nil, Limits{Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestIsolation: each run starts from a fresh engine.
func TestIsolation(t *testing.T) {
	box := NewQuickJS(Options{Pool: 1})
	for i := range 3 {
		res, err := box.Run(context.Background(),
			"const seen = typeof globalThis.leak + ',' + typeof Array.prototype.evil;\nglobalThis.leak = 1; Array.prototype.evil = 1;\nreturn seen", nil, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Output != "undefined,undefined" {
			t.Fatalf("run %d saw %v left by an earlier run", i, res.Output)
		}
	}
}

func TestLogLimits(t *testing.T) {
	box := NewQuickJS(Options{})
	res, err := box.Run(context.Background(), "for (let i = 0; i < 5000; i++) console.log('line', i);\nconsole.log('x'.repeat(100000)); return 1", nil, Limits{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Logs) != MaxLogLines+1 || res.Logs[0] != "line 0" || !strings.Contains(res.Logs[MaxLogLines], "4001 more console lines not kept") {
		t.Fatalf("got %d lines, first %q, last %q", len(res.Logs), res.Logs[0], res.Logs[len(res.Logs)-1])
	}
	res, err = box.Run(context.Background(), "console.log('y'.repeat(100000)); return 1", nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Logs) != 1 || len([]rune(res.Logs[0])) != MaxLogLine+1 {
		t.Fatalf("a long line should be cut to %d characters, got %d lines", MaxLogLine, len(res.Logs))
	}
}

// TestConcurrent: runs at the same time each see their own data.
func TestConcurrent(t *testing.T) {
	box := NewQuickJS(Options{Pool: 2, Concurrency: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			res, err := box.Run(context.Background(), "return index * 2", map[string]any{"index": i}, Limits{})
			if err != nil {
				errs <- err
			} else if res.Output != float64(i*2) {
				errs <- fmt.Errorf("run %d got %v", i, res.Output)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestBadInput(t *testing.T) {
	box := NewQuickJS(Options{})
	_, err := box.Run(context.Background(), "return 1", map[string]any{"vars": map[string]any{"f": func() {}}}, Limits{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindInput {
		t.Fatalf("err = %v, want an input error", err)
	}
	if _, err := box.Run(context.Background(), "return '\xff'", nil, Limits{}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("err = %v, want the UTF-8 refusal", err)
	}
}
