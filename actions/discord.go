package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
)

var discordKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "discord",
		Title:   "Discord message",
		Summary: "Post a message to a Discord channel through a webhook.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "webhook_url", Label: "Webhook URL", Type: engine.FieldSecret, Required: true,
				Placeholder: "{{ secrets.DISCORD_WEBHOOK_URL }}", Help: "The channel webhook's URL (https://discord.com/api/webhooks/…); keep it in a secret."},
			{Name: "text", Label: "Text", Type: engine.FieldTextarea, Help: "The message, up to 2000 characters (Discord markdown)."},
			{Name: "embeds", Label: "Embeds", Type: engine.FieldJSON, Advanced: true, Help: "Up to 10 rich embeds (a list of embed objects)."},
			{Name: "username", Label: "Sender name", Type: engine.FieldText, Advanced: true, Help: "Overrides the webhook's default name."},
			{Name: "avatar_url", Label: "Avatar URL", Type: engine.FieldText, Advanced: true, Help: "Overrides the webhook's default avatar."},
		},
		Example: `{"webhook_url":"{{ secrets.DISCORD_WEBHOOK_URL }}","text":"New order **{{ trigger.body.id }}**"}`,
	},
	New: func() engine.Action { return new(Discord) },
}

// Discord posts to a Discord channel webhook and returns {status, ok}.
// Discord's refusals (400, 401, 404) fail the step for good; 429 (with its
// Retry-After) and 5xx are retried.
type Discord struct {
	// WebhookURL is the channel webhook's URL.
	WebhookURL string `json:"webhook_url"`
	// Text is the message content (up to 2000 characters).
	Text string `json:"text,omitempty"`
	// Embeds are rich embeds (up to 10).
	Embeds any `json:"embeds,omitempty"`
	// Username and AvatarURL override the webhook's name and avatar.
	Username  string `json:"username,omitempty"`
	AvatarURL string `json:"avatar_url,omitempty"`
}

// Validate checks the URL and Discord's limits.
func (d *Discord) Validate() error {
	if err := checkURL("webhook_url", d.WebhookURL); err != nil {
		return err
	}
	if d.Text == "" && d.Embeds == nil {
		return errors.New("text or embeds is required")
	}
	if n := utf8.RuneCountInString(d.Text); n > 2000 && !isTemplate(d.Text) {
		return fmt.Errorf("text has %d characters; Discord takes at most 2000", n)
	}
	if d.Embeds != nil {
		list, ok := d.Embeds.([]any)
		if !ok {
			if str, isStr := d.Embeds.(string); !isStr || !isTemplate(str) {
				return errors.New("embeds must be a list of embed objects")
			}
		}
		if len(list) > 10 {
			return fmt.Errorf("embeds has %d items; Discord takes at most 10", len(list))
		}
	}
	return nil
}

// Run posts the message.
func (d *Discord) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := d.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("discord: %w", err))
	}
	body := map[string]any{}
	if d.Text != "" {
		body["content"] = d.Text
	}
	if d.Embeds != nil {
		body["embeds"] = d.Embeds
	}
	if d.Username != "" {
		body["username"] = d.Username
	}
	if d.AvatarURL != "" {
		body["avatar_url"] = d.AvatarURL
	}
	// The webhook URL holds its token: errors never show it.
	a, err := sendJSON(ctx, sc, "discord: post message", http.MethodPost, d.WebhookURL, nil, body, []string{d.WebhookURL})
	if a == nil {
		return nil, err
	}
	return map[string]any{"status": a.Status, "ok": err == nil}, err
}

var (
	_ engine.Action    = (*Discord)(nil)
	_ engine.Validator = (*Discord)(nil)
)
