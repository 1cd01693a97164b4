#!/usr/bin/env bash
# ab.sh compares the CPU a webhook costs in two builds: it builds REV (default
# HEAD) and the working tree, then runs bench/profile.sh on each in turn,
# ROUNDS times (A B A B …), at a fixed RATE so that both do the same work,
# and prints each run's per-phase budget and the server CPU from /proc.
#
#   bench/ab.sh                          # HEAD against the working tree, 2 rounds at 3,000/s
#   REV=HEAD~3 ROUNDS=3 RATE=2000 bench/ab.sh
#   RATE= bench/ab.sh                    # closed loop: 64 clients (CLIENTS), as fast as it goes
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=${REV:-HEAD}
ROUNDS=${ROUNDS:-2}
export RATE=${RATE-3000} DURATION=${DURATION:-10s} PROFILE=${PROFILE:-16}
OUT=$(mktemp -d /tmp/hookflow-ab.XXXXXX)
git -C "$ROOT" worktree add -q --detach "$OUT/a-src" "$REV"
trap 'git -C "$ROOT" worktree remove --force "$OUT/a-src"' EXIT
(cd "$OUT/a-src" && go build -o "$OUT/a" ./cmd/hookflow)
(cd "$ROOT" && go build -o "$OUT/b" ./cmd/hookflow)
echo "A = $REV ($(git -C "$ROOT" rev-parse --short "$REV")), B = the working tree; $ROUNDS rounds at ${RATE:-${CLIENTS:-64} clients} ${RATE:+webhooks/s}"
for i in $(seq "$ROUNDS"); do
	for v in a b; do
		echo "=== round $i, ${v^^}"
		HOOKFLOW_BIN=$OUT/$v "$ROOT/bench/profile.sh" >"$OUT/$v-$i.txt" 2>&1
		grep -E '^(machine|acknowledged|completed|server CPU|store commits|\| )' "$OUT/$v-$i.txt"
	done
done
echo "reports in $OUT"
