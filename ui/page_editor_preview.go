package ui

// Template fields show their {{ }} placeholders as pills (tokens named in
// words) and, under the field, what the template resolves to with the test
// event and the last run's step outputs, or why it does not. The preview is
// rendered with the editor and again, live, by POST /flows/:id/preview.

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/triggers"
	"github.com/hookflow/hookflow/ui/condbuilder"
	"github.com/hookflow/hookflow/ui/views"
)

// pillTransform is a common change of a placeholder offered by its menu.
// Tpl holds %s where the field goes and, for Ask, %v where the quoted answer goes.
type pillTransform struct {
	ID, Label, Tpl, Ask string
}

// pillTransforms lists the transforms in the pill menu's order.
var pillTransforms = []pillTransform{
	{ID: "lower", Label: "lower case", Tpl: `lower(%s ?? "")`},
	{ID: "upper", Label: "upper case", Tpl: `upper(%s ?? "")`},
	{ID: "trim", Label: "trimmed", Tpl: `trim(%s ?? "")`},
	{ID: "date", Label: "as a date", Tpl: `format_time(parse_time(%s), "2 Jan 2006 15:04")`},
	{ID: "money", Label: "as money", Tpl: `let c = int(round(float(%s ?? 0) * 100)); string(int(c / 100)) + "." + (abs(c % 100) < 10 ? "0" : "") + string(abs(c % 100))`},
	{ID: "default", Label: "or a default", Tpl: `(%s ?? "") != "" ? %s : %v`, Ask: "Text to use when the field is empty"},
	{ID: "first", Label: "first item", Tpl: `first(%s ?? [])`},
}

// pillLabel names a placeholder in words: a field path, with the transforms
// of the pill menu applied to it ("email · lower case"), else the expression.
func pillLabel(expr string) string {
	if strings.HasPrefix(expr, "secrets.") && identRe.MatchString(expr[8:]) {
		return "🔒 secret " + expr[8:]
	}
	var applied []string
	for depth := 0; depth < 4; depth++ {
		if p, err := condbuilder.Path(expr); err == nil && p == expr {
			words := fieldWords(expr)
			for i := len(applied) - 1; i >= 0; i-- {
				words += " · " + applied[i]
			}
			return words
		}
		inner, label, ok := unwrapTransform(expr)
		if !ok {
			break
		}
		applied = append(applied, label)
		expr = inner
	}
	return expr
}

// unwrapTransform matches expr against the transforms; it returns the field inside.
func unwrapTransform(expr string) (inner, label string, ok bool) {
	for _, t := range pillTransforms {
		pre, post, _ := strings.Cut(t.Tpl, "%s")
		if t.Ask != "" {
			// (%s ?? "") != "" ? %s : %v
			mid, _, _ := strings.Cut(post, "%s")
			if !strings.HasPrefix(expr, pre) {
				continue
			}
			i := strings.Index(expr, mid)
			if i < len(pre) {
				continue
			}
			in := expr[len(pre):i]
			rest := expr[i+len(mid):]
			val, found := strings.CutPrefix(rest, in+" : ")
			if !found {
				continue
			}
			if _, err := strconv.Unquote(val); err != nil {
				continue
			}
			return in, t.Label, true
		}
		if strings.HasPrefix(expr, pre) && strings.HasSuffix(expr, post) && len(expr) > len(pre)+len(post) {
			return expr[len(pre) : len(expr)-len(post)], t.Label, true
		}
	}
	return "", "", false
}

// previewEnv is what a preview evaluates with: the test event (else the last
// run's event, else the verify preset's documented sample), the last run's
// step outputs and variables, and secrets masked by name.
type previewEnv struct {
	env  map[string]any
	none bool // no event at all
}

func (s *Server) previewEnv(ctx context.Context, td testData, flowID, flowName string) previewEnv {
	trig := td.sample
	steps := map[string]any{}
	vars := map[string]any{}
	if r := td.last; r != nil {
		if trig == nil {
			trig = &r.Trigger
		}
		for _, st := range r.Steps {
			if strings.ContainsAny(st.ID, "[.") {
				continue
			}
			steps[st.ID] = map[string]any{"output": toGeneric(st.Output), "status": string(st.Status), "error": st.Error}
		}
		for k, v := range r.Vars {
			vars[k] = toGeneric(v)
		}
	}
	for id, out := range td.pins {
		steps[id] = map[string]any{"output": out, "status": "succeeded", "error": ""}
	}
	none := trig == nil
	if trig == nil {
		trig = &engine.TriggerData{Type: "webhook", Method: "POST", ReceivedAt: time.Now()}
		if f, err := s.store.GetFlow(ctx, flowID); err == nil {
			if body := presetBody(f); body != nil {
				trig.Body, none = body, false
			} else if f.Trigger.Type == "schedule" {
				trig.Type, none = "schedule", false
				trig.Body = map[string]any{"scheduled_at": time.Now().UTC().Format(time.RFC3339)}
			}
		}
	}
	secrets := map[string]any{}
	if s.Secrets != nil {
		if names, err := s.Secrets.Names(ctx); err == nil {
			for _, n := range names {
				secrets[n] = "••••••"
			}
		}
	}
	env := map[string]any{
		"trigger": toGeneric(engine.TriggerEnv(trig)),
		"steps":   steps,
		"vars":    vars,
		"secrets": secrets,
		"run":     map[string]any{"id": "test-run", "attempt": 1},
		"flow":    map[string]any{"id": flowID, "name": flowName},
		"item":    nil,
		"index":   nil,
	}
	return previewEnv{env: env, none: none}
}

// presetBody is the documented sample body of the flow's verify preset.
func presetBody(f *engine.Flow) any {
	if f.Trigger.Type != "webhook" {
		return nil
	}
	var with struct {
		Verify struct {
			Scheme string `json:"scheme"`
		} `json:"verify"`
	}
	if json.Unmarshal(f.Trigger.With, &with) != nil {
		return nil
	}
	p, ok := triggers.PresetFor(with.Verify.Scheme)
	if !ok {
		return nil
	}
	body, err := triggers.DecodeJSON([]byte(p.Sample))
	if err != nil {
		return nil
	}
	return body
}

// previewLimits bound one preview: it answers well within 50 ms.
var previewLimits = engine.Limits{Time: 20 * time.Millisecond, Memory: 256 << 10, Iterations: 100_000, Output: 64 << 10}

// preview evaluates one template field's text.
func (pe previewEnv) preview(ctx context.Context, text string) *views.PreviewView {
	pv := &views.PreviewView{}
	segs, ok := engine.SplitTemplate(text)
	if !ok {
		pv.Error = "A {{ is not closed with }}."
		return pv
	}
	exprs := 0
	for _, sg := range segs {
		if sg.Raw != "" {
			exprs++
		}
	}
	if exprs == 0 {
		pv.Empty = true
		return pv
	}
	if pe.none {
		pv.Error = "No test event yet: listen for one on the trigger card (or test the flow) to see what this becomes."
		return pv
	}
	tpl, err := engine.CompileString(text, engine.StepScope)
	if err != nil {
		pv.Error = "Not valid: " + engine.OneLine(err)
		return pv
	}
	ctx, cancel := context.WithTimeout(ctx, previewLimits.Time)
	defer cancel()
	ev := &engine.Evaluation{Ctx: ctx, Limits: previewLimits}
	v, err := tpl.Run(ev, pe.env)
	if err != nil {
		msg := engine.OneLine(err)
		if errors.Is(err, engine.ErrLimit) {
			msg = "it takes too long or builds too much to preview"
		}
		pv.Error = "Does not resolve with the test event: " + msg
		return pv
	}
	var missing []string
	for _, sg := range segs {
		if sg.Raw == "" {
			continue
		}
		e, err := engine.CompileExpr(sg.Expr, engine.StepScope)
		if err != nil {
			continue
		}
		if x, err := e.Run(ev, pe.env); err == nil && x == nil {
			missing = append(missing, pillLabel(sg.Expr))
		}
	}
	out := engine.Stringify(v)
	if len(out) > 300 {
		out = out[:300] + "…"
	}
	pv.Value = out
	if len(missing) > 0 {
		pv.Error = "The test event has no " + strings.Join(missing, ", no ") + "."
	}
	return pv
}

// previewPost answers the live preview of a template field's text.
func (s *Server) previewPost(c *fiber.Ctx) error {
	f, err := s.store.GetFlow(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	text := c.FormValue("t")
	if len(text) > 64<<10 {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "the text is too long to preview")
	}
	pe := s.previewEnv(c.UserContext(), s.loadTestData(c.UserContext(), f.ID), f.ID, f.Name)
	return s.render(c, fiber.StatusOK, views.Preview(*pe.preview(c.UserContext(), text)))
}

// pillSegs turns a template into the pill input's pieces.
func pillSegs(text string) ([]views.SegView, bool) {
	segs, ok := engine.SplitTemplate(text)
	if !ok {
		return nil, false
	}
	out := make([]views.SegView, 0, len(segs))
	for _, sg := range segs {
		if sg.Raw == "" {
			out = append(out, views.SegView{Text: sg.Text})
			continue
		}
		out = append(out, views.SegView{Expr: sg.Expr, Raw: sg.Raw, Label: pillLabel(sg.Expr)})
	}
	return out, true
}

// pillMenu lists the transforms for the pill menu.
func pillMenu() []views.PillAction {
	out := make([]views.PillAction, 0, len(pillTransforms))
	for _, t := range pillTransforms {
		out = append(out, views.PillAction{ID: t.ID, Label: t.Label, Tpl: t.Tpl, Ask: t.Ask})
	}
	return out
}
