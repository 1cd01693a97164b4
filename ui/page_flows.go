package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/flows"
	"github.com/hookflow/hookflow/ui/views"
)

// flowsPage lists flows with their switch, trigger, last run and 24 h count.
func (s *Server) flowsPage(c *fiber.Ctx) error {
	p, err := s.flowsModel(c, c.Query("q"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.Flows(p))
}

func (s *Server) flowsModel(c *fiber.Ctx, q string) (views.FlowsPage, error) {
	ctx := c.UserContext()
	all, err := s.store.ListFlows(ctx)
	if err != nil {
		return views.FlowsPage{}, err
	}
	now := time.Now()
	p := views.FlowsPage{Page: s.page(c, "Flows", "flows"), Query: q, Total: len(all), Templates: templateOptions()}
	pending, err := s.pendingByFlow(c)
	if err != nil {
		return views.FlowsPage{}, err
	}
	needle := strings.ToLower(strings.TrimSpace(q))
	for _, f := range all {
		if needle != "" && !strings.Contains(strings.ToLower(f.ID+" "+f.Name+" "+f.Description), needle) {
			continue
		}
		row := views.FlowRow{ID: f.ID, Name: f.Name, Description: f.Description, Enabled: f.Enabled,
			TriggerTitle: s.triggerTitle(f.Trigger.Type), Steps: countSteps(f.Steps), Pending: len(pending[f.ID])}
		if f.Trigger.Type == "webhook" {
			row.WebhookURL = s.webhookURL(f.ID)
		}
		if _, err := s.eng.Flow(f.ID); err != nil && !errors.Is(err, engine.ErrNotFound) {
			row.Broken = err.Error()
		}
		if pg, err := s.store.ListRunSummaries(ctx, engine.RunQuery{FlowID: f.ID, Limit: 1}); err == nil && len(pg.Runs) > 0 {
			last := pg.Runs[0]
			row.LastStatus, row.LastRunID = string(last.Status), last.ID
			row.LastAgo, row.LastAt = ago(last.CreatedAt, now), stamp(last.CreatedAt)
		}
		if n, err := s.store.CountRuns(ctx, f.ID, now.Add(-24*time.Hour)); err == nil {
			row.Runs24h = n
		}
		p.Flows = append(p.Flows, row)
	}
	sort.SliceStable(p.Flows, func(i, j int) bool {
		return strings.ToLower(p.Flows[i].Name) < strings.ToLower(p.Flows[j].Name)
	})
	return p, nil
}

func (s *Server) triggerTitle(kind string) string {
	if k, ok := s.eng.Registry().Trigger(kind); ok && k.Spec.Title != "" {
		return k.Spec.Title
	}
	return kind
}

func countSteps(steps []engine.Step) int {
	n := 0
	for _, st := range steps {
		n++
		n += countSteps(st.Steps) + countSteps(st.Default)
		for _, cs := range st.Cases {
			n += countSteps(cs.Steps)
		}
	}
	return n
}

// templateOptions lists the example flows shipped in flows.FS.
// templateOptions lists the gallery once: the embedded files never change.
var templateOptions = sync.OnceValue(func() []views.TemplateOption {
	names, _ := fs.Glob(flows.FS, "*.json")
	var out []views.TemplateOption
	for _, n := range names {
		f, err := readTemplate(n)
		if err != nil {
			continue
		}
		out = append(out, views.TemplateOption{File: n, Name: f.Name, Description: f.Description})
	}
	return out
})

func readTemplate(name string) (*engine.Flow, error) {
	if path.Base(name) != name || !strings.HasSuffix(name, ".json") {
		return nil, fmt.Errorf("template %q: %w", name, engine.ErrNotFound)
	}
	b, err := flows.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", name, engine.ErrNotFound)
	}
	return engine.DecodeFlow(b)
}

// flowsNew creates a flow, blank or from a template, and opens the editor.
func (s *Server) flowsNew(c *fiber.Ctx) error {
	ctx := c.UserContext()
	name := strings.TrimSpace(c.FormValue("name"))
	var f *engine.Flow
	if t := c.FormValue("template"); t != "" {
		tf, err := readTemplate(t)
		if err != nil {
			return err
		}
		f = tf
		if name != "" {
			f.Name = name
		}
	} else {
		if name == "" {
			return s.flowsFormError(c, name, "Give the flow a name.")
		}
		f = &engine.Flow{Name: name, Enabled: true, Trigger: engine.Trigger{Type: "webhook"}, Steps: []engine.Step{}}
	}
	base := f.ID
	if name != "" || base == "" {
		base = slug(f.Name)
	}
	id, err := s.freeFlowID(c, base)
	if err != nil {
		return err
	}
	f.ID = id
	if _, err := s.eng.CreateFlow(ctx, f); err != nil {
		return s.flowsFormError(c, name, "The flow could not be created: "+err.Error())
	}
	return redirectFlash(c, "/flows/"+f.ID, "ok", "Flow created. Its webhook URL is ready: listen for a test event, then add steps.")
}

func (s *Server) flowsFormError(c *fiber.Ctx, name, msg string) error {
	p, err := s.flowsModel(c, "")
	if err != nil {
		return err
	}
	p.NewName, p.NewError = name, msg
	return s.render(c, fiber.StatusUnprocessableEntity, views.Flows(p))
}

// slug turns a name into a flow id: "Stripe → Slack!" → "stripe-slack".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "flow"
	}
	return s
}

// freeFlowID returns base, or base-2, base-3… when taken.
func (s *Server) freeFlowID(c *fiber.Ctx, base string) (string, error) {
	for i := 1; i < 1000; i++ {
		id := base
		if i > 1 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := s.store.GetFlow(c.UserContext(), id)
		if errors.Is(err, engine.ErrNotFound) {
			return id, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free flow id for %q: %w", base, engine.ErrExists)
}

// flowsImport stores one flow document or a list of them (insert or replace by id).
func (s *Server) flowsImport(c *fiber.Ctx) error {
	text := strings.TrimSpace(c.FormValue("json"))
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, 8<<20))
		_ = f.Close()
		if err != nil {
			return err
		}
		text = strings.TrimSpace(string(b))
	}
	fail := func(msgs ...string) error {
		p, err := s.flowsModel(c, "")
		if err != nil {
			return err
		}
		p.ImportText, p.ImportProblems = text, msgs
		return s.render(c, fiber.StatusUnprocessableEntity, views.Flows(p))
	}
	if text == "" {
		return fail("Paste a flow document or choose a file.")
	}
	docs, _, err := engine.SplitFlowDocs([]byte(text))
	if err != nil {
		return fail("The list is not valid JSON: " + err.Error())
	}
	var fs []*engine.Flow
	var msgs []string
	for i, d := range docs {
		f, err := engine.DecodeFlow(bytes.TrimSpace(d))
		if err == nil {
			err = engine.Validate(f, s.eng.Registry()).Err()
		}
		if err != nil {
			label := fmt.Sprintf("flow %d", i+1)
			if f != nil && f.ID != "" {
				label = f.ID
			}
			for _, pr := range problemsOf(err) {
				msgs = append(msgs, label+": "+pathLabel(pr.Path)+pr.Message)
			}
			continue
		}
		fs = append(fs, f)
	}
	if len(msgs) > 0 {
		return fail(msgs...)
	}
	for _, f := range fs {
		if _, err := s.eng.PutFlow(c.UserContext(), f); err != nil {
			return fail(f.ID + ": " + err.Error())
		}
	}
	if len(fs) == 1 {
		return redirectFlash(c, "/flows/"+fs[0].ID, "ok", "Imported "+fs[0].Name+".")
	}
	return redirectFlash(c, "/flows", "ok", fmt.Sprintf("Imported %d flows.", len(fs)))
}

func pathLabel(p string) string {
	if p == "" {
		return ""
	}
	return p + ": "
}

// flowsExport downloads every flow as a JSON list.
func (s *Server) flowsExport(c *fiber.Ctx) error {
	all, err := s.store.ListFlows(c.UserContext())
	if err != nil {
		return err
	}
	return sendJSONFile(c, "hookflow-flows.json", all)
}

// flowExport downloads one flow document.
func (s *Server) flowExport(c *fiber.Ctx) error {
	f, err := s.store.GetFlow(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return sendJSONFile(c, f.ID+".json", f)
}

func sendJSONFile(c *fiber.Ctx, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(append(b, '\n'))
}

// flowDuplicate copies a flow (switched off) and opens the copy.
func (s *Server) flowDuplicate(c *fiber.Ctx) error {
	f, err := s.store.GetFlow(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	id, err := s.freeFlowID(c, trimID(f.ID+"-copy"))
	if err != nil {
		return err
	}
	cp := *f
	cp.ID, cp.Name, cp.Enabled, cp.Version, cp.UpdatedAt = id, "Copy of "+f.Name, false, 0, time.Time{}
	if _, err := s.eng.CreateFlow(c.UserContext(), &cp); err != nil {
		return redirectFlash(c, "/flows", "error", "Could not duplicate: "+err.Error())
	}
	return redirectFlash(c, "/flows/"+id, "ok", "Duplicated. The copy is switched off until you turn it on.")
}

func trimID(id string) string {
	if len(id) > 56 {
		id = strings.TrimRight(id[:56], "-")
	}
	return id
}

// flowDelete removes a flow; its runs stay.
// pendingByFlow lists the queued, running and waiting runs of each flow.
func (s *Server) pendingByFlow(c *fiber.Ctx) (map[string][]string, error) {
	runs, err := s.store.PendingRuns(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range runs {
		out[r.FlowID] = append(out[r.FlowID], r.ID)
	}
	return out, nil
}

// flowDelete deletes a flow; with cancel_runs its queued and waiting runs are
// canceled first (otherwise they fail: their flow is gone).
func (s *Server) flowDelete(c *fiber.Ctx) error {
	id := c.Params("id")
	ctx := c.UserContext()
	pending, err := s.pendingByFlow(c)
	if err != nil {
		return err
	}
	runs := pending[id]
	canceled := 0
	if c.FormValue("cancel_runs") != "" {
		for _, runID := range runs {
			if err := s.eng.Cancel(ctx, runID); err == nil {
				canceled++
			}
		}
	}
	if err := s.eng.DeleteFlow(ctx, id); err != nil {
		return err
	}
	msg := "Deleted flow " + id + ". Its runs stay in the history."
	switch {
	case canceled > 0:
		msg += fmt.Sprintf(" Canceled %s that were queued or waiting.", views.Plural(canceled, "run"))
	case len(runs) > 0:
		msg += fmt.Sprintf(" %s queued or waiting will fail: their flow is gone.", views.Plural(len(runs), "run"))
	}
	return redirectFlash(c, "/flows", "ok", msg)
}

// flowEnabled switches a flow on or off; htmx gets the new switch.
func (s *Server) flowEnabled(c *fiber.Ctx) error {
	id := c.Params("id")
	on := c.FormValue("on") == "true"
	f, err := s.eng.SetEnabled(c.UserContext(), id, on)
	if err != nil {
		if isHTMX(c) {
			return err
		}
		return redirectFlash(c, "/flows", "error", "Could not switch "+id+": "+err.Error())
	}
	if isHTMX(c) {
		return s.render(c, fiber.StatusOK, views.EnabledSwitch(f.ID, f.Enabled, who(c).Session.CSRF, true))
	}
	state := "off"
	if f.Enabled {
		state = "on"
	}
	return redirectFlash(c, "/flows", "ok", f.Name+" is "+state+".")
}

// deliveriesPage is a flow's Deliveries tab.
func (s *Server) deliveriesPage(c *fiber.Ctx) error {
	id := c.Params("id")
	f, err := s.store.GetFlow(c.UserContext(), id)
	if err != nil {
		return err
	}
	rows, err := s.deliveryRows(c, id)
	if err != nil {
		return err
	}
	p := views.DeliveriesPage{Page: s.page(c, "Deliveries · "+f.Name, "flows"), FlowID: id, FlowName: f.Name,
		HookURL: s.webhookURL(id), Rows: rows}
	for _, o := range []engine.DeliveryOutcome{engine.DeliveryRun, engine.DeliveryDuplicate, engine.DeliveryRefused, engine.DeliveryCaptured} {
		p.Outcomes = append(p.Outcomes, views.Option{Value: string(o), Label: string(o), Selected: c.Query("outcome") == string(o)})
	}
	return s.render(c, fiber.StatusOK, views.Deliveries(p))
}

// deliveryRowsFragment is what the Deliveries tab polls.
func (s *Server) deliveryRowsFragment(c *fiber.Ctx) error {
	rows, err := s.deliveryRows(c, c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.DeliveryTable(rows))
}

func (s *Server) deliveryRows(c *fiber.Ctx, flowID string) (views.DeliveryRows, error) {
	ds, next, err := s.listDeliveries(c, flowID)
	if err != nil {
		return views.DeliveryRows{}, err
	}
	now := time.Now()
	outcome := c.Query("outcome")
	rows := views.DeliveryRows{Filtered: outcome != ""}
	for _, d := range ds {
		row := views.DeliveryRow{ID: d.ID, Method: d.Method, Path: d.Path, Status: d.Status, Outcome: string(d.Outcome),
			Reason: d.Reason, RunID: d.RunID, Size: byteSize(d.Size), Ago: ago(d.ReceivedAt, now), At: stamp(d.ReceivedAt)}
		names := make([]string, 0, len(d.Headers))
		for name := range d.Headers {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			row.Headers = append(row.Headers, views.Option{Value: name, Label: d.Headers[name]})
		}
		rows.Deliveries = append(rows.Deliveries, row)
	}
	base := "/flows/" + flowID + "/deliveries"
	q := ""
	if outcome != "" {
		q = "outcome=" + url.QueryEscape(outcome)
	}
	if next != "" {
		rows.NextURL = base + "?" + q + "&cursor=" + url.QueryEscape(next)
	}
	if c.Query("cursor") == "" {
		rows.PollURL = base + "/rows?" + q
	}
	return rows, nil
}

// byteSize renders a size for people.
func byteSize(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
