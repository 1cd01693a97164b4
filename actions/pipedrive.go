package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hookflow/hookflow/engine"
)

const pipedriveDefaultBase = "https://api.pipedrive.com"

var pipedriveKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "pipedrive",
		Title:   "Pipedrive",
		Summary: "Find or create Pipedrive people and create deals.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "operation", Label: "Operation", Type: engine.FieldSelect, Required: true,
				Options: []string{"find_or_create_person", "create_deal"},
				Help:    "find_or_create_person: the person with this email, created when missing. create_deal: a new deal."},
			{Name: "api_token", Label: "API token", Type: engine.FieldSecret, Required: true,
				Placeholder: "{{ secrets.PIPEDRIVE_TOKEN }}", Help: "Personal API token (Settings → Personal preferences → API)."},
			{Name: "email", Label: "Email", Type: engine.FieldText, Help: "For find_or_create_person: the person's email."},
			{Name: "name", Label: "Name", Type: engine.FieldText, Help: "For find_or_create_person: the new person's name (default: the email)."},
			{Name: "phone", Label: "Phone", Type: engine.FieldText, Help: "For find_or_create_person: the new person's phone."},
			{Name: "title", Label: "Deal title", Type: engine.FieldText, Help: "For create_deal."},
			{Name: "value", Label: "Deal value", Type: engine.FieldNumber, Help: "For create_deal."},
			{Name: "currency", Label: "Currency", Type: engine.FieldText, Placeholder: "EUR", Help: "For create_deal: a 3-letter code (default: the company's)."},
			{Name: "person_id", Label: "Person ID", Type: engine.FieldNumber,
				Help: "For create_deal, e.g. {{ steps.person.output.id }}."},
			{Name: "org_id", Label: "Organization ID", Type: engine.FieldNumber, Help: "Links the person or deal to an organization."},
			{Name: "stage_id", Label: "Stage ID", Type: engine.FieldNumber, Help: "For create_deal (default: the first stage of the default pipeline)."},
			{Name: "fields", Label: "Other fields", Type: engine.FieldMap, Advanced: true,
				Help: "More fields sent as they are, including custom field keys."},
			{Name: "base_url", Label: "API base URL", Type: engine.FieldText, Default: pipedriveDefaultBase, Advanced: true},
		},
		Example: `{"operation":"find_or_create_person","api_token":"{{ secrets.PIPEDRIVE_TOKEN }}",` +
			`"email":"{{ trigger.body.email }}","name":"{{ trigger.body.name }}"}`,
	},
	New: func() engine.Action { return new(Pipedrive) },
}

// Pipedrive calls the Pipedrive API (v1) with the api_token query parameter:
//
//   - find_or_create_person: GET /v1/persons/search?term=<email>&fields=email&exact_match=true;
//     when nothing matches, POST /v1/persons {"name","email":[{"value","primary":true}],…}.
//     Output {id, name, created}.
//   - create_deal: POST /v1/deals {"title","value","currency","person_id","org_id","stage_id",…}.
//     Output {id, title}.
type Pipedrive struct {
	// Operation is find_or_create_person or create_deal.
	Operation string `json:"operation"`
	// APIToken is the personal API token.
	APIToken string `json:"api_token"`
	// Email, Name and Phone describe the person.
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Title, Value, Currency and StageID describe the deal.
	Title    string  `json:"title,omitempty"`
	Value    float64 `json:"value,omitempty"`
	Currency string  `json:"currency,omitempty"`
	StageID  int64   `json:"stage_id,omitempty"`
	// PersonID links the deal to a person.
	PersonID int64 `json:"person_id,omitempty"`
	// OrgID links the person or the deal to an organization.
	OrgID int64 `json:"org_id,omitempty"`
	// Fields are more fields sent as they are (custom field keys too).
	Fields map[string]any `json:"fields,omitempty"`
	// BaseURL defaults to https://api.pipedrive.com.
	BaseURL string `json:"base_url,omitempty"`
}

// Validate checks that the operation has what it needs.
func (p *Pipedrive) Validate() error {
	if p.APIToken == "" {
		return errors.New("api_token is required")
	}
	if p.BaseURL != "" {
		if err := checkURL("base_url", p.BaseURL); err != nil {
			return err
		}
	}
	switch p.Operation {
	case "find_or_create_person":
		if p.Email == "" {
			return errors.New("email is required for find_or_create_person")
		}
	case "create_deal":
		if p.Title == "" {
			return errors.New("title is required for create_deal")
		}
	case "":
		return errors.New("operation is required")
	default:
		return fmt.Errorf("operation %q is not find_or_create_person or create_deal", p.Operation)
	}
	return nil
}

// pipedriveAnswer is the envelope of every Pipedrive v1 answer.
type pipedriveAnswer struct {
	Success bool            `json:"success"`
	Error   string          `json:"error"`
	Data    json.RawMessage `json:"data"`
}

// Run calls the operation's endpoints.
func (p *Pipedrive) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := p.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("pipedrive: %w", err))
	}
	base := p.BaseURL
	if base == "" {
		base = pipedriveDefaultBase
	}
	secrets := []string{p.APIToken}
	endpoint := func(path string, q url.Values) string {
		if q == nil {
			q = url.Values{}
		}
		q.Set("api_token", p.APIToken)
		return joinURL(base, path) + "?" + q.Encode()
	}
	op := "pipedrive " + p.Operation

	switch p.Operation {
	case "find_or_create_person":
		q := url.Values{"term": {p.Email}, "fields": {"email"}, "exact_match": {"true"}, "limit": {"1"}}
		a, err := sendJSON(ctx, sc, op+": search persons", http.MethodGet, endpoint("/v1/persons/search", q), nil, nil, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		var found struct {
			Items []struct {
				Item struct {
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"item"`
			} `json:"items"`
		}
		if err := pipedriveData(a, &found); err != nil {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: search persons: %w", op, err))
		}
		if len(found.Items) > 0 && found.Items[0].Item.ID != 0 {
			it := found.Items[0].Item
			return map[string]any{"id": int(it.ID), "name": it.Name, "created": false}, nil
		}
		name := p.Name
		if name == "" {
			name = p.Email
		}
		body := p.extra()
		body["name"] = name
		body["email"] = []any{map[string]any{"value": p.Email, "primary": true, "label": "work"}}
		if p.Phone != "" {
			body["phone"] = []any{map[string]any{"value": p.Phone, "primary": true, "label": "work"}}
		}
		if p.OrgID != 0 {
			body["org_id"] = p.OrgID
		}
		a, err = sendJSON(ctx, sc, op+": add person", http.MethodPost, endpoint("/v1/persons", nil), nil, body, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		var person struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		if err := pipedriveData(a, &person); err != nil || person.ID == 0 {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: add person: answer has no person id", op))
		}
		return map[string]any{"id": int(person.ID), "name": person.Name, "created": true}, nil

	default: // create_deal
		body := p.extra()
		body["title"] = p.Title
		if p.Value != 0 {
			body["value"] = p.Value
		}
		if p.Currency != "" {
			body["currency"] = p.Currency
		}
		for k, v := range map[string]int64{"person_id": p.PersonID, "org_id": p.OrgID, "stage_id": p.StageID} {
			if v != 0 {
				body[k] = v
			}
		}
		a, err := sendJSON(ctx, sc, op, http.MethodPost, endpoint("/v1/deals", nil), nil, body, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		var deal struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
		}
		if err := pipedriveData(a, &deal); err != nil || deal.ID == 0 {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: answer has no deal id", op))
		}
		return map[string]any{"id": int(deal.ID), "title": deal.Title}, nil
	}
}

// extra returns a copy of Fields to build a request body on.
func (p *Pipedrive) extra() map[string]any {
	out := make(map[string]any, len(p.Fields)+6)
	for k, v := range p.Fields {
		out[k] = v
	}
	return out
}

// pipedriveData decodes the envelope's data into v; success false is an error.
func pipedriveData(a *answer, v any) error {
	var env pipedriveAnswer
	if err := json.Unmarshal(a.Raw, &env); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if !env.Success {
		if env.Error == "" {
			env.Error = "success is false"
		}
		return errors.New(env.Error)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fmt.Errorf("read answer data: %w", err)
	}
	return nil
}

var (
	_ engine.Action    = (*Pipedrive)(nil)
	_ engine.Validator = (*Pipedrive)(nil)
)
