#!/usr/bin/env bash
# Full resync from a base: what a replica restarted with an empty data directory is
# sent, in a 3-node cluster whose history is many times its data.
#
#   bench/resync.sh [--keys N] [--overwrites R] [--rounds N]
#
# Loads N keys (default 200,000; 16-byte keys, 64-byte values) into the master, then
# overwrites every key R times (default 9), so the replication stream holds R + 1
# copies of the data. Then, per round: stop a replica, empty its data directory,
# start it, and wait until it holds the master's offset. Reported per round, as
# medians: the replication bytes the replica read (`total_net_repl_input_bytes`), the
# size of the base it was sent (`aof_base_size`), their ratio (target: at most 1.5),
# the history (`master_repl_offset`), and how long the resync took.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=200000
OVERWRITES=9
ROUNDS=${ROUNDS:-3}
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS="$2"; shift 2 ;;
    --overwrites) OVERWRITES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "usage: $0 [--keys N] [--overwrites R] [--rounds N]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-cli awk

BASE_PORT=17401
NODES=3
SYNC_WAIT_S=600
declare -A PID=()

config() {
  local i=$1 peers=""
  for j in $(seq 0 $((NODES - 1))); do
    [ "$j" = "$i" ] || peers="$peers  - 127.0.0.1:$((BASE_PORT + 10000 + j))"$'\n'
  done
  cat <<EOF
host: 127.0.0.1
port: $((BASE_PORT + i))
clusterPort: $((BASE_PORT + 10000 + i))
dataPath: $WORK/node$i
appendfsync: everysec
clusterNodes:
$peers
EOF
}

start_node() {
  BUCKET_LOG=warn "$BIN" "$WORK/node$1.yml" 2>>"$WORK/node$1.log" &
  PID[$1]=$!
  PIDS+=("${PID[$1]}")
}

stop_node() {
  kill -TERM "${PID[$1]}"
  wait "${PID[$1]}" || true
}

info() { { redis-cli -p "$((BASE_PORT + $1))" INFO everything 2>/dev/null || true; } | tr -d '\r'; }
field() { info "$1" | awk -F: -v f="$2" '$1 == f { print $2 }'; }

for i in $(seq 0 $((NODES - 1))); do
  config "$i" > "$WORK/node$i.yml"
  start_node "$i"
done
for i in $(seq 0 $((NODES - 1))); do wait_port $((BASE_PORT + i)); done
# The master, once it feeds every replica (an early master may still lose its reign).
MASTER=""
for _ in $(seq 1 400); do
  for i in $(seq 0 $((NODES - 1))); do
    if [ "$(field "$i" role)" = master ] && [ "$(field "$i" connected_slaves)" = $((NODES - 1)) ]; then
      MASTER=$i
    fi
  done
  [ -n "$MASTER" ] && break
  sleep 0.05
done
[ -n "$MASTER" ] || { echo "no master" >&2; exit 1; }

for pass in $(seq 0 "$OVERWRITES"); do
  out=$(awk -v n="$KEYS" -v pass="$pass" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$64\r\n%02d%062d\r\n", i, pass, i
  }' | redis-cli -p $((BASE_PORT + MASTER)) --pipe 2>&1 || true)
  grep -q "errors: 0," <<<"$out" || { echo "loading pass $pass: $out" >&2; exit 1; }
done
echo "loaded $KEYS keys $((OVERWRITES + 1)) times into node $MASTER" >&2

REPLICA=$(( (MASTER + 1) % NODES ))
RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  stop_node "$REPLICA"
  rm -rf "$WORK/node$REPLICA"
  started=$(date +%s%3N)
  start_node "$REPLICA"
  wait_port $((BASE_PORT + REPLICA))
  deadline=$(( $(date +%s) + SYNC_WAIT_S ))
  while :; do
    target=$(field "$MASTER" master_repl_offset)
    [ "$(field "$REPLICA" master_link_status)" = up ] &&
      [ "$(field "$REPLICA" master_repl_offset)" = "$target" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || { echo "replica never caught up" >&2; exit 1; }
    sleep 0.05
  done
  took=$(( $(date +%s%3N) - started ))
  read_bytes=$(field "$REPLICA" total_net_repl_input_bytes)
  base=$(field "$REPLICA" aof_base_size)
  echo "$read_bytes $base $target $took" >> "$RESULTS"
  echo "round $round of $ROUNDS: $read_bytes bytes read, base $base, history $target, ${took} ms" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" '{ print $c }' "$RESULTS" | median; }
read_mb=$(awk -v b="$(col 1)" 'BEGIN { printf "%.1f", b / 1048576 }')
base_mb=$(awk -v b="$(col 2)" 'BEGIN { printf "%.1f", b / 1048576 }')
history_mb=$(awk -v b="$(col 3)" 'BEGIN { printf "%.1f", b / 1048576 }')
ratio=$(awk '{ print $1 / $2 }' "$RESULTS" | median)
echo
echo "Full resync of an emptied replica: $KEYS keys written $((OVERWRITES + 1)) times; medians of $ROUNDS rounds"
printf "%-40s %12s\n" "history (replication offset, MB)" "$history_mb"
printf "%-40s %12s\n" "base sent (MB)" "$base_mb"
printf "%-40s %12s\n" "replication bytes read (MB)" "$read_mb"
printf "%-40s %12.2f\n" "bytes read / base (target <= 1.5)" "$ratio"
printf "%-40s %12s\n" "resync until caught up (ms)" "$(col 4)"
