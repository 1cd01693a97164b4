// Package condbuilder translates between the editor's condition builder —
// rows of field · operator · value, grouped with AND / OR one level deep —
// and the expr expressions a flow document stores (SPEC §4).
//
// Build writes the expression of a builder; Parse reads an expression back
// into a builder when the expression fits the builder's grammar, and reports
// false otherwise, so that the editor shows it as code, unchanged.
//
// The grammar: a condition is one group of rows, or groups joined by the
// opposite of their rows' join: (a && b) || (c && d), or (a || b) && c.
// A row compares a field (a path such as trigger.body.amount) with a value
// typed by the value type: text compares strings, number numbers, date
// compares times read with parse_time, boolean is true / false, and list
// looks for an element.
package condbuilder

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Value types a row compares as.
const (
	Text    = "text"
	Number  = "number"
	Date    = "date"
	Boolean = "boolean"
	List    = "list"
)

// Types lists the value types in the order the editor offers them.
var Types = []string{Text, Number, Date, Boolean, List}

// TypeLabels are the value types in words.
var TypeLabels = map[string]string{Text: "text", Number: "number", Date: "date", Boolean: "yes / no", List: "list"}

// Operators a row can use.
const (
	Is          = "is"
	IsNot       = "is_not"
	Contains    = "contains"
	NotContains = "not_contains"
	StartsWith  = "starts_with"
	EndsWith    = "ends_with"
	Greater     = "gt"
	AtLeast     = "gte"
	Less        = "lt"
	AtMost      = "lte"
	Empty       = "empty"
	NotEmpty    = "not_empty"
	True        = "true"
	False       = "false"
	Exists      = "exists"
	NotExists   = "not_exists"
	Matches     = "matches"
	OneOf       = "one_of"
)

// Op describes one operator: its words per value type and whether it takes a value.
type Op struct {
	ID string
	// Label is the operator in words; DateLabel replaces it for dates.
	Label, DateLabel string
	// Types are the value types it applies to.
	Types []string
	// NoValue is true for operators that take no value (is empty, exists…).
	NoValue bool
	// Ref is true when the value may be another field.
	Ref bool
}

// Ops lists every operator in the order the editor offers them.
var Ops = []Op{
	{ID: Is, Label: "is", DateLabel: "is", Types: []string{Text, Number, Date}, Ref: true},
	{ID: IsNot, Label: "is not", DateLabel: "is not", Types: []string{Text, Number, Date}, Ref: true},
	{ID: Contains, Label: "contains", Types: []string{Text, List}, Ref: true},
	{ID: NotContains, Label: "does not contain", Types: []string{Text, List}, Ref: true},
	{ID: StartsWith, Label: "starts with", Types: []string{Text}, Ref: true},
	{ID: EndsWith, Label: "ends with", Types: []string{Text}, Ref: true},
	{ID: Greater, Label: "greater than", DateLabel: "is after", Types: []string{Number, Date}, Ref: true},
	{ID: AtLeast, Label: "at least", DateLabel: "is on or after", Types: []string{Number, Date}, Ref: true},
	{ID: Less, Label: "less than", DateLabel: "is before", Types: []string{Number, Date}, Ref: true},
	{ID: AtMost, Label: "at most", DateLabel: "is on or before", Types: []string{Number, Date}, Ref: true},
	{ID: Empty, Label: "is empty", Types: []string{Text, List}, NoValue: true},
	{ID: NotEmpty, Label: "is not empty", Types: []string{Text, List}, NoValue: true},
	{ID: True, Label: "is true", Types: []string{Boolean}, NoValue: true},
	{ID: False, Label: "is false", Types: []string{Boolean}, NoValue: true},
	{ID: Exists, Label: "exists", Types: []string{Text, Number, Date, Boolean, List}, NoValue: true},
	{ID: NotExists, Label: "does not exist", Types: []string{Text, Number, Date, Boolean, List}, NoValue: true},
	{ID: Matches, Label: "matches regex", Types: []string{Text}},
	{ID: OneOf, Label: "is one of", Types: []string{Text, Number}},
}

var opsByID = func() map[string]*Op {
	m := map[string]*Op{}
	for i := range Ops {
		m[Ops[i].ID] = &Ops[i]
	}
	return m
}()

// OpFor returns the operator with the id.
func OpFor(id string) (Op, bool) {
	o, ok := opsByID[id]
	if !ok {
		return Op{}, false
	}
	return *o, true
}

// Applies reports whether the operator applies to the value type.
func (o Op) Applies(typ string) bool {
	for _, t := range o.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// Words is the operator's label for the value type.
func (o Op) Words(typ string) string {
	if typ == Date && o.DateLabel != "" {
		return o.DateLabel
	}
	return o.Label
}

// Row is one comparison.
type Row struct {
	// Field is the path compared, e.g. trigger.body.amount.
	Field string `json:"field"`
	// Op is an operator id (Ops).
	Op string `json:"op"`
	// Type is the value type; "" when the expression does not say
	// (exists, or a comparison with another field), for the editor to
	// take from the sample event.
	Type string `json:"type,omitempty"`
	// Value is the value as typed: text, a number, a date ("now" is the
	// current time), or for "is one of" values separated by commas.
	Value string `json:"value,omitempty"`
	// Ref is true when Value is the path of another field.
	Ref bool `json:"ref,omitempty"`
}

// Blank reports whether the row is untouched (a new empty row is ignored).
func (r Row) Blank() bool {
	return strings.TrimSpace(r.Field) == "" && strings.TrimSpace(r.Value) == ""
}

// Cond is a condition: groups of rows. Rows in a group are joined by Match
// ("all": AND, "any": OR), groups by the other join.
type Cond struct {
	Match  string  `json:"match"`
	Groups [][]Row `json:"groups"`
}

// Match values.
const (
	All = "all"
	Any = "any"
)

// RowError is a row that cannot be written, with its place (1-based).
type RowError struct {
	Group, Row int
	Msg        string
}

func (e *RowError) Error() string {
	if e.Group > 1 {
		return fmt.Sprintf("group %d, row %d: %s", e.Group, e.Row, e.Msg)
	}
	return fmt.Sprintf("row %d: %s", e.Row, e.Msg)
}

// Build writes the condition as an expression. Blank rows and empty groups
// are left out; no rows at all is "". A row that cannot be written is a
// *RowError that says why in words.
func Build(c Cond) (string, error) {
	and, or := " && ", " || "
	inner, outer := and, or
	if c.Match == Any {
		inner, outer = or, and
	}
	var groups []string
	multi := 0
	for _, g := range c.Groups {
		for _, r := range g {
			if !r.Blank() {
				multi++
				break
			}
		}
	}
	for gi, g := range c.Groups {
		var rows []string
		for ri, r := range g {
			if r.Blank() {
				continue
			}
			s, err := buildRow(r)
			if err != nil {
				return "", &RowError{Group: gi + 1, Row: ri + 1, Msg: err.Error()}
			}
			rows = append(rows, s)
		}
		if len(rows) == 0 {
			continue
		}
		s := strings.Join(rows, inner)
		if len(rows) > 1 && multi > 1 {
			s = "(" + s + ")"
		}
		groups = append(groups, s)
	}
	return strings.Join(groups, outer), nil
}

func buildRow(r Row) (string, error) {
	f, err := Path(r.Field)
	if err != nil {
		return "", err
	}
	op, ok := opsByID[r.Op]
	if !ok {
		return "", fmt.Errorf("%s: choose how to compare", f)
	}
	typ := r.Type
	if typ == "" {
		typ = defaultType(op)
	}
	if !op.Applies(typ) {
		return "", fmt.Errorf("%s: %q does not apply to a %s", f, op.Label, TypeLabels[typ])
	}
	if op.NoValue {
		switch op.ID {
		case Exists:
			return f + " != nil", nil
		case NotExists:
			return f + " == nil", nil
		case True:
			return f + " == true", nil
		case False:
			return f + " == false", nil
		case Empty, NotEmpty:
			cmp := map[bool]string{true: " == ", false: " != "}[op.ID == Empty]
			if typ == List {
				cmp = map[bool]string{true: " == 0", false: " > 0"}[op.ID == Empty]
				return "len(" + f + " ?? [])" + cmp, nil
			}
			return "(" + f + " ?? \"\")" + cmp + `""`, nil
		}
	}
	var v string
	switch {
	case r.Ref:
		if !op.Ref {
			return "", fmt.Errorf("%s: %q compares with a value, not another field", f, op.Label)
		}
		if v, err = Path(r.Value); err != nil {
			return "", fmt.Errorf("the value: %w", err)
		}
		if typ == Date {
			v = "parse_time(" + v + ")"
		}
	case op.ID == OneOf:
		items := splitList(r.Value)
		if len(items) == 0 {
			return "", fmt.Errorf("%s: list at least one value, separated by commas", f)
		}
		for i, it := range items {
			if typ == Number {
				if items[i], err = number(it); err != nil {
					return "", fmt.Errorf("%s: %w", f, err)
				}
			} else {
				items[i] = Quote(it)
			}
		}
		return f + " in [" + strings.Join(items, ", ") + "]", nil
	case typ == Number:
		if v, err = number(r.Value); err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
	case typ == Date:
		if v, err = date(r.Value); err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
	default:
		if op.ID == Matches {
			if _, err := regexp.Compile(r.Value); err != nil {
				return "", fmt.Errorf("%s: not a valid regular expression: %v", f, err)
			}
		}
		v = Quote(r.Value)
	}
	left := f
	if typ == Date {
		left = "parse_time(" + f + ")"
	}
	switch op.ID {
	case Is, IsNot, Greater, AtLeast, Less, AtMost:
		return left + " " + syntax[op.ID] + " " + v, nil
	case StartsWith, EndsWith, Matches:
		return f + " " + syntax[op.ID] + " " + v, nil
	case Contains, NotContains:
		not := map[bool]string{true: "", false: "not "}[op.ID == Contains]
		if typ == List {
			return v + " " + not + "in " + f, nil
		}
		return f + " " + not + "contains " + v, nil
	}
	return "", fmt.Errorf("%s: unknown operator %q", f, op.ID)
}

// syntax is the expr operator each comparison writes.
var syntax = map[string]string{Is: "==", IsNot: "!=", Greater: ">", AtLeast: ">=", Less: "<", AtMost: "<=",
	StartsWith: "startsWith", EndsWith: "endsWith", Matches: "matches"}

// defaultType is the type of a row whose type is unset.
func defaultType(o *Op) string {
	if o.Applies(Text) {
		return Text
	}
	return o.Types[0]
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// number checks a typed number and writes it as an expr literal.
func number(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("type a number")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > -1<<53 && n < 1<<53 {
		return strconv.FormatInt(n, 10), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("%q is not a number", s)
	}
	if f == 0 {
		f = 0 // no -0
	}
	return formatFloat(f), nil
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatFloat(f, 'f', 1, 64) // 100.0: stays a float literal
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// dateNow is the value that means the current time.
const dateNow = "now"

// timeLayouts mirror engine's parse_time without a layout.
var timeLayouts = []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", time.RFC1123Z, time.RFC1123}

// date checks a typed date and writes it as an expression.
func date(s string) (string, error) {
	if s == dateNow {
		return "now()", nil
	}
	if !ParsesAsTime(s) {
		return "", fmt.Errorf("%q is not a date: write 2024-05-31, 2024-05-31 14:00:00, 2024-05-31T14:00:00Z or now", s)
	}
	return "parse_time(" + Quote(s) + ")", nil
}

// ParsesAsTime reports whether parse_time reads s without a layout.
func ParsesAsTime(s string) bool {
	for _, l := range timeLayouts {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

// Quote writes s as an expr string literal that reads back as s.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		{ // invalid bytes are written as U+FFFD
			switch r {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
					fmt.Fprintf(&b, `\u%04x`, r)
				} else {
					b.WriteRune(r)
				}
			}
		}
		i += w
	}
	b.WriteByte('"')
	return b.String()
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Path checks that s is a field path (a name followed by .key, ["key"] or
// [index]) and writes it in its usual form.
func Path(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("choose a field")
	}
	tree, err := parser.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a field", s)
	}
	p, ok := path(tree.Node)
	if !ok {
		return "", fmt.Errorf("%q is not a field", s)
	}
	return p, nil
}

// path renders a chain of member accesses, or reports that n is not one.
func path(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.ChainNode:
		return path(x.Node)
	case *ast.IdentifierNode:
		if !identRe.MatchString(x.Value) || x.Value == "nil" {
			return "", false
		}
		return x.Value, true
	case *ast.MemberNode:
		if x.Method {
			return "", false
		}
		base, ok := path(x.Node)
		if !ok {
			return "", false
		}
		switch p := x.Property.(type) {
		case *ast.StringNode:
			if identRe.MatchString(p.Value) {
				return base + "." + p.Value, true
			}
			return base + "[" + Quote(p.Value) + "]", true
		case *ast.IntegerNode:
			if p.Value < 0 {
				return "", false
			}
			return base + "[" + strconv.Itoa(p.Value) + "]", true
		}
	}
	return "", false
}

// Parse reads an expression into a builder. ok is false when the
// expression does not fit the grammar: the editor keeps it as code.
func Parse(src string) (c Cond, ok bool) {
	if strings.TrimSpace(src) == "" {
		return Cond{Match: All}, true
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return Cond{}, false
	}
	outer, leaves := flatten(tree.Node, "")
	if outer == "" { // a single row
		r, ok := row(tree.Node)
		if !ok {
			return Cond{}, false
		}
		return Cond{Match: All, Groups: [][]Row{{r}}}, true
	}
	innerOp := map[string]string{"&&": "||", "||": "&&"}[outer]
	var groups [][]Row
	singles := true
	for _, n := range leaves {
		op, parts := flatten(n, "")
		if op == "" {
			r, ok := row(n)
			if !ok {
				return Cond{}, false
			}
			groups = append(groups, []Row{r})
			continue
		}
		if op != innerOp {
			return Cond{}, false
		}
		singles = false
		var rows []Row
		for _, p := range parts {
			if o, _ := flatten(p, ""); o != "" {
				return Cond{}, false // nested deeper than one level
			}
			r, ok := row(p)
			if !ok {
				return Cond{}, false
			}
			rows = append(rows, r)
		}
		groups = append(groups, rows)
	}
	if singles { // a && b && c: one group
		var rows []Row
		for _, g := range groups {
			rows = append(rows, g...)
		}
		return Cond{Match: matchOf(outer), Groups: [][]Row{rows}}, true
	}
	return Cond{Match: matchOf(innerOp), Groups: groups}, true
}

func matchOf(op string) string {
	if op == "||" {
		return Any
	}
	return All
}

// logical names the join of n: "&&", "||" or "" for anything else.
func logical(n ast.Node) string {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return ""
	}
	switch b.Operator {
	case "&&", "and":
		return "&&"
	case "||", "or":
		return "||"
	}
	return ""
}

// flatten lists the operands of a chain of one logical operator.
func flatten(n ast.Node, op string) (string, []ast.Node) {
	l := logical(n)
	if l == "" || (op != "" && l != op) {
		return "", []ast.Node{n}
	}
	b := n.(*ast.BinaryNode)
	_, left := flatten(b.Left, l)
	_, right := flatten(b.Right, l)
	return l, append(left, right...)
}

// row matches one comparison.
func row(n ast.Node) (Row, bool) {
	if u, ok := n.(*ast.UnaryNode); ok && (u.Operator == "not" || u.Operator == "!") {
		r, ok := row(u.Node)
		if !ok || r.Op != Contains {
			return Row{}, false
		}
		r.Op = NotContains
		return r, true
	}
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return Row{}, false
	}
	switch b.Operator {
	case "==", "!=":
		return equality(b)
	case ">", ">=", "<", "<=":
		return ordering(b)
	case "contains", "startsWith", "endsWith", "matches":
		f, ok := path(b.Left)
		if !ok {
			return Row{}, false
		}
		op := map[string]string{"contains": Contains, "startsWith": StartsWith, "endsWith": EndsWith, "matches": Matches}[b.Operator]
		if s, ok := b.Right.(*ast.StringNode); ok {
			if op == Matches {
				if _, err := regexp.Compile(s.Value); err != nil {
					return Row{}, false
				}
			}
			return Row{Field: f, Op: op, Type: Text, Value: s.Value}, true
		}
		if g, ok := path(b.Right); ok && op != Matches {
			return Row{Field: f, Op: op, Type: Text, Value: g, Ref: true}, true
		}
	case "in":
		if a, ok := b.Right.(*ast.ArrayNode); ok {
			f, ok := path(b.Left)
			if !ok || len(a.Nodes) == 0 {
				return Row{}, false
			}
			return oneOf(f, a.Nodes)
		}
		f, ok := path(b.Right)
		if !ok {
			return Row{}, false
		}
		if s, ok := b.Left.(*ast.StringNode); ok {
			return Row{Field: f, Op: Contains, Type: List, Value: s.Value}, true
		}
		if g, ok := path(b.Left); ok {
			return Row{Field: f, Op: Contains, Type: List, Value: g, Ref: true}, true
		}
	}
	return Row{}, false
}

func oneOf(f string, nodes []ast.Node) (Row, bool) {
	typ := ""
	items := make([]string, 0, len(nodes))
	for _, n := range nodes {
		t, v, ok := literal(n)
		if !ok || (typ != "" && t != typ) || (t != Text && t != Number) {
			return Row{}, false
		}
		if t == Text && (strings.TrimSpace(v) != v || v == "" || strings.Contains(v, ",")) {
			return Row{}, false // would not survive the comma-separated input
		}
		typ = t
		items = append(items, v)
	}
	return Row{Field: f, Op: OneOf, Type: typ, Value: strings.Join(items, ", ")}, true
}

// literal reads a string or number literal as the builder's value text.
func literal(n ast.Node) (typ, value string, ok bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return Text, x.Value, true
	case *ast.IntegerNode:
		if x.Value <= -1<<53 || x.Value >= 1<<53 {
			return "", "", false
		}
		return Number, strconv.Itoa(x.Value), true
	case *ast.FloatNode:
		if math.IsInf(x.Value, 0) || math.IsNaN(x.Value) {
			return "", "", false
		}
		return Number, formatFloat(x.Value), true
	case *ast.UnaryNode:
		if x.Operator != "-" {
			return "", "", false
		}
		t, v, ok := literal(x.Node)
		if !ok || t != Number || strings.HasPrefix(v, "-") || v == "0" || v == "0.0" {
			return "", "", false
		}
		return Number, "-" + v, true
	}
	return "", "", false
}

// dateValue reads parse_time(path), parse_time("literal") or now().
func dateValue(n ast.Node) (value string, ref, ok bool) {
	switch x := n.(type) {
	case *ast.BuiltinNode:
		if x.Name == "now" && len(x.Arguments) == 0 {
			return dateNow, false, true
		}
	case *ast.CallNode:
		id, isID := x.Callee.(*ast.IdentifierNode)
		if !isID {
			return "", false, false
		}
		if id.Value == "now" && len(x.Arguments) == 0 {
			return dateNow, false, true
		}
		if id.Value != "parse_time" || len(x.Arguments) != 1 {
			return "", false, false
		}
		if s, isStr := x.Arguments[0].(*ast.StringNode); isStr && s.Value != dateNow && ParsesAsTime(s.Value) {
			return s.Value, false, true
		}
		if p, isPath := path(x.Arguments[0]); isPath {
			return p, true, true
		}
	}
	return "", false, false
}

func equality(b *ast.BinaryNode) (Row, bool) {
	eq := b.Operator == "=="
	op := map[bool]string{true: Is, false: IsNot}[eq]
	// (f ?? "") == "" and len(f ?? []) == 0
	if r, ok := emptiness(b); ok {
		return r, true
	}
	if lv, lref, ok := dateValue(b.Left); ok && lref {
		rv, rref, ok := dateValue(b.Right)
		if !ok {
			return Row{}, false
		}
		return Row{Field: lv, Op: op, Type: Date, Value: rv, Ref: rref}, true
	}
	f, ok := path(b.Left)
	if !ok {
		return Row{}, false
	}
	switch x := b.Right.(type) {
	case *ast.NilNode:
		return Row{Field: f, Op: map[bool]string{true: NotExists, false: Exists}[eq]}, true
	case *ast.BoolNode:
		if !eq {
			return Row{}, false
		}
		return Row{Field: f, Op: map[bool]string{true: True, false: False}[x.Value], Type: Boolean}, true
	}
	if t, v, ok := literal(b.Right); ok {
		return Row{Field: f, Op: op, Type: t, Value: v}, true
	}
	if g, ok := path(b.Right); ok {
		return Row{Field: f, Op: op, Value: g, Ref: true}, true
	}
	return Row{}, false
}

func emptiness(b *ast.BinaryNode) (Row, bool) {
	eq := b.Operator == "=="
	if s, ok := b.Right.(*ast.StringNode); ok && s.Value == "" {
		if c, ok := b.Left.(*ast.BinaryNode); ok && c.Operator == "??" {
			if e, ok := c.Right.(*ast.StringNode); ok && e.Value == "" {
				if f, ok := path(c.Left); ok {
					return Row{Field: f, Op: map[bool]string{true: Empty, false: NotEmpty}[eq], Type: Text}, true
				}
			}
		}
	}
	if f, ok := lenOf(b.Left); ok && eq {
		if z, ok := b.Right.(*ast.IntegerNode); ok && z.Value == 0 {
			return Row{Field: f, Op: Empty, Type: List}, true
		}
	}
	return Row{}, false
}

// lenOf matches len(f ?? []).
func lenOf(n ast.Node) (string, bool) {
	l, ok := n.(*ast.BuiltinNode)
	if !ok || l.Name != "len" || len(l.Arguments) != 1 {
		return "", false
	}
	c, ok := l.Arguments[0].(*ast.BinaryNode)
	if !ok || c.Operator != "??" {
		return "", false
	}
	if a, ok := c.Right.(*ast.ArrayNode); !ok || len(a.Nodes) != 0 {
		return "", false
	}
	return path(c.Left)
}

func ordering(b *ast.BinaryNode) (Row, bool) {
	op := map[string]string{">": Greater, ">=": AtLeast, "<": Less, "<=": AtMost}[b.Operator] // syntax, read back
	if f, ok := lenOf(b.Left); ok && b.Operator == ">" {
		if z, ok := b.Right.(*ast.IntegerNode); ok && z.Value == 0 {
			return Row{Field: f, Op: NotEmpty, Type: List}, true
		}
	}
	if lv, lref, ok := dateValue(b.Left); ok && lref {
		rv, rref, ok := dateValue(b.Right)
		if !ok {
			return Row{}, false
		}
		return Row{Field: lv, Op: op, Type: Date, Value: rv, Ref: rref}, true
	}
	f, ok := path(b.Left)
	if !ok {
		return Row{}, false
	}
	if t, v, ok := literal(b.Right); ok && t == Number {
		return Row{Field: f, Op: op, Type: Number, Value: v}, true
	}
	if g, ok := path(b.Right); ok {
		return Row{Field: f, Op: op, Type: Number, Value: g, Ref: true}, true
	}
	return Row{}, false
}
