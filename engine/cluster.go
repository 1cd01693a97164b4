package engine

import (
	"context"
	"errors"
	"time"
)

// Several nodes on one database (SPEC §5 "Storage backends and several
// nodes"). A store shared by several `hookflow serve` processes implements
// Cluster; a store that does not (boltstore) serves one node, and the engine
// then holds every run itself, exactly as before.
//
// The model is "the holder runs it": every pending run (queued, running,
// waiting) is leased to one node, the holder, which executes it, keeps its
// timers and renews the lease every Lease()/3. A run is leased to the node
// that creates it, in the statement that creates it, so a webhook's run runs
// where it was accepted (and a `wait`-mode answer goes out on the connection
// that asked). When a node dies its leases expire and the other nodes claim
// its runs (ClaimRuns); a run found `running` then is counted as interrupted
// (Run.Interrupted) and its step runs again with the same idempotency key.
// Checkpoints are fenced: SaveRun of a run whose lease another node holds
// fails with ErrLeaseLost, and the node that lost it stops executing it.
// Wakes (a resume request, a child's end) and cancels reach the holder as
// notices; flow changes reach every node as notices too.

// ErrLeaseLost: another node holds the run's lease (this node's expired and
// was taken over); this node must stop executing the run.
var ErrLeaseLost = errors.New("run lease held by another node")

// Cluster is what a store shared by several nodes provides.
type Cluster interface {
	// Node names this process in leases and logs (unique per process).
	Node() string
	// Lease is how long a lease lasts unrenewed; the engine renews every Lease()/3.
	Lease() time.Duration
	// ClaimRuns leases to this node up to limit pending runs that no node
	// holds or whose lease has expired, oldest first. Nodes claiming at once
	// never get the same run.
	ClaimRuns(ctx context.Context, limit int) ([]ClaimedRun, error)
	// RenewLeases extends this node's leases on ids and returns the ids it
	// still holds; a pending run missing from the result was taken over.
	// Runs that ended are not pending and are left out too.
	RenewLeases(ctx context.Context, ids []string) (held []string, err error)
	// ReleaseRuns gives up this node's leases on ids (clean shutdown), so
	// that another node claims them at once instead of after the lease.
	ReleaseRuns(ctx context.Context, ids []string) error
	// TryLock takes or renews the named cluster-wide lock for ttl; it
	// reports whether this node holds it. One node runs the triggers'
	// starters (schedules, polls): the holder of StartersLock.
	TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error)
	// Unlock gives up the named lock if this node holds it.
	Unlock(ctx context.Context, name string) error
	// Publish sends a notice to every node, this one included, once the
	// current transaction (if any) commits. Flow writes publish
	// NoticeFlow themselves, in the transaction that writes the flow.
	Publish(ctx context.Context, n Notice) error
	// Listen calls fn with every notice until ctx ends. After it
	// (re)connects it calls fn with Notice{Kind: NoticeResync}: notices may
	// have been missed, and the caller re-reads what it caches.
	Listen(ctx context.Context, fn func(Notice)) error
}

// ClaimedRun is a run ClaimRuns leased to this node.
type ClaimedRun struct {
	Run *Run
	// TakenFrom is the node whose expired lease was taken over; "" when no
	// node held the run (released at a clean stop, or created by a command).
	TakenFrom string
}

// Notice kinds.
const (
	NoticeFlow   = "flow"   // ID: a flow was created, changed or deleted
	NoticeWake   = "wake"   // ID: a run whose wait ended (resumed, child ended)
	NoticeCancel = "cancel" // ID: a run to cancel
	NoticeResync = "resync" // the listener (re)connected; ID empty
	// NoticeSecrets: ID: a secret was set or deleted; every node re-reads
	// the secrets it keeps decrypted in memory.
	NoticeSecrets = "secrets"
	// NoticeApps: ID: an app file was imported or deleted; every node
	// re-reads the imported apps (Config.OnNotice) and recompiles its flows.
	NoticeApps = "apps"
)

// Notice is a message between nodes. Payloads stay small (PostgreSQL's
// NOTIFY carries under 8000 bytes): a kind and an id.
type Notice struct {
	Kind string
	ID   string
}

// StartersLock is the lock whose holder runs the triggers' starters.
const StartersLock = "starters"

// ClusterObserver is what an Observer that also measures clustering
// implements (optional: the engine checks for it).
type ClusterObserver interface {
	// RunsClaimed counts runs claimed in one ClaimRuns call, of which
	// takenOver had an expired lease, and how long the call took.
	RunsClaimed(n, takenOver int, d time.Duration)
	// LeasesLost counts runs this node stopped because another node took them.
	LeasesLost(n int)
}

// cluster returns the store's Cluster, nil for a single-node store.
func (e *Engine) cluster() Cluster {
	c, _ := e.store.(Cluster)
	return c
}
