package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/jsbox"
)

// maxCodeTimeout is the largest with.timeout a code step takes.
const maxCodeTimeout = 30 * time.Second

var codeKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "code",
		Title:   "Code",
		Summary: "Run a little JavaScript over the run's data; what it returns is the output.",
		Group:   "data",
		Fields: []engine.Field{
			{Name: "source", Label: "JavaScript", Type: engine.FieldCode, Required: true,
				Placeholder: "const items = trigger.body.items || [];\nreturn {count: items.length};",
				Help: "A function body. trigger, steps, vars, run, flow, item and index are in scope as plain data (secrets are not). " +
					"What it returns (JSON) is the step's output; console.log lines go to the step's logs. No network, files or processes. " +
					"Templates ({{ }}) are not expanded here: read the data directly."},
			{Name: "timeout", Label: "Time limit", Type: engine.FieldDuration, Default: "1s", Placeholder: "1s", Advanced: true,
				Help: "Stops the code after this long (at most 30s). Memory is capped at 64 MiB."},
		},
		Example: `{"source":"const items = trigger.body.items || [];\nconsole.log('items:', items.length);\nreturn {count: items.length, total: items.reduce((s, i) => s + i.price, 0)};","timeout":"1s"}`,
	},
	New: func() engine.Action { return new(Code) },
}

// Code runs JavaScript in the sandbox (engine/jsbox). Output: what the
// source returns; console lines go to the step record's logs.
type Code struct {
	// Source is a function body.
	Source string `json:"source"`
	// Timeout bounds the run (default 1s, at most 30s).
	Timeout engine.Duration `json:"timeout,omitempty"`
}

// Validate checks the limits and parses the source (a syntax error is a
// problem at save, with its line).
func (c *Code) Validate() error {
	if strings.TrimSpace(c.Source) == "" {
		return errors.New("source is required")
	}
	if c.Timeout < 0 || c.Timeout.D() > maxCodeTimeout {
		return fmt.Errorf("timeout must be between 0 and %s", maxCodeTimeout)
	}
	if err := jsbox.Default().Check(c.Source); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	return nil
}

// Run calls the source with the run's data. Every failure is permanent: the
// same code on the same data fails the same way.
func (c *Code) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	var data map[string]any
	if sc != nil {
		data = sc.Data
	}
	res, err := jsbox.Default().Run(ctx, c.Source, data, jsbox.Limits{Timeout: c.Timeout.D()})
	if res != nil && sc != nil && sc.Log != nil {
		for _, l := range res.Logs {
			sc.Log(l)
		}
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err // canceled, or the step's own timeout: the executor says which
		}
		return nil, engine.Permanent(fmt.Errorf("code: %w", err))
	}
	return res.Output, nil
}

var (
	_ engine.Action    = (*Code)(nil)
	_ engine.Validator = (*Code)(nil)
)
