package ui

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/ui/views"
)

// storePage browses the built-in key-value data.
func (s *Server) storePage(c *fiber.Ctx) error {
	return s.renderStore(c, fiber.StatusOK, views.StorePage{Prefix: c.Query("prefix")})
}

func (s *Server) renderStore(c *fiber.Ctx, code int, p views.StorePage) error {
	p.Page = s.page(c, "Data", "data")
	items, err := s.store.KVList(c.UserContext(), p.Prefix, 200)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, it := range items {
		row := views.KVRow{Key: it.Key, Value: pretty(it.Value), Updated: ago(it.UpdatedAt, now)}
		if it.ExpiresAt != nil {
			row.Expires = stamp(*it.ExpiresAt)
		}
		p.Items = append(p.Items, row)
	}
	return s.render(c, code, views.Store(p))
}

// storeSet writes a key: JSON values are kept typed, anything else as text.
func (s *Server) storeSet(c *fiber.Ctx) error {
	key := strings.TrimSpace(c.FormValue("key"))
	raw := c.FormValue("value")
	ttlText := strings.TrimSpace(c.FormValue("ttl"))
	form := views.StorePage{Key: key, Value: raw, TTL: ttlText}
	if key == "" {
		form.Error = "Enter a key."
		return s.renderStore(c, fiber.StatusUnprocessableEntity, form)
	}
	var ttl time.Duration
	if ttlText != "" && ttlText != "never" {
		d, err := time.ParseDuration(ttlText)
		if err != nil || d < 0 {
			form.Error = "Expires after: use a duration like 30m or 24h, or leave it empty."
			return s.renderStore(c, fiber.StatusUnprocessableEntity, form)
		}
		ttl = d
	}
	var value any = raw
	var x any
	if err := json.Unmarshal([]byte(raw), &x); err == nil {
		value = x
	}
	if err := s.store.KVSet(c.UserContext(), key, value, ttl); err != nil {
		form.Error = "Could not save: " + err.Error()
		return s.renderStore(c, statusOf(err), form)
	}
	return redirectFlash(c, "/store", "ok", "Saved "+key+".")
}

// storeDelete removes a key.
func (s *Server) storeDelete(c *fiber.Ctx) error {
	key := c.FormValue("key")
	if err := s.store.KVDelete(c.UserContext(), key); err != nil {
		return redirectFlash(c, "/store", "error", "Could not delete "+key+": "+err.Error())
	}
	return redirectFlash(c, "/store", "ok", "Deleted "+key+".")
}
