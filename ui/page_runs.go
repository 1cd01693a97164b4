package ui

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// runRanges are the time filters of the run history.
var runRanges = []struct{ value, label string }{
	{"", "Any time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
}

var runStatuses = []engine.RunStatus{engine.RunQueued, engine.RunRunning, engine.RunWaiting, engine.RunSucceeded,
	engine.RunFiltered, engine.RunFailed, engine.RunCanceled}

// runFilter is the run history's query string.
type runFilter struct {
	Flow, Status, Range, Text, Cursor string
}

func parseRunFilter(c *fiber.Ctx) runFilter {
	return runFilter{Flow: c.Query("flow"), Status: c.Query("status"), Range: c.Query("range"),
		Text: strings.TrimSpace(c.Query("q")), Cursor: c.Query("cursor")}
}

func (f runFilter) query(now time.Time) engine.RunQuery {
	q := engine.RunQuery{FlowID: f.Flow, Status: engine.RunStatus(f.Status), Text: f.Text, Cursor: f.Cursor, Limit: 50}
	switch f.Range {
	case "1h":
		q.Since = now.Add(-time.Hour)
	case "24h":
		q.Since = now.Add(-24 * time.Hour)
	case "7d":
		q.Since = now.Add(-7 * 24 * time.Hour)
	case "30d":
		q.Since = now.Add(-30 * 24 * time.Hour)
	}
	return q
}

// values is the filter as a query string, without the cursor.
func (f runFilter) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"flow": f.Flow, "status": f.Status, "range": f.Range, "q": f.Text} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// runsPage is the run history with filters.
func (s *Server) runsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := parseRunFilter(c)
	rows, err := s.runRows(c, f)
	if err != nil {
		return err
	}
	p := views.RunsPage{Page: s.page(c, "Runs", "runs"), Text: f.Text, Rows: rows,
		Filtered: f != runFilter{}}
	flows, err := s.store.ListFlows(ctx)
	if err != nil {
		return err
	}
	for _, fl := range flows {
		p.Flows = append(p.Flows, views.Option{Value: fl.ID, Label: fl.Name, Selected: fl.ID == f.Flow})
		if p.HookURL == "" && fl.Trigger.Type == "webhook" && (f.Flow == "" || f.Flow == fl.ID) {
			p.HookURL = s.webhookURL(fl.ID)
		}
	}
	for _, st := range runStatuses {
		p.Statuses = append(p.Statuses, views.Option{Value: string(st), Label: string(st), Selected: string(st) == f.Status})
	}
	for _, r := range runRanges {
		p.Ranges = append(p.Ranges, views.Option{Value: r.value, Label: r.label, Selected: r.value == f.Range})
	}
	return s.render(c, fiber.StatusOK, views.Runs(p))
}

// runsRows is the polled fragment of the run history's first page.
func (s *Server) runsRows(c *fiber.Ctx) error {
	rows, err := s.runRows(c, parseRunFilter(c))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.RunTable(rows))
}

func (s *Server) runRows(c *fiber.Ctx, f runFilter) (views.RunRows, error) {
	ctx := c.UserContext()
	now := time.Now()
	page, err := s.store.ListRunSummaries(ctx, f.query(now))
	if err != nil {
		return views.RunRows{}, err
	}
	names := s.flowNames(c)
	rows := views.RunRows{Partial: page.Partial, Scanned: page.Scanned}
	live := false
	for _, r := range page.Runs {
		row := views.RunRow{ID: r.ID, FlowID: r.FlowID, FlowName: nameOr(names, r.FlowID), Status: string(r.Status),
			Trigger: r.Trigger.Type, Ago: ago(r.CreatedAt, now), At: stamp(r.CreatedAt), Error: r.Error, ReplayOf: r.ReplayOf}
		if r.FinishedAt != nil {
			row.Duration = took(r.FinishedAt.Sub(r.CreatedAt))
		}
		live = live || !r.Status.Final()
		rows.Runs = append(rows.Runs, row)
	}
	v := f.values()
	if page.Next != "" {
		nv := f.values()
		nv.Set("cursor", page.Next)
		rows.NextURL = "/runs?" + nv.Encode()
	}
	// The first page polls for new runs, unless it is a text search or the
	// search budget cut it short (a poll would repeat the whole search every
	// 2 s); any page polls while runs on it are in progress.
	if (f.Cursor == "" && f.Text == "" && !page.Partial) || live {
		if f.Cursor != "" {
			v.Set("cursor", f.Cursor)
		}
		rows.PollURL = "/runs/rows?" + v.Encode()
	}
	return rows, nil
}

// flowNames names flows for run lists; the engine holds them in memory, so
// the 2-second polls read no flow documents.
func (s *Server) flowNames(*fiber.Ctx) map[string]string { return s.eng.FlowNames() }

func nameOr(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// runPage shows one run's timeline with replay and cancel.
func (s *Server) runPage(c *fiber.Ctx) error {
	r, err := s.store.GetRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	p := views.RunPage{Page: s.page(c, "Run "+r.ID, "runs")}
	p.Run = s.runView(r, s.flowNames(c), false)
	p.Run.CanEdit = p.CanEdit
	p.Run.Waits = s.waitViews(c.UserContext(), r)
	return s.render(c, fiber.StatusOK, views.Run(p))
}

// runTimeline is the polled fragment of a run's timeline.
func (s *Server) runTimeline(c *fiber.Ctx) error {
	r, err := s.store.GetRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.Timeline(s.runView(r, s.flowNames(c), c.Query("compact") == "1")))
}

// runView is a run's timeline model.
func (s *Server) runView(r *engine.Run, names map[string]string, compact bool) views.RunView {
	now := time.Now()
	v := views.RunView{ID: r.ID, FlowID: r.FlowID, FlowName: nameOr(names, r.FlowID), FlowVersion: r.FlowVersion,
		Status: string(r.Status), Error: r.Error, TriggerType: r.Trigger.Type, Created: stamp(r.CreatedAt),
		Ago: ago(r.CreatedAt, now), ReplayOf: r.ReplayOf, Trigger: pretty(r.Trigger), Output: pretty(r.Output),
		Final: r.Status.Final(), Failed: r.Status == engine.RunFailed, Truncated: r.Truncated, Compact: compact,
		ParentRunID: r.ParentRunID}
	if _, ok := names[r.FlowID]; !ok {
		v.FlowDeleted = true
	}
	if r.FinishedAt != nil {
		v.Duration = took(r.FinishedAt.Sub(r.CreatedAt))
	}
	if !v.Final {
		v.PollURL = "/runs/" + r.ID + "/timeline"
		if compact {
			v.PollURL += "?compact=1"
		}
	}
	for _, st := range r.Steps {
		sv := views.StepRunView{ID: st.ID, Type: st.Type, Status: string(st.Status), Error: st.Error, Attempts: st.Attempts,
			Input: pretty(st.Input), Output: pretty(st.Output), Depth: strings.Count(st.ID, "].")}
		if st.Type != "log" { // a log step's lines are its output already
			sv.Logs = strings.Join(st.Logs, "\n")
		}
		if st.DurationMS > 0 {
			sv.Duration = took(time.Duration(st.DurationMS * float64(time.Millisecond)))
		}
		if st.NextAt != nil && !st.Status.Done() {
			sv.NextAt = stamp(*st.NextAt)
		}
		if sv.Output == "null" {
			sv.Output = ""
		}
		if m, ok := st.Output.(map[string]any); ok && st.Type == engine.StepCall {
			sv.RunLink, _ = m["run_id"].(string)
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

// runReplay starts a new run with the same event (from the start or the failed step).
func (s *Server) runReplay(c *fiber.Ctx) error {
	id := c.Params("id")
	from := c.FormValue("from")
	if from != "failed_step" {
		from = "start"
	}
	newID, err := s.eng.Replay(c.UserContext(), id, engine.ReplayOptions{From: from})
	if err != nil {
		return redirectFlash(c, "/runs/"+id, "error", "Could not replay: "+err.Error())
	}
	msg := "Replayed: this is the new run."
	if from == "failed_step" {
		msg = "Retrying from the failed step: this is the new run."
	}
	return redirectFlash(c, "/runs/"+newID, "ok", msg)
}

// runCancel stops a run that has not ended.
func (s *Server) runCancel(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.eng.Cancel(c.UserContext(), id); err != nil {
		return redirectFlash(c, "/runs/"+id, "error", "Could not cancel: "+err.Error())
	}
	return redirectFlash(c, "/runs/"+id, "ok", "Canceling: the step running now finishes, then the run ends.")
}
