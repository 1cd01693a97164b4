package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/triggers"
)

// hook receives /hooks/{flow}[/*]: copy the request out of fasthttp's buffers,
// check it against the flow's webhook settings, hand it to the trigger
// (verify, parse, dedupe key), store the run durably, then answer.
func (s *Server) hook(c *fiber.Ctx) error {
	flowID := c.Params("flow")
	var res hookResult
	code, err := s.receive(c, flowID, &res)
	refusal := err
	if err != nil {
		code = statusOf(err)
		if code == fiber.StatusMethodNotAllowed {
			if cf, ferr := s.eng.Flow(flowID); ferr == nil {
				if wh, ok := cf.Trigger.(*triggers.Webhook); ok {
					c.Set(fiber.HeaderAllow, strings.Join(allowedMethods(wh), ", "))
				}
			}
		}
		err = s.jsonError(c, err)
	}
	if code != fiber.StatusNotFound {
		s.Metrics.WebhookReceived(flowID, code)
	}
	if res.known {
		s.recordDelivery(c, flowID, code, &res, refusal)
	}
	return err
}

// hookResult is what receive learned for the delivery record.
type hookResult struct {
	known    bool   // the flow exists
	mask     string // the flow's own credential header
	runID    string
	dup      bool
	captured bool
}

func (s *Server) receive(c *fiber.Ctx, flowID string, res *hookResult) (int, error) {
	cf, err := s.eng.Flow(flowID)
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			return 0, fmt.Errorf("no flow %q: %w", flowID, engine.ErrNotFound)
		}
		return 0, err
	}
	res.known = true
	wh, ok := cf.Trigger.(*triggers.Webhook)
	if ok && wh.Verify != nil {
		res.mask = wh.Verify.Header
	}
	if !ok || !cf.Flow.Enabled {
		if !cf.Flow.Enabled {
			return 0, fmt.Errorf("flow %q is disabled: %w", flowID, engine.ErrNotFound)
		}
		return 0, fmt.Errorf("flow %q has a %s trigger and takes no webhooks: %w", flowID, cf.Flow.Trigger.Type, engine.ErrNotFound)
	}
	if !wh.AllowsMethod(c.Method()) {
		return 0, fmt.Errorf("method %s not allowed: this flow takes %s: %w", c.Method(), strings.Join(allowedMethods(wh), ", "), engine.ErrMethod)
	}
	if ok, after := s.limiters.Allow(flowID, wh.RateLimit, time.Now()); !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(after.Seconds()+0.999)))
		return 0, fmt.Errorf("over the flow's rate limit; retry after %s: %w", after.Round(time.Millisecond), engine.ErrRateLimited)
	}
	limit := wh.Limit(s.MaxBody)
	// The raw body, never c.Body(): that inflates Content-Encoding without a limit.
	raw := c.Request().Body()
	if int64(len(raw)) > limit {
		return 0, fmt.Errorf("body of %d bytes is over this flow's limit of %d bytes: %w", len(raw), limit, engine.ErrTooLarge)
	}
	body, err := triggers.Inflate(c.Get(fiber.HeaderContentEncoding), raw, limit)
	if err != nil {
		if wh.Verify != nil && !errors.Is(err, engine.ErrTooLarge) {
			// Verification comes before anything about the body: a body we
			// cannot decode cannot be verified (SPEC §2: 401 whatever the body).
			return 0, fmt.Errorf("cannot verify the signature: %v: %w", err, engine.ErrSignature)
		}
		return 0, err
	}
	in := s.inbound(c, body)
	ev, err := wh.Receive(in, &engine.ReceiveContext{Secrets: s.eng.SecretValues(), Now: in.ReceivedAt})
	if err != nil {
		return 0, err
	}
	ctx := c.UserContext()
	if captured, err := s.eng.Capture(ctx, flowID, &ev.Trigger); err != nil {
		return 0, err
	} else if captured {
		res.captured = true
		return fiber.StatusOK, c.Status(fiber.StatusOK).JSON(fiber.Map{"captured": true, "message": "saved as the flow's sample event; the flow did not run"})
	}

	switch wh.RespondMode() {
	case triggers.RespondWait:
		return s.respondWait(c, flowID, wh, ev, res)
	case triggers.RespondRedirect:
		runID, dup, err := s.eng.Accept(ctx, flowID, ev)
		if err != nil {
			return 0, err
		}
		res.runID, res.dup = runID, dup
		env := map[string]any{"trigger": engine.TriggerEnv(&ev.Trigger), "secrets": map[string]any{},
			"flow": map[string]any{"id": flowID, "name": cf.Flow.Name}, "run": map[string]any{"id": runID}}
		loc, err := wh.RedirectURL(env)
		if err != nil {
			return 0, fmt.Errorf("respond.url: %v: %w", err, engine.ErrInvalid)
		}
		c.Set(fiber.HeaderLocation, loc)
		return fiber.StatusSeeOther, c.SendStatus(fiber.StatusSeeOther)
	}
	runID, dup, err := s.eng.Accept(ctx, flowID, ev)
	if err != nil {
		return 0, err
	}
	res.runID, res.dup = runID, dup
	s.Fault("webhook.after_commit")
	if dup {
		return fiber.StatusOK, c.Status(fiber.StatusOK).JSON(fiber.Map{"run_id": runID, "duplicate": true})
	}
	return fiber.StatusAccepted, queuedAnswer(c, runID)
}

// queuedAnswer writes the 202 answer {"run_id":…,"status":"queued"}: the
// bytes c.JSON(fiber.Map{…}) writes, without encoding/json's reflection.
func queuedAnswer(c *fiber.Ctx, runID string) error {
	b := append(make([]byte, 0, 64), `{"run_id":`...)
	b, _ = engine.AppendJSON(b, runID) // a string always encodes
	b = append(b, `,"status":"queued"}`...)
	c.Status(fiber.StatusAccepted).Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return c.Send(b)
}

// respondWait holds the request until a respond step answers or the run ends,
// and answers 202 with the run id after the flow's timeout.
func (s *Server) respondWait(c *fiber.Ctx, flowID string, wh *triggers.Webhook, ev *engine.Event, res *hookResult) (int, error) {
	runID, dup, replies, err := s.eng.AcceptWait(c.UserContext(), flowID, ev)
	if err != nil {
		return 0, err
	}
	res.runID, res.dup = runID, dup
	if dup {
		return fiber.StatusOK, c.Status(fiber.StatusOK).JSON(fiber.Map{"run_id": runID, "duplicate": true})
	}
	t := time.NewTimer(wh.RespondTimeout())
	defer t.Stop()
	select {
	case r := <-replies:
		if r.Final {
			return fiber.StatusOK, c.Status(fiber.StatusOK).JSON(fiber.Map{"run_id": runID, "status": r.Run.Status, "output": r.Body})
		}
		stepType := "" // a Content-Type the step set wins
		for k, v := range r.Headers {
			if !respondHeaderAllowed(k) {
				continue
			}
			if strings.EqualFold(k, fiber.HeaderContentType) {
				stepType = v
			}
			c.Set(k, v)
		}
		// A flow's answer is served from the UI's origin: whatever it holds,
		// it runs in a sandbox without that origin (no cookies, no API).
		c.Set("Content-Security-Policy", "sandbox")
		c.Status(r.Status)
		switch b := r.Body.(type) {
		case nil:
			return r.Status, c.Send(nil)
		case string:
			if stepType == "" {
				c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			}
			return r.Status, c.SendString(b)
		default: // objects, arrays, numbers, booleans: JSON
			if err := c.JSON(b); err != nil {
				return 0, err
			}
			if stepType != "" {
				c.Set(fiber.HeaderContentType, stepType)
			}
			return r.Status, nil
		}
	case <-t.C:
		s.eng.Unwait(runID)
		return fiber.StatusAccepted, c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": runID, "status": "queued"})
	}
}

// inbound copies the request out of fasthttp's reused buffers.
func (s *Server) inbound(c *fiber.Ctx, body []byte) *engine.Inbound {
	in := &engine.Inbound{
		Method:     c.Method(),
		Path:       "",
		Headers:    map[string]string{},
		Query:      map[string][]string{},
		Raw:        append([]byte(nil), body...),
		RemoteAddr: c.IP(),
		ReceivedAt: time.Now().UTC(),
	}
	if rest := c.Params("*"); rest != "" {
		in.Path = "/" + rest
	}
	var scratch [64]byte
	c.Request().Header.VisitAll(func(k, v []byte) {
		name := lowerHeaderName(k, scratch[:0])
		if old, ok := in.Headers[name]; ok {
			in.Headers[name] = old + ", " + string(v)
		} else {
			in.Headers[name] = string(v)
		}
	})
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		in.Query[string(k)] = append(in.Query[string(k)], string(v))
	})
	return in
}

// lowerHeaderName returns k lower-cased as a string, with one allocation
// (strings.ToLower(string(k)) makes two for fasthttp's canonical names).
func lowerHeaderName(k, scratch []byte) string {
	for _, c := range k {
		if c >= utf8.RuneSelf { // not a token: as strings.ToLower has it
			return strings.ToLower(string(k))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		scratch = append(scratch, c)
	}
	return string(scratch)
}

// allowedMethods lists the methods a webhook takes, for 405 answers.
func allowedMethods(wh *triggers.Webhook) []string {
	if len(wh.Methods) == 0 {
		return []string{fiber.MethodPost}
	}
	return wh.Methods
}

// respondHeaderAllowed keeps a respond step from setting headers that act on
// the UI's origin (cookies, security policy).
func respondHeaderAllowed(name string) bool {
	switch strings.ToLower(name) {
	case "set-cookie", "content-security-policy", "content-security-policy-report-only",
		"strict-transport-security", "access-control-allow-origin", "access-control-allow-credentials":
		return false
	}
	return true
}
