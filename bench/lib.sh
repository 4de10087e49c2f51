# Helpers shared by bench/keys and bench/instances (sourced, not executed). They are bench/run's
# helpers (free port, TOTP, start/stop a server, wrk rows) lifted into one file, plus what the two
# scripts need besides: a jar snapshot, a watchdog, a quiet-machine wait and JSON fields via jq.
# The caller sets `root`, `work` (a temp dir it removes) and `results` before calling bench_init.
# shellcheck shell=bash

# what ./pier uses when PIER_JAVA_OPTS is unset
LAUNCHER_DEFAULT_OPTS="-Xms32m -Xmx256m -XX:+UseSerialGC"
# NICE (e.g. -10, root only), as in bench/run: the server, wrk and the Java probes run at that
# niceness, so that on a machine shared with other work they get the cores first. The Docker engine
# keeps its own priority.
NICE="${NICE:-}"
prio=()
if [ -n "$NICE" ]; then prio=(nice -n "$NICE"); fi
server_pid=""
child=""
watchdog=""

log() { echo "bench: $*" >&2; }
now_ns() { date +%s%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# bench_init: JDK, wrk, curl, jq, and the jar under test, copied to $work/pier.jar so that a rebuild by
# someone else during the run cannot change it. Which jar (BUILD):
#   head (default): built from the committed HEAD (git archive into $work, mvn package without tests),
#                   so uncommitted edits in the shared tree neither leak into the figures nor break the build;
#   tree:           ./pier's own rule, as bench/run does: target/pier.jar, rebuilt from the working tree if stale;
#   PIER_JAR=path:  that jar as it is.
bench_init() {
  select_jdk
  local tool
  for tool in wrk curl jq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      log "installing $tool"
      apt_install "$tool" || { log "$tool is missing: apt-get install $tool (as root)"; exit 1; }
    fi
  done
  mkdir -p "$results"
  jar="$work/pier.jar"
  if [ -n "${PIER_JAR:-}" ]; then
    cp "$PIER_JAR" "$jar"
    jar_source="$PIER_JAR"
  elif [ "${BUILD:-head}" = tree ]; then
    log "building target/pier.jar if stale"
    "$root/pier" --version >/dev/null
    cp "$root/target/pier.jar" "$jar"
    jar_source="target/pier.jar (working tree$(git -C "$root" status --porcelain -- src pom.xml 2>/dev/null | grep -q . && echo ', with uncommitted changes' || true))"
  else
    local rev
    rev="$(git -C "$root" rev-parse --short HEAD)"
    log "building the jar of commit $rev (git archive + mvn package, tests skipped)"
    mkdir -p "$work/build"
    git -C "$root" archive HEAD pom.xml src | tar -x -C "$work/build"
    if ! (cd "$work/build" && { mvn -q -B -o -Dmaven.test.skip=true package >"$work/build.log" 2>&1 \
           || mvn -q -B -ntp -Dmaven.test.skip=true package >"$work/build.log" 2>&1; }); then
      tail -n 30 "$work/build.log" >&2
      log "the build of $rev failed"
      exit 1
    fi
    cp "$work/build/target/pier.jar" "$jar"
    rm -rf "$work/build"
    jar_source="commit $rev, built by mvn package from git archive"
  fi
  # shellcheck disable=SC2206 # the options are words
  java_opts=(${PIER_JAVA_OPTS:-$LAUNCHER_DEFAULT_OPTS})
  "$JAVA_HOME/bin/java" "${java_opts[@]}" -jar "$jar" --version >/dev/null || { log "the jar does not run"; exit 1; }
}

# pier_cli ARGS...: the CLI from the snapshot (what ./pier runs, without the rebuild check)
pier_cli() { "$JAVA_HOME/bin/java" "${java_opts[@]}" -jar "$jar" "$@"; }

# start_watchdog SECONDS: after SECONDS, signals this script, whose traps stop everything
start_watchdog() {
  (
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$1" & s=$!
    wait "$s"
    echo "bench: over MAX_SECONDS=$1, stopping" >&2
    kill -TERM $$
  ) &
  watchdog=$!
}

# wait_quiet: waits up to QUIET_WAIT seconds (default 120) for the 1-minute load average to fall
# below QUIET_LOAD (default 1.5); other work on these 2 cores skews every figure. Never fails.
wait_quiet() {
  local max="${QUIET_WAIT:-120}" limit="${QUIET_LOAD:-1.5}" waited=0
  while awk -v l="$(load1)" -v m="$limit" 'BEGIN {exit !(l > m)}'; do
    if [ "$waited" -ge "$max" ]; then
      log "warning: load average still $(cut -d' ' -f1-3 /proc/loadavg) after ${max}s: other work on this machine skews the figures"
      return 0
    fi
    if [ "$waited" = 0 ]; then log "load average $(cut -d' ' -f1-3 /proc/loadavg); waiting up to ${max}s for < $limit"; fi
    sleep 5
    waited=$((waited + 5))
  done
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# RFC 6238 code (SHA-1, 6 digits, 30 s) for a Base32 secret.
totp() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF'
import base64, hashlib, hmac, struct, sys, time
s = sys.argv[1].upper()
key = base64.b32decode(s + "=" * (-len(s) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 0x0F
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
EOF
  elif command -v oathtool >/dev/null 2>&1; then
    oathtool --totp -b "$1"
  else
    log "needs python3 or oathtool to compute TOTP codes"
    exit 1
  fi
}

# start_server DATA_DIR LOG_FILE: starts the snapshot on a free loopback port (sets port, url, server_pid)
start_server() {
  local data="$1" logfile="$2"
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  PIER_HOST=127.0.0.1 "${prio[@]}" "$JAVA_HOME/bin/java" "${java_opts[@]}" -jar "$jar" serve --data "$data" --port "$port" \
    >"$logfile" 2>&1 &
  server_pid=$!
}

# Polls /healthz every 20 ms until it answers 200 (at most 60 s).
wait_healthy() {
  local deadline=$(($(date +%s) + 60))
  while :; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/healthz" 2>/dev/null)" = 200 ]; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then log "the server exited during start-up:"; tail -n 20 "$1" >&2; exit 1; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then log "no 200 on /healthz within 60 s"; tail -n 20 "$1" >&2; exit 1; fi
    sleep 0.02
  done
}

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # the server finishes requests in flight for up to 20 s; give it a little more, then kill it
    for _ in $(seq 1 250); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

stats() { # numbers on stdin -> "min median max"
  sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; print a[1], m, a[NR]}'
}

# create_owner DATA_DIR NAME: the first user, through the CLI (as an operator would); prints the secret
create_owner() {
  pier_cli user create -u "$2" -g owner --data "$1" | sed -n 's/^secret: //p'
}

login() { # login USER SECRET -> access token on stdout
  local body token
  body="$(curl -s --max-time 10 -X POST "$url/api/v1/user/auth" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"code\":\"$(totp "$2")\"}")"
  token="$(jq -r '.access_token // empty' <<<"$body" 2>/dev/null || true)"
  if [ -z "$token" ]; then log "login of $1 failed: $body"; exit 1; fi
  echo "$token"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

to_ms() { # wrk latency (e.g. 850.00us, 1.23ms, 1.02s) -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000; else if (v ~ /m$/) n = n * 60000
    printf "%.2f", n }'
}

# CPU milliseconds used by this script's finished children (wrk among them), from the times builtin
# (as bench/run does); runs in this shell, writes $work/cpu_ms (in a $(…) subshell `times` would only
# see the subshell's children)
children_cpu_ms() {
  times >"$work/times"
  awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60000 + (a[2] + 0) * 1000 }
    printf "%.0f", t }' "$work/times" >"$work/cpu_ms"
}

WRK_HEADER='  %-22s %-8s %7s %7s %7s %7s %7s %7s %6s %7s %7s %7s %5s\n'
wrk_header() { printf "$WRK_HEADER" run credential req/s p50 p90 p99 max non-2xx errors srv-us wrk-us alone load; }
wrk_legend() {
  echo "  latencies in ms; srv-us, wrk-us: CPU time per request used by the server and by wrk; alone: $(nproc) cores /"
  echo "  (srv-us + wrk-us), the rate this machine could sustain with nothing else running (as bench/run);"
  echo "  load: 1-minute load average after the run"
}

# run_wrk NAME PATH HEADER [CREDENTIAL]: a WARMUP run, then the measured DURATION run with HEADER
# ("Name: value", or "" for none) on every request; appends a row to $rows and sets w_rps w_p50 w_p99
# w_cpu w_wrk w_alone w_non2xx.
run_wrk() {
  local name="$1" path="$2" header="$3" out="$results/wrk-$1.txt" cred="${4:--}"
  local args=(-t "$THREADS" -c "$CONNECTIONS" --latency)
  if [ -n "$header" ]; then args+=(-H "$header"); fi
  log "$name: warm-up $WARMUP"
  "${prio[@]}" wrk "${args[@]}" -d "$WARMUP" "$url$path" >/dev/null &
  child=$!
  wait "$child"
  log "$name: measuring $DURATION"
  local t0 t1 c0 c1 reqs p90 max errors
  t0="$(cpu_ticks)"
  children_cpu_ms
  c0="$(cat "$work/cpu_ms")"
  "${prio[@]}" wrk "${args[@]}" -d "$DURATION" "$url$path" >"$out" &
  child=$!
  wait "$child"
  child=""
  t1="$(cpu_ticks)"
  children_cpu_ms
  c1="$(cat "$work/cpu_ms")"
  w_rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  reqs="$(awk '/ requests in / {print $1}' "$out")"
  w_p50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")"
  p90="$(to_ms "$(awk '$1 == "90%" {print $2}' "$out")")"
  w_p99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
  max="$(to_ms "$(awk '$1 == "Latency" {print $4}' "$out")")"
  w_non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")"
  w_non2xx="${w_non2xx:-0}"
  errors="$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")"
  w_cpu="$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')"
  w_wrk="$(awk -v d=$((c1 - c0)) -v n="$reqs" 'BEGIN {printf "%.1f", d * 1e3 / n}')"
  w_alone="$(awk -v c="$w_cpu" -v w="$w_wrk" -v n="$(nproc)" 'BEGIN {printf "%.0f", n * 1e6 / (c + w)}')"
  printf "$WRK_HEADER" "$name" "$cred" "$w_rps" "$w_p50" "$p90" "$w_p99" "$max" "$w_non2xx" "${errors:-0}" \
    "$w_cpu" "$w_wrk" "$w_alone" "$(load1)" >>"$rows"
}

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo MISS; fi; }

machine_lines() {
  local jdk cpu mem
  jdk="$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p)"
  cpu="$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)"
  mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "jar: $jar_source; $jdk"
  echo "machine: $(nproc) cores ($cpu), $mem; wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}') on the same machine"
  echo "server: java ${java_opts[*]} -jar pier.jar serve (PIER_JAVA_OPTS ${PIER_JAVA_OPTS:+set}${PIER_JAVA_OPTS:-unset: the launcher default}), PIER_LOG_LEVEL=${PIER_LOG_LEVEL:-INFO}${NICE:+; server, wrk and probes at nice $NICE}"
}
