package engine

import (
	"context"
	"io"
	"time"
)

// The store interfaces are defined here, by their consumer. They carry no
// storage-engine types: boltstore implements them today; a clustered backend
// could tomorrow. Every write method returns only after its data is durable
// (fsynced). Not-found is ErrNotFound, never a nil result with a nil error.

// FlowVersion describes one saved version of a flow.
type FlowVersion struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FlowStore keeps flow documents and their history.
type FlowStore interface {
	// CreateFlow stores a new flow as version 1 (ErrExists when the id is taken).
	CreateFlow(ctx context.Context, f *Flow) error
	// UpdateFlow stores f as the flow's next version (ErrNotFound when absent).
	UpdateFlow(ctx context.Context, f *Flow) error
	GetFlow(ctx context.Context, id string) (*Flow, error)
	GetFlowVersion(ctx context.Context, id string, version int) (*Flow, error)
	ListFlowVersions(ctx context.Context, id string) ([]FlowVersion, error)
	ListFlows(ctx context.Context) ([]*Flow, error)
	// DeleteFlow removes the flow, its versions, sample and trigger state (runs stay).
	DeleteFlow(ctx context.Context, id string) error
	// PutSample stores the flow's sample event (from "listen for a test event").
	PutSample(ctx context.Context, flowID string, t *TriggerData) error
	GetSample(ctx context.Context, flowID string) (*TriggerData, error)
}

// RunQuery filters ListRuns. Results are newest first. A request examines
// runs for a bounded time (the store's budget): a page may then hold fewer
// than Limit runs with a cursor to continue.
type RunQuery struct {
	FlowID string
	Status RunStatus
	// Since and Until bound created_at (zero: unbounded).
	Since, Until time.Time
	// Text keeps runs whose trigger body contains it.
	Text string
	// Limit defaults to 50, at most 500.
	Limit int
	// Cursor is the next_cursor of the previous page.
	Cursor string
}

// RunPage is one page of run summaries. A search is bounded per request: a
// page may hold fewer than Limit runs (even none) while Next is set; Scanned
// counts the runs examined and Partial says the budget ended the page.
type RunPage struct {
	Runs    []*RunSummary
	Next    string
	Scanned int
	Partial bool
}

// RunStore keeps runs, their checkpoints and the dedupe index.
type RunStore interface {
	// CreateRun stores a new run. With a dedupe key, a run already recorded for
	// (flow, key) within window wins: its id is returned with dup=true and
	// nothing is written. The run and its dedupe entry commit together.
	CreateRun(ctx context.Context, r *Run, dedupeKey string, window time.Duration) (runID string, dup bool, err error)
	// SaveRun checkpoints a run: steps, status, vars, next_at.
	SaveRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, q RunQuery) (runs []*Run, nextCursor string, err error)
	// ListRunSummaries is ListRuns without the runs' data, for run lists.
	ListRunSummaries(ctx context.Context, q RunQuery) (RunPage, error)
	// PendingRuns returns every run whose status is queued, running or waiting.
	PendingRuns(ctx context.Context) ([]*Run, error)
	// MarkSeen records dedupe keys with no run (poll's skip_existing).
	MarkSeen(ctx context.Context, flowID string, keys []string, window time.Duration) error
	// Seen reports whether (flow, key) is recorded and not expired.
	Seen(ctx context.Context, flowID, key string) (runID string, ok bool, err error)
	// PruneRuns deletes finished runs of a flow created before olderThan (zero:
	// no age limit) and beyond the newest keep (0: no count limit).
	PruneRuns(ctx context.Context, flowID string, olderThan time.Time, keep int) (deleted int, err error)
	// CountRuns counts a flow's runs created at or after since.
	CountRuns(ctx context.Context, flowID string, since time.Time) (int, error)
}

// KVItem is one entry of the built-in data store.
type KVItem struct {
	Key       string     `json:"key"`
	Value     any        `json:"value"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// KVStore is the built-in key-value data shared by flows. A ttl of 0 never expires.
type KVStore interface {
	KVGet(ctx context.Context, key string) (*KVItem, error)
	KVSet(ctx context.Context, key string, value any, ttl time.Duration) error
	KVDelete(ctx context.Context, key string) error
	// KVIncrement adds by to a number (missing counts as 0) atomically and returns the new value.
	KVIncrement(ctx context.Context, key string, by float64, ttl time.Duration) (float64, error)
	// KVAppend appends to a list (missing counts as empty) atomically and returns the new list.
	KVAppend(ctx context.Context, key string, value any, ttl time.Duration) ([]any, error)
	// KVList lists unexpired keys with the prefix, sorted, at most limit (0: 1000).
	KVList(ctx context.Context, prefix string, limit int) ([]KVItem, error)
}

// SecretStore keeps sealed (encrypted) secret values.
type SecretStore interface {
	PutSecret(ctx context.Context, name string, sealed []byte) error
	GetSecret(ctx context.Context, name string) ([]byte, error)
	ListSecrets(ctx context.Context) ([]string, error)
	DeleteSecret(ctx context.Context, name string) error
}

// MetaStore keeps small named values (the keyring's check value, settings).
type MetaStore interface {
	GetMeta(ctx context.Context, name string) ([]byte, error)
	PutMeta(ctx context.Context, name string, value []byte) error
}

// StateStore keeps triggers' durable state per flow (last schedule fire, poll cursor).
type StateStore interface {
	GetState(ctx context.Context, flowID, name string) ([]byte, error)
	PutState(ctx context.Context, flowID, name string, value []byte) error
}

// Role is what a user or token may do.
type Role string

// Roles: admins manage users, tokens and secrets; editors change flows; viewers read.
const (
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool { return r == RoleAdmin || r == RoleEditor || r == RoleViewer }

// User is a UI account.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
}

// Token is an API token; only its SHA-256 hash is stored.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Hash      string     `json:"hash"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

// Session is a logged-in browser.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	CSRF      string    `json:"csrf"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AuthStore keeps users, tokens and sessions.
type AuthStore interface {
	CreateUser(ctx context.Context, u *User) error // ErrExists on a taken email
	UpdateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	DeleteUser(ctx context.Context, id string) error
	CountUsers(ctx context.Context) (int, error)
	CreateToken(ctx context.Context, t *Token) error
	GetTokenByHash(ctx context.Context, hash string) (*Token, error)
	// TouchToken records when a token was last used.
	TouchToken(ctx context.Context, id string, at time.Time) error
	ListTokens(ctx context.Context) ([]*Token, error)
	DeleteToken(ctx context.Context, id string) error
	PutSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, id string) (*Session, error)
	DeleteSession(ctx context.Context, id string) error
}

// Store is everything the engine and the server keep.
type Store interface {
	FlowStore
	RunStore
	KVStore
	SecretStore
	MetaStore
	StateStore
	AuthStore
	// Ping returns nil when the store can take a write.
	Ping(ctx context.Context) error
	// Backup writes a consistent copy of the database to w while it serves.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	Close() error
}

// Observer receives measurements; the server turns them into /metrics.
type Observer interface {
	WebhookReceived(flowID string, code int)
	RunFinished(flowID string, status RunStatus)
	StepFinished(flowID, kind string, status StepStatus, d time.Duration)
	Commit(batch int, fsync time.Duration)
	PollDone(flowID, kind string, err error)
}

// NopObserver ignores every measurement.
type NopObserver struct{}

func (NopObserver) WebhookReceived(string, int)                            {}
func (NopObserver) RunFinished(string, RunStatus)                          {}
func (NopObserver) StepFinished(string, string, StepStatus, time.Duration) {}
func (NopObserver) Commit(int, time.Duration)                              {}
func (NopObserver) PollDone(string, string, error)                         {}

// DeliveryOutcome is what became of a request to a flow's webhook URL.
type DeliveryOutcome string

// Delivery outcomes: a run started, a duplicate of an earlier one, refused
// with an error, or captured as the flow's sample event (no run).
const (
	DeliveryRun       DeliveryOutcome = "run"
	DeliveryDuplicate DeliveryOutcome = "duplicate"
	DeliveryRefused   DeliveryOutcome = "refused"
	DeliveryCaptured  DeliveryOutcome = "captured"
)

// Delivery is one request to /hooks/{flow_id} of an existing flow, refused
// ones included: a diagnostic record, not a run. Signature and credential
// header values are masked before it is stored.
type Delivery struct {
	ID         string            `json:"id"`
	FlowID     string            `json:"flow_id"`
	ReceivedAt time.Time         `json:"received_at"`
	Method     string            `json:"method"`
	Path       string            `json:"path,omitempty"`
	Status     int               `json:"status"`
	Outcome    DeliveryOutcome   `json:"outcome"`
	Reason     string            `json:"reason"`
	RunID      string            `json:"run_id"`
	Size       int               `json:"size"`
	Headers    map[string]string `json:"headers"`
}

// DeliveryQuery filters ListDeliveries. Results are newest first.
type DeliveryQuery struct {
	FlowID  string
	Outcome DeliveryOutcome // empty: all
	Limit   int             // defaults to 50, at most 500
	Cursor  string          // the next_cursor of the previous page
}

// DeliveryStore keeps deliveries, bounded per flow.
type DeliveryStore interface {
	// AddDeliveries stores a batch (each with an ID that sorts by time), then
	// trims every flow it names to its newest keep (0: no count bound) and
	// drops its deliveries received before olderThan (zero: no age bound).
	AddDeliveries(ctx context.Context, ds []*Delivery, keep int, olderThan time.Time) error
	ListDeliveries(ctx context.Context, q DeliveryQuery) (ds []*Delivery, nextCursor string, err error)
	// PruneDeliveries applies the same bounds to every flow.
	PruneDeliveries(ctx context.Context, keep int, olderThan time.Time) (deleted int, err error)
}

// ConnectionStore keeps connections (as records whose secret parts the
// caller has sealed), the states of OAuth authorizations under way, and the
// app files users imported. It is optional: a Store that implements it has
// connections and imported apps.
type ConnectionStore interface {
	PutConnection(ctx context.Context, name string, record []byte) error
	GetConnection(ctx context.Context, name string) ([]byte, error)
	ListConnections(ctx context.Context) ([][]byte, error)
	DeleteConnection(ctx context.Context, name string) error
	// PutOAuthState maps a state's hash to the connection it authorizes.
	PutOAuthState(ctx context.Context, hash, name string) error
	// TakeOAuthState returns and deletes the mapping in one transaction, so
	// a state is used once (ErrNotFound when absent).
	TakeOAuthState(ctx context.Context, hash string) (name string, err error)
	PutAppFile(ctx context.Context, id string, data []byte) error
	ListAppFiles(ctx context.Context) (map[string][]byte, error)
	DeleteAppFile(ctx context.Context, id string) error
}
