#!/usr/bin/env bash
# Memory per string key, Bucket vs Redis 7, side by side on this machine.
#
#   bench/key_memory.sh [--keys N]
#
# Loads N keys (default 1,000,000) of 16 bytes (key:000000000001 ...) with 64-byte values
# into a fresh Bucket node and a fresh Redis (appendonly yes, appendfsync everysec,
# --save ''), and prints each server's RSS growth per key, on four rows:
#   batches          100 batches of N/100 pipelined SETs, one `redis-cli --pipe` each
#   one pipe         one `redis-cli --pipe` of all N SETs
#   batches+expiry   as batches, every SET with EX 100000 (nothing expires during the run)
#   one pipe+expiry  as one pipe, with EX 100000
# Each measurement starts both servers afresh (one at a time, so their memory never
# mixes), reads VmRSS after the server answers PING, loads, waits until DBSIZE is N and no
# AOF rewrite runs, sleeps SETTLE seconds (default 1) and reads VmRSS again:
# bytes per key = (after - before) / N.
# Prints the medians of ROUNDS (default 3) interleaved rounds and the ratio bucket/redis.
# Targets: a ratio of at most 0.80 without expiry, at most 0.85 with expiry.
#
# BUCKET_YAML adds YAML lines to the Bucket node's config (as in bench/compare.sh).
# Needs redis-server, redis-cli and python3 on PATH (Debian: redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=1000000
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-1}
BATCHES=100
usage() { echo "usage: $0 [--keys N]   (env: ROUNDS=3 SETTLE=1 BUCKET_YAML=...)" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) [ $# -ge 2 ] || usage; KEYS="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$KEYS" =~ ^[0-9]+$ ]] && [ "$KEYS" -ge "$BATCHES" ] || { echo "--keys takes a number >= $BATCHES" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS takes a positive number" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-server redis-cli python3

BUCKET_PORT=17211
REDIS_PORT=17212

# The load, as RESP, once: $WORK/<style>.<batch>.resp for style plain (SET k v) and
# expiry (SET k v EX 100000); batch b holds keys b*N/100+1 .. (b+1)*N/100. The one-pipe
# rows feed all batches of a style, in order, to a single `redis-cli --pipe`.
python3 - "$KEYS" "$BATCHES" "$WORK" <<'PY'
import sys
n, batches, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for style, tail in (("plain", b""), ("expiry", b"$2\r\nEX\r\n$6\r\n100000\r\n")):
    head = b"*5\r\n" if tail else b"*3\r\n"
    for b in range(batches):
        lo, hi = b * n // batches + 1, (b + 1) * n // batches + 1
        parts = []
        for i in range(lo, hi):
            # 16-byte key, 64-byte value (the key's number, padded).
            parts.append(head + b"$3\r\nSET\r\n$16\r\nkey:%012d\r\n$64\r\n%064d\r\n%s" % (i, i, tail))
        with open("%s/%s.%03d.resp" % (work, style, b), "wb") as f:
            f.write(b"".join(parts))
PY

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# start_server SIDE: a fresh Bucket node or Redis; sets PID and PORT.
start_server() {
  rm -rf "${WORK:?}/$1"
  if [ "$1" = bucket ]; then
    PORT=$BUCKET_PORT
    write_bucket_yaml "$WORK/bucket.yml" "$PORT" "$WORK/bucket"
    BUCKET_LOG=warn "$BIN" "$WORK/bucket.yml" 2>>"$WORK/bucket.log" &
  else
    PORT=$REDIS_PORT
    mkdir -p "$WORK/redis"
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
      --appendfsync everysec --save '' --daemonize no >>"$WORK/redis.log" 2>&1 &
  fi
  PID=$!; PIDS+=("$PID")
  wait_port "$PORT"
}

# pipe FILE...: one `redis-cli --pipe` of the files, which must answer no error.
pipe() {
  local port=$1 out; shift
  out=$(cat "$@" | redis-cli -p "$port" --pipe 2>&1) || true
  grep -q 'errors: 0,' <<<"$out" || { echo "redis-cli --pipe on port $port: $out" >&2; exit 1; }
}

# measure SIDE ROW: appends "SIDE|ROW|bytes per key" of one fresh server, loaded in the
# row's way, to RESULTS. (Not in a subshell: its server must stay in PIDS.)
measure() {
  local side=$1 row=$2 style=plain before after n=""
  case "$row" in *expiry) style=expiry ;; esac
  start_server "$side"
  before=$(rss_bytes "$PID")
  case "$row" in
    batches*) for f in "$WORK/$style".*.resp; do pipe "$PORT" "$f"; done ;;
    *) pipe "$PORT" "$WORK/$style".*.resp ;;
  esac
  for _ in $(seq 1 600); do
    n=$(redis-cli -p "$PORT" DBSIZE 2>/dev/null | tr -d '\r')
    [ "$n" = "$KEYS" ] && break
    sleep 0.1
  done
  [ "$n" = "$KEYS" ] || { echo "$side ($row): DBSIZE is '$n', not $KEYS" >&2; exit 1; }
  # The AOF outgrows the automatic rewrite's threshold during the load: measure after it.
  wait_no_rewrite "$PORT"
  sleep "$SETTLE"
  after=$(rss_bytes "$PID")
  stop_server "$side" "$PID"
  awk -v s="$side" -v r="$row" -v a="$after" -v b="$before" -v n="$KEYS" \
    'BEGIN { printf "%s|%s|%.1f\n", s, r, (a - b) / n }' >> "$RESULTS"
}

ROWS=("batches" "one pipe" "batches+expiry" "one pipe+expiry")
RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for row in "${ROWS[@]}"; do
    for side in bucket redis; do
      measure "$side" "$row"
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { awk -F'|' -v s="$1" -v r="$2" '$1 == s && $2 == r { print $3 }' "$RESULTS" | median; }
echo
echo "$KEYS keys (16-byte keys, 64-byte values): RSS growth in bytes per key; medians of $ROUNDS interleaved rounds"
printf "%-16s %12s %12s %7s\n" load "bucket B/key" "redis B/key" ratio
for row in "${ROWS[@]}"; do
  b=$(column bucket "$row"); r=$(column redis "$row")
  ratio=$(awk -v b="$b" -v r="$r" 'BEGIN { printf "%.2f", (r > 0) ? b / r : 0 }')
  printf "%-16s %12.1f %12.1f %7s\n" "$row" "$b" "$r" "$ratio"
done
echo "targets: ratio <= 0.80 without expiry, <= 0.85 with expiry"
