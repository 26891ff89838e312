#!/usr/bin/env bash
# HTTP throughput and memory-per-user, Swarm beside wrk, Locust and Goose.
#
# One nginx (peers/start nginx, pinned to CPU 0, one worker) serves every run; each load
# generator is pinned to CPU 1 and runs alone, one after another, so they compete for the
# same single core against the same server. See benches/README.md for what the figures mean.
#
# Env knobs:
#   DURATION=20     seconds of load per throughput run
#   USERS=50        concurrent users / connections per throughput run
#   SKIP_GOOSE=1    skip Goose (throughput)
#   SKIP_LOCUST=1   skip Locust (throughput and memory)
#   SKIP_SWARM=1    skip Swarm (throughput and memory), e.g. to time only the peers
#   SKIP_MEMORY=1   skip the memory-per-user figure
#   SKIP_NAMES=1    skip the many-names figure
#   MEM_USERS=10000 Swarm users for the memory figure; LOCUST_MEM_USERS=1000 for Locust's,
#                   GOOSE_MEM_USERS=1000 for Goose's
#   MEM_SAMPLE_AT=20 seconds after start at which RSS is sampled
#   NAMES=100000    distinct request names for the many-names figure
#   ROUNDS=1        wrk and Swarm throughput runs, alternating, ROUNDS times each: with more
#                   than one, a table of every round's requests per CPU-second and ratio,
#                   and the medians (the figure to quote on a shared machine)
#   SWARM_BEFORE=   another http_max binary (an earlier build, say) run in each round after
#                   Swarm's, with its own column: before/after figures from the same rounds
#   RT=             a SCHED_FIFO priority (e.g. 1, as root) for nginx and every load
#                   generator (chrt -f): on a machine shared with compilers, they then get
#                   their cores whenever they want them (the kernel still keeps about 5%
#                   of each core for other work). Empty: normal scheduling
#   KEEP_WORK=1     keep the temporary directory with every log, CSV and report
#
# Everything talks to 127.0.0.1 only; every run is bounded by its own run time plus a
# watchdog; nginx and every process started here are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-20}
USERS=${USERS:-50}
MEM_USERS=${MEM_USERS:-10000}
LOCUST_MEM_USERS=${LOCUST_MEM_USERS:-1000}
GOOSE_MEM_USERS=${GOOSE_MEM_USERS:-1000}
NAMES=${NAMES:-100000}
SKIP_NAMES=${SKIP_NAMES:-0}
MEM_SAMPLE_AT=${MEM_SAMPLE_AT:-20}
MEM_RUN_TIME=${MEM_RUN_TIME:-30}
SKIP_GOOSE=${SKIP_GOOSE:-0}
SKIP_LOCUST=${SKIP_LOCUST:-0}
SKIP_SWARM=${SKIP_SWARM:-0}
SKIP_MEMORY=${SKIP_MEMORY:-0}
ROUNDS=${ROUNDS:-1}
SWARM_BEFORE=${SWARM_BEFORE:-}
RT=${RT:-}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GOOSE_TARGET=$ROOT/benches/goose/target
LOCUST_BIN=${LOCUST_BIN:-$ROOT/.peers/locust/venv/bin/locust}
# Slack on top of a run's own run time before the watchdog kills it.
GRACE=${GRACE:-30}

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-bench
NGINX_PID=""
bench_stop_peers() {
    [[ -n $NGINX_PID ]] || return 0
    "$ROOT/peers/stop" nginx "$NGINX_PID" >/dev/null 2>&1 || kill -TERM "$NGINX_PID" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# Preflight: every tool asked for must exist before anything starts.
INSTALL_HINT="run peers/install"
[[ -x $ROOT/peers/start ]] || die "peers/start missing; $INSTALL_HINT"
need taskset "install util-linux"
need awk "install gawk or mawk"
need getconf "install libc-bin"
HZ=$(getconf CLK_TCK)
PATH="$ROOT/.peers/bin:$PATH" need wrk "$INSTALL_HINT"
WRK=$(PATH="$ROOT/.peers/bin:$PATH" command -v wrk)
if [[ $SKIP_LOCUST != 1 ]]; then
    [[ -x $LOCUST_BIN ]] || die "Locust not found at $LOCUST_BIN; $INSTALL_HINT (or SKIP_LOCUST=1)"
fi
if [[ $SKIP_SWARM != 1 ]]; then
    need cargo "install a Rust toolchain"
fi
if [[ $SKIP_GOOSE != 1 ]]; then
    need cargo "install a Rust toolchain (or SKIP_GOOSE=1)"
fi
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; pinning server and client apart is impossible"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a whole number above 0, got '$ROUNDS'"
[[ -z $SWARM_BEFORE || -x $SWARM_BEFORE ]] || die "SWARM_BEFORE=$SWARM_BEFORE is not an executable"
# How the throughput runs and nginx start: on CPU 1 (nginx on CPU 0), with RT at that
# real-time priority.
ON1=(taskset -c 1)
NGINX_PREFIX=()
if [[ -n $RT ]]; then
    [[ $RT =~ ^[0-9]+$ ]] && (( RT >= 1 && RT <= 99 )) || die "RT must be a priority 1..99, got '$RT'"
    need chrt "install util-linux"
    chrt -f "$RT" true 2>/dev/null || die "cannot use SCHED_FIFO (RT=$RT needs root)"
    ON1=(chrt -f "$RT" taskset -c 1)
    NGINX_PREFIX=(chrt -f "$RT")
fi

# Sockets: 10,000 users want 10,000+ descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------------------------------
# Build before starting anything, so compile time never overlaps a measurement.
if [[ $SKIP_SWARM != 1 ]]; then
    log "building Swarm examples (release)..."
    (cd "$ROOT" && cargo build --release --example http_max --example liveness \
        && cargo build --release -p swarm-http --example http_names) >&2 \
        || die "cargo build --release --example http_max --example liveness (and swarm-http's http_names) failed"
    SWARM_MAX=$SWARM_TARGET/release/examples/http_max
    SWARM_LIVE=$SWARM_TARGET/release/examples/liveness
    SWARM_NAMES_BIN=$SWARM_TARGET/release/examples/http_names
fi
if [[ $SKIP_GOOSE != 1 ]]; then
    GOOSE_BIN=$GOOSE_TARGET/release/goose-bench
    if [[ ! -x $GOOSE_BIN ]]; then
        log "building benches/goose (release)..."
        CARGO_TARGET_DIR=$GOOSE_TARGET cargo build --release \
            --manifest-path "$ROOT/benches/goose/Cargo.toml" >&2 || die "building benches/goose failed"
    fi
fi

# Other work on either core (a compiler, say) skews every figure: say so.
busy_pct() { # CPU busy % over one second, all cores
    local a b a1 a2 a3 a4 a5 a6 a7 b1 b2 b3 b4 b5 b6 b7
    read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat
    nap 1
    read -r _ b1 b2 b3 b4 b5 b6 b7 _ </proc/stat
    a=$((a1 + a2 + a3 + a5 + a6 + a7)); b=$((b1 + b2 + b3 + b5 + b6 + b7))
    awk -v busy=$((b - a)) -v idle=$((b4 - a4)) 'BEGIN { printf "%d", 100 * busy / (busy + idle + 0.001) }'
}
BUSY=$(busy_pct)
(( BUSY < 10 )) || log "warning: the machine is ${BUSY}% busy before the benchmark; figures will be low and noisy"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
log "starting nginx on CPU 0..."
# 10,000 liveness users hold 10,000 keep-alive connections.
NGINX_OUT=$(NGINX_CPU=0 NGINX_WORKERS=1 NGINX_CONNECTIONS=${NGINX_CONNECTIONS:-20000} "${NGINX_PREFIX[@]}" "$ROOT/peers/start" nginx) || die "peers/start nginx failed; $INSTALL_HINT"
URL=$(sed -n 's/^URL=//p' <<<"$NGINX_OUT" | head -n1)
NGINX_PID=$(sed -n 's/^PID=//p' <<<"$NGINX_OUT" | head -n1)
[[ -n $URL && -n $NGINX_PID ]] || die "peers/start nginx printed no URL=/PID=: $NGINX_OUT"
case $URL in
    http://127.0.0.1:*) ;;
    *) die "nginx URL $URL is not on 127.0.0.1" ;;
esac
log "nginx: $URL (PID $NGINX_PID)"

declare -A RPS=() REQS=() CPU=()
ORDER=()
# record TOOL REQUESTS_PER_S REQUESTS: requests over the CPU time the tool used (user +
# system, /proc/PID/stat, last seen within 0.1 s of its exit: LAST_TICKS).
record() {
    ORDER+=("$1")
    RPS[$1]=$2
    REQS[$1]=$3
    CPU[$1]=$(calc %.2f "$LAST_TICKS / $HZ")
    log "$1: $2 requests/s, $3 requests in ${CPU[$1]} CPU-s"
}
per_cpu() { awk -v n="${REQS[$1]}" -v c="${CPU[$1]}" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print 0 }'; }
LIMIT=$((DURATION + GRACE))

# Warm-up, discarded: the first run against a cold nginx came out ~8% low.
spawn "$WORK/warmup.log" "${ON1[@]}" "$WRK" -t1 -c"$USERS" -d2s "$URL/"
wait_bounded "$LAST_PID" "$GRACE" warmup || die "wrk warm-up failed: $(cat "$WORK/warmup.log")"

# Requests per CPU-second of each round, for the rounds table.
ROUND_WRK=() ROUND_SWARM=() ROUND_BEFORE=()
for ((round = 1; round <= ROUNDS; round++)); do
    sfx=""; (( ROUNDS > 1 )) && sfx="-$round"
    # (a) wrk: the ceiling, a C event loop with no per-user logic.
    log "wrk -t1 -c$USERS -d${DURATION}s (round $round of $ROUNDS, load $(cut -d' ' -f1 /proc/loadavg)) ..."
    spawn "$WORK/wrk$sfx.log" "${ON1[@]}" "$WRK" -t1 -c"$USERS" -d"${DURATION}s" "$URL/"
    wait_bounded "$LAST_PID" "$LIMIT" wrk || die "wrk failed: $(cat "$WORK/wrk$sfx.log")"
    record wrk "$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk$sfx.log")" \
        "$(awk '/ requests in / { print $1; exit }' "$WORK/wrk$sfx.log")"
    ROUND_WRK+=("$(per_cpu wrk)")

    # (b) Swarm
    if [[ $SKIP_SWARM != 1 ]]; then
        log "Swarm http_max -u $USERS -r $USERS -t ${DURATION}s (round $round of $ROUNDS) ..."
        spawn "$WORK/swarm$sfx.log" "${ON1[@]}" "$SWARM_MAX" -H "$URL" -u "$USERS" -r "$USERS" \
            -t "${DURATION}s" --csv "$WORK/swarm$sfx"
        wait_bounded "$LAST_PID" "$LIMIT" swarm || die "Swarm http_max failed: $(tail -n 20 "$WORK/swarm$sfx.log")"
        v=$(csv_aggregated "$WORK/swarm${sfx}_stats.csv" 'Requests/s') \
            || die "no Aggregated Requests/s in $WORK/swarm${sfx}_stats.csv"
        record swarm "$v" "$(csv_aggregated "$WORK/swarm${sfx}_stats.csv" 'Request Count')"
        ROUND_SWARM+=("$(per_cpu swarm)")
        if [[ -n $SWARM_BEFORE ]]; then
            log "$SWARM_BEFORE -u $USERS -r $USERS -t ${DURATION}s (round $round of $ROUNDS) ..."
            spawn "$WORK/before$sfx.log" "${ON1[@]}" "$SWARM_BEFORE" -H "$URL" -u "$USERS" -r "$USERS" \
                -t "${DURATION}s" --csv "$WORK/before$sfx"
            wait_bounded "$LAST_PID" "$LIMIT" before || die "$SWARM_BEFORE failed: $(tail -n 20 "$WORK/before$sfx.log")"
            record before "$(csv_aggregated "$WORK/before${sfx}_stats.csv" 'Requests/s')" \
                "$(csv_aggregated "$WORK/before${sfx}_stats.csv" 'Request Count')"
            ROUND_BEFORE+=("$(per_cpu before)")
        fi
    fi
done
# The table below shows the last round; the rounds table all of them.
mapfile -t ORDER < <(printf '%s\n' "${ORDER[@]}" | awk '!seen[$0]++')

# (c) Locust: FastHttpUser, no wait, one process.
if [[ $SKIP_LOCUST != 1 ]]; then
    log "Locust -u $USERS -r $USERS -t ${DURATION}s ..."
    spawn "$WORK/locust.log" "${ON1[@]}" "$LOCUST_BIN" -f "$ROOT/peers/locustfiles/http_max.py" \
        --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" -H "$URL" --csv "$WORK/locust" \
        --only-summary --loglevel WARNING
    # Locust exits 1 when any request failed; the CSV still tells the story.
    wait_bounded "$LAST_PID" "$LIMIT" locust || log "warning: locust exited non-zero"
    [[ -s $WORK/locust_stats.csv ]] || die "Locust wrote no CSV: $(tail -n 20 "$WORK/locust.log")"
    v=$(csv_aggregated "$WORK/locust_stats.csv" 'Requests/s') \
        || die "no Aggregated Requests/s in $WORK/locust_stats.csv"
    record locust "$v" "$(csv_aggregated "$WORK/locust_stats.csv" 'Request Count')"
fi

# (d) Goose: 0.19, one scenario, GET /, no wait. Its JSON report's
# `raw_request_metrics` total has `number_of_requests`; Goose resets its metrics once
# every user has started, so requests/s = requests / (run time after the ramp).
if [[ $SKIP_GOOSE != 1 ]]; then
    log "Goose -u $USERS -r $USERS -t ${DURATION}s ..."
    spawn "$WORK/goose.log" "${ON1[@]}" "$GOOSE_BIN" --host "$URL" -u "$USERS" -r "$USERS" \
        -t "${DURATION}s" --report-file "$WORK/goose.md" --no-print-metrics -q
    wait_bounded "$LAST_PID" "$LIMIT" goose || log "warning: goose exited non-zero"
    [[ -s $WORK/goose.md ]] || die "Goose wrote no report: $(tail -n 20 "$WORK/goose.log")"
    # The markdown report's "Request Metrics" table ends with an "Aggregated" row whose
    # 3rd cell is the request count and 8th the average requests/s over the measured span
    # (after the ramp: the CPU time includes the ramp's second, a slight handicap).
    goose_cell() {
        awk -F'|' -v c="$1" '
            /^## Request Metrics/ { inreq = 1; next }
            /^## / { inreq = 0 }
            inreq && $3 ~ /Aggregated/ { gsub(/[ ,]/, "", $c); print $c; exit }' "$WORK/goose.md"
    }
    GOOSE_RPS=$(goose_cell 9)
    [[ -n $GOOSE_RPS ]] || die "no Aggregated requests/s in $WORK/goose.md"
    record goose "$GOOSE_RPS" "$(goose_cell 4)"
fi

# ---------------------------------------------------------------------------------------
printf '\nHTTP throughput: GET / on nginx (1 worker, CPU 0), %s users, %ss, generator on CPU 1\n' \
    "$USERS" "$DURATION"
printf '%-8s %12s %12s %10s %14s %14s %14s\n' tool requests/s requests "CPU s" "req/CPU-s" \
    "swarm/tool r/s" "swarm/tool r/CPU-s"
for t in "${ORDER[@]}"; do
    if [[ -n ${RPS[swarm]:-} ]]; then
        r=$(ratio "${RPS[swarm]}" "${RPS[$t]}")
        rc=$(ratio "$(per_cpu swarm)" "$(per_cpu "$t")")
    else r=-; rc=-; fi
    printf '%-8s %12.0f %12s %10s %14s %14s %14s\n' "$t" "${RPS[$t]}" "${REQS[$t]}" "${CPU[$t]}" \
        "$(per_cpu "$t")" "$r" "$rc"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if (( ROUNDS > 1 )) && [[ $SKIP_SWARM != 1 ]]; then
    printf '\nRounds (alternating, %ss each): requests per client CPU-second\n' "$DURATION"
    if [[ -n $SWARM_BEFORE ]]; then
        printf '%6s %12s %12s %10s %12s %10s\n' round wrk swarm swarm/wrk before before/wrk
    else
        printf '%6s %12s %12s %10s\n' round wrk swarm swarm/wrk
    fi
    RATIOS=() BRATIOS=()
    for ((i = 0; i < ROUNDS; i++)); do
        RATIOS+=("$(awk -v a="${ROUND_SWARM[$i]}" -v b="${ROUND_WRK[$i]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
        if [[ -n $SWARM_BEFORE ]]; then
            BRATIOS+=("$(awk -v a="${ROUND_BEFORE[$i]}" -v b="${ROUND_WRK[$i]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
            printf '%6d %12s %12s %9.2fx %12s %9.2fx\n' $((i + 1)) "${ROUND_WRK[$i]}" "${ROUND_SWARM[$i]}" \
                "${RATIOS[$i]}" "${ROUND_BEFORE[$i]}" "${BRATIOS[$i]}"
        else
            printf '%6d %12s %12s %9.2fx\n' $((i + 1)) "${ROUND_WRK[$i]}" "${ROUND_SWARM[$i]}" "${RATIOS[$i]}"
        fi
    done
    if [[ -n $SWARM_BEFORE ]]; then
        printf '%6s %12.0f %12.0f %9.2fx %12.0f %9.2fx   (median of each column)\n' median \
            "$(median "${ROUND_WRK[@]}")" "$(median "${ROUND_SWARM[@]}")" "$(median "${RATIOS[@]}")" \
            "$(median "${ROUND_BEFORE[@]}")" "$(median "${BRATIOS[@]}")"
    else
        printf '%6s %12.0f %12.0f %9.2fx   (median of each column)\n' median "$(median "${ROUND_WRK[@]}")" \
            "$(median "${ROUND_SWARM[@]}")" "$(median "${RATIOS[@]}")"
    fi
fi

# ---------------------------------------------------------------------------------------
# Memory per user: RSS of a run with N users minus RSS of a run with 1 user, sampled at the
# same moment once all users are running, divided by N - 1.
# Not called in $(...): the PID must reach PIDS in this shell for the trap.
mem_rss() { # mem_rss NAME USERS CMD... -> sets MEM_RSS to VmRSS in kB at MEM_SAMPLE_AT
    local name=$1 users=$2; shift 2
    spawn "$WORK/mem-$name-$users.log" "$@"
    local pid=$LAST_PID
    nap "$MEM_SAMPLE_AT"
    kill -0 "$pid" 2>/dev/null || die "$name with $users users exited before ${MEM_SAMPLE_AT}s: $(tail -n 20 "$WORK/mem-$name-$users.log")"
    MEM_RSS=$(rss_kb "$pid")
    # The client sides of established connections to nginx: one per user when each user
    # owns its connection (Swarm's default, Locust, Goose), a handful with a shared pool.
    MEM_CONNS=$(ss -Htn state established "( dport = :${URL##*:} )" 2>/dev/null | wc -l)
    wait_bounded "$pid" $((MEM_RUN_TIME + GRACE)) "$name-$users" || true
}
per_user() { awk -v n="$1" -v o="$2" -v u="$3" 'BEGIN { printf "%.2f", (n - o) / (u - 1) }'; }

if [[ $SKIP_MEMORY != 1 ]]; then
    printf '\nMemory per user: liveness users (GET /status, wait between 1 and 2 s), RSS at %ss\n' \
        "$MEM_SAMPLE_AT"
    printf '%-12s %8s %12s %14s %12s %12s\n' tool users "RSS kB" "RSS 1 user kB" "kB / user" connections
    if [[ $SKIP_SWARM != 1 ]]; then
        rate=$(( MEM_USERS / 5 > 0 ? MEM_USERS / 5 : 1 ))
        # Each user with its own connection (the default), then the run's shared pool.
        for pool in own shared; do
            flag=(); [[ $pool == shared ]] && flag=(--shared-pool)
            for u in 1 "$MEM_USERS"; do
                r=$(( u < rate ? u : rate ))
                log "Swarm liveness -u $u -r $r -t ${MEM_RUN_TIME}s ${flag[*]} ..."
                mem_rss "swarm-$pool" "$u" env LOCUST_MIN_WAIT=1 LOCUST_MAX_WAIT=2 \
                    taskset -c 1 "$SWARM_LIVE" -H "$URL" -u "$u" -r "$r" -t "${MEM_RUN_TIME}s" "${flag[@]}"
                rss[$u]=$MEM_RSS
            done
            printf '%-12s %8s %12s %14s %12s %12s\n' "swarm-$pool" "$MEM_USERS" "${rss[$MEM_USERS]}" \
                "${rss[1]}" "$(per_user "${rss[$MEM_USERS]}" "${rss[1]}" "$MEM_USERS")" "$MEM_CONNS"
        done
    fi
    if [[ $SKIP_LOCUST != 1 ]]; then
        rate=$(( LOCUST_MEM_USERS / 5 > 0 ? LOCUST_MEM_USERS / 5 : 1 ))
        for u in 1 "$LOCUST_MEM_USERS"; do
            r=$(( u < rate ? u : rate ))
            log "Locust liveness -u $u -r $r -t ${MEM_RUN_TIME}s ..."
            mem_rss locust "$u" taskset -c 1 "$LOCUST_BIN" \
                -f "$ROOT/benches/locustfiles/liveness.py" --headless -u "$u" -r "$r" \
                -t "${MEM_RUN_TIME}s" -H "$URL" --only-summary --loglevel WARNING
            lrss[$u]=$MEM_RSS
        done
        printf '%-12s %8s %12s %14s %12s %12s\n' locust "$LOCUST_MEM_USERS" "${lrss[$LOCUST_MEM_USERS]}" \
            "${lrss[1]}" "$(per_user "${lrss[$LOCUST_MEM_USERS]}" "${lrss[1]}" "$LOCUST_MEM_USERS")" "$MEM_CONNS"
    fi
    if [[ $SKIP_GOOSE != 1 ]]; then
        # Goose's -t counts from when every user has started.
        rate=$(( GOOSE_MEM_USERS / 5 > 0 ? GOOSE_MEM_USERS / 5 : 1 ))
        for u in 1 "$GOOSE_MEM_USERS"; do
            r=$(( u < rate ? u : rate ))
            log "Goose liveness -u $u -r $r -t ${MEM_RUN_TIME}s ..."
            mem_rss goose "$u" env GOOSE_SCENARIO=liveness taskset -c 1 "$GOOSE_BIN" --host "$URL" \
                -u "$u" -r "$r" -t "${MEM_RUN_TIME}s" --no-print-metrics -q
            grss[$u]=$MEM_RSS
        done
        printf '%-12s %8s %12s %14s %12s %12s\n' goose "$GOOSE_MEM_USERS" "${grss[$GOOSE_MEM_USERS]}" \
            "${grss[1]}" "$(per_user "${grss[$GOOSE_MEM_USERS]}" "${grss[1]}" "$GOOSE_MEM_USERS")" "$MEM_CONNS"
    fi
fi

# ---------------------------------------------------------------------------------------
# Many names: http_names sends GET /?n=<k> with no .name(), NAMES distinct URLs in turn,
# against the same with one URL; RSS near the end of the run and requests per CPU-second.
if [[ $SKIP_NAMES != 1 && $SKIP_SWARM != 1 ]]; then
    declare -A NRSS=() NRPS=() NPER=()
    for n in 1 "$NAMES"; do
        log "Swarm http_names (SWARM_NAMES=$n) -u $USERS -r $USERS -t ${DURATION}s ..."
        spawn "$WORK/names-$n.log" env SWARM_NAMES="$n" taskset -c 1 "$SWARM_NAMES_BIN" -H "$URL" \
            -u "$USERS" -r "$USERS" -t "${DURATION}s" --csv "$WORK/names-$n" --only-summary
        pid=$LAST_PID
        nap $(( DURATION > 2 ? DURATION - 1 : 1 ))
        NRSS[$n]=$(rss_kb "$pid")
        wait_bounded "$pid" "$LIMIT" "names-$n" || die "http_names failed: $(tail -n 20 "$WORK/names-$n.log")"
        NRPS[$n]=$(csv_aggregated "$WORK/names-${n}_stats.csv" 'Requests/s') \
            || die "no Aggregated Requests/s in $WORK/names-${n}_stats.csv"
        reqs=$(csv_aggregated "$WORK/names-${n}_stats.csv" 'Request Count')
        NPER[$n]=$(awk -v n="$reqs" -v t="$LAST_TICKS" -v hz="$HZ" 'BEGIN { if (t > 0) printf "%.0f", n / (t / hz); else print 0 }')
    done
    printf '\nMany names: GET /?n=<k> without .name(), %s users, no wait, %ss, generator on CPU 1\n' \
        "$USERS" "$DURATION"
    printf '%-8s %12s %12s %12s %12s\n' names "RSS kB" requests/s "req/CPU-s" "vs 1 name"
    for n in 1 "$NAMES"; do
        printf '%-8s %12s %12.0f %12s %12s\n' "$n" "${NRSS[$n]}" "${NRPS[$n]}" "${NPER[$n]}" \
            "$(ratio "${NPER[$n]}" "${NPER[1]}")"
    done
    printf 'RSS with %s names minus 1 name: %s MB\n' "$NAMES" \
        "$(calc %.1f "(${NRSS[$NAMES]} - ${NRSS[1]}) / 1024")"
fi

printf '\nload average: %s at the start, %s at the end\n' "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
