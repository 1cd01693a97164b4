package actions

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow/engine"
)

var logKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "log",
		Title:   "Log",
		Summary: "Write a line to the run's log.",
		Group:   "data",
		Fields: []engine.Field{
			{Name: "message", Label: "Message", Type: engine.FieldTextarea, Required: true,
				Placeholder: "order {{ trigger.body.id }} received"},
			{Name: "level", Label: "Level", Type: engine.FieldSelect, Default: "info",
				Options: []string{"info", "warn", "error"}, Help: "warn and error lines are marked in the run's log; the step still succeeds."},
		},
		Example: `{"message":"order {{ trigger.body.id }} for {{ trigger.body.email }}","level":"info"}`,
	},
	New: func() engine.Action { return new(Log) },
}

// Log writes its message to the step's log and returns {message, level}.
type Log struct {
	// Message is the line to write.
	Message string `json:"message"`
	// Level is info (default), warn or error.
	Level string `json:"level,omitempty"`
}

// Validate checks the level.
func (l *Log) Validate() error {
	if l.Message == "" {
		return errors.New("message is required")
	}
	if !oneOf(l.Level, "", "info", "warn", "error") {
		return fmt.Errorf("level %q is not info, warn or error", l.Level)
	}
	return nil
}

// Run writes the line.
func (l *Log) Run(_ context.Context, sc *engine.StepContext) (any, error) {
	if err := l.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("log: %w", err))
	}
	level := l.Level
	if level == "" {
		level = "info"
	}
	if sc != nil && sc.Log != nil {
		line := l.Message
		if level != "info" {
			line = level + ": " + line
		}
		sc.Log(line)
	}
	return map[string]any{"message": l.Message, "level": level}, nil
}

var (
	_ engine.Action    = (*Log)(nil)
	_ engine.Validator = (*Log)(nil)
)
