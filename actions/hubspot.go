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

const hubspotDefaultBase = "https://api.hubapi.com"

var hubspotKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "hubspot",
		Title:   "HubSpot",
		Summary: "Create or update HubSpot contacts and deals.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "operation", Label: "Operation", Type: engine.FieldSelect, Required: true,
				Options: []string{"upsert_contact", "create_deal", "update_deal", "associate"},
				Help:    "upsert_contact: create the contact or update the one with this email. create_deal, update_deal. associate: link a contact and a deal."},
			{Name: "token", Label: "Access token", Type: engine.FieldSecret, Required: true,
				Placeholder: "{{ secrets.HUBSPOT_TOKEN }}", Help: "A private app access token with the CRM scopes the operation needs."},
			{Name: "email", Label: "Email", Type: engine.FieldText, Help: "For upsert_contact: the contact's email, which identifies it."},
			{Name: "properties", Label: "Properties", Type: engine.FieldMap,
				Help: "Property internal name → value, e.g. firstname, lifecyclestage; for deals dealname, amount, dealstage, pipeline."},
			{Name: "deal_id", Label: "Deal ID", Type: engine.FieldText, Help: "For update_deal and associate."},
			{Name: "contact_id", Label: "Contact ID", Type: engine.FieldText,
				Help: "For associate; for create_deal, a contact to link the new deal to."},
			{Name: "base_url", Label: "API base URL", Type: engine.FieldText, Default: hubspotDefaultBase, Advanced: true},
		},
		Example: `{"operation":"upsert_contact","token":"{{ secrets.HUBSPOT_TOKEN }}","email":"{{ trigger.body.email }}",` +
			`"properties":{"firstname":"{{ trigger.body.first_name }}","lifecyclestage":"customer"}}`,
	},
	New: func() engine.Action { return new(HubSpot) },
}

// HubSpot calls the HubSpot CRM API with a private app token (Bearer):
//
//   - upsert_contact: POST /crm/v3/objects/contacts/batch/upsert with one input
//     {"idProperty":"email","id":<email>,"properties":{…}} — creates the contact
//     or updates the one with that email in one call. Output {id, created, properties}.
//   - create_deal: POST /crm/v3/objects/deals {"properties":{…}}, with an
//     association to contact_id (deal → contact, HUBSPOT_DEFINED type 3) when
//     set. Output {id, properties}.
//   - update_deal: PATCH /crm/v3/objects/deals/{deal_id} {"properties":{…}}.
//     Output {id, properties}.
//   - associate: PUT /crm/v4/objects/contact/{contact_id}/associations/default/deal/{deal_id}
//     (the default, unlabeled association). Output {contact_id, deal_id, associated}.
type HubSpot struct {
	// Operation is upsert_contact, create_deal, update_deal or associate.
	Operation string `json:"operation"`
	// Token is a private app access token.
	Token string `json:"token"`
	// Email identifies the contact for upsert_contact.
	Email string `json:"email,omitempty"`
	// Properties are the object's property values by internal name.
	Properties map[string]any `json:"properties,omitempty"`
	// DealID is the deal for update_deal and associate.
	DealID string `json:"deal_id,omitempty"`
	// ContactID is the contact for associate, or to link a new deal to.
	ContactID string `json:"contact_id,omitempty"`
	// BaseURL defaults to https://api.hubapi.com.
	BaseURL string `json:"base_url,omitempty"`
}

// Validate checks that the operation has what it needs.
func (h *HubSpot) Validate() error {
	if h.Token == "" {
		return errors.New("token is required")
	}
	if h.BaseURL != "" {
		if err := checkURL("base_url", h.BaseURL); err != nil {
			return err
		}
	}
	switch h.Operation {
	case "upsert_contact":
		if h.Email == "" {
			return errors.New("email is required for upsert_contact")
		}
	case "create_deal":
		if _, ok := h.Properties["dealname"]; !ok {
			return errors.New("properties.dealname is required for create_deal")
		}
	case "update_deal":
		if h.DealID == "" {
			return errors.New("deal_id is required for update_deal")
		}
		if len(h.Properties) == 0 {
			return errors.New("properties are required for update_deal")
		}
	case "associate":
		if h.DealID == "" || h.ContactID == "" {
			return errors.New("contact_id and deal_id are required for associate")
		}
	case "":
		return errors.New("operation is required")
	default:
		return fmt.Errorf("operation %q is not upsert_contact, create_deal, update_deal or associate", h.Operation)
	}
	return nil
}

// hubspotObject is a CRM object in HubSpot's answers.
type hubspotObject struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	New        bool           `json:"new"`
}

// Run calls the operation's endpoint.
func (h *HubSpot) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := h.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("hubspot: %w", err))
	}
	base := h.BaseURL
	if base == "" {
		base = hubspotDefaultBase
	}
	header := http.Header{"Authorization": {"Bearer " + h.Token}}
	secrets := []string{h.Token}
	op := "hubspot " + h.Operation
	props := hubspotProps(h.Properties)

	switch h.Operation {
	case "upsert_contact":
		if props == nil {
			props = map[string]string{}
		}
		props["email"] = h.Email
		body := map[string]any{"inputs": []any{map[string]any{"idProperty": "email", "id": h.Email, "properties": props}}}
		a, err := sendJSON(ctx, sc, op, http.MethodPost, joinURL(base, "/crm/v3/objects/contacts/batch/upsert"), header, body, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		var res struct {
			Results []hubspotObject `json:"results"`
			Errors  []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(a.Raw, &res); err != nil {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: read answer: %w", op, err))
		}
		if len(res.Errors) > 0 {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: %s", op, res.Errors[0].Message))
		}
		if len(res.Results) == 0 || res.Results[0].ID == "" {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: answer has no contact", op))
		}
		c := res.Results[0]
		return map[string]any{"id": c.ID, "created": c.New, "properties": orEmpty(c.Properties)}, nil

	case "create_deal", "update_deal":
		body := map[string]any{"properties": props}
		method, path := http.MethodPost, "/crm/v3/objects/deals"
		if h.Operation == "update_deal" {
			method, path = http.MethodPatch, "/crm/v3/objects/deals/"+url.PathEscape(h.DealID)
		} else if h.ContactID != "" {
			body["associations"] = []any{map[string]any{
				"to":    map[string]any{"id": h.ContactID},
				"types": []any{map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}},
			}}
		}
		a, err := sendJSON(ctx, sc, op, method, joinURL(base, path), header, body, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		var d hubspotObject
		if err := json.Unmarshal(a.Raw, &d); err != nil || d.ID == "" {
			return answerOutput(a), engine.Permanent(fmt.Errorf("%s: answer has no deal id", op))
		}
		return map[string]any{"id": d.ID, "properties": orEmpty(d.Properties)}, nil

	default: // associate
		path := "/crm/v4/objects/contact/" + url.PathEscape(h.ContactID) + "/associations/default/deal/" + url.PathEscape(h.DealID)
		a, err := sendJSON(ctx, sc, op, http.MethodPut, joinURL(base, path), header, nil, secrets)
		if err != nil {
			return answerOutput(a), err
		}
		return map[string]any{"contact_id": h.ContactID, "deal_id": h.DealID, "associated": true}, nil
	}
}

// hubspotProps writes property values as HubSpot expects them: strings.
func hubspotProps(in map[string]any) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = formValue(v)
	}
	return out
}

// answerOutput is the recorded output of a failed call: its status and body.
func answerOutput(a *answer) any {
	if a == nil {
		return nil
	}
	return map[string]any{"status": a.Status, "body": a.Body}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

var (
	_ engine.Action    = (*HubSpot)(nil)
	_ engine.Validator = (*HubSpot)(nil)
)
