#!/usr/bin/env bash
# e2e.sh measures end to end at fixed rates (open loop): webhook sent → the
# flow's http step reached the load tool's sink, with the server's RSS. It
# first reads the idle RSS of a fresh server.
#
#   bench/e2e.sh                        # 1000 2000 3000 webhooks/s, 10 s each
#   RATES="500" DURATION=3s bench/e2e.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10s}
RATES=${RATES:-"1000 2000 3000"}
FORM=${FORM:-0.2}

build
machine
DATA=$WORK/data
PORT=$(free_port)
TOKEN=$(HOOKFLOW_DATA=$DATA "$BIN/hookflow" token create --name bench)
start_hookflow "$DATA" "$PORT"
sleep 2
echo "idle RSS of a fresh server: $(grep -E '^(VmRSS|RssAnon|RssFile)' /proc/$SERVER_PID/status | tr -s ' \t' ' ' | paste -sd, -)"

for r in $RATES; do
	echo "== hookflow, $r webhooks/s, $DURATION"
	"$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" -rate "$r" -d "$DURATION" \
		-form "$FORM" -pid "$SERVER_PID" -out "$WORK/e2e-$r.json"
	sleep 2 # let the server settle between rates
done
echo "after the load: $(grep -E '^(VmRSS|RssAnon|RssFile)' /proc/$SERVER_PID/status | tr -s ' \t' ' ' | paste -sd, -)"
echo "JSON reports in $WORK"
