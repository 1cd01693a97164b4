package ui

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// deliveryQuery reads the delivery filters shared by the API and the page.
func deliveryQuery(c *fiber.Ctx, flowID string) (engine.DeliveryQuery, error) {
	q := engine.DeliveryQuery{FlowID: flowID, Outcome: engine.DeliveryOutcome(c.Query("outcome")), Cursor: c.Query("cursor")}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return q, paramProblem("limit", "must be a number from 1 to 500")
		}
		q.Limit = n
	}
	switch q.Outcome {
	case "", engine.DeliveryRun, engine.DeliveryDuplicate, engine.DeliveryRefused, engine.DeliveryCaptured:
	default:
		return q, paramProblem("outcome", fmt.Sprintf("unknown outcome %q (run, duplicate, refused, captured)", q.Outcome))
	}
	return q, nil
}

// listDeliveries checks the flow exists and reads one page of its deliveries.
func (s *Server) listDeliveries(c *fiber.Ctx, flowID string) ([]*engine.Delivery, string, error) {
	if _, err := s.store.GetFlow(c.UserContext(), flowID); err != nil {
		return nil, "", err
	}
	q, err := deliveryQuery(c, flowID)
	if err != nil {
		return nil, "", err
	}
	st, ok := s.store.(engine.DeliveryStore)
	if !ok {
		return []*engine.Delivery{}, "", nil
	}
	ds, next, err := st.ListDeliveries(c.UserContext(), q)
	if ds == nil {
		ds = []*engine.Delivery{}
	}
	return ds, next, err
}

// apiDeliveries answers GET /api/v1/flows/{id}/deliveries, newest first.
func (s *Server) apiDeliveries(c *fiber.Ctx) error {
	ds, next, err := s.listDeliveries(c, c.Params("id"))
	if err != nil {
		return s.jsonError(c, err)
	}
	out := fiber.Map{"deliveries": ds}
	if next != "" {
		out["next_cursor"] = next
	}
	return c.JSON(out)
}
