package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The load flows; SINK_ADDR is replaced with the sink's host:port.
var (
	//go:embed flows/load-stripe.json
	stripeFlow string
	//go:embed flows/load-form.json
	formFlow string
)

// secretName holds the Stripe signing secret on the server.
const secretName = "LOAD_STRIPE_WHSEC"

// apiClient calls the server's /api/v1 with a bearer token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPI(base, token string) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 10 * time.Second}}
}

// do sends a JSON request and decodes a JSON answer into out (when not nil);
// it returns the status code.
func (a *apiClient) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v1"+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode, nil
}

// setup stores the signing secret and creates or replaces the load flows so
// that they call the sink at sinkAddr.
func (a *apiClient) setup(ctx context.Context, secret, sinkAddr string) error {
	if _, err := a.do(ctx, http.MethodPut, "/secrets/"+secretName, map[string]string{"value": secret}, nil); err != nil {
		return fmt.Errorf("store secret: %w", err)
	}
	for _, doc := range []string{stripeFlow, formFlow} {
		var f map[string]any
		if err := json.Unmarshal([]byte(strings.ReplaceAll(doc, "SINK_ADDR", sinkAddr)), &f); err != nil {
			return fmt.Errorf("load flow: %w", err)
		}
		id, _ := f["id"].(string)
		code, err := a.do(ctx, http.MethodPut, "/flows/"+id, f, nil) // PUT creates or replaces
		if err != nil || code/100 != 2 {
			return fmt.Errorf("save flow %s: status %d: %v", id, code, err)
		}
	}
	return nil
}

// apiRun is the part of a run the checks read.
type apiRun struct {
	ID      string `json:"id"`
	FlowID  string `json:"flow_id"`
	Status  string `json:"status"`
	Trigger struct {
		Body any `json:"body"`
	} `json:"trigger"`
}

// final reports whether a run status is one a run ends in.
func final(status string) bool {
	switch status {
	case "succeeded", "filtered", "failed", "canceled":
		return true
	}
	return false
}

// eventID is the id field of a run's trigger body.
func (r *apiRun) eventID() string {
	m, _ := r.Trigger.Body.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// run reads one run; ok is false when the server does not know it.
func (a *apiClient) run(ctx context.Context, id string) (r apiRun, ok bool, err error) {
	code, err := a.do(ctx, http.MethodGet, "/runs/"+url.PathEscape(id), nil, &r)
	return r, code == http.StatusOK, err
}

// runs lists every run of flow created since t, newest first.
func (a *apiClient) runs(ctx context.Context, flow string, since time.Time) ([]apiRun, error) {
	var all []apiRun
	cursor := ""
	for {
		q := url.Values{"flow": {flow}, "limit": {"500"}, "since": {since.UTC().Format(time.RFC3339)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Runs       []apiRun `json:"runs"`
			NextCursor string   `json:"next_cursor"`
		}
		if _, err := a.do(ctx, http.MethodGet, "/runs?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Runs...)
		if page.NextCursor == "" { // a page may be empty before the last one
			return all, nil
		}
		cursor = page.NextCursor
	}
}
