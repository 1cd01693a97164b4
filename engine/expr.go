package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Scopes: the names an expression may use, by where it stands (SPEC §4).
var (
	// StepScope is in force in steps' `if`, `when`, `items` and `with` templates.
	StepScope = []string{"trigger", "steps", "vars", "secrets", "run", "flow", "item", "index"}
	// TriggerScope is in force in a webhook's `dedupe` and `respond.url`.
	TriggerScope = []string{"trigger", "secrets", "flow", "run"}
)

// Limits that bound what an expression can cost, checked at compile time.
const (
	maxExprNodes      = 2000  // AST nodes per expression
	maxClosureDepth   = 2     // all(a, {any(b, {…})}) is the deepest allowed
	maxRangeSize      = 10000 // 1..10000 at most, constant bounds only
	maxRepeatCount    = 10000 // repeat(s, n): n a constant up to this
	maxTemplateLength = 64 << 10
)

// Expr is a compiled expression, safe for concurrent use.
type Expr struct {
	src     string
	prog    *vm.Program
	secret  bool     // reads secrets: what it produces is derived from them
	guarded bool     // the program calls the budget (loops, string building)
	resumes []string // the wait steps named by resume_url()
}

// Source returns the expression's text.
func (e *Expr) Source() string { return e.src }

// CompileExpr compiles an expression that may use the names in scope. Errors
// carry expr's line/column snippet.
func CompileExpr(src string, scope []string) (*Expr, error) { return compile(src, scope, false) }

// CompileCond compiles a condition: an expression that must yield a bool.
func CompileCond(src string, scope []string) (*Expr, error) { return compile(src, scope, true) }

func compile(src string, scope []string, asBool bool) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	if len(src) > maxTemplateLength {
		return nil, fmt.Errorf("expression longer than %d bytes", maxTemplateLength)
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	if err := reservedName(tree.Node); err != nil {
		return nil, err
	}
	if err := checkCost(tree.Node); err != nil {
		return nil, err
	}
	if err := checkNested(tree.Node); err != nil {
		return nil, err
	}
	resumes, err := resumeRefs(tree.Node)
	if err != nil {
		return nil, err
	}
	env := make(types.Map, len(scope)+1)
	for _, n := range scope {
		env[n] = types.Any
	}
	env[budgetName] = types.Any
	g := &guard{}
	opts := []expr.Option{expr.Env(env), expr.MaxNodes(maxExprNodes), expr.Patch(resumeURLs{}), expr.Patch(nilSafe{}), expr.Patch(g)}
	opts = append(opts, functions...)
	opts = append(opts, guardFunctions...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	return &Expr{src: src, prog: prog, secret: readsSecrets(tree.Node), guarded: g.used, resumes: resumes}, nil
}

// heavySlots bounds the runs' evaluations that loop, build strings or copy
// values (the guarded ones) running at once: each may hold about 2 MiB at its
// limits (1 MiB built plus expr's 64 k list elements), so 64 of them about
// 128 MiB, under the server's soft memory limit, whatever the number of
// workers. Comparisons and field lookups do not wait for a slot.
var heavySlots = make(chan struct{}, 64)

// evalState is a VM and a budget, pooled together.
type evalState struct {
	vm vm.VM
	b  budget
}

var evalPool = sync.Pool{New: func() any { return new(evalState) }}

// Eval runs the expression over env (plain maps, slices and values only)
// within DefaultLimits.
func (e *Expr) Eval(env map[string]any) (any, error) { return e.Run(nil, env) }

// Run evaluates the expression over env within ev's limits and context.
// env gets the budget under a reserved name for the duration of the call:
// one env must not be evaluated by two goroutines at once.
func (e *Expr) Run(ev *Evaluation, env map[string]any) (out any, err error) {
	if e.guarded && ev != nil && ev.Ctx != nil {
		// A run's evaluation that may build up to its memory limit waits for
		// one of heavySlots: the memory all of them hold stays bounded
		// however many runs execute at once. (Evaluations outside runs —
		// a webhook's dedupe key, a poll — are bounded by their callers.)
		select {
		case heavySlots <- struct{}{}:
			defer func() { <-heavySlots }()
		case <-ev.Ctx.Done():
			return nil, fmt.Errorf("expression `%s`: %w", e.src, ev.Ctx.Err())
		}
	}
	s := evalPool.Get().(*evalState)
	defer evalPool.Put(s)
	s.b.reset(ev)
	if e.guarded {
		prev, had := env[budgetName]
		env[budgetName] = &s.b
		defer func() {
			if had {
				env[budgetName] = prev
			} else {
				delete(env, budgetName)
			}
		}()
	}
	out, err = e.run(s, env)
	if err != nil {
		return nil, err
	}
	if n := sizeOf(out, s.b.limits.Output, 0); n > s.b.limits.Output {
		return nil, fmt.Errorf("expression `%s`: stopped: its result is larger than %s (the expression output limit)", e.src, byteSize(s.b.limits.Output))
	}
	if ev != nil && ev.Derived != nil && e.secret {
		deriveStrings(out, ev.Derived, 0)
	}
	return out, nil
}

func (e *Expr) run(s *evalState, env map[string]any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("expression `%s`: %v", e.src, r)
		}
	}()
	s.vm.MemoryBudget = uint(s.b.limits.Memory / 16) // expr counts list elements
	out, err = s.vm.Run(e.prog, env)
	if err != nil {
		var le *limitError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("expression `%s`: %w", e.src, le)
		}
		msg := oneLine(err)
		if strings.Contains(msg, "memory budget exceeded") {
			return nil, fmt.Errorf("expression `%s`: %w", e.src, s.b.memoryError())
		}
		return nil, fmt.Errorf("expression `%s`: %s", e.src, msg)
	}
	return out, nil
}

// deriveStrings hands every string in v to f.
func deriveStrings(v any, f func(string), depth int) {
	if depth > 32 {
		return
	}
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			deriveStrings(e, f, depth+1)
		}
	case []string:
		for _, e := range x {
			f(e)
		}
	case map[string]any:
		for _, e := range x {
			deriveStrings(e, f, depth+1)
		}
	}
}

// Bool runs a condition within DefaultLimits.
func (e *Expr) Bool(env map[string]any) (bool, error) { return e.Cond(nil, env) }

// Cond runs a condition within ev's limits and context.
func (e *Expr) Cond(ev *Evaluation, env map[string]any) (bool, error) {
	v, err := e.Run(ev, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression `%s`: want true or false, got %T", e.src, v)
	}
	return b, nil
}

func oneLine(err error) string { return OneLine(err) }

// OneLine is an error's first line (expr's messages add a source snippet below).
func OneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// nilSafe makes every property access nil-safe: a missing field is nil, never
// an error (`trigger.body.a.b` is nil when a is absent), as if written `?.`.
type nilSafe struct{}

func (nilSafe) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Method || m.Optional {
		return
	}
	m.Optional = true
	ast.Patch(node, &ast.ChainNode{Node: m})
}

// checkCost refuses, before compiling, what could run for a very long time or
// allocate without bound: deep closure nesting, computed or large ranges, and
// repeat with a computed or large count.
func checkCost(root ast.Node) error {
	var err error
	depths := map[ast.Node]int{}
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if err != nil {
			return
		}
		switch x := (*n).(type) {
		case *ast.PredicateNode:
			d := 1
			inner := x.Node
			ast.Walk(&inner, visitFunc(func(c *ast.Node) {
				if cd, ok := depths[*c]; ok && cd+1 > d {
					d = cd + 1
				}
			}))
			depths[x] = d
			if d > maxClosureDepth {
				err = fmt.Errorf("closures nested %d deep (at most %d): the work grows with the input to the power of the depth", d, maxClosureDepth)
			}
		case *ast.BinaryNode:
			if x.Operator == ".." {
				lo, ok1 := x.Left.(*ast.IntegerNode)
				hi, ok2 := x.Right.(*ast.IntegerNode)
				if !ok1 || !ok2 {
					err = fmt.Errorf("range bounds must be constant numbers")
				} else if hi.Value-lo.Value > maxRangeSize {
					err = fmt.Errorf("range %d..%d is larger than %d items", lo.Value, hi.Value, maxRangeSize)
				}
			}
		case *ast.BuiltinNode:
			if x.Name == "repeat" {
				err = checkRepeat(x.Arguments)
			}
		case *ast.CallNode:
			if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == "repeat" {
				err = checkRepeat(x.Arguments)
			}
		}
	}))
	return err
}

func checkRepeat(args []ast.Node) error {
	if len(args) == 2 {
		if n, ok := args[1].(*ast.IntegerNode); ok && n.Value <= maxRepeatCount {
			return nil
		}
	}
	return fmt.Errorf("repeat needs a constant count of at most %d", maxRepeatCount)
}

// checkNested refuses a loop inside a loop when both run over data known
// only at run time and the inner one does not depend on the outer item
// (sum(trigger.body, {sum(trigger.body, {#})})): the work is the square of
// the input. Inner loops over the item (all(#.tags, …)) stay allowed.
func checkNested(root ast.Node) error {
	var err error
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		outer, ok := (*n).(*ast.BuiltinNode)
		if !ok || err != nil || len(outer.Arguments) < 2 || constCollection(outer.Arguments[0]) {
			return
		}
		for _, a := range outer.Arguments[1:] {
			p, ok := a.(*ast.PredicateNode)
			if !ok {
				continue
			}
			locals := map[string]bool{}
			body := p.Node
			ast.Walk(&body, visitFunc(func(m *ast.Node) {
				if d, ok := (*m).(*ast.VariableDeclaratorNode); ok {
					locals[d.Name] = true
				}
			}))
			ast.Walk(&body, visitFunc(func(m *ast.Node) {
				inner, ok := (*m).(*ast.BuiltinNode)
				if !ok || err != nil || len(inner.Arguments) < 2 || !hasPredicate(inner) {
					return
				}
				if c := inner.Arguments[0]; !constCollection(c) && !dependsOnItem(c, locals) {
					err = fmt.Errorf("%s(…) inside %s(…) runs over the same data for every item: the work grows with the square of the input (loop over the item, e.g. #.field, or compute it once with let before the loop)", inner.Name, outer.Name)
				}
			}))
		}
	}))
	return err
}

func hasPredicate(b *ast.BuiltinNode) bool {
	for _, a := range b.Arguments {
		if _, ok := a.(*ast.PredicateNode); ok {
			return true
		}
	}
	return false
}

// constCollection: a literal array or a constant range, whose size is known at save.
func constCollection(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.ArrayNode:
		return true
	case *ast.BinaryNode:
		return x.Operator == ".."
	}
	return false
}

// dependsOnItem reports whether n reads the closure's item (#, #acc, #index)
// or a variable declared inside the closure.
func dependsOnItem(n ast.Node, locals map[string]bool) bool {
	found := false
	ast.Walk(&n, visitFunc(func(m *ast.Node) {
		switch x := (*m).(type) {
		case *ast.PointerNode:
			found = true
		case *ast.IdentifierNode:
			found = found || locals[x.Value]
		}
	}))
	return found
}

// readsSecrets reports whether an expression reads the secrets object.
func readsSecrets(root ast.Node) bool {
	found := false
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if id, ok := (*n).(*ast.IdentifierNode); ok && id.Value == "secrets" {
			found = true
		}
	}))
	return found
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

// Template is a compiled `with` value: strings are templates, objects and
// arrays are templated value by value, other values are literals.
type Template struct {
	kind   tplKind
	lit    any
	parts  []tplPart // for a string template
	keys   []string  // for an object, sorted
	fields map[string]*Template
	items  []*Template
}

type tplKind uint8

const (
	tplLiteral tplKind = iota
	tplString          // text mixed with {{ }}: always a string
	tplWhole           // exactly "{{ expr }}": keeps the expression's type
	tplObject
	tplArray
)

type tplPart struct {
	text string
	expr *Expr
}

// TemplateError is a compile problem inside a templated value, with its path
// relative to the value's root ("headers.authorization", "items[2]").
type TemplateError struct {
	Path string
	Err  error
}

func (e *TemplateError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// CompileValue compiles a JSON value whose strings are templates. It reports
// every problem found.
func CompileValue(raw json.RawMessage, scope []string) (*Template, []*TemplateError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &Template{kind: tplLiteral}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []*TemplateError{{Err: fmt.Errorf("malformed JSON: %v", err)}}
	}
	var errs []*TemplateError
	t := compileAny(v, "", scope, &errs)
	return t, errs
}

// CompileTemplateValue compiles an already-decoded value (json.Number, maps, slices).
func CompileTemplateValue(v any, scope []string) (*Template, []*TemplateError) {
	var errs []*TemplateError
	t := compileAny(v, "", scope, &errs)
	return t, errs
}

func compileAny(v any, path string, scope []string, errs *[]*TemplateError) *Template {
	switch x := v.(type) {
	case string:
		t, err := CompileString(x, scope)
		if err != nil {
			*errs = append(*errs, &TemplateError{Path: path, Err: err})
			return &Template{kind: tplLiteral, lit: x}
		}
		return t
	case map[string]any:
		t := &Template{kind: tplObject, fields: make(map[string]*Template, len(x))}
		for k := range x {
			t.keys = append(t.keys, k)
		}
		sort.Strings(t.keys) // problems come out in a stable order
		for _, k := range t.keys {
			t.fields[k] = compileAny(x[k], joinPath(path, k), scope, errs)
		}
		return t
	case []any:
		t := &Template{kind: tplArray, items: make([]*Template, len(x))}
		for i, iv := range x {
			t.items[i] = compileAny(iv, fmt.Sprintf("%s[%d]", path, i), scope, errs)
		}
		return t
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return &Template{kind: tplLiteral, lit: i}
		}
		f, _ := x.Float64()
		return &Template{kind: tplLiteral, lit: f}
	default:
		return &Template{kind: tplLiteral, lit: x}
	}
}

func joinPath(path, key string) string { return JoinPath(path, key) }

// CompileString compiles one template string: "{{ expr }}" keeps the
// expression's type; text mixed with {{ … }} becomes a string.
func CompileString(s string, scope []string) (*Template, error) {
	if !strings.Contains(s, "{{") {
		return &Template{kind: tplLiteral, lit: s}, nil
	}
	if len(s) > maxTemplateLength {
		return nil, fmt.Errorf("template longer than %d bytes", maxTemplateLength)
	}
	var parts []tplPart
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, tplPart{text: rest})
			}
			break
		}
		if i > 0 {
			parts = append(parts, tplPart{text: rest[:i]})
		}
		end := closingBraces(rest[i+2:])
		if end < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", abbreviate(s, 60))
		}
		src := strings.TrimSpace(rest[i+2 : i+2+end])
		e, err := CompileExpr(src, scope)
		if err != nil {
			return nil, fmt.Errorf("in {{ %s }}: %w", src, err)
		}
		parts = append(parts, tplPart{expr: e})
		rest = rest[i+2+end+2:]
	}
	if len(parts) == 1 && parts[0].expr != nil {
		return &Template{kind: tplWhole, parts: parts}, nil
	}
	return &Template{kind: tplString, parts: parts}, nil
}

// closingBraces finds "}}" outside string literals; -1 when there is none.
func closingBraces(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ExprAt is an expression inside a template with its path ("headers.authorization").
type ExprAt struct {
	Path string
	Expr *Expr
}

// Exprs lists the expressions inside the template with their paths, in key order.
func (t *Template) Exprs() []ExprAt {
	var out []ExprAt
	t.exprs("", &out)
	return out
}

func (t *Template) exprs(path string, out *[]ExprAt) {
	switch t.kind {
	case tplString, tplWhole:
		for _, p := range t.parts {
			if p.expr != nil {
				*out = append(*out, ExprAt{Path: path, Expr: p.expr})
			}
		}
	case tplObject:
		for _, k := range t.keys {
			t.fields[k].exprs(joinPath(path, k), out)
		}
	case tplArray:
		for i, it := range t.items {
			it.exprs(fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// knownFields are the fields of the scope objects whose shape is fixed.
var knownFields = map[string]map[string]bool{
	"trigger": {"type": true, "method": true, "path": true, "headers": true, "query": true, "body": true,
		"files": true, "raw": true, "raw_base64": true, "received_at": true, "reconciled": true, "xml": true, "file_data": true},
	"run":  {"id": true, "attempt": true},
	"flow": {"id": true, "name": true, "version": true},
}

// stepFields are what steps.<id> holds.
var stepFields = map[string]bool{"output": true, "status": true, "error": true, "attempts": true}

// Refs checks the names an expression reaches through the fixed scope
// objects — trigger.<field>, run.<field>, flow.<field>, steps.<id>.<field>
// (stepIDs: every step id of the flow) — so that a typo such as
// trigger.bdy is a problem at save, not a run that quietly sees nil. It
// returns the secret names the expression reads (secrets.NAME).
func (e *Expr) Refs(stepIDs map[string]bool) (secrets []string, err error) {
	tree, perr := parser.Parse(e.src)
	if perr != nil {
		return nil, nil
	}
	root := tree.Node
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		m, ok := (*n).(*ast.MemberNode)
		if !ok || err != nil {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		base := m.Node
		if c, ok := base.(*ast.ChainNode); ok {
			base = c.Node
		}
		switch b := base.(type) {
		case *ast.IdentifierNode:
			switch b.Value {
			case "secrets":
				secrets = append(secrets, prop.Value)
			case "steps":
				if stepIDs != nil && !stepIDs[prop.Value] {
					err = fmt.Errorf("no step %q in this flow (steps.%s)", prop.Value, prop.Value)
				}
			default:
				if fields, ok := knownFields[b.Value]; ok && !fields[prop.Value] {
					err = fmt.Errorf("%s has no field %q (it has %s)", b.Value, prop.Value, strings.Join(sortedKeys(fields), ", "))
				}
			}
		case *ast.MemberNode: // steps.<id>.<field>
			inner := b.Node
			if c, ok := inner.(*ast.ChainNode); ok {
				inner = c.Node
			}
			if id, ok := inner.(*ast.IdentifierNode); ok && id.Value == "steps" {
				if _, isStr := b.Property.(*ast.StringNode); isStr && !stepFields[prop.Value] {
					err = fmt.Errorf("steps.<id> has no field %q (it has output, status, error, attempts)", prop.Value)
				}
			}
		}
	}))
	return secrets, err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HasExpr reports whether the template evaluates anything (is not a plain literal).
func (t *Template) HasExpr() bool {
	switch t.kind {
	case tplString, tplWhole:
		return true
	case tplObject:
		for _, f := range t.fields {
			if f.HasExpr() {
				return true
			}
		}
	case tplArray:
		for _, it := range t.items {
			if it.HasExpr() {
				return true
			}
		}
	}
	return false
}

// Eval renders the value over env within DefaultLimits.
func (t *Template) Eval(env map[string]any) (any, error) { return t.Run(nil, env) }

// Run renders the value over env; each expression runs within ev's limits,
// and text built from several parts stays within the output limit.
func (t *Template) Run(ev *Evaluation, env map[string]any) (any, error) {
	switch t.kind {
	case tplLiteral:
		return t.lit, nil
	case tplWhole:
		return t.parts[0].expr.Run(ev, env)
	case tplString:
		limit := DefaultLimits.Output
		if ev != nil {
			limit = ev.Limits.withDefaults().Output
		}
		var b strings.Builder
		secret := false
		for _, p := range t.parts {
			if p.expr == nil {
				b.WriteString(p.text)
				continue
			}
			v, err := p.expr.Run(ev, env)
			if err != nil {
				return nil, err
			}
			if _, isStr := v.(string); !isStr && sizeOf(v, limit-b.Len(), 0) > limit-b.Len() {
				return nil, fmt.Errorf("template: stopped: its text is larger than %s (the expression output limit)", byteSize(limit))
			}
			s := Stringify(v)
			if b.Len()+len(s) > limit {
				return nil, fmt.Errorf("template: stopped: its text is larger than %s (the expression output limit)", byteSize(limit))
			}
			b.WriteString(s)
			secret = secret || p.expr.secret
		}
		out := b.String()
		if secret && ev != nil && ev.Derived != nil {
			ev.Derived(out) // "Basic {{ base64(…secrets.X) }}" as a whole
		}
		return out, nil
	case tplObject:
		out := make(map[string]any, len(t.keys))
		for _, k := range t.keys {
			v, err := t.fields[k].Run(ev, env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = v
		}
		return out, nil
	case tplArray:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.Run(ev, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, nil
}

// EvalString renders the value and formats it as text.
func (t *Template) EvalString(env map[string]any) (string, error) {
	v, err := t.Eval(env)
	if err != nil {
		return "", err
	}
	return Stringify(v), nil
}

// Stringify formats a value as templates insert it into text: nil is "",
// whole numbers have no decimals, times are RFC 3339, maps and lists are JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []byte:
		return string(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
