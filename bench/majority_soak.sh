#!/usr/bin/env bash
# A majority-mode 3-node Bucket cluster under a pipelined SET load for a while:
# the load must cause no election (cluster_current_epoch, the term, does not change on
# any node) and every node must end with the same keys as the master.
#
#   bench/majority_soak.sh [--seconds 60] [--pipeline 16] [--strace]
#
# --strace counts each node's fdatasync and epoll_wait calls over the load (strace -c):
# a loop pass is one epoll_wait, and the master makes at most one AOF fsync per pass.
#
# Needs redis-benchmark and redis-cli on PATH (Debian: redis-tools), and strace for
# --strace.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_LOAD=60
PIPELINE=16
STRACE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_LOAD="$2"; shift 2 ;;
    --pipeline) PIPELINE="$2"; shift 2 ;;
    --strace) STRACE=1; shift ;;
    *) echo "usage: $0 [--seconds N] [--pipeline N] [--strace]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-benchmark redis-cli

BASE=17201
for i in 0 1 2; do
  port=$((BASE + i))
  {
    echo "host: 127.0.0.1"
    echo "port: $port"
    echo "clusterPort: $((port + 10000))"
    echo "dataPath: $WORK/node$i"
    echo "writeQuorum: majority"
    echo "clusterNodes:"
    for j in 0 1 2; do [ "$j" = "$i" ] || echo "  - 127.0.0.1:$((BASE + 10000 + j))"; done
  } > "$WORK/node$i.yml"
  BUCKET_LOG=warn "$BIN" "$WORK/node$i.yml" 2>"$WORK/node$i.log" &
  PIDS+=($!)
done

master=""
for _ in $(seq 1 100); do
  for i in 0 1 2; do
    if redis-cli -p $((BASE + i)) ROLE 2>/dev/null | head -1 | grep -q master; then master=$((BASE + i)); fi
  done
  [ -n "$master" ] && break
  sleep 0.1
done
[ -n "$master" ] || { echo "no master elected" >&2; exit 1; }
terms_before=$(cluster_terms "$BASE" 3)

STRACES=()
if [ -n "$STRACE" ]; then
  for i in 0 1 2; do
    strace -c -f -e trace=fdatasync,fsync,epoll_wait -o "$WORK/strace$i.txt" -p "${PIDS[$i]}" 2>/dev/null &
    STRACES+=($!)
  done
  sleep 0.5 # strace attaches
fi
# Far more requests than the time allows: the timeout ends the load.
timeout --signal=INT "$SECONDS_LOAD" redis-benchmark -h 127.0.0.1 -p "$master" -t set -c 50 \
  -d 64 -r 1000000 -n 1000000000 -P "$PIPELINE" -q > "$WORK/load.txt" 2>&1 || true
tr '\r' '\n' < "$WORK/load.txt" | grep -E 'SET' | tail -1
if [ -n "$STRACE" ]; then
  for pid in "${STRACES[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  # calls FILE SYSCALL: the call count in an `strace -c` summary (0 if none).
  calls() { awk -v c="$2" '$NF == c { n = $4 } END { print n + 0 }' "$1"; }
  for i in 0 1 2; do
    role=replica; [ $((BASE + i)) = "$master" ] && role=master
    f="$WORK/strace$i.txt"
    echo "node $i ($role): fdatasync $(calls "$f" fdatasync) fsync $(calls "$f" fsync) epoll_wait $(calls "$f" epoll_wait)"
  done
fi

terms_after=$(cluster_terms "$BASE" 3)
# Replicas catch up within a bounded wait.
for _ in $(seq 1 100); do
  sizes=$(for i in 0 1 2; do redis-cli -p $((BASE + i)) DBSIZE; done | sort -u | wc -l)
  [ "$sizes" = 1 ] && break
  sleep 0.1
done
echo "terms before: $terms_before after: $terms_after"
for i in 0 1 2; do echo "node $i: $(redis-cli -p $((BASE + i)) DBSIZE) keys, $(redis-cli -p $((BASE + i)) ROLE | head -1)"; done
[ "$terms_before" = "$terms_after" ] || { echo "FAIL: the term changed under load (an election)"; exit 1; }
[ "$sizes" = 1 ] || { echo "FAIL: the nodes hold different key counts"; exit 1; }
echo "OK: no election, every node holds the master's keys"
