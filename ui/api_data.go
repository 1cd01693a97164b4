package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// SecretNameRe is the form of a secret's name: {{ secrets.NAME }}.
var SecretNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func (s *Server) apiListSecrets(c *fiber.Ctx) error {
	names, err := s.Secrets.Names(c.UserContext())
	if err != nil {
		return s.jsonError(c, err)
	}
	out := make([]fiber.Map, 0, len(names))
	for _, n := range names {
		out = append(out, fiber.Map{"name": n})
	}
	return c.JSON(fiber.Map{"secrets": out})
}

func (s *Server) apiPutSecret(c *fiber.Ctx) error {
	name := c.Params("name")
	if !SecretNameRe.MatchString(name) {
		return s.jsonError(c, fmt.Errorf("secret names are letters, digits and underscores, not starting with a digit: %w", engine.ErrInvalid))
	}
	var body struct {
		Value *string `json:"value"`
	}
	if err := decodeOptional(c, &body); err != nil {
		return s.jsonError(c, err)
	}
	if body.Value == nil {
		return s.jsonError(c, fmt.Errorf(`body must be {"value":"…"}: %w`, engine.ErrBadBody))
	}
	if err := s.Secrets.Set(c.UserContext(), name, *body.Value); err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(fiber.Map{"name": name})
}

func (s *Server) apiDeleteSecret(c *fiber.Ctx) error {
	if err := s.Secrets.Delete(c.UserContext(), c.Params("name")); err != nil {
		return s.jsonError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) apiListKV(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit", "200"))
	items, err := s.store.KVList(c.UserContext(), c.Query("prefix"), limit)
	if err != nil {
		return s.jsonError(c, err)
	}
	if items == nil {
		items = []engine.KVItem{}
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Server) apiPutKV(c *fiber.Ctx) error {
	var body struct {
		Value json.RawMessage `json:"value"`
		TTL   engine.Duration `json:"ttl"`
	}
	if err := decodeOptional(c, &body); err != nil {
		return s.jsonError(c, err)
	}
	var v any
	if len(body.Value) > 0 {
		if err := json.Unmarshal(body.Value, &v); err != nil {
			return s.jsonError(c, fmt.Errorf("value: %v: %w", err, engine.ErrBadBody))
		}
	}
	if err := s.store.KVSet(c.UserContext(), c.Params("key"), v, time.Duration(body.TTL)); err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(fiber.Map{"key": c.Params("key"), "value": v})
}

func (s *Server) apiDeleteKV(c *fiber.Ctx) error {
	if err := s.store.KVDelete(c.UserContext(), c.Params("key")); err != nil {
		return s.jsonError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
