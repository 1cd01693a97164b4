package boltstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Errors of Open for a file that is not the database it should be. Both mean:
// do not start; restore the file from a backup.
var (
	// ErrMissing: Options.Existed is set (the data dir shows that a database
	// was created there) and the file is missing or empty.
	ErrMissing = errors.New("database file is missing or empty")
	// ErrDamaged: the file is empty, truncated, or not a readable bbolt
	// database (both meta pages invalid), or a read of it faulted.
	ErrDamaged = errors.New("database file is damaged")
)

// checkFile refuses, before bbolt maps it, a database file that would start a
// fresh installation in place of a lost one or crash the process later:
//   - missing while opts.Existed is set: ErrMissing (a fresh database would
//     open /setup to the first visitor);
//   - empty (0 bytes): ErrMissing with opts.Existed, else ErrDamaged (bbolt
//     would silently initialize it);
//   - shorter than its meta page says (pgid × page size, bbolt's tx.Size()),
//     or with no valid meta page: ErrDamaged. A truncated file would
//     otherwise be mapped and fault (SIGBUS) on the first read of a page past
//     its end, at open or long after.
//
// It opens the file read-only (a shared lock, so it waits for a server
// holding the file like Open does) and reads only the two meta pages: its
// cost does not grow with the file (0.05–8 ms for 1 GB). It does not walk
// the pages: bbolt's tx.Check on 1 GB of 2 KB records took 0.6–3 s from the
// page cache and 40 s from disk (2-core test VM), too slow for every start.
// A damaged page inside the file, or a file truncated while open, is met as
// an error by guard, around every read and commit.
func checkFile(path string, opts Options) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if opts.Existed != "" {
			return fmt.Errorf("open store: %s does not exist, but %s; refusing to start a new, empty database: %w", path, opts.Existed, ErrMissing)
		}
		return nil
	case err != nil:
		return fmt.Errorf("open store %s: %w", path, err)
	case fi.Size() == 0 && opts.Existed != "":
		return fmt.Errorf("open store: %s is empty (0 bytes), but %s; refusing to start a new, empty database: %w", path, opts.Existed, ErrMissing)
	case fi.Size() == 0:
		return fmt.Errorf("open store: %s is empty (0 bytes), not a database (restore it from a backup, or delete it to start a new installation): %w", path, ErrDamaged)
	case fi.Size() < int64(2*os.Getpagesize()):
		// Smaller than the two meta pages: bbolt would fault reading them.
		return fmt.Errorf("open store: %s is %d bytes, too short to hold a database (restore it from a backup): %w", path, fi.Size(), ErrDamaged)
	}
	var db *bolt.DB
	err = guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opts.Timeout})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return lockedError(path, opts)
	}
	if err != nil {
		return fmt.Errorf("open store: %s is not a readable database (restore it from a backup): %w: %w", path, ErrDamaged, err)
	}
	defer db.Close()
	var want int64
	err = db.View(func(tx *bolt.Tx) error { want = tx.Size(); return nil })
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	if fi.Size() < want {
		return fmt.Errorf("open store: %s is %d bytes long but its header says %d: the file was truncated (restore it from a backup): %w", path, fi.Size(), want, ErrDamaged)
	}
	return nil
}

// lockedError is Open's error when another process holds the file.
func lockedError(path string, opts Options) error {
	return fmt.Errorf("open store: database %s is in use by another hookflow process (waited %s): %w", path, opts.Timeout, ErrLocked)
}

// errPanic marks a panic turned into an error by guard.
var errPanic = errors.New("internal error")

// guard runs fn with faults turned into panics (debug.SetPanicOnFault, for
// this goroutine and restored on return) and recovers them: a read of a page
// past the end of a file truncated under the server (SIGBUS) becomes an error
// wrapping ErrDamaged instead of killing the process; any other panic (bbolt
// panics on some malformed pages) an error wrapping errPanic. Every read
// (view), the writer's commits and Open run inside it.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if f, ok := r.(interface{ Addr() uintptr }); ok {
			err = fmt.Errorf("%w: memory fault reading it at %#x (was it truncated while open?): %v", ErrDamaged, f.Addr(), r)
			return
		}
		err = fmt.Errorf("%w: %v", errPanic, r)
	}()
	return fn()
}
