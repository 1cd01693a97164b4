// Package pgstore implements engine.Store on PostgreSQL with pgx (pgxpool).
// It is the only package of Hookflow that imports pgx.
//
// # Schema
//
// Open creates or upgrades the schema from the numbered SQL files embedded
// from migrations/, each applied once in its own transaction and recorded in
// hookflow_migrations, under a PostgreSQL advisory lock: nodes starting at
// once migrate once. Records are stored as the engine's JSON (bytea) next to
// the columns queries filter on; see migrations/001_init.sql.
//
// # Writes: group commit
//
// As in boltstore, the hot writes (CreateRun, SaveRun, Ping) go through
// writer goroutines: a writer takes one op, drains every other op already
// waiting (up to maxBatch), sends them all as one pgx.Batch — one round trip,
// one implicit transaction — and wakes every caller once the commit is
// confirmed; synchronous_commit is left as the server has it (on), so an
// acknowledged run is on the database's disk. A few writers (writers) run at
// once, so that a batch collects while the previous one waits for its fsync.
// An op whose statement fails gets its error and the rest of the batch is
// run again without it (a taken run id without a dedupe key does not fail
// the statement: it inserts nothing and reports engine.ErrExists). Dedupe is exact: the dedupe
// table's primary key and INSERT … ON CONFLICT decide, never a read first.
// Other writes are small transactions of their own on the pool.
//
// A write is refused with an error wrapping engine.ErrUnavailable when more
// than Options.MaxPending ops wait, when the database cannot be reached, does
// not answer within Options.WriteTimeout or the commit fails, or when the
// store is closing.
//
// # Several nodes
//
// Store implements engine.Cluster: run leases, fenced checkpoints, claims,
// cluster-wide locks and LISTEN/NOTIFY notices; see cluster.go.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock is the advisory lock key held while migrating ("hookflow" in ASCII).
const migrateLock int64 = 0x686f6f6b666c6f77

const (
	defaultMaxPending = 20000
	// maxBatch bounds the ops committed in one transaction.
	maxBatch = 1000
	// maxFailingPasses is how many times a batch is rerun as one transaction
	// after an op failed before the rest runs one op per transaction.
	maxFailingPasses = 4
	// defaultWriteTimeout bounds one batch's round trips and commit: a
	// database that stops answering (a network partition, not a refused
	// connection) fails writes with engine.ErrUnavailable after it, well
	// within a webhook sender's own timeout, and /healthz fails.
	defaultWriteTimeout = 5 * time.Second
	// writers is how many batches may be in flight at once, each on its own
	// connection: while one waits for its commit, the next collects the
	// calls that arrive meanwhile. Callers' writes are independent (a caller
	// waits for its write before its next), so batches may commit in any
	// order.
	writers = 4
	// connectTimeout bounds each connection attempt unless the URL sets one.
	connectTimeout = 5 * time.Second
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Observer receives one Commit measurement per committed batch (nil: none).
	Observer engine.Observer
	// MaxPending is how many writes may wait for the writer before new ones are
	// refused with engine.ErrUnavailable (default 20000).
	MaxPending int
	// MaxConns sizes the connection pool (default: the URL's pool_max_conns, else 16).
	MaxConns int32
	// Node names this process in run leases and locks (engine.Cluster);
	// default: hostname-pid-random, unique per process.
	Node string
	// Lease is how long a run lease lasts unrenewed; the engine renews every
	// Lease/3 (default 15 s).
	Lease time.Duration
	// WriteTimeout bounds a batch of writes, its commit included (default
	// 5 s); past it, its writes fail with engine.ErrUnavailable.
	WriteTimeout time.Duration

	// listenQuiet and listenPing: after listenQuiet without a notice the
	// listener pings its connection, and reconnects when the ping takes
	// longer than listenPing (defaults 10 s and 5 s; tests shorten them).
	listenQuiet, listenPing time.Duration
}

// Store is an engine.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	where    string // host:port/database, for messages (never the password)
	observer engine.Observer
	node     string
	lease    time.Duration
	timeouts Options // WriteTimeout, listenQuiet, listenPing
	// stopped ends when Close begins (Listen returns then).
	stopped context.Context
	stop    context.CancelFunc

	mu     sync.RWMutex // guards closed and sends on ops
	closed bool
	ops    chan *op
	done   chan struct{}

	lastOK      atomic.Int64
	lastFail    atomic.Int64
	lastFailErr atomic.Value
}

// op is one write for the writer: queue adds its statement(s) to the batch;
// read consumes exactly their results. read returns an error only for a
// failed statement (the transaction is then aborted); an outcome such as
// "not found" goes into the op's own result. Both may run more than once.
type op struct {
	queue func(b *pgx.Batch)
	read  func(br pgx.BatchResults) error
	done  chan error
}

// Where describes the database of a connection string for messages: host,
// port, database and user — never the password.
func Where(connString string) string {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return "PostgreSQL (unparsable connection string)"
	}
	return fmt.Sprintf("%s:%d/%s (user %s)", cfg.Host, cfg.Port, cfg.Database, cfg.User)
}

// IsURL reports whether s looks like a PostgreSQL connection URL.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at connString, checks that it answers,
// creates or migrates the schema and starts the writer. Errors name the
// host and database, never the password.
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	if opts.MaxPending <= 0 {
		opts.MaxPending = defaultMaxPending
	}
	if opts.Observer == nil {
		opts.Observer = engine.NopObserver{}
	}
	if opts.Node == "" {
		opts.Node = defaultNode()
	}
	if opts.Lease <= 0 {
		opts.Lease = defaultLease
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = defaultWriteTimeout
	}
	if opts.listenQuiet <= 0 {
		opts.listenQuiet = defaultListenQuiet
	}
	if opts.listenPing <= 0 {
		opts.listenPing = defaultListenPing
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's message may quote the string: give only its kind of mistake.
		return nil, fmt.Errorf("open PostgreSQL store: the connection string does not parse (want postgres://user:password@host:5432/database): %s", redactParseError(err))
	}
	where := fmt.Sprintf("%s:%d/%s (user %s)", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
	if !strings.Contains(connString, "connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if !strings.Contains(connString, "pool_max_conns") && cfg.MaxConns < 16 {
		cfg.MaxConns = 16 // the writers' connections plus readers
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store at %s: %s", where, redactConnectError(err, cfg.ConnConfig.Password))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000") {
			return nil, fmt.Errorf("PostgreSQL at %s refused the login: %s (check the user and password in the connection string)", where, pe.Message)
		}
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %s", where, redactConnectError(err, cfg.ConnConfig.Password))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate PostgreSQL schema at %s: %w", where, err)
	}
	s := &Store{
		pool:     pool,
		where:    where,
		observer: opts.Observer,
		node:     opts.Node,
		lease:    opts.Lease,
		timeouts: opts,
		ops:      make(chan *op, opts.MaxPending),
		done:     make(chan struct{}),
	}
	s.stopped, s.stop = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writer()
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s, nil
}

// redactConnectError explains a connection failure without the password.
func redactConnectError(err error, password string) string {
	msg := err.Error()
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	return msg
}

// redactParseError keeps pgx's reason and drops the quoted connection string.
func redactParseError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return "malformed"
}

// migrations returns the embedded migrations by number.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: the name must start with its number", base)
		}
		sql, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{n, base, string(sql)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, while holding the advisory lock on one connection.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLock) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS hookflow_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hookflow_migrations").Scan(&current); err != nil {
		return err
	}
	if latest := all[len(all)-1].version; current > latest {
		return fmt.Errorf("the database has schema version %d, newer than this hookflow knows (%d): upgrade hookflow", current, latest)
	}
	for _, m := range all {
		if m.version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO hookflow_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hookflow_migrations").Scan(&v)
	return v, err
}

// Where returns host:port/database (user) of the store, for messages.
func (s *Store) Where() string { return s.where }

// Close stops taking writes, lets the writer commit every op already
// submitted, then closes the pool. Further calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	s.stop()
	<-s.done
	s.pool.Close()
	return nil
}

// submit queues an op for the writer and waits until it is committed or has
// failed. Once queued it is committed whatever happens to ctx.
func (s *Store) submit(ctx context.Context, queue func(b *pgx.Batch), read func(br pgx.BatchResults) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{queue: queue, read: read, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("store is closed: %w", engine.ErrUnavailable)
	}
	select {
	case s.ops <- o:
	default:
		s.mu.RUnlock()
		err := fmt.Errorf("more than %d writes pending: %w", cap(s.ops), engine.ErrUnavailable)
		s.noteFail(err)
		return err
	}
	s.mu.RUnlock()
	// A failed commit is not remembered for Ping: Ping's own commit shows
	// whether the database takes writes again.
	return <-o.done
}

func (s *Store) noteFail(err error) {
	s.lastFail.Store(time.Now().UnixNano())
	s.lastFailErr.Store(err.Error())
}

// writer commits the pending ops in batches until ops is closed and drained;
// several run at once (writers).
func (s *Store) writer() {
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
		clear(batch)
	}
}

// commit runs the batch in one transaction and reports to every op. An op
// whose statement fails gets its own error and the others are rerun without it.
func (s *Store) commit(batch []*op) {
	pending := batch
	for pass := 0; len(pending) > 0; pass++ {
		if pass >= maxFailingPasses {
			for i := range pending {
				s.commit(pending[i : i+1])
			}
			return
		}
		start := time.Now()
		failed, opErr, err := s.runBatch(pending)
		switch {
		case err == nil:
			s.observer.Commit(len(pending), time.Since(start))
			for _, o := range pending {
				o.done <- nil
			}
			return
		case failed >= 0:
			pending[failed].done <- opErr
			pending = append(pending[:failed:failed], pending[failed+1:]...)
		case rollback(err):
			// A deadlock or serialization failure rolled the batch back:
			// nothing of it committed, run it again.
		default:
			err = unavailable(err)
			for _, o := range pending {
				o.done <- err
			}
			return
		}
	}
}

// runBatch sends every op's statements in one round trip as one implicit
// transaction (a pgx.Batch outside BEGIN: PostgreSQL commits it at the
// batch's Sync, or rolls it all back when a statement fails). failed is the
// index of the op whose statement failed (with its error), or -1 when the
// batch itself failed (err) or committed (nil).
func (s *Store) runBatch(ops []*op) (failed int, opErr, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeouts.WriteTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, o := range ops {
		o.queue(b)
	}
	br := s.pool.SendBatch(ctx, b)
	failed = -1
	for i, o := range ops {
		if err := safeRead(o, br); err != nil {
			if !opFault(err) {
				br.Close()
				return -1, nil, err
			}
			failed, opErr = i, mapError(err)
			break
		}
	}
	// Close reads up to the server's ReadyForQuery, after the commit.
	cerr := br.Close()
	if failed >= 0 {
		return failed, opErr, errOpFailed
	}
	if cerr != nil {
		return -1, nil, cerr
	}
	return -1, nil, nil
}

var errOpFailed = errors.New("op failed")

// safeRead calls the op's read, turning a panic into an error.
func safeRead(o *op, br pgx.BatchResults) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &pgconn.PgError{Code: "XX000", Message: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	return o.read(br)
}

// opFault reports whether a statement error is the op's own (bad data, a
// taken key) rather than the connection's or the server's.
func opFault(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "42", "XX":
		return true
	}
	return false
}

// rollback reports whether the server rolled a transaction back for a
// deadlock or a serialization failure (40P01, 40001): running it again may
// succeed.
func rollback(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// mapError turns PostgreSQL errors into the engine's: a unique violation is
// engine.ErrExists.
func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w (%s)", engine.ErrExists, pe.ConstraintName)
	}
	return err
}

// unavailable wraps a failure to reach the database or commit: the store
// cannot take writes now (HTTP 503).
func unavailable(err error) error {
	if errors.Is(err, engine.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("commit: %w: %w", engine.ErrUnavailable, err)
}

// fail maps an error of a direct (non-batched) operation: PostgreSQL
// integrity errors to engine errors, connection failures to
// engine.ErrUnavailable.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrExists) || errors.Is(err, engine.ErrInvalid) ||
		errors.Is(err, engine.ErrConflict) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if opFault(err) {
		return mapError(err)
	}
	return unavailable(err)
}

// Ping returns nil when the store can take a write: it commits a tiny record
// through the writer, and fails while writes were refused for a full queue
// (a lone ping may slip into it) in the last half minute with no new run
// stored since. A database that was unreachable passes as soon as it takes
// the ping's commit again.
func (s *Store) Ping(ctx context.Context) error {
	now := time.Now().UTC()
	err := s.submit(ctx, func(b *pgx.Batch) {
		b.Queue("INSERT INTO health (name, at) VALUES ('ping', $1) ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at", now)
	}, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	if err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	if fail := s.lastFail.Load(); fail > s.lastOK.Load() && time.Since(time.Unix(0, fail)) < 30*time.Second {
		msg, _ := s.lastFailErr.Load().(string)
		return fmt.Errorf("ping store: the last write failed: %s: %w", msg, engine.ErrUnavailable)
	}
	return nil
}

// ErrUseDump is returned by Backup: a PostgreSQL store is backed up with
// PostgreSQL's own tools.
var ErrUseDump = errors.New("the PostgreSQL store is backed up with pg_dump, not hookflow backup")

// Backup refuses: use pg_dump (it is consistent while the servers run).
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return 0, fmt.Errorf("%w: run pg_dump --format=custom --file=hookflow.dump against %s (restore with pg_restore)", ErrUseDump, s.where)
}

// txn runs fn in a transaction on the pool and maps its error.
func (s *Store) txn(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.fail(pgx.BeginFunc(ctx, s.pool, fn))
}

// errInvalid reports a bad argument.
func errInvalid(what string) error { return fmt.Errorf("%s: %w", what, engine.ErrInvalid) }

var _ engine.Store = (*Store)(nil)
