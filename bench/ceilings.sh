#!/usr/bin/env bash
# ceilings.sh puts Hookflow's ingest next to the simplest receivers, in one
# sitting with one load tool (64 closed-loop clients, DURATION each, Stripe
# JSON events only), one server at a time:
#   bare-fiber        bench/baseline: parse JSON, 202
#   ceiling-raw       ../shared/bench/ceiling -mode raw (skipped if absent)
#   ceiling-durable   ../shared/bench/ceiling -mode durable: Fiber + bbolt group commit
#   hookflow-ingest   hookflow --workers 1: ingest alone (the runs wait; one worker drains)
#   hookflow          hookflow at its defaults: ingest and execution together
#
#   bench/ceilings.sh
#   ROUNDS=2 DURATION=5s bench/ceilings.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-1}
CEILING=${CEILING:-$ROOT/../shared/bench/ceiling}

build
machine
if [ -d "$CEILING" ]; then
	(cd "$CEILING" && go build -o "$BIN/ceiling" .)
fi

# measure NAME PID PORT [load args]: one 64-client run, then the server stops.
measure() {
	local name=$1 pid=$2 port=$3 out
	shift 3
	out=$("$BIN/hookflow-load" -target "http://127.0.0.1:$port" "$@" -form 0 -c 64 -d "$DURATION" -pid "$pid" 2>&1)
	printf '%-16s %s  %s\n' "$name" "$(echo "$out" | awk '/^acknowledged/ { print $3 }' | tr -d '(')" \
		"$(echo "$out" | sed -n 's/^ack latency ms *//p')"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	sleep 2
}

echo "64 clients, $DURATION each, Stripe JSON only; acked/s and ack latency (ms)"
for r in $(seq "$ROUNDS"); do
	P=$(free_port)
	"$BIN/baseline" -addr "127.0.0.1:$P" >>"$WORK/baseline.log" 2>&1 &
	pid=$!
	wait_listening "$P"
	measure bare-fiber "$pid" "$P" -baseline
	if [ -x "$BIN/ceiling" ]; then
		for mode in raw durable; do
			P=$(free_port)
			rm -rf "$WORK/ceiling" && mkdir -p "$WORK/ceiling"
			(cd "$WORK/ceiling" && exec "$BIN/ceiling" -mode "$mode" -addr "127.0.0.1:$P" >>"$WORK/ceiling.log" 2>&1) &
			pid=$!
			wait_listening "$P"
			measure "ceiling-$mode" "$pid" "$P" -baseline
		done
	fi
	for name in hookflow-ingest hookflow; do
		args="" drain=60s
		[ "$name" = hookflow-ingest ] && args="--workers 1" drain=1s
		DATA=$WORK/data/$r-$name
		PORT=$(free_port)
		TOKEN=$(HOOKFLOW_DATA=$DATA "$BIN/hookflow" token create --name bench)
		SERVER_ARGS="$args" start_hookflow "$DATA" "$PORT"
		"$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" -c 16 -d 1s -form 0 >/dev/null
		sleep 2
		measure "$name" "$SERVER_PID" "$PORT" -token "$TOKEN" -drain "$drain"
	done
done
echo "reports in $WORK"
