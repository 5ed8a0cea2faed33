#!/usr/bin/env bash
# maxmemory, Bucket vs Redis 7, side by side on this machine.
#
#   bench/maxmemory.sh [--rounds N] [--quick]
#
# Every measurement starts one fresh server (one at a time, so their memory never mixes)
# with maxmemory 100mb: a Bucket node (appendfsync everysec, `maxmemory: 100mb` and
# `maxmemoryPolicy: ...` in its YAML) or a Redis (appendonly yes, appendfsync everysec,
# --save '', --maxmemory 100mb --maxmemory-policy ...), both on 127.0.0.1. Two rows:
#
#   allkeys-lru  1,000,000 SETs (16-byte keys key:000000000001 ..., 64-byte values) in
#                100 batches of 10,000, one `redis-cli --pipe` each (as
#                bench/key_memory.sh's batches). Once DBSIZE is steady and no AOF rewrite
#                runs, and SETTLE seconds (default 1) later: RSS (VmRSS) and peak RSS
#                (VmHWM) in MB (2^20 bytes), RSS / 100 MB (target: at most 1.15), INFO
#                memory's used_memory, DBSIZE, INFO stats' evicted_keys, how many SETs
#                got an error, and whether the server still answers PING, SET and GET.
#   noeviction   the same SETs, pipelined 10,000 at a time by a small Python client
#                that reads each reply, until a whole batch is refused (at most
#                NOEVICTION_MAX_KEYS, default 2,000,000, and LOAD_TIMEOUT seconds).
#                Counts the SETs acknowledged +OK, refused with "-OOM command not
#                allowed when used memory > 'maxmemory'." and refused otherwise, and
#                reads RSS once loading stops. Then, still full: DBSIZE equals the
#                acknowledged count, a GET of every acknowledged key returns its value,
#                GETs of up to 1,000 refused keys return nil, and GET / DEL / GET of an
#                acknowledged key answer value / 1 / nil, with DBSIZE one lower after.
#
# Prints a markdown table of the medians of ROUNDS (default 3) interleaved rounds (yes/no
# rows: "yes" only if every round said yes) and the ratio bucket/redis where it means
# something. A missed target is reported, not fatal: the exit status is non-zero only
# when the script itself fails (Redis does not start, a tool is missing, ...).
#
# A Bucket build that refuses the config (one from before maxmemory, whose config
# rejects the unknown key) shows "n/a" and the reason under the table. Set
# BUCKET_NO_MAXMEMORY=1 to leave the two maxmemory keys out of Bucket's config, which
# checks the script against such a build (Bucket then loads without a limit).
# BUCKET_YAML adds YAML lines to the Bucket node's config (as in bench/compare.sh);
# BUCKET_BIN runs another build (see bench/lib.sh).
# Needs redis-server, redis-cli, python3 and timeout on PATH (Debian: redis-server
# redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-1}
KEYS=1000000
BATCHES=100
BATCH=$((KEYS / BATCHES))
MAXMEMORY_MB=100
NOEVICTION_MAX_KEYS=${NOEVICTION_MAX_KEYS:-2000000}
# Bound on one load (either row), in seconds.
LOAD_TIMEOUT=${LOAD_TIMEOUT:-120}
RSS_TARGET=1.15
usage() {
  echo "usage: $0 [--rounds N] [--quick]   (env: SETTLE=1 LOAD_TIMEOUT=120" \
    "NOEVICTION_MAX_KEYS=2000000 BUCKET_YAML=... BUCKET_NO_MAXMEMORY=1 BUCKET_BIN=...)" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) [ $# -ge 2 ] || usage; ROUNDS="$2"; shift 2 ;;
    --quick) ROUNDS=1; shift ;;
    *) usage ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds takes a positive number" >&2; exit 2; }
[[ "$NOEVICTION_MAX_KEYS" =~ ^[1-9][0-9]*$ ]] || { echo "NOEVICTION_MAX_KEYS takes a positive number" >&2; exit 2; }
[[ "$LOAD_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "LOAD_TIMEOUT takes a positive number" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup redis-server redis-cli python3 timeout

BUCKET_PORT=17221
REDIS_PORT=17222

# The allkeys-lru load, as RESP, once: $WORK/plain.<batch>.resp, batch b holding keys
# b*N/100+1 .. (b+1)*N/100 (the same files as bench/key_memory.sh's plain batches).
python3 - "$KEYS" "$BATCHES" "$WORK" <<'PY'
import sys
n, batches, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for b in range(batches):
    lo, hi = b * n // batches + 1, (b + 1) * n // batches + 1
    with open("%s/plain.%03d.resp" % (work, b), "wb") as f:
        # 16-byte key, 64-byte value (the key's number, padded).
        f.write(b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$64\r\n%064d\r\n" % (i, i)
                         for i in range(lo, hi)))
PY

# The noeviction client: python3 noeviction.py PORT PID MAX_KEYS BATCH TIMEOUT_S prints
# "name value" lines (see the end). Every socket wait is bounded (30 s), and so is the
# load (TIMEOUT_S); a server that hangs up or stalls ends it with what was counted.
cat > "$WORK/noeviction.py" <<'PY'
import socket, sys, threading, time

port, pid, max_keys, batch, timeout_s = (int(a) for a in sys.argv[1:6])
OOM = b"-OOM command not allowed when used memory > 'maxmemory'."
out = {}

def rss_mb():
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return "%.1f" % (int(line.split()[1]) / 1024)
    except OSError:
        pass
    return "n/a"

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def exchange(self, payload, n):
        """Sends payload (n commands) while reading the n replies: a simple reply as
        its line (b"+OK", b"-OOM ...", b":1"), a bulk string as its bytes, nil as None."""
        failed = []
        def send():
            try:
                self.s.sendall(payload)
            except OSError as e:
                failed.append(e)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        replies, buf, pos = [], self.buf, 0
        while True:
            while len(replies) < n:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                if buf[pos] == 0x24:  # '$'
                    size = int(buf[pos + 1:end])
                    if size < 0:
                        replies.append(None)
                        pos = end + 2
                        continue
                    if len(buf) < end + 2 + size + 2:
                        break
                    replies.append(bytes(buf[end + 2:end + 2 + size]))
                    pos = end + 2 + size + 2
                else:
                    replies.append(bytes(buf[pos:end]))
                    pos = end + 2
            del buf[:pos]
            pos = 0
            if len(replies) == n:
                break
            data = self.s.recv(1 << 20)
            if not data:
                raise EOFError("the server closed the connection")
            buf += data
        sender.join(30)
        if failed:
            raise failed[0]
        return replies

def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)

def key(i):
    return b"key:%012d" % i

def value(i):
    return b"%064d" % i

# status[i]: 0 not sent, 1 acknowledged, 2 refused with -OOM, 3 refused otherwise.
status = bytearray(max_keys + 1)
acked = oom = other = 0
first_other = ""
stop = "max keys (%d)" % max_keys
try:
    conn = Conn()
    started = time.monotonic()
    i = 1
    while i <= max_keys:
        if time.monotonic() - started > timeout_s:
            stop = "timeout"
            break
        hi = min(i + batch, max_keys + 1)
        payload = b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$64\r\n%064d\r\n" % (k, k)
                           for k in range(i, hi))
        ok_here = oom_here = 0
        for k, reply in zip(range(i, hi), conn.exchange(payload, hi - i)):
            if reply == b"+OK":
                status[k] = 1; ok_here += 1
            elif reply is not None and reply.startswith(OOM):
                status[k] = 2; oom_here += 1
            else:
                status[k] = 3
                first_other = first_other or repr(reply)[:120]
        n_here = hi - i
        acked += ok_here; oom += oom_here; other += n_here - ok_here - oom_here
        i = hi
        if ok_here == 0:
            stop = "full" if oom_here == n_here else "refused (other error)"
            break
    out["stop"] = stop
except (OSError, EOFError, ValueError) as e:
    out["stop"] = "server gone or stalled (%s)" % type(e).__name__
out.update(acked=acked, oom=oom, other=other, rss_mb=rss_mb())
if first_other:
    out["first_other_error"] = first_other

if not out["stop"].startswith("server gone"):
    try:
        dbsize = conn.exchange(cmd(b"DBSIZE"), 1)[0]
        dbsize = int(dbsize[1:]) if dbsize and dbsize[:1] == b":" else -1
        out["dbsize"] = dbsize
        out["dbsize_is_acked"] = "yes" if dbsize == acked else "no"
        # Every acknowledged key, its value.
        good = bad = 0
        first_bad = ""
        ack_keys = [k for k in range(1, max_keys + 1) if status[k] == 1]
        for lo in range(0, len(ack_keys), 10000):
            chunk = ack_keys[lo:lo + 10000]
            replies = conn.exchange(b"".join(cmd(b"GET", key(k)) for k in chunk), len(chunk))
            for k, reply in zip(chunk, replies):
                if reply == value(k):
                    good += 1
                else:
                    bad += 1
                    first_bad = first_bad or "%s: %r" % (key(k).decode(), reply)[:120]
        out["acked_readable"] = "yes" if bad == 0 else "no"
        out["acked_unreadable"] = bad
        if first_bad:
            out["first_unreadable"] = first_bad
        # Up to 1,000 refused keys, spread over the refused ones: none stored.
        refused = [k for k in range(1, max_keys + 1) if status[k] >= 2]
        sample = refused[::max(1, len(refused) // 1000)][:1000]
        present = 0
        if sample:
            replies = conn.exchange(b"".join(cmd(b"GET", key(k)) for k in sample), len(sample))
            present = sum(1 for r in replies if r is not None)
        out["refused_sampled"] = len(sample)
        out["refused_absent"] = "n/a" if not sample else "yes" if present == 0 else "no"
        # GET and DEL while full, on the last acknowledged key.
        if ack_keys:
            k = ack_keys[-1]
            replies = conn.exchange(cmd(b"GET", key(k)) + cmd(b"DEL", key(k)) + cmd(b"GET", key(k))
                                    + cmd(b"DBSIZE"), 4)
            want = [value(k), b":1", None, b":%d" % (dbsize - 1)]
            out["get_del"] = "yes" if replies == want else "no"
            if replies != want:
                out["get_del_replies"] = repr(replies)[:200]
        else:
            out["get_del"] = "no"
            out["get_del_replies"] = "no key was acknowledged"
    except (OSError, EOFError, ValueError) as e:
        out["verify_failed"] = type(e).__name__
for name, v in out.items():
    print(name, v)
PY

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo n/a; }
peak_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo n/a; }
# cli PORT ARGS...: one redis-cli call, bounded in time; empty output if it fails.
cli() { local port=$1; shift; timeout 5 redis-cli -p "$port" "$@" 2>/dev/null | tr -d '\r' || true; }
# info_field PORT SECTION FIELD: a field of INFO SECTION, or n/a.
info_field() {
  local v
  v=$(cli "$1" INFO "$2" | awk -F: -v f="$3" '$1 == f { print $2 }')
  echo "${v:-n/a}"
}

RESULTS="$WORK/results"
NOTES="$WORK/notes"
: > "$RESULTS"; : > "$NOTES"
# record SIDE ROW METRIC VALUE
record() { echo "$1|$2|$3|$4" >> "$RESULTS"; }
note() { echo "$*" >> "$NOTES"; echo "$*" >&2; }

# start_server SIDE POLICY: a fresh Bucket node or Redis with maxmemory 100mb and the
# policy; sets PID and PORT. Returns 1 if Bucket exits or does not answer within 10 s
# (an unknown config key stops it at once); a Redis that does not start ends the script.
start_server() {
  local side=$1 policy=$2
  rm -rf "${WORK:?}/$side"
  if [ "$side" = bucket ]; then
    PORT=$BUCKET_PORT
    local limit=("maxmemory: ${MAXMEMORY_MB}mb" "maxmemoryPolicy: $policy")
    [ -z "${BUCKET_NO_MAXMEMORY:-}" ] || limit=()
    write_bucket_yaml "$WORK/bucket.yml" "$PORT" "$WORK/bucket" "${limit[@]}"
    : > "$WORK/bucket.log"
    BUCKET_LOG=warn "$BIN" "$WORK/bucket.yml" 2>>"$WORK/bucket.log" &
  else
    PORT=$REDIS_PORT
    mkdir -p "$WORK/redis"
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
      --appendfsync everysec --save '' --maxmemory "${MAXMEMORY_MB}mb" \
      --maxmemory-policy "$policy" --daemonize no >>"$WORK/redis.log" 2>&1 &
  fi
  PID=$!; PIDS+=("$PID")
  local deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$PID" 2>/dev/null || break
    [ "$(cli "$PORT" PING)" = PONG ] && return 0
    sleep 0.05
  done
  if [ "$side" = redis ]; then
    echo "redis-server did not start:" >&2; tail -5 "$WORK/redis.log" >&2; exit 1
  fi
  # The log's last line, without its timestamp and the work dir (the same every round).
  note "bucket ($policy): did not start: $(grep -v '^\s*$' "$WORK/bucket.log" | tail -1 |
    sed -E "s|^[0-9T:.-]+Z +||; s|$WORK/||g" | cut -c1-240)"
  stop_server "$side" "$PID"
  return 1
}

# alive SIDE ROW: "yes" if the server still runs, else "no" with a note.
alive() {
  if kill -0 "$PID" 2>/dev/null; then echo yes; return; fi
  note "$1 ($2): the server exited: $(tail -1 "$WORK/$1.log" | cut -c1-300)"
  echo no
}

# no_rewrite SIDE ROW: wait (at most 60 s) until no AOF rewrite runs or is scheduled. (As
# bench/lib.sh's wait_no_rewrite, with every call bounded, for a server that hangs.)
no_rewrite() {
  local info deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    info=$(cli "$PORT" INFO persistence)
    grep -q '^aof_rewrite_in_progress:1\|^aof_rewrite_scheduled:1' <<<"$info" || return 0
    sleep 0.1
  done
  note "$1 ($2): an AOF rewrite still ran after 60 s"
}

# measure_lru SIDE: the allkeys-lru row of one fresh server. (Not in a subshell: its
# server must stay in PIDS.)
measure_lru() {
  local side=$1 row=allkeys-lru errors=0 replies=0 out f n prev="" started answers
  local metrics=(rss_mb peak_mb rss_ratio used_mb dbsize evicted errors answers)
  if ! start_server "$side" allkeys-lru; then
    for m in "${metrics[@]}"; do record "$side" "$row" "$m" n/a; done
    return 0
  fi
  started=$SECONDS
  for f in "$WORK"/plain.*.resp; do
    if [ $((SECONDS - started)) -ge "$LOAD_TIMEOUT" ]; then
      note "$side ($row): the load took over ${LOAD_TIMEOUT}s; stopped before $(basename "$f")"
      break
    fi
    # redis-cli --pipe exits 1 when a reply is an error: count from its summary instead.
    out=$(timeout $((LOAD_TIMEOUT + 30)) redis-cli -p "$PORT" --pipe --pipe-timeout 30 < "$f" 2>&1 || true)
    if grep -q 'No replies for' <<<"$out"; then
      note "$side ($row): the server stopped answering during $(basename "$f")"
      break
    elif [[ "$out" =~ errors:\ ([0-9]+),\ replies:\ ([0-9]+) ]]; then
      errors=$((errors + BASH_REMATCH[1])); replies=$((replies + BASH_REMATCH[2]))
      [ "${BASH_REMATCH[1]}" = 0 ] || [ -s "$WORK/$side.lru_error" ] ||
        { grep -m1 -v '^All data\|^Last reply\|^errors:' <<<"$out" > "$WORK/$side.lru_error" || true; }
    else
      note "$side ($row): redis-cli --pipe failed on $(basename "$f"): $(tail -1 <<<"$out" | cut -c1-200)"
      break
    fi
  done
  [ ! -s "$WORK/$side.lru_error" ] || note "$side ($row): first SET error: $(cut -c1-200 "$WORK/$side.lru_error")"
  rm -f "$WORK/$side.lru_error"
  # DBSIZE, once two reads 0.2 s apart agree (at most 10 s).
  local deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    n=$(cli "$PORT" DBSIZE)
    [ -n "$n" ] && [ "$n" = "$prev" ] && break
    prev=$n; sleep 0.2
  done
  [[ "$n" =~ ^[0-9]+$ ]] || n=n/a
  # The AOF outgrows the automatic rewrite's threshold during the load: measure after it.
  no_rewrite "$side" "$row"
  sleep "$SETTLE"
  if [ "$(alive "$side" "$row")" = yes ]; then
    record "$side" "$row" rss_mb "$(rss_mb "$PID")"
    record "$side" "$row" peak_mb "$(peak_mb "$PID")"
    record "$side" "$row" rss_ratio "$(awk -v r="$(rss_mb "$PID")" -v m="$MAXMEMORY_MB" 'BEGIN { printf "%.3f", r / m }')"
  else
    for m in rss_mb peak_mb rss_ratio; do record "$side" "$row" "$m" n/a; done
  fi
  record "$side" "$row" used_mb "$(info_field "$PORT" memory used_memory | awk '/^[0-9]+$/ { printf "%.1f", $1 / 1048576; next } { print "n/a" }')"
  record "$side" "$row" dbsize "$n"
  record "$side" "$row" evicted "$(info_field "$PORT" stats evicted_keys)"
  if [ "$replies" -gt 0 ]; then record "$side" "$row" errors "$errors"; else record "$side" "$row" errors n/a; fi
  # Still serving: PING, SET and GET answer as they should.
  answers=no
  if [ "$(cli "$PORT" PING)" = PONG ] && [ "$(cli "$PORT" SET bench:probe probe-value)" = OK ] &&
     [ "$(cli "$PORT" GET bench:probe)" = probe-value ]; then
    answers=yes
  else
    note "$side ($row): after the load PING / SET / GET answered:" \
      "'$(cli "$PORT" PING)' / '$(cli "$PORT" SET bench:probe probe-value)' / '$(cli "$PORT" GET bench:probe)'"
  fi
  record "$side" "$row" answers "$answers"
  stop_server "$side" "$PID"
}

# measure_noeviction SIDE: the noeviction row of one fresh server.
measure_noeviction() {
  local side=$1 row=noeviction out name value
  local metrics=(acked oom other rss_mb dbsize dbsize_is_acked acked_readable refused_absent get_del stop)
  if ! start_server "$side" noeviction; then
    for m in "${metrics[@]}"; do record "$side" "$row" "$m" n/a; done
    return 0
  fi
  out=$(timeout $((LOAD_TIMEOUT + 180)) python3 "$WORK/noeviction.py" "$PORT" "$PID" \
    "$NOEVICTION_MAX_KEYS" "$BATCH" "$LOAD_TIMEOUT" 2>"$WORK/noeviction.err" || true)
  [ -n "$out" ] || { echo "$side ($row): the client failed:" >&2; cat "$WORK/noeviction.err" >&2; exit 1; }
  for m in "${metrics[@]}"; do
    value=$(awk -v m="$m" '$1 == m { sub(/^[^ ]+ /, ""); print; exit }' <<<"$out")
    record "$side" "$row" "$m" "${value:-n/a}"
  done
  for name in first_other_error first_unreadable get_del_replies verify_failed; do
    value=$(awk -v m="$name" '$1 == m { sub(/^[^ ]+ /, ""); print; exit }' <<<"$out")
    [ -z "$value" ] || note "$side ($row): $name: $value"
  done
  [ "$(alive "$side" "$row")" = yes ] || true
  stop_server "$side" "$PID"
}

for round in $(seq 1 "$ROUNDS"); do
  for side in bucket redis; do measure_lru "$side"; done
  for side in bucket redis; do measure_noeviction "$side"; done
  echo "round $round of $ROUNDS done" >&2
done

# cell SIDE ROW METRIC: the median of the rounds' numbers (n/a if none was a number).
cell() {
  awk -F'|' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $3 == m && $4 ~ /^-?[0-9]+(\.[0-9]+)?$/ { print $4 }' "$RESULTS" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# agree SIDE ROW METRIC: the answer every round gave (yes, no, n/a, a stop reason);
# else "yes in k of N rounds" for yes/no, or the answers, most frequent first.
agree() {
  awk -F'|' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $3 == m {
      n++; if (!($4 in c)) order[++k] = $4; c[$4]++ }
    END {
      if (n == 0) { print "n/a"; exit }
      if (k == 1) { print order[1]; exit }
      yn = 1; for (i = 1; i <= k; i++) if (order[i] != "yes" && order[i] != "no") yn = 0
      if (yn) { printf "yes in %d of %d rounds\n", c["yes"], n; exit }
      out = ""; for (i = 1; i <= k; i++) out = out (i > 1 ? ", " : "") order[i] " x" c[order[i]]
      print out
    }' "$RESULTS"
}
# fmt VALUE DIGITS: a number with DIGITS decimals, anything else as it is.
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v ~ /^-?[0-9.]+$/) printf "%.*f\n", d, v; else print v }'; }
ratio() { awk -v b="$1" -v r="$2" 'BEGIN { if (b ~ /^[0-9.]+$/ && r ~ /^[0-9.]+$/ && r > 0) printf "%.2f\n", b / r; else print "-" }'; }
verdict() {
  awk -v v="$1" -v t="$RSS_TARGET" 'BEGIN { if (v !~ /^[0-9.]+$/) print v;
    else printf "%.3f (target %s)\n", v, (v <= t) ? "met" : "missed" }'
}
line() { printf "| %-52s | %-22s | %-22s | %-12s |\n" "$@"; }
# num ROW METRIC LABEL DIGITS [noratio]
num() {
  local b r q=-
  b=$(cell bucket "$1" "$2"); r=$(cell redis "$1" "$2")
  [ "${5:-}" = noratio ] || q=$(ratio "$b" "$r")
  line "$3" "$(fmt "$b" "$4")" "$(fmt "$r" "$4")" "$q"
}
yesno() { line "$3" "$(agree bucket "$1" "$2")" "$(agree redis "$1" "$2")" -; }

redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
echo
echo "maxmemory ${MAXMEMORY_MB}mb, Bucket vs Redis $redis_version: 16-byte keys, 64-byte values;" \
  "medians of $ROUNDS interleaved rounds; MB = 2^20 bytes"
[ -z "${BUCKET_NO_MAXMEMORY:-}" ] || echo "BUCKET_NO_MAXMEMORY is set: Bucket ran without maxmemory in its config"
echo
line "allkeys-lru: $KEYS SETs, $BATCHES pipes of $BATCH" Bucket Redis Bucket/Redis
line "----------------------------------------------------" "---------------------:" "---------------------:" "-----------:"
num allkeys-lru rss_mb "RSS after the load (MB)" 1
num allkeys-lru peak_mb "peak RSS, VmHWM (MB)" 1
line "RSS / ${MAXMEMORY_MB} MB (target <= $RSS_TARGET)" \
  "$(verdict "$(cell bucket allkeys-lru rss_ratio)")" "$(verdict "$(cell redis allkeys-lru rss_ratio)")" -
num allkeys-lru used_mb "INFO used_memory (MB)" 1
num allkeys-lru dbsize "DBSIZE after the load" 0
num allkeys-lru evicted "evicted_keys (INFO stats)" 0 noratio
num allkeys-lru errors "SETs answered with an error" 0 noratio
yesno allkeys-lru answers "answers PING / SET / GET afterwards"
echo
line "noeviction: SETs until a batch of $BATCH is refused" Bucket Redis Bucket/Redis
line "----------------------------------------------------" "---------------------:" "---------------------:" "-----------:"
num noeviction acked "SETs acknowledged +OK" 0
num noeviction oom "SETs refused with -OOM ... > 'maxmemory'." 0 noratio
num noeviction other "SETs refused with another error" 0 noratio
num noeviction rss_mb "RSS when loading stopped (MB)" 1
num noeviction dbsize "DBSIZE when full" 0
yesno noeviction dbsize_is_acked "DBSIZE = SETs acknowledged"
yesno noeviction acked_readable "GET of every acknowledged key: its value"
yesno noeviction refused_absent "GET of <= 1000 refused keys: nil"
yesno noeviction get_del "GET / DEL / GET while full: value / 1 / nil"
yesno noeviction stop "loading stopped by"
if [ -s "$NOTES" ]; then
  echo
  echo "notes:"
  sort "$NOTES" | uniq -c | awk '{ n = $1; $1 = ""; sub(/^ /, ""); print "- " $0 (n > 1 ? " (" n " times)" : "") }'
fi
