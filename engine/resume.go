package engine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A wait step's resume URL is {base-url}/resume/{run id}.{step id}.{mac}: the
// mac is an HMAC-SHA256 (cut to 128 bits) of the run and step ids under a
// random per-install key kept in the store's meta (resumeKeyMeta), so a URL
// cannot be guessed or moved to another run or step, and every node sharing
// the store computes the same URLs. Nothing per URL is stored until it is
// used: the first request stores the step's outcome with a compare-and-set
// (ResumeStore.ClaimResume); every later one finds it taken.

// ErrGone: a resume URL that was used already, or whose run has ended.
var ErrGone = errors.New("gone")

// ResumeStore keeps the outcome of wait steps: the request that resumed one,
// or its timeout, whichever came first.
type ResumeStore interface {
	// ClaimResume stores value as the outcome of (run, step) unless one is
	// stored already; won reports whether this call stored it, else existing
	// is the stored one. It returns once the write is durable.
	ClaimResume(ctx context.Context, runID, stepID string, value []byte) (existing []byte, won bool, err error)
	// GetResume returns the stored outcome of (run, step), or ErrNotFound.
	GetResume(ctx context.Context, runID, stepID string) ([]byte, error)
	// DeleteResumes removes a run's outcomes (when it has ended).
	DeleteResumes(ctx context.Context, runID string) error
}

// MaxCallDepth bounds chains of call steps.
const MaxCallDepth = 10

const resumeKeyMeta = "engine.resume_key"

// ResumeRequest is the outside request that resumes a wait step.
type ResumeRequest struct {
	Method     string
	Query      map[string]any
	Headers    map[string]string
	Body       any
	ReceivedAt time.Time
}

func (e *Engine) resumes() (ResumeStore, error) {
	rs, ok := e.store.(ResumeStore)
	if !ok {
		return nil, errors.New("this store cannot keep wait steps' outcomes")
	}
	return rs, nil
}

// resumeKey returns the install's resume key, made at first use.
func (e *Engine) resumeKey(ctx context.Context) ([]byte, error) {
	e.keyMu.Lock()
	defer e.keyMu.Unlock()
	if e.rkey != nil {
		return e.rkey, nil
	}
	k, err := e.store.GetMeta(ctx, resumeKeyMeta)
	if errors.Is(err, ErrNotFound) || (err == nil && len(k) != 32) {
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("make resume key: %w", err)
		}
		if err := e.store.PutMeta(ctx, resumeKeyMeta, k); err != nil {
			return nil, fmt.Errorf("store resume key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read resume key: %w", err)
	}
	e.rkey = k
	return k, nil
}

func resumeMAC(key []byte, runID, stepID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(runID))
	m.Write([]byte{0})
	m.Write([]byte(stepID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// ResumeURL returns the URL that resumes the wait step stepID of a run.
func (e *Engine) ResumeURL(ctx context.Context, runID, stepID string) (string, error) {
	k, err := e.resumeKey(ctx)
	if err != nil {
		return "", err
	}
	return e.baseURL() + "/resume/" + runID + "." + stepID + "." + resumeMAC(k, runID, stepID), nil
}

func (e *Engine) baseURL() string {
	if e.cfg.BaseURL == "" {
		return "http://localhost:8080"
	}
	return strings.TrimRight(e.cfg.BaseURL, "/")
}

// resumeURLs are a run's resume URLs by wait step (run.resume_urls).
func (e *Engine) resumeURLs(r *Run, c *Compiled) map[string]any {
	out := make(map[string]any, len(c.Waits))
	if len(c.Waits) == 0 {
		return out
	}
	k, err := e.resumeKey(e.ctxOrBackground())
	if err != nil {
		e.logf("run %s: %v", r.ID, err)
		return out
	}
	for _, id := range c.Waits {
		out[id] = e.baseURL() + "/resume/" + r.ID + "." + id + "." + resumeMAC(k, r.ID, id)
	}
	return out
}

func (e *Engine) ctxOrBackground() context.Context {
	if e.ctx != nil {
		return context.WithoutCancel(e.ctx)
	}
	return context.Background()
}

// parseResumeToken checks a token's mac and returns its run and step.
func (e *Engine) parseResumeToken(ctx context.Context, token string) (runID, stepID string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || !stepIDRe.MatchString(parts[1]) {
		return "", "", fmt.Errorf("no such resume URL: %w", ErrNotFound)
	}
	k, err := e.resumeKey(ctx)
	if err != nil {
		return "", "", err
	}
	if !hmac.Equal([]byte(parts[2]), []byte(resumeMAC(k, parts[0], parts[1]))) {
		return "", "", fmt.Errorf("no such resume URL: %w", ErrNotFound)
	}
	return parts[0], parts[1], nil
}

// ResumeTarget returns the run and step a resume token is for (ErrNotFound
// when the token is not one of this install's).
func (e *Engine) ResumeTarget(ctx context.Context, token string) (runID, stepID string, err error) {
	return e.parseResumeToken(ctx, token)
}

// Resume resumes the wait step a resume token names with the request as its
// output. Only the first request for a step resumes it: a token used before,
// or whose run has ended, gets ErrGone; an unknown token ErrNotFound; a run
// not yet waiting at the step ErrConflict.
func (e *Engine) Resume(ctx context.Context, token string, req *ResumeRequest) (string, error) {
	runID, stepID, err := e.parseResumeToken(ctx, token)
	if err != nil {
		return "", err
	}
	r, err := e.store.GetRun(ctx, runID)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("run %s no longer exists: %w", runID, ErrGone)
	}
	if err != nil {
		return "", err
	}
	if r.Status.Final() {
		return "", fmt.Errorf("run %s has ended (%s): %w", runID, r.Status, ErrGone)
	}
	rec := r.Step(stepID)
	switch {
	case rec != nil && rec.Status.Done():
		return "", fmt.Errorf("step %s of run %s was resumed already: %w", stepID, runID, ErrGone)
	case rec == nil || rec.Status != StepWaiting:
		return "", fmt.Errorf("run %s is not waiting at step %s yet: %w", runID, stepID, ErrConflict)
	}
	rs, err := e.resumes()
	if err != nil {
		return "", err
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = e.now()
	}
	if req.Query == nil {
		req.Query = map[string]any{}
	}
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	out := map[string]any{"method": req.Method, "query": req.Query, "headers": req.Headers, "body": req.Body,
		"received_at": req.ReceivedAt.UTC().Format(time.RFC3339Nano)}
	b, err := json.Marshal(e.redactValue(out))
	if err != nil {
		return "", fmt.Errorf("resume run %s: encode the request: %w", runID, err)
	}
	if _, won, err := rs.ClaimResume(ctx, runID, stepID, b); err != nil {
		return "", fmt.Errorf("resume run %s: %w", runID, err)
	} else if !won {
		return "", fmt.Errorf("step %s of run %s was resumed already: %w", stepID, runID, ErrGone)
	}
	// A request that read the run while it waited can claim after another
	// request resumed it and the run ended: the end drops the run's
	// outcomes, so the claim finds the place free. The run is read again;
	// an ended run means this request came too late.
	if now, err := e.store.GetRun(ctx, runID); err == nil && now.Status.Final() {
		if err := rs.DeleteResumes(ctx, runID); err != nil {
			e.logf("run %s: drop a late wait outcome: %v", runID, err)
		}
		return "", fmt.Errorf("run %s has ended (%s): %w", runID, now.Status, ErrGone)
	}
	e.wakeRun(ctx, runID, r.FlowID) // through a notice when another node holds it
	return runID, nil
}

// wake queues a run whose wait ended (resumed, or its child finished). A run
// executing now is queued again once it stops, so that a wake that came
// while it was about to suspend is not lost.
func (e *Engine) wake(runID, flowID string) {
	e.wakes.Store(runID, flowID)
	e.timers.remove(runID)
	e.q.push(&item{runID: runID, flowID: flowID})
}

// resumable reports whether a waiting run found at start must execute now:
// false only when each of its waiting steps is a wait step nobody resumed
// (it then sleeps until its timeout, or until a request resumes it).
func (e *Engine) resumable(ctx context.Context, r *Run) bool {
	if _, err := e.resumes(); err != nil {
		return true
	}
	waiting := false
	for _, s := range r.Steps {
		if s.Status != StepWaiting {
			continue
		}
		waiting = true
		if s.Type != StepWait {
			return true
		}
	}
	return !waiting || e.waitResumed(ctx, r)
}

// waitResumed reports whether one of the run's waiting `wait` steps has a
// stored outcome (a request resumed it, or its timeout was recorded); an
// outcome the store cannot read now counts as stored (executing the run
// finds out).
func (e *Engine) waitResumed(ctx context.Context, r *Run) bool {
	rs, err := e.resumes()
	if err != nil {
		return false
	}
	for _, s := range r.Steps {
		if s.Status == StepWaiting && s.Type == StepWait {
			if _, err := rs.GetResume(ctx, r.ID, s.ID); !errors.Is(err, ErrNotFound) {
				return true
			}
		}
	}
	return false
}
