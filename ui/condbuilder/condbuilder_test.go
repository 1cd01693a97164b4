package condbuilder

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
)

func one(rows ...Row) Cond { return Cond{Match: All, Groups: [][]Row{rows}} }

// cases are builders in canonical form with the expression each writes.
var cases = []struct {
	name string
	cond Cond
	expr string
}{
	{"text is", one(Row{Field: "trigger.body.action", Op: Is, Type: Text, Value: "opened"}), `trigger.body.action == "opened"`},
	{"text is not", one(Row{Field: "trigger.body.action", Op: IsNot, Type: Text, Value: "closed"}), `trigger.body.action != "closed"`},
	{"header with a dash", one(Row{Field: `trigger.headers["x-github-event"]`, Op: Is, Type: Text, Value: "issues"}), `trigger.headers["x-github-event"] == "issues"`},
	{"quotes and newlines", one(Row{Field: "trigger.body.text", Op: Is, Type: Text, Value: "say \"hi\"\n\\ ok"}), `trigger.body.text == "say \"hi\"\n\\ ok"`},
	{"number greater", one(Row{Field: "trigger.body.amount", Op: Greater, Type: Number, Value: "100"}), `trigger.body.amount > 100`},
	{"number at least decimal", one(Row{Field: "trigger.body.amount", Op: AtLeast, Type: Number, Value: "99.5"}), `trigger.body.amount >= 99.5`},
	{"number float literal", one(Row{Field: "trigger.body.amount", Op: Less, Type: Number, Value: "100.0"}), `trigger.body.amount < 100.0`},
	{"negative number", one(Row{Field: "vars.delta", Op: AtMost, Type: Number, Value: "-3"}), `vars.delta <= -3`},
	{"number is", one(Row{Field: "steps.http.output.status", Op: Is, Type: Number, Value: "200"}), `steps.http.output.status == 200`},
	{"text that looks like a number", one(Row{Field: "trigger.body.zip", Op: Is, Type: Text, Value: "01234"}), `trigger.body.zip == "01234"`},
	{"date after", one(Row{Field: "trigger.body.created_at", Op: Greater, Type: Date, Value: "2024-01-01"}), `parse_time(trigger.body.created_at) > parse_time("2024-01-01")`},
	{"date before now", one(Row{Field: "trigger.body.due", Op: Less, Type: Date, Value: "now"}), `parse_time(trigger.body.due) < now()`},
	{"date is another field", one(Row{Field: "trigger.body.a", Op: Is, Type: Date, Value: "trigger.body.b", Ref: true}), `parse_time(trigger.body.a) == parse_time(trigger.body.b)`},
	{"contains", one(Row{Field: "trigger.body.email", Op: Contains, Type: Text, Value: "@"}), `trigger.body.email contains "@"`},
	{"does not contain", one(Row{Field: "trigger.body.email", Op: NotContains, Type: Text, Value: "spam"}), `trigger.body.email not contains "spam"`},
	{"list contains", one(Row{Field: "trigger.body.tags", Op: Contains, Type: List, Value: "bug"}), `"bug" in trigger.body.tags`},
	{"list does not contain", one(Row{Field: "trigger.body.tags", Op: NotContains, Type: List, Value: "wontfix"}), `"wontfix" not in trigger.body.tags`},
	{"starts with", one(Row{Field: "trigger.body.id", Op: StartsWith, Type: Text, Value: "tr_"}), `trigger.body.id startsWith "tr_"`},
	{"ends with", one(Row{Field: "trigger.body.email", Op: EndsWith, Type: Text, Value: "@example.com"}), `trigger.body.email endsWith "@example.com"`},
	{"is empty", one(Row{Field: "trigger.body.note", Op: Empty, Type: Text}), `(trigger.body.note ?? "") == ""`},
	{"is not empty", one(Row{Field: "trigger.body.note", Op: NotEmpty, Type: Text}), `(trigger.body.note ?? "") != ""`},
	{"list is empty", one(Row{Field: "trigger.body.items", Op: Empty, Type: List}), `len(trigger.body.items ?? []) == 0`},
	{"list is not empty", one(Row{Field: "trigger.body.items", Op: NotEmpty, Type: List}), `len(trigger.body.items ?? []) > 0`},
	{"is true", one(Row{Field: "trigger.body.paid", Op: True, Type: Boolean}), `trigger.body.paid == true`},
	{"is false", one(Row{Field: "trigger.body.test", Op: False, Type: Boolean}), `trigger.body.test == false`},
	{"exists", one(Row{Field: "trigger.body.email", Op: Exists}), `trigger.body.email != nil`},
	{"does not exist", one(Row{Field: "trigger.body.email", Op: NotExists}), `trigger.body.email == nil`},
	{"matches", one(Row{Field: "trigger.body.id", Op: Matches, Type: Text, Value: `^tr_[A-Za-z0-9]+$`}), `trigger.body.id matches "^tr_[A-Za-z0-9]+$"`},
	{"one of text", one(Row{Field: "trigger.body.status", Op: OneOf, Type: Text, Value: "paid, settled"}), `trigger.body.status in ["paid", "settled"]`},
	{"one of numbers", one(Row{Field: "steps.http.output.status", Op: OneOf, Type: Number, Value: "200, 201"}), `steps.http.output.status in [200, 201]`},
	{"another field", one(Row{Field: "trigger.body.a", Op: Is, Value: "trigger.body.b", Ref: true}), `trigger.body.a == trigger.body.b`},
	{"number vs field", one(Row{Field: "trigger.body.a", Op: Greater, Type: Number, Value: "vars.min", Ref: true}), `trigger.body.a > vars.min`},
	{"list index", one(Row{Field: "trigger.body.items[0].sku", Op: Is, Type: Text, Value: "A"}), `trigger.body.items[0].sku == "A"`},
	{"and", one(
		Row{Field: "trigger.body.action", Op: Is, Type: Text, Value: "labeled"},
		Row{Field: "trigger.body.label.name", Op: Is, Type: Text, Value: "bug"}),
		`trigger.body.action == "labeled" && trigger.body.label.name == "bug"`},
	{"or", Cond{Match: Any, Groups: [][]Row{{
		Row{Field: "trigger.body.a", Op: Exists},
		Row{Field: "trigger.body.b", Op: Exists}}}},
		`trigger.body.a != nil || trigger.body.b != nil`},
	{"groups of and, joined by or", Cond{Match: All, Groups: [][]Row{
		{{Field: "trigger.body.a", Op: Is, Type: Number, Value: "1"}, {Field: "trigger.body.b", Op: Is, Type: Number, Value: "2"}},
		{{Field: "trigger.body.c", Op: True, Type: Boolean}}}},
		`(trigger.body.a == 1 && trigger.body.b == 2) || trigger.body.c == true`},
	{"groups of or, joined by and", Cond{Match: Any, Groups: [][]Row{
		{{Field: "trigger.body.a", Op: Exists}, {Field: "trigger.body.b", Op: Exists}},
		{{Field: "trigger.body.c", Op: Exists}, {Field: "trigger.body.d", Op: Exists}}}},
		`(trigger.body.a != nil || trigger.body.b != nil) && (trigger.body.c != nil || trigger.body.d != nil)`},
	{"empty", Cond{Match: All}, ``},
}

func TestBuild(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.cond)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.expr {
				t.Errorf("Build = %s\nwant    %s", got, tc.expr)
			}
			if got == "" {
				return
			}
			if _, err := engine.CompileCond(got, engine.StepScope); err != nil {
				t.Errorf("the engine refuses %s: %v", got, err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.expr)
			if !ok {
				t.Fatalf("Parse(%s) does not fit the builder", tc.expr)
			}
			if !reflect.DeepEqual(got, tc.cond) && !(len(got.Groups) == 0 && len(tc.cond.Groups) == 0) {
				t.Errorf("Parse = %+v\nwant    %+v", got, tc.cond)
			}
		})
	}
}

// TestParseOtherSpellings reads forms people write by hand: and/or, single
// quotes, ?. and not (…).
func TestParseOtherSpellings(t *testing.T) {
	for _, tc := range []struct {
		name, in, canonical string
	}{
		{"single quotes, and", `trigger.headers['x-github-event'] == 'issues' and trigger.body.action == 'opened'`,
			`trigger.headers["x-github-event"] == "issues" && trigger.body.action == "opened"`},
		{"optional chaining", `trigger?.body?.amount >= 1000`, `trigger.body.amount >= 1000`},
		{"brackets for a plain key", `trigger["body"].email != nil`, `trigger.body.email != nil`},
		{"not (…)", `not (trigger.body.email contains "x")`, `trigger.body.email not contains "x"`},
		{"! (…)", `!("a" in trigger.body.tags)`, `"a" not in trigger.body.tags`},
		{"or then and", `a.x == 1 or b.y == 2 and c.z == 3`, `a.x == 1 || (b.y == 2 && c.z == 3)`},
		{"single-row groups of or are one group", `a.x == 1 && (b.y == 2)`, `a.x == 1 && b.y == 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Parse(tc.in)
			if !ok {
				t.Fatalf("Parse(%s) does not fit", tc.in)
			}
			got, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.canonical {
				t.Errorf("Build(Parse) = %s, want %s", got, tc.canonical)
			}
		})
	}
}

// TestCodeMode lists expressions the builder cannot show as rows.
func TestCodeMode(t *testing.T) {
	for _, src := range []string{
		`trigger.body.amount > 100 * 2`,
		`(trigger.body.id ?? '') matches '^tr_'`,
		`any(trigger.body.issue.labels, .name == "bug")`,
		`a.x == 1 && (b.y == 2 || (c.z == 3 && d.w == 4))`,
		`len(trigger.body.items) > 3`,
		`trigger.body.a == true || `,
		`trigger.body.a != true`,
		`lower(trigger.body.email) == "x"`,
		`trigger.body.a in []`,
		`trigger.body.a in ["x", 1]`,
		`trigger.body.a in [" padded "]`,
		`parse_time(trigger.body.a) > parse_time("not a date")`,
		`trigger.body.id matches "("`,
		`trigger.body.items[-1] == 1`,
		`trigger.body.n == 9007199254740993`,
		`"x" contains trigger.body.a`,
		`trigger.body.a`,
		`true`,
		`now() > parse_time(trigger.body.a)`,
		`not (trigger.body.a == 1)`,
	} {
		t.Run(src, func(t *testing.T) {
			if c, ok := Parse(src); ok {
				got, _ := Build(c)
				t.Errorf("Parse(%s) fits as %+v (%s); want code mode", src, c, got)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cond Cond
		want string
	}{
		{"no field", one(Row{Op: Is, Type: Text, Value: "x"}), "row 1: choose a field"},
		{"bad field", one(Row{Field: "trigger.body.a + 1", Op: Exists}), `row 1: "trigger.body.a + 1" is not a field`},
		{"not a number", one(Row{Field: "trigger.body.amount", Op: Greater, Type: Number, Value: "a lot"}), `row 1: trigger.body.amount: "a lot" is not a number`},
		{"no number", one(Row{Field: "trigger.body.amount", Op: Greater, Type: Number}), `row 1: trigger.body.amount: type a number`},
		{"not a date", one(Row{Field: "trigger.body.d", Op: Less, Type: Date, Value: "tomorrow"}), `"tomorrow" is not a date`},
		{"operator for another type", one(Row{Field: "trigger.body.a", Op: Greater, Type: Text, Value: "b"}), `"greater than" does not apply to a text`},
		{"bad regex", one(Row{Field: "trigger.body.a", Op: Matches, Type: Text, Value: "("}), "not a valid regular expression"},
		{"empty one of", one(Row{Field: "trigger.body.a", Op: OneOf, Type: Text, Value: " , "}), "list at least one value"},
		{"no operator", one(Row{Field: "trigger.body.a"}), "choose how to compare"},
		{"second group", Cond{Groups: [][]Row{{{Field: "a.b", Op: Exists}}, {{Field: "a.c", Op: Is, Type: Number, Value: "x"}}}}, "group 2, row 1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.cond)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTypedComparisons evaluates built conditions with the engine: numbers
// compare as numbers and dates as times.
func TestTypedComparisons(t *testing.T) {
	body := map[string]any{"amount": 150.0, "small": 9.0, "created_at": "2024-03-01T10:00:00Z", "when": "2024-03-01",
		"email": "ann@example.com", "tags": []any{"bug", "ui"}, "paid": true, "note": "", "id": "tr_42"}
	for _, tc := range []struct {
		name string
		row  Row
		want bool
	}{
		{"150 > 100", Row{Field: "trigger.body.amount", Op: Greater, Type: Number, Value: "100"}, true},
		{"9 > 100 (not as text)", Row{Field: "trigger.body.small", Op: Greater, Type: Number, Value: "100"}, false},
		{"150 at most 150", Row{Field: "trigger.body.amount", Op: AtMost, Type: Number, Value: "150"}, true},
		{"date after", Row{Field: "trigger.body.created_at", Op: Greater, Type: Date, Value: "2024-02-28"}, true},
		{"date before now", Row{Field: "trigger.body.created_at", Op: Less, Type: Date, Value: "now"}, true},
		{"same instant, other spelling", Row{Field: "trigger.body.when", Op: Is, Type: Date, Value: "2024-03-01T00:00:00Z"}, true},
		{"contains", Row{Field: "trigger.body.email", Op: Contains, Type: Text, Value: "@example"}, true},
		{"list contains", Row{Field: "trigger.body.tags", Op: Contains, Type: List, Value: "bug"}, true},
		{"list does not contain", Row{Field: "trigger.body.tags", Op: NotContains, Type: List, Value: "bug"}, false},
		{"missing list is empty", Row{Field: "trigger.body.nothing", Op: Empty, Type: List}, true},
		{"empty text", Row{Field: "trigger.body.note", Op: Empty, Type: Text}, true},
		{"missing text is empty", Row{Field: "trigger.body.nothing", Op: Empty, Type: Text}, true},
		{"is true", Row{Field: "trigger.body.paid", Op: True, Type: Boolean}, true},
		{"missing does not exist", Row{Field: "trigger.body.a.b.c", Op: NotExists}, true},
		{"matches", Row{Field: "trigger.body.id", Op: Matches, Type: Text, Value: "^tr_[0-9]+$"}, true},
		{"one of", Row{Field: "trigger.body.amount", Op: OneOf, Type: Number, Value: "100, 150"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Build(one(tc.row))
			if err != nil {
				t.Fatal(err)
			}
			e, err := engine.CompileCond(src, engine.StepScope)
			if err != nil {
				t.Fatalf("compile %s: %v", src, err)
			}
			got, err := e.Bool(map[string]any{"trigger": map[string]any{"body": body}})
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			if got != tc.want {
				t.Errorf("%s = %v, want %v", src, got, tc.want)
			}
		})
	}
}

// canonical is the builder Parse(Build(c)) must give back: the documented
// normalizations of a row (field and number spelling, the type an
// expression does not record, comma-separated lists) and of groups.
func canonical(c Cond) Cond {
	out := Cond{Match: c.Match}
	if out.Match != Any {
		out.Match = All
	}
	for _, g := range c.Groups {
		var rows []Row
		for _, r := range g {
			if r.Blank() {
				continue
			}
			r.Field, _ = Path(r.Field)
			op := opsByID[r.Op]
			if r.Type == "" {
				r.Type = defaultType(op)
			}
			switch {
			case op.NoValue:
				r.Value, r.Ref = "", false
				if op.ID == Exists || op.ID == NotExists {
					r.Type = ""
				}
			case r.Ref:
				r.Value, _ = Path(r.Value)
				if (op.ID == Is || op.ID == IsNot) && r.Type != Date {
					r.Type = ""
				}
				if op.ID == Greater || op.ID == AtLeast || op.ID == Less || op.ID == AtMost {
					if r.Type != Date {
						r.Type = Number
					}
				}
			case op.ID == OneOf:
				items := splitList(r.Value)
				for i := range items {
					if r.Type == Number {
						items[i], _ = number(items[i])
					}
				}
				r.Value = strings.Join(items, ", ")
			case r.Type == Number:
				r.Value, _ = number(r.Value)
			}
			if r.Type == Text || r.Type == List || (r.Type == "" && r.Ref) || r.Type == Boolean || r.Type == Date || r.Type == "" || r.Type == Number {
				r.Value = strings.ToValidUTF8(r.Value, "\uFFFD")
			}
			rows = append(rows, r)
		}
		if len(rows) > 0 {
			out.Groups = append(out.Groups, rows)
		}
	}
	// Groups of one row each are one group with the other join.
	if len(out.Groups) > 1 {
		singles := true
		for _, g := range out.Groups {
			singles = singles && len(g) == 1
		}
		if singles {
			var rows []Row
			for _, g := range out.Groups {
				rows = append(rows, g...)
			}
			m := All
			if out.Match == All {
				m = Any
			}
			out = Cond{Match: m, Groups: [][]Row{rows}}
		}
	}
	if len(out.Groups) == 1 && len(out.Groups[0]) == 1 {
		out.Match = All
	}
	return out
}

// FuzzRoundTrip: a builder the fuzzer makes from bytes either fails to build
// with a RowError, or builds an expression the engine compiles and Parse
// reads back as the same builder (canonical). Any text at all either parses
// to a builder whose expression parses back to it, or stays code.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range cases {
		b, _ := json.Marshal(tc.cond)
		f.Add(b, tc.expr)
	}
	f.Add([]byte(`{"match":"any","groups":[[{"field":"a.b","op":"gt","type":"number","value":"1e20"}],[{"field":"x[\"y z\"]","op":"one_of","value":"a,b,,c"}]]}`), `a && b`)
	f.Fuzz(func(t *testing.T, raw []byte, src string) {
		var c Cond
		if json.Unmarshal(raw, &c) == nil && len(c.Groups) < 8 {
			if s, err := Build(c); err == nil {
				if s != "" {
					if _, err := engine.CompileCond(s, append(engine.StepScope, "a", "b", "c", "x", "y", "z")); err != nil && !strings.Contains(err.Error(), "unknown name") {
						t.Fatalf("Build(%+v) = %s, which the engine refuses: %v", c, s, err)
					}
				}
				back, ok := Parse(s)
				if !ok {
					t.Fatalf("Build(%+v) = %s, which Parse does not read back", c, s)
				}
				if want := canonical(c); !reflect.DeepEqual(back, want) && s != "" {
					t.Fatalf("round trip of %s:\n got %+v\nwant %+v", s, back, want)
				}
				if again, _ := Build(back); again != s {
					t.Fatalf("Build(Parse(%s)) = %s", s, again)
				}
			} else if _, isRow := err.(*RowError); !isRow {
				t.Fatalf("Build error %v is not a RowError", err)
			}
		}
		if !utf8.ValidString(src) || len(src) > 2000 {
			return
		}
		back, ok := Parse(src)
		if !ok {
			return // code mode: the editor keeps src as it is
		}
		s, err := Build(back)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, which does not build: %v", src, back, err)
		}
		again, ok := Parse(s)
		if !ok || !reflect.DeepEqual(again, back) {
			t.Fatalf("Parse(%q) = %+v builds %s, which parses to %+v (%v)", src, back, s, again, ok)
		}
	})
}
