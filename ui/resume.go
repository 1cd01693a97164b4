package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/triggers"
	"github.com/hookflow/hookflow/ui/views"
)

// resumeRoutes adds /resume/{token} (outside sessions: the token is the
// authorization) and the run page's "Resume now" form.
func (s *Server) resumeRoutes(app *fiber.App) {
	app.All("/resume/:token", s.resume)
	app.Post("/runs/:id/resume/:step", s.pageAuth, need(engine.RoleEditor), s.runResume)
}

// resume serves a wait step's resume URL: the first GET or POST resumes the
// run with the request (body parsed as a webhook body is) as the step's
// output; later requests get 410, unknown tokens 404, a body over the
// global body limit 413 (the run keeps waiting).
func (s *Server) resume(c *fiber.Ctx) error {
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodPost {
		c.Set(fiber.HeaderAllow, "GET, POST")
		return s.jsonError(c, fmt.Errorf("method %s not allowed: a resume URL takes GET or POST: %w", m, engine.ErrMethod))
	}
	raw := c.Request().Body() // raw: c.Body() would inflate without a limit
	if int64(len(raw)) > s.MaxBody {
		return c.Status(fiber.StatusRequestEntityTooLarge).JSON(fiber.Map{"error": "body is over the limit of " +
			strconv.FormatInt(s.MaxBody, 10) + " bytes; the run keeps waiting"})
	}
	in := s.inbound(c, raw)
	// Parsed as a webhook without verification is: JSON, form, multipart, text.
	ev, err := (&triggers.Webhook{Methods: engine.StringList{fiber.MethodGet, fiber.MethodPost}}).Receive(in, &engine.ReceiveContext{Now: in.ReceivedAt})
	if err != nil {
		return s.jsonError(c, err)
	}
	token, err := url.PathUnescape(c.Params("token"))
	if err != nil {
		token = ""
	}
	runID, err := s.eng.Resume(c.UserContext(), token, &engine.ResumeRequest{Method: in.Method,
		Query: ev.Trigger.Query, Headers: ev.Trigger.Headers, Body: ev.Trigger.Body, ReceivedAt: in.ReceivedAt})
	if errors.Is(err, engine.ErrGone) {
		return c.Status(fiber.StatusGone).JSON(fiber.Map{"error": s.eng.Redact(err.Error())})
	}
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(fiber.Map{"run_id": runID, "resumed": true})
}

// runResume is the run page's "Resume now": it resumes a waiting step as a
// request to its URL would, with an empty POST.
func (s *Server) runResume(c *fiber.Ctx) error {
	id, step := c.Params("id"), c.Params("step")
	u, err := s.eng.ResumeURL(c.UserContext(), id, step)
	if err == nil {
		_, err = s.eng.Resume(c.UserContext(), resumeToken(u), &engine.ResumeRequest{Method: fiber.MethodPost,
			Headers: map[string]string{"x-hookflow-resumed-by": "run page"}})
	}
	if err != nil {
		return redirectFlash(c, "/runs/"+id, "error", "Could not resume: "+err.Error())
	}
	return redirectFlash(c, "/runs/"+id, "ok", "Resumed: the run goes on from step "+step+".")
}

// resumeToken is the token part of a resume URL.
func resumeToken(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[i+1:]
		}
	}
	return u
}

// waitViews are a run's wait steps that wait for a request, with their URLs.
func (s *Server) waitViews(ctx context.Context, r *engine.Run) []views.WaitView {
	var out []views.WaitView
	for _, st := range r.Steps {
		if st.Type != engine.StepWait || st.Status != engine.StepWaiting {
			continue
		}
		if u, err := s.eng.ResumeURL(ctx, r.ID, st.ID); err == nil {
			out = append(out, views.WaitView{Step: st.ID, URL: u})
		}
	}
	return out
}

// callableFlows lists the flows a call step in flow self may run: every
// enabled flow but itself, sorted by id.
func (s *Server) callableFlows(self string) []string {
	var out []string
	for id := range s.eng.FlowNames() {
		if id == self {
			continue
		}
		if c, err := s.eng.Flow(id); err == nil && c.Flow.Enabled {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
