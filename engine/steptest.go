package engine

import (
	"context"
	"errors"
	"fmt"
)

// StepTest is the result of running one step alone ("Test this step").
type StepTest struct {
	// Input is the step's `with` after its templates ran (secrets redacted).
	Input any `json:"input,omitempty"`
	// Output is what the step returned (secrets redacted); for a filter
	// {"continue": bool}, for a branch {"case": name or number, or "default"}.
	Output any `json:"output,omitempty"`
	// Error says why the step failed, if it did.
	Error string `json:"error,omitempty"`
	// Skipped is true when the step's `if` was false: it did not run.
	Skipped bool `json:"skipped,omitempty"`
}

// ErrNotTestable marks a step kind that cannot run alone (delay, foreach,
// respond, wait …: they act on the run itself).
var ErrNotTestable = errors.New("this kind of step cannot be tested alone")

// TestStep runs the step with id stepID of the compiled flow c alone, with
// env holding trigger, steps, vars and run as a run's steps see them (the
// engine adds the secrets). Actions run for real, with the engine's guarded
// HTTP client, its KV store and the step's timeout; nothing is recorded as a
// run. A filter or branch evaluates its conditions. Errors of the step are
// in the result; the error return is for a missing or untestable step.
func (e *Engine) TestStep(ctx context.Context, c *Compiled, stepID string, env map[string]any) (*StepTest, error) {
	cs := findStep(c.Steps, stepID)
	if cs == nil {
		return nil, fmt.Errorf("step %q: %w", stepID, ErrNotFound)
	}
	full := make(map[string]any, len(env)+2)
	for k, v := range env {
		full[k] = v
	}
	full["secrets"] = e.SecretValues()
	for _, k := range StepScope {
		if _, ok := full[k]; !ok {
			full[k] = nil
		}
	}
	ev := &Evaluation{Ctx: ctx, Limits: e.cfg.ExprLimits}
	res := &StepTest{}
	fail := func(err error) (*StepTest, error) {
		res.Error = e.redact(OneLine(err))
		return res, nil
	}
	if cs.cond != nil {
		ok, err := cs.cond.Cond(ev, full)
		if err != nil {
			return fail(fmt.Errorf("if: %w", err))
		}
		if !ok {
			res.Skipped = true
			return res, nil
		}
	}
	switch {
	case cs.Type == StepFilter && cs.when != nil:
		ok, err := cs.when.Cond(ev, full)
		if err != nil {
			return fail(err)
		}
		res.Output = map[string]any{"continue": ok}
		return res, nil
	case cs.Type == StepBranch:
		for i, cc := range cs.cases {
			ok, err := cc.when.Cond(ev, full)
			if err != nil {
				return fail(fmt.Errorf("case %d: %w", i+1, err))
			}
			if ok {
				name := any(i + 1)
				if cc.name != "" {
					name = cc.name
				}
				res.Output = map[string]any{"case": name}
				return res, nil
			}
		}
		res.Output = map[string]any{"case": "default"}
		return res, nil
	case cs.action == nil || cs.with == nil:
		return nil, fmt.Errorf("step %q (%s): %w", stepID, cs.Type, ErrNotTestable)
	}
	v, err := cs.with.Run(ev, full)
	if err != nil {
		return fail(fmt.Errorf("with.%w", err))
	}
	res.Input = e.redactValue(v)
	cfg, err := DecodeWith(cs.spec, v, cs.action.New())
	if err != nil {
		return fail(fmt.Errorf("with: %w", err))
	}
	timeout := cs.Timeout.D()
	if timeout <= 0 {
		timeout = e.cfg.StepTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var logs []string
	runID := "test-" + newUUID()
	room := &answerRoom{e: e} // a big answer waits for room like a run's
	defer room.release()
	sc := &StepContext{RunID: runID, FlowID: c.Flow.ID, StepID: cs.ID, Attempt: 1, IdempotencyKey: runID + ":" + cs.ID,
		HTTP: e.cfg.HTTP, Dial: e.cfg.Dial, KV: e.store, Now: e.now,
		Log: func(msg string) { logs = append(logs, msg) }, Room: room.room}
	out, err := runAction(actx, cfg.(Action), sc)
	out = e.redactValue(out)
	if m, ok := out.(map[string]any); ok && len(logs) > 0 {
		m["logs"] = e.redactValue(toAnyList(logs))
	}
	res.Output = out
	if err != nil {
		return fail(err)
	}
	return res, nil
}

// findStep finds a step by id anywhere in the flow.
func findStep(steps []*CStep, id string) *CStep {
	for _, s := range steps {
		if s.ID == id {
			return s
		}
		for _, cc := range s.cases {
			if f := findStep(cc.steps, id); f != nil {
				return f
			}
		}
		if f := findStep(s.def, id); f != nil {
			return f
		}
		if f := findStep(s.body, id); f != nil {
			return f
		}
	}
	return nil
}
