package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
	"github.com/jackc/pgx/v5"
)

// Several nodes on one PostgreSQL database (issue #17): real binaries, each
// with its own data dir and port, the same --store URL and the same secret key.

// clusterKey is the secret key every node of a test cluster shares.
const clusterKey = "hookflow-cluster-test-key-0123456789abcdef"

// testCluster is one database and the nodes serving it.
type testCluster struct {
	t     *testing.T
	pg    *pgtest.Cluster
	db    string
	tok   string
	env   []string
	nodes []*server
	datas []string
}

// newTestCluster creates a database, imports flows, creates an API token
// and starts n nodes on it.
func newTestCluster(t *testing.T, pg *pgtest.Cluster, n int, flows ...string) *testCluster {
	t.Helper()
	db := newDB(t, pg)
	c := &testCluster{t: t, pg: pg, db: db, env: []string{"HOOKFLOW_STORE=" + db, "HOOKFLOW_SECRET_KEY=" + clusterKey}}
	setup := t.TempDir()
	if len(flows) > 0 {
		importFlowsEnv(t, setup, c.env, flows...)
	}
	tok, errOut, code := cliEnv(t, setup, "", c.env, "token", "create", "--name", "cluster")
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	c.tok = strings.TrimSpace(tok)
	for range n {
		c.datas = append(c.datas, t.TempDir())
		c.nodes = append(c.nodes, nil)
		c.start(len(c.nodes) - 1)
	}
	return c
}

// importFlowsEnv imports flow documents with extra environment variables.
func importFlowsEnv(t *testing.T, data string, env []string, docs ...string) {
	t.Helper()
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	importFlows(t, data, docs...)
}

// start (re)starts node i on its data dir, on a new port.
func (c *testCluster) start(i int) {
	c.t.Helper()
	s := startServer(c.t, c.datas[i], freeAddr(c.t), c.env...)
	c.t.Cleanup(s.stop)
	c.nodes[i] = s
}

// post sends body to flow's webhook on node i with optional headers; it
// returns the status, the run id and whether the answer was a duplicate.
// A transport error (the node is down) is status 0.
func post(client *http.Client, s *server, flow, body string, header ...string) (int, string, bool) {
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/"+flow, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", false
	}
	defer resp.Body.Close()
	var out struct {
		RunID     string `json:"run_id"`
		Duplicate bool   `json:"duplicate"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.RunID, out.Duplicate
}

// flowRuns lists every run of a flow through node s's API.
func flowRuns(t *testing.T, s *server, tok, flow string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 1000 {
		code, page := s.api("GET", "/api/v1/runs?limit=500&flow="+flow+"&cursor="+url.QueryEscape(cursor), tok, nil)
		if code != 200 {
			t.Fatalf("list runs of %s: %d %v", flow, code, page)
		}
		runs, _ := page["runs"].([]any)
		for _, r := range runs {
			out = append(out, r.(map[string]any))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
	t.Fatalf("list runs of %s: too many pages", flow)
	return nil
}

// waitSucceeded waits until every run succeeded, read through the first
// node that answers; it fails with the nodes' logs.
func (c *testCluster) waitSucceeded(ids []string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for i, id := range ids {
		for {
			code, run := c.nodes[0].api("GET", "/api/v1/runs/"+id, c.tok, nil)
			if code == 200 && run["status"] == "succeeded" {
				break
			}
			if code != 200 || run["status"] == "failed" || run["status"] == "canceled" || time.Now().After(deadline) {
				var logs strings.Builder
				for n, s := range c.nodes {
					// cmd.Wait returns once the output is copied: no longer written
					_ = s.cmd.Process.Signal(syscall.SIGTERM)
					_ = s.cmd.Wait()
					fmt.Fprintf(&logs, "--- node %d (%s):\n%s\n", n, s.addr, s.logs)
				}
				c.t.Fatalf("run %d of %d (%s): %d %v %v\n%s", i+1, len(ids), id, code, run["status"], run["error"], logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestClusterSameEventOnce: the same Stripe-style event posted to two nodes at
// the same moment starts one run; both answers name it.
func TestClusterSameEventOnce(t *testing.T) {
	pg := startPG(t)
	flow := `{"id":"stripe","name":"Stripe","trigger":{"type":"webhook","with":{"dedupe":"trigger.body.id"}},
	 "steps":[{"id":"count","type":"store","with":{"operation":"increment","key":"events","by":1}}]}`
	c := newTestCluster(t, pg, 2, flow)
	const events = 30
	client := &http.Client{Timeout: 10 * time.Second}
	runOf := map[string]bool{}
	for e := range events {
		body := fmt.Sprintf(`{"id":"evt_%04d","type":"payment_intent.succeeded"}`, e)
		type answer struct {
			code int
			run  string
			dup  bool
		}
		answers := make([]answer, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				<-start
				code, run, dup := post(client, c.nodes[i], "stripe", body)
				answers[i] = answer{code: code, run: run, dup: dup}
			})
		}
		close(start)
		wg.Wait()
		a, b := answers[0], answers[1]
		if a.run == "" || a.run != b.run {
			t.Fatalf("event %d: the nodes answered %+v and %+v: want one run id", e, a, b)
		}
		codes := []int{a.code, b.code}
		sort.Ints(codes)
		if codes[0] != 200 || codes[1] != 202 || a.dup == b.dup {
			t.Fatalf("event %d: answers %+v and %+v: want one 202 and one 200 duplicate", e, a, b)
		}
		runOf[a.run] = true
	}
	for id := range runOf {
		if run := waitRun(t, c.nodes[1], c.tok, id, 20*time.Second); run["status"] != "succeeded" {
			t.Fatalf("run %s: %v %v", id, run["status"], run["error"])
		}
	}
	if runs := flowRuns(t, c.nodes[0], c.tok, "stripe"); len(runs) != events || len(runOf) != events {
		t.Fatalf("%d runs listed, %d distinct run ids for %d events", len(runs), len(runOf), events)
	}
	if v := kvValue(t, c.nodes[0], c.tok, "events"); v != float64(events) {
		t.Fatalf("the step counted %v events, want %d", v, events)
	}
}

// TestClusterFlowLiveEverywhere: a flow created through node 1's API takes
// webhooks on node 2 within 2 s, and so does one imported with the CLI;
// deleted on node 1, node 2 stops taking them within 2 s.
func TestClusterFlowLiveEverywhere(t *testing.T) {
	pg := startPG(t)
	c := newTestCluster(t, pg, 2)
	n1, n2 := c.nodes[0], c.nodes[1]
	client := &http.Client{Timeout: 5 * time.Second}
	// node 2 has cached "no such flow" before the flow exists
	if code, _, _ := post(client, n2, "live", `{"x":1}`); code != 404 {
		t.Fatalf("webhook to a flow that does not exist yet: %d, want 404", code)
	}
	flow := map[string]any{"id": "live", "name": "Live", "trigger": map[string]any{"type": "webhook"},
		"steps": []any{map[string]any{"id": "s", "type": "set", "with": map[string]any{"vars": map[string]any{"x": "{{ trigger.body.x }}"}}}}}
	if code, out := n1.api("POST", "/api/v1/flows", c.tok, flow); code != 201 {
		t.Fatalf("create the flow on node 1: %d %v", code, out)
	}
	saved := time.Now()
	var runID string
	for {
		code, run, _ := post(client, n2, "live", `{"x":1}`)
		if code == 202 {
			runID = run
			break
		}
		if time.Since(saved) > 2*time.Second {
			t.Fatalf("node 2 still answers %d 2 s after node 1 saved the flow", code)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Logf("node 2 took the flow's webhooks %s after node 1 saved it", time.Since(saved).Round(time.Millisecond))
	if run := waitRun(t, n2, c.tok, runID, 15*time.Second); run["status"] != "succeeded" {
		t.Fatalf("run on node 2: %v %v", run["status"], run["error"])
	}

	// A flow imported with the CLI while the nodes run is live on both.
	importFlowsEnv(t, t.TempDir(), c.env, `{"id":"cli","name":"CLI","trigger":{"type":"webhook"},"steps":[{"id":"s","type":"set","with":{"vars":{"x":"1"}}}]}`)
	imported := time.Now()
	for i, s := range []*server{n1, n2} {
		for {
			code, _, _ := post(client, s, "cli", `{}`)
			if code == 202 {
				break
			}
			if time.Since(imported) > 2*time.Second {
				t.Fatalf("node %d still answers %d 2 s after hookflow flows import", i+1, code)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}

	if code, out := n1.api("DELETE", "/api/v1/flows/live", c.tok, nil); code != 204 {
		t.Fatalf("delete the flow on node 1: %d %v", code, out)
	}
	deleted := time.Now()
	for {
		code, _, _ := post(client, n2, "live", `{"x":2}`)
		if code == 404 {
			break
		}
		if time.Since(deleted) > 2*time.Second {
			t.Fatalf("node 2 still answers %d 2 s after node 1 deleted the flow", code)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestClusterSecretLiveEverywhere: a secret set through node 1's API is used
// by node 2's runs, without a restart.
func TestClusterSecretLiveEverywhere(t *testing.T) {
	pg := startPG(t)
	flow := `{"id":"sec","name":"Secret","trigger":{"type":"webhook","with":{"respond":{"mode":"wait"}}},
	 "steps":[{"id":"s","type":"set","with":{"vars":{"ok":"{{ secrets.API_TOKEN == 'v2' }}"}}},
	          {"id":"r","type":"respond","with":{"status":200,"body":{"ok":"{{ vars.ok }}"}}}]}`
	c := newTestCluster(t, pg, 2, flow)
	n1, n2 := c.nodes[0], c.nodes[1]
	for _, v := range []string{"v1", "v2"} {
		if code, out := n1.api("PUT", "/api/v1/secrets/API_TOKEN", c.tok, map[string]string{"value": v}); code != 200 {
			t.Fatalf("set the secret on node 1: %d %v", code, out)
		}
	}
	saved := time.Now()
	for i, s := range []*server{n1, n2} {
		for {
			resp, err := http.Post("http://"+s.addr+"/hooks/sec", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode == 200 && out["ok"] == true {
				break
			}
			if time.Since(saved) > 2*time.Second {
				t.Fatalf("node %d does not see the secret set on node 1 2 s later: %d %v", i+1, resp.StatusCode, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestClusterKillNode: 16 clients post alternately to the nodes while one
// node after another is SIGKILLed (and restarted, but for the last kill).
// Then every 2xx has its run, every run succeeds, and the flow's side effect
// (an http POST to the test's sink, keyed run_id:step) ran once per run —
// except for runs found `running` on the killed node at a kill, which may run
// it once more per such kill (counted).
func TestClusterKillNode(t *testing.T) {
	pg := startPG(t)
	kills := 5
	if testing.Short() {
		kills = 2
	}
	cases := []struct {
		name  string
		nodes int
		short bool // runs in -short too
	}{
		{"two nodes", 2, true},
		{"three nodes", 3, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && !tc.short {
				t.Skip("-short: the two-node case only")
			}
			clusterKillNode(t, pg, tc.nodes, kills)
		})
	}
}

func clusterKillNode(t *testing.T, pg *pgtest.Cluster, nodes, kills int) {
	began := time.Now()
	sink := newSink(t, 0)
	flow := `{"id":"kill","name":"Kill test","trigger":{"type":"webhook"},"steps":[
		{"id":"s","type":"set","with":{"vars":{"n":"{{ trigger.body.n }}"}}},
		{"id":"post","type":"http","with":{"method":"POST","url":"` + sink.URL + `","idempotency":true,"body":{"n":"{{ vars.n }}"}},"retry":{"attempts":5,"backoff":"50ms"}}]}`
	c := newTestCluster(t, pg, nodes, flow)
	conn, err := pgx.Connect(t.Context(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	var mu sync.Mutex
	acked := map[string]bool{} // run ids answered 2xx
	addrs := make([]*server, nodes)
	copy(addrs, c.nodes)
	node := func(i int) *server { // the current process of node i
		mu.Lock()
		defer mu.Unlock()
		return addrs[i]
	}
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 3 * time.Second}
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				code, run, _ := post(client, node((w+i)%nodes), "kill", fmt.Sprintf(`{"n":%d}`, w*1_000_000+i))
				switch {
				case code == 202 && run != "":
					mu.Lock()
					acked[run] = true
					mu.Unlock()
				case code == 0 || code == 503:
					time.Sleep(10 * time.Millisecond) // down: not acknowledged
				}
			}
		})
	}

	// runningAt[id] counts the kills that found run id `running` on the killed node.
	runningAt := map[string]int{}
	lastRunning := 0 // runs found running at the last kill
	for k := range kills {
		time.Sleep(800 * time.Millisecond)
		victim := k % nodes
		s := node(victim)
		pid := s.cmd.Process.Pid
		s.kill()
		time.Sleep(100 * time.Millisecond) // a batch the node sent just before dying commits
		rows, err := conn.Query(t.Context(), `SELECT id FROM runs WHERE status = 'running' AND lease_owner LIKE $1`, fmt.Sprintf("%%-%d-%%", pid))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			runningAt[id]++
		}
		lastRunning = len(ids)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		t.Logf("kill %d: node %d (pid %d) SIGKILLed with %d runs running on it; %d webhooks acknowledged so far", k+1, victim, pid, len(ids), n)
		if k == kills-1 {
			break // the last node killed stays down: the others finish its runs
		}
		c.start(victim)
		mu.Lock()
		addrs[victim] = c.nodes[victim]
		mu.Unlock()
	}
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no webhook was acknowledged")
	}

	// Every acknowledged webhook's run succeeds (the dead node's after its
	// leases expire), read through a surviving node.
	alive := c.nodes[(kills-1+1)%nodes]
	deadline := time.Now().Add(45 * time.Second)
	for id := range acked {
		for {
			code, run := alive.api("GET", "/api/v1/runs/"+id, c.tok, nil)
			if code != 200 {
				t.Fatalf("acknowledged run %s lost: %d %v", id, code, run)
			}
			if run["status"] == "succeeded" {
				break
			}
			if run["status"] == "failed" || run["status"] == "canceled" || time.Now().After(deadline) {
				t.Fatalf("run %s did not succeed (found running at %d kills): %v %v", id, runningAt[id], run["status"], run["error"])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The last dead node's runs were taken over by the survivors, and their
	// /metrics count it (a restarted node's counters start again).
	takeovers := 0.0
	t.Run("takeovers counted in metrics", func(t *testing.T) {
		for i, s := range c.nodes {
			if i != (kills-1)%nodes {
				takeovers += metricValue(t, s, "hookflow_lease_takeovers_total")
			}
		}
		if lastRunning > 0 && takeovers < float64(lastRunning) {
			t.Errorf("survivors count %v lease takeovers; the last kill left %d runs running on the dead node, all finished since", takeovers, lastRunning)
		}
	})

	// The side effect: once per run, once more per kill that found the run running.
	calls := map[string]int{}
	for _, call := range sink.got() {
		calls[call.key]++
	}
	again := 0
	for id := range acked {
		n := calls[id+":post"]
		switch {
		case n == 0:
			t.Errorf("run %s succeeded but its http step never reached the sink", id)
		case n > 1+runningAt[id]:
			t.Errorf("run %s called the sink %d times; it was found running at %d kills", id, n, runningAt[id])
		case n > 1:
			again += n - 1
		}
	}
	running := 0
	for _, n := range runningAt {
		running += n
	}
	t.Logf("%d nodes, %d kills: %d webhooks acknowledged, all succeeded; %d runs found running at a kill, %d side effects ran again (allowed: those), %d sink calls; %v lease takeovers after the last kill; %s",
		nodes, kills, len(acked), running, again, len(sink.got()), takeovers, time.Since(began).Round(time.Millisecond))
}

// metricValue reads one unlabelled counter or gauge from a node's /metrics.
func metricValue(t *testing.T, s *server, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics of %s has no %s (status %d)", s.addr, name, resp.StatusCode)
	return 0
}

// TestClusterCronOnce: a 6-field cron firing every second, on three nodes:
// each instant starts exactly one run.
func TestClusterCronOnce(t *testing.T) {
	pg := startPG(t)
	flow := `{"id":"tick","name":"Tick","trigger":{"type":"schedule","with":{"cron":"* * * * * *"}},
	 "steps":[{"id":"s","type":"set","with":{"vars":{"at":"{{ trigger.body.scheduled_at }}"}}}]}`
	c := newTestCluster(t, pg, 3, flow)
	time.Sleep(4500 * time.Millisecond)
	// stop the schedule, then count
	if code, out := c.nodes[0].api("DELETE", "/api/v1/flows/tick", c.tok, nil); code != 204 {
		t.Fatalf("delete the flow: %d %v", code, out)
	}
	time.Sleep(1500 * time.Millisecond)
	runs := flowRuns(t, c.nodes[2], c.tok, "tick")
	byInstant := map[string][]string{}
	for _, r := range runs {
		id := r["id"].(string)
		code, run := c.nodes[1].api("GET", "/api/v1/runs/"+id, c.tok, nil)
		if code != 200 {
			t.Fatalf("run %s: %d %v", id, code, run)
		}
		trig, _ := run["trigger"].(map[string]any)
		body, _ := trig["body"].(map[string]any)
		at, _ := body["scheduled_at"].(string)
		if at == "" {
			t.Fatalf("run %s has no scheduled_at: %v", id, trig)
		}
		byInstant[at] = append(byInstant[at], id)
	}
	if len(byInstant) < 3 {
		t.Fatalf("%d instants fired in about 4.5 s, want at least 3: %v", len(byInstant), byInstant)
	}
	for at, ids := range byInstant {
		if len(ids) != 1 {
			t.Errorf("instant %s fired %d runs: %v", at, len(ids), ids)
		}
	}
	t.Logf("%d instants, %d runs on 3 nodes", len(byInstant), len(runs))
}

// TestClusterKeyMismatch: a node whose secret key differs from the one the
// database was created with refuses to start, naming the cause, while the
// first node serves.
func TestClusterKeyMismatch(t *testing.T) {
	pg := startPG(t)
	c := newTestCluster(t, pg, 1)
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"another key", []string{"HOOKFLOW_SECRET_KEY=" + strings.Repeat("x", 44)}, "does not match"},
		{"no key", []string{"HOOKFLOW_SECRET_KEY="}, "does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"HOOKFLOW_STORE=" + c.db}, tc.env...)
			out, errOut, code := cliEnv(t, t.TempDir(), "", env, "serve", "--addr", freeAddr(t))
			if code == 0 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "every node") {
				t.Fatalf("second node: exit %d, want non-zero and %q: %s %s", code, tc.want, out, errOut)
			}
			if strings.Contains(errOut, pgtest.Password) || strings.Contains(errOut, clusterKey) {
				t.Fatalf("the message holds a secret: %s", errOut)
			}
			t.Logf("second node: exit %d: %s", code, strings.TrimSpace(errOut))
		})
	}
	if resp, err := http.Get("http://" + c.nodes[0].addr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the first node after the refusals: %v %v", resp, err)
	}
}

// TestClusterDatabaseDown: with PostgreSQL down, both nodes answer webhooks
// 503 with Retry-After and fail /healthz; when it is back, they take webhooks
// again and the runs acknowledged before (waiting in a delay) finish.
func TestClusterDatabaseDown(t *testing.T) {
	pg := startPG(t)
	flow := `{"id":"slow","name":"Slow","trigger":{"type":"webhook"},
	 "steps":[{"id":"wait","type":"delay","with":{"for":"1500ms"}},{"id":"count","type":"store","with":{"operation":"increment","key":"slow","by":1}}]}`
	c := newTestCluster(t, pg, 2, flow)
	client := &http.Client{Timeout: 5 * time.Second}
	var before []string
	for i := range 10 {
		code, run, _ := post(client, c.nodes[i%2], "slow", `{}`)
		if code != 202 {
			t.Fatalf("webhook %d before the outage: %d", i, code)
		}
		before = append(before, run)
	}

	pg.Pause()
	resumed := false
	defer func() {
		if !resumed {
			_ = pg.Resume()
		}
	}()
	for i, s := range c.nodes {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/slow", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("node %d with the database down: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("node %d webhook with the database down: %d, Retry-After %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp, err := http.Get("http://" + s.addr + "/healthz"); err != nil || resp.StatusCode == 200 {
			t.Fatalf("node %d /healthz with the database down: %v %v", i, resp, err)
		}
	}
	time.Sleep(2 * time.Second) // the delays end while the database is down

	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	back := time.Now()
	var after []string
	for i, s := range c.nodes {
		for {
			code, run, _ := post(client, s, "slow", `{}`)
			if code == 202 {
				after = append(after, run)
				break
			}
			if time.Since(back) > 15*time.Second {
				t.Fatalf("node %d still refuses webhooks 15 s after the database returned: %d", i, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.waitSucceeded(append(before, after...), 30*time.Second)
	if v := kvValue(t, c.nodes[1], c.tok, "slow"); v != float64(len(before)+len(after)) {
		t.Fatalf("the step counted %v runs, want %d", v, len(before)+len(after))
	}
	for i, s := range c.nodes {
		if resp, err := http.Get("http://" + s.addr + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("node %d /healthz after the database returned: %v %v", i, resp, err)
		}
	}
}
