package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hookflow/hookflow/engine/boltstore"
)

// cmdBackup writes a consistent copy of the database to FILE: directly when no
// server runs, else through the running server's control socket (bbolt lets
// one process hold the file).
func cmdBackup(ctx context.Context, args []string, stdout io.Writer) error {
	var s settings
	fs := newFlags("backup", &s)
	pos, err := s.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: hookflow backup FILE")
	}
	dst := pos[0]
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp)
	n, err := writeBackup(ctx, &s, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", dst, n)
	return nil
}

func writeBackup(ctx context.Context, s *settings, w io.Writer) (int64, error) {
	if err := s.boltOnly("back it up with pg_dump --format=custom (consistent while servers run) and restore with pg_restore"); err != nil {
		return 0, err
	}
	if _, err := os.Stat(s.dbPath()); err != nil {
		return 0, fmt.Errorf("no database at %s: %w", s.dbPath(), err)
	}
	st, err := boltstore.Open(s.dbPath(), boltstore.Options{Timeout: 500 * time.Millisecond})
	if err == nil {
		defer st.Close()
		return st.Backup(ctx, w)
	}
	if !errors.Is(err, boltstore.ErrLocked) {
		return 0, err
	}
	// A server holds the database: ask it for a hot copy.
	sock := filepath.Join(s.data, "hookflow.sock")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://hookflow/backup", nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the database is in use and the server's control socket %s did not answer: %w", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("server answered %s", resp.Status)
	}
	return io.Copy(w, resp.Body)
}

// cmdCompact rewrites the database into a fresh file without free pages.
func cmdCompact(ctx context.Context, args []string, stdout io.Writer) error {
	var s settings
	fs := newFlags("compact", &s)
	if _, err := s.parse(fs, args); err != nil {
		return err
	}
	if err := s.boltOnly("PostgreSQL reclaims space itself (autovacuum; VACUUM FULL by hand)"); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	before, after, err := boltstore.Compact(s.dbPath(), 2*time.Second)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	fmt.Fprintf(stdout, "compacted %s: %d → %d bytes\n", s.dbPath(), before, after)
	return nil
}
