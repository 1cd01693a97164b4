package triggers

import (
	"time"

	"github.com/hookflow/hookflow/engine"
)

var manualKind = engine.TriggerKind{
	Spec: engine.Spec{
		Kind:    "manual",
		Title:   "Manual",
		Summary: "Run the flow by hand, from its page in the UI or with POST /api/v1/flows/{id}/run.",
		Group:   "trigger",
		Fields:  []engine.Field{},
		Example: `{}`,
	},
	New: func() any { return new(Manual) },
}

// Manual starts runs only when someone asks, from the UI or the API; it has no
// settings. The request's body becomes trigger.body.
type Manual struct{}

// ManualEvent builds the event of a manual run: the body is parsed as its
// content type says (as a webhook's is) and becomes trigger.body.
func ManualEvent(contentType string, raw []byte, now time.Time) (*engine.Event, error) {
	body, files, err := ParseBody(contentType, raw)
	if err != nil {
		return nil, err
	}
	if files == nil {
		files = []engine.File{}
	}
	return &engine.Event{Trigger: engine.TriggerData{
		Type: "manual", Headers: map[string]string{}, Query: map[string]any{},
		Body: body, Files: files, ReceivedAt: now,
	}}, nil
}
