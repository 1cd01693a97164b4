package ui

import (
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestQueuedAnswer: the hand-written 202 answer is what c.JSON wrote.
func TestQueuedAnswer(t *testing.T) {
	app := fiber.New()
	app.Get("/hand/:id", func(c *fiber.Ctx) error { return queuedAnswer(c, c.Params("id")) })
	app.Get("/json/:id", func(c *fiber.Ctx) error {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": c.Params("id"), "status": "queued"})
	})
	for _, id := range []string{"01JEXAMPLE0000000000000000", "a<b>&\"q\"", "é"} {
		var got [2]string
		for i, route := range []string{"/hand/", "/json/"} {
			resp, err := app.Test(httptest.NewRequest("GET", route+url.PathEscape(id), nil))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			got[i] = fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if got[0] != got[1] {
			t.Errorf("id %q: hand-written %q, c.JSON %q", id, got[0], got[1])
		}
	}
}

func TestLowerHeaderName(t *testing.T) {
	for _, k := range []string{"Content-Type", "X-Hub-Signature-256", "already-lower", "", "ÄB-\xff", strings.Repeat("Long-", 30)} {
		if got, want := lowerHeaderName([]byte(k), nil), strings.ToLower(k); got != want {
			t.Errorf("lowerHeaderName(%q) = %q, want %q", k, got, want)
		}
	}
}
