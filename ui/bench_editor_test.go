package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// editorBench is a signed-in client of a server holding a 30-step flow and
// its test event.
type editorBench struct {
	h      *hookEnv
	client *http.Client
	csrf   string
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func newEditorBench(b *testing.B) *editorBench {
	h := newHookEnv(b)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(h.url+"/setup", url.Values{"email": {"admin@example.com"}, "password": {"correct horse"}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	page := benchGet(b, client, h.url+"/flows")
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.Fatal("no CSRF token")
	}
	// 30 steps: filters with builder conditions, branches, HTTP and Discord
	// steps with templates, as an everyday flow grown large.
	var steps []string
	for i := 0; i < 30; i++ {
		switch i % 5 {
		case 0:
			steps = append(steps, fmt.Sprintf(`{"id":"f%d","type":"filter","when":"trigger.body.amount > %d && trigger.body.email != nil"}`, i, i))
		case 1:
			steps = append(steps, fmt.Sprintf(`{"id":"h%d","type":"http","with":{"method":"POST","url":"https://api.example.com/o/{{ trigger.body.id }}","body":{"email":"{{ lower(trigger.body.email) }}","n":%d}}}`, i, i))
		case 2:
			steps = append(steps, fmt.Sprintf(`{"id":"e%d","type":"discord","with":{"webhook_url":"https://discord.com/api/webhooks/1/x","text":"Order {{ trigger.body.id }}: thanks {{ trigger.body.name }} for {{ trigger.body.amount }}"}}`, i))
		case 3:
			steps = append(steps, fmt.Sprintf(`{"id":"b%d","type":"branch","cases":[{"when":"trigger.body.amount >= 100","steps":[{"id":"l%d","type":"log","with":{"message":"big {{ trigger.body.id }}"}}]}]}`, i, i))
		default:
			steps = append(steps, fmt.Sprintf(`{"id":"s%d","type":"log","if":"trigger.body.vip == true","with":{"message":"vip {{ trigger.body.name }}"}}`, i))
		}
	}
	f, err := engine.DecodeFlow([]byte(`{"id":"big","name":"Big","trigger":{"type":"webhook"},"steps":[` + strings.Join(steps, ",") + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := h.eng.PutFlow(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	var body any
	_ = json.Unmarshal([]byte(`{"id":"o-1","amount":120,"email":"Ann@Example.com","name":"Ann","vip":true}`), &body)
	if err := h.store.PutSample(context.Background(), "big", &engine.TriggerData{Type: "webhook", Method: "POST", Body: body, ReceivedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return &editorBench{h: h, client: client, csrf: m[1]}
}

func benchGet(b *testing.B, c *http.Client, u string) string {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	bs, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return string(bs)
}

// BenchmarkEditorRender30Steps: GET /flows/:id of a 30-step flow with a test
// event — every condition read into builder rows, every template's pills and
// preview — over loopback HTTP (an upper bound of the server time).
func BenchmarkEditorRender30Steps(b *testing.B) {
	eb := newEditorBench(b)
	page := benchGet(b, eb.client, eb.h.url+"/flows/big")
	if !strings.Contains(page, `data-testid="cond-steps[25].when"`) || !strings.Contains(page, "preview-value") {
		b.Fatal("the editor does not show builders and previews")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchGet(b, eb.client, eb.h.url+"/flows/big")
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/render")
}

// BenchmarkLivePreview: POST /flows/:id/preview of a template with three
// placeholders against the test event and the flow's last run.
func BenchmarkLivePreview(b *testing.B) {
	eb := newEditorBench(b)
	form := url.Values{"t": {`Order {{ trigger.body.id }} for {{ upper(trigger.body.name ?? "") }}: {{ trigger.body.amount }}`}}.Encode()
	post := func() string {
		req, _ := http.NewRequest(http.MethodPost, eb.h.url+"/flows/big/preview", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", eb.csrf)
		resp, err := eb.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		bs, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("preview: %d %s", resp.StatusCode, bs)
		}
		return string(bs)
	}
	if got := post(); !strings.Contains(got, "Order o-1 for ANN: 120") {
		b.Fatalf("preview = %s", got)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/preview")
}
