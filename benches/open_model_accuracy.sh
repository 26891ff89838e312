#!/usr/bin/env bash
# Open-model accuracy: does Swarm start iterations at the rate asked, and on time?
#
# One nginx (peers/start nginx, pinned to CPU 0, one worker) serves every run; Swarm's
# http_max example runs alone on CPU 1 with a constant arrival rate (--arrival-rate), one
# run per rate, one after another. Each iteration is one GET of TARGET_PATH: /status by
# default, a response nginx makes without opening a file (about 100,000/s on its core,
# against about 50,000/s for the static page /), so that at 50,000/s the target is not
# the limit and the figures are Swarm's. From each run's JSON report
# the script prints the achieved rate (iterations started / DURATION, and requests/s), its
# deviation from the target, dropped iterations, start lateness (actual minus scheduled
# start) p50/p99/max, Swarm's CPU time per iteration, and the CPU time the host stole
# from this machine's cores meanwhile (a virtual machine's vCPUs descheduled by its host:
# every stolen millisecond is a millisecond of lateness for the iterations due in it). In
# the same run, a closed-model run of the same scenario (CLOSED_USERS users, no wait, same
# core) gives the CPU time per request that each open-model line is compared with, and
# for each rate a closed-model run capped at that rate (--max-rps) the CPU per request at
# the same load (a target that is not saturated costs its client a wake-up per request
# that a saturated one does not). Goal (issue 10), at 50,000/s on one core: within 1% of
# the target, lateness p99 under 1 ms, CPU per iteration at most 1.3x the closed model's
# per request. See benches/README.md.
#
# Env knobs:
#   RATES="10000 20000 50000"  target arrival rates, iterations/s, one run each
#   DURATION=30     seconds of load per run
#   POOL_PRE=100    users created before the start (--pre-allocated)
#   POOL_MAX=1000   most users the pool may grow to (--max-users)
#   CLOSED_USERS=50 users of the closed-model runs (-u, -r; 0: no closed-model run)
#   CAPPED=1        also a closed-model run capped at each rate (0: none)
#   ROUNDS=1        open-model runs per rate, alternating over the rates (a line each)
#   TARGET_PATH=/status  the path each iteration GETs (/ for nginx's static page)
#   NICE=           a niceness for nginx and Swarm (e.g. -20, as root): each runs in a session
#                   of its own (setsid) whose scheduler autogroup gets that niceness, so on a
#                   machine shared with compilers they get their cores almost alone (empty:
#                   unchanged)
#   RT=             a SCHED_FIFO priority (e.g. 1, as root) for nginx and Swarm (chrt -f):
#                   other work on their cores (compilers) no longer preempts them, which
#                   is what start lateness is most sensitive to (the kernel still keeps
#                   about 5% of each core for other work). Overrides NICE. Empty: unchanged
#   QUIET_SECS=10   before each run, wait until no rustc has run for this long...
#   QUIET_MAX=900   ...but at most this many seconds, then go on with a warning
#   WARMUP=3        seconds of an unreported open-model run at the first rate (0: none)
#   SWARM_BIN=      an http_max binary to measure instead of building this tree's (an
#                   earlier build, for before/after figures; build it with --release)
#   KEEP_WORK=1     keep the temporary directory with every log and JSON report
#
# Everything talks to 127.0.0.1 only; every run is bounded by its own run time plus a
# watchdog; nginx and every process started here are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATES=${RATES:-"10000 20000 50000"}
DURATION=${DURATION:-30}
POOL_PRE=${POOL_PRE:-100}
POOL_MAX=${POOL_MAX:-1000}
CLOSED_USERS=${CLOSED_USERS:-50}
CAPPED=${CAPPED:-1}
ROUNDS=${ROUNDS:-1}
TARGET_PATH=${TARGET_PATH:-/status}
NICE=${NICE:-}
RT=${RT:-}
QUIET_SECS=${QUIET_SECS:-10}
QUIET_MAX=${QUIET_MAX:-900}
WARMUP=${WARMUP:-3}
SWARM_BIN=${SWARM_BIN:-}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# Slack on top of a run's own run time before the watchdog kills it.
GRACE=${GRACE:-30}

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-open
NGINX_PID=""
bench_stop_peers() {
    [[ -n $NGINX_PID ]] || return 0
    "$ROOT/peers/stop" nginx "$NGINX_PID" >/dev/null 2>&1 || kill -TERM "$NGINX_PID" 2>/dev/null || true
}

# Busy and total jiffies of one CPU ("cpu0", "cpu1") from /proc/stat, as "BUSY TOTAL".
cpu_jiffies() { awk -v c="$1" '$1 == c { print $2 + $3 + $4 + $6 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# Jiffies the host stole from CPUs 0 and 1 together (/proc/stat's steal column).
steal_jiffies() { awk '$1 == "cpu0" || $1 == "cpu1" { s += $9 } END { print s + 0 }' /proc/stat; }
busy_between() { # busy_between "BUSY0 TOTAL0" "BUSY1 TOTAL1" -> busy % in between
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
        if (t > 0) printf "%.0f", 100 * (y[1] - x[1]) / t; else print "nan" }'
}

# Machine-wide TCP counters (all of this host, not only this run): listen-queue overflows
# (a SYN dropped because a listener's accept queue was full; the client retries after 1 s,
# then 3 s) and SYN retransmissions. Prints "OVERFLOWS SYNRETRANS".
tcp_counters() {
    awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) k[$i] = i; h = 1; next }
        print $(k["ListenOverflows"]) + 0, $(k["TCPSynRetrans"]) + 0 }' /proc/net/netstat 2>/dev/null || echo "0 0"
}

# CPU busy % over one second, all cores.
busy_pct() {
    local a b a1 a2 a3 a4 a5 a6 a7 b1 b2 b3 b4 b5 b6 b7
    read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat
    nap 1
    read -r _ b1 b2 b3 b4 b5 b6 b7 _ </proc/stat
    a=$((a1 + a2 + a3 + a5 + a6 + a7)); b=$((b1 + b2 + b3 + b5 + b6 + b7))
    awk -v busy=$((b - a)) -v idle=$((b4 - a4)) 'BEGIN { printf "%d", 100 * busy / (busy + idle + 0.001) }'
}

# Wait until no rustc has run for QUIET_SECS (someone may be compiling on this machine),
# at most QUIET_MAX seconds; then warn if the machine is busy anyway.
wait_quiet() { # wait_quiet WHAT
    local quiet=0 waited=0 said=0
    while (( quiet < QUIET_SECS )); do
        if pgrep -x rustc >/dev/null 2>&1; then
            quiet=0
            if (( !said )); then log "rustc is running; waiting for ${QUIET_SECS}s without it before $1..."; said=1; fi
        else
            quiet=$((quiet + 1))
        fi
        if (( waited >= QUIET_MAX )); then
            log "warning: rustc still running after ${QUIET_MAX}s; measuring $1 anyway"
            break
        fi
        nap 1
        waited=$((waited + 1))
    done
    local busy
    busy=$(busy_pct)
    if (( busy >= 10 )); then
        log "warning: the machine is ${busy}% busy before $1; figures will be low and noisy"
        BUSY_NOTE="busy ${busy}%"
    else
        BUSY_NOTE=""
    fi
}

# Fields of a JSON report, tab-separated: duration_secs, schedule.iterations,
# schedule.dropped, total.requests, total.rps, total.failures, lateness p50, p99, p100
# (ms), and the most pool users any second of the history saw. jq when installed, else
# python3.
report_fields() { # report_fields FILE
    if command -v jq >/dev/null 2>&1; then
        jq -r '[.duration_secs, .schedule.iterations, .schedule.dropped, .total.requests,
                .total.rps, .total.failures, .schedule.lateness.percentiles_ms.p50,
                .schedule.lateness.percentiles_ms.p99, .schedule.lateness.percentiles_ms.p100,
                ([.history[]?.users] | max)]
               | map(if . == null then "nan" else tostring end) | @tsv' "$1"
    else
        python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s, t = r.get("schedule") or {}, r["total"]
p = (s.get("lateness") or {}).get("percentiles_ms") or {}
v = [r["duration_secs"], s.get("iterations"), s.get("dropped"), t["requests"], t["rps"],
     t["failures"], p.get("p50"), p.get("p99"), p.get("p100"),
     max((h["users"] for h in r.get("history") or []), default=None)]
print("\t".join("nan" if x is None else str(x) for x in v))' "$1"
    fi
}

# ---------------------------------------------------------------------------------------
# Preflight.
[[ -x $ROOT/peers/start ]] || die "peers/start missing; run peers/install"
need taskset "install util-linux"
need awk "install gawk or mawk"
need pgrep "install procps"
need cargo "install a Rust toolchain"
command -v jq >/dev/null 2>&1 || need python3 "install jq or python3 (to read the JSON reports)"
for r in $RATES; do
    [[ $r =~ ^[0-9]+$ && $r -gt 0 ]] || die "RATES must be positive whole numbers, got '$r'"
done
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || die "DURATION must be whole seconds, got '$DURATION'"
[[ $CLOSED_USERS =~ ^[0-9]+$ ]] || die "CLOSED_USERS must be a whole number, got '$CLOSED_USERS'"
[[ $CAPPED =~ ^[01]$ ]] || die "CAPPED must be 0 or 1, got '$CAPPED'"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || die "ROUNDS must be a positive whole number, got '$ROUNDS'"
[[ $TARGET_PATH == /* ]] || die "TARGET_PATH must start with '/', got '$TARGET_PATH'"
# http_max GETs this path.
export HTTP_MAX_PATH=$TARGET_PATH
[[ -z $NICE || $NICE =~ ^-?[0-9]+$ ]] || die "NICE must be a whole number (-20..19), got '$NICE'"
# The command prefixes that run Swarm on CPU 1 and start nginx: with NICE, each in a new
# session whose autogroup takes that niceness (set from inside, after setsid, so that no
# other session's is touched).
SWARM_ON=(taskset -c 1)
NGINX_START=("$ROOT/peers/start" nginx)
if [[ -n $NICE ]]; then
    need setsid "install util-linux"
    [[ -w /proc/self/autogroup ]] || die "NICE needs the scheduler's autogroups (/proc/self/autogroup)"
    # shellcheck disable=SC2016 # expanded by the inner sh
    AT_NICE=(setsid -w sh -c 'echo "$0" >/proc/self/autogroup && exec nice -n "$0" "$@"' "$NICE")
    SWARM_ON=("${AT_NICE[@]}" taskset -c 1)
    NGINX_START=("${AT_NICE[@]}" "${NGINX_START[@]}")
    "${AT_NICE[@]}" true || die "cannot run at niceness $NICE (a negative one needs root)"
fi
if [[ -n $RT ]]; then
    [[ $RT =~ ^[0-9]+$ ]] && (( RT >= 1 && RT <= 99 )) || die "RT must be a priority 1..99, got '$RT'"
    need chrt "install util-linux"
    chrt -f "$RT" true 2>/dev/null || die "cannot use SCHED_FIFO (RT=$RT needs root)"
    SWARM_ON=(chrt -f "$RT" taskset -c 1)
    NGINX_START=(chrt -f "$RT" "$ROOT/peers/start" nginx)
fi
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; pinning server and client apart is impossible"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Build before starting anything, so compile time never overlaps a measurement.
if [[ -n $SWARM_BIN ]]; then
    SWARM_MAX=$SWARM_BIN
    log "measuring $SWARM_MAX (SWARM_BIN; not built here)"
else
    log "building Swarm http_max (release)..."
    (cd "$ROOT" && cargo build --release --example http_max) >&2 \
        || die "cargo build --release --example http_max failed"
    SWARM_MAX=$SWARM_TARGET/release/examples/http_max
fi
[[ -x $SWARM_MAX ]] || die "$SWARM_MAX missing after the build"
CLK_TCK=$(getconf CLK_TCK)
# This script's polling runs beside nginx on CPU 0, never on Swarm's core.
bench_pin_self 0

# ---------------------------------------------------------------------------------------
log "starting nginx on CPU 0..."
NGINX_OUT=$(NGINX_CPU=0 NGINX_WORKERS=1 NGINX_CONNECTIONS=${NGINX_CONNECTIONS:-4096} "${NGINX_START[@]}") \
    || die "peers/start nginx failed; run peers/install nginx"
URL=$(sed -n 's/^URL=//p' <<<"$NGINX_OUT" | head -n1)
NGINX_PID=$(sed -n 's/^PID=//p' <<<"$NGINX_OUT" | head -n1)
[[ -n $URL && -n $NGINX_PID ]] || die "peers/start nginx printed no URL=/PID=: $NGINX_OUT"
case $URL in
    http://127.0.0.1:*) ;;
    *) die "nginx URL $URL is not on 127.0.0.1" ;;
esac
log "nginx: $URL (PID $NGINX_PID)"
# The one worker is the master's child: its CPU time tells whether the server was the limit.
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -n1 || true)

open_run() { # open_run NAME RATE SECONDS
    spawn "$WORK/$1.log" "${SWARM_ON[@]}" "$SWARM_MAX" -H "$URL" --arrival-rate "$2" -t "${3}s" \
        --pre-allocated "$POOL_PRE" --max-users "$POOL_MAX" --json "$WORK/$1.json" --only-summary
}

FIRST_RATE=${RATES%% *}
if (( WARMUP > 0 )); then
    wait_quiet "the warm-up"
    log "warm-up (not reported): --arrival-rate $FIRST_RATE -t ${WARMUP}s ..."
    open_run warmup "$FIRST_RATE" "$WARMUP"
    wait_bounded "$LAST_PID" $((WARMUP + GRACE)) warmup || die "warm-up failed: $(tail -n 20 "$WORK/warmup.log")"
fi

# The closed model's CPU per request, the yardstick of the open model's CPU per iteration.
# A closed-model run of the same scenario on the same core: its CPU per request in
# CLOSED_RUN_US and a line describing it in CLOSED_RUN_LINE.
closed_run() { # closed_run NAME WHAT [EXTRA ARGS...]
    local name=$1 what=$2 rc=0 s0 cdur creqs crps cfails
    shift 2
    wait_quiet "the $what run"
    log "Swarm http_max -u $CLOSED_USERS -r $CLOSED_USERS -t ${DURATION}s $* ($what) ..."
    LOAD=$(cut -d' ' -f1 /proc/loadavg)
    s0=$(steal_jiffies)
    spawn "$WORK/$name.log" "${SWARM_ON[@]}" "$SWARM_MAX" -H "$URL" -u "$CLOSED_USERS" -r "$CLOSED_USERS" \
        -t "${DURATION}s" --json "$WORK/$name.json" --only-summary "$@"
    wait_bounded "$LAST_PID" $((DURATION + GRACE)) "swarm-$name" || rc=$?
    [[ -s $WORK/$name.json ]] || die "no JSON report for the $what run (exit $rc): $(tail -n 20 "$WORK/$name.log")"
    IFS=$'\t' read -r cdur _ _ creqs crps cfails _ _ _ _ < <(report_fields "$WORK/$name.json")
    CLOSED_RUN_US=$(awk -v t="$LAST_TICKS" -v hz="$CLK_TCK" -v n="$creqs" 'BEGIN { if (n > 0) printf "%.2f", 1e6 * t / hz / n; else print 0 }')
    CLOSED_RUN_LINE=$(awk -v what="$what" -v u="$CLOSED_USERS" -v n="$creqs" -v rps="$crps" -v f="$cfails" -v us="$CLOSED_RUN_US" \
        -v t="$LAST_TICKS" -v hz="$CLK_TCK" -v dur="$cdur" -v load="$LOAD" -v note="$BUSY_NOTE" \
        -v st=$(($(steal_jiffies) - s0)) 'BEGIN {
        printf "%s, %d users: %d requests, %.1f req/s, %d failures, swarm %.0f%% of a core, %s us CPU per request, steal %.1f%% (load %s) %s",
            what, u, n, rps, f, 100 * t / hz / dur, us, 100 * st / hz / dur / 2, load, note }')
    log "$CLOSED_RUN_LINE"
}

# The closed model's CPU per request at full speed, the yardstick of the open model's CPU
# per iteration.
CLOSED_US=0
CLOSED_LINES=("(no closed-model run: CLOSED_USERS=0)")
if (( CLOSED_USERS > 0 )); then
    closed_run closed "closed model, no wait"
    CLOSED_US=$CLOSED_RUN_US
    CLOSED_LINES=("$CLOSED_RUN_LINE")
fi

LINES=()
declare -A CAPPED_US=()
for round in $(seq 1 "$ROUNDS"); do
for rate in $RATES; do
    # The closed model capped at this rate: its CPU per request at the same load.
    if (( CAPPED && CLOSED_USERS > 0 )) && [[ -z ${CAPPED_US[$rate]:-} ]]; then
        closed_run "capped-$rate" "closed model capped at $rate/s" --max-rps "$rate"
        CAPPED_US[$rate]=$CLOSED_RUN_US
        CLOSED_LINES+=("$CLOSED_RUN_LINE")
    fi
    wait_quiet "the $rate/s run"
    log "Swarm http_max --arrival-rate $rate -t ${DURATION}s --pre-allocated $POOL_PRE --max-users $POOL_MAX (round $round) ..."
    name="rate-$rate-$round"
    w0=0; [[ -n $NGINX_WORKER ]] && w0=$(cpu_ticks "$NGINX_WORKER")
    c0a=$(cpu_jiffies cpu0); c1a=$(cpu_jiffies cpu1); read -r ova sya < <(tcp_counters)
    sa=$(steal_jiffies)
    LOAD=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s.%N)
    open_run "$name" "$rate" "$DURATION"
    rc=0
    wait_bounded "$LAST_PID" $((DURATION + GRACE)) "swarm-$rate" || rc=$?
    t1=$(date +%s.%N)
    c0=$(busy_between "$c0a" "$(cpu_jiffies cpu0)"); c1=$(busy_between "$c1a" "$(cpu_jiffies cpu1)")
    sb=$(steal_jiffies)
    read -r ovb syb < <(tcp_counters)
    w1=0; [[ -n $NGINX_WORKER ]] && w1=$(cpu_ticks "$NGINX_WORKER")
    # A non-zero exit with a report (failed requests, say) still measures the schedule.
    [[ -s $WORK/$name.json ]] \
        || die "no JSON report for $rate/s (exit $rc): $(tail -n 20 "$WORK/$name.log")"
    ((rc == 0)) || log "warning: http_max exited $rc at $rate/s"
    IFS=$'\t' read -r dur iters dropped reqs rps fails p50 p99 p100 peak < <(report_fields "$WORK/$name.json")
    # CPU % of one core over the wall time of the run (the process's own, from /proc).
    LINES+=("$(awk -v rate="$rate" -v D="$DURATION" -v dur="$dur" -v it="$iters" -v dr="$dropped" \
        -v rq="$reqs" -v rps="$rps" -v f="$fails" -v p50="$p50" -v p99="$p99" -v mx="$p100" \
        -v ct="$LAST_TICKS" -v w="$((w1 - w0))" -v hz="$CLK_TCK" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        -v c0="$c0" -v c1="$c1" -v peak="$peak" -v ov=$((ovb - ova)) -v sy=$((syb - sya)) -v note="$BUSY_NOTE" \
        -v cus="$CLOSED_US" -v caps="${CAPPED_US[$rate]:-0}" -v st=$((sb - sa)) -v load="$LOAD" 'BEGIN {
            ach = it / D; dev = 100 * (ach - rate) / rate
            us = (it > 0) ? 1e6 * ct / hz / it : 0
            x = (cus > 0) ? sprintf("%.2fx", us / cus) : "-"
            xc = (caps > 0) ? sprintf("%.2fx", us / caps) : "-"
            ok = (dev >= -1 && dev <= 1 && p99 + 0 < 1 && p99 != "nan" && (cus == 0 || us <= 1.3 * cus)) ? "yes" : "no"
            printf "%8d %10d %10.1f %+7.2f%% %10.1f %8d %7d %9.3f %9.3f %9.3f %6.0f%% %7.2f %6s %6s %6.0f%% %5s%% %5s%% %5.1f%% %5s %6d %6d %5s  %-4s %s\n",
                rate, it, ach, dev, rps, dr, f, p50, p99, mx,
                100 * ct / hz / wall, us, x, xc, 100 * w / hz / wall, c1, c0, 100 * st / hz / wall / 2, peak, ov, sy, load, ok, note
        }')")
    log "${LINES[-1]}"
done
done

# ---------------------------------------------------------------------------------------
printf '\nOpen model accuracy: GET %s on nginx (1 worker, CPU 0), Swarm on CPU 1, %ss per rate, pool %s..%s users\n' \
    "$TARGET_PATH" "$DURATION" "$POOL_PRE" "$POOL_MAX"
printf '%s\n' "${CLOSED_LINES[@]}"
printf '(achieved = iterations started / %ss; lateness = actual minus scheduled start, ms; swarm, nginx = their own CPU,\n' "$DURATION"
printf ' cpu1, cpu0 = the whole core, %% of one core; us/it = swarm CPU time per iteration started, us; x clsd = that\n'
printf ' over the closed model'"'"'s CPU per request at full speed, x cap = over the closed model'"'"'s capped at the same\n'
printf ' rate; steal = CPU time the host took from both cores, %% of them; pool = most pool users in any second;\n'
printf ' lsnovf, synrtx = TCP listen-queue overflows and SYN retransmissions on the whole host; load = 1-min load\n'
printf ' average at the start; goal: |dev| <= 1%%, p99 < 1 ms and us/it <= 1.3x closed)\n'
printf '%8s %10s %10s %8s %10s %8s %7s %9s %9s %9s %7s %7s %6s %6s %7s %6s %6s %6s %5s %6s %6s %5s  %-4s\n' \
    target iterations achieved dev req/s dropped fails "late p50" "late p99" "late max" \
    swarm us/it "x clsd" "x cap" nginx cpu1 cpu0 steal pool lsnovf synrtx load goal
for l in "${LINES[@]}"; do printf '%s\n' "$l"; done
