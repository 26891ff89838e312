#!/usr/bin/env bash
# What a feeder draw costs per request, and what a feeder's rows cost in memory.
#
# `http_max` (GET / with no wait) against one nginx, with and without a unique feeder of
# ROWS rows (each request first draws a row `user,password` and converts it to a struct).
# nginx is pinned to CPU 0 (one worker), Swarm to CPU 1; runs alternate without / with,
# ROUNDS times. Figure: requests per CPU-second of the Swarm process (requests in the
# stats CSV / its user + system CPU time), side by side; goal: with >= 0.97x without.
# Reading the file is a one-time cost inside the run's CPU time: it is measured apart
# (CPU of a 1 s run with the feeder minus one without, LOAD_ROUNDS times) and shown both
# ways: whole run, and per request with the load taken out.
# Memory: RSS with the feeder minus RSS without, sampled mid-run, over the file's size;
# goal: <= 1.5x.
#
# Env knobs:
#   ROWS=1000000   rows in the feeder's CSV file
#   DURATION=15    seconds per run
#   USERS=50       users per run
#   ROUNDS=3       without/with pairs
#   LOAD_ROUNDS=3  1 s pairs measuring the CPU of reading the file
#   KEEP_WORK=1    keep the temporary directory (logs, CSVs, the rows file)
#
# Load goes only to 127.0.0.1; every run is bounded by its run time plus a watchdog; nginx
# and every process started here are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-1000000}
DURATION=${DURATION:-15}
USERS=${USERS:-50}
ROUNDS=${ROUNDS:-3}
LOAD_ROUNDS=${LOAD_ROUNDS:-3}
GRACE=${GRACE:-30}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-feeder
NGINX_PID=""
bench_stop_peers() {
    [[ -n $NGINX_PID ]] || return 0
    "$ROOT/peers/stop" nginx "$NGINX_PID" >/dev/null 2>&1 || kill -TERM "$NGINX_PID" 2>/dev/null || true
}

[[ -x $ROOT/peers/start ]] || die "peers/start missing"
need taskset "install util-linux"
need awk "install gawk or mawk"
need cargo "install a Rust toolchain"
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; pinning server and client apart is impossible"
ulimit -n 65536 2>/dev/null || true

log "building http_max (release)..."
(cd "$ROOT" && cargo build --release -p swarm-examples --example http_max) >&2 \
    || die "cargo build --release --example http_max failed"
SWARM_MAX=$SWARM_TARGET/release/examples/http_max
TICK=$(getconf CLK_TCK)

# The rows: user and password columns, about 40 bytes a row.
ROWS_FILE=$WORK/rows.csv
awk -v n="$ROWS" 'BEGIN {
    print "user,password"
    for (i = 0; i < n; i++) printf "user%07d@example.test,pw-%07d-%08x\n", i, i, (i * 2654435761) % 4294967296
}' >"$ROWS_FILE"
FILE_BYTES=$(stat -c %s "$ROWS_FILE")
log "rows file: $ROWS rows, $FILE_BYTES bytes"

log "starting nginx on CPU 0..."
NGINX_OUT=$(NGINX_CPU=0 NGINX_WORKERS=1 "$ROOT/peers/start" nginx) || die "peers/start nginx failed; run peers/install nginx"
URL=$(sed -n 's/^URL=//p' <<<"$NGINX_OUT" | head -n1)
NGINX_PID=$(sed -n 's/^PID=//p' <<<"$NGINX_OUT" | head -n1)
[[ -n $URL && -n $NGINX_PID ]] || die "peers/start nginx printed no URL=/PID=: $NGINX_OUT"
case $URL in http://127.0.0.1:*) ;; *) die "nginx URL $URL is not on 127.0.0.1" ;; esac

# One run: sets REQS, CPU_S, RSS_KB.
run() { # run NAME SECONDS USERS [EXTRA ARGS...]
    local name=$1 secs=$2 users=$3; shift 3
    spawn "$WORK/$name.log" taskset -c 1 "$SWARM_MAX" -H "$URL" -u "$users" -r "$users" \
        -t "${secs}s" --csv "$WORK/$name" --only-summary "$@"
    local pid=$LAST_PID
    nap $((secs / 2 + 1))
    RSS_KB=$(rss_kb "$pid")
    wait_bounded "$pid" $((secs + GRACE)) "$name" || log "warning: $name exited non-zero"
    REQS=$(csv_aggregated "$WORK/${name}_stats.csv" 'Request Count') \
        || die "no Aggregated Request Count in $WORK/${name}_stats.csv: $(tail -n 20 "$WORK/$name.log")"
    CPU_S=$(calc '%.2f' "$LAST_TICKS / $TICK")
}

FEED_ARG="rows=$ROWS_FILE:unique:end-run"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The one-time cost of reading the file, in CPU seconds.
declare -a LOADS
for ((r = 1; r <= LOAD_ROUNDS; r++)); do
    run "load-plain-$r" 1 1; c0=$CPU_S
    run "load-feed-$r" 1 1 --feed "$FEED_ARG"
    LOADS+=("$(calc '%.2f' "$CPU_S - $c0")")
done
LOAD_S=$(median "${LOADS[@]}")
log "reading the file: ${LOAD_S} CPU s (runs: ${LOADS[*]})"

printf '\nFeeder cost: http_max on nginx (CPU 0), %s users, %ss a run, Swarm on CPU 1, unique feeder of %s rows (%s bytes)\n' \
    "$USERS" "$DURATION" "$ROWS" "$FILE_BYTES"
printf '%-6s %-8s %10s %8s %14s %22s %10s\n' round feeder requests "CPU s" "req/CPU-s" "req/CPU-s (no load)" "RSS MB"
declare -a PLAIN WITH WITHOUT_LOAD DRSS
for ((r = 1; r <= ROUNDS; r++)); do
    run "plain-$r" "$DURATION" "$USERS"
    p=$(calc '%.0f' "$REQS / $CPU_S"); PLAIN+=("$p"); prss=$RSS_KB
    printf '%-6s %-8s %10s %8s %14s %22s %10s\n' "$r" none "$REQS" "$CPU_S" "$p" "$p" "$(calc '%.1f' "$prss / 1024")"
    run "feed-$r" "$DURATION" "$USERS" --feed "$FEED_ARG"
    w=$(calc '%.0f' "$REQS / $CPU_S"); WITH+=("$w")
    n=$(calc '%.0f' "$REQS / ($CPU_S - $LOAD_S)"); WITHOUT_LOAD+=("$n")
    printf '%-6s %-8s %10s %8s %14s %22s %10s\n' "$r" unique "$REQS" "$CPU_S" "$w" "$n" "$(calc '%.1f' "$RSS_KB / 1024")"
    DRSS+=($((RSS_KB - prss)))
done

MP=$(median "${PLAIN[@]}"); MW=$(median "${WITH[@]}"); MN=$(median "${WITHOUT_LOAD[@]}"); MD=$(median "${DRSS[@]}")
printf '\nreading the file once: %s CPU s\n' "$LOAD_S"
printf 'median req/CPU-s, whole run: without %s, with %s: %s\n' "$MP" "$MW" "$(ratio "$MW" "$MP")"
printf 'median req/CPU-s, per request (file reading taken out): without %s, with %s: %s (goal >= 0.97x)\n' \
    "$MP" "$MN" "$(ratio "$MN" "$MP")"
printf 'feeder memory (median RSS with - without): %.1f MB for a %.1f MB file: %s (goal <= 1.5x)\n' \
    "$(calc '%.1f' "$MD / 1024")" "$(calc '%.1f' "$FILE_BYTES / 1048576")" "$(ratio "$((MD * 1024))" "$FILE_BYTES")"
