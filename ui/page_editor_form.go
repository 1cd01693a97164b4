package ui

// The editor keeps the draft flow as a generic JSON document (map[string]any):
// the form carries it in a hidden field, every input is named after the JSON
// path it edits ("f:<type>:steps[1].with.url"), and a post overlays the inputs
// on the document, applies one structural change (add, move, remove a step),
// then either re-renders the draft or saves it through the engine, whose
// problems come back with the same paths and are shown beside their inputs.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// seg is one step of a JSON path: a key or an index.
type seg struct {
	key string
	idx int // -1 for a key
}

// parsePath reads paths like steps[1].cases[0].steps or trigger.with.verify.scheme.
func parsePath(p string) ([]seg, error) {
	var out []seg
	for p != "" {
		switch {
		case p[0] == '.':
			p = p[1:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, fmt.Errorf("bad path: unclosed [")
			}
			n, err := strconv.Atoi(p[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad path index %q", p[1:end])
			}
			out = append(out, seg{idx: n})
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			out = append(out, seg{key: p[:end], idx: -1})
			p = p[end:]
		}
	}
	return out, nil
}

// getAt returns the value at path, and whether it exists.
func getAt(root any, path string) (any, bool) {
	segs, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	cur := root
	for _, s := range segs {
		if s.idx < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[s.key]; !ok {
				return nil, false
			}
		} else {
			a, ok := cur.([]any)
			if !ok || s.idx >= len(a) {
				return nil, false
			}
			cur = a[s.idx]
		}
	}
	return cur, true
}

// setAt stores v at path, creating objects on the way; lists must exist.
func setAt(root map[string]any, path string, v any) bool {
	segs, err := parsePath(path)
	if err != nil || len(segs) == 0 {
		return false
	}
	var cur any = root
	for i, s := range segs {
		last := i == len(segs)-1
		if s.idx < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if last {
				m[s.key] = v
				return true
			}
			next, ok := m[s.key]
			if !ok || next == nil {
				if segs[i+1].idx >= 0 {
					return false
				}
				next = map[string]any{}
				m[s.key] = next
			}
			cur = next
		} else {
			a, ok := cur.([]any)
			if !ok || s.idx >= len(a) {
				return false
			}
			if last {
				a[s.idx] = v
				return true
			}
			cur = a[s.idx]
		}
	}
	return false
}

// deleteAt removes the key at path (the last segment must be a key).
func deleteAt(root map[string]any, path string) {
	i := strings.LastIndexByte(path, '.')
	parent, key := "", path
	if i >= 0 {
		parent, key = path[:i], path[i+1:]
	}
	var m map[string]any
	if parent == "" {
		m = root
	} else {
		v, ok := getAt(root, parent)
		if !ok {
			return
		}
		m, _ = v.(map[string]any)
	}
	if m != nil {
		delete(m, key)
	}
}

// splitIndex splits "steps[1].cases[0].steps[2]" into its list path and index.
func splitIndex(p string) (string, int, bool) {
	if !strings.HasSuffix(p, "]") {
		return "", 0, false
	}
	i := strings.LastIndexByte(p, '[')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(p[i+1 : len(p)-1])
	if err != nil {
		return "", 0, false
	}
	return p[:i], n, true
}

// listAt returns the list at path (nil when absent).
func listAt(doc map[string]any, path string) []any {
	v, _ := getAt(doc, path)
	a, _ := v.([]any)
	return a
}

// decodeDoc reads a flow document generically, numbers kept exact.
func decodeDoc(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// flowDoc is f as a generic document, without the store's version fields.
func flowDoc(f *engine.Flow) map[string]any {
	b, _ := json.Marshal(f)
	m, _ := decodeDoc(b)
	delete(m, "version")
	delete(m, "updated_at")
	return m
}

// canonical is a document's JSON with sorted keys, for comparing drafts.
func canonical(doc map[string]any) string {
	cp := map[string]any{}
	for k, v := range doc {
		if k != "version" && k != "updated_at" {
			cp[k] = v
		}
	}
	b, _ := json.Marshal(cp)
	return string(b)
}

// formValue is one posted input.
type formValue struct {
	typ, path, value string
}

// overlay writes the posted inputs onto the draft. Values that do not parse
// (bad JSON, a map line without a colon) become problems and leave the draft as it was.
func overlay(doc map[string]any, args [][2]string) engine.Problems {
	var ps engine.Problems
	vals := map[string]*formValue{}
	var order []string
	var objects []string
	for _, kv := range args {
		k, v := kv[0], kv[1]
		if p, ok := strings.CutPrefix(k, "o:"); ok {
			objects = append(objects, p)
			continue
		}
		rest, ok := strings.CutPrefix(k, "f:")
		if !ok {
			continue
		}
		typ, path, ok := strings.Cut(rest, ":")
		if !ok || path == "" {
			continue
		}
		if fv := vals[path]; fv != nil {
			fv.value = v // the last wins: a checkbox after its hidden "false"
			continue
		}
		vals[path] = &formValue{typ: typ, path: path, value: v}
		order = append(order, path)
	}
	for _, path := range order {
		fv := vals[path]
		old, had := getAt(doc, path)
		v := fv.value
		if fv.typ != "textarea" && fv.typ != "json" && fv.typ != "map" {
			v = strings.TrimSpace(v)
		}
		if strings.TrimSpace(v) == "" && !strings.HasPrefix(fv.typ, "bool") {
			if had {
				deleteAt(doc, path)
			}
			continue
		}
		switch fv.typ {
		case "bool0", "bool1":
			b := v == "true"
			if !had && b == (fv.typ == "bool1") {
				continue // the default: leave it out
			}
			setAt(doc, path, b)
		case "number":
			if n := json.Number(v); json.Valid([]byte(v)) && isNumber(v) {
				setAt(doc, path, n)
			} else {
				setAt(doc, path, v) // a template that yields a number
			}
		case "list":
			if a, ok := old.([]any); ok && joinList(a) == v {
				continue
			}
			setAt(doc, path, v)
		case "map":
			m := map[string]any{}
			bad := false
			for i, line := range strings.Split(v, "\n") {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				name, val, ok := strings.Cut(line, ":")
				if !ok || strings.TrimSpace(name) == "" {
					ps.Add(path, "line %d: write one `name: value` per line", i+1)
					bad = true
					continue
				}
				m[strings.TrimSpace(name)] = strings.TrimSpace(val)
			}
			if !bad {
				setAt(doc, path, m)
			}
		case "json":
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			var x any
			if err := dec.Decode(&x); err != nil {
				ps.Add(path, "not valid JSON: %v", err)
				continue
			}
			setAt(doc, path, x)
		default:
			setAt(doc, path, v)
		}
	}
	// Objects left empty (no verification chosen, no retry) are removed.
	sort.Sort(sort.Reverse(sort.StringSlice(objects)))
	for _, p := range objects {
		v, _ := getAt(doc, p)
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			deleteAt(doc, p)
		}
	}
	return ps
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func joinList(a []any) string {
	var parts []string
	for _, x := range a {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}

// applyOp makes one structural change to the draft; it returns the path of a
// new step (to focus it), if any.
func applyOp(doc map[string]any, op, triggerType string, specs map[string]engine.Spec) (string, error) {
	verb, arg, _ := strings.Cut(op, "|")
	switch verb {
	case "add":
		list, kind, ok := strings.Cut(arg, "|")
		if _, known := specs[kind]; !ok || !known {
			return "", fmt.Errorf("unknown step type %q", kind)
		}
		step := newStep(kind, usedIDs(doc))
		a := append(listAt(doc, list), step)
		if !setAt(doc, list, a) {
			return "", fmt.Errorf("cannot add a step at %s", list)
		}
		return fmt.Sprintf("%s[%d]", list, len(a)-1), nil
	case "up", "down", "remove":
		list, i, ok := splitIndex(arg)
		a := listAt(doc, list)
		if !ok || i >= len(a) {
			return "", fmt.Errorf("no step at %s", arg)
		}
		switch verb {
		case "up":
			if i > 0 {
				a[i-1], a[i] = a[i], a[i-1]
			}
		case "down":
			if i+1 < len(a) {
				a[i+1], a[i] = a[i], a[i+1]
			}
		default:
			a = append(a[:i:i], a[i+1:]...)
			setAt(doc, list, a)
		}
	case "addcase":
		cases := append(listAt(doc, arg+".cases"), map[string]any{"when": "", "steps": []any{}})
		if !setAt(doc, arg+".cases", cases) {
			return "", fmt.Errorf("no branch at %s", arg)
		}
	case "removecase":
		list, i, ok := splitIndex(arg)
		a := listAt(doc, list)
		if !ok || i >= len(a) {
			return "", fmt.Errorf("no case at %s", arg)
		}
		setAt(doc, list, append(a[:i:i], a[i+1:]...))
	case "formpreset":
		// An HTML form posts to the flow URL and the browser is sent on to a thank-you page.
		if !setAt(doc, "trigger.with.respond.mode", "redirect") {
			return "", fmt.Errorf("the trigger is not a webhook")
		}
		return "trigger.with.respond.url", nil
	case "trigger":
		t, _ := doc["trigger"].(map[string]any)
		if t == nil || t["type"] != triggerType {
			doc["trigger"] = map[string]any{"type": triggerType, "with": map[string]any{}}
		}
	default:
		return "", fmt.Errorf("unknown editor action %q", op)
	}
	return "", nil
}

// newStep is a fresh step of the kind with an unused id.
func newStep(kind string, used map[string]bool) map[string]any {
	base := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(kind))
	if base == "" || (base[0] >= '0' && base[0] <= '9') {
		base = "step_" + base
	}
	id := base
	for i := 2; used[id]; i++ {
		id = fmt.Sprintf("%s_%d", base, i)
	}
	st := map[string]any{"id": id, "type": kind}
	switch kind {
	case engine.StepBranch:
		st["cases"] = []any{map[string]any{"when": "", "steps": []any{}}}
	case engine.StepForeach:
		st["steps"] = []any{}
	case engine.StepParallel:
		st["branches"] = []any{map[string]any{"name": "a", "steps": []any{}}, map[string]any{"name": "b", "steps": []any{}}}
	case engine.StepFilter:
	default:
		st["with"] = map[string]any{}
	}
	return st
}

// usedIDs collects every step id in the draft.
func usedIDs(doc map[string]any) map[string]bool {
	used := map[string]bool{}
	var walk func(list []any)
	walk = func(list []any) {
		for _, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				continue
			}
			if id, ok := m["id"].(string); ok {
				used[id] = true
			}
			walk(asList(m["steps"]))
			walk(asList(m["default"]))
			for _, c := range asList(m["cases"]) {
				if cm, ok := c.(map[string]any); ok {
					walk(asList(cm["steps"]))
				}
			}
		}
	}
	walk(asList(doc["steps"]))
	return used
}

func asList(v any) []any {
	a, _ := v.([]any)
	return a
}

// formBuilder turns a draft into the editor's view model, attaching each
// problem to the deepest field, case or card whose path contains it.
type formBuilder struct {
	specs   map[string]engine.Spec
	canEdit bool
	// anchors maps every rendered path to its HTML id.
	anchors map[string]string
	owned   map[string][]string
	// owners lists the owner path of each problem (for a card's HasProblems).
	owners  []string
	status  map[string]string
	focus   string
	focusID string
	palette []views.PaletteGroup
	// callable are the flows a call step may name (the flow picker).
	callable []string
	// conds are the condition builders as posted; types the value types of
	// the sample's fields by path.
	conds map[string]*condState
	types map[string]string
	// preview answers what a template field resolves to with the test event.
	preview func(text string) *views.PreviewView
	// labels names every rendered path in words ("Step 2 · Email · To");
	// where is the card being built ("Step 2 · Email").
	labels map[string]string
	where  string
	flowID string
	// secrets are the names of the secrets set (never their values), which
	// a secret field offers as pills.
	secrets []string
}

// label records the words for a path.
func (b *formBuilder) label(path, words string) {
	if b.labels != nil {
		b.labels[path] = words
	}
}

func (b *formBuilder) reg(path, id string) {
	if b.anchors != nil {
		b.anchors[path] = id
	}
}

func (b *formBuilder) probs(path string) []string { return b.owned[path] }

// assign gives each problem an owner path; it returns those owned by nothing.
func (b *formBuilder) assign(ps engine.Problems) (list []views.ProblemView) {
	b.owned = map[string][]string{}
	for _, p := range ps {
		owner := ""
		for path := range b.anchors {
			if len(path) > len(owner) && (p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[")) {
				owner = path
			}
		}
		anchor := "flow-form" // a problem no field shows links to the form's top
		if owner != "" {
			b.owned[owner] = append(b.owned[owner], p.Message)
			b.owners = append(b.owners, owner)
			anchor = b.anchors[owner]
		}
		list = append(list, views.ProblemView{Path: p.Path, Message: p.Message, Anchor: anchor, Label: b.labels[owner]})
	}
	return list
}

func (b *formBuilder) hasProblemsUnder(path string) bool {
	for _, o := range b.owners {
		if o == path || strings.HasPrefix(o, path+".") || strings.HasPrefix(o, path+"[") {
			return true
		}
	}
	return false
}

// field builds the input for f at path from the draft's value.
func (b *formBuilder) field(f engine.Field, path string, val any, present bool) views.FieldView {
	id := "fld-" + views.Anchor(path)
	b.reg(path, id)
	if b.where != "" {
		b.label(path, b.where+" · "+firstNonEmpty(f.Label, f.Name))
	} else {
		b.label(path, firstNonEmpty(f.Label, f.Name))
	}
	fv := views.FieldView{Path: path, ID: id, Label: f.Label, Help: f.Help, Type: string(f.Type), Required: f.Required,
		Placeholder: f.Placeholder, Advanced: f.Advanced, Problems: b.probs(path), ReadOnly: !b.canEdit,
		Autofocus: b.focusID == id}
	if fv.Label == "" {
		fv.Label = f.Name
	}
	typ := f.Type
	if typ == engine.FieldMap && present && !allStrings(val) {
		typ = engine.FieldJSON // nested values: edit them as JSON
		fv.Type = string(typ)
	}
	fv.Name = "f:" + string(typ) + ":" + path
	switch typ {
	case engine.FieldObject:
		fv.Name = "o:" + path
		m, _ := val.(map[string]any)
		outer := b.where
		b.where = b.labels[path]
		defer func() { b.where = outer }()
		for _, c := range f.Fields {
			cv, ok := m[c.Name]
			fv.Children = append(fv.Children, b.field(c, path+"."+c.Name, cv, ok))
		}
		return fv
	case engine.FieldBool:
		def, _ := f.Default.(bool)
		fv.Checked = def
		if bv, ok := val.(bool); ok && present {
			fv.Checked = bv
		}
		if def {
			fv.Name = "f:bool1:" + path
		} else {
			fv.Name = "f:bool0:" + path
		}
		return fv
	case engine.FieldSelect:
		cur, _ := val.(string)
		if !present {
			cur = ""
		}
		first := "Choose…"
		if f.Default != nil {
			first = fmt.Sprintf("Default (%v)", f.Default)
		} else if !f.Required {
			first = "—"
		}
		fv.Options = append(fv.Options, views.Option{Value: "", Label: first, Selected: cur == ""})
		found := cur == ""
		for _, o := range f.Options {
			fv.Options = append(fv.Options, views.Option{Value: o, Label: o, Selected: o == cur})
			found = found || o == cur
		}
		if !found {
			fv.Options = append(fv.Options, views.Option{Value: cur, Label: cur, Selected: true})
		}
		return fv
	case engine.FieldTextarea, engine.FieldText, engine.FieldList, engine.FieldJSON, engine.FieldMap:
		fv.Pick = "template"
	case engine.FieldExpression:
		fv.Pick = "expr"
	case engine.FieldSecret:
		// The field picks secrets by name: its help need not teach the syntax.
		fv.Help = strings.Replace(fv.Help, "refer to it as {{ secrets.NAME }}", "choose it here", 1)
		for _, n := range b.secrets {
			fv.Options = append(fv.Options, views.Option{Value: n, Label: "🔒 " + n})
		}
	}
	if fv.Placeholder == "" && f.Default != nil {
		if l, isList := f.Default.([]string); isList {
			fv.Placeholder = "Default: " + strings.Join(l, ", ")
		} else {
			fv.Placeholder = fmt.Sprintf("Default: %v", f.Default)
		}
	}
	if present {
		fv.Value = valueText(typ, val)
	}
	if fv.Pick == "template" && !fv.ReadOnly {
		if b.preview != nil {
			fv.Preview = b.preview(fv.Value)
		}
		if typ == engine.FieldText || typ == engine.FieldTextarea || typ == engine.FieldList {
			if segs, ok := pillSegs(fv.Value); ok {
				fv.Type, fv.Segs, fv.Multiline = "pills", segs, typ == engine.FieldTextarea
			}
		}
	}
	return fv
}

func allStrings(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return v == nil
	}
	for _, x := range m {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

// valueText is how a draft value shows in its input.
func valueText(t engine.FieldType, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case []any:
		if t == engine.FieldList {
			return joinList(x)
		}
	case map[string]any:
		if t == engine.FieldMap {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var lines []string
			for _, k := range keys {
				lines = append(lines, k+": "+fmt.Sprint(x[k]))
			}
			return strings.Join(lines, "\n")
		}
	}
	if t == engine.FieldJSON {
		return pretty(v)
	}
	bs, _ := json.Marshal(v)
	return string(bs)
}

// steps builds the cards of the list at path.
func (b *formBuilder) steps(doc map[string]any, path, label, number string, depth int) views.StepList {
	l := views.StepList{Path: path, Label: label, Depth: depth, CanEdit: b.canEdit, Palette: b.palette}
	list := listAt(doc, path)
	for i, x := range list {
		m, _ := x.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		num := strconv.Itoa(i + 1)
		if number != "" {
			num = number + "." + num
		}
		sv := b.step(doc, m, fmt.Sprintf("%s[%d]", path, i), num, depth)
		sv.CanUp, sv.CanDown = b.canEdit && i > 0, b.canEdit && i < len(list)-1
		l.Steps = append(l.Steps, sv)
	}
	return l
}

var (
	fieldStepID = engine.Field{Name: "id", Label: "Step id", Type: engine.FieldText, Required: true,
		Help: "Later steps use its result as steps.<id>.output. Lower-case letters, digits and _."}
	fieldStepName = engine.Field{Name: "name", Label: "Label", Type: engine.FieldText, Placeholder: "What this step is for (optional)"}
	stepSettings  = []engine.Field{
		{Name: "if", Label: "Run only if", Type: engine.FieldExpression, Placeholder: "trigger.body.email != nil",
			Help: "An expression; when false the step is skipped and the run goes on."},
		{Name: "on_error", Label: "When it fails", Type: engine.FieldSelect, Options: []string{engine.OnErrorStop, engine.OnErrorContinue}, Default: engine.OnErrorStop,
			Help: "stop: the run fails. continue: the step is marked failed and the next steps run."},
		{Name: "timeout", Label: "Timeout per attempt", Type: engine.FieldDuration, Placeholder: "Default: 30s"},
		{Name: "retry", Label: "Retry", Type: engine.FieldObject, Help: "Try again after a failure, waiting longer each time.",
			Fields: []engine.Field{
				{Name: "attempts", Label: "Attempts (the first included)", Type: engine.FieldNumber, Placeholder: "e.g. 5"},
				{Name: "backoff", Label: "First wait", Type: engine.FieldDuration, Placeholder: "Default: 1s"},
				{Name: "max_backoff", Label: "Longest wait", Type: engine.FieldDuration, Placeholder: "Default: 1h", Advanced: true},
			}},
	}
	fieldCaseName = engine.Field{Name: "name", Label: "Case name", Type: engine.FieldText, Placeholder: "e.g. big order"}
	fieldCaseWhen = engine.Field{Name: "when", Label: "When", Type: engine.FieldExpression, Required: true,
		Placeholder: "trigger.body.amount >= 100", Help: "The first case whose condition is true runs its steps."}
)

// step builds one card.
func (b *formBuilder) step(doc map[string]any, m map[string]any, path, number string, depth int) views.StepView {
	typ, _ := m["type"].(string)
	id, _ := m["id"].(string)
	name, _ := m["name"].(string)
	cardID := "card-" + views.Anchor(path)
	b.reg(path, cardID)
	spec, known := b.specs[typ]
	outer := b.where
	b.where = "Step " + number + " · " + firstNonEmpty(name, spec.Title, typ)
	b.label(path, b.where)
	defer func() { b.where = outer }()
	sv := views.StepView{Path: path, Number: number, ID: id, Type: typ, Name: name, Title: spec.Title, Summary: spec.Summary,
		Group: spec.Group, CanEdit: b.canEdit, LastStatus: b.status[id]}
	if !known {
		sv.Title, sv.Group = typ, "unknown"
	}
	if b.focus == path {
		b.focusID = "fld-" + views.Anchor(firstInput(path, typ, spec, known))
	}
	get := func(k string) (any, bool) { v, ok := m[k]; return v, ok }
	mk := b.field
	switch {
	case typ == engine.StepFilter || typ == engine.StepForeach || typ == engine.StepParallel:
		for _, f := range spec.Fields {
			v, ok := get(f.Name)
			if typ == engine.StepFilter && f.Name == "when" {
				sv.Fields = append(sv.Fields, b.condField(f, path+"."+f.Name, v, ok))
				continue
			}
			sv.Fields = append(sv.Fields, mk(f, path+"."+f.Name, v, ok))
		}
	case typ == engine.StepBranch:
	case known:
		with, _ := m["with"].(map[string]any)
		for _, f := range spec.Fields {
			v, ok := with[f.Name]
			if typ == engine.StepCall && f.Name == "flow" {
				f.Type, f.Options = engine.FieldSelect, b.callable // the flow picker
			}
			sv.Fields = append(sv.Fields, mk(f, path+".with."+f.Name, v, ok))
		}
	default:
		v, ok := get("with")
		sv.Fields = append(sv.Fields, mk(engine.Field{Name: "with", Label: "Settings (JSON)", Type: engine.FieldJSON}, path+".with", v, ok))
	}
	v, ok := get("id")
	sv.IDField = b.field(fieldStepID, path+".id", v, ok)
	sv.IDField.Pick = ""
	v, ok = get("name")
	sv.NameField = b.field(fieldStepName, path+".name", v, ok)
	sv.NameField.Pick = ""
	for _, f := range stepSettings {
		v, ok := get(f.Name)
		if f.Name == "if" {
			sv.Settings = append(sv.Settings, b.condField(f, path+"."+f.Name, v, ok))
			continue
		}
		sv.Settings = append(sv.Settings, b.field(f, path+"."+f.Name, v, ok))
	}
	switch typ {
	case engine.StepBranch:
		for j, c := range asList(m["cases"]) {
			cm, _ := c.(map[string]any)
			cp := fmt.Sprintf("%s.cases[%d]", path, j)
			b.reg(cp, "card-"+views.Anchor(cp))
			stepWhere := b.where
			b.where = fmt.Sprintf("%s · case %d", stepWhere, j+1)
			b.label(cp, b.where)
			nv, nok := cm["name"]
			wv, wok := cm["when"]
			name := b.field(fieldCaseName, cp+".name", nv, nok)
			name.Pick = ""
			sv.Cases = append(sv.Cases, views.CaseView{Path: cp, Index: j, CanEdit: b.canEdit,
				Name:     name,
				When:     b.condField(fieldCaseWhen, cp+".when", wv, wok),
				Steps:    b.steps(doc, cp+".steps", "", fmt.Sprintf("%s%c", number, 'a'+rune(j%26)), depth+1),
				Problems: b.probs(cp)})
			b.where = stepWhere
		}
		d := b.steps(doc, path+".default", "Otherwise (no case matched)", number+"·", depth+1)
		sv.Default = &d
	case engine.StepForeach:
		body := b.steps(doc, path+".steps", "For each item (item, index)", number, depth+1)
		sv.Body = &body
	}
	sv.Problems = b.probs(path)
	sv.HasProblems = b.hasProblemsUnder(path)
	sv.Testable, sv.FlowID = b.canEdit && testable(typ, spec, known), b.flowID
	if sv.Testable && !sideEffectFree[typ] {
		sv.Confirm = "Testing this step calls the real service (" + firstNonEmpty(spec.Title, typ) + ") with the test event. Go ahead? (You are asked once.)"
	}
	return sv
}

// firstInput is the path of the input to focus in a new step.
func firstInput(path, typ string, spec engine.Spec, known bool) string {
	switch {
	case typ == engine.StepBranch:
		return path + ".cases[0].when"
	case typ == engine.StepFilter || typ == engine.StepForeach || typ == engine.StepParallel:
		if len(spec.Fields) > 0 {
			return path + "." + spec.Fields[0].Name
		}
	case known:
		for _, f := range spec.Fields {
			if !f.Advanced && f.Type != engine.FieldObject {
				return path + ".with." + f.Name
			}
		}
	}
	return path + ".id"
}

// palette groups the step kinds for the "add a step" menu.
func palette(specs []engine.Spec) []views.PaletteGroup {
	titles := map[string]string{"control": "Logic", "action": "Actions", "data": "Data"}
	order := []string{"control", "action", "data"}
	byGroup := map[string][]views.PaletteItem{}
	var apps []string // app operations are grouped by app, after the built-in kinds
	for _, s := range specs {
		g := s.Group
		if s.App != "" {
			g = "app:" + s.App
			if _, ok := titles[g]; !ok {
				titles[g] = s.App
				apps = append(apps, g)
			}
		}
		if _, ok := titles[g]; !ok {
			g = "action"
		}
		title := s.Title
		if title == "" {
			title = s.Kind
		}
		byGroup[g] = append(byGroup[g], views.PaletteItem{Kind: s.Kind, Title: title, Summary: s.Summary})
	}
	sort.Strings(apps)
	order = append(order, apps...)
	var out []views.PaletteGroup
	for _, g := range order {
		if len(byGroup[g]) > 0 {
			out = append(out, views.PaletteGroup{Title: titles[g], Items: byGroup[g]})
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
