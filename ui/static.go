package ui

import (
	"embed"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// staticFiles are the UI's stylesheet, scripts (vendored htmx) and icons.
//
//go:embed static
var staticFiles embed.FS

// static serves the embedded files under /static/.
func (s *Server) static(c *fiber.Ctx) error {
	name := strings.TrimPrefix(c.Params("*"), "/")
	if name == "" || strings.Contains(name, "..") {
		return fiber.ErrNotFound
	}
	b, err := staticFiles.ReadFile("static/" + name)
	if err != nil {
		return fiber.ErrNotFound
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = fiber.MIMEOctetStream
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(b)
}
