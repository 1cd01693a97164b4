package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// flowView is a flow as the API returns it: the document plus its webhook
// URL (a copy: the engine's flows are shared).
func (s *Server) flowView(f *engine.Flow) *engine.Flow {
	v := *f
	if f.Trigger.Type == "webhook" {
		v.WebhookURL = s.webhookURL(f.ID)
	}
	return &v
}

func (s *Server) apiListFlows(c *fiber.Ctx) error {
	flows, err := s.store.ListFlows(c.UserContext())
	if err != nil {
		return s.jsonError(c, err)
	}
	out := make([]*engine.Flow, 0, len(flows))
	for _, f := range flows {
		out = append(out, s.flowView(f))
	}
	return c.JSON(fiber.Map{"flows": out})
}

// decodeFlowBody reads a flow document strictly from the request body.
func decodeFlowBody(c *fiber.Ctx) (*engine.Flow, error) {
	return engine.DecodeFlow(c.Request().Body())
}

func (s *Server) apiCreateFlow(c *fiber.Ctx) error {
	f, err := decodeFlowBody(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	saved, err := s.eng.CreateFlow(c.UserContext(), f)
	if err != nil {
		if errors.Is(err, engine.ErrExists) {
			return s.jsonError(c, fmt.Errorf("flow %q already exists: %w", f.ID, err))
		}
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(s.flowView(saved))
}

func (s *Server) apiGetFlow(c *fiber.Ctx) error {
	f, err := s.store.GetFlow(c.UserContext(), c.Params("id"))
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(s.flowView(f))
}

func (s *Server) apiPutFlow(c *fiber.Ctx) error {
	f, err := decodeFlowBody(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	if f.ID == "" {
		f.ID = c.Params("id")
	}
	if f.ID != c.Params("id") {
		return s.jsonError(c, &engine.ProblemsError{Problems: engine.Problems{{Path: "id",
			Message: fmt.Sprintf("the document's id %q differs from the URL's %q", f.ID, c.Params("id"))}}})
	}
	saved, err := s.eng.UpdateFlow(c.UserContext(), f)
	if errors.Is(err, engine.ErrNotFound) { // PUT creates a flow that does not exist yet
		if saved, err = s.eng.CreateFlow(c.UserContext(), f); err == nil {
			return c.Status(fiber.StatusCreated).JSON(s.flowView(saved))
		}
	}
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(s.flowView(saved))
}

func (s *Server) apiDeleteFlow(c *fiber.Ctx) error {
	if err := s.eng.DeleteFlow(c.UserContext(), c.Params("id")); err != nil {
		return s.jsonError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiValidateFlow checks a document without saving it: 200 {"problems":[]} or 422.
func (s *Server) apiValidateFlow(c *fiber.Ctx) error {
	f, err := decodeFlowBody(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	if ps := engine.Validate(f, s.eng.Registry()); len(ps) > 0 {
		return s.jsonError(c, ps.Err())
	}
	return c.JSON(fiber.Map{"problems": []engine.Problem{}})
}

// apiRunFlow starts a manual run; the request body (JSON) is trigger.body.
// With no body the flow's sample event is used.
func (s *Server) apiRunFlow(c *fiber.Ctx) error {
	var body any
	if raw := c.Request().Body(); len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			return s.jsonError(c, fmt.Errorf("body must be JSON: %v: %w", err, engine.ErrBadBody))
		}
	}
	id, err := s.eng.RunManual(c.UserContext(), c.Params("id"), body)
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": id})
}

// apiListen arms the flow to capture its next webhook as its sample event.
// With ?wait=30s it holds the request until the capture (200 with the sample)
// or the wait ends (202 {"listening":true}).
func (s *Server) apiListen(c *fiber.Ctx) error {
	id := c.Params("id")
	cf, err := s.eng.Flow(id)
	if err != nil {
		return s.jsonError(c, err)
	}
	if !cf.Flow.Enabled || cf.Flow.Trigger.Type != "webhook" {
		return s.jsonError(c, fmt.Errorf("flow %q cannot capture a test event: it must be enabled and have a webhook trigger: %w", id, engine.ErrConflict))
	}
	got, stop := s.eng.Listen(id)
	wait, _ := time.ParseDuration(c.Query("wait", "0s"))
	if wait <= 0 {
		go func() { // disarm after five minutes
			select {
			case <-got:
			case <-time.After(5 * time.Minute):
				stop()
			}
		}()
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"listening": true, "webhook_url": s.webhookURL(id)})
	}
	wait = min(wait, 2*time.Minute)
	select {
	case t := <-got:
		return c.JSON(fiber.Map{"sample": t})
	case <-time.After(wait):
		stop()
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"listening": false, "message": "no request arrived within " + wait.String()})
	}
}

func (s *Server) apiSample(c *fiber.Ctx) error {
	t, err := s.store.GetSample(c.UserContext(), c.Params("id"))
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(fiber.Map{"sample": t, "listening": s.eng.Listening(c.Params("id"))})
}

func (s *Server) apiFlowVersions(c *fiber.Ctx) error {
	vs, err := s.store.ListFlowVersions(c.UserContext(), c.Params("id"))
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(fiber.Map{"versions": vs})
}

func versionParam(c *fiber.Ctx) (int, error) {
	v, err := strconv.Atoi(c.Params("version"))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("version must be a positive number: %w", engine.ErrInvalid)
	}
	return v, nil
}

func (s *Server) apiFlowVersion(c *fiber.Ctx) error {
	v, err := versionParam(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	f, err := s.store.GetFlowVersion(c.UserContext(), c.Params("id"), v)
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(f)
}

func (s *Server) apiRestoreVersion(c *fiber.Ctx) error {
	v, err := versionParam(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	f, err := s.eng.RestoreFlowVersion(c.UserContext(), c.Params("id"), v)
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(s.flowView(f))
}

// apiKinds lists every trigger and step kind with its Spec (the `with` reference).
func (s *Server) apiKinds(c *fiber.Ctx) error {
	reg := s.eng.Registry()
	var trig []engine.Spec
	for _, k := range reg.Triggers() {
		trig = append(trig, k.Spec)
	}
	return c.JSON(fiber.Map{"triggers": trig, "steps": reg.StepSpecs()})
}
