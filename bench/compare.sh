#!/usr/bin/env bash
# Bucket vs Redis, side by side on this machine, with redis-benchmark on loopback.
#
#   bench/compare.sh              one Bucket node vs one Redis, both with an AOF fsynced
#                                 every second
#   bench/compare.sh --replicas 2 a 3-node Bucket cluster vs Redis with two replicas
#   bench/compare.sh --quorum majority
#                                 a 3-node Bucket cluster in writeQuorum: majority vs the
#                                 same cluster in async mode (SET and INCR); target: a
#                                 ratio of at least 0.5 and a p99 under 5 ms at P=1
#
# BUCKET_YAML adds YAML lines to every Bucket node's config (for example
# BUCKET_YAML='autoAofRewritePercentage: 0' to run without automatic compaction).
#
# Needs redis-server and redis-benchmark on PATH (Debian: redis-server redis-tools).
# Prints the median requests/s and p99 latency of 3 interleaved rounds per row, and the
# ratio of the first column to the second. Target: a ratio of at least 1.0 on every row.
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS=0
REQUESTS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
# BENCH_TESTS picks redis-benchmark's tests (e.g. lpush,lpop,sadd,hset,zadd,lrange_100).
TESTS=${BENCH_TESTS:-set,get,incr,mset}
QUORUM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --quorum) QUORUM="$2"; shift 2 ;;
    *) echo "usage: $0 [--replicas N] [--requests N] [--quorum majority]" >&2; exit 2 ;;
  esac
done
if [ -n "$QUORUM" ]; then
  [ "$QUORUM" = majority ] || { echo "--quorum takes 'majority'" >&2; exit 2; }
  REPLICAS=2
  TESTS=${QUORUM_TESTS:-set,incr}
fi
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-server redis-benchmark redis-cli

BUCKET_PORT=17001
BUCKET_ASYNC_PORT=17051
REDIS_PORT=17101

# start_bucket BASE_PORT QUORUM: a cluster of REPLICAS+1 nodes on ports BASE_PORT...;
# sets TARGET to its master's port.
start_bucket() {
  local base=$1 quorum=$2 nodes=$((REPLICAS + 1))
  for i in $(seq 0 $((nodes - 1))); do
    local port=$((base + i)) peers="" name="bucket$base-$i"
    for j in $(seq 0 $((nodes - 1))); do
      [ "$j" = "$i" ] || peers="$peers  - 127.0.0.1:$((base + 10000 + j))"$'\n'
    done
    {
      echo "host: 127.0.0.1"
      echo "port: $port"
      echo "clusterPort: $((port + 10000))"
      echo "dataPath: $WORK/$name"
      echo "appendfsync: everysec"
      echo "writeQuorum: $quorum"
      # Extra YAML lines for every Bucket node, e.g. BUCKET_YAML=$'autoAofRewritePercentage: 0'.
      [ -z "${BUCKET_YAML:-}" ] || echo "$BUCKET_YAML"
      if [ -n "$peers" ]; then echo "clusterNodes:"; printf "%s" "$peers"; else echo "clusterNodes: []"; fi
    } > "$WORK/$name.yml"
    BUCKET_LOG=warn "$BIN" "$WORK/$name.yml" 2>"$WORK/$name.log" &
    PIDS+=($!)
  done
  for i in $(seq 0 $((nodes - 1))); do wait_port $((base + i)); done
  # Find the master and point the benchmark at it.
  for _ in $(seq 1 100); do
    for i in $(seq 0 $((nodes - 1))); do
      if redis-cli -p $((base + i)) ROLE 2>/dev/null | head -1 | grep -q master; then
        TARGET=$((base + i)); return 0
      fi
    done
    sleep 0.1
  done
  echo "no Bucket master" >&2; exit 1
}

start_redis() {
  for i in $(seq 0 "$REPLICAS"); do
    local port=$((REDIS_PORT + i)) extra=()
    [ "$i" = 0 ] || extra=(--replicaof 127.0.0.1 "$REDIS_PORT")
    mkdir -p "$WORK/redis$i"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK/redis$i" --appendonly yes \
      --appendfsync everysec --save '' --daemonize no "${extra[@]}" >"$WORK/redis$i.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
  done
  TARGET=$REDIS_PORT
}

# One redis-benchmark run; prints "test|rps|p99_ms" lines.
run_benchmark() {
  local port=$1 pipeline=$2
  redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -c 50 -d 64 -r 1000000 \
    -n "$REQUESTS" -P "$pipeline" --csv -q 2>/dev/null |
    awk -F'","' 'NR>1 { gsub(/"/, "", $1); gsub(/"/, "", $2); gsub(/"/, "", $7); print $1 "|" $2 "|" $7 }'
}

# Side A is the first column, side B the second.
if [ -n "$QUORUM" ]; then
  A_NAME=majority; B_NAME=async
  start_bucket "$BUCKET_PORT" majority; A_TARGET=$TARGET
  start_bucket "$BUCKET_ASYNC_PORT" async; B_TARGET=$TARGET
  TITLE="Bucket 3 nodes, writeQuorum majority vs async"
else
  A_NAME=bucket; B_NAME=redis
  start_bucket "$BUCKET_PORT" async; A_TARGET=$TARGET
  start_redis; B_TARGET=$TARGET
  TITLE="Bucket ($((REPLICAS + 1)) node(s)) vs Redis ($REPLICAS replica(s))"
fi
BUCKET_BASES=("$BUCKET_PORT"); [ -n "$QUORUM" ] && BUCKET_BASES+=("$BUCKET_ASYNC_PORT")
declare -A TERMS_BEFORE
for base in "${BUCKET_BASES[@]}"; do TERMS_BEFORE[$base]=$(cluster_terms "$base" $((REPLICAS + 1))); done
RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for pipeline in 1 16; do
    for side in A B; do
      port=$A_TARGET; [ "$side" = B ] && port=$B_TARGET
      wait_no_rewrite "$A_TARGET" "$B_TARGET"
      run_benchmark "$port" "$pipeline" | while IFS='|' read -r test rps p99; do
        echo "$side|P=$pipeline|$test|$rps|$p99" >> "$RESULTS"
      done
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# column SIDE PIPE TEST FIELD: the median of one field (4 = rps, 5 = p99) over the rounds.
column() { awk -F'|' -v s="$1" -v p="$2" -v t="$3" -v f="$4" '$1 == s && $2 == p && $3 == t { print $f }' "$RESULTS" | median; }
echo
echo "$TITLE; medians of $ROUNDS interleaved rounds; requests/s, p99 in ms"
printf "%-6s %-26s %12s %12s %7s %9s %9s\n" pipe test "$A_NAME" "$B_NAME" ratio "p99 $A_NAME" "p99 $B_NAME"
for pipeline in 1 16; do
  awk -F'|' -v p="P=$pipeline" '$2 == p { print $3 }' "$RESULTS" | sort -u |
  while read -r test; do
    a=$(column A "P=$pipeline" "$test" 4); b=$(column B "P=$pipeline" "$test" 4)
    a99=$(column A "P=$pipeline" "$test" 5); b99=$(column B "P=$pipeline" "$test" 5)
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
    printf "%-6s %-26s %12.0f %12.0f %7s %9s %9s\n" "P=$pipeline" "$test" "$a" "$b" "$ratio" "$a99" "$b99"
  done
done
# A load that moves a term caused an election: the cluster failed over under load.
if [ "$REPLICAS" -gt 0 ]; then
  echo
  for base in "${BUCKET_BASES[@]}"; do
    after=$(cluster_terms "$base" $((REPLICAS + 1)))
    verdict="no election under load"
    [ "${TERMS_BEFORE[$base]}" = "$after" ] || verdict="ELECTION UNDER LOAD"
    echo "Bucket cluster on port $base: terms before ${TERMS_BEFORE[$base]}after $after($verdict)"
  done
fi
