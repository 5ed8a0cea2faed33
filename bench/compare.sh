#!/usr/bin/env bash
# Bucket vs Redis, side by side on this machine, with redis-benchmark on loopback.
#
#   bench/compare.sh              one Bucket node vs one Redis, both with an AOF fsynced
#                                 every second
#   bench/compare.sh --replicas 2 a 3-node Bucket cluster vs Redis with two replicas
#
# Needs redis-server and redis-benchmark on PATH (Debian: redis-server redis-tools).
# Prints the median requests/s of 3 interleaved rounds per row and the ratio Bucket/Redis.
# Target: a ratio of at least 1.0 on every row.
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS=0
REQUESTS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
TESTS=set,get,incr,mset
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    *) echo "usage: $0 [--replicas N] [--requests N]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

cargo build --release -q -p driver-mio
BIN=target/release/bucket-server
WORK=$(mktemp -d /tmp/bucket-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BUCKET_PORT=17001
REDIS_PORT=17101

wait_port() {
  for _ in $(seq 1 200); do
    redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "port $1 never answered" >&2; exit 1
}

start_bucket() {
  local nodes=$((REPLICAS + 1))
  for i in $(seq 0 $((nodes - 1))); do
    local port=$((BUCKET_PORT + i)) peers=""
    for j in $(seq 0 $((nodes - 1))); do
      [ "$j" = "$i" ] || peers="$peers  - 127.0.0.1:$((BUCKET_PORT + 10000 + j))"$'\n'
    done
    {
      echo "host: 127.0.0.1"
      echo "port: $port"
      echo "clusterPort: $((port + 10000))"
      echo "dataPath: $WORK/bucket$i"
      echo "appendfsync: everysec"
      if [ -n "$peers" ]; then echo "clusterNodes:"; printf "%s" "$peers"; else echo "clusterNodes: []"; fi
    } > "$WORK/bucket$i.yml"
    BUCKET_LOG=warn "$BIN" "$WORK/bucket$i.yml" 2>"$WORK/bucket$i.log" &
    PIDS+=($!)
  done
  for i in $(seq 0 $((nodes - 1))); do wait_port $((BUCKET_PORT + i)); done
  # Find the master and point the benchmark at it.
  for _ in $(seq 1 100); do
    for i in $(seq 0 $((nodes - 1))); do
      if redis-cli -p $((BUCKET_PORT + i)) ROLE 2>/dev/null | head -1 | grep -q master; then
        BUCKET_TARGET=$((BUCKET_PORT + i)); return 0
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
  REDIS_TARGET=$REDIS_PORT
}

# One redis-benchmark run; prints "test rps" lines.
run_benchmark() {
  local port=$1 pipeline=$2
  redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -c 50 -d 64 -r 1000000 \
    -n "$REQUESTS" -P "$pipeline" --csv -q 2>/dev/null |
    awk -F'","' 'NR>1 { gsub(/"/, "", $1); gsub(/"/, "", $2); print $1, $2 }'
}

start_bucket
start_redis
RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for pipeline in 1 16; do
    for target in bucket redis; do
      port=$BUCKET_TARGET; [ "$target" = redis ] && port=$REDIS_TARGET
      run_benchmark "$port" "$pipeline" | while read -r test rps; do
        echo "$target P=$pipeline $test $rps" >> "$RESULTS"
      done
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "Bucket ($((REPLICAS + 1)) node(s)) vs Redis ($REPLICAS replica(s)); medians of $ROUNDS rounds, requests/s"
printf "%-6s %-26s %12s %12s %7s\n" pipe test bucket redis ratio
for pipeline in 1 16; do
  awk -v p="P=$pipeline" '$2 == p { $1 = ""; $2 = ""; $NF = ""; print }' "$RESULTS" | sed 's/^ *//; s/ *$//' | sort -u |
  while read -r test; do
    b=$(awk -v p="P=$pipeline" -v t="$test" '$1 == "bucket" && $2 == p { $1 = ""; $2 = ""; r = $NF; $NF = ""; gsub(/^ +| +$/, ""); if ($0 == t) print r }' "$RESULTS" | median)
    r=$(awk -v p="P=$pipeline" -v t="$test" '$1 == "redis" && $2 == p { $1 = ""; $2 = ""; r = $NF; $NF = ""; gsub(/^ +| +$/, ""); if ($0 == t) print r }' "$RESULTS" | median)
    ratio=$(awk -v b="$b" -v r="$r" 'BEGIN { printf "%.2f", (r > 0) ? b / r : 0 }')
    printf "%-6s %-26s %12.0f %12.0f %7s\n" "P=$pipeline" "$test" "$b" "$r" "$ratio"
  done
done
