package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// An expression is bounded while it runs, not only when it is saved: every
// evaluation carries a budget (time, loop iterations, bytes built) that the
// compiled program checks as it goes. The checks are added to the program by
// the guard patch below, so a condition that loops, builds strings or
// serializes values pays for what it does before it does it:
//
//   - every closure body ({…} in map, filter, all, sum, reduce …) first ticks
//     the budget: iterations are counted and, every tickEvery of them, the time
//     and the evaluation's context (cancel, shutdown) are checked;
//   - string `+` (where the operands may be strings), repeat, replace and join
//     check the size of what they are about to build against what is left;
//   - helpers that copy or serialize their arguments (upper, split, string,
//     toJSON, json_encode, sha256 …) are charged their arguments' size first;
//   - expr's own element budget (lists built by map, filter, ranges, sort)
//     is set from the same memory limit;
//   - a result is measured (without serializing it) before it leaves, so that
//     a list of ten thousand references to the same body cannot be written out
//     later as gigabytes.

// Limits bound one evaluation of an expression or template.
type Limits struct {
	// Time is the wall-clock time one evaluation may run (default 1s). A
	// step's own timeout lowers it.
	Time time.Duration
	// Memory is the bytes one evaluation may build (default 1 MiB): strings
	// made by +, templates and helpers, values serialized or decoded, and
	// lists (16 bytes an element).
	Memory int
	// Iterations bounds how many times closures run (default 1,000,000).
	Iterations int
	// Output bounds the size of a result, measured as if serialized
	// (default 8 MiB). A result may reference the trigger body without
	// copying it; this bounds what the step and its record write later.
	Output int
}

// DefaultLimits are the bounds of an evaluation that sets none. At most 64
// such evaluations run at once (heavySlots): about 64 × 2 MiB at their limits.
var DefaultLimits = Limits{Time: time.Second, Memory: 1 << 20, Iterations: 1_000_000, Output: 8 << 20}

func (l Limits) withDefaults() Limits {
	if l.Time <= 0 {
		l.Time = DefaultLimits.Time
	}
	if l.Memory <= 0 {
		l.Memory = DefaultLimits.Memory
	}
	if l.Iterations <= 0 {
		l.Iterations = DefaultLimits.Iterations
	}
	if l.Output <= 0 {
		l.Output = DefaultLimits.Output
	}
	return l
}

// Evaluation is what one evaluation runs under. A nil *Evaluation means
// DefaultLimits, no context and no collection of derived values.
type Evaluation struct {
	// Ctx stops the evaluation when it ends (a canceled run, shutdown).
	Ctx context.Context
	// Limits bound it; zero fields take DefaultLimits.
	Limits Limits
	// Derived, when set, receives every string an expression that reads
	// secrets produced, so that the run can redact values derived from
	// secrets (a base64 of "user:" + secret) wherever they land.
	Derived func(string)
}

// ErrLimit marks an evaluation stopped by one of its bounds.
var ErrLimit = errors.New("expression limit")

// limitError names the bound that stopped an evaluation.
type limitError struct{ msg string }

func (e *limitError) Error() string { return "stopped: " + e.msg }
func (e *limitError) Unwrap() error { return ErrLimit }

// budget is the state of one evaluation; the guarded program reaches it
// through the env name budgetName.
type budget struct {
	ctx      context.Context
	limits   Limits
	deadline time.Time
	used     int // bytes charged
	ticks    int
}

const (
	budgetName = "__hf"
	tickEvery  = 256
)

func (b *budget) reset(ev *Evaluation) {
	b.limits = DefaultLimits
	b.ctx = nil
	if ev != nil {
		b.limits = ev.Limits.withDefaults()
		b.ctx = ev.Ctx
	}
	b.deadline = time.Time{} // set at the first check: most evaluations never loop
	b.used, b.ticks = 0, 0
}

func (b *budget) tick() error {
	b.ticks++
	if b.ticks > b.limits.Iterations {
		return &limitError{fmt.Sprintf("more than %d loop iterations (the expression iteration limit)", b.limits.Iterations)}
	}
	if b.ticks%tickEvery == 0 {
		return b.checkTime()
	}
	return nil
}

func (b *budget) checkTime() error {
	if b.ctx != nil && b.ctx.Err() != nil {
		return &limitError{"the run was canceled or the server is stopping"}
	}
	now := time.Now()
	if b.deadline.IsZero() {
		b.deadline = now.Add(b.limits.Time)
	}
	if now.After(b.deadline) {
		return &limitError{fmt.Sprintf("ran longer than %s (the expression time limit)", b.limits.Time)}
	}
	return nil
}

// charge counts n bytes about to be built.
func (b *budget) charge(n int) error {
	b.used += n
	if b.used > b.limits.Memory || n < 0 {
		return b.memoryError()
	}
	return nil
}

func (b *budget) memoryError() error {
	return &limitError{fmt.Sprintf("built more than %s (the expression memory limit)", byteSize(b.limits.Memory))}
}

// chargeValue charges v's size as if serialized, walking no further than
// what is left of the budget.
func (b *budget) chargeValue(v any, factor int) error {
	left := (b.limits.Memory - b.used) / factor
	n := sizeOf(v, left, 0)
	if n > left {
		return b.memoryError()
	}
	return b.charge(n * factor)
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeOf measures v as if serialized, stopping once it passes limit (the
// result is then some number above limit). Shared references count each
// time they appear, as they would when written out.
func sizeOf(v any, limit, depth int) int {
	if depth > 100 {
		return limit + 1
	}
	switch x := v.(type) {
	case nil, bool:
		return 4
	case string:
		return len(x) + 2
	case json.Number:
		return len(x)
	case int, int64, float64, int32, uint, uint64, float32, time.Duration:
		return 8
	case time.Time:
		return 32
	case []byte:
		return len(x)
	case []string:
		n := 2
		for _, s := range x {
			if n += len(s) + 3; n > limit {
				return n
			}
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			if n += sizeOf(e, limit-n, depth+1) + 1; n > limit {
				return n
			}
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range x {
			if n += len(k) + 4 + sizeOf(e, limit-n, depth+1); n > limit {
				return n
			}
		}
		return n
	case map[string]string:
		n := 2
		for k, e := range x {
			if n += len(k) + len(e) + 6; n > limit {
				return n
			}
		}
		return n
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		n := 2
		for i := 0; i < rv.Len(); i++ {
			if n += sizeOf(rv.Index(i).Interface(), limit-n, depth+1) + 1; n > limit {
				return n
			}
		}
		return n
	case reflect.Map:
		n := 2
		it := rv.MapRange()
		for it.Next() {
			if n += sizeOf(it.Key().Interface(), limit-n, depth+1) + sizeOf(it.Value().Interface(), limit-n, depth+1) + 2; n > limit {
				return n
			}
		}
		return n
	}
	return 16
}

// guardFunctions are the functions the guard patch calls. Their first
// argument is the budget (the env value budgetName).
var guardFunctions = []expr.Option{
	expr.Function("__tick", func(p ...any) (any, error) {
		return nil, p[0].(*budget).tick()
	}),
	// __collect ticks for a closure whose results pile up (map, filter,
	// groupBy, sortBy): each one also costs a list slot.
	expr.Function("__collect", func(p ...any) (any, error) {
		b := p[0].(*budget)
		if err := b.charge(16); err != nil {
			return nil, err
		}
		return nil, b.tick()
	}),
	// __size charges its second argument's size (times a factor) and returns it.
	expr.Function("__size", func(p ...any) (any, error) {
		return p[1], p[0].(*budget).chargeValue(p[1], p[2].(int))
	}),
	expr.Function("__add", func(p ...any) (any, error) {
		b := p[0].(*budget)
		if s, ok := p[1].(string); ok {
			if t, ok := p[2].(string); ok {
				if err := b.charge(len(s) + len(t)); err != nil {
					return nil, err
				}
				return s + t, nil
			}
		}
		return runtime.Add(p[1], p[2]), nil
	}),
	expr.Function("__repeat", func(p ...any) (any, error) {
		b := p[0].(*budget)
		s, ok := p[1].(string)
		if !ok {
			return nil, fmt.Errorf("repeat: want a string, got %T", p[1])
		}
		n := runtime.ToInt(p[2])
		if n < 0 {
			return nil, fmt.Errorf("repeat: negative count %d", n)
		}
		if len(s) > 0 && n > (b.limits.Memory-b.used)/len(s) {
			return nil, b.memoryError()
		}
		if err := b.charge(len(s) * n); err != nil {
			return nil, err
		}
		return strings.Repeat(s, n), nil
	}),
	expr.Function("__replace", func(p ...any) (any, error) {
		b := p[0].(*budget)
		s, ok1 := p[1].(string)
		old, ok2 := p[2].(string)
		repl, ok3 := p[3].(string)
		if !ok1 || !ok2 || !ok3 {
			return nil, errors.New("replace: want strings")
		}
		count := -1
		if len(p) == 5 {
			count = runtime.ToInt(p[4])
		}
		k := strings.Count(s, old)
		if count >= 0 && count < k {
			k = count
		}
		if err := b.charge(len(s) + k*len(repl)); err != nil {
			return nil, err
		}
		return strings.Replace(s, old, repl, count), nil
	}),
	// __uniq is expr's uniq without its quadratic scan over scalars.
	expr.Function("__uniq", func(p ...any) (any, error) {
		b := p[0].(*budget)
		rv := reflect.ValueOf(p[1])
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("cannot uniq %s", rv.Kind())
		}
		if err := b.charge(16 * rv.Len()); err != nil {
			return nil, err
		}
		seen := map[any]bool{}
		var rest []any // values that are not scalars, compared one by one
		out := []any{}
		for i := 0; i < rv.Len(); i++ {
			v := rv.Index(i).Interface()
			if k, ok := scalarKey(v); ok {
				if !seen[k] {
					seen[k] = true
					out = append(out, v)
				}
				continue
			}
			dup := false
			for _, r := range rest {
				if err := b.tick(); err != nil {
					return nil, err
				}
				if runtime.Equal(v, r) {
					dup = true
					break
				}
			}
			if !dup {
				rest = append(rest, v)
				out = append(out, v)
			}
		}
		return out, nil
	}),
	// __matches bounds a regular expression built at run time: matching
	// costs the input's length times the pattern's.
	expr.Function("__matches", func(p ...any) (any, error) {
		s, ok1 := p[1].(string)
		pat, ok2 := p[2].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("matches: want strings, got %T and %T", p[1], p[2])
		}
		if len(pat) > 4096 || len(s)*max(len(pat), 1) > 64<<20 {
			return nil, &limitError{fmt.Sprintf("a pattern of %d bytes over %d bytes of text is too much work (the expression regex limit)", len(pat), len(s))}
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, err
		}
		return re.MatchString(s), nil
	}),
	expr.Function("__join", func(p ...any) (any, error) {
		b := p[0].(*budget)
		glue := ""
		if len(p) == 3 {
			g, ok := p[2].(string)
			if !ok {
				return nil, fmt.Errorf("join: want a string separator, got %T", p[2])
			}
			glue = g
		}
		var parts []string
		switch x := p[1].(type) {
		case []string:
			parts = x
		case []any:
			parts = make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("join: item %d is %T, not a string", i, e)
				}
				parts[i] = s
			}
		default:
			return nil, fmt.Errorf("join: want a list of strings, got %T", p[1])
		}
		n := len(glue) * max(len(parts)-1, 0)
		for _, s := range parts {
			if n += len(s); n > b.limits.Memory {
				return nil, b.memoryError()
			}
		}
		if err := b.charge(n); err != nil {
			return nil, err
		}
		return strings.Join(parts, glue), nil
	}),
}

// scalarKey is the map key under which expr's Equal finds v equal to
// others: numbers by value, strings, booleans and nil.
func scalarKey(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return struct{}{}, true
	case string, bool:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return nil, false
}

// sizeCharged are the builtins and helpers that copy, decode or serialize
// their arguments: each argument is charged its size (times the factor)
// before the call.
var sizeCharged = map[string]int{
	"string": 1, "toJSON": 2, "fromJSON": 3, "toBase64": 2, "fromBase64": 1,
	"upper": 1, "lower": 1, "trim": 1, "trimPrefix": 1, "trimSuffix": 1, "split": 2, "splitAfter": 2,
	"keys": 1, "values": 1, "toPairs": 2, "fromPairs": 2, "uniq": 1, "reverse": 1, "sort": 1, "take": 1,
	"json_encode": 2, "json_decode": 3, "sha256": 1, "hmac_sha256": 1, "base64": 2, "base64_decode": 1,
	"urlquery": 3,
}

// collecting are the closure builtins whose results pile up as they loop.
var collecting = map[string]bool{"map": true, "filter": true, "groupBy": true, "sortBy": true}

// guarded are the builtins replaced by a budget-checking version.
var guarded = map[string]string{"repeat": "__repeat", "replace": "__replace", "join": "__join", "uniq": "__uniq"}

// guard is the patch that puts the budget checks into a program.
type guard struct{ used bool }

func budgetRef() ast.Node { return &ast.IdentifierNode{Value: budgetName} }

// Visit patches one node; ast.Walk visits children first, so each node is
// patched once. used records that the program reads the budget.
func (g *guard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		fn := "__tick"
		if collecting[n.Name] {
			fn = "__collect"
		}
		for _, a := range n.Arguments {
			if p, ok := a.(*ast.PredicateNode); ok {
				tick := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{budgetRef()}}
				p.Node = &ast.SequenceNode{Nodes: []ast.Node{tick, p.Node}}
				g.used = true
			}
		}
		if name, ok := guarded[n.Name]; ok {
			g.call(node, name, n.Arguments...)
		} else if f, ok := sizeCharged[n.Name]; ok {
			g.used = chargeArgs(n.Arguments, f) || g.used
		}
	case *ast.BinaryNode:
		switch {
		case n.Operator == "matches" && !isConst(n.Right):
			g.call(node, "__matches", n.Left, n.Right)
		case n.Operator == "+" && maybeString(n.Left) && maybeString(n.Right) && !(isConst(n.Left) && isConst(n.Right)):
			g.call(node, "__add", n.Left, n.Right)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			if f, ok := sizeCharged[id.Value]; ok {
				g.used = chargeArgs(n.Arguments, f) || g.used
			}
		}
	}
}

// call replaces node with a call of a guard function on the budget and args.
func (g *guard) call(node *ast.Node, fn string, args ...ast.Node) {
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn},
		Arguments: append([]ast.Node{budgetRef()}, args...)})
	g.used = true
}

// chargeArgs wraps each non-literal argument in __size; it reports whether
// it wrapped any.
func chargeArgs(args []ast.Node, factor int) bool {
	wrapped := false
	for i, a := range args {
		if isConst(a) {
			continue
		}
		wrapped = true
		args[i] = &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__size"},
			Arguments: []ast.Node{budgetRef(), a, &ast.IntegerNode{Value: factor}}}
	}
	return wrapped
}

// maybeString reports whether a `+` operand may be a string (or a list):
// typed numbers, times and durations are left to expr's own opcode, and
// known mismatches stay for the type checker to report.
func maybeString(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Interface, reflect.Slice:
		return true
	}
	return false
}

func isConst(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	}
	return false
}

// reservedName refuses user expressions that name the guard's internals.
func reservedName(root ast.Node) error {
	var err error
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if id, ok := (*n).(*ast.IdentifierNode); ok && strings.HasPrefix(id.Value, "__") && err == nil {
			err = fmt.Errorf("names starting with __ are reserved (%s)", id.Value)
		}
	}))
	return err
}
