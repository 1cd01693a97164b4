# Shared helpers for the bench scripts (sourced, not run).
# Everything listens on 127.0.0.1 and every process started here is stopped
# by its own pid on exit. Reports stay in $WORK; binaries and the data dir are
# removed unless KEEP=1.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/hookflow-bench.XXXXXX)}
BIN=$WORK/bin
PIDS=()

cleanup() {
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ "${KEEP:-}" = 1 ] || rm -rf "$WORK/bin" "$WORK/data"
}
trap cleanup EXIT

# build compiles hookflow, hookflow-load and the baseline into $BIN.
# HOOKFLOW_BIN uses that hookflow binary instead (to compare two builds with
# the same load tool: bench/ab.sh).
build() {
	mkdir -p "$BIN"
	if [ -n "${HOOKFLOW_BIN:-}" ]; then
		cp "$HOOKFLOW_BIN" "$BIN/hookflow"
	else
		(cd "$ROOT" && go build -o "$BIN/hookflow" ./cmd/hookflow)
	fi
	(cd "$ROOT" && go build -o "$BIN/hookflow-load" ./cmd/hookflow-load &&
		go build -o "$BIN/baseline" ./bench/baseline)
}

# free_port prints a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

# wait_healthy URL waits up to 15 s for URL to answer 200.
wait_healthy() {
	for _ in $(seq 150); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

# wait_listening PORT waits up to 15 s for any HTTP answer on 127.0.0.1:PORT.
wait_listening() {
	for _ in $(seq 150); do
		curl -sS -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# start_hookflow DATA PORT starts the server in the background; SERVER_PID is set.
# SERVER_ARGS adds flags (e.g. SERVER_ARGS="--workers 8").
start_hookflow() {
	HOOKFLOW_DATA=$1 "$BIN/hookflow" serve --addr "127.0.0.1:$2" --base-url "http://127.0.0.1:$2" \
		--allow-nets 127.0.0.0/8 ${SERVER_ARGS:-} >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_healthy "http://127.0.0.1:$2/healthz"
}

# json_field NAME prints the first numeric value of "NAME": in stdin.
json_field() {
	grep -o "\"$1\":[0-9.e+-]*" | head -1 | cut -d: -f2
}

# machine prints what the numbers were measured on.
machine() {
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -h | awk '/^Mem:/ {print $2 " RAM"}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
