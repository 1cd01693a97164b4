#!/usr/bin/env bash
# profile.sh measures the CPU a webhook costs, by phase: it starts the server
# with HOOKFLOW_PPROF, warms up for 2 s, then profiles the load tool's
# workload (CLIENTS closed-loop clients for DURATION, every run to the sink)
# for PROFILE seconds, and splits the profile with bench/budget.py.
#
#   bench/profile.sh                       # 64 clients, 10 s, profile 18 s
#   CLIENTS=16 DURATION=5s PROFILE=12 bench/profile.sh
#   LOAD_ARGS="-drain 1s" SERVER_ARGS="--workers 1" FORM=0 bench/profile.sh
#                                          # ingest alone (the runs wait)
#   RATE=1000 bench/profile.sh             # open loop at 1,000 webhooks/s: the same
#                                          # work for every build compared (batches
#                                          # and queues depend on the rate)
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-64}
PROFILE=${PROFILE:-18}
FORM=${FORM:-0.2}
RATE=${RATE:-}
LOAD=(-c "$CLIENTS")
SHAPE="$CLIENTS clients"
if [ -n "$RATE" ]; then
	LOAD=(-rate "$RATE")
	SHAPE="$RATE webhooks/s"
fi

build
machine
DATA=$WORK/data
PORT=$(free_port)
PPROF=$(free_port)
TOKEN=$(HOOKFLOW_DATA=$DATA "$BIN/hookflow" token create --name bench)
HOOKFLOW_PPROF=127.0.0.1:$PPROF start_hookflow "$DATA" "$PORT"
"$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" -c 16 -d 2s -form "$FORM" >/dev/null
sleep 1
# commits: the store's group-commit histogram (count = commits, sum = writes)
commits() {
	curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" |
		awk '/^hookflow_store_commit_batch_size_(count|sum)/ { printf "%s ", $2 }'
}
c0=$(commits)
cpu0=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
curl -fsS -o "$WORK/cpu.pprof" "http://127.0.0.1:$PPROF/debug/pprof/profile?seconds=$PROFILE" &
CURL_PID=$!
sleep 0.2
echo "== hookflow, $SHAPE, $DURATION, profiled for ${PROFILE}s (the load and the drain must fit)"
"$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" "${LOAD[@]}" -d "$DURATION" \
	-form "$FORM" -pid "$SERVER_PID" -out "$WORK/profile.json" ${LOAD_ARGS:-}
wait "$CURL_PID"
cpu1=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
c1=$(commits)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
n=$(json_field acked <"$WORK/profile.json")
awk -v t=$((cpu1 - cpu0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "server CPU over the profile (/proc): %.0f µs per webhook\n", 1e6*t/hz/n }'
echo "$c0 $c1" | awk -v n="$n" '{ w = $3 - $1; c = $4 - $2; if (c > 0) printf "store commits: %d (%.2f per webhook), %.1f writes per commit\n", c, c / n, w / c }'
python3 "$ROOT/bench/budget.py" "$BIN/hookflow" "$WORK/cpu.pprof" "$n"
cp "$BIN/hookflow" "$WORK/hookflow.bin" # pprof needs the binary: go tool pprof $WORK/hookflow.bin $WORK/cpu.pprof
echo "profile and JSON report in $WORK"
