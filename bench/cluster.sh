#!/usr/bin/env bash
# cluster.sh: several hookflow nodes on one throwaway PostgreSQL. For each
# node count in NODES (default "1 2"): a fresh database, N nodes with the same
# secret key, hookflow-load -c CLIENTS -d DURATION round robin over the nodes
# (e2e on: the load flows post to the tool's sink), then acked/s, completed
# runs/s, p99 ack, and from pg_stat_database and /proc the database commits and
# rows per run and the CPU per run of each node and of PostgreSQL.
#
#   bench/cluster.sh                               # 1 then 2 nodes, 64 clients, 10 s
#   NODES="1 2 3" CLIENTS=32 DURATION=5s bench/cluster.sh
#
# PostgreSQL: Debian's server binaries (/usr/lib/postgresql/*/bin, or
# HOOKFLOW_PG_BIN), initdb into $WORK/pg (as the postgres user when run as
# root), listening on 127.0.0.1 only, stopped by its pid at the end (like
# engine/pgstore/pgtest). Bounded: each load runs DURATION plus at most DRAIN.
source "$(dirname "$0")/lib.sh"

NODES=${NODES:-"1 2"}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10s}
DRAIN=${DRAIN:-60s}
KEY=hookflow-bench-cluster-key-0123456789abcdef
PGDIR=$WORK/pg
PG_PID=
NODE_PIDS=()

# pg_bin finds the newest server binaries.
pg_bin() {
	if [ -n "${HOOKFLOW_PG_BIN:-}" ]; then
		echo "$HOOKFLOW_PG_BIN"
		return
	fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1)
	[ -x "$d/initdb" ] || {
		echo "PostgreSQL server binaries not found (apt-get install -y postgresql, or set HOOKFLOW_PG_BIN)" >&2
		exit 2
	}
	echo "$d"
}

# as_pg runs a command as the postgres user when this script runs as root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# stop_pg stops the postmaster by its pid (fast shutdown) and waits for it.
stop_pg() {
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PG_PID" 2>/dev/null || true
	PG_PID=
}

cluster_cleanup() {
	stop_nodes
	cleanup
	stop_pg
	[ "${KEEP:-}" = 1 ] || rm -rf "$PGDIR"
}
trap cluster_cleanup EXIT

start_pg() {
	local bin
	bin=$(pg_bin)
	mkdir -p "$PGDIR/sock"
	chmod 755 "$WORK" "$PGDIR"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$PGDIR"
	as_pg "$bin/initdb" -D "$PGDIR/data" -U postgres --auth-host=trust --auth-local=trust -E UTF8 \
		--no-instructions >"$WORK/initdb.log" 2>&1
	PG_PORT=$(free_port)
	as_pg "$bin/pg_ctl" start -w -t 60 -D "$PGDIR/data" -l "$PGDIR/log" \
		-o "-p $PG_PORT -k $PGDIR/sock -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
	PG_PID=$(head -1 "$PGDIR/data/postmaster.pid")
	PG_VERSION=$("$bin/postgres" --version)
}

# psql_q SQL runs one query on database postgres and prints the result unaligned.
psql_q() {
	psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$1"
}

# cpu_ticks PID prints the process's user+system CPU in clock ticks, with
# its waited-for children's (cutime, cstime) when CHILDREN=1.
cpu_ticks() {
	awk -v c="${CHILDREN:-0}" '{ sub(/^.*\) /, ""); t = $12 + $13; if (c == 1) t += $14 + $15; print t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# pg_ticks prints the CPU of the postmaster, its reaped children and its live children.
pg_ticks() {
	local total kids
	total=$(CHILDREN=1 cpu_ticks "$PG_PID")
	for kids in $(ps -o pid= --ppid "$PG_PID"); do
		total=$((total + $(cpu_ticks "$kids")))
	done
	echo "$total"
}

# db_stats DB prints "commits inserted updated deleted" of the database.
db_stats() {
	psql_q "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = '$1'" | tr '|' ' '
}

stop_nodes() {
	local pid
	for pid in "${NODE_PIDS[@]:-}"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${NODE_PIDS[@]:-}"; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null || true
	done
	NODE_PIDS=()
}

build
machine
start_pg
echo "postgresql: $PG_VERSION on 127.0.0.1:$PG_PORT (synchronous_commit $(psql_q 'SHOW synchronous_commit'))"
TICK=$(getconf CLK_TCK)
started=$SECONDS
printf '%-6s %9s %11s %9s %9s %12s %12s %14s %14s\n' nodes "acked/s" "completed/s" "p99 ack" "missing" "commits/run" "rows/run" "node CPU ms/run" "pg CPU ms/run"

for n in $NODES; do
	db=bench_${n}_nodes
	psql_q "CREATE DATABASE $db" >/dev/null
	url="postgres://postgres@127.0.0.1:$PG_PORT/$db?sslmode=disable"
	# The load flows' Stripe secret, stored before the nodes start: a secret
	# set through one node's API is not re-read by the others while they run
	# (found by this bench; see docs/scaling.md).
	HOOKFLOW_DATA=$WORK/data/setup-$n HOOKFLOW_STORE=$url HOOKFLOW_SECRET_KEY=$KEY \
		"$BIN/hookflow" secrets set LOAD_STRIPE_WHSEC whsec_hookflow_load_test >/dev/null
	targets=()
	for i in $(seq "$n"); do
		port=$(free_port)
		data=$WORK/data/$n-$i
		mkdir -p "$data"
		HOOKFLOW_DATA=$data HOOKFLOW_STORE=$url HOOKFLOW_SECRET_KEY=$KEY "$BIN/hookflow" serve \
			--addr "127.0.0.1:$port" --base-url "http://127.0.0.1:$port" --allow-nets 127.0.0.0/8 \
			>>"$WORK/node-$n-$i.log" 2>&1 &
		NODE_PIDS+=("$!")
		PIDS+=("$!")
		wait_healthy "http://127.0.0.1:$port/healthz"
		targets+=("http://127.0.0.1:$port")
	done
	token=$(HOOKFLOW_DATA=$WORK/data/$n-1 HOOKFLOW_STORE=$url HOOKFLOW_SECRET_KEY=$KEY "$BIN/hookflow" token create --name bench)
	target=$(
		IFS=,
		echo "${targets[*]}"
	)
	sink=127.0.0.1:$(free_port)
	# Setup (the load flows, through the first node) and one webhook per node,
	# then a pause: a flow saved on one node reaches the others within a second.
	"$BIN/hookflow-load" -target "$target" -token "$token" -sink-addr "$sink" -c 1 -n "$n" -d 10s -drain 10s >/dev/null
	sleep 2 # and statistics of the setup flushed
	read -r c0 i0 u0 d0 < <(db_stats "$db")
	node0=0
	for pid in "${NODE_PIDS[@]}"; do node0=$((node0 + $(cpu_ticks "$pid"))); done
	pg0=$(pg_ticks)
	out=$WORK/load-$n.json
	"$BIN/hookflow-load" -target "$target" -setup=false -sink-addr "$sink" -c "$CLIENTS" -d "$DURATION" -drain "$DRAIN" -json >"$out"
	sleep 2 # pg_stat_database is flushed by the backends about once a second
	read -r c1 i1 u1 d1 < <(db_stats "$db")
	node1=0
	for pid in "${NODE_PIDS[@]}"; do node1=$((node1 + $(cpu_ticks "$pid"))); done
	pg1=$(pg_ticks)
	stop_nodes
	# rows per table over the whole life of this database (setup included)
	psql -X -q -A -t -F' ' -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
		FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname" >"$WORK/tables-$n.txt"

	acked=$(json_field acked_per_sec <"$out")
	p99=$(grep -o '"ack_latency_ms":{[^}]*}' "$out" | json_field p99)
	reached=$(json_field reached <"$out")
	completed=$(json_field completed_per_sec <"$out")
	missing=$(json_field missing <"$out")
	awk -v n="$n" -v a="$acked" -v c="$completed" -v p="$p99" -v m="$missing" -v r="$reached" \
		-v dc=$((c1 - c0)) -v di=$((i1 - i0)) -v du=$((u1 - u0)) -v dd=$((d1 - d0)) \
		-v nc=$((node1 - node0)) -v pc=$((pg1 - pg0)) -v tick="$TICK" 'BEGIN {
		r = (r > 0 ? r : 1)
		printf "%-6s %9.0f %11.0f %7.1fms %9d %12.2f %12s %14.3f %14.3f\n", n, a, c, p, m, dc / r,
			sprintf("%.1f+%.1f+%.1f", di / r, du / r, dd / r), 1000 * nc / tick / r, 1000 * pc / tick / r
	}'
	echo "       rows by table (inserted updated hot-updated deleted): $(awk '{printf "%s%s %s/%s/%s/%s", sep, $1, $2, $3, $4, $5; sep="; "}' "$WORK/tables-$n.txt")"
	echo "       errors: $(grep -o '"errors":{[^}]*}' "$out"); $(grep -o '"acked_per_target":{[^}]*}' "$out" || echo "one target")"
done
echo "rows/run: inserted+updated+deleted per completed run; node CPU: all nodes of the line together"
echo "cluster bench: $CLIENTS clients, $DURATION per node count, $((SECONDS - started))s in all; reports in $WORK"
