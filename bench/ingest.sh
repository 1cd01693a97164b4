#!/usr/bin/env bash
# ingest.sh measures durable ingest: the hookflow server at 1, 16 and 64
# concurrent clients (CLIENTS), then a bare Fiber handler (bench/baseline) at
# 64, and prints the ratio hookflow / baseline at 64 clients.
#
#   bench/ingest.sh                 # 10 s per step
#   DURATION=3s CLIENTS="64" bench/ingest.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-"1 16 64"}
BASE_CLIENTS=${BASE_CLIENTS:-64}
FORM=${FORM:-0.2}

build
machine
DATA=$WORK/data
PORT=$(free_port)
TOKEN=$(HOOKFLOW_DATA=$DATA "$BIN/hookflow" token create --name bench)
start_hookflow "$DATA" "$PORT"

for c in $CLIENTS; do
	echo "== hookflow, $c clients, $DURATION"
	"$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" -c "$c" -d "$DURATION" \
		-form "$FORM" -pid "$SERVER_PID" -out "$WORK/hookflow-$c.json"
done

BPORT=$(free_port)
"$BIN/baseline" -addr "127.0.0.1:$BPORT" >>"$WORK/baseline.log" 2>&1 &
BASE_PID=$!
PIDS+=("$BASE_PID")
wait_listening "$BPORT"
echo "== bare Fiber baseline, $BASE_CLIENTS clients, $DURATION"
"$BIN/hookflow-load" -target "http://127.0.0.1:$BPORT" -baseline -form "$FORM" -c "$BASE_CLIENTS" -d "$DURATION" \
	-pid "$BASE_PID" -out "$WORK/baseline.json"

hf=$(json_field acked_per_sec <"$WORK/hookflow-$BASE_CLIENTS.json" || echo 0)
base=$(json_field acked_per_sec <"$WORK/baseline.json")
awk -v h="$hf" -v b="$base" 'BEGIN { printf "ratio at %s clients: hookflow %.0f/s / baseline %.0f/s = %.1f%% (target >= 50%%)\n", '"$BASE_CLIENTS"', h, b, 100*h/b }'
echo "JSON reports in $WORK"
