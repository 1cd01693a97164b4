package boltstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillKV stores 600 kv entries of 4 KiB, key-0000 … key-0599, at once (the
// writer commits them in a few batches).
func fillKV(t *testing.T, s *Store) {
	t.Helper()
	value := strings.Repeat("v", 4096)
	var wg sync.WaitGroup
	errs := make(chan error, 600)
	for i := range 600 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.KVSet(ctx, fmt.Sprintf("key-%04d", i), value, 0)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNil(t, err)
	}
}

// filledDB writes a database of a few MB (kv entries of 4 KiB) and returns
// its bytes and the size its meta page claims (bbolt's tx.Size()).
func filledDB(t *testing.T) ([]byte, int64) {
	t.Helper()
	s, path := openTest(t, Options{})
	fillKV(t, s)
	mustNil(t, s.Close())
	b, err := os.ReadFile(path)
	mustNil(t, err)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustNil(t, err)
	defer db.Close()
	var size int64
	mustNil(t, db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }))
	if size <= 64<<10 || int64(len(b)) < size {
		t.Fatalf("database of %d bytes, meta says %d", len(b), size)
	}
	return b, size
}

// TestOpenRefusesDamagedFiles: a database file that is missing where one
// existed, empty, truncated or not a database is refused at Open with a
// sentence saying which, before bbolt maps it (a truncated file used to end
// in SIGBUS); an intact one opens.
func TestOpenRefusesDamagedFiles(t *testing.T) {
	good, size := filledDB(t)
	pageSize := os.Getpagesize()
	metaDamaged := append([]byte{}, good...)
	copy(metaDamaged[16:32], "not a meta page!") // page 0's magic and version
	bothDamaged := append([]byte{}, metaDamaged...)
	copy(bothDamaged[pageSize+16:pageSize+32], "not a meta page!")
	cases := []struct {
		name    string
		file    []byte // nil: no file
		existed string
		want    error  // nil: opens
		message string // in the error
	}{
		{name: "missing, new installation", file: nil},
		{name: "missing where one existed", file: nil, existed: "the key file says so", want: ErrMissing, message: "does not exist, but the key file says so"},
		{name: "empty where one existed", file: []byte{}, existed: "the key file says so", want: ErrMissing, message: "is empty (0 bytes), but the key file says so"},
		{name: "empty", file: []byte{}, want: ErrDamaged, message: "is empty (0 bytes), not a database"},
		{name: "shorter than two pages", file: good[:pageSize+100], want: ErrDamaged, message: "too short to hold a database"},
		{name: "truncated to half", file: good[:size/2], want: ErrDamaged, message: fmt.Sprintf("is %d bytes long but its header says %d: the file was truncated", size/2, size)},
		{name: "truncated by one page", file: good[:size-int64(pageSize)], want: ErrDamaged, message: "the file was truncated"},
		{name: "not a database", file: []byte(strings.Repeat("hookflow", 4096)), want: ErrDamaged, message: "not a readable database"},
		{name: "both meta pages damaged", file: bothDamaged, want: ErrDamaged, message: "not a readable database"},
		{name: "one meta page damaged (bbolt uses the other)", file: metaDamaged},
		{name: "spare tail past the meta's size cut", file: good[:size]},
		{name: "intact", file: good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hookflow.db")
			if tc.file != nil {
				mustNil(t, os.WriteFile(path, tc.file, 0o600))
			}
			s, err := Open(path, Options{Existed: tc.existed, Timeout: time.Second})
			if tc.want == nil {
				mustNil(t, err)
				defer s.Close()
				if tc.file != nil {
					// (With a meta page damaged bbolt uses the other, one
					// transaction older: the first key is there either way.)
					if _, err := s.KVGet(ctx, "key-0000"); err != nil {
						t.Errorf("first key: %v", err)
					}
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %v", tc.want)
			}
			wantErr(t, err, tc.want)
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if fi, err := os.Stat(path); tc.file == nil && err == nil {
				t.Errorf("a refused Open created a %d-byte file", fi.Size())
			} else if tc.file != nil && fi.Size() != int64(len(tc.file)) {
				t.Errorf("a refused Open changed the file: %d bytes, was %d", fi.Size(), len(tc.file))
			}
		})
	}
}

// TestTruncatedWhileOpen: a file cut short under a running store makes reads
// of the lost pages fail with ErrDamaged (guard: SetPanicOnFault), instead
// of killing the process with SIGBUS; the store then closes without hanging.
func TestTruncatedWhileOpen(t *testing.T) {
	s, path := openTest(t, Options{})
	fillKV(t, s)
	mustNil(t, os.Truncate(path, 64<<10))
	var damaged int
	for i := range 600 {
		_, err := s.KVGet(ctx, fmt.Sprintf("key-%04d", i))
		switch {
		case err == nil:
		case strings.Contains(err.Error(), ErrDamaged.Error()):
			damaged++
		default:
			t.Fatalf("key-%04d: %v, want nil or ErrDamaged", i, err)
		}
	}
	if damaged == 0 {
		t.Fatal("no read met the truncation")
	}
	if _, err := s.KVList(ctx, "", 1000); err == nil {
		t.Error("listing every key of a truncated file succeeded")
	}
	done := make(chan error, 1)
	go func() {
		// A write may fault too (it reads pages to modify them); it must
		// fail, not crash, and Close must return.
		_ = s.KVSet(ctx, "after", "x", 0)
		done <- s.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung after a fault")
	}
	t.Logf("%d of 600 reads met the truncation", damaged)
}
