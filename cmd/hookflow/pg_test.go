package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
)

// pgFlow counts events in the data store; deliveries are deduplicated by
// their X-Event-Id header.
const pgFlow = `{"id":"pg","name":"PG","trigger":{"type":"webhook","with":{"dedupe":"trigger.headers['x-event-id']"}},
 "steps":[{"id":"count","type":"store","with":{"operation":"increment","key":"events/{{ trigger.body.kind }}","by":1}}]}`

// startPG starts a throwaway PostgreSQL for the test (skipping without one,
// unless HOOKFLOW_REQUIRE_PG=1) and stops it when the test ends.
func startPG(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c, err := pgtest.Start()
	if err != nil {
		if pgtest.Required() {
			t.Fatalf("HOOKFLOW_REQUIRE_PG=1: %v", err)
		}
		t.Skipf("PostgreSQL not available, skipping: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

func newDB(t *testing.T, c *pgtest.Cluster) string {
	t.Helper()
	u, err := c.NewDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// postEvent posts one event to the pg flow and returns the status and answer.
func postEvent(t *testing.T, addr, id, kind string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/pg", strings.NewReader(fmt.Sprintf(`{"kind":%q}`, kind)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Event-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// postMany posts n distinct events from 8 clients and waits for each run to
// succeed; it returns the run ids.
func postMany(t *testing.T, srv *server, tok, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, out := postEvent(t, srv.addr, fmt.Sprintf("%s-%d", prefix, i), prefix)
			if code != 202 {
				t.Errorf("event %d: %d %v", i, code, out)
				return
			}
			ids[i], _ = out["run_id"].(string)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range ids {
		if run := waitRun(t, srv, tok, id, 20*time.Second); run["status"] != "succeeded" {
			t.Fatalf("run %s: %v %v", id, run["status"], run["error"])
		}
	}
	return ids
}

// TestPostgres runs the real binary on the PostgreSQL store.
func TestPostgres(t *testing.T) {
	c := startPG(t)

	t.Run("serve and CLI", func(t *testing.T) {
		dbURL := newDB(t, c)
		data := t.TempDir()
		env := "HOOKFLOW_STORE=" + dbURL
		t.Setenv("HOOKFLOW_STORE", dbURL) // every command of this subtest
		run := func(stdin string, args ...string) (string, string, int) {
			return cliEnv(t, data, stdin, nil, args...)
		}
		importFlows(t, data, pgFlow)
		tok, errOut, code := run("", "token create --name t")
		if code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		tok = strings.TrimSpace(tok)
		if _, errOut, code := run("pw-for-ann-123\n", "user create --email ann@example.com"); code != 0 {
			t.Fatalf("user create: %s", errOut)
		}
		if _, errOut, code := run("", "secrets set API_KEY v4lue"); code != 0 {
			t.Fatalf("secrets set: %s", errOut)
		}
		addr := freeAddr(t)
		srv := startServer(t, data, addr, env)
		defer srv.stop()
		ids := postMany(t, srv, tok, "order", 40)
		// A redelivery is answered as a duplicate of its first run.
		code, out := postEvent(t, addr, "order-7", "order")
		if code != 200 || out["duplicate"] != true || out["run_id"] != ids[7] {
			t.Fatalf("redelivery: %d %v, want duplicate of %s", code, out, ids[7])
		}
		// The flow's step counted every event once.
		if v := kvValue(t, srv, tok, "events/order"); v != 40.0 {
			t.Fatalf("counter: %v, want 40", v)
		}
		// CLI commands work while the server runs.
		if names, errOut, code := run("", "secrets list"); code != 0 || strings.TrimSpace(names) != "API_KEY" {
			t.Fatalf("secrets list while serving: %q %s", names, errOut)
		}
		if doc, errOut, code := run("", "flows export pg"); code != 0 || !strings.Contains(doc, `"id": "pg"`) {
			t.Fatalf("flows export while serving: %s %s", doc, errOut)
		}
		// Backup says to use pg_dump, without the password.
		_, errOut, code = run("", "backup", filepath.Join(t.TempDir(), "b.db"))
		if code != 2 || !strings.Contains(errOut, "pg_dump") || strings.Contains(errOut, pgtest.Password) {
			t.Fatalf("backup: exit %d: %s", code, errOut)
		}
	})

	t.Run("database down while serving", func(t *testing.T) {
		dbURL := newDB(t, c)
		data := t.TempDir()
		t.Setenv("HOOKFLOW_STORE", dbURL)
		importFlows(t, data, pgFlow)
		tok, errOut, code := cli(t, data, "", "token", "create", "--name", "t")
		if code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		tok = strings.TrimSpace(tok)
		addr := freeAddr(t)
		srv := startServer(t, data, addr, "HOOKFLOW_STORE="+dbURL)
		defer srv.stop()
		postMany(t, srv, tok, "before", 3)

		c.Pause()
		resumed := false
		defer func() {
			if !resumed {
				_ = c.Resume()
			}
		}()
		req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/pg", strings.NewReader(`{"kind":"down"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Event-Id", "down-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("webhook with the database down: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 503 {
			t.Fatalf("/healthz with the database down: %v %v", resp, err)
		}

		if err := c.Resume(); err != nil {
			t.Fatal(err)
		}
		resumed = true
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, out := postEvent(t, addr, "down-1", "down")
			if code == 202 {
				if run := waitRun(t, srv, tok, out["run_id"].(string), 15*time.Second); run["status"] != "succeeded" {
					t.Fatalf("run after the database returned: %v", run["status"])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhooks still refused after the database returned: %d %v", code, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("/healthz after the database returned: %v %v", resp, err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		dbURL := newDB(t, c)
		data := t.TempDir()
		if _, errOut, code := cliEnv(t, data, "", []string{"HOOKFLOW_STORE=" + dbURL}, "secrets", "set", "A", "b"); code != 0 {
			t.Fatalf("secrets set: %s", errOut)
		}
		u, _ := url.Parse(dbURL)
		wrong := *u
		wrong.User = url.UserPassword("postgres", "Wr0ng-Passw0rd")
		down := *u
		down.Host = freeAddr(t)
		down.User = wrong.User
		otherKey := strings.Repeat("k", 44)
		cases := []struct {
			name string
			data string
			env  []string
			want []string
		}{
			{"wrong password", data, []string{"HOOKFLOW_STORE=" + wrong.String()}, []string{"password authentication failed", u.Host}},
			{"database down", data, []string{"HOOKFLOW_STORE=" + down.String()}, []string{"cannot reach PostgreSQL at " + down.Host}},
			{"not a store", data, []string{"HOOKFLOW_STORE=mysql://x:Wr0ng-Passw0rd@h/db"}, []string{"want bolt or a postgres:// URL"}},
			{"another key", t.TempDir(), []string{"HOOKFLOW_STORE=" + dbURL, "HOOKFLOW_SECRET_KEY=" + otherKey}, []string{"does not match"}},
			{"no key file", t.TempDir(), []string{"HOOKFLOW_STORE=" + dbURL}, []string{"sealed with a secret key", "missing"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantCode := 2
				if tc.name == "not a store" {
					wantCode = 1
				}
				for _, args := range [][]string{{"serve", "--addr", freeAddr(t)}, {"secrets", "list"}} {
					out, errOut, code := cliEnv(t, tc.data, "", tc.env, args...)
					t.Logf("%v: %s", args, strings.TrimSpace(errOut))
					if code != wantCode {
						t.Fatalf("%v: exit %d, want %d: %s %s", args, code, wantCode, out, errOut)
					}
					if strings.Contains(errOut, "Wr0ng") || strings.Contains(errOut, pgtest.Password) {
						t.Fatalf("%v: the password is in the message: %s", args, errOut)
					}
					for _, w := range tc.want {
						if !strings.Contains(errOut, w) {
							t.Fatalf("%v: message %q does not say %q", args, errOut, w)
						}
					}
				}
			})
		}
	})

	t.Run("migrate a bbolt installation", func(t *testing.T) {
		data := t.TempDir()
		importFlows(t, data, pgFlow)
		tok, errOut, code := cli(t, data, "", "token", "create", "--name", "t")
		if code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		tok = strings.TrimSpace(tok)
		if _, errOut, code := cli(t, data, "pw-for-ann-123\n", "user", "create", "--email", "ann@example.com"); code != 0 {
			t.Fatalf("user create: %s", errOut)
		}
		if _, errOut, code := cli(t, data, "", "secrets", "set", "API_KEY", "v4lue"); code != 0 {
			t.Fatalf("secrets set: %s", errOut)
		}
		importFlows(t, data, strings.Replace(pgFlow, `"name":"PG"`, `"name":"PG v2"`, 1)) // version 2
		addr := freeAddr(t)
		srv := startServer(t, data, addr)
		ids := postMany(t, srv, tok, "bolt", 25)
		srv.stop()
		// A connection record and an app file, written as the server would.
		bolt, err := boltstore.Open(filepath.Join(data, "hookflow.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := bolt.PutConnection(context.Background(), "crm", []byte(`{"name":"crm","type":"api_key","sealed":"c2VhbGVk"}`)); err != nil {
			t.Fatal(err)
		}
		if err := bolt.PutAppFile(context.Background(), "crm.app", []byte("name: crm")); err != nil {
			t.Fatal(err)
		}
		bolt.Close()

		dbURL := newDB(t, c)
		out, errOut, code := cli(t, data, "", "store", "migrate", "--from", data, "--to", dbURL)
		if code != 0 {
			t.Fatalf("store migrate: exit %d: %s %s", code, out, errOut)
		}
		t.Logf("store migrate:\n%s", out)
		for _, want := range []string{"runs                 25", "flow_versions         2", "secrets               1", "users                 1", "tokens                1", "dedupe               25", "kv                    1", "connections           1", "app_files             1"} {
			if !strings.Contains(out, want) {
				t.Fatalf("migrate report lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "MISMATCH") || strings.Contains(out+errOut, pgtest.Password) {
			t.Fatalf("migrate report:\n%s%s", out, errOut)
		}
		// Into a database that holds data: refused.
		if _, errOut, code := cli(t, data, "", "store", "migrate", "--from", data, "--to", dbURL); code != 2 || !strings.Contains(errOut, "empty database") {
			t.Fatalf("second migrate: exit %d: %s", code, errOut)
		}

		// Serve from PostgreSQL with the same data dir (the key file).
		env := "HOOKFLOW_STORE=" + dbURL
		srv = startServer(t, data, addr, env)
		defer srv.stop()
		for _, id := range []string{ids[0], ids[24]} {
			if run := waitRun(t, srv, tok, id, 5*time.Second); run["status"] != "succeeded" {
				t.Fatalf("migrated run %s: %v", id, run["status"])
			}
		}
		if code, out := postEvent(t, addr, "bolt-3", "bolt"); code != 200 || out["run_id"] != ids[3] {
			t.Fatalf("redelivery of a migrated event: %d %v, want duplicate of %s", code, out, ids[3])
		}
		postMany(t, srv, tok, "after", 5)
		if v := kvValue(t, srv, tok, "events/bolt"); v != 25.0 {
			t.Fatalf("migrated counter: %v, want 25", v)
		}
		code, flow := srv.api("GET", "/api/v1/flows/pg", tok, nil)
		if code != 200 || flow["name"] != "PG v2" {
			t.Fatalf("migrated flow: %d %v", code, flow)
		}
		// Secrets still open with the same key.
		if names, errOut, code := cliEnv(t, data, "", []string{env}, "secrets", "list"); code != 0 || strings.TrimSpace(names) != "API_KEY" {
			t.Fatalf("secrets after migrate: %q %s", names, errOut)
		}
	})
}

// kvValue reads one data store entry through the API.
func kvValue(t *testing.T, srv *server, tok, key string) any {
	t.Helper()
	code, out := srv.api("GET", "/api/v1/store?prefix="+url.QueryEscape(key), tok, nil)
	items, _ := out["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("store %q: %d %v", key, code, out)
	}
	item, _ := items[0].(map[string]any)
	return item["value"]
}

// cliEnv is cli with extra environment variables; args may be one string of
// words.
func cliEnv(t *testing.T, data, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	if len(args) == 1 {
		args = strings.Fields(args[0])
	}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	return cli(t, data, stdin, args...)
}
