package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The data format's version is the decimal string at meta "format_version".
//
//	1  the layout of the first releases, which wrote no version (a database
//	   with data but no format_version is version 1)
//	2  1 plus the format_version key
//	3  run records are written in record format 2 (codec.go, runcodec.go);
//	   records of format 1 and older still read and are rewritten at their
//	   next checkpoint
//
// At Open a database of an older format is first copied next to itself
// (hookflow.db.bak-v<old>-<UTC time>, fsynced), then migrated in one write
// transaction; a database of a newer format is refused with an error wrapping
// ErrNewerFormat and nothing is written. A new, empty database is stamped with
// FormatVersion.
const FormatVersion = 3

// metaFormatVersion is the meta key holding the format version.
var metaFormatVersion = []byte("format_version")

// ErrNewerFormat is returned (wrapped) by Open for a database written by a
// newer hookflow.
var ErrNewerFormat = errors.New("data format is newer than this hookflow")

// migrations[v] turns format v into v+1 inside one write transaction.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: func(*bolt.Tx) error { return nil }, // 1 → 2: only the version is recorded
	2: func(*bolt.Tx) error { return nil }, // 2 → 3: old run records still read (a hookflow for 2 would not read new ones)
}

// checkFormat runs after Open created the buckets (prev is that step's
// error, returned as is). It refuses a newer format, migrates an older one
// after a backup and stamps a new database.
func checkFormat(db *bolt.DB, path string, prev error) error {
	if prev != nil {
		return prev
	}
	var have int
	var empty bool
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		have, empty, err = readFormat(tx)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case have == FormatVersion:
		return nil
	case have > FormatVersion:
		return fmt.Errorf("its data format is %d, this hookflow understands up to %d: "+
			"run the hookflow version that wrote it (or newer), or restore a backup made before the upgrade: %w",
			have, FormatVersion, ErrNewerFormat)
	case empty:
		return db.Update(func(tx *bolt.Tx) error { return putFormat(tx, FormatVersion) })
	}
	backup, err := backupBeforeMigration(db, path, have)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for v := have; v < FormatVersion; v++ {
			m, ok := migrations[v]
			if !ok {
				return fmt.Errorf("no migration from data format %d", v)
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("migrate data format %d to %d: %w", v, v+1, err)
			}
		}
		return putFormat(tx, FormatVersion)
	})
	if err != nil {
		return fmt.Errorf("%w (nothing was changed; a copy of the database is at %s)", err, backup)
	}
	return nil
}

// readFormat returns the stored format version (1 when the key is absent)
// and whether the database holds nothing yet.
func readFormat(tx *bolt.Tx) (version int, empty bool, err error) {
	v := tx.Bucket(bMeta).Get(metaFormatVersion)
	if v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return 0, false, fmt.Errorf("meta %s is %q, not a format version", metaFormatVersion, v)
		}
		return n, false, nil
	}
	for _, name := range allBuckets {
		if bytes.Equal(name, bHealth) {
			continue // a ping leaves no data
		}
		if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
			return 1, false, nil
		}
	}
	return 1, true, nil
}

func putFormat(tx *bolt.Tx, v int) error {
	return tx.Bucket(bMeta).Put(metaFormatVersion, []byte(strconv.Itoa(v)))
}

// backupBeforeMigration writes a consistent, fsynced copy of the database next
// to it and returns its path.
func backupBeforeMigration(db *bolt.DB, path string, from int) (string, error) {
	dst := fmt.Sprintf("%s.bak-v%d-%s", path, from, time.Now().UTC().Format("20060102T150405.000Z"))
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("back up before migrating data format %d: %w", from, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("back up before migrating data format %d to %s: %w", from, dst, err)
	}
	return dst, nil
}
