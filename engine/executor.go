package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// The executor walks a run's steps. Every step instance has a record in
// run.Steps; a finished record is never executed again — walking a run is a
// replay of its records up to the first unfinished step (the shape Temporal
// and Inngest use). Before an action's side effect its record is written
// `running` (durably); its result is written with the next checkpoint, which
// always precedes the next side effect or the run's end. After a crash a step
// found `running` runs again with the same attempt and idempotency key.

func (e *Engine) worker() {
	defer e.workers.Done()
	for {
		it := e.q.pop()
		if it == nil {
			return
		}
		e.execute(it)
		e.q.done(it)
		if flowID, ok := e.wakes.LoadAndDelete(it.runID); ok {
			e.q.push(&item{runID: it.runID, flowID: flowID.(string)})
		}
		// A cancel that arrived while the run executed could not queue it
		// (it was busy) and may have missed its new timer: queue it now.
		if _, ok := e.cancels.Load(it.runID); ok {
			e.timers.remove(it.runID)
			e.q.push(&item{runID: it.runID, flowID: it.flowID})
		}
	}
}

type outcome uint8

const (
	goOn outcome = iota
	filtered
	failed
	suspended
	aborted // the store refused a checkpoint: the run stays as stored and is retried
)

// runState is one execution of a run: the run record and the expression env.
type runState struct {
	// mu guards everything below while parallel branches run: a branch
	// holds it except while its action's side effect runs.
	mu      sync.Mutex
	e       *Engine
	run     *Run
	c       *Compiled
	recs    map[string]*StepRun
	env     map[string]any
	steps   map[string]any // env["steps"]
	vars    map[string]any // env["vars"]: unredacted values
	runEnv  map[string]any // env["run"]
	last    any            // last executed step's output
	errMsg  string
	wakeAt  time.Time
	dirty   bool
	started time.Time
	// ephemeral runs (ExecuteNow) are never written to the store.
	ephemeral bool
	// retrying: the run suspends for a retry backoff (not a delay).
	retrying bool
	// lost: a checkpoint found the run's lease held by another node.
	lost bool
	// ctx ends when the run is canceled or the server stops.
	ctx context.Context
	// eval is what expressions run under (reused step by step).
	eval Evaluation
	// derived are strings this execution computed from secrets; red hides
	// them with the secrets (built when derived grows).
	derived []string
	red     Redaction
	// answers are the big answers this execution read (answerRoom.room).
	answers answerRoom
}

func (e *Engine) execute(it *item) {
	// Store writes are not abandoned at shutdown; rctx is the execution's
	// own context, which Cancel and shutdown end.
	ctx := context.WithoutCancel(e.ctx)
	rctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	e.wakes.Delete(it.runID) // what woke it is seen by this execution
	if e.nodes != nil {
		if _, ok := e.holds(it.runID); !ok {
			e.cancels.Delete(it.runID)
			return // another node holds it now
		}
	}
	// A run with a big body waits for room among the bodies executing: when
	// its size is known, before it is loaded, and holding no record while it
	// waits (the record is read again after); when not, after its load.
	held := int64(0)
	defer func() {
		if held > 0 {
			e.bodies.Release(held)
		}
	}()
	hold := func(n int) bool {
		if n <= bigBody {
			return true
		}
		w := int64(min(n, executingBodyBytes))
		if !e.bodies.TryAcquire(w) {
			it.run, it.light = nil, false
			if e.bodies.Acquire(e.ctx, w) != nil {
				return false // stopping: the run stays queued in the store
			}
		}
		held = w
		return true
	}
	if it.size > 0 && !hold(it.size) {
		return
	}
	r := it.run
	if r != nil && it.light {
		// Queued beyond the in-memory cap without its decoded body; a body
		// that does not decode (never: it was decoded at ingest) is reloaded.
		body, err := DecodeJSON(r.Trigger.BodyJSON)
		if err != nil {
			r = nil
		} else {
			r.Trigger.Body = body
		}
	}
	if r == nil {
		var err error
		if r, err = e.store.GetRun(ctx, it.runID); err != nil {
			if errors.Is(err, ErrUnavailable) {
				// A store that cannot answer now (PostgreSQL down): the
				// run is still there; it is read again later.
				e.storeDown("load runs", "run %s: load: %v (retrying every second)", it.runID, err)
				e.inASecond(it.runID, it.flowID)
				return
			}
			e.cancels.Delete(it.runID)
			e.logf("run %s: load: %v", it.runID, err)
			return
		}
	}
	if r.Status.Final() {
		e.cancels.Delete(r.ID)
		e.unhold(r.ID)
		return
	}
	if held == 0 && !hold(len(r.Trigger.Raw)+len(r.Trigger.BodyJSON)) {
		return
	}
	if _, ok := e.cancels.LoadAndDelete(r.ID); ok {
		e.finish(ctx, &runState{e: e, run: r}, RunCanceled, "canceled")
		return
	}
	c, err := e.flowVersion(ctx, r.FlowID, r.FlowVersion)
	if errors.Is(err, ErrUnavailable) {
		// The store could not give the flow's version now: not the run's fault.
		e.storeDown("load flows", "run %s: load flow %s version %d: %v (retrying every second)", r.ID, r.FlowID, r.FlowVersion, err)
		e.inASecond(r.ID, r.FlowID)
		return
	}
	if err != nil {
		st := &runState{e: e, run: r}
		msg := fmt.Sprintf("flow %s version %d cannot run: %v", r.FlowID, r.FlowVersion, err)
		if errors.Is(err, ErrFlowDeleted) {
			msg = fmt.Sprintf("flow %s was deleted, so this run cannot go on", r.FlowID)
		}
		e.finish(ctx, st, RunFailed, msg)
		return
	}
	e.running.Store(r.ID, cancel)
	defer e.running.Delete(r.ID)
	st := e.newState(r, c)
	st.ctx = rctx
	defer st.answers.release()
	if r.Status != RunRunning {
		r.Status = RunRunning
		st.dirty = true
	}
	if r.StartedAt == nil {
		now := e.now().UTC()
		r.StartedAt = &now
	}
	r.NextAt = nil
	if it.resumed && st.dirty && !st.checkpoint(ctx) {
		// A resumed run is marked running before it executes, so that a
		// crash now is counted at the next start (see Start).
		e.retryLater(it, st.err())
		return
	}
	st.mu.Lock()
	o := st.walk(rctx, c.Steps, "", nil)
	st.mu.Unlock()
	if st.lost {
		e.leaseLost(r.ID)
		return
	}
	if e.nodes != nil {
		if _, ok := e.holds(r.ID); !ok {
			return // taken over while it executed: the new holder goes on
		}
	}
	if o != goOn && o != filtered {
		if _, ok := e.cancels.LoadAndDelete(r.ID); ok {
			e.finish(ctx, st, RunCanceled, "canceled")
			return
		}
		if e.ctx.Err() != nil {
			return // shutting down: the run resumes from its last checkpoint
		}
	}
	switch o {
	case goOn:
		e.finish(ctx, st, RunSucceeded, "")
	case filtered:
		e.finish(ctx, st, RunFiltered, "")
	case failed:
		e.finish(ctx, st, RunFailed, st.errMsg)
	case suspended:
		at := st.wakeAt
		r.Status = RunWaiting
		r.NextAt = nil
		if !at.IsZero() {
			r.NextAt = &at
		}
		if err := e.saveRun(ctx, r); err != nil {
			e.retryLater(it, err)
			return
		}
		if !at.IsZero() { // else a request or a child's end wakes it
			e.timers.add(at, &item{runID: r.ID, flowID: r.FlowID})
		}
		if st.retrying {
			e.cfg.Fault("run.waiting_retry")
		} else {
			e.cfg.Fault("run.waiting_delay")
		}
	case aborted:
		e.retryLater(it, st.err())
	}
}

// ExecuteNow runs a flow synchronously in memory and returns the run without
// storing it: no checkpoint, no history. A delay or retry backoff ends it in
// status waiting. It serves dry runs and measures the engine's own overhead.
func (e *Engine) ExecuteNow(ctx context.Context, flowID string, t TriggerData) (*Run, error) {
	c, err := e.Flow(flowID)
	if err != nil {
		return nil, err
	}
	r := e.newRun(c, t)
	st := e.newState(r, c)
	st.ctx = ctx
	st.ephemeral = true
	defer st.answers.release()
	r.Status = RunRunning
	now := e.now().UTC()
	r.StartedAt = &now
	st.mu.Lock()
	o := st.walk(ctx, c.Steps, "", nil)
	st.mu.Unlock()
	switch o {
	case goOn:
		r.Status, r.Output = RunSucceeded, st.last
	case filtered:
		r.Status, r.Output = RunFiltered, st.last
	case failed:
		r.Status, r.Error = RunFailed, st.errMsg
	default:
		r.Status = RunWaiting
	}
	end := e.now().UTC()
	r.FinishedAt = &end
	return r, nil
}

// storeDown logs a store outage met by runs, once a minute per key on
// several nodes (where it happens), every time on one.
func (e *Engine) storeDown(key, format string, args ...any) {
	if e.nodes != nil {
		e.nodes.logEvery(e, key, format, args...)
		return
	}
	e.logf(format, args...)
}

// retryLater re-queues a run whose checkpoint the store refused (overload,
// full disk). Its stored state is consistent; it resumes from there.
func (e *Engine) retryLater(it *item, err error) {
	if errors.Is(err, ErrLeaseLost) {
		e.leaseLost(it.runID) // another node runs it now
		return
	}
	e.logf("run %s: checkpoint failed, retrying in 1s: %v", it.runID, err)
	e.inASecond(it.runID, it.flowID)
}

// inASecond queues a run again in a second: its stored state is
// consistent, and the store could not serve it now.
func (e *Engine) inASecond(runID, flowID string) {
	e.timers.add(e.now().Add(time.Second), &item{runID: runID, flowID: flowID})
}

func (e *Engine) newState(r *Run, c *Compiled) *runState {
	st := &runState{e: e, run: r, c: c, recs: make(map[string]*StepRun, len(r.Steps)),
		steps: make(map[string]any, len(r.Steps)), started: e.now()}
	st.answers.e = e
	if r.Vars == nil {
		r.Vars = map[string]any{}
	}
	// Expressions see the values; the record keeps them redacted.
	st.vars = make(map[string]any, len(r.Vars))
	for k, v := range r.Vars {
		st.vars[k] = v
	}
	st.runEnv = map[string]any{"id": r.ID, "attempt": 1, "resume_urls": e.resumeURLs(r, c)}
	st.env = map[string]any{
		"trigger": TriggerEnv(&r.Trigger),
		"steps":   st.steps,
		"vars":    st.vars,
		"secrets": e.SecretValues(),
		"run":     st.runEnv,
		"flow":    map[string]any{"id": c.Flow.ID, "name": c.Flow.Name, "version": c.Flow.Version},
		"item":    nil,
		"index":   nil,
	}
	for _, s := range r.Steps {
		st.recs[s.ID] = s
		st.steps[baseID(s.ID)] = stepEnv(s)
	}
	return st
}

// evaluation is what the step's expressions run under: the engine's limits,
// no longer than the step's own timeout, stopped when the run is canceled.
func (st *runState) evaluation(cs *CStep) *Evaluation {
	st.eval.Ctx = st.ctx
	st.eval.Limits = st.e.cfg.ExprLimits
	if t := cs.Timeout.D(); t > 0 && (st.eval.Limits.Time <= 0 || t < st.eval.Limits.Time) {
		st.eval.Limits.Time = t
	}
	if st.eval.Derived == nil {
		st.eval.Derived = st.derive
	}
	return &st.eval
}

// derive records a string computed from secrets, to be redacted like one.
func (st *runState) derive(s string) {
	if len(s) < 4 || slices.Contains(st.derived, s) || len(st.derived) >= 256 {
		return
	}
	st.derived = append(st.derived, s)
	st.red = nil
}

func (st *runState) redaction() Redaction {
	if len(st.derived) == 0 || st.e.cfg.Secrets == nil {
		return nil
	}
	if st.red == nil {
		st.red = st.e.cfg.Secrets.With(st.derived)
	}
	return st.red
}

// redact hides secrets and the values this run derived from them.
func (st *runState) redact(s string) string {
	if r := st.redaction(); r != nil {
		return r.RedactString(s)
	}
	return st.e.redact(s)
}

func (st *runState) redactValue(v any) any {
	if r := st.redaction(); r != nil && v != nil {
		return r.RedactValue(v)
	}
	return st.e.redactValue(v)
}

// baseID strips a foreach prefix: "loop[2].send" → "send".
func baseID(id string) string {
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		return id[i+1:]
	}
	return id
}

func stepEnv(s *StepRun) map[string]any {
	return map[string]any{"output": s.Output, "status": string(s.Status), "error": s.Error, "attempts": s.Attempts}
}

// TriggerEnv turns trigger data into the plain maps expressions see.
func TriggerEnv(t *TriggerData) map[string]any {
	headers := make(map[string]any, len(t.Headers))
	for k, v := range t.Headers {
		headers[k] = v
	}
	query := make(map[string]any, len(t.Query))
	for k, v := range t.Query {
		if l, ok := v.([]string); ok {
			v = toAnyList(l)
		}
		query[k] = v
	}
	files := make([]any, len(t.Files))
	for i, f := range t.Files {
		files[i] = map[string]any{"field": f.Field, "filename": f.Filename, "content_type": f.ContentType,
			"size": f.Size, "sha256": f.SHA256}
	}
	m := map[string]any{"type": t.Type, "method": t.Method, "path": t.Path, "headers": headers, "query": query,
		"body": t.Body, "files": files, "raw": t.Raw, "received_at": t.ReceivedAt.UTC().Format(time.RFC3339Nano),
		"reconciled": t.Reconciled, "raw_base64": t.RawBase64}
	if t.XML != nil {
		m["xml"] = t.XML
	}
	if t.FileData != nil {
		data := make(map[string]any, len(t.FileData))
		for k, v := range t.FileData {
			data[k] = v
		}
		m["file_data"] = data
	}
	return m
}

// scope is the foreach iteration in force: item and index.
type scope struct {
	item  any
	index int
}

func (st *runState) envFor(sc *scope) map[string]any {
	if sc == nil {
		return st.env
	}
	env := make(map[string]any, len(st.env))
	for k, v := range st.env {
		env[k] = v
	}
	env["item"] = sc.item
	env["index"] = sc.index
	return env
}

// walk runs steps in order under prefix ("" at the top, "loop[2]." in a foreach).
func (st *runState) walk(ctx context.Context, steps []*CStep, prefix string, sc *scope) outcome {
	for _, cs := range steps {
		if ctx.Err() != nil {
			st.errMsg = "canceled"
			return aborted // canceled or stopping: begin no other step
		}
		key := prefix + cs.ID
		rec := st.recs[key]
		if rec != nil && rec.Status.Done() {
			if o := st.replayed(cs, rec); o != goOn {
				return o
			}
			continue
		}
		if o := st.step(ctx, cs, key, rec, prefix, sc); o != goOn {
			return o
		}
	}
	return goOn
}

// replayed applies a finished record's effects without running the step.
func (st *runState) replayed(cs *CStep, rec *StepRun) outcome {
	if rec.Status != StepSkipped {
		st.last = rec.Output
	}
	switch {
	case rec.Status == StepFailed && cs.OnError != OnErrorContinue:
		st.errMsg = fmt.Sprintf("step %s: %s", rec.ID, rec.Error)
		return failed
	case cs.Type == StepFilter && rec.Status == StepSucceeded:
		if m, ok := rec.Output.(map[string]any); ok && m["passed"] == false {
			return filtered
		}
	case cs.Type == StepSet && rec.Status == StepSucceeded:
		if m, ok := rec.Output.(map[string]any); ok {
			for k, v := range m {
				st.vars[k] = v
				st.run.Vars[k] = v
			}
		}
	}
	return goOn
}

func (st *runState) record(key string, cs *CStep) *StepRun {
	rec := &StepRun{ID: key, Type: cs.Type}
	st.recs[key] = rec
	st.run.Steps = append(st.run.Steps, rec)
	return rec
}

// done finishes a record (keeping out redacted) and publishes out to expressions.
func (st *runState) done(cs *CStep, rec *StepRun, status StepStatus, out any, errMsg string) {
	st.doneAs(cs, rec, status, st.redactValue(out), out, errMsg)
}

// doneAs is done with the record's value (stored, redacted) given apart
// from what later steps see (out).
func (st *runState) doneAs(cs *CStep, rec *StepRun, status StepStatus, stored, out any, errMsg string) {
	now := st.e.now().UTC()
	rec.Status, rec.Output, rec.Error, rec.NextAt = status, stored, errMsg, nil
	if rec.StartedAt == nil {
		rec.StartedAt = &now
	}
	if rec.Attempts == 0 && status != StepSkipped {
		rec.Attempts = 1
	}
	rec.FinishedAt = &now
	rec.DurationMS = float64(now.Sub(*rec.StartedAt).Microseconds()) / 1000
	st.run.Interrupted = 0 // progress: earlier crashes were not this step's
	env := stepEnv(rec)
	env["output"] = out // later steps see the value; the record keeps it redacted
	st.steps[cs.ID] = env
	if status != StepSkipped {
		st.last = out
	}
	st.dirty = true
	st.e.obs.StepFinished(st.run.FlowID, cs.Type, status, now.Sub(*rec.StartedAt))
}

// fail records a step failure and decides whether the run goes on.
func (st *runState) fail(cs *CStep, rec *StepRun, out any, msg string) outcome {
	if st.ctx != nil && st.ctx.Err() != nil {
		// Stopped by a cancel or shutdown, not by its own fault: a cancel
		// marks the step canceled; after a shutdown it runs again.
		rec.Status = StepRunning
		st.errMsg = "canceled"
		return aborted
	}
	st.done(cs, rec, StepFailed, out, msg)
	return st.afterFail(cs, rec, msg)
}

// afterFail decides whether the run goes on after a failed step.
func (st *runState) afterFail(cs *CStep, rec *StepRun, msg string) outcome {
	if cs.OnError == OnErrorContinue {
		return goOn
	}
	st.errMsg = fmt.Sprintf("step %s: %s", rec.ID, msg)
	return failed
}

// saveRun checkpoints a run this node executes, unless its lease may have
// expired: after a stall longer than the lease another node may run it, so
// this one writes nothing (ErrLeaseLost).
func (e *Engine) saveRun(ctx context.Context, r *Run) error {
	return e.saveRunIf(ctx, r, e.leaseFresh(r.ID))
}

func (e *Engine) saveRunIf(ctx context.Context, r *Run, fresh bool) error {
	if !fresh {
		return fmt.Errorf("run %s: this node's lease may have expired: %w", r.ID, ErrLeaseLost)
	}
	return e.store.SaveRun(ctx, r)
}

// err is why the run was aborted.
func (st *runState) err() error {
	if st.lost {
		return ErrLeaseLost
	}
	return errors.New(st.errMsg)
}

// checkpoint writes the run durably if anything changed.
func (st *runState) checkpoint(ctx context.Context) bool {
	if !st.dirty || st.ephemeral {
		return true
	}
	// A checkpoint is written even when the run was just canceled or the
	// server is stopping: it records a finished side effect.
	if err := st.e.saveRun(context.WithoutCancel(ctx), st.run); err != nil {
		st.errMsg = err.Error()
		st.lost = st.lost || errors.Is(err, ErrLeaseLost)
		return false
	}
	st.dirty = false
	return true
}

func (st *runState) step(ctx context.Context, cs *CStep, key string, rec *StepRun, prefix string, sc *scope) outcome {
	env := st.envFor(sc)
	if rec == nil {
		rec = st.record(key, cs)
		if cs.cond != nil {
			ok, err := cs.cond.Cond(st.evaluation(cs), env)
			if err != nil {
				return st.fail(cs, rec, nil, "if: "+st.redact(err.Error()))
			}
			if !ok {
				st.done(cs, rec, StepSkipped, nil, "")
				return goOn
			}
		}
		now := st.e.now().UTC()
		rec.StartedAt = &now
	}
	switch cs.Type {
	case StepFilter:
		ok, err := cs.when.Cond(st.evaluation(cs), env)
		if err != nil {
			return st.fail(cs, rec, nil, "when: "+st.redact(err.Error()))
		}
		st.done(cs, rec, StepSucceeded, map[string]any{"passed": ok}, "")
		if !ok {
			return filtered
		}
		return goOn
	case StepBranch:
		return st.branch(ctx, cs, rec, prefix, sc, env)
	case StepForeach:
		return st.foreach(ctx, cs, rec, prefix, env)
	case StepSet:
		v, err := cs.with.Run(st.evaluation(cs), env)
		if err != nil {
			return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
		}
		vars, _ := v.(map[string]any)["vars"].(map[string]any)
		for k, x := range vars {
			st.vars[k] = x
			st.run.Vars[k] = st.redactValue(x)
		}
		st.done(cs, rec, StepSucceeded, vars, "")
		return goOn
	case StepDelay:
		return st.delay(ctx, cs, rec, env)
	case StepRespond:
		return st.respond(cs, rec, env)
	case StepWait:
		return st.wait(ctx, cs, rec, env)
	case StepCall:
		return st.call(ctx, cs, rec, env)
	case StepParallel:
		return st.parallel(ctx, cs, rec, prefix, sc)
	case StepFail:
		v, err := cs.with.Run(st.evaluation(cs), env)
		if err != nil {
			return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
		}
		msg := Stringify(v.(map[string]any)["message"])
		if msg == "" {
			msg = "failed by a fail step"
		}
		return st.fail(cs, rec, nil, st.redact(msg))
	}
	return st.action(ctx, cs, rec, env)
}

func (st *runState) branch(ctx context.Context, cs *CStep, rec *StepRun, prefix string, sc *scope, env map[string]any) outcome {
	chosen := -2
	if m, ok := rec.Output.(map[string]any); ok && rec.Status == StepRunning {
		if n, ok := toInt(m["case"]); ok {
			chosen = n
		}
	}
	if chosen == -2 {
		chosen = -1
		for i, c := range cs.cases {
			ok, err := c.when.Cond(st.evaluation(cs), env)
			if err != nil {
				return st.fail(cs, rec, nil, fmt.Sprintf("cases[%d].when: %s", i, st.redact(err.Error())))
			}
			if ok {
				chosen = i
				break
			}
		}
		name := "default"
		if chosen >= 0 {
			name = cs.cases[chosen].name
			if name == "" {
				name = fmt.Sprintf("case %d", chosen+1)
			}
		}
		rec.Status = StepRunning
		rec.Output = map[string]any{"case": chosen, "name": name}
		st.dirty = true
	}
	body := cs.def
	if chosen >= 0 && chosen < len(cs.cases) {
		body = cs.cases[chosen].steps
	}
	o := st.walk(ctx, body, prefix, sc)
	switch o {
	case goOn, filtered:
		out := rec.Output
		st.done(cs, rec, StepSucceeded, out, "")
	case failed:
		st.done(cs, rec, StepFailed, rec.Output, st.errMsg)
	}
	return o
}

func (st *runState) foreach(ctx context.Context, cs *CStep, rec *StepRun, prefix string, env map[string]any) outcome {
	var items []any
	if rec.Status == StepRunning {
		items, _ = rec.Input.([]any)
	} else {
		v, err := cs.items.Run(st.evaluation(cs), env)
		if err != nil {
			return st.fail(cs, rec, nil, "items: "+st.redact(err.Error()))
		}
		var ok bool
		if items, ok = toList(v); !ok {
			return st.fail(cs, rec, nil, fmt.Sprintf("items: `%s` gave %s, not a list", cs.Items, jsonKind(v)))
		}
		limit := cs.MaxItems
		if limit == 0 {
			limit = defaultMaxItems
		}
		if len(items) > limit {
			return st.fail(cs, rec, nil, fmt.Sprintf("items: %d items, more than max_items %d", len(items), limit))
		}
		rec.Status = StepRunning
		rec.Input = st.redactValue(items)
		st.dirty = true
	}
	outs := make([]any, len(items))
	for i, it := range items {
		p := fmt.Sprintf("%s%s[%d].", prefix, cs.ID, i)
		o := st.walk(ctx, cs.body, p, &scope{item: it, index: i})
		switch o {
		case goOn:
		case failed:
			st.done(cs, rec, StepFailed, outs[:i], st.errMsg)
			return failed
		default:
			return o
		}
		for j := len(cs.body) - 1; j >= 0; j-- {
			if r := st.recs[p+cs.body[j].ID]; r != nil && r.Status != StepSkipped {
				outs[i] = r.Output
				break
			}
		}
	}
	st.done(cs, rec, StepSucceeded, outs, "")
	return goOn
}

func (st *runState) delay(ctx context.Context, cs *CStep, rec *StepRun, env map[string]any) outcome {
	now := st.e.now()
	if rec.Status == StepWaiting && rec.NextAt != nil {
		if now.Before(*rec.NextAt) {
			st.wakeAt = *rec.NextAt
			return suspended
		}
		st.done(cs, rec, StepSucceeded, map[string]any{"waited_until": rec.NextAt.Format(time.RFC3339Nano)}, "")
		return goOn
	}
	v, err := cs.with.Run(st.evaluation(cs), env)
	if err != nil {
		return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
	}
	m, _ := v.(map[string]any)
	var at time.Time
	switch {
	case m["for"] != nil:
		d, err := time.ParseDuration(Stringify(m["for"]))
		if err != nil {
			return st.fail(cs, rec, nil, fmt.Sprintf("with.for: bad duration %q", Stringify(m["for"])))
		}
		at = now.Add(d)
	case m["until"] != nil:
		t, ok := m["until"].(time.Time)
		if !ok {
			p, err := fnParseTime(Stringify(m["until"]))
			if err != nil {
				return st.fail(cs, rec, nil, "with.until: "+err.Error())
			}
			t = p.(time.Time)
		}
		at = t
	}
	if !at.After(now) {
		st.done(cs, rec, StepSucceeded, map[string]any{"waited_until": at.UTC().Format(time.RFC3339Nano)}, "")
		return goOn
	}
	at = at.UTC()
	rec.Status = StepWaiting
	rec.NextAt = &at
	st.wakeAt = at
	st.dirty = true
	return suspended
}

func (st *runState) respond(cs *CStep, rec *StepRun, env map[string]any) outcome {
	v, err := cs.with.Run(st.evaluation(cs), env)
	if err != nil {
		return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
	}
	m, _ := v.(map[string]any)
	status := 200
	if n, ok := toInt(m["status"]); ok && n >= 100 && n <= 599 {
		status = n
	}
	headers := map[string]string{}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, x := range h {
			headers[k] = Stringify(x)
		}
	}
	out := map[string]any{"status": status, "headers": headers, "body": m["body"]}
	delivered := false
	if ch, ok := st.e.waiters.LoadAndDelete(st.run.ID); ok {
		ch.(chan Reply) <- Reply{Status: status, Headers: headers, Body: m["body"]}
		delivered = true
	}
	out["delivered"] = delivered
	st.done(cs, rec, StepSucceeded, out, "")
	return goOn
}

func (st *runState) action(ctx context.Context, cs *CStep, rec *StepRun, env map[string]any) outcome {
	now := st.e.now()
	attempt := rec.Attempts + 1
	switch rec.Status {
	case StepRunning:
		attempt = max(rec.Attempts, 1) // interrupted by a crash: the same attempt again
	case StepWaiting:
		if rec.NextAt != nil && now.Before(*rec.NextAt) {
			st.wakeAt = *rec.NextAt
			return suspended
		}
	}
	st.runEnv["attempt"] = attempt
	v, err := cs.with.Run(st.evaluation(cs), env)
	if err != nil {
		rec.Attempts = attempt
		return st.fail(cs, rec, nil, "with."+st.redact(err.Error()))
	}
	cfg, err := DecodeWith(cs.spec, v, cs.action.New())
	if err != nil {
		rec.Attempts = attempt
		return st.fail(cs, rec, nil, "with"+fieldSuffix(err)+": "+st.redact(decodeMessage(err))+st.missingSecrets(cs))
	}
	rec.Status = StepRunning
	rec.Attempts = attempt
	rec.Input = st.redactValue(v)
	rec.NextAt = nil
	st.dirty = true
	if !st.checkpoint(ctx) {
		return aborted
	}
	if _, ok := st.e.cancels.Load(st.run.ID); ok {
		st.errMsg = "canceled"
		return aborted
	}
	timeout := cs.Timeout.D()
	if timeout <= 0 {
		timeout = st.e.cfg.StepTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	var logs []string
	sc := &StepContext{RunID: st.run.ID, FlowID: st.run.FlowID, StepID: rec.ID, Attempt: attempt,
		IdempotencyKey: st.run.ID + ":" + rec.ID,
		HTTP:           st.e.cfg.HTTP, Dial: st.e.cfg.Dial, KV: st.e.store, Now: st.e.now,
		Log: func(msg string) { logs = append(logs, msg) }, Room: st.answers.room}
	sc.Connections = st.e.connectionResolver()
	if readsData(cs.spec) {
		sc.Data = stepData(env) // a snapshot: parallel branches go on writing steps
	}
	st.mu.Unlock() // parallel branches go on while this side effect runs
	out, err := runAction(actx, cfg.(Action), sc)
	cancel()
	st.e.cfg.Fault("step.after_side_effect")
	st.mu.Lock()
	out = st.redactValue(out)
	rec.Logs = nil
	if len(logs) > 0 {
		rec.Logs = logLines(st.redactValue(toAnyList(logs)))
		if m, ok := out.(map[string]any); ok && cs.Type != "code" { // a code step's output is what it returned
			m["logs"] = st.redactValue(toAnyList(logs))
		}
	}
	// out is redacted once, above; the record and later steps share it.
	if err == nil {
		st.doneAs(cs, rec, StepSucceeded, out, out, "")
		if short, cut := truncateOutput(out); cut {
			rec.Output = short // history keeps a note; this execution's later steps saw it whole
			st.run.Truncated = true
		}
		return goOn
	}
	if ctx.Err() != nil {
		st.errMsg = "canceled"
		return aborted // canceled or stopping: the record stays running
	}
	msg := st.redact(err.Error()) + st.missingSecrets(cs)
	if errors.Is(err, context.DeadlineExceeded) && actx.Err() != nil {
		msg = fmt.Sprintf("timed out after %s: %s", timeout, msg)
	}
	if r := cs.Retry; r != nil && attempt < r.Attempts && !IsPermanent(err) {
		wait := backoff(r, attempt, RetryAfter(err))
		at := now.Add(wait).UTC()
		rec.Status, rec.Output, rec.Error, rec.NextAt = StepWaiting, out, msg, &at
		st.wakeAt = at
		st.retrying = true
		st.dirty = true
		return suspended
	}
	st.doneAs(cs, rec, StepFailed, out, out, msg)
	return st.afterFail(cs, rec, msg)
}

// missingSecrets names the secrets the step reads that are not set, as a
// hint appended to its error ("" when all are set).
func (st *runState) missingSecrets(cs *CStep) string {
	if len(cs.secrets) == 0 {
		return ""
	}
	have, _ := st.env["secrets"].(map[string]any)
	var missing []string
	for _, name := range cs.secrets {
		if _, ok := have[name]; !ok && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return " (secret " + strings.Join(missing, ", ") + " is not set: add it on the Secrets page or with `hookflow secrets set`)"
}

// runAction calls the action and turns a panic into a step error.
func runAction(ctx context.Context, a Action, sc *StepContext) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("action panicked: %v", r)
		}
	}()
	return a.Run(ctx, sc)
}

// backoff is exponential from r.Backoff (default 1s), capped by MaxBackoff
// (default 1h), with ±20% jitter, and never shorter than a Retry-After.
func backoff(r *Retry, attempt int, after time.Duration) time.Duration {
	base := r.Backoff.D()
	if base <= 0 {
		base = time.Second
	}
	maxB := r.MaxBackoff.D()
	if maxB <= 0 {
		maxB = time.Hour
	}
	d := base
	for i := 1; i < attempt && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return max(d, after)
}

// finish ends a run: final status, output, durable write, then notifications.
func (e *Engine) finish(ctx context.Context, st *runState, status RunStatus, msg string) {
	r := st.run
	now := e.now().UTC()
	if status == RunCanceled {
		// Steps the cancel interrupted say so instead of waiting forever.
		for _, s := range r.Steps {
			if s.Status == StepWaiting || s.Status == StepRunning || s.Status == "" {
				s.NextAt = nil
				s.FinishedAt = &now
				if s.Error != "" {
					s.Status, s.Error = StepFailed, "canceled after: "+s.Error
				} else {
					s.Status, s.Error = StepSkipped, "canceled"
				}
			}
		}
	}
	r.Status = status
	r.Error = st.redact(msg)
	r.NextAt = nil
	r.FinishedAt = &now
	if status == RunSucceeded || status == RunFiltered {
		r.Output = st.redactValue(st.last)
	}
	// An ending run leaves the held set first: a renewal meanwhile must not
	// take its missing lease for a takeover.
	fresh := e.leaseFresh(r.ID)
	e.unhold(r.ID)
	if err := e.saveRunIf(ctx, r, fresh); err != nil {
		e.hold(r.ID, r.FlowID)
		e.retryLater(&item{runID: r.ID, flowID: r.FlowID}, err)
		return
	}
	e.cancels.Delete(r.ID)
	e.obs.RunFinished(r.FlowID, status)
	e.ended(ctx, r)
	if ch, ok := e.waiters.LoadAndDelete(r.ID); ok {
		ch.(chan Reply) <- Reply{Final: true, Status: 200, Body: r.Output, Run: r}
	}
	// A failure flow's own failure does not start another: two flows naming
	// each other would loop forever.
	if status == RunFailed && st.c != nil && st.c.Flow.OnFailure != "" && r.Trigger.Type != "failure" {
		e.startOnFailure(ctx, st.c.Flow.OnFailure, r)
	}
}

func (e *Engine) startOnFailure(ctx context.Context, target string, r *Run) {
	body := map[string]any{"run_id": r.ID, "flow_id": r.FlowID, "error": r.Error, "status": string(r.Status),
		"trigger": TriggerEnv(&r.Trigger)}
	steps := make([]any, 0, len(r.Steps))
	for _, s := range r.Steps {
		steps = append(steps, map[string]any{"id": s.ID, "type": s.Type, "status": string(s.Status), "error": s.Error, "output": s.Output})
	}
	body["steps"] = steps
	_, _, err := e.Accept(ctx, target, &Event{Trigger: TriggerData{Type: "failure", Body: body},
		DedupeKey: "failure:" + r.ID, DedupeWindow: 24 * time.Hour})
	if err != nil {
		e.logf("run %s: start on_failure flow %s: %v", r.ID, target, err)
	}
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func toList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case nil:
		return []any{}, true
	case []string:
		return toAnyList(x), true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	case []int:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func toAnyList(xs []string) []any {
	out := make([]any, len(xs))
	for i, s := range xs {
		out[i] = s
	}
	return out
}
