# Shared by the bench scripts: source it after `cd` to the repository root.
#
#   bench_setup TOOL...   check the tools, build the daemon (or take $BUCKET_BIN), make a
#                         work dir ($WORK)
#                         whose processes ($PIDS) are stopped and files removed at exit
#   wait_port PORT        wait until a server answers PING there
#   term PORT             a Bucket node's term (CLUSTER INFO's cluster_current_epoch)
#   cluster_terms BASE N  the terms of N nodes on ports BASE..., e.g. "1 1 1 "
#   wait_no_rewrite PORT... wait (up to 60 s) until no server there is rewriting its AOF,
#                         so one side's background compaction never slows the other's run

bench_setup() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
  done
  cargo build --release -q -p driver-mio
  # BUCKET_BIN runs another build of the daemon instead (an A/B of two commits).
  BIN=${BUCKET_BIN:-target/release/bucket-server}
  WORK=$(mktemp -d /tmp/bucket-bench.XXXXXX)
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

wait_port() {
  for _ in $(seq 1 200); do
    redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "port $1 never answered" >&2; exit 1
}

term() { redis-cli -p "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | awk -F: '$1 == "cluster_current_epoch" { print $2 }'; }

cluster_terms() {
  for i in $(seq 0 $(($2 - 1))); do term $(($1 + i)); done | tr '\n' ' '
}

wait_no_rewrite() {
  for _ in $(seq 1 600); do
    local busy=0
    for port in "$@"; do
      redis-cli -p "$port" INFO persistence 2>/dev/null | grep -q '^aof_rewrite_in_progress:1' && busy=1
    done
    [ "$busy" = 0 ] && return 0
    sleep 0.1
  done
  echo "an AOF rewrite still runs after 60 s" >&2
}

# stop_server SIDE PID: stop it (SIGKILL after 30 s), drop it from PIDS (the caller's
# array of started servers), remove its data under WORK.
stop_server() {
  local side=$1 pid=$2 keep=() p
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  rm -rf "${WORK:?}/$side"
}

# write_bucket_yaml FILE PORT DATA_PATH [LINE...]: a one-node Bucket config on loopback,
# with the extra lines and then BUCKET_YAML's (e.g. BUCKET_YAML='autoAofRewritePercentage: 0').
write_bucket_yaml() {
  local file=$1 port=$2 data=$3 line
  shift 3
  {
    echo "host: 127.0.0.1"
    echo "port: $port"
    echo "clusterPort: $((port + 10000))"
    echo "dataPath: $data"
    echo "appendfsync: everysec"
    for line in "$@"; do echo "$line"; done
    [ -z "${BUCKET_YAML:-}" ] || echo "$BUCKET_YAML"
    echo "clusterNodes: []"
  } > "$file"
}
