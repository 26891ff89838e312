#!/usr/bin/env bash
# Aries mediator load: N native Swarm agents (examples/mediator_ping) on one ACA-Py mediator.
#
# One ACA-Py 1.7.0 mediator (peers/start mediator, pinned to CPU 0) per run; Swarm's
# mediator_ping pinned to CPU 1. For every N in NS: the agents connect (didexchange) and
# get mediation at a spawn rate R; once every agent is mediated (the mediator's admin API
# counts granted mediations) a steady ping phase of PING_PHASE seconds is measured, then
# Swarm is stopped with SIGTERM (it writes its reports). A 1-agent run gives the baseline
# RSS. Then the reference it replaces: Credo agents (Node.js) on the same kind of mediator.
# See benches/README.md ("aries_mediator.sh") for what each figure means.
#
# Env knobs:
#   NS="100 1000"    agent counts (5000 works too: ~12 min of onboarding at R=7); an
#                    entry N:MIN:MAX gives that N its own wait, e.g. "100 5000:60:120"
#   R=7              spawn rate, agents/s (ACA-Py onboards ~8/s on one core)
#   PING_PHASE=60    seconds of the measured steady phase
#   BASE_PHASE=20    steady seconds of the 1-agent baseline run
#   WAIT=1:2         --min-wait:--max-wait of every run
#   SLOW_WAIT=10:20  a second run with this wait for each N whose WAIT load
#                    (N / mean wait) is above PING_CAP pings/s; empty: never
#   PING_CAP=80      ACA-Py's ping capacity on one core assumed for the rule above
#   PING_TIMEOUT=10  --timeout: seconds before a ping without a reply is a failure
#   STALL=30         onboarding is over when the granted count has not moved for this long
#                    after the last agent was spawned
#   SKIP_CREDO=0     1: skip the Credo reference runs (peers/credo/agent.mjs, needs
#                    peers/install mediator-credo): CREDO_PROCS Node processes of one
#                    Credo agent each, then one process of CREDO_SHARED agents, on a fresh
#                    mediator, same WAIT, CREDO_PHASE seconds of steady pings
#   CREDO_PROCS=10 CREDO_SHARED=50 CREDO_PHASE=30
#   KEEP_WORK=1      keep logs and reports in /tmp/swarm-aries.*
#
# Loopback only; every process started here is stopped by PID on exit (Ctrl-C included),
# the mediator through peers/stop; every run is bounded by Swarm's -t plus a watchdog.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS=${NS:-100 1000}
R=${R:-7}
PING_PHASE=${PING_PHASE:-60}
BASE_PHASE=${BASE_PHASE:-20}
WAIT=${WAIT:-1:2}
SLOW_WAIT=${SLOW_WAIT-10:20}
PING_CAP=${PING_CAP:-80}
PING_TIMEOUT=${PING_TIMEOUT:-10}
STALL=${STALL:-30}
SKIP_CREDO=${SKIP_CREDO:-0}
CREDO_PROCS=${CREDO_PROCS:-10}
CREDO_SHARED=${CREDO_SHARED:-50}
CREDO_PHASE=${CREDO_PHASE:-30}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SWARM_BIN=$SWARM_TARGET/release/examples/mediator_ping
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-aries
MED_PID=""
bench_stop_peers() { stop_mediator; }

stop_mediator() {
    [[ -n $MED_PID ]] || return 0
    local dir
    dir=$(sed -n 's/^DIR=//p' "$WORK/mediator.out" 2>/dev/null | head -n1)
    [[ -n $dir && -f $dir/log ]] && cp "$dir/log" "$WORK/mediator-$RUN_TAG.log" 2>/dev/null
    "$ROOT/peers/stop" mediator "$MED_PID" >/dev/null 2>&1 || kill -TERM "$MED_PID" 2>/dev/null || true
    MED_PID=""
}

# Granted mediations on the mediator (admin API, loopback).
granted() {
    curl -s --max-time 20 "$ADMIN/mediation/requests?state=granted" \
        | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["results"]))' 2>/dev/null \
        || echo -1
}

# ---------------------------------------------------------------------------------------
[[ -x $ROOT/peers/start ]] || die "peers/start missing"
need taskset "install util-linux"
need curl "install curl"
need python3 "install python3"
need cargo "install a Rust toolchain"
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; the mediator and Swarm share a core"
if [[ $SKIP_CREDO != 1 ]]; then
    need node "install Node.js, or run with SKIP_CREDO=1"
    [[ -d $ROOT/.peers/mediator-credo/node_modules/@credo-ts/core ]] \
        || die "Credo is not installed: run peers/install mediator-credo (or SKIP_CREDO=1)"
fi
for v in R PING_PHASE BASE_PHASE PING_TIMEOUT STALL PING_CAP CREDO_PROCS CREDO_SHARED CREDO_PHASE; do
    [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number, got '${!v}'"
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building mediator_ping (release)..."
(cd "$ROOT" && cargo build --release --example mediator_ping) >&2 \
    || die "cargo build --release --example mediator_ping failed"

# A compiler on either core skews every figure: wait for 10 s without rustc (at most 5 min).
quiet=0
for ((i = 0; i < 300 && quiet < 10; i++)); do
    if pgrep -x rustc >/dev/null; then quiet=0; else quiet=$((quiet + 1)); fi
    nap 1
done
((quiet >= 10)) || log "warning: rustc still running; figures will be low and noisy"

# ---------------------------------------------------------------------------------------
# One run: fresh mediator on CPU 0, N agents on CPU 1, onboarding, steady phase, SIGTERM.
# Sets: ONB_S, ONB_OK, PINGS, SW_CPU_PCT, MED_CPU_PCT, US_PER_PING, RSS_END, RSS_MAX,
#       P50 P95 P99, PING_FAILS, PING_REQS, CONN_FAILS, MED_FAILS
# A fresh ACA-Py mediator on CPU 0. Sets RUN_TAG, MED_PID, ADMIN, INV.
start_mediator() { # start_mediator TAG
    RUN_TAG=$1
    log "[$1] starting the mediator on CPU 0..."
    MEDIATOR_RAW_KEY=1 taskset -c 0 "$ROOT/peers/start" mediator >"$WORK/mediator.out" \
        || die "peers/start mediator failed; run peers/install mediator"
    MED_PID=$(sed -n 's/^PID=//p' "$WORK/mediator.out" | head -n1)
    ADMIN=$(sed -n 's/^ADMIN=//p' "$WORK/mediator.out" | head -n1)
    INV=$(sed -n 's/^INVITATION=//p' "$WORK/mediator.out" | head -n1)
    [[ -n $MED_PID && -n $ADMIN && -n $INV ]] || die "peers/start mediator printed no PID/ADMIN/INVITATION"
    case $ADMIN in http://127.0.0.1:*) ;; *) die "mediator admin $ADMIN is not on 127.0.0.1" ;; esac
    case $INV in http://127.0.0.1:*) ;; *) die "invitation $INV is not on 127.0.0.1" ;; esac
    # Every thread of the mediator on CPU 0 (it was started under taskset; make sure).
    taskset -a -p -c 0 "$MED_PID" >/dev/null
}

run_one() { # run_one TAG N RATE MIN MAX PHASE
    local tag=$1 n=$2 rate=$3 min=$4 max=$5 phase=$6
    start_mediator "$tag"
    local inv=$INV

    # -t is only the upper bound; the script ends the run with SIGTERM after the phase.
    local spawn_s limit
    spawn_s=$(calc %d "($n + $rate - 1) / $rate")
    limit=$((2 * spawn_s + STALL + phase + 60))
    local cmd=(taskset -c 1 "$SWARM_BIN" --mediation-url "$inv" -u "$n" -r "$rate" -t "${limit}s"
        --min-wait "$min" --max-wait "$max" --timeout "$PING_TIMEOUT"
        --json "$WORK/$tag.json" --csv "$WORK/$tag" --only-summary)
    local shown=("${cmd[@]}")
    shown[5]='"$INVITATION"'
    printf '%s ' "${shown[@]}" >"$WORK/$tag.cmd"
    log "[$tag] $(cat "$WORK/$tag.cmd")"
    local t0 pid
    t0=$(now)
    "${cmd[@]}" >"$WORK/$tag.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")

    # Onboarding: until N mediations are granted, or the count stalls after the last spawn.
    local g=0 last=-1 last_move t_done
    last_move=$(now)
    # The admin API lists every granted record: ask less often when there are thousands.
    local every=$(( n > 1000 ? n / 500 : 2 ))
    while kill -0 "$pid" 2>/dev/null; do
        nap "$every"
        g=$(granted)
        local t
        t=$(now)
        # -1: the admin API did not answer in 10 s (an overloaded mediator): no information.
        if ((g >= 0 && g != last)); then last=$g; last_move=$t; t_done=$t; fi
        ((g >= n)) && break
        if awk -v t="$t" -v t0="$t0" -v s="$spawn_s" -v m="$last_move" -v st="$STALL" \
            'BEGIN { exit !(t - t0 > s && t - m > st) }'; then
            log "[$tag] onboarding stalled at $g/$n granted"
            break
        fi
        if awk -v t="$t" -v t0="$t0" -v l="$limit" 'BEGIN { exit !(t - t0 > l) }'; then break; fi
    done
    kill -0 "$pid" 2>/dev/null || die "[$tag] Swarm exited during onboarding: $(tail -n 20 "$WORK/$tag.log")"
    ONB_S=$(calc %.1f "${t_done:-$(now)} - $t0")
    log "[$tag] onboarding: $last/$n granted in ${ONB_S}s"

    # Steady phase: CPU ticks of both processes at its ends, RSS every 5 s.
    local ts te sw0 sw1 md0 md1 r
    RSS_MAX=0
    ts=$(now); sw0=$(cpu_ticks_or0 "$pid"); md0=$(cpu_ticks_or0 "$MED_PID")
    local k
    for ((k = 0; k < phase; k += 5)); do
        nap $(( phase - k < 5 ? phase - k : 5 ))
        kill -0 "$pid" 2>/dev/null || die "[$tag] Swarm exited during the steady phase: $(tail -n 20 "$WORK/$tag.log")"
        r=$(rss_kb "$pid"); ((r > RSS_MAX)) && RSS_MAX=$r
    done
    te=$(now); sw1=$(cpu_ticks_or0 "$pid"); md1=$(cpu_ticks_or0 "$MED_PID")
    RSS_END=$(rss_kb "$pid")
    local med_rss
    med_rss=$(rss_kb "$MED_PID")
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 600)); do nap 0.1; waited=$((waited + 1)); done
    kill -0 "$pid" 2>/dev/null && { log "[$tag] Swarm did not stop in 60 s; SIGKILL"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || true
    stop_mediator
    [[ -s $WORK/$tag.json ]] || die "[$tag] no JSON report: $(tail -n 20 "$WORK/$tag.log")"

    # Pings in the steady phase: the Aggregated history's request count between its ends.
    # When onboarding was over these are all trust pings (failed or not); when it stalled
    # (an overloaded mediator), they include the stragglers' connect/mediate attempts.
    local out
    out=$(python3 - "$WORK/$tag.json" "$ts" "$te" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ts, te = float(sys.argv[2]), float(sys.argv[3])
def at(t):
    rows = [h for h in d["history"] if h["timestamp"] <= t]
    return rows[-1]["total_requests"] if rows else 0
e = {x["name"]: x for x in d["entries"]}
p = e.get("trust_ping", {"percentiles_ms": {}, "requests": 0, "failures": 0})
pc = p["percentiles_ms"] or {}
g = lambda k: "%.1f" % pc[k] if pc.get(k) is not None else "-"
# Steady-phase latency: the history's 10-s windows that lie inside the phase, back to back
# (all pings once onboarding is over): the median of their p50s, the worst p95 and p99.
wins = [h["percentiles_ms"] for h in d["history"] if ts + 10 <= h["timestamp"] <= te]
wins = [w for w in wins[::10] if w and w[0] is not None]
f = lambda v: "%.1f" % v
sp50 = f(sorted(w[0] for w in wins)[len(wins) // 2]) if wins else "-"
sp95 = f(max(w[5] for w in wins)) if wins else "-"
sp99 = f(max(w[7] for w in wins)) if wins else "-"
print(at(te) - at(ts), g("p50"), g("p95"), g("p99"), p["requests"], p["failures"],
      e.get("connect", {}).get("failures", 0), e.get("mediate", {}).get("failures", 0),
      e.get("mediate", {}).get("requests", 0) - e.get("mediate", {}).get("failures", 0),
      "%s/%s/%s" % (sp50, sp95, sp99))
PY
) || die "[$tag] cannot read $WORK/$tag.json"
    read -r PINGS P50 P95 P99 PING_REQS PING_FAILS CONN_FAILS MED_FAILS MED_OK STEADY_PCT <<<"$out"
    ONB_OK=$MED_OK
    local dt
    dt=$(calc %.3f "$te - $ts")
    SW_CPU_PCT=$(calc %.1f "100 * ($sw1 - $sw0) / $CLK_TCK / $dt")
    MED_CPU_PCT=$(calc %.1f "100 * ($md1 - $md0) / $CLK_TCK / $dt")
    US_PER_PING=$( ((PINGS > 0)) && calc %.1f "1e6 * ($sw1 - $sw0) / $CLK_TCK / $PINGS" || echo -)
    PING_RATE=$(calc %.1f "$PINGS / $dt")
    ONB_RATE=$(calc %.2f "$MED_OK / $ONB_S")
    log "[$tag] steady ${dt}s: $PINGS pings ($PING_RATE/s), Swarm ${SW_CPU_PCT}% CPU, mediator ${MED_CPU_PCT}% (RSS ${med_rss} kB), Swarm RSS ${RSS_END} kB (max $RSS_MAX)"
}

# ---------------------------------------------------------------------------------------
# The reference: PROCS Node processes of PER Credo agents each (peers/credo/agent.mjs) on
# CPU 1, a fresh mediator on CPU 0, the same wait; once every agent is mediated (READY
# lines) or ONBOARD_LIMIT s passed, a steady phase of CREDO_PHASE s, then SIGTERM (each
# process prints a SUMMARY line). Sets C_READY, C_RSS (kB, all processes), C_CPU_PCT,
# C_MED_CPU_PCT, C_US_PER_PING, C_PINGS, C_FAILS, C_P50, C_ONB_S.
run_credo() { # run_credo TAG PROCS PER MIN MAX
    local tag=$1 procs=$2 per=$3 min=$4 max=$5
    start_mediator "$tag"
    local total=$((procs * per)) pids=() j t0
    t0=$(now)
    for ((j = 0; j < procs; j++)); do
        MEDIATION_URL=$INV AGENTS=$per MIN_WAIT=$min MAX_WAIT=$max TIMEOUT=$PING_TIMEOUT \
            DURATION=$((CREDO_PHASE + 600)) SPAWN_INTERVAL_MS=300 \
            taskset -c 1 node "$ROOT/peers/credo/agent.mjs" >"$WORK/$tag-$j.out" 2>"$WORK/$tag-$j.log" &
        pids+=("$!")
        PIDS+=("$!")
        # Staggered as today's setups start them (module load alone takes 1-2 s).
        ((procs > 1)) && nap 1
    done
    local ready=0 failed=0 deadline=$((SECONDS + 120 + total * 2))
    while ((SECONDS < deadline)); do
        ready=$(cat "$WORK/$tag"-*.out 2>/dev/null | grep -c '^READY ' || true)
        failed=$(cat "$WORK/$tag"-*.out 2>/dev/null | grep -c '^FAILED ' || true)
        ((ready + failed >= total)) && break
        nap 1
    done
    C_ONB_S=$(calc %.1f "$(now) - $t0")
    C_READY=$ready
    log "[$tag] $ready/$total Credo agents mediated ($failed failed) in ${C_ONB_S}s"
    local ts te c0=0 c1=0 md0 md1 pid
    ts=$(now); md0=$(cpu_ticks_or0 "$MED_PID")
    for pid in "${pids[@]}"; do c0=$((c0 + $(cpu_ticks_or0 "$pid"))); done
    nap "$CREDO_PHASE"
    te=$(now); md1=$(cpu_ticks_or0 "$MED_PID")
    C_RSS=0
    for pid in "${pids[@]}"; do
        c1=$((c1 + $(cpu_ticks_or0 "$pid")))
        C_RSS=$((C_RSS + $(rss_kb "$pid")))
    done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        local w=0
        while kill -0 "$pid" 2>/dev/null && ((w < 300)); do nap 0.1; w=$((w + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    stop_mediator
    # Pings counted by the processes over the whole run; CPU per ping over the steady phase
    # uses the pings of that phase, estimated from the steady rate (agents / mean wait).
    local out
    out=$(cat "$WORK/$tag"-*.out | sed -n 's/^SUMMARY //p' | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
pings = sum(r.get("pings", 0) for r in rows)
fails = sum(r.get("ping_failures", 0) for r in rows)
p50 = sorted(r["p50_ms"] for r in rows if r.get("p50_ms") is not None)
print(len(rows), pings, fails, "%.1f" % p50[len(p50) // 2] if p50 else "-")
') || die "[$tag] cannot read the Credo summaries"
    local nsum
    read -r nsum C_PINGS C_FAILS C_P50 <<<"$out"
    ((nsum == procs)) || log "[$tag] warning: $nsum of $procs processes printed a SUMMARY"
    local dt steady_pings
    dt=$(calc %.3f "$te - $ts")
    C_CPU_PCT=$(calc %.1f "100 * ($c1 - $c0) / $CLK_TCK / $dt")
    C_MED_CPU_PCT=$(calc %.1f "100 * ($md1 - $md0) / $CLK_TCK / $dt")
    steady_pings=$(calc %.1f "$C_READY * $dt / (($min + $max) / 2)")
    C_US_PER_PING=$(awk -v p="$steady_pings" 'BEGIN { exit !(p > 0) }' \
        && calc %.0f "1e6 * ($c1 - $c0) / $CLK_TCK / $steady_pings" || echo -)
    log "[$tag] steady ${dt}s: Credo ${C_CPU_PCT}% CPU, mediator ${C_MED_CPU_PCT}%, RSS ${C_RSS} kB in $procs processes"
}

# ---------------------------------------------------------------------------------------
plan=()
for n in $NS; do
    # N:MIN:MAX runs N agents with that wait (and no SLOW_WAIT rerun).
    if [[ $n =~ ^[0-9]+:[0-9.]+:[0-9.]+$ ]]; then
        plan+=("$n")
        continue
    fi
    [[ $n =~ ^[0-9]+$ ]] || die "NS must hold whole numbers or N:MIN:MAX, got '$n'"
    plan+=("$n:$WAIT")
    if [[ -n $SLOW_WAIT ]]; then
        IFS=: read -r a b <<<"$WAIT"
        if awk -v n="$n" -v a="$a" -v b="$b" -v c="$PING_CAP" 'BEGIN { exit !(n / ((a + b) / 2) > c) }'; then
            plan+=("$n:$SLOW_WAIT")
        fi
    fi
done

IFS=: read -r a b <<<"$WAIT"
run_one base-1 1 1 "$a" "$b" "$BASE_PHASE"
RSS_BASE=$RSS_END
log "baseline: 1 agent, RSS $RSS_BASE kB"

rows=()
for p in "${plan[@]}"; do
    IFS=: read -r n a b <<<"$p"
    run_one "n$n-w$a-$b" "$n" "$R" "$a" "$b" "$PING_PHASE"
    kb=$(calc %.1f "($RSS_END - $RSS_BASE) / $n")
    rows+=("$(printf '%6s %7s %7s %10s %8s %9s %9s %8s %7s %7s %7s %18s %9s %11s' \
        "$n" "$a-$b" "$ONB_OK" "$ONB_RATE" "$PING_RATE" "$US_PER_PING" "$SW_CPU_PCT" "$MED_CPU_PCT" \
        "$P50" "$P95" "$P99" "$STEADY_PCT" "$PING_FAILS/$PING_REQS" "$kb ($RSS_END)")")
done

crows=()
if [[ $SKIP_CREDO != 1 ]]; then
    IFS=: read -r a b <<<"$WAIT"
    for spec in "$CREDO_PROCS:1" "1:$CREDO_SHARED"; do
        IFS=: read -r procs per <<<"$spec"
        run_credo "credo-${procs}x$per" "$procs" "$per" "$a" "$b"
        agents=$((procs * per))
        [[ $per == 1 ]] && C_PROC_KB=$(calc %.0f "$C_RSS / $procs")
        [[ $per != 1 && -n ${C_PROC_KB:-} ]] && C_EXTRA_KB=$(calc %.0f "($C_RSS - $C_PROC_KB) / ($per - 1)")
        crows+=("$(printf '%9s %7s %9s %9s %14s %12s %9s %8s %9s %9s %7s %9s' \
            "$procs" "$per" "$C_READY/$agents" "$C_ONB_S" "$C_RSS" \
            "$(calc %.0f "$C_RSS / ($C_READY > 0 ? $C_READY : 1)")" \
            "$(calc %.0f "$C_RSS / $procs")" "$C_CPU_PCT" "$C_MED_CPU_PCT" "$C_US_PER_PING" \
            "$C_P50" "$C_FAILS/$C_PINGS")")
    done
fi

printf '\nAries mediator: ACA-Py 1.7.0 on CPU 0, Swarm mediator_ping on CPU 1, spawn rate %s/s, steady phase %ss\n' "$R" "$PING_PHASE"
printf 'baseline RSS (1 agent): %s kB; pings: --timeout %ss; p50/p95/p99 over the whole run, ms; steady: 10-s windows of the steady phase (median p50, worst p95/p99)\n' "$RSS_BASE" "$PING_TIMEOUT"
printf '%6s %7s %7s %10s %8s %9s %9s %8s %7s %7s %7s %18s %9s %11s\n' \
    N wait mediated onboard/s pings/s "us/ping" "swarm%" "acapy%" p50 p95 p99 "steady p50/p95/p99" "ping fail" "kB/agent (RSS)"
for row in "${rows[@]}"; do printf '%s\n' "$row"; done
for f in "$WORK"/*.cmd; do printf '  %s: %s\n' "$(basename "$f" .cmd)" "$(cat "$f")"; done
if ((${#crows[@]})); then
    printf '\nThe reference: Credo 0.5.19 agents (peers/credo/agent.mjs, Node %s) on CPU 1, a fresh ACA-Py on CPU 0, wait %s s, steady %ss\n' \
        "$(node --version)" "$WAIT" "$CREDO_PHASE"
    printf '%9s %7s %9s %9s %14s %12s %9s %8s %9s %9s %7s %9s\n' \
        processes "agents" mediated "onboard s" "RSS total kB" "kB/agent" "kB/proc" "credo%" "acapy%" "us/ping" p50 "ping fail"
    for row in "${crows[@]}"; do printf '%s\n' "$row"; done
    printf '  us/ping: CPU over the steady phase / (mediated agents x phase / mean wait)\n'
    [[ -z ${C_EXTRA_KB:-} ]] || printf '  one agent per process: %s kB; each extra agent in a shared process: %s kB\n' "$C_PROC_KB" "$C_EXTRA_KB"
fi
