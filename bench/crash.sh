#!/usr/bin/env bash
# crash.sh: ITERATIONS times, load the server, SIGKILL it at a random moment,
# restart it on the same data dir, send again what got no 2xx (as a provider
# would), and verify that every acknowledged webhook has exactly one run whose
# trigger.body matches the body sent (sha256 of canonical JSON) and that every
# run reaches a final status. Bounded: at most TIME_LIMIT seconds in all.
#
#   bench/crash.sh                        # 5 iterations
#   ITERATIONS=2 CLIENTS=8 bench/crash.sh # the CI form
source "$(dirname "$0")/lib.sh"

ITERATIONS=${ITERATIONS:-5}
CLIENTS=${CLIENTS:-16}
KILL_MIN_MS=${KILL_MIN_MS:-300}  # the kill comes between these after the load starts
KILL_MAX_MS=${KILL_MAX_MS:-3000}
TIME_LIMIT=${TIME_LIMIT:-600}

build
machine
DATA=$WORK/data
PORT=$(free_port)
SINK="127.0.0.1:$(free_port)"
TOKEN=$(HOOKFLOW_DATA=$DATA "$BIN/hookflow" token create --name crash)
LOAD=("$BIN/hookflow-load" -target "http://127.0.0.1:$PORT" -token "$TOKEN" -sink-addr "$SINK")
started=$SECONDS
total_acked=0 total_resent=0 total_checked=0 total_final=0 failed=0
start_hookflow "$DATA" "$PORT"
setup=true

for i in $(seq "$ITERATIONS"); do
	if ((SECONDS - started > TIME_LIMIT)); then
		echo "time limit of ${TIME_LIMIT}s reached after $((i - 1)) iterations"
		break
	fi
	rec=$WORK/record-$i.jsonl
	"${LOAD[@]}" -setup=$setup -c "$CLIENTS" -d 30s -drain 1ms -record "$rec" -out "$WORK/load-$i.json" >/dev/null &
	load_pid=$!
	PIDS+=("$load_pid")
	setup=false
	delay_ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS + 1)))
	sleep "$(awk -v ms=$delay_ms 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	kill -TERM "$load_pid"
	wait "$load_pid" || true

	start_hookflow "$DATA" "$PORT"
	if "$BIN/hookflow-load" verify -target "http://127.0.0.1:$PORT" -token "$TOKEN" -sink-addr "$SINK" \
		-record "$rec" -wait 120s -json >"$WORK/verify-$i.json"; then
		verdict=ok
	else
		verdict=FAILED
		failed=$((failed + 1))
	fi
	v=$WORK/verify-$i.json
	acked=$(json_field acked <"$v") resent=$(json_field resent <"$v")
	checked=$(json_field checked <"$v") final=$(json_field final <"$v")
	echo "iteration $i: killed after ${delay_ms}ms; acked $acked, resent $resent, checked $checked, final $final: $verdict"
	[ "$verdict" = ok ] || cat "$v"
	total_acked=$((total_acked + acked)) total_resent=$((total_resent + resent))
	total_checked=$((total_checked + checked)) total_final=$((total_final + final))
done

echo "crash test: $i iterations in $((SECONDS - started))s; acknowledged $total_acked, sent again $total_resent," \
	"runs checked $total_checked, final $total_final, failed iterations $failed"
[ "$failed" -eq 0 ]
