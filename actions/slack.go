package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/engine"
)

var slackKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "slack",
		Title:   "Slack message",
		Summary: "Post a message to a Slack channel through an incoming webhook.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "webhook_url", Label: "Webhook URL", Type: engine.FieldSecret, Required: true,
				Placeholder: "{{ secrets.SLACK_WEBHOOK_URL }}", Help: "The incoming webhook's URL (https://hooks.slack.com/services/…); keep it in a secret."},
			{Name: "text", Label: "Text", Type: engine.FieldTextarea,
				Help: "The message (Slack mrkdwn). With blocks it is the notification fallback."},
			{Name: "blocks", Label: "Blocks", Type: engine.FieldJSON, Advanced: true,
				Help: "Block Kit blocks (a list), e.g. from Slack's Block Kit Builder."},
			{Name: "username", Label: "Sender name", Type: engine.FieldText, Advanced: true,
				Help: "Shown instead of the app's name where the workspace allows it."},
			{Name: "icon_emoji", Label: "Icon emoji", Type: engine.FieldText, Placeholder: ":rocket:", Advanced: true},
		},
		Example: `{"webhook_url":"{{ secrets.SLACK_WEBHOOK_URL }}","text":"New order {{ trigger.body.id }} from {{ trigger.body.email }}"}`,
	},
	New: func() engine.Action { return new(Slack) },
}

// Slack posts to a Slack incoming webhook and returns {status, ok}. Slack's
// refusals (invalid_payload, no_service, channel_is_archived …) fail the step
// for good; 429 and 5xx are retried.
type Slack struct {
	// WebhookURL is the incoming webhook's URL.
	WebhookURL string `json:"webhook_url"`
	// Text is the message, or the fallback text when Blocks are set.
	Text string `json:"text,omitempty"`
	// Blocks are Block Kit blocks.
	Blocks any `json:"blocks,omitempty"`
	// Username and IconEmoji override the sender's name and icon where allowed.
	Username  string `json:"username,omitempty"`
	IconEmoji string `json:"icon_emoji,omitempty"`
}

// Validate checks the URL and that there is something to post.
func (s *Slack) Validate() error {
	if err := checkURL("webhook_url", s.WebhookURL); err != nil {
		return err
	}
	if s.Text == "" && s.Blocks == nil {
		return errors.New("text or blocks is required")
	}
	if s.Blocks != nil {
		if _, ok := s.Blocks.([]any); !ok {
			if str, isStr := s.Blocks.(string); !isStr || !isTemplate(str) {
				return errors.New("blocks must be a list of Block Kit blocks")
			}
		}
	}
	return nil
}

// Run posts the message.
func (s *Slack) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := s.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("slack: %w", err))
	}
	body := map[string]any{}
	if s.Text != "" {
		body["text"] = s.Text
	}
	if s.Blocks != nil {
		body["blocks"] = s.Blocks
	}
	if s.Username != "" {
		body["username"] = s.Username
	}
	if s.IconEmoji != "" {
		body["icon_emoji"] = s.IconEmoji
	}
	// The webhook URL is a credential: errors never show it.
	a, err := sendJSON(ctx, sc, "slack: post message", http.MethodPost, s.WebhookURL, nil, body, []string{s.WebhookURL})
	if a == nil {
		return nil, err
	}
	return map[string]any{"status": a.Status, "ok": err == nil}, err
}

var (
	_ engine.Action    = (*Slack)(nil)
	_ engine.Validator = (*Slack)(nil)
)
