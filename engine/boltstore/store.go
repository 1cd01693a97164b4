// Package boltstore implements engine.Store on one bbolt file. It is the only
// package of Hookflow that imports go.etcd.io/bbolt.
//
// # Writes: group commit
//
// One writer goroutine owns every write. A caller prepares its record (JSON
// encoding happens in the caller's goroutine), submits a small op — a function
// of the write transaction plus a result slot — and blocks until that op is
// committed and fsynced, or has failed. The writer takes one op, drains every
// other op already waiting (up to maxBatch), runs them all in ONE db.Update
// (one fsync pair for the whole batch) and then wakes every caller. Throughput
// grows with load while latency stays about one commit. When an op returns an
// error, the transaction is rolled back, that op alone receives its error, and
// the rest of the batch is run again in one transaction (after a few failing
// passes, each remaining op runs in its own transaction). NoSync is never set
// and bbolt's db.Batch (a 10 ms timer) is not used.
//
// A write is refused with an error wrapping engine.ErrUnavailable (HTTP 503)
// when more than Options.MaxPending ops wait, when the commit itself fails
// (I/O error, full disk) or when the store is closing. Reads use db.View
// directly and never wait for the writer.
//
// # Damaged files
//
// Open refuses a file that is not the database it should be, before bbolt
// maps it: empty, missing where the caller says one existed
// (Options.Existed), shorter than its meta page says, or with no valid meta
// page (checkFile; ErrMissing, ErrDamaged). Every read transaction, commit
// and Open itself run under guard (debug.SetPanicOnFault plus recover), so a
// file truncated while open makes reads fail with ErrDamaged instead of a
// SIGBUS that kills the process; after a commit faults, writes are refused.
//
// # Layout
//
// Every bucket sits at the root; "\x00" separates the parts of compound keys
// (flow ids never contain it). Run ids are ULID strings, so byte order is time
// order and a reverse cursor lists newest first.
//
//	flows          flowID                     → Flow JSON (current version)
//	flow_versions  flowID 0x00 uint32be(ver)  → Flow JSON of that version
//	samples        flowID                     → TriggerData JSON
//	runs           runID                      → Run without trigger (format: codec.go)
//	run_triggers   runID                      → TriggerData, the request body once (codec.go)
//	runs_by_flow   flowID 0x00 runID          → created, status, RunSummary (codec.go)
//	runs_pending   runID                      → the same (queued, running, waiting)
//	dedupe         flowID 0x00 key            → int64be(expiry unix ns) + runID
//	kv             key                        → {"value","expires_at","updated_at"} JSON
//	secrets        name                       → sealed bytes
//	meta           name                       → bytes
//	health         "ping"                     → last Ping time (RFC 3339)
//	trigger_state  flowID 0x00 name           → bytes
//	users          userID                     → User JSON
//	users_email    lower(email)               → userID
//	tokens         tokenID                    → Token JSON
//	tokens_hash    hash                       → tokenID
//	sessions       sessionID                  → Session JSON (the UI stores
//	                                            SHA-256 hashes as id and CSRF)
//
// runs_pending holds exactly the runs whose status is queued, running or
// waiting: CreateRun and SaveRun maintain it in the transaction that writes
// the run, so PendingRuns never scans all runs and a run absent from it is
// final. Dedupe keys longer than 512 bytes are stored as "sha256:" + hex.
// Expired dedupe and kv entries read as missing; they are overwritten by the
// next write of their key, or removed by PurgeExpired.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// ErrLocked is returned (wrapped) by Open when another process holds the
// database file.
var ErrLocked = errors.New("database is locked")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process
	// (default 2s). Open then fails with an error wrapping ErrLocked.
	Timeout time.Duration
	// Observer receives one Commit measurement per committed batch (nil: none).
	Observer engine.Observer
	// MaxPending is how many writes may wait for the writer before new ones are
	// refused with engine.ErrUnavailable (default 20000).
	MaxPending int
	// MaxSize caps the database file in bytes (0: no cap). A write that would
	// grow the file past it is refused with engine.ErrUnavailable, as on a
	// full disk.
	MaxSize int
	// Existed, when set, says how the caller knows that a database was
	// created at this path before, and what to do, as a clause for the error
	// message (e.g. "the key file secret.key shows one was created here"): a
	// missing or empty file is then refused with ErrMissing instead of
	// starting a new, empty database.
	Existed string
}

const (
	defaultTimeout    = 2 * time.Second
	defaultMaxPending = 20000
	// maxBatch bounds the ops committed in one transaction.
	maxBatch = 2000
	// maxFailingPasses is how many times a batch is rerun as one transaction
	// after an op failed before the rest runs one op per transaction.
	maxFailingPasses = 4
	// initialMmap is mapped (virtual memory only) up front so that long read
	// transactions such as Backup do not block the writer when the file grows:
	// 1 GiB on 64-bit platforms, none where address space is scarce.
	initialMmap = (strconv.IntSize / 64) << 30
)

// Bucket names.
var (
	bFlows        = []byte("flows")
	bFlowVersions = []byte("flow_versions")
	bSamples      = []byte("samples")
	bRuns         = []byte("runs")
	bRunTriggers  = []byte("run_triggers")
	bRunsByFlow   = []byte("runs_by_flow")
	bRunsPending  = []byte("runs_pending")
	bDedupe       = []byte("dedupe")
	bKV           = []byte("kv")
	bSecrets      = []byte("secrets")
	bMeta         = []byte("meta")
	bHealth       = []byte("health")
	bState        = []byte("trigger_state")
	bUsers        = []byte("users")
	bUsersEmail   = []byte("users_email")
	bTokens       = []byte("tokens")
	bTokensHash   = []byte("tokens_hash")
	bSessions     = []byte("sessions")

	allBuckets = [][]byte{bFlows, bFlowVersions, bSamples, bRuns, bRunTriggers, bRunsByFlow, bRunsPending,
		bDedupe, bKV, bSecrets, bMeta, bHealth, bState, bUsers, bUsersEmail, bTokens, bTokensHash, bSessions}
)

// Store is an engine.Store on a bbolt file. It is safe for concurrent use.
type Store struct {
	db       *bolt.DB
	path     string
	observer engine.Observer

	mu     sync.RWMutex // guards closed and sends on ops
	closed bool
	ops    chan *op
	done   chan struct{} // closed when the writer has exited

	// lastOK (the last stored new run), lastFail (the last refused write,
	// unix ns) and lastFailErr tell Ping whether webhooks can be stored.
	lastOK      atomic.Int64
	lastFail    atomic.Int64
	lastFailErr atomic.Value
	// broken holds the error of a commit that faulted or panicked inside
	// bbolt (the file was truncated or damaged under the server): bbolt's
	// state is then unknown, so every later write is refused with it and
	// Close does not wait on bbolt's locks.
	broken atomic.Value
}

// op is one write submitted to the writer: fn runs inside the write
// transaction and must be safe to run more than once (it may be rerun after
// another op of its batch failed); done receives its outcome.
type op struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// run calls the op's function, turning a panic into an error.
func (o *op) run(tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return o.fn(tx)
}

// Open opens (creating if needed) the database file at path and starts its
// writer. The parent directory is created when missing. When another process
// holds the file, Open fails within opts.Timeout with an error wrapping
// ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = defaultMaxPending
	}
	if opts.Observer == nil {
		opts.Observer = engine.NopObserver{}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	if err := checkFile(path, opts); err != nil {
		return nil, err
	}
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:         opts.Timeout,
			FreelistType:    bolt.FreelistMapType,
			InitialMmapSize: initialMmap,
			MaxSize:         opts.MaxSize,
		})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, lockedError(path, opts)
	}
	if errors.Is(err, errPanic) {
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrDamaged, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = guard(func() error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
			}
			return nil
		})
	})
	if errors.Is(err, ErrDamaged) || errors.Is(err, errPanic) {
		// A fault may have left bbolt's locks held: do not wait on them in
		// Close; the process is about to exit with this error.
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrDamaged, err)
	}
	err = checkFormat(db, path, err) // version.go: refuse newer, migrate older data
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{
		db:       db,
		path:     path,
		observer: opts.Observer,
		ops:      make(chan *op, opts.MaxPending),
		done:     make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close stops taking writes, lets the writer commit every op already
// submitted, then closes the database. Further calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.done
	if err, _ := s.broken.Load().(error); err != nil {
		return fmt.Errorf("close store: not closing a damaged database: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// update submits fn to the writer and waits until it is committed (durable)
// or has failed. fn must only touch values prepared by the caller and the
// transaction: it may run more than once and must set its results each time.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	err := s.submit(ctx, fn)
	switch {
	case err == nil:
	case errors.Is(err, engine.ErrUnavailable):
		s.lastFail.Store(time.Now().UnixNano())
		s.lastFailErr.Store(err.Error())
	}
	return err
}

// submit queues fn for the writer and waits for its commit.
func (s *Store) submit(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("store is closed: %w", engine.ErrUnavailable)
	}
	select {
	case s.ops <- o:
	default:
		s.mu.RUnlock()
		return fmt.Errorf("more than %d writes pending: %w", cap(s.ops), engine.ErrUnavailable)
	}
	s.mu.RUnlock()
	// The op is now queued and will be committed whatever happens to ctx: wait
	// for the outcome so that the caller never reports a stored write as failed.
	return <-o.done
}

// view runs a read transaction, mapping a closed database to ErrUnavailable;
// a memory fault or panic while reading is an error (guard).
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	err := guard(func() error { return s.db.View(fn) })
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("store is closed: %w", engine.ErrUnavailable)
	}
	return err
}

// writer is the one goroutine that writes: it commits the pending ops in
// batches until ops is closed and drained.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*op, 0, 64)
	for first := range s.ops {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		s.commit(batch)
		clear(batch) // drop references for the garbage collector
	}
}

// errOpFailed marks a transaction rolled back because one of its ops failed.
var errOpFailed = errors.New("op failed")

// commit runs the batch in one transaction and reports to every op. An op
// that fails gets its own error and the others are rerun without it.
func (s *Store) commit(batch []*op) {
	if err, _ := s.broken.Load().(error); err != nil {
		for _, o := range batch {
			o.done <- commitError(err)
		}
		return
	}
	pending := batch
	for pass := 0; len(pending) > 0; pass++ {
		if pass >= maxFailingPasses {
			for i := range pending {
				s.commit(pending[i : i+1]) // one op per transaction
			}
			return
		}
		failed := -1
		var opErr error
		start := time.Now()
		err := guard(func() error {
			return s.db.Update(func(tx *bolt.Tx) error {
				for i, o := range pending {
					if err := o.run(tx); err != nil {
						failed, opErr = i, err
						return errOpFailed
					}
				}
				return nil
			})
		})
		switch {
		case err == nil:
			s.observer.Commit(len(pending), time.Since(start))
			for _, o := range pending {
				o.done <- nil
			}
			return
		case failed >= 0 && errors.Is(err, errOpFailed):
			pending[failed].done <- opErr
			// Keep order: the ops before the failed one ran on the same state
			// and will again; the ones after now run without its writes, as
			// if it had run alone and rolled back.
			pending = append(pending[:failed:failed], pending[failed+1:]...)
		default:
			if errors.Is(err, ErrDamaged) || errors.Is(err, errPanic) {
				s.broken.Store(err)
			}
			err = commitError(err)
			for _, o := range pending {
				o.done <- err
			}
			return
		}
	}
}

// commitError wraps a failure to begin or commit a transaction (I/O error,
// full disk, closed database): the store cannot take writes now.
func commitError(err error) error {
	return fmt.Errorf("commit: %w: %w", engine.ErrUnavailable, err)
}

// Ping returns nil when the store can take a durable write: it commits a
// tiny record through the writer.
func (s *Store) Ping(ctx context.Context) error {
	now := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	err := s.submit(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bHealth).Put([]byte("ping"), now)
	})
	if err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	// A tiny write may fit where real ones do not (a full disk, MaxSize):
	// a write refused in the last half minute with no new run stored since
	// means the store is not taking webhooks. (Small checkpoints may still
	// fit; they do not make the store healthy.)
	if fail := s.lastFail.Load(); fail > s.lastOK.Load() && time.Since(time.Unix(0, fail)) < 30*time.Second {
		msg, _ := s.lastFailErr.Load().(string)
		return fmt.Errorf("ping store: the last write failed: %s: %w", msg, engine.ErrUnavailable)
	}
	return nil
}

// Backup writes a consistent copy of the whole database to w from one read
// transaction, while the store keeps serving; it returns the bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

var _ engine.Store = (*Store)(nil)
