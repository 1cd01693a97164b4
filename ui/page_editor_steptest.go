package ui

// "Test this step" runs one step of the draft alone with the test event and
// the earlier steps' outputs (the last run's, or data pinned from an earlier
// step test), shows its input and output, and can pin that output as the
// step's sample data for the steps after it. Pins are kept in the built-in
// data under "pin:<flow>:<step>" for 30 days.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// pinTTL is how long pinned step data is kept.
const pinTTL = 30 * 24 * time.Hour

func pinKey(flowID, stepID string) string { return "pin:" + flowID + ":" + stepID }

// pins reads the flow's pinned step outputs by step id.
func (s *Server) pins(ctx context.Context, flowID string) map[string]any {
	out := map[string]any{}
	items, err := s.store.KVList(ctx, "pin:"+flowID+":", 200)
	if err != nil {
		return out
	}
	for _, it := range items {
		out[strings.TrimPrefix(it.Key, "pin:"+flowID+":")] = toGeneric(it.Value)
	}
	return out
}

// sideEffectFree are the kinds that call no outside service when tested.
var sideEffectFree = map[string]bool{engine.StepFilter: true, engine.StepBranch: true, "log": true}

// testable reports whether a step kind can be tested alone.
func testable(typ string, spec engine.Spec, known bool) bool {
	if typ == engine.StepFilter || typ == engine.StepBranch {
		return true
	}
	return known && spec.Group != "control"
}

// stepTestPost runs the posted draft's step alone.
func (s *Server) stepTestPost(c *fiber.Ctx) error {
	ctx := c.UserContext()
	stored, err := s.store.GetFlow(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	doc, err := decodeDoc([]byte(c.FormValue("doc")))
	if err != nil {
		doc = flowDoc(stored)
	}
	ps := overlayPost(c, doc)
	doc["id"] = stored.ID
	path := c.FormValue("step")
	v, _ := getAt(doc, path)
	m, _ := v.(map[string]any)
	stepID, _ := m["id"].(string)
	tv := views.StepTestView{StepID: stepID, FlowID: stored.ID}
	render := func() error { return s.render(c, fiber.StatusOK, views.StepTest(tv)) }
	if stepID == "" {
		tv.Error = "This step has no id yet."
		return render()
	}
	if len(ps) > 0 {
		tv.Error = "Fix this first: " + ps[0].Message
		return render()
	}
	b, _ := json.Marshal(doc)
	f, err := engine.DecodeFlow(b)
	if err != nil {
		tv.Error = "The flow does not read: " + engine.OneLine(err)
		return render()
	}
	comp, problems := engine.Compile(f, s.eng.Registry())
	if len(problems) > 0 {
		tv.Error = "The flow has problems to fix before a step can run: " + problems[0].Path + ": " + problems[0].Message
		return render()
	}
	pe := s.previewEnv(ctx, s.loadTestData(ctx, stored.ID), stored.ID, stored.Name)
	if pe.none {
		tv.Note = "No test event yet: the step ran with an empty trigger."
	}
	res, err := s.eng.TestStep(ctx, comp, stepID, pe.env)
	switch {
	case errors.Is(err, engine.ErrNotTestable):
		tv.Error = "This kind of step acts on the run itself (waits, loops, answers) and is tested with “Test flow”."
		return render()
	case err != nil:
		return err
	}
	tv.Skipped, tv.Error = res.Skipped, res.Error
	if res.Input != nil {
		tv.Input = pretty(res.Input)
	}
	if res.Output != nil {
		tv.Output = pretty(res.Output)
		out, _ := json.Marshal(res.Output)
		tv.OutputJSON = string(out)
	}
	return render()
}

// pinPost keeps a step's tested output as its sample data.
func (s *Server) pinPost(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, err := s.store.GetFlow(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	step := c.FormValue("pin_step")
	if !identRe.MatchString(step) {
		return fiber.NewError(fiber.StatusBadRequest, "no step to pin")
	}
	raw := c.FormValue("pin_output")
	if len(raw) > 256<<10 {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "the output is too large to pin (256 KiB at most)")
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the output to pin is not JSON")
	}
	if err := s.store.KVSet(ctx, pinKey(f.ID, step), v, pinTTL); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.Pinned(step))
}
