package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/hookflow/hookflow/engine"
)

const aiDefaultBase = "https://api.openai.com/v1"

var aiKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "ai",
		Title:   "AI",
		Summary: "Ask a language model (OpenAI or any compatible API: Ollama, vLLM…) and use its answer, as text or as structured data.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "model", Label: "Model", Type: engine.FieldText, Required: true, Placeholder: "gpt-4o-mini",
				Help: "The model name the API knows, e.g. gpt-4o-mini, or llama3.2 on Ollama."},
			{Name: "prompt", Label: "Prompt", Type: engine.FieldTextarea, Required: true,
				Help: "What to ask; a template, e.g. Classify this message: {{ trigger.body.message }}."},
			{Name: "system", Label: "Instructions", Type: engine.FieldTextarea,
				Help: "The system message: the role and rules the model follows."},
			{Name: "connection", Label: "Connection", Type: engine.FieldText, Placeholder: "openai",
				Help: "A bearer or API key connection holding the API key; none for a local Ollama."},
			{Name: "json_schema", Label: "Answer schema", Type: engine.FieldJSON,
				Help: "A JSON Schema the answer must follow; the parsed answer is then output.data. Empty: a text answer in output.text."},
			{Name: "base_url", Label: "API base URL", Type: engine.FieldText, Default: aiDefaultBase, Advanced: true,
				Help: "Any OpenAI-compatible API, e.g. http://localhost:11434/v1 for Ollama."},
			{Name: "temperature", Label: "Temperature", Type: engine.FieldNumber, Advanced: true,
				Help: "0 for the most predictable answers, up to 2 for the most varied."},
			{Name: "max_tokens", Label: "Largest answer (tokens)", Type: engine.FieldNumber, Advanced: true,
				Help: "Stop the answer after this many tokens."},
			{Name: "timeout", Label: "Timeout", Type: engine.FieldDuration, Placeholder: "60s", Advanced: true,
				Help: "Give up on the call after this long (the step's own timeout still applies)."},
		},
		Example: `{"model":"gpt-4o-mini","connection":"openai","system":"You sort support messages.",` +
			`"prompt":"Message: {{ trigger.body.message }}",` +
			`"json_schema":{"type":"object","properties":{"category":{"type":"string","enum":["billing","bug","other"]}},"required":["category"],"additionalProperties":false}}`,
	},
	New: func() engine.Action { return new(AI) },
}

// AI sends one chat completion (POST {base_url}/chat/completions) and
// returns {text, data, model, finish_reason, usage}. With JSON Schema the
// answer is requested as structured output and parsed into data. 429 and 5xx
// are retried when the step has a retry policy.
type AI struct {
	// Model is the model name.
	Model string `json:"model"`
	// Prompt is the user message.
	Prompt string `json:"prompt"`
	// System is the system message.
	System string `json:"system,omitempty"`
	// Connection names a bearer or API key connection with the API key.
	Connection string `json:"connection,omitempty"`
	// JSONSchema asks for an answer that follows it (response_format json_schema).
	JSONSchema map[string]any `json:"json_schema,omitempty"`
	// BaseURL is the API's base (default https://api.openai.com/v1).
	BaseURL string `json:"base_url,omitempty"`
	// Temperature and MaxTokens are passed through when set.
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	// Timeout bounds the call.
	Timeout engine.Duration `json:"timeout,omitempty"`
}

// Validate checks the settings.
func (a *AI) Validate() error {
	if strings.TrimSpace(a.Model) == "" {
		return errors.New("model is required")
	}
	if strings.TrimSpace(a.Prompt) == "" {
		return errors.New("prompt is required")
	}
	if a.BaseURL != "" {
		if err := checkURL("base_url", a.BaseURL); err != nil {
			return err
		}
	}
	if a.Temperature != nil && (*a.Temperature < 0 || *a.Temperature > 2) {
		return errors.New("temperature must be between 0 and 2")
	}
	if a.MaxTokens < 0 {
		return errors.New("max_tokens must not be negative")
	}
	return nil
}

var schemaNameRe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// Run asks the model.
func (a *AI) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := a.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("ai: %w", err))
	}
	client, err := httpClient(sc)
	if err != nil {
		return nil, err
	}
	cred, err := resolveConnection(ctx, sc, a.Connection)
	if err != nil {
		return nil, err
	}
	base := a.BaseURL
	if base == "" {
		base = aiDefaultBase
	}
	var msgs []map[string]string
	if a.System != "" {
		msgs = append(msgs, map[string]string{"role": "system", "content": a.System})
	}
	msgs = append(msgs, map[string]string{"role": "user", "content": a.Prompt})
	body := map[string]any{"model": a.Model, "messages": msgs}
	if a.Temperature != nil {
		body["temperature"] = *a.Temperature
	}
	if a.MaxTokens > 0 {
		body["max_tokens"] = a.MaxTokens
	}
	if a.JSONSchema != nil {
		name := "output"
		if t, ok := a.JSONSchema["title"].(string); ok && t != "" {
			name = schemaNameRe.ReplaceAllString(t, "_")
			name = name[:min(len(name), 64)]
		}
		body["response_format"] = map[string]any{"type": "json_schema",
			"json_schema": map[string]any{"name": name, "schema": a.JSONSchema, "strict": true}}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("ai: encode request: %w", err))
	}
	ctx, cancel := withTimeout(ctx, a.Timeout)
	defer cancel()
	op := "ai " + a.Model
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, joinURL(base, "/chat/completions"), bytes.NewReader(raw))
		if err != nil {
			return nil, engine.Permanent(fmt.Errorf("%s: %w", op, err))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		var secrets []string
		if cred != nil {
			if cred.Type == engine.ConnAPIKey && cred.KeyName == "" {
				req.Header.Set("Authorization", "Bearer "+cred.APIKey)
			} else {
				cred.Apply(req)
			}
			secrets = cred.Secrets()
		}
		ans, err := send(sc, client, req, op, defaultMaxResponse, secrets)
		if ans != nil && ans.Status == http.StatusUnauthorized && cred != nil && try == 0 &&
			(cred.Type == engine.ConnOAuth2 || cred.Type == engine.ConnOAuth2Client) {
			if cred, err = sc.Connections.Refresh(ctx, a.Connection, cred); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if ans != nil {
				if m, ok := dig(ans.Body, "error.message").(string); ok && m != "" {
					return nil, wrapLike(err, fmt.Errorf("%s: HTTP %d: %s", op, ans.Status, redact(m, secrets)))
				}
			}
			return nil, err
		}
		out, err := a.output(op, ans)
		return hideCredentials(out, secrets), err
	}
}

// wrapLike gives msg the class (retryable, permanent) of err.
func wrapLike(err, msg error) error {
	var r *engine.RetryableError
	if errors.As(err, &r) {
		return engine.Retryable(msg, r.After)
	}
	if engine.IsPermanent(err) {
		return engine.Permanent(msg)
	}
	return msg
}

func (a *AI) output(op string, ans *answer) (any, error) {
	content, _ := dig(ans.Body, "choices.0.message.content").(string)
	finish, _ := dig(ans.Body, "choices.0.finish_reason").(string)
	if refusal, _ := dig(ans.Body, "choices.0.message.refusal").(string); refusal != "" {
		return nil, engine.Permanent(fmt.Errorf("%s: the model refused: %s", op, refusal))
	}
	if dig(ans.Body, "choices.0") == nil {
		return nil, engine.Permanent(fmt.Errorf("%s: the answer has no choices: %s", op, snippet(ans.Raw, nil)))
	}
	usage, _ := dig(ans.Body, "usage").(map[string]any)
	if usage == nil {
		usage = map[string]any{}
	}
	out := map[string]any{"text": content, "model": dig(ans.Body, "model"), "finish_reason": finish, "usage": usage}
	if a.JSONSchema != nil {
		if finish == "length" {
			return nil, engine.Permanent(fmt.Errorf("%s: the answer was cut off at max_tokens before its JSON ended (raise max_tokens)", op))
		}
		var data any
		if err := json.Unmarshal([]byte(content), &data); err != nil {
			return nil, engine.Permanent(fmt.Errorf("%s: the answer is not the JSON the schema asks for: %v", op, err))
		}
		out["data"] = data
	}
	return out, nil
}

var (
	_ engine.Action    = (*AI)(nil)
	_ engine.Validator = (*AI)(nil)
)
