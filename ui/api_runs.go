package ui

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// runQuery reads the run filters shared by the API and the runs page.
func runQuery(c *fiber.Ctx) (engine.RunQuery, error) {
	q := engine.RunQuery{FlowID: c.Query("flow"), Status: engine.RunStatus(c.Query("status")),
		Text: c.Query("q"), Cursor: c.Query("cursor")}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return q, paramProblem("limit", "must be a number from 1 to 500")
		}
		q.Limit = n
	}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return q, paramProblem(name, "must be an RFC 3339 time")
			}
			*dst = t
		}
	}
	switch q.Status {
	case "", engine.RunQueued, engine.RunRunning, engine.RunWaiting, engine.RunSucceeded,
		engine.RunFiltered, engine.RunFailed, engine.RunCanceled:
	default:
		return q, paramProblem("status", fmt.Sprintf("unknown status %q (queued, running, waiting, succeeded, filtered, failed, canceled)", q.Status))
	}
	return q, nil
}

func (s *Server) apiListRuns(c *fiber.Ctx) error {
	q, err := runQuery(c)
	if err != nil {
		return s.jsonError(c, err)
	}
	page, err := s.store.ListRunSummaries(c.UserContext(), q)
	if err != nil {
		return s.jsonError(c, err)
	}
	out := fiber.Map{"runs": page.Runs, "scanned": page.Scanned}
	if page.Next != "" {
		out["next_cursor"] = page.Next
	}
	if page.Partial {
		out["partial"] = true
	}
	return c.JSON(out)
}

func (s *Server) apiGetRun(c *fiber.Ctx) error {
	r, err := s.store.GetRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(r)
}

// decodeOptional reads an optional JSON body strictly into v.
func decodeOptional(c *fiber.Ctx, v any) error {
	raw := c.Request().Body()
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %v: %w", err, engine.ErrBadBody)
	}
	return nil
}

func (s *Server) apiReplay(c *fiber.Ctx) error {
	var o engine.ReplayOptions
	if err := decodeOptional(c, &o); err != nil {
		return s.jsonError(c, err)
	}
	id, err := s.eng.Replay(c.UserContext(), c.Params("id"), o)
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": id})
}

func (s *Server) apiBulkReplay(c *fiber.Ctx) error {
	var b engine.BulkReplay
	if err := decodeOptional(c, &b); err != nil {
		return s.jsonError(c, err)
	}
	ids, err := s.eng.ReplayMany(c.UserContext(), b)
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_ids": ids})
}

func (s *Server) apiCancel(c *fiber.Ctx) error {
	if err := s.eng.Cancel(c.UserContext(), c.Params("id")); err != nil {
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": c.Params("id"), "canceling": true})
}

// paramProblem is a 422 for a query parameter or body field, in the
// {"error","problems"} shape.
func paramProblem(path, msg string) error {
	return &engine.ProblemsError{Problems: engine.Problems{{Path: path, Message: msg}}}
}
