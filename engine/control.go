package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ControlSpecs describe the steps the engine runs itself, for the palette and docs.
var ControlSpecs = []Spec{
	{Kind: StepFilter, Group: "control", Title: "Filter", Summary: "Stop the run unless a condition holds.",
		Fields: []Field{{Name: "when", Label: "Continue only when", Type: FieldExpression, Required: true,
			Help: "An expression; when false the run ends as filtered.", Placeholder: "trigger.body.amount >= 1000"}},
		Example: `{}`},
	{Kind: StepBranch, Group: "control", Title: "Branch", Summary: "Run the first case whose condition holds (if/else, switch).",
		Fields: []Field{{Name: "cases", Label: "Cases", Type: FieldJSON, Help: "Each case has a `when` expression and its own steps."},
			{Name: "default", Label: "Otherwise", Type: FieldJSON, Help: "Steps run when no case matches."}},
		Example: `{}`},
	{Kind: StepForeach, Group: "control", Title: "For each", Summary: "Run steps once per item of a list.",
		Fields: []Field{{Name: "items", Label: "Items", Type: FieldExpression, Required: true,
			Help: "An expression that yields a list; inside, `item` and `index` name the current one.", Placeholder: "trigger.body.line_items"},
			{Name: "max_items", Label: "At most", Type: FieldNumber, Help: "Fail the step when the list is longer (default 1000)."}},
		Example: `{}`},
	{Kind: StepDelay, Group: "control", Title: "Delay", Summary: "Wait for a while or until a time; survives restarts.",
		Fields: []Field{{Name: "for", Label: "For", Type: FieldText, Help: "A duration: 30s, 10m, 2h.", Placeholder: "10m"},
			{Name: "until", Label: "Until", Type: FieldText, Help: "A time (RFC 3339), e.g. {{ trigger.body.send_at }}."}},
		Example: `{"for":"10m"}`},
	{Kind: StepSet, Group: "control", Title: "Set variables", Summary: "Compute values once and use them as vars.<name>.",
		Fields:  []Field{{Name: "vars", Label: "Variables", Type: FieldMap, Required: true, Help: "Name → template."}},
		Example: `{"vars":{"email":"{{ lower(trigger.body.email) }}"}}`},
	{Kind: StepRespond, Group: "control", Title: "Respond to webhook", Summary: "Answer the waiting webhook request (respond mode wait).",
		Fields: []Field{{Name: "status", Label: "Status", Type: FieldNumber, Default: 200},
			{Name: "headers", Label: "Headers", Type: FieldMap},
			{Name: "body", Label: "Body", Type: FieldJSON}},
		Example: `{"status":200,"body":{"ok":true}}`},
	{Kind: StepFail, Group: "control", Title: "Fail", Summary: "End the run as failed with a message.",
		Fields:  []Field{{Name: "message", Label: "Message", Type: FieldText, Required: true}},
		Example: `{"message":"order {{ trigger.body.id }} has no email"}`},
	{Kind: StepWait, Group: "control", Title: "Wait for a request", Summary: "Pause until someone opens the step's resume URL (approval links, callbacks).",
		Fields: []Field{{Name: "timeout", Label: "Give up after", Type: FieldDuration, Placeholder: "72h",
			Help: "How long to wait; empty waits until resumed or canceled. The URL is resume_url('this step id') in any template."},
			{Name: "on_timeout", Label: "On timeout", Type: FieldSelect, Options: []string{"continue", "fail"}, Default: "continue",
				Help: "continue: the output is {\"timed_out\":true} and the run goes on; fail: the step fails."}},
		Example: `{"timeout":"72h","on_timeout":"continue"}`},
	{Kind: StepCall, Group: "control", Title: "Call a flow", Summary: "Run another flow with a body and use its result.",
		Fields: []Field{{Name: "flow", Label: "Flow", Type: FieldText, Required: true, Help: "The id of the flow to run (not this one)."},
			{Name: "body", Label: "Body", Type: FieldJSON, Help: "The called run's trigger.body."},
			{Name: "wait", Label: "Wait for its result", Type: FieldBool, Default: true,
				Help: "On: the step ends when the called run does, with {run_id, status, output}. Off: it only starts it ({run_id})."}},
		Example: `{"flow":"send-invoice","body":{"order":"{{ trigger.body.id }}"},"wait":true}`},
	{Kind: StepParallel, Group: "control", Title: "Parallel", Summary: "Run branches at the same time; the output maps each branch to its last step's output.",
		Fields:  []Field{{Name: "branches", Label: "Branches", Type: FieldJSON, Help: "Each branch has a `name` and its own `steps`."}},
		Example: `{}`},
}

// wait suspends the run at a wait step until a request to its resume URL
// or its timeout; whichever is stored first (ClaimResume) is the outcome.
func (st *runState) wait(ctx context.Context, cs *CStep, rec *StepRun, env map[string]any) outcome {
	if st.ephemeral {
		st.wakeAt = time.Time{}
		return suspended
	}
	rs, err := st.e.resumes()
	if err != nil {
		return st.fail(cs, rec, nil, err.Error())
	}
	if rec.Status != StepWaiting {
		v, err := cs.with.Run(st.evaluation(cs), env)
		if err != nil {
			return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
		}
		m, _ := v.(map[string]any)
		in := map[string]any{"on_timeout": "continue"}
		if s := Stringify(m["on_timeout"]); s != "" {
			if s != "continue" && s != "fail" {
				return st.fail(cs, rec, nil, fmt.Sprintf("with.on_timeout: must be continue or fail, got %q", s))
			}
			in["on_timeout"] = s
		}
		rec.NextAt = nil
		if t := m["timeout"]; t != nil && Stringify(t) != "" {
			d, err := time.ParseDuration(Stringify(t))
			if err != nil || d <= 0 {
				return st.fail(cs, rec, nil, fmt.Sprintf("with.timeout: bad duration %q", Stringify(t)))
			}
			at := st.e.now().Add(d).UTC()
			rec.NextAt = &at
			in["timeout"] = d.String()
		}
		rec.Status = StepWaiting
		rec.Input = in
		st.dirty = true
		st.wakeAt = time.Time{}
		if rec.NextAt != nil {
			st.wakeAt = *rec.NextAt
		}
		return suspended
	}
	sctx := context.WithoutCancel(ctx)
	got, err := rs.GetResume(sctx, st.run.ID, rec.ID)
	if errors.Is(err, ErrNotFound) {
		if rec.NextAt == nil || st.e.now().Before(*rec.NextAt) {
			st.wakeAt = time.Time{}
			if rec.NextAt != nil {
				st.wakeAt = *rec.NextAt
			}
			return suspended
		}
		// Timed out, unless a request wins the race to the store.
		var won bool
		got, won, err = rs.ClaimResume(sctx, st.run.ID, rec.ID, []byte(`{"timed_out":true}`))
		if err == nil && won {
			got = []byte(`{"timed_out":true}`)
		}
	}
	if err != nil {
		st.errMsg = err.Error()
		return aborted // the store could not answer: retried later
	}
	var out map[string]any
	if err := json.Unmarshal(got, &out); err != nil {
		return st.fail(cs, rec, nil, "stored outcome: "+err.Error())
	}
	if out["timed_out"] == true {
		in, _ := rec.Input.(map[string]any)
		if in["on_timeout"] == "fail" {
			return st.fail(cs, rec, out, fmt.Sprintf("timed out after %v waiting for a request to its resume URL", in["timeout"]))
		}
	}
	st.done(cs, rec, StepSucceeded, out, "")
	return goOn
}

// call starts a child run of another flow and, with wait, suspends until it
// ends. The child is created with a dedupe key of the parent's run and step,
// so that a crash before the parent's checkpoint cannot start a second one.
func (st *runState) call(ctx context.Context, cs *CStep, rec *StepRun, env map[string]any) outcome {
	if rec.Status == StepWaiting {
		m, _ := rec.Output.(map[string]any)
		return st.callResult(ctx, cs, rec, Stringify(m["run_id"]))
	}
	v, err := cs.with.Run(st.evaluation(cs), env)
	if err != nil {
		return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
	}
	m, _ := v.(map[string]any)
	target := Stringify(m["flow"])
	wait := true
	if w, ok := m["wait"]; ok && w != nil {
		b, ok := coerce(FieldBool, w).(bool)
		if !ok {
			return st.fail(cs, rec, nil, fmt.Sprintf("with.wait: want true or false, got %s", jsonKind(w)))
		}
		wait = b
	}
	switch {
	case target == "":
		return st.fail(cs, rec, nil, "with.flow: required: the id of the flow to call")
	case target == st.run.FlowID:
		return st.fail(cs, rec, nil, "with.flow: a flow cannot call itself")
	case st.run.CallDepth+1 > MaxCallDepth:
		return st.fail(cs, rec, nil, fmt.Sprintf("calls nested deeper than %d (this run is at depth %d)", MaxCallDepth, st.run.CallDepth))
	}
	c, err := st.e.Flow(target)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return st.fail(cs, rec, nil, fmt.Sprintf("flow %q does not exist", target))
		}
		return st.fail(cs, rec, nil, fmt.Sprintf("flow %q cannot run: %s", target, st.redact(err.Error())))
	}
	if !c.Flow.Enabled {
		return st.fail(cs, rec, nil, fmt.Sprintf("flow %q is disabled", target))
	}
	body := m["body"]
	rec.Input = st.redactValue(map[string]any{"flow": target, "body": body, "wait": wait})
	if st.ephemeral {
		st.done(cs, rec, StepSucceeded, map[string]any{"run_id": ""}, "")
		return goOn
	}
	child := st.e.newRun(c, TriggerData{Type: "call", Body: body})
	child.ParentRunID = st.run.ID
	child.CallDepth = st.run.CallDepth + 1
	sctx := context.WithoutCancel(ctx)
	id, dup, err := st.e.store.CreateRun(sctx, child, "call:"+st.run.ID+":"+rec.ID, 30*24*time.Hour)
	if err != nil {
		st.errMsg = err.Error()
		return aborted
	}
	if !dup {
		st.e.hold(id, target) // leased to this node as it was created
		st.e.q.push(&item{runID: id, flowID: target, run: child})
	}
	if !wait {
		st.done(cs, rec, StepSucceeded, map[string]any{"run_id": id}, "")
		return goOn
	}
	rec.Status = StepWaiting
	rec.Output = map[string]any{"run_id": id, "flow": target}
	st.dirty = true
	return st.callResult(ctx, cs, rec, id)
}

// callResult ends a waiting call step when its child run has ended.
func (st *runState) callResult(ctx context.Context, cs *CStep, rec *StepRun, childID string) outcome {
	child, err := st.e.store.GetRun(context.WithoutCancel(ctx), childID)
	if errors.Is(err, ErrNotFound) {
		return st.fail(cs, rec, rec.Output, fmt.Sprintf("the called run %s no longer exists", childID))
	}
	if err != nil {
		st.errMsg = err.Error()
		return aborted
	}
	if !child.Status.Final() {
		st.wakeAt = time.Time{} // the child's end wakes this run
		return suspended
	}
	out := map[string]any{"run_id": child.ID, "status": string(child.Status), "output": child.Output}
	switch child.Status {
	case RunSucceeded, RunFiltered:
		st.done(cs, rec, StepSucceeded, out, "")
		return goOn
	}
	msg := child.Error
	if msg == "" {
		msg = string(child.Status)
	}
	return st.fail(cs, rec, out, fmt.Sprintf("called flow %s failed (run %s, /runs/%s): %s", child.FlowID, child.ID, child.ID, msg))
}

// ended runs when a run has ended and is stored: its wait outcomes are
// dropped and the run that called it, if any, wakes to read its result.
func (e *Engine) ended(ctx context.Context, r *Run) {
	if rs, err := e.resumes(); err == nil && (hasWait(r) || r.Status == RunCanceled) {
		if err := rs.DeleteResumes(ctx, r.ID); err != nil {
			e.logf("run %s: drop wait outcomes: %v", r.ID, err)
		}
	}
	if r.ParentRunID == "" {
		return
	}
	p, err := e.store.GetRun(ctx, r.ParentRunID)
	if err != nil {
		e.logf("run %s: wake parent run %s: %v", r.ID, r.ParentRunID, err)
		return
	}
	if !p.Status.Final() {
		e.wakeRun(ctx, p.ID, p.FlowID) // through a notice when another node holds it
	}
}

func hasWait(r *Run) bool {
	for _, s := range r.Steps {
		if s.Type == StepWait {
			return true
		}
	}
	return false
}

// parallel runs the branches at the same time, each in its own goroutine
// holding st.mu except while an action's side effect runs. Records are
// shared: a branch finds its own finished steps after a crash and goes on
// from there. The step ends when every branch has.
func (st *runState) parallel(ctx context.Context, cs *CStep, rec *StepRun, prefix string, sc *scope) outcome {
	if rec.Status != StepRunning {
		rec.Status = StepRunning
		st.dirty = true
	}
	type result struct {
		o        outcome
		msg      string
		wake     time.Time
		retrying bool
	}
	res := make([]result, len(cs.branches))
	var wg sync.WaitGroup
	for i := range cs.branches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.mu.Lock()
			defer st.mu.Unlock()
			st.wakeAt, st.retrying = time.Time{}, false
			o := st.walk(ctx, cs.branches[i].steps, prefix, sc)
			res[i] = result{o: o, msg: st.errMsg, wake: st.wakeAt, retrying: st.retrying}
			// A branch that ended has its last result stored now, not when the
			// slowest branch ends: a crash meanwhile does not run it again.
			if o != aborted && !st.checkpoint(ctx) {
				res[i] = result{o: aborted, msg: st.errMsg}
			}
		}()
	}
	st.mu.Unlock()
	wg.Wait()
	st.mu.Lock()
	var fail, filt, susp *result
	st.wakeAt, st.retrying = time.Time{}, false
	for i := range res {
		r := &res[i]
		switch r.o {
		case aborted:
			st.errMsg = r.msg
			return aborted
		case failed:
			if fail == nil {
				fail = r
			}
		case filtered:
			filt = r
		case suspended:
			susp = r
			st.retrying = st.retrying || r.retrying
			if !r.wake.IsZero() && (st.wakeAt.IsZero() || r.wake.Before(st.wakeAt)) {
				st.wakeAt = r.wake
			}
		}
	}
	switch {
	case fail != nil:
		st.done(cs, rec, StepFailed, nil, fail.msg)
		st.errMsg = fail.msg
		return failed
	case susp != nil:
		return suspended
	}
	out := make(map[string]any, len(cs.branches))
	for _, b := range cs.branches {
		out[b.name] = nil
		for j := len(b.steps) - 1; j >= 0; j-- {
			if r := st.recs[prefix+b.steps[j].ID]; r != nil && r.Status != StepSkipped {
				out[b.name] = r.Output
				break
			}
		}
	}
	st.done(cs, rec, StepSucceeded, out, "")
	if filt != nil {
		return filtered
	}
	return goOn
}
