// Command baseline is a bare Fiber webhook handler: it parses the JSON (or
// form) body and answers 202, storing nothing. It is the denominator of the
// "durable ingest ≥ 50% of a bare Fiber handler" target (docs/benchmarks.md).
//
//	go run ./bench/baseline -addr 127.0.0.1:9000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "baseline:", err)
		return 2
	}
	app := newApp()
	fmt.Fprintf(stdout, "baseline listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case <-ctx.Done():
		_ = app.ShutdownWithTimeout(5 * time.Second)
		return 0
	case err := <-errc:
		fmt.Fprintln(stderr, "baseline:", err)
		return 2
	}
}

// newApp is the whole server: one route with the same shape as Hookflow's
// webhook endpoint, minus verification, storage and fsync.
func newApp() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, BodyLimit: 1 << 20})
	var seq atomic.Int64
	app.All("/hooks/*", func(c *fiber.Ctx) error {
		raw := c.Request().Body()
		if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationForm) {
			_ = c.Request().PostArgs() // parsed by fasthttp
		} else {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "body is not JSON"})
			}
		}
		id := fmt.Sprintf("base_%d", seq.Add(1))
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"run_id": id, "status": "queued"})
	})
	return app
}
