package actions

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// fakeLLM is an OpenAI-compatible chat completions endpoint: it checks the
// key and the request shape and answers from the last user message.
func fakeLLM(t *testing.T) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var seen []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fail := func(code int, typ, msg string) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, msg, typ)
		}
		if r.Method != "POST" || r.URL.Path != "/v1/chat/completions" {
			fail(404, "invalid_request_error", "Unknown request URL")
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test-LLM-key" {
			fail(401, "invalid_request_error", "Incorrect API key provided")
			return
		}
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(400, "invalid_request_error", "We could not parse the JSON body")
			return
		}
		mu.Lock()
		seen = append(seen, req)
		mu.Unlock()
		msgs, _ := req["messages"].([]any)
		if req["model"] == nil || len(msgs) == 0 {
			fail(400, "invalid_request_error", "model and messages are required")
			return
		}
		last, _ := msgs[len(msgs)-1].(map[string]any)
		prompt, _ := last["content"].(string)
		content, finish := "Hello, Ada.", "stop"
		switch {
		case strings.Contains(prompt, "busy"):
			w.Header().Set("Retry-After", "2")
			fail(429, "rate_limit_exceeded", "Rate limit reached for requests")
			return
		case strings.Contains(prompt, "long"):
			content, finish = `{"category":"bi`, "length"
		case dig(req, "response_format.type") == "json_schema":
			if dig(req, "response_format.json_schema.strict") != true || dig(req, "response_format.json_schema.schema.type") != "object" {
				fail(400, "invalid_request_error", "bad response_format")
				return
			}
			content = `{"category":"billing","urgent":true}`
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"finish_reason":%q}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}`,
			req["model"], content, finish)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestAI(t *testing.T) {
	srv, seen := fakeLLM(t)
	base := srv.URL + "/v1"
	conns := &fakeConns{creds: map[string]*engine.Credential{
		"openai": {Type: engine.ConnBearer, Token: "sk-test-LLM-key"},
		"keyed":  {Type: engine.ConnAPIKey, APIKey: "sk-test-LLM-key"},
		"wrong":  {Type: engine.ConnBearer, Token: "sk-wrong-key"},
	}}
	schema := `{"type":"object","properties":{"category":{"type":"string"},"urgent":{"type":"boolean"}},"required":["category","urgent"],"additionalProperties":false}`
	tests := []struct {
		name, with  string
		class, want string
		check       func(t *testing.T, out map[string]any)
	}{
		{name: "text", with: `{"model":"gpt-4o-mini","connection":"openai","system":"Be brief.","prompt":"Greet Ada","temperature":0.2,"max_tokens":50,"base_url":"` + base + `"}`,
			class: "ok", check: func(t *testing.T, out map[string]any) {
				if out["text"] != "Hello, Ada." || dig(out, "usage.total_tokens") != float64(17) || out["finish_reason"] != "stop" {
					t.Errorf("output %v", out)
				}
				req := (*seen)[len(*seen)-1]
				if dig(req, "messages.0.role") != "system" || dig(req, "messages.1.content") != "Greet Ada" ||
					req["temperature"] != 0.2 || req["max_tokens"] != float64(50) || req["response_format"] != nil {
					t.Errorf("request %v", req)
				}
			}},
		{name: "structured output", with: `{"model":"gpt-4o-mini","connection":"keyed","prompt":"Classify: my card was charged twice","json_schema":` + schema + `,"base_url":"` + base + `"}`,
			class: "ok", check: func(t *testing.T, out map[string]any) {
				if dig(out, "data.category") != "billing" || dig(out, "data.urgent") != true {
					t.Errorf("output %v", out)
				}
			}},
		{name: "cut off JSON", with: `{"model":"m","connection":"openai","prompt":"long","json_schema":` + schema + `,"base_url":"` + base + `"}`,
			class: "permanent", want: "cut off at max_tokens"},
		{name: "429 is retried", with: `{"model":"m","connection":"openai","prompt":"busy","base_url":"` + base + `"}`,
			class: "retryable", want: "Rate limit reached"},
		{name: "wrong key", with: `{"model":"m","connection":"wrong","prompt":"x","base_url":"` + base + `"}`,
			class: "permanent", want: "Incorrect API key"},
		{name: "no model", with: `{"prompt":"x"}`, class: "permanent", want: "model is required"},
		{name: "bad temperature", with: `{"model":"m","prompt":"x","temperature":3}`, class: "permanent", want: "temperature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := testSC(t)
			sc.Connections = conns
			out, err := run(t, aiKind, sc, tc.with)
			checkErr(t, err, tc.class, tc.want)
			if err != nil && strings.Contains(err.Error(), "sk-") {
				t.Errorf("error shows the key: %v", err)
			}
			if tc.check != nil {
				tc.check(t, asJSON(t, out))
			}
		})
	}
}
