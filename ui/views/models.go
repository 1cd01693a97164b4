// Package views holds the UI's templ components and the typed view models they
// render. Components do no I/O: handlers in package ui build a model and pass it.
package views

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Page is what every page's layout needs.
type Page struct {
	// Title is the page's <title> and heading.
	Title string
	// Active names the navigation section: flows, runs, data, secrets, settings.
	Active string
	// CSRF is the session's token, sent with every form and htmx request.
	CSRF string
	// User is the signed-in user's email; Role their role.
	User    string
	Role    string
	IsAdmin bool
	// CanEdit is true for editors and admins.
	CanEdit bool
	Flash   *Flash
	Version string
}

// Flash is a one-time message shown at the top of a page.
type Flash struct {
	// Kind is ok, error or info.
	Kind string
	Text string
}

// Option is one choice of a <select>.
type Option struct {
	Value, Label string
	Selected     bool
}

// AuthPage is the setup and login form.
type AuthPage struct {
	Title string
	// Setup is true on the first-run page that creates the admin.
	Setup bool
	Email string
	Next  string
	Error string
}

// ErrorPage is an HTML error.
type ErrorPage struct {
	Page
	Code    int
	Message string
}

// FlowsPage is the flow list.
type FlowsPage struct {
	Page
	Query     string
	Flows     []FlowRow
	Total     int
	Templates []TemplateOption
	// Import holds a failed import's text and problems.
	ImportText     string
	ImportProblems []string
	NewName        string
	NewError       string
}

// FlowRow is one flow in the list.
type FlowRow struct {
	ID, Name, Description string
	TriggerTitle          string
	WebhookURL            string
	Enabled               bool
	Steps                 int
	LastStatus            string
	LastAgo, LastAt       string
	LastRunID             string
	Runs24h               int
	// Broken is the compile error of a stored flow that no longer validates.
	Broken string
	// Pending counts the flow's queued, running and waiting runs.
	Pending int
}

// TemplateOption is an example flow offered by "new flow".
type TemplateOption struct {
	File, Name, Description string
}

// EditorPage is the flow editor.
type EditorPage struct {
	Page
	FlowID  string
	Version int
	// Doc is the draft flow document (JSON) carried between form posts.
	Doc         string
	Name        FieldView
	Description FieldView
	Enabled     FieldView
	Trigger     TriggerView
	Steps       StepList
	Palette     []PaletteGroup
	Problems    []ProblemView
	SecretNames []string
	JSON        string
	// Dirty is true when the draft differs from the saved flow.
	Dirty   bool
	TestRun *RunView
	// TestNote explains how the test ran.
	TestNote string
	// Focus is the html id of the input to focus after a structural change.
	Focus string
	// Toast is a success message to show once (after a save).
	Toast string
	// PillMenu lists the transforms a placeholder's menu offers.
	PillMenu []PillAction
	// Undo carries a step just removed (posted back by "Undo"); UndoText says which.
	Undo, UndoText string
	// Warnings are what will fail although the flow saves.
	Warnings []WarningView
	// Map is the flow drawn as a graph.
	Map FlowMap
	// ScheduleTZ is the schedule trigger's time zone ("" when the trigger
	// is not a schedule), compared with the browser's.
	ScheduleTZ string
}

// FlowMap is the overview of a flow drawn beside the editor.
type FlowMap struct {
	Width, Height int
	Nodes         []MapNode
	// Edges are SVG path data.
	Edges []string
}

// MapNode is one box of the flow map, linking to its card.
type MapNode struct {
	X, Y, W, H int
	Label      string
	Title      string
	Href       string
	// Kind is trigger, case or the step's group; Status the last run's.
	Kind, Status string
}

// StepTestView is the result of "Test this step".
type StepTestView struct {
	FlowID, StepID string
	// Input and Output are pretty JSON; OutputJSON is the output to pin.
	Input, Output, OutputJSON string
	Error, Note               string
	Skipped                   bool
}

// WarningView is one warning with the anchor of what it concerns.
type WarningView struct {
	Text, Anchor string
}

// ProblemView is one validation problem with the anchor of its field.
type ProblemView struct {
	Path, Message, Anchor string
	// Label names the field in words: "Step 2 · Email · To".
	Label string
}

// TriggerView is the trigger card.
type TriggerView struct {
	Path, Type, Title, Summary string
	Types                      []Option
	WebhookURL                 string
	Fields                     []FieldView
	Problems                   []string
	Listen                     ListenView
	// Notes say what the trigger did or will do: a schedule's next fire
	// times, the last poll or reconcile cycle.
	Notes []TriggerNote
	// CanForm offers the "HTML form" preset; FormSnippet is the form to
	// paste into a page once the trigger redirects.
	CanForm     bool
	FormSnippet string
}

// TriggerNote is one line of a trigger card's status.
type TriggerNote struct {
	Text string
	Bad  bool
}

// ListenView is the "listen for a test event" panel.
type ListenView struct {
	FlowID     string
	WebhookURL string
	Listening  bool
	// After is the unix-nano time listening began (a sample newer than it is new).
	After int64
	// Sample is the captured event as pretty JSON ("" when none).
	Sample   string
	SampleAt string
	// Fresh is true when the sample just arrived.
	Fresh   bool
	CanEdit bool
	Expired bool
	// Grace counts polls after listening ended without a sample (a capture may be committing).
	Grace int
}

// FieldView is one input of a generated form (any engine.Field).
type FieldView struct {
	// Path is the field's JSON path in the flow, e.g. steps[1].with.url.
	Path string
	// Name is the form key: "f:<type>:<path>".
	Name        string
	ID          string
	Label       string
	Help        string
	Type        string
	Required    bool
	Placeholder string
	Value       string
	Checked     bool
	Options     []Option
	Problems    []string
	Children    []FieldView
	Advanced    bool
	// Pick is "template", "expr" or "" (no field picker).
	Pick      string
	ReadOnly  bool
	Autofocus bool
	// Cond, when set, shows the field as a condition builder.
	Cond *CondView
	// Preview, when set, shows what the template resolves to with the test event.
	Preview *PreviewView
	// Segs, for Type "pills", are the template's text and placeholders.
	Segs      []SegView
	Multiline bool
}

// HasValue reports whether the field or a child holds a value or a problem (to unfold it).
func (f FieldView) HasValue() bool {
	if len(f.Problems) > 0 {
		return true
	}
	if f.Type == "object" {
		for _, c := range f.Children {
			if c.HasValue() {
				return true
			}
		}
		return false
	}
	if f.Type == "bool" {
		return false
	}
	return f.Value != ""
}

// StepList is a list of step cards: the flow's, a branch case's or a loop body.
type StepList struct {
	Path  string
	Label string
	Steps []StepView
	Depth int
	// Palette lists what can be added at the end.
	Palette []PaletteGroup
	CanEdit bool
}

// StepView is one step card.
type StepView struct {
	Path, Number   string
	ID, Type, Name string
	Title, Summary string
	Group          string
	IDField        FieldView
	NameField      FieldView
	Fields         []FieldView
	Settings       []FieldView
	Problems       []string
	Cases          []CaseView
	Default        *StepList
	Body           *StepList
	CanUp, CanDown bool
	// HasProblems is true when the card or anything in it has a problem.
	HasProblems bool
	LastStatus  string
	CanEdit     bool
	// Testable offers "Test this step"; Confirm, when set, is asked once
	// before a test calls an outside service.
	Testable bool
	Confirm  string
	FlowID   string
}

// CaseView is one arm of a branch.
type CaseView struct {
	Path     string
	Index    int
	Name     FieldView
	When     FieldView
	Steps    StepList
	Problems []string
	CanEdit  bool
}

// PaletteGroup is a titled group of step kinds.
type PaletteGroup struct {
	Title string
	Items []PaletteItem
}

// PaletteItem is one step kind offered by the palette.
type PaletteItem struct {
	Kind, Title, Summary string
}

// PickGroup is a group of field paths offered by the picker.
type PickGroup struct {
	Title string
	Items []PickItem
}

// PickItem is one path: Expr is inserted as is in expressions and inside {{ }} in templates.
type PickItem struct {
	Expr, Example string
	// Type is the value's type for the condition builder: text, number, date, boolean, list or "".
	Type string
}

// VersionsPage lists a flow's saved versions.
type VersionsPage struct {
	Page
	FlowID   string
	FlowName string
	Current  int
	Versions []VersionRow
	// Shown is the version being viewed (0: none) and its JSON.
	Shown     int
	ShownJSON string
}

// VersionRow is one saved version.
type VersionRow struct {
	Version int
	Name    string
	When    string
}

// RunsPage is the run history.
type RunsPage struct {
	Page
	Flows    []Option
	Statuses []Option
	Ranges   []Option
	Text     string
	Rows     RunRows
	// Filtered is true when any filter is set.
	Filtered bool
	// HookURL is shown in the empty state.
	HookURL string
}

// RunRows is the table body of the run history (a polled fragment).
type RunRows struct {
	Runs    []RunRow
	NextURL string
	// PollURL, when set, refreshes the rows every 2 s.
	PollURL string
	// Partial: the search budget ended the page after Scanned runs; NextURL
	// continues the search.
	Partial bool
	Scanned int
}

// RunRow is one run in the history.
type RunRow struct {
	ID, FlowID, FlowName string
	Status               string
	Trigger              string
	Ago, At              string
	Duration             string
	Error                string
	ReplayOf             string
}

// RunPage is one run.
type RunPage struct {
	Page
	Run RunView
}

// RunView is a run's timeline.
type RunView struct {
	ID, FlowID, FlowName string
	FlowVersion          int
	Status               string
	Error                string
	TriggerType          string
	Created, Ago         string
	Duration             string
	ReplayOf             string
	Trigger              string
	Output               string
	Steps                []StepRunView
	Final                bool
	Failed               bool
	Truncated            bool
	// PollURL, when set, refreshes the timeline every 2 s.
	PollURL string
	CanEdit bool
	// Compact hides the header (the editor's test panel).
	Compact bool
	// ParentRunID links a run started by a call step to its caller.
	ParentRunID string
	// FlowDeleted: the run's flow no longer exists (no replay possible).
	FlowDeleted bool
	// Waits are the wait steps waiting for a request, with their resume URLs.
	Waits []WaitView
}

// StepRunView is one step of a run.
type StepRunView struct {
	ID, Type, Status string
	Error            string
	Attempts         int
	Duration         string
	NextAt           string
	Input, Output    string
	// Logs are the lines the step logged (console.log in a code step), one a line.
	Logs  string
	Depth int
	// RunLink is the run a call step started.
	RunLink string
}

// SecretsPage lists secret names.
type SecretsPage struct {
	Page
	Names     []string
	Available bool
	Error     string
	Name      string
}

// StorePage browses the built-in data.
type StorePage struct {
	Page
	Prefix string
	Items  []KVRow
	Error  string
	Key    string
	Value  string
	TTL    string
}

// KVRow is one key of the built-in data.
type KVRow struct {
	Key, Value, Expires, Updated string
}

// SettingsPage manages users and API tokens.
type SettingsPage struct {
	Page
	Users  []UserRow
	Tokens []TokenRow
	Roles  []Option
	// NewToken is a token just created, shown once.
	NewToken  string
	UserError string
	TokenErr  string
	Email     string
}

// UserRow is one user.
type UserRow struct {
	ID, Email, Role, Created string
	Self                     bool
}

// TokenRow is one API token.
type TokenRow struct {
	ID, Name, Role, Created, LastUsed string
}

// csrfHeaders is the hx-headers value that sends the CSRF token with htmx requests.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

func itoa(n int) string      { return strconv.Itoa(n) }
func i64(n int64) string     { return strconv.FormatInt(n, 10) }
func anchor(p string) string { return Anchor(p) }

// Anchor turns a JSON path into an HTML id fragment: steps[1].with.url → steps-1-with-url.
func Anchor(path string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(path) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// pathLabel shows a problem's path; the flow itself has none.
func pathLabel(p string) string {
	if p == "" {
		return "flow"
	}
	return p
}

// CondView is a condition field shown as rows of field · operator · value
// (Mode "builder") or as the expression (Mode "code").
type CondView struct {
	Mode string
	// Orig is the expression the rows were read from (kept when they do not change).
	Orig string
	// Match is "all" or "any": how the rows of a group are joined.
	Match  string
	Groups []CondGroupView
	// Note says why the condition is shown as code.
	Note string
	// Path is the field's path; Prefix the start of its inputs' names.
	Path, Prefix string
}

// CondGroupView is one group of rows.
type CondGroupView struct {
	Index int
	Rows  []CondRowView
	// Join is the word between rows: "and" or "or"; GroupJoin the word before this group.
	Join, GroupJoin string
}

// CondRowView is one row: field · operator · value.
type CondRowView struct {
	Group, Index int
	// Name is the start of the row's input names; ID of their ids.
	Name, ID   string
	Field      string
	FieldLabel string
	Type       string
	Types      []Option
	Ops        []CondOpOption
	Value      string
	Ref        bool
	NoValue    bool
}

// CondOpOption is one operator of a row's select.
type CondOpOption struct {
	Value, Label, DateLabel string
	// Types lists the value types it applies to, space separated.
	Types    string
	NoValue  bool
	Selected bool
	Hidden   bool
}

// PreviewView is the live preview under a template field.
type PreviewView struct {
	// URL answers the preview fragment for the field's current text.
	URL string
	// Value is what the template resolves to; Error why it does not.
	Value, Error string
	// Empty is true when there is nothing to show (no placeholders).
	Empty bool
}

// SegView is a piece of a template in a pill input: text, or a placeholder
// (Expr, its Raw text kept as written, and its Label in words).
type SegView struct {
	Text, Expr, Raw, Label string
}

// PillAction is a transform offered by a pill's menu: Tpl holds %s for the
// field and, when Ask is set, %v for the quoted answer to Ask.
type PillAction struct {
	ID, Label, Tpl, Ask string
}
