package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Compiled is a validated flow with every expression and template compiled:
// what the executor runs. It is immutable and shared between runs.
type Compiled struct {
	Flow *Flow
	// Trigger is the trigger kind's decoded config (e.g. *triggers.Webhook).
	Trigger any
	Steps   []*CStep
	// Waits are the ids of the flow's wait steps: resume_url() knows them.
	Waits []string
}

// CStep is a compiled step.
type CStep struct {
	*Step
	cond  *Expr // if
	when  *Expr // filter
	items *Expr // foreach
	with  *Template
	cases []cCase
	def   []*CStep
	body  []*CStep
	// branches are a parallel step's arms.
	branches []cBranch
	// path is the step's JSON path in the flow (steps[2].cases[0].steps[1]).
	path   string
	action *ActionKind
	spec   *Spec
	// secrets are the secret names the step's expressions read, to say
	// which is missing when the step fails.
	secrets []string
}

type cBranch struct {
	name  string
	steps []*CStep
}

type cCase struct {
	when  *Expr
	name  string
	steps []*CStep
}

const (
	// maxBranches bounds a parallel step's branches (each is a goroutine of its run).
	maxBranches     = 20
	defaultMaxItems = 1000
	maxMaxItems     = 100000
	maxAttempts     = 100
)

// Validate checks a flow completely and returns every problem with its path.
func Validate(f *Flow, reg *Registry) Problems {
	_, ps := Compile(f, reg)
	return ps
}

// Compile validates a flow and compiles it; problems are reported all at once.
func Compile(f *Flow, reg *Registry) (*Compiled, Problems) {
	var ps Problems
	c := &Compiled{Flow: f}
	if !flowIDRe.MatchString(f.ID) {
		ps.Add("id", "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and dashes), got %q", f.ID)
	}
	if strings.TrimSpace(f.Name) == "" {
		f.Name = f.ID // a name is optional: lists show the id
	}
	if f.OnFailure != "" {
		if !flowIDRe.MatchString(f.OnFailure) {
			ps.Add("on_failure", "must be a flow id, got %q", f.OnFailure)
		} else if f.OnFailure == f.ID {
			ps.Add("on_failure", "a flow cannot be its own failure handler")
		}
	}
	if f.Concurrency < 0 {
		ps.Add("concurrency", "must not be negative")
	}
	if f.Retention != nil && (f.Retention.MaxAge < 0 || f.Retention.MaxRuns < 0) {
		ps.Add("retention", "max_age and max_runs must not be negative")
	}
	c.Trigger = compileTrigger(&f.Trigger, reg, &ps)
	seen := map[string]string{}
	c.Steps = compileSteps(f.Steps, "steps", reg, seen, &ps)
	ids := make(map[string]bool, len(seen))
	for id := range seen {
		ids[id] = true
	}
	waits := map[string]bool{}
	checkFlowSteps(c.Steps, f.ID, false, func(cs *CStep) {
		waits[cs.ID] = true
		c.Waits = append(c.Waits, cs.ID)
	}, &ps)
	checkRefs(c.Steps, "steps", ids, waits, &ps)
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

func compileTrigger(t *Trigger, reg *Registry, ps *Problems) any {
	if t.Type == "" {
		ps.Add("trigger.type", "required (one of %s)", strings.Join(triggerNames(reg), ", "))
		return nil
	}
	k, ok := reg.Trigger(t.Type)
	if !ok {
		ps.Add("trigger.type", "unknown trigger %q (one of %s)", t.Type, strings.Join(triggerNames(reg), ", "))
		return nil
	}
	cfg := k.New()
	raw := t.With
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage("{}")
	}
	if err := decodeStrict(raw, cfg); err != nil {
		ps.Add("trigger.with"+fieldSuffix(err), "%s", decodeMessage(err))
		return nil
	}
	if cm, ok := cfg.(Compiler); ok {
		for _, p := range cm.Compile() {
			ps.Add(joinDot("trigger.with", p.Path), "%s", p.Message)
		}
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			ps.Add("trigger.with", "%s", err.Error())
		}
	}
	return cfg
}

func triggerNames(reg *Registry) []string {
	var out []string
	for _, k := range reg.Triggers() {
		out = append(out, k.Spec.Kind)
	}
	return out
}

func compileSteps(steps []Step, path string, reg *Registry, seen map[string]string, ps *Problems) []*CStep {
	out := make([]*CStep, 0, len(steps))
	for i := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		out = append(out, compileStep(&steps[i], p, reg, seen, ps))
	}
	return out
}

func compileStep(s *Step, p string, reg *Registry, seen map[string]string, ps *Problems) *CStep {
	cs := &CStep{Step: s, path: p}
	switch {
	case s.ID == "":
		ps.Add(p+".id", "required")
	case !stepIDRe.MatchString(s.ID):
		ps.Add(p+".id", "must match ^[a-z_][a-z0-9_]*$ (lower-case letters, digits, underscores), got %q", s.ID)
	case seen[s.ID] != "":
		ps.Add(p+".id", "%q is already the id of %s; step ids are unique in a flow", s.ID, seen[s.ID])
	default:
		seen[s.ID] = p
	}
	if s.If != "" {
		cs.cond = condAt(s.If, p+".if", ps)
	}
	switch s.OnError {
	case "", OnErrorStop, OnErrorContinue:
	default:
		ps.Add(p+".on_error", "must be \"stop\" or \"continue\", got %q", s.OnError)
	}
	if s.Timeout < 0 || s.Timeout.D() > 24*time.Hour {
		ps.Add(p+".timeout", "must be between 0 and 24h")
	}
	if r := s.Retry; r != nil {
		if r.Attempts < 1 || r.Attempts > maxAttempts {
			ps.Add(p+".retry.attempts", "must be between 1 and %d (it counts the first attempt)", maxAttempts)
		}
		if r.Backoff < 0 || r.MaxBackoff < 0 {
			ps.Add(p+".retry", "backoff and max_backoff must not be negative")
		}
	}
	only := func(field string, set bool, forType string) {
		if set {
			ps.Add(p+"."+field, "only %s steps take %q", forType, field)
		}
	}
	if s.Type != StepFilter {
		only("when", s.When != "", "filter")
	}
	if s.Type != StepBranch {
		only("cases", len(s.Cases) > 0, "branch")
		only("default", len(s.Default) > 0, "branch")
	}
	if s.Type != StepForeach {
		only("items", s.Items != "", "foreach")
		only("steps", len(s.Steps) > 0, "foreach")
		only("max_items", s.MaxItems != 0, "foreach")
	}
	if s.Type != StepParallel {
		only("branches", len(s.Branches) > 0, "parallel")
	}
	switch s.Type {
	case "":
		ps.Add(p+".type", "required")
	case StepFilter:
		if s.When == "" {
			ps.Add(p+".when", "required: the condition the run must meet to go on")
		} else {
			cs.when = condAt(s.When, p+".when", ps)
		}
		noWith(s, p, ps)
	case StepBranch:
		if len(s.Cases) == 0 {
			ps.Add(p+".cases", "required: at least one case with `when` and `steps`")
		}
		for j := range s.Cases {
			cp := fmt.Sprintf("%s.cases[%d]", p, j)
			cc := cCase{name: s.Cases[j].Name}
			if s.Cases[j].When == "" {
				ps.Add(cp+".when", "required")
			} else {
				cc.when = condAt(s.Cases[j].When, cp+".when", ps)
			}
			cc.steps = compileSteps(s.Cases[j].Steps, cp+".steps", reg, seen, ps)
			cs.cases = append(cs.cases, cc)
		}
		cs.def = compileSteps(s.Default, p+".default", reg, seen, ps)
		noWith(s, p, ps)
	case StepForeach:
		if s.Items == "" {
			ps.Add(p+".items", "required: an expression that yields a list")
		} else if e, err := CompileExpr(s.Items, StepScope); err != nil {
			ps.Add(p+".items", "%s", exprMessage(err, s.Items))
		} else {
			cs.items = e
		}
		if s.MaxItems < 0 || s.MaxItems > maxMaxItems {
			ps.Add(p+".max_items", "must be between 0 and %d", maxMaxItems)
		}
		if len(s.Steps) == 0 {
			ps.Add(p+".steps", "required: the steps to run for each item")
		}
		cs.body = compileSteps(s.Steps, p+".steps", reg, seen, ps)
		noWith(s, p, ps)
	case StepParallel:
		if len(s.Branches) == 0 {
			ps.Add(p+".branches", "required: at least one branch with `name` and `steps`")
		}
		if len(s.Branches) > maxBranches {
			ps.Add(p+".branches", "at most %d branches, got %d", maxBranches, len(s.Branches))
		}
		names := map[string]int{}
		for j := range s.Branches {
			bp := fmt.Sprintf("%s.branches[%d]", p, j)
			b := &s.Branches[j]
			if strings.TrimSpace(b.Name) == "" {
				ps.Add(bp+".name", "required: the key of this branch's output")
			} else if k, ok := names[b.Name]; ok {
				ps.Add(bp+".name", "%q is already the name of branches[%d]", b.Name, k)
			} else {
				names[b.Name] = j
			}
			if len(b.Steps) == 0 {
				ps.Add(bp+".steps", "required: the steps this branch runs")
			}
			cs.branches = append(cs.branches, cBranch{name: b.Name, steps: compileSteps(b.Steps, bp+".steps", reg, seen, ps)})
		}
		noWith(s, p, ps)
	default:
		var spec *Spec
		if IsControl(s.Type) {
			for i := range ControlSpecs {
				if ControlSpecs[i].Kind == s.Type {
					spec = &ControlSpecs[i]
				}
			}
		} else if k, ok := reg.ActionFor(s.Type, s.With); ok {
			cs.action = &k
			spec = &k.Spec
		} else {
			ps.Add(p+".type", "unknown step type %q", s.Type)
			return cs
		}
		cs.spec = spec
		cs.with = compileWith(s, spec, cs.action, p, ps)
	}
	return cs
}

func noWith(s *Step, p string, ps *Problems) {
	if w := bytes.TrimSpace(s.With); len(w) > 0 && string(w) != "null" && string(w) != "{}" {
		ps.Add(p+".with", "%s steps take no `with`", s.Type)
	}
}

func condAt(src, path string, ps *Problems) *Expr {
	e, err := CompileCond(src, StepScope)
	if err != nil {
		ps.Add(path, "%s", exprMessage(err, src))
		return nil
	}
	return e
}

// exprMessage keeps expr's message on one line and names the expression.
func exprMessage(err error, src string) string {
	msg := oneLine(err)
	if !strings.Contains(msg, src) {
		msg += " in `" + src + "`"
	}
	return msg
}

// compileWith checks a step's `with` against its Spec and compiles its templates.
func compileWith(s *Step, spec *Spec, ak *ActionKind, p string, ps *Problems) *Template {
	raw := bytes.TrimSpace(s.With)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		ps.Add(p+".with", "must be an object: %v", err)
		return nil
	}
	fields := map[string]*Field{}
	for i := range spec.Fields {
		fields[spec.Fields[i].Name] = &spec.Fields[i]
	}
	before := len(*ps)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		f := fields[k]
		if f == nil {
			ps.Add(p+".with."+k, "unknown field %q for %s (fields: %s)", k, spec.Kind, fieldNames(spec))
			continue
		}
		checkLiteral(f, v, p+".with."+k, ps)
	}
	for _, f := range spec.Fields {
		if _, ok := m[f.Name]; f.Required && !ok {
			ps.Add(p+".with."+f.Name, "required")
		}
	}
	t, errs := compileWithFields(m, spec)
	for _, e := range errs {
		ps.Add(joinDot(p+".with", e.Path), "%s", oneLine(e.Err))
	}
	if len(*ps) > before || t == nil {
		return t
	}
	switch {
	case ak != nil && !t.HasExpr():
		// No templates: the config is known now, so check it completely.
		if _, err := DecodeWith(spec, m, ak.New()); err != nil {
			ps.Add(p+".with"+fieldSuffix(err), "%s", decodeMessage(err))
		}
	case s.Type == StepDelay:
		if _, ok := m["for"]; !ok {
			if _, ok := m["until"]; !ok {
				ps.Add(p+".with", "set `for` (a duration) or `until` (a time)")
			}
		}
		if v, ok := m["for"].(string); ok && !strings.Contains(v, "{{") {
			if _, err := time.ParseDuration(v); err != nil {
				ps.Add(p+".with.for", "bad duration %q: use forms like 30s, 10m, 2h", v)
			}
		}
	case s.Type == StepSet:
		if _, ok := m["vars"].(map[string]any); !ok {
			ps.Add(p+".with.vars", "must be an object of name → value")
		}
	case s.Type == StepWait:
		if v, ok := m["timeout"].(string); ok {
			if d, err := time.ParseDuration(v); err == nil && d <= 0 {
				ps.Add(p+".with.timeout", "must be positive (leave it out to wait until resumed)")
			}
		}
	case s.Type == StepCall:
		if v, ok := m["flow"].(string); ok && !strings.Contains(v, "{{") && !flowIDRe.MatchString(v) {
			ps.Add(p+".with.flow", "must be a flow id, got %q", v)
		}
	}
	return t
}

func fieldNames(spec *Spec) string {
	var n []string
	for _, f := range spec.Fields {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// checkLiteral checks a non-template value against its field type.
func checkLiteral(f *Field, v any, path string, ps *Problems) {
	if s, ok := v.(string); ok && strings.Contains(s, "{{") {
		return // a template: checked when it runs
	}
	bad := func(want string) { ps.Add(path, "want %s, got %s", want, jsonKind(v)) }
	switch f.Type {
	case FieldNumber:
		if _, ok := v.(json.Number); !ok {
			bad("a number")
		}
	case FieldBool:
		if _, ok := v.(bool); !ok {
			bad("true or false")
		}
	case FieldText, FieldTextarea, FieldSecret, FieldExpression:
		if _, ok := v.(string); !ok {
			bad("a string")
		}
	case FieldDuration:
		s, ok := v.(string)
		if !ok {
			if _, isNum := v.(json.Number); !isNum {
				bad("a duration like \"30s\"")
			}
		} else if _, err := time.ParseDuration(s); err != nil {
			ps.Add(path, "bad duration %q: use forms like 500ms, 30s, 5m, 2h", s)
		}
	case FieldSelect:
		s, ok := v.(string)
		if !ok {
			bad("a string")
			return
		}
		for _, o := range f.Options {
			if o == s {
				return
			}
		}
		ps.Add(path, "must be one of %s, got %q", strings.Join(f.Options, ", "), s)
	case FieldMap, FieldObject:
		if _, ok := v.(map[string]any); !ok {
			bad("an object")
		}
	case FieldList:
		switch v.(type) {
		case string, []any:
		default:
			bad("a string or a list")
		}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// DecodeWith turns an evaluated `with` value into a kind's config: values are
// coerced by their Spec field types (a number field given "587" gets 587, a
// map field's values become strings), then decoded strictly (unknown fields
// are errors) and validated.
func DecodeWith(spec *Spec, v any, into any) (any, error) {
	m, _ := v.(map[string]any)
	if m == nil && v != nil {
		return nil, fmt.Errorf("with must be an object, got %s", jsonKind(v))
	}
	coerced := make(map[string]any, len(m))
	for k, x := range m {
		coerced[k] = x
		for i := range spec.Fields {
			if spec.Fields[i].Name == k {
				coerced[k] = coerce(spec.Fields[i].Type, x)
			}
		}
	}
	if fd, ok := into.(FastDecoder); !ok || !fd.DecodeFast(coerced) {
		b, err := json.Marshal(coerced)
		if err != nil {
			return nil, fmt.Errorf("encode settings: %w", err)
		}
		if err := decodeStrict(b, into); err != nil {
			return nil, err
		}
	}
	if val, ok := into.(Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, err
		}
	}
	return into, nil
}

// FastDecoder is an action's settings type that can take the common shapes
// of its coerced settings straight from the map, without the JSON round trip
// (a hot action's CPU per run). DecodeFast returns false, having changed
// nothing, for anything it does not handle: the JSON path then decodes it
// (and names what is wrong). What it decodes must equal what the JSON path
// would give.
type FastDecoder interface {
	DecodeFast(m map[string]any) bool
}

func coerce(t FieldType, v any) any {
	switch t {
	case FieldNumber:
		if s, ok := v.(string); ok {
			var n json.Number = json.Number(strings.TrimSpace(s))
			if _, err := n.Float64(); err == nil {
				return n
			}
		}
	case FieldBool:
		if s, ok := v.(string); ok {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true", "1", "yes":
				return true
			case "false", "0", "no", "":
				return false
			}
		}
	case FieldText, FieldTextarea, FieldSecret:
		switch v.(type) {
		case string, nil:
		default:
			return Stringify(v)
		}
	case FieldMap:
		if mm, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(mm))
			for k, x := range mm {
				out[k] = Stringify(x)
			}
			return out
		}
	}
	return v
}

func decodeStrict(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// fieldSuffix returns ".field" for a decoding error that names a field.
func fieldSuffix(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "." + te.Field
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "." + strings.Trim(f, `"`)
	}
	return ""
}

func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func joinDot(a, b string) string { return JoinPath(a, b) }

// JoinPath joins JSON path parts: ("steps[1].with", "url") →
// "steps[1].with.url", ("items", "[2]") → "items[2]"; an empty side is dropped.
func JoinPath(a, b string) string {
	switch {
	case b == "":
		return a
	case a == "":
		return b
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}

// checkRefs reports expressions that reach a field the scope objects do not
// have (trigger.bdy) or a step the flow does not have (steps.nope), and
// records the secrets each step reads.
func checkRefs(steps []*CStep, path string, ids, waits map[string]bool, ps *Problems) {
	for i, cs := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		check := func(e *Expr, at string) {
			if e == nil {
				return
			}
			secrets, err := e.Refs(ids)
			if err != nil {
				ps.Add(at, "%s in `%s`", err.Error(), e.Source())
			}
			for _, w := range e.resumes {
				if !waits[w] {
					ps.Add(at, "resume_url('%s'): the flow has no wait step %q (resume_url names a step of type wait)", w, w)
				}
			}
			cs.secrets = append(cs.secrets, secrets...)
		}
		check(cs.cond, p+".if")
		check(cs.when, p+".when")
		check(cs.items, p+".items")
		for j, c := range cs.cases {
			check(c.when, fmt.Sprintf("%s.cases[%d].when", p, j))
			checkRefs(c.steps, fmt.Sprintf("%s.cases[%d].steps", p, j), ids, waits, ps)
		}
		checkRefs(cs.def, p+".default", ids, waits, ps)
		checkRefs(cs.body, p+".steps", ids, waits, ps)
		for j, b := range cs.branches {
			checkRefs(b.steps, fmt.Sprintf("%s.branches[%d].steps", p, j), ids, waits, ps)
		}
		if cs.with != nil {
			for _, x := range cs.with.Exprs() {
				check(x.Expr, joinDot(p+".with", x.Path))
			}
		}
	}
}

// checkFlowSteps checks what needs the whole flow: a call step may not name
// its own flow, and a wait step may not sit in a foreach (its resume URL is
// one per run and step). It hands every wait step to wait.
func checkFlowSteps(steps []*CStep, flowID string, inLoop bool, wait func(*CStep), ps *Problems) {
	for _, cs := range steps {
		switch cs.Type {
		case StepWait:
			if inLoop {
				ps.Add(cs.path+".type", "a wait step cannot be inside a foreach: its resume URL is one per run and step")
			} else {
				wait(cs)
			}
		case StepCall:
			var w struct {
				Flow any `json:"flow"`
			}
			_ = json.Unmarshal(cs.With, &w)
			if id, _ := w.Flow.(string); id != "" && id == flowID {
				ps.Add(cs.path+".with.flow", "a flow cannot call itself")
			}
		}
		for _, c := range cs.cases {
			checkFlowSteps(c.steps, flowID, inLoop, wait, ps)
		}
		checkFlowSteps(cs.def, flowID, inLoop, wait, ps)
		checkFlowSteps(cs.body, flowID, inLoop || cs.Type == StepForeach, wait, ps)
		for _, b := range cs.branches {
			checkFlowSteps(b.steps, flowID, inLoop, wait, ps)
		}
	}
}
