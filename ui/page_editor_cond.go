package ui

// Condition fields (a filter's when, a branch case's when, a step's if) are
// edited with the condition builder: rows of field · operator · value posted
// as "c:<path>|<group>|<row>|<part>" beside "c:<path>|mode". In builder mode
// the rows are written as the expression the flow stores; in code mode the
// expression input ("f:expression:<path>") carries the text as before. The
// posted rows are the builder's state: a re-render shows them as typed, blank
// and invalid rows included, until a structural change moves the steps.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/condbuilder"
	"github.com/hookflow/hookflow/ui/views"
)

const (
	condBuilder = "builder"
	condCode    = "code"
)

// condState is one condition field as posted.
type condState struct {
	mode, orig, match string
	cond              condbuilder.Cond
	note              string
}

// readConds collects the posted condition builders by path.
func readConds(args [][2]string) map[string]*condState {
	out := map[string]*condState{}
	type cell struct{ g, r int }
	rows := map[string]map[cell]*condbuilder.Row{}
	for _, kv := range args {
		rest, ok := strings.CutPrefix(kv[0], "c:")
		if !ok {
			continue
		}
		parts := strings.Split(rest, "|")
		path := parts[0]
		st := out[path]
		if st == nil {
			st = &condState{match: condbuilder.All}
			out[path] = st
		}
		switch {
		case len(parts) == 2 && parts[1] == "mode":
			st.mode = kv[1]
		case len(parts) == 2 && parts[1] == "orig":
			st.orig = kv[1]
		case len(parts) == 2 && parts[1] == "match":
			if kv[1] == condbuilder.Any {
				st.match = condbuilder.Any
			}
		case len(parts) == 4:
			g, err1 := strconv.Atoi(parts[1])
			r, err2 := strconv.Atoi(parts[2])
			if err1 != nil || err2 != nil || g < 0 || r < 0 || g > 50 || r > 100 {
				continue
			}
			if rows[path] == nil {
				rows[path] = map[cell]*condbuilder.Row{}
			}
			row := rows[path][cell{g, r}]
			if row == nil {
				row = &condbuilder.Row{}
				rows[path][cell{g, r}] = row
			}
			switch parts[3] {
			case "field":
				row.Field = strings.TrimSpace(kv[1])
			case "op":
				row.Op = kv[1]
			case "type":
				row.Type = kv[1]
			case "value":
				row.Value = kv[1]
			case "ref":
				row.Ref = kv[1] == "true"
			}
		}
	}
	for path, cells := range rows {
		keys := make([]cell, 0, len(cells))
		for k := range cells {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].g != keys[j].g {
				return keys[i].g < keys[j].g
			}
			return keys[i].r < keys[j].r
		})
		st := out[path]
		last := -1
		for _, k := range keys {
			if k.g != last {
				st.cond.Groups = append(st.cond.Groups, nil)
				last = k.g
			}
			gi := len(st.cond.Groups) - 1
			st.cond.Groups[gi] = append(st.cond.Groups[gi], *cells[k])
		}
	}
	for path, st := range out {
		st.cond.Match = st.match
		if st.mode != condBuilder && st.mode != condCode {
			delete(out, path)
		}
	}
	return out
}

// applyConds writes the builders' expressions into the draft. A builder
// whose rows still say what its original expression said keeps that text.
// explicit lists paths posted as plain expression inputs, which win.
func applyConds(doc map[string]any, conds map[string]*condState, explicit map[string]bool) engine.Problems {
	var ps engine.Problems
	paths := make([]string, 0, len(conds))
	for p := range conds {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		st := conds[path]
		if st.mode == condBuilder && explicit[path] {
			delete(conds, path) // the expression input wins: show what it says
			continue
		}
		if st.mode != condBuilder {
			continue
		}
		src, err := condbuilder.Build(st.cond)
		if err != nil {
			ps.Add(path, "%s", err.Error())
			continue
		}
		if st.orig != "" && sameCond(st.orig, src) {
			src = st.orig
		}
		if _, had := getAt(doc, path); src == "" {
			if had {
				deleteAt(doc, path)
			}
			continue
		}
		setAt(doc, path, src)
	}
	return ps
}

// sameCond reports whether the expression orig reads as the builder that writes src.
func sameCond(orig, src string) bool {
	c, ok := condbuilder.Parse(orig)
	if !ok {
		return false
	}
	b, err := condbuilder.Build(c)
	return err == nil && b == src
}

// explicitExprs lists the paths posted as expression inputs.
func explicitExprs(args [][2]string) map[string]bool {
	out := map[string]bool{}
	for _, kv := range args {
		if p, ok := strings.CutPrefix(kv[0], "f:expression:"); ok {
			out[p] = true
		}
	}
	return out
}

// condOp applies a builder action: add or remove a row or group, switch to
// code or back to the builder. doc holds the posted draft.
func condOp(doc map[string]any, conds map[string]*condState, op string) error {
	parts := strings.Split(op, "|")
	if len(parts) < 3 {
		return fmt.Errorf("unknown editor action %q", op)
	}
	verb, path := parts[1], parts[2]
	st := conds[path]
	if st == nil {
		st = stateFromDoc(doc, path)
		conds[path] = st
	}
	idx := func(i int) int {
		if len(parts) <= i {
			return -1
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return -1
		}
		return n
	}
	gs := st.cond.Groups
	switch verb {
	case "addrow":
		g := idx(3)
		if g < 0 || g >= len(gs) {
			return fmt.Errorf("no group %d in %s", g+1, path)
		}
		gs[g] = append(gs[g], condbuilder.Row{Op: condbuilder.Is, Type: condbuilder.Text})
	case "addgroup":
		st.cond.Groups = append(gs, []condbuilder.Row{{Op: condbuilder.Is, Type: condbuilder.Text}})
	case "delrow":
		g, r := idx(3), idx(4)
		if g < 0 || g >= len(gs) || r < 0 || r >= len(gs[g]) {
			return fmt.Errorf("no row %d in %s", r+1, path)
		}
		gs[g] = append(gs[g][:r:r], gs[g][r+1:]...)
		if len(gs[g]) == 0 {
			st.cond.Groups = append(gs[:g:g], gs[g+1:]...)
		}
		if src, err := condbuilder.Build(st.cond); err == nil {
			if src == "" {
				deleteAt(doc, path)
			} else {
				setAt(doc, path, src)
			}
		}
	case "code":
		if _, err := condbuilder.Build(st.cond); err != nil {
			return nil // the row's problem is shown; its text stays in the row
		}
		st.mode = condCode
	case "builder":
		src, _ := getAt(doc, path)
		s, _ := src.(string)
		c, ok := condbuilder.Parse(s)
		if !ok {
			st.mode, st.note = condCode, "This condition uses more than the builder can show (calculations, functions or deeper nesting), so it stays as code. Nothing was changed."
			return nil
		}
		*st = condState{mode: condBuilder, orig: s, match: c.Match, cond: c}
	default:
		return fmt.Errorf("unknown editor action %q", op)
	}
	return nil
}

// stateFromDoc reads the condition at path from the draft.
func stateFromDoc(doc map[string]any, path string) *condState {
	v, _ := getAt(doc, path)
	s, _ := v.(string)
	c, ok := condbuilder.Parse(s)
	if !ok {
		return &condState{mode: condCode, orig: s}
	}
	return &condState{mode: condBuilder, orig: s, match: c.Match, cond: c}
}

// condField builds a condition field: the builder's rows, or the expression as code.
func (b *formBuilder) condField(f engine.Field, path string, val any, present bool) views.FieldView {
	fv := b.field(f, path, val, present)
	if fv.ReadOnly {
		return fv
	}
	st := b.conds[path]
	if st == nil {
		s, _ := val.(string)
		st = stateFromDoc(map[string]any{"v": s}, "v")
		if st.mode == condCode {
			st.note = "This condition uses more than the builder can show, so it is shown as code."
		}
	}
	cv := &views.CondView{Mode: st.mode, Orig: st.orig, Match: st.match, Note: st.note, Path: path, Prefix: "c:" + path + "|"}
	if cv.Match == "" {
		cv.Match = condbuilder.All
	}
	fv.Cond = cv
	fv.Type = "cond"
	if st.mode == condCode {
		fv.Name = "f:expression:" + path
		return fv
	}
	groups := st.cond.Groups
	if len(groups) == 0 {
		groups = [][]condbuilder.Row{{{Op: condbuilder.Is, Type: condbuilder.Text}}}
	}
	inner, outer := "and", "or"
	if cv.Match == condbuilder.Any {
		inner, outer = "or", "and"
	}
	for gi, g := range groups {
		gv := views.CondGroupView{Index: gi, Join: inner}
		if gi > 0 {
			gv.GroupJoin = outer
		}
		for ri, r := range g {
			gv.Rows = append(gv.Rows, b.condRow(fv.ID, cv.Prefix, gi, ri, r))
		}
		cv.Groups = append(cv.Groups, gv)
	}
	return fv
}

// condRow builds one row of the builder.
func (b *formBuilder) condRow(fieldID, prefix string, gi, ri int, r condbuilder.Row) views.CondRowView {
	typ := r.Type
	if typ == "" {
		typ = b.types[r.Field]
	}
	if typ == "" && r.Ref {
		typ = b.types[r.Value]
	}
	if typ == "" {
		typ = condbuilder.Text
	}
	op := r.Op
	if op == "" {
		op = condbuilder.Is
	}
	rv := views.CondRowView{Group: gi, Index: ri, Name: fmt.Sprintf("%s%d|%d|", prefix, gi, ri), ID: fmt.Sprintf("%s-g%d-r%d", fieldID, gi, ri),
		Field: r.Field, FieldLabel: fieldWords(r.Field), Type: typ, Value: r.Value, Ref: r.Ref}
	for _, t := range condbuilder.Types {
		rv.Types = append(rv.Types, views.Option{Value: t, Label: condbuilder.TypeLabels[t], Selected: t == typ})
	}
	for _, o := range condbuilder.Ops {
		rv.Ops = append(rv.Ops, views.CondOpOption{Value: o.ID, Label: o.Words(typ), DateLabel: o.Words(condbuilder.Date), Types: strings.Join(o.Types, " "),
			NoValue: o.NoValue, Selected: o.ID == op, Hidden: !o.Applies(typ) && o.ID != op})
		if o.ID == op {
			rv.NoValue = o.NoValue
		}
	}
	return rv
}

// fieldWords shows a field path in words: trigger.body.label.name → body › label › name.
func fieldWords(p string) string {
	if p == "" {
		return ""
	}
	p = strings.TrimPrefix(p, "trigger.")
	if rest, ok := strings.CutPrefix(p, "steps."); ok {
		p = strings.Replace(rest, ".output", "", 1)
	}
	var out []string
	for _, s := range strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		out = append(out, s)
	}
	return strings.Join(out, " › ")
}

// valueType names the condition builder's type of a sample value.
func valueType(v any) string {
	switch x := v.(type) {
	case float64, int, int64:
		return condbuilder.Number
	case bool:
		return condbuilder.Boolean
	case []any:
		return condbuilder.List
	case string:
		if len(x) >= 10 && condbuilder.ParsesAsTime(x) {
			return condbuilder.Date
		}
		return condbuilder.Text
	}
	return ""
}
