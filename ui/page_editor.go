package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/triggers"
	"github.com/hookflow/hookflow/ui/views"
)

// listenFor is how long "listen for a test event" waits for a request.
const listenFor = 5 * time.Minute

// editorPage shows a flow in the editor.
func (s *Server) editorPage(c *fiber.Ctx) error {
	f, err := s.store.GetFlow(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	p, err := s.editorModel(c, f, flowDoc(f), nil, "")
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.Editor(p))
}

// editorPost applies one editor action to the posted draft: a structural
// change (re-render), save, save as JSON, or save and test.
func (s *Server) editorPost(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Params("id")
	stored, err := s.store.GetFlow(ctx, id)
	if err != nil {
		return err
	}
	op := c.FormValue("op")
	if op == "" {
		op = "save"
	}
	doc, err := decodeDoc([]byte(c.FormValue("doc")))
	if err != nil {
		doc = flowDoc(stored)
	}
	var ps engine.Problems
	if op == "savejson" {
		jd, err := decodeDoc([]byte(c.FormValue("json")))
		if err != nil {
			ps.Add("", "the JSON does not parse: %v", err)
		} else if jid, _ := jd["id"].(string); jid != id {
			ps.Add("id", "the id cannot change here (it is the webhook path); import the document as a new flow instead")
		} else {
			doc = jd
		}
	} else {
		ps = overlayPost(c, doc)
	}
	doc["id"] = id
	if strings.HasPrefix(op, "cond|") {
		conds, _ := c.Locals(condsKey{}).(map[string]*condState)
		if conds == nil {
			conds = map[string]*condState{}
			c.Locals(condsKey{}, conds)
		}
		if err := condOp(doc, conds, op); err != nil {
			ps.Add("", "%v", err)
		}
		return s.renderEditor(c, stored, doc, ps, "", nil)
	}
	if len(ps) > 0 {
		return s.renderEditor(c, stored, doc, ps, "", nil)
	}
	if op == "undo" {
		if err := undoRemove(doc, c.FormValue("undo")); err != nil {
			ps.Add("", "%v", err)
		}
		return s.renderEditor(c, stored, doc, ps, "", nil)
	}
	switch op {
	case "save", "savejson", "test":
	default:
		if removed, ok := removal(doc, op); ok {
			c.Locals(undoKey{}, removed)
		}
		focus, err := applyOp(doc, op, c.FormValue("trigger_type"), s.stepSpecs())
		if err != nil {
			ps.Add("", "%v", err)
		}
		if verb, _, _ := strings.Cut(op, "|"); verb == "up" || verb == "down" || verb == "remove" || verb == "removecase" {
			c.Locals(condsKey{}, nil) // paths moved: read the conditions from the draft
		}
		return s.renderEditor(c, stored, doc, ps, focus, nil)
	}
	if canonical(doc) != canonical(flowDoc(stored)) {
		saved, err := s.saveDoc(c, doc)
		if err != nil {
			return s.renderEditor(c, stored, doc, problemsOf(err), "", nil)
		}
		stored, doc = saved, flowDoc(saved)
	}
	if op != "test" {
		if !isHTMX(c) {
			return redirectFlash(c, "/flows/"+id, "ok", fmt.Sprintf("Saved version %d.", stored.Version))
		}
		c.Locals(toastKey{}, fmt.Sprintf("Saved version %d.", stored.Version))
		return s.renderEditor(c, stored, doc, nil, "", nil)
	}
	var body any
	if stored.Trigger.Type == "schedule" {
		// A schedule's runs carry {"scheduled_at"}: test with one for now.
		body = map[string]any{"scheduled_at": time.Now().UTC().Format(time.RFC3339)}
	}
	runID, err := s.eng.RunManual(ctx, id, body)
	if err != nil {
		return s.renderEditor(c, stored, doc, problemsOf(err), "", nil)
	}
	run, err := s.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	c.Set("HX-Reswap", "outerHTML show:#test-result:top")
	return s.renderEditor(c, stored, doc, nil, "", run)
}

// formSnippet is a copy-paste HTML form that posts to the flow.
func formSnippet(action string) string {
	return `<form method="post" action="` + html.EscapeString(action) + `" accept-charset="utf-8">
  <label>Name <input name="name" required></label>
  <label>Email <input name="email" type="email" required></label>
  <label>Message <textarea name="message"></textarea></label>
  <button type="submit">Send</button>
</form>`
}

// toastKey holds a success message for the editor to show once.
type toastKey struct{}

// condsKey holds the posted condition builders in a request's locals.
type condsKey struct{}

// saveDoc validates the draft and stores it as the flow's next version.
func (s *Server) saveDoc(c *fiber.Ctx, doc map[string]any) (*engine.Flow, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	f, err := engine.DecodeFlow(b)
	if err != nil {
		return nil, err
	}
	return s.eng.UpdateFlow(c.UserContext(), f)
}

func (s *Server) renderEditor(c *fiber.Ctx, stored *engine.Flow, doc map[string]any, ps engine.Problems, focus string, test *engine.Run) error {
	p, err := s.editorModel(c, stored, doc, ps, focus)
	if err != nil {
		return err
	}
	if test != nil {
		rv := s.runView(test, map[string]string{stored.ID: stored.Name}, true)
		p.TestRun = &rv
		p.TestNote = "No test event yet, so the run started with an empty body. Listen for a test event on the trigger card first."
		if stored.Trigger.Type == "schedule" {
			p.TestNote = "Running as if the schedule fired now (trigger.body.scheduled_at)."
		} else if test.Trigger.Type != "manual" || test.Trigger.Body != nil {
			p.TestNote = "Running with the test event received " + stamp(test.Trigger.ReceivedAt) + "."
		}
	}
	code := fiber.StatusOK
	if len(ps) > 0 && !isHTMX(c) {
		code = fiber.StatusUnprocessableEntity
	}
	return s.render(c, code, views.Editor(p))
}

func (s *Server) stepSpecs() map[string]engine.Spec {
	out := map[string]engine.Spec{}
	for _, sp := range s.eng.Registry().StepSpecs() {
		out[sp.Kind] = sp
	}
	return out
}

// editorModel builds the editor's view of a draft with its problems.
func (s *Server) editorModel(c *fiber.Ctx, stored *engine.Flow, doc map[string]any, ps engine.Problems, focus string) (views.EditorPage, error) {
	ctx := c.UserContext()
	reg := s.eng.Registry()
	p := views.EditorPage{Page: s.page(c, stored.Name, "flows"), FlowID: stored.ID, Version: stored.Version,
		Dirty: canonical(doc) != canonical(flowDoc(stored)), JSON: pretty(doc)}
	docJSON, _ := json.Marshal(doc)
	p.Doc = string(docJSON)

	status := map[string]string{}
	td := s.loadTestData(ctx, stored.ID) // read once: the map, the picker and the previews share it
	if td.last != nil {
		for _, st := range td.last.Steps {
			status[st.ID] = string(st.Status)
		}
	}
	specs := reg.StepSpecs()
	b := &formBuilder{specs: s.stepSpecs(), canEdit: p.CanEdit, status: status, focus: focus, palette: palette(specs), types: map[string]string{}, flowID: stored.ID,
		callable: s.callableFlows(stored.ID)}
	b.conds, _ = c.Locals(condsKey{}).(map[string]*condState)
	if s.Secrets != nil {
		if names, err := s.Secrets.Names(ctx); err == nil {
			p.SecretNames, b.secrets = names, names
		}
	}
	pe := s.previewEnv(ctx, td, stored.ID, stored.Name)
	seen := map[string]*views.PreviewView{} // the form is built twice; fields repeat
	b.preview = func(text string) *views.PreviewView {
		if pv, ok := seen[text]; ok {
			cp := *pv
			return &cp
		}
		pv := pe.preview(ctx, text)
		seen[text] = pv
		cp := *pv
		return &cp
	}
	p.PillMenu = pillMenu()
	for _, g := range s.pickGroups(ctx, td, stored.ID) {
		for _, it := range g.Items {
			if it.Type != "" {
				b.types[it.Expr] = it.Type
			}
		}
	}

	trigType, _ := getAt(doc, "trigger.type")
	tt, _ := trigType.(string)
	listen := views.ListenView{FlowID: stored.ID, WebhookURL: s.webhookURL(stored.ID), CanEdit: p.CanEdit,
		Listening: s.eng.Listening(stored.ID), After: time.Now().UnixNano()}
	if sample, err := s.store.GetSample(ctx, stored.ID); err == nil {
		listen.Sample, listen.SampleAt = pretty(sample), stamp(sample.ReceivedAt)
	}
	notes := s.triggerNotes(ctx, stored.ID, tt, doc) // once: build runs twice

	build := func() {
		enabled, hasEnabled := doc["enabled"]
		name, hasName := doc["name"]
		desc, hasDesc := doc["description"]
		p.Name = b.field(engine.Field{Name: "name", Label: "Name", Type: engine.FieldText, Required: true}, "name", name, hasName)
		p.Name.Pick = ""
		p.Description = b.field(engine.Field{Name: "description", Label: "Description", Type: engine.FieldText,
			Placeholder: "What this flow is for (optional)"}, "description", desc, hasDesc)
		p.Description.Pick = ""
		p.Enabled = b.field(engine.Field{Name: "enabled", Label: "Enabled", Type: engine.FieldBool, Default: true,
			Help: "A disabled flow answers 404 to its webhook and starts no runs."}, "enabled", enabled, hasEnabled)

		tv := views.TriggerView{Path: "trigger", Type: tt, Title: tt, Listen: listen}
		b.reg("trigger", "card-trigger")
		b.where = "Trigger"
		b.label("trigger", b.where)
		for _, k := range reg.Triggers() {
			tv.Types = append(tv.Types, views.Option{Value: k.Spec.Kind, Label: k.Spec.Title, Selected: k.Spec.Kind == tt})
		}
		if k, ok := reg.Trigger(tt); ok {
			tv.Title, tv.Summary = k.Spec.Title, k.Spec.Summary
			with, _ := getAt(doc, "trigger.with")
			wm, _ := with.(map[string]any)
			for _, f := range k.Spec.Fields {
				v, ok := wm[f.Name]
				tv.Fields = append(tv.Fields, b.field(f, "trigger.with."+f.Name, v, ok))
			}
		}
		if tt == "webhook" {
			tv.WebhookURL = s.webhookURL(stored.ID)
			tv.CanForm = p.CanEdit
			if mode, _ := getAt(doc, "trigger.with.respond.mode"); mode == "redirect" {
				tv.FormSnippet = formSnippet(tv.WebhookURL)
			}
		}
		tv.Problems = b.probs("trigger")
		b.where = ""
		tv.Notes = notes
		p.Trigger = tv
		p.Steps = b.steps(doc, "steps", "", "", 0)
	}
	// First pass: learn every path shown; then attach problems and build again.
	b.anchors, b.labels = map[string]string{}, map[string]string{}
	build()
	p.Problems = b.assign(ps)
	build()
	p.Palette = b.palette
	p.Toast, _ = c.Locals(toastKey{}).(string)
	if u, ok := c.Locals(undoKey{}).(undoStep); ok {
		p.Undo, p.UndoText = u.token, u.text
	}
	if b.focusID != "" {
		p.Focus = b.focusID
	} else if id, ok := b.anchors[focus]; ok && focus != "" {
		p.Focus = id
	}
	p.Warnings = s.warnings(doc, p.SecretNames, b.labels, b.anchors)
	p.Map = flowMap(p.Trigger, p.Steps)
	if tt == "schedule" {
		with, _ := getAt(doc, "trigger.with")
		wm, _ := with.(map[string]any)
		p.ScheduleTZ, _ = wm["timezone"].(string)
		if p.ScheduleTZ == "" {
			p.ScheduleTZ = "UTC"
		}
	}
	return p, nil
}

// overlayPost writes the posted inputs and condition builders onto the
// draft, keeping the builders' state for the re-render.
func overlayPost(c *fiber.Ctx, doc map[string]any) engine.Problems {
	args := postArgs(c)
	ps := overlay(doc, args)
	conds := readConds(args)
	ps = append(ps, applyConds(doc, conds, explicitExprs(args))...)
	c.Locals(condsKey{}, conds)
	return ps
}

// postArgs returns the posted form fields in order.
func postArgs(c *fiber.Ctx) [][2]string {
	var out [][2]string
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		out = append(out, [2]string{string(k), string(v)})
	})
	if len(out) == 0 {
		if mf, err := c.MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				for _, v := range vs {
					out = append(out, [2]string{k, v})
				}
			}
		}
	}
	return out
}

// listenStart arms the flow to capture its next webhook as the test event.
func (s *Server) listenStart(c *fiber.Ctx) error {
	id := c.Params("id")
	if _, err := s.eng.Flow(id); err != nil {
		return err
	}
	ch, stop := s.eng.Listen(id)
	go func() {
		t := time.NewTimer(listenFor)
		defer t.Stop()
		select {
		case <-ch:
		case <-t.C:
		}
		stop()
	}()
	lv := views.ListenView{FlowID: id, WebhookURL: s.webhookURL(id), Listening: true, CanEdit: true,
		After: time.Now().UnixNano()}
	if sample, err := s.store.GetSample(c.UserContext(), id); err == nil {
		lv.Sample, lv.SampleAt = pretty(sample), stamp(sample.ReceivedAt)
	}
	return s.render(c, fiber.StatusOK, views.Listen(lv))
}

// listenStop disarms listening.
func (s *Server) listenStop(c *fiber.Ctx) error {
	id := c.Params("id")
	_, stop := s.eng.Listen(id)
	stop()
	lv := views.ListenView{FlowID: id, WebhookURL: s.webhookURL(id), CanEdit: true}
	if sample, err := s.store.GetSample(c.UserContext(), id); err == nil {
		lv.Sample, lv.SampleAt = pretty(sample), stamp(sample.ReceivedAt)
	}
	return s.render(c, fiber.StatusOK, views.Listen(lv))
}

// listenPoll answers the listen panel's poll: still waiting, or the new sample.
func (s *Server) listenPoll(c *fiber.Ctx) error {
	id := c.Params("id")
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	grace, _ := strconv.Atoi(c.Query("grace"))
	lv := views.ListenView{FlowID: id, WebhookURL: s.webhookURL(id), After: after, CanEdit: who(c).can(engine.RoleEditor)}
	sample, err := s.store.GetSample(c.UserContext(), id)
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	fresh := sample != nil && sample.ReceivedAt.UnixNano() >= after-int64(time.Second)
	if sample != nil {
		lv.Sample, lv.SampleAt = pretty(sample), stamp(sample.ReceivedAt)
	}
	switch {
	case s.eng.Listening(id):
		lv.Listening = true
	case fresh:
		lv.Fresh = true
	case grace < 3:
		// A capture may be committing: look again before giving up.
		lv.Listening, lv.Grace = true, grace+1
	default:
		lv.Expired = true
	}
	return s.render(c, fiber.StatusOK, views.Listen(lv))
}

// pickerFragment lists the field paths seen in the test event and the last run.
func (s *Server) pickerFragment(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, views.Picker(s.pickGroups(c.UserContext(), s.loadTestData(c.UserContext(), c.Params("id")), c.Params("id"))))
}

// testData is what the editor shows a flow's fields with: its test event,
// its last run and the step outputs pinned as sample data.
type testData struct {
	sample *engine.TriggerData
	last   *engine.Run
	pins   map[string]any
}

// loadTestData reads a flow's test data: one read of each per request.
func (s *Server) loadTestData(ctx context.Context, id string) testData {
	var td testData
	if sample, err := s.store.GetSample(ctx, id); err == nil {
		td.sample = sample
	}
	if runs, _, err := s.store.ListRuns(ctx, engine.RunQuery{FlowID: id, Limit: 1}); err == nil && len(runs) > 0 {
		td.last = runs[0]
	}
	td.pins = s.pins(ctx, id)
	return td
}

// pickGroups lists the fields the picker offers: the test event (or the last
// run's, or the verify preset's sample), earlier steps' outputs and variables.
func (s *Server) pickGroups(ctx context.Context, td testData, id string) []views.PickGroup {
	var groups []views.PickGroup
	if td.sample != nil {
		groups = append(groups, views.PickGroup{Title: "Test event", Items: flatten("trigger", toGeneric(td.sample), 6, 200)})
	}
	if r := td.last; r != nil {
		if len(groups) == 0 {
			groups = append(groups, views.PickGroup{Title: "Last run's event", Items: flatten("trigger", toGeneric(r.Trigger), 6, 200)})
		}
		var items []views.PickItem
		for _, st := range r.Steps {
			if strings.ContainsAny(st.ID, "[.") || st.Output == nil {
				continue
			}
			items = append(items, flatten("steps."+st.ID+".output", toGeneric(st.Output), 5, 80)...)
		}
		if len(items) > 0 {
			groups = append(groups, views.PickGroup{Title: "Earlier steps (last run)", Items: items})
		}
		if len(r.Vars) > 0 {
			groups = append(groups, views.PickGroup{Title: "Variables", Items: flatten("vars", toGeneric(r.Vars), 3, 60)})
		}
	}
	if len(groups) == 0 {
		if g, ok := s.presetSample(ctx, id); ok {
			groups = append(groups, g)
		} else if f, err := s.store.GetFlow(ctx, id); err == nil && f.Trigger.Type == "schedule" {
			groups = append(groups, views.PickGroup{Title: "Schedule", Items: []views.PickItem{
				{Expr: "trigger.body.scheduled_at", Example: "the time it fired", Type: "date"}}})
		}
	}
	if pins := td.pins; len(pins) > 0 {
		ids := make([]string, 0, len(pins))
		for sid := range pins {
			ids = append(ids, sid)
		}
		sort.Strings(ids)
		var items []views.PickItem
		for _, sid := range ids {
			items = append(items, flatten("steps."+sid+".output", pins[sid], 5, 80)...)
		}
		groups = append(groups, views.PickGroup{Title: "Pinned step data", Items: items})
	}
	if s.Secrets != nil {
		if names, err := s.Secrets.Names(ctx); err == nil && len(names) > 0 {
			items := make([]views.PickItem, 0, len(names))
			for _, n := range names {
				items = append(items, views.PickItem{Expr: "secrets." + n, Example: "🔒 kept encrypted, never shown"})
			}
			groups = append(groups, views.PickGroup{Title: "Secrets", Items: items})
		}
	}
	groups = append(groups, views.PickGroup{Title: "Run and flow", Items: []views.PickItem{
		{Expr: "run.id", Type: "text"}, {Expr: "flow.id", Type: "text"}, {Expr: "flow.name", Type: "text"}, {Expr: "now()", Type: "date"}}})
	return groups
}

// presetSample offers the fields of the verify preset's sample event (from
// the provider's documentation) before the first delivery, so a flow can be
// built from the fields the provider will send.
func (s *Server) presetSample(ctx context.Context, id string) (views.PickGroup, bool) {
	f, err := s.store.GetFlow(ctx, id)
	if err != nil {
		return views.PickGroup{}, false
	}
	body := presetBody(f)
	if body == nil {
		return views.PickGroup{}, false
	}
	var with struct {
		Verify struct {
			Scheme string `json:"scheme"`
		} `json:"verify"`
	}
	_ = json.Unmarshal(f.Trigger.With, &with)
	p, _ := triggers.PresetFor(with.Verify.Scheme)
	return views.PickGroup{Title: "Sample " + p.Name + " event (from its docs)", Items: flatten("trigger.body", body, 6, 200)}, true
}

func toGeneric(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// flatten lists the paths of v below prefix (expr syntax), with short examples.
func flatten(prefix string, v any, depth, max int) []views.PickItem {
	var out []views.PickItem
	var walk func(p string, v any, d int)
	walk = func(p string, v any, d int) {
		if len(out) >= max {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if p != prefix || prefix != "trigger" {
				out = append(out, views.PickItem{Expr: p, Example: fmt.Sprintf("{%d fields}", len(x))})
			}
			if d == 0 {
				return
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if p == "trigger" && (k == "raw" || k == "file_data") { // internal: not offered
					continue
				}
				next := p + "." + k
				if !identRe.MatchString(k) {
					next = p + "[" + strconv.Quote(k) + "]"
				}
				walk(next, x[k], d-1)
			}
		case []any:
			out = append(out, views.PickItem{Expr: p, Example: fmt.Sprintf("[%d items]", len(x)), Type: valueType(x)})
			if len(x) > 0 && d > 0 {
				walk(p+"[0]", x[0], d-1)
			}
		default:
			ex := fmt.Sprint(x)
			if x == nil {
				ex = "null"
			}
			if len(ex) > 40 {
				ex = ex[:40] + "…"
			}
			out = append(out, views.PickItem{Expr: p, Example: ex, Type: valueType(x)})
		}
	}
	walk(prefix, v, depth)
	return out
}

// versionsPage lists a flow's versions and shows one.
func (s *Server) versionsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, err := s.store.GetFlow(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	vs, err := s.store.ListFlowVersions(ctx, f.ID)
	if err != nil {
		return err
	}
	p := views.VersionsPage{Page: s.page(c, "Versions of "+f.Name, "flows"), FlowID: f.ID, FlowName: f.Name, Current: f.Version}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version > vs[j].Version })
	for _, v := range vs {
		p.Versions = append(p.Versions, views.VersionRow{Version: v.Version, Name: v.Name, When: stamp(v.UpdatedAt)})
	}
	if vp := c.Params("version"); vp != "" {
		n, err := strconv.Atoi(vp)
		if err != nil {
			return fiber.NewError(fiber.StatusNotFound, "no such version")
		}
		old, err := s.store.GetFlowVersion(ctx, f.ID, n)
		if err != nil {
			return err
		}
		p.Shown, p.ShownJSON = n, pretty(old)
	}
	return s.render(c, fiber.StatusOK, views.Versions(p))
}

// versionRestore saves an old version as the newest.
func (s *Server) versionRestore(c *fiber.Ctx) error {
	id := c.Params("id")
	n, err := strconv.Atoi(c.Params("version"))
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such version")
	}
	f, err := s.eng.RestoreFlowVersion(c.UserContext(), id, n)
	if err != nil {
		return redirectFlash(c, "/flows/"+id+"/versions/"+strconv.Itoa(n), "error", "Could not restore: "+err.Error())
	}
	return redirectFlash(c, "/flows/"+id, "ok", fmt.Sprintf("Restored version %d as version %d.", n, f.Version))
}

// triggerNotes says what a trigger will do or did: the next fire times of a
// schedule, the last poll or reconcile cycle.
func (s *Server) triggerNotes(ctx context.Context, flowID, kind string, doc map[string]any) []views.TriggerNote {
	var notes []views.TriggerNote
	with, _ := getAt(doc, "trigger.with")
	wm, _ := with.(map[string]any)
	if kind == "schedule" {
		cron, _ := wm["cron"].(string)
		tz, _ := wm["timezone"].(string)
		if cron != "" {
			fires, err := triggers.NextFires(cron, tz, time.Now(), 5)
			if err != nil {
				notes = append(notes, views.TriggerNote{Text: "Schedule: " + err.Error(), Bad: true})
			} else {
				parts := make([]string, len(fires))
				for i, f := range fires {
					parts[i] = f.Format("Mon 2 Jan 15:04:05 MST")
				}
				notes = append(notes, views.TriggerNote{Text: "Next fires: " + strings.Join(parts, " · ")})
			}
		}
	}
	if kind == "webhook" {
		if n, ok := waitWarning(wm); ok {
			notes = append(notes, n)
		}
		verify, _ := wm["verify"].(map[string]any)
		if p, ok := triggers.PresetFor(fmt.Sprint(verify["scheme"])); ok {
			notes = append(notes, views.TriggerNote{Text: p.Name + ": " + p.Hint})
		}
	}
	for _, k := range []string{"poll", "reconcile"} {
		if k == "reconcile" && wm["reconcile"] == nil || k == "poll" && kind != "poll" {
			continue
		}
		ps, err := s.eng.LastPoll(ctx, flowID, k)
		if err != nil {
			continue
		}
		when := ps.At.Format("2006-01-02 15:04:05 UTC")
		if ps.OK {
			notes = append(notes, views.TriggerNote{Text: fmt.Sprintf("Last %s %s: ok, %d new runs", k, when, ps.Started)})
		} else {
			notes = append(notes, views.TriggerNote{Text: fmt.Sprintf("Last %s %s failed: %s", k, when, ps.Error), Bad: true})
		}
	}
	return notes
}

// providerTimeouts is how long each verified provider waits for an answer
// before it gives up and retries (REFERENCE.md §2).
var providerTimeouts = map[string]struct {
	name string
	d    time.Duration
}{
	"slack":    {"Slack", 3 * time.Second},
	"shopify":  {"Shopify", 5 * time.Second},
	"github":   {"GitHub", 10 * time.Second},
	"standard": {"Standard Webhooks senders", 15 * time.Second},
	"stripe":   {"Stripe", 30 * time.Second},
}

// waitWarning warns when respond mode wait may hold a provider's request
// longer than the provider waits.
func waitWarning(with map[string]any) (views.TriggerNote, bool) {
	respond, _ := with["respond"].(map[string]any)
	verify, _ := with["verify"].(map[string]any)
	if respond["mode"] != "wait" || verify == nil {
		return views.TriggerNote{}, false
	}
	p, ok := providerTimeouts[fmt.Sprint(verify["scheme"])]
	if !ok {
		return views.TriggerNote{}, false
	}
	timeout := 10 * time.Second
	if t, err := time.ParseDuration(fmt.Sprint(respond["timeout"])); err == nil && t > 0 {
		timeout = t
	}
	if timeout < p.d {
		return views.TriggerNote{}, false
	}
	return views.TriggerNote{Bad: true, Text: fmt.Sprintf("%s waits at most %s for an answer: with respond mode wait and a %s timeout it may give up and send the event again (the duplicate is caught by dedupe). Use immediate, or a timeout under %s.",
		p.name, p.d, timeout, p.d)}, true
}
