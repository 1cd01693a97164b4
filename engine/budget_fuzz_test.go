package engine_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// exprGen builds an expression from fuzz bytes: each byte picks a production
// of a small grammar over the scope's data, the helpers and the builtins
// most able to loop or allocate.
type exprGen struct {
	b     []byte
	depth int
}

func (g *exprGen) next() int {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return int(c)
}

var (
	genLeaves = []string{"trigger.raw", "trigger.body", "trigger.body.items", "trigger.body.name", "'ab'", "3", "1..50",
		"secrets.K", "#", "#acc", "''", "[1, 2, 3]", "trigger.headers", "10000", "#index"}
	genUnary = []string{"upper(%)", "lower(%)", "len(%)", "toJSON(%)", "string(%)", "json_encode(%)", "trim(%)",
		"split(%, 'a')", "sha256(%)", "base64(%)", "keys(%)", "reverse(%)", "sort(%)", "uniq(%)", "first(%)", "fromJSON(%)"}
	genBinary = []string{"% + %", "repeat(%, %)", "replace(%, 'a', %)", "join(%, %)", "% == %", "% > %", "concat(%, %)",
		"map(%, {%})", "filter(%, {%})", "reduce(%, %, %)", "sum(%, {%})", "all(%, {%})", "% ?? %", "let v = %; %"}
)

func (g *exprGen) expr() string {
	g.depth++
	defer func() { g.depth-- }()
	c := g.next()
	if g.depth > 6 || c%3 == 0 {
		return genLeaves[c%len(genLeaves)]
	}
	if c%3 == 1 {
		return strings.Replace(genUnary[(c/3)%len(genUnary)], "%", g.expr(), 1)
	}
	s := genBinary[(c/3)%len(genBinary)]
	for strings.Contains(s, "%") {
		s = strings.Replace(s, "%", g.expr(), 1)
	}
	return s
}

// FuzzEvaluationBounds generates expressions and checks that whatever
// compiles evaluates within its bounds: it ends within a small multiple of
// the time limit, allocates within a small multiple of the memory limit,
// never panics, and an error that stops it names the bound.
func FuzzEvaluationBounds(f *testing.F) {
	for _, s := range []string{"\x01\x04\x00", "\x02\x20\x03\x05", "\x05\x05\x05\x05\x05\x05", "\x29\x01\x00\x04\x07"} {
		f.Add([]byte(s))
	}
	limits := engine.Limits{Time: 200 * time.Millisecond, Memory: 256 << 10, Iterations: 200_000, Output: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		src := (&exprGen{b: b}).expr()
		e, err := engine.CompileExpr(src, engine.StepScope)
		if err != nil {
			return // refused at save: fine
		}
		env := bigEnv()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		_, err = e.Run(&engine.Evaluation{Limits: limits}, env)
		took := time.Since(start)
		runtime.ReadMemStats(&ms1)
		if took > 10*limits.Time {
			t.Fatalf("%s ran %s (limit %s)", src, took, limits.Time)
		}
		// What an evaluation allocates in all (garbage included) stays
		// within the bytes it may build, the VM's own garbage per loop
		// iteration (boxed items and accumulators, scopes: up to ~160 bytes
		// for nested reduce over a string, found by this fuzzer), and one
		// unguarded copy of bigEnv's 50 KB body; a runaway would be far
		// beyond (it builds what it keeps, not garbage the GC takes back).
		if grew := ms1.TotalAlloc - ms0.TotalAlloc; grew > 4*uint64(limits.Memory)+256*uint64(limits.Iterations)+1<<20 {
			t.Fatalf("%s allocated %d bytes (limit %d): %v", src, grew, limits.Memory, err)
		}
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Fatalf("%s: %v", src, err)
		}
	})
}
