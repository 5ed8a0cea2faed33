#!/usr/bin/env bash
# AOF compaction, Bucket vs Redis 7, side by side on this machine.
#
#   bench/compaction.sh [--keys N] [--overwrites R] [--rounds N] [--requests N]
#
# Loads N keys (default 1,000,000; 16-byte keys, 64-byte values) into one Bucket node
# and one Redis (appendonly yes, appendfsync everysec), then overwrites every key R
# times (default 5), so that an AOF without compaction holds R + 1 copies of the data.
# Both run with their default automatic rewrite settings (Bucket's autoAofRewrite* and
# Redis's auto-aof-rewrite-*: 100 %, 64 MB), so each compacts by itself. Then, per side:
#   - the AOF's files on disk (data directory, bytes) once no rewrite is running;
#   - restart time: SIGTERM, start, until a GET of a loaded key answers with its value;
#   - RSS after the restart;
#   - redis-benchmark SET at pipeline 16: requests/s, p99 and peak RSS, without and with
#     a rewrite running (started with BGREWRITEAOF just before the benchmark), how long
#     that rewrite ran under the load, and the size of the fresh base it left.
# Targets (Bucket): files at most 2x the fresh base, restart at most Redis's time, p99
# during a rewrite at most 2x and peak RSS at most 1.25x that of the load without one.
# Rows with timings are medians of ROUNDS (3) interleaved rounds. Until Bucket's core
# compacts, its column shows an uncompacted AOF and "rewrite ran: no".
#
# Needs redis-server (7.x), redis-cli and redis-benchmark on PATH (Debian: redis-server
# redis-tools), and room in /tmp for a few AOFs of the data set.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=1000000
OVERWRITES=5
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-300000}
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS="$2"; shift 2 ;;
    --overwrites) OVERWRITES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    *) echo "usage: $0 [--keys N] [--overwrites R] [--rounds N] [--requests N]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-server redis-benchmark redis-cli awk du ps

BUCKET_PORT=17201
REDIS_PORT=17301
# Bounds on every wait, in seconds.
START_WAIT_S=600
REWRITE_WAIT_S=1200
declare -A PORT=([bucket]=$BUCKET_PORT [redis]=$REDIS_PORT)
declare -A DATA=([bucket]="$WORK/bucket" [redis]="$WORK/redis")
declare -A PID=()
# Whether a side ever reported a rewrite in progress.
declare -A REWROTE=([bucket]=no [redis]=no)

cat > "$WORK/bucket.yml" <<EOF
host: 127.0.0.1
port: $BUCKET_PORT
clusterPort: $((BUCKET_PORT + 10000))
clusterNodes: []
dataPath: ${DATA[bucket]}
appendfsync: everysec
EOF
mkdir -p "${DATA[redis]}"

now_ms() { date +%s%3N; }

# start_side SIDE: start the server in the background and record its PID.
start_side() {
  local side=$1
  if [ "$side" = bucket ]; then
    BUCKET_LOG=warn "$BIN" "$WORK/bucket.yml" 2>>"$WORK/bucket.log" &
  else
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "${DATA[redis]}" \
      --appendonly yes --appendfsync everysec --save '' --daemonize no \
      >>"$WORK/redis.log" 2>&1 &
  fi
  PID[$side]=$!
  PIDS+=("${PID[$side]}")
}

# stop_side SIDE: SIGTERM by PID, wait for the exit (each flushes its AOF on the way).
stop_side() {
  local side=$1 pid=${PID[$1]} kept=()
  kill -TERM "$pid"
  wait "$pid" || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

# wait_loaded SIDE: until a GET of a loaded key answers with a 64-byte value (Redis
# answers LOADING while it replays; Bucket listens only once it has recovered).
wait_loaded() {
  local port=${PORT[$1]} deadline=$(( $(date +%s) + START_WAIT_S )) value
  while [ "$(date +%s)" -lt "$deadline" ]; do
    value=$(redis-cli -p "$port" GET key:000000000000 2>/dev/null || true)
    [ "${#value}" -eq 64 ] && return 0
    sleep 0.01
  done
  echo "$1 did not answer a GET within ${START_WAIT_S}s" >&2; exit 1
}

# load_pass PASS: RESP SETs of every key, with values that differ from pass to pass.
load_pass() {
  awk -v n="$KEYS" -v pass="$1" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$64\r\n%02d%062d\r\n", i, pass, i
  }'
}

rewrite_in_progress() {
  redis-cli -p "${PORT[$1]}" INFO persistence 2>/dev/null |
    awk -F: '/^aof_rewrite_in_progress:/ { p = $2 } /^aof_rewrite_scheduled:/ { s = $2 }
             END { print ((p + 0) || (s + 0)) ? 1 : 0 }'
}

# settle SIDE: wait until no rewrite runs or is scheduled.
settle() {
  local deadline=$(( $(date +%s) + REWRITE_WAIT_S ))
  while [ "$(rewrite_in_progress "$1")" = 1 ]; do
    REWROTE[$1]=yes
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$1: rewrite still running after ${REWRITE_WAIT_S}s" >&2; exit 1; }
    sleep 0.2
  done
}

disk_bytes() { du -sb "${DATA[$1]}" | awk '{ print $1 }'; }
rss_kb() { ps -o rss= -p "${PID[$1]}" | awk '{ print $1 }'; }
info_field() {
  redis-cli -p "${PORT[$1]}" INFO persistence 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

# watch SIDE FILE: until no rewrite runs, sample every 10 ms; then write to FILE how
# long the rewrite ran (ms) and the highest RSS seen meanwhile (kB). Run it in the
# background, started just after BGREWRITEAOF.
watch() {
  local side=$1 file=$2 started rss max=0
  started=$(now_ms)
  while [ "$(rewrite_in_progress "$side")" = 1 ]; do
    rss=$(rss_kb "$side"); [ "$rss" -gt "$max" ] && max=$rss
    sleep 0.01
  done
  echo "$(( $(now_ms) - started )) $max" > "$file"
}

# sample_rss SIDE FILE: the highest RSS over the next benchmark, sampled every 10 ms
# until FILE.stop appears.
sample_rss() {
  local side=$1 file=$2 rss max=0
  while [ ! -e "$file.stop" ]; do
    rss=$(rss_kb "$side"); [ "$rss" -gt "$max" ] && max=$rss
    sleep 0.01
  done
  echo "$max" > "$file"
}

# set_benchmark SIDE: "rps p99_ms" of redis-benchmark SET at pipeline 16.
set_benchmark() {
  redis-benchmark -h 127.0.0.1 -p "${PORT[$1]}" -t set -c 50 -P 16 -d 64 -r "$KEYS" \
    -n "$REQUESTS" --csv -q 2>/dev/null |
    awk -F'","' 'NR > 1 { gsub(/"/, "", $2); gsub(/"/, "", $7); print $2, $7 }'
}

RESULTS="$WORK/results"
: > "$RESULTS"
record() { echo "$1|$2|$3" >> "$RESULTS"; }

for side in bucket redis; do
  start_side "$side"
  wait_port "${PORT[$side]}"
  started=$(now_ms)
  for pass in $(seq 0 "$OVERWRITES"); do
    out=$(load_pass "$pass" | redis-cli -p "${PORT[$side]}" --pipe 2>&1)
    grep -q "errors: 0," <<<"$out" || { echo "$side: loading pass $pass: $out" >&2; exit 1; }
    [ "$(rewrite_in_progress "$side")" = 0 ] || REWROTE[$side]=yes
  done
  record "$side" load_s "$(awk -v ms=$(( $(now_ms) - started )) 'BEGIN { printf "%.1f", ms / 1000 }')"
  settle "$side"
  record "$side" disk_mb "$(awk -v b="$(disk_bytes "$side")" 'BEGIN { printf "%.1f", b / 1048576 }')"
  echo "$side: loaded $KEYS keys $((OVERWRITES + 1)) times" >&2
done

for round in $(seq 1 "$ROUNDS"); do
  for side in bucket redis; do
    stop_side "$side"
    started=$(now_ms)
    start_side "$side"
    wait_loaded "$side"
    record "$side" restart_ms "$(( $(now_ms) - started ))"
    record "$side" rss_mb "$(awk -v kb="$(rss_kb "$side")" 'BEGIN { printf "%.1f", kb / 1024 }')"
  done
  for side in bucket redis; do
    settle "$side"
    rm -f "$WORK/rss" "$WORK/rss.stop"
    sample_rss "$side" "$WORK/rss" & sampler=$!
    read -r rps p99 < <(set_benchmark "$side") || { echo "$side: redis-benchmark failed" >&2; exit 1; }
    touch "$WORK/rss.stop"; wait "$sampler"
    record "$side" set_rps "$rps"; record "$side" set_p99 "$p99"
    record "$side" set_rss_mb "$(awk -v kb="$(cat "$WORK/rss")" 'BEGIN { printf "%.1f", kb / 1024 }')"
  done
  for side in bucket redis; do
    reply=$(redis-cli -p "${PORT[$side]}" BGREWRITEAOF 2>&1 || true)
    case "$reply" in
      ERR*|*error*) echo "$side: BGREWRITEAOF: $reply" >&2 ;;
    esac
    [ "$(rewrite_in_progress "$side")" = 0 ] || REWROTE[$side]=yes
    watch "$side" "$WORK/watch" & watcher=$!
    read -r rps p99 < <(set_benchmark "$side") || { echo "$side: redis-benchmark failed" >&2; exit 1; }
    wait "$watcher"
    read -r rewrite_ms rewrite_rss < "$WORK/watch"
    record "$side" rewrite_set_rps "$rps"; record "$side" rewrite_set_p99 "$p99"
    record "$side" rewrite_ms "$rewrite_ms"
    record "$side" rewrite_rss_mb "$(awk -v kb="$rewrite_rss" 'BEGIN { printf "%.1f", kb / 1024 }')"
    settle "$side"
    record "$side" base_mb "$(awk -v b="$(info_field "$side" aof_base_size)" 'BEGIN { printf "%.1f", b / 1048576 }')"
  done
  echo "round $round of $ROUNDS done" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cell() { awk -F'|' -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$RESULTS" | median; }

echo
echo "AOF compaction: $KEYS keys (16 B keys, 64 B values) written $((OVERWRITES + 1)) times;"
echo "timings are medians of $ROUNDS interleaved rounds; SET is redis-benchmark -P 16 -c 50"
printf "%-34s %14s %14s\n" metric bucket redis
row() { printf "%-34s %14s %14s\n" "$1" "$(cell bucket "$2")" "$(cell redis "$2")"; }
row "load, all passes (s)" load_s
row "AOF files on disk (MB)" disk_mb
row "restart until GET answers (ms)" restart_ms
row "RSS after restart (MB)" rss_mb
row "fresh base after BGREWRITEAOF (MB)" base_mb
row "SET requests/s" set_rps
row "SET p99 (ms)" set_p99
row "peak RSS during SET (MB)" set_rss_mb
row "SET requests/s, rewrite running" rewrite_set_rps
row "SET p99 (ms), rewrite running" rewrite_set_p99
row "peak RSS during the rewrite (MB)" rewrite_rss_mb
row "rewrite under SET load (ms)" rewrite_ms
printf "%-34s %14s %14s\n" "rewrite ran" "${REWROTE[bucket]}" "${REWROTE[redis]}"
