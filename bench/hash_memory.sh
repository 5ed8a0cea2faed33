#!/usr/bin/env bash
# Memory of small hashes, Bucket vs Redis 7, side by side on this machine.
#
#   bench/hash_memory.sh [--hashes N]
#
# Loads N hashes (default 100,000) of 10 fields each (fields f0..f9, 8-byte values)
# with one `redis-cli --pipe` into one Bucket node and one Redis (appendonly yes,
# appendfsync everysec), and prints each server's RSS growth per hash. Target: Bucket
# at most 1.0x Redis.
#
# Needs redis-server, redis-cli on PATH (Debian: redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

HASHES=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --hashes) HASHES="$2"; shift 2 ;;
    *) echo "usage: $0 [--hashes N]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-server redis-cli

BUCKET_PORT=17201
REDIS_PORT=17202
printf 'host: 127.0.0.1\nport: %s\nclusterPort: %s\ndataPath: %s/bucket\nappendfsync: everysec\nclusterNodes: []\n' \
  "$BUCKET_PORT" $((BUCKET_PORT + 10000)) "$WORK" > "$WORK/bucket.yml"
BUCKET_LOG=warn "$BIN" "$WORK/bucket.yml" 2>"$WORK/bucket.log" &
BUCKET_PID=$!; PIDS+=("$BUCKET_PID")
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
  --appendfsync everysec --save '' --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_port "$BUCKET_PORT"; wait_port "$REDIS_PORT"

# The load, as RESP: HSET h<i> f0 v... f9 v...
python3 - "$HASHES" > "$WORK/load.resp" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    args = [b"HSET", b"h%d" % i]
    for f in range(10):
        args += [b"f%d" % f, b"%08d" % (i * 10 + f)]
    out.write("*%d\r\n" % len(args))
    for a in args:
        out.write("$%d\r\n%s\r\n" % (len(a), a.decode()))
PY

rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
measure() {
  local name=$1 pid=$2 port=$3 before after
  before=$(rss_kb "$pid")
  redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
  # Both servers allocate with jemalloc, whose background thread returns freed pages
  # (a table that grew, a burst's buffers) after its 10 s decay: measure after it.
  sleep 11
  after=$(rss_kb "$pid")
  echo "$name $before $after"
}
B=$(measure bucket "$BUCKET_PID" "$BUCKET_PORT")
R=$(measure redis "$REDIS_PID" "$REDIS_PORT")
echo
echo "$HASHES hashes of 10 fields (8-byte values): RSS growth"
printf "%-8s %12s %12s %14s\n" server "before (kB)" "after (kB)" "bytes per hash"
for line in "$B" "$R"; do
  read -r name before after <<<"$line"
  printf "%-8s %12s %12s %14.0f\n" "$name" "$before" "$after" "$(( (after - before) * 1024 / HASHES ))"
done
b=$(awk '{ print $3 - $2 }' <<<"$B"); r=$(awk '{ print $3 - $2 }' <<<"$R")
awk -v b="$b" -v r="$r" 'BEGIN { printf "ratio bucket/redis: %.2f\n", b / r }'
