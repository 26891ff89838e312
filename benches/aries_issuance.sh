#!/usr/bin/env bash
# Aries credential issuance: N native Swarm holders (examples/issue) that one ACA-Py issuer
# issues ld_proof credentials to, directly (Issue) and through an ACA-Py mediator
# (MediatorIssue); then the reference: Credo holders, one Node process each
# (peers/credo/holder.mjs), on the same kind of issuer.
#
# Every run gets a fresh ACA-Py 1.7.0 issuer (peers/start issuer) pinned to CPU 0, and,
# mediated, a fresh ACA-Py mediator; Swarm, the mediator and the Credo processes are
# pinned to CPU 1. For every N: the holders connect at spawn rate R (each gets its first
# credential right after connecting); once N connections are active on the issuer (its
# admin API) and SETTLE s passed, a steady phase of PHASE s is measured; then Swarm gets
# SIGTERM (it writes its reports). CPU time (/proc/PID/stat) and RSS of Swarm, the issuer
# and the mediator are sampled every SAMPLE s over the whole run ($WORK/TAG.samples). A
# 1-holder run per mode gives the baseline RSS. See benches/README.md
# ("aries_issuance.sh") for what each figure means.
#
# Env knobs:
#   NS="10:0:0 100:5:10 1000:100:200"   N:MIN_WAIT:MAX_WAIT per run (wait between a
#                    holder's credentials, s; 0:0 keeps the issuer saturated)
#   MODES="direct mediated"   (empty: only the Credo runs)
#   R=4              spawn rate, holders/s
#   PHASE=60         seconds of the measured steady phase
#   SETTLE=10        seconds between the last connection and the steady phase
#   BASE_PHASE=15    steady seconds of the 1-holder baseline runs (0: no baseline)
#   TIMEOUT=120      --timeout: how long a holder waits for each message
#   STALL=60         onboarding is over when the active count has not moved this long
#                    after the last spawn
#   SAMPLE=2         seconds between CPU/RSS samples
#   SKIP_CREDO=0     1: skip the Credo reference (needs peers/install credo-holder)
#   CREDO_PROCS="10 50"  Credo runs: that many processes of one holder each
#   CREDO_WAIT=0:0   MIN:MAX wait of the Credo holders
#   CREDO_PHASE=60   steady seconds of each Credo run
#   CREDO_MEDIATED=0 1: the Credo runs go through a fresh mediator too (MEDIATION_URL)
#   KEEP_WORK=1      keep logs, samples and reports in /tmp/swarm-issuance.*
#
# Loopback only; every process started here is stopped by PID on exit (Ctrl-C included),
# the peers through peers/stop; every run is bounded by Swarm's -t plus a watchdog, every
# loop by a count or a deadline.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS=${NS:-10:0:0 100:5:10 1000:100:200}
MODES=${MODES-direct mediated}
R=${R:-4}
PHASE=${PHASE:-60}
SETTLE=${SETTLE:-10}
BASE_PHASE=${BASE_PHASE:-15}
TIMEOUT=${TIMEOUT:-120}
STALL=${STALL:-60}
SAMPLE=${SAMPLE:-2}
SKIP_CREDO=${SKIP_CREDO:-0}
CREDO_PROCS=${CREDO_PROCS:-10 50}
CREDO_WAIT=${CREDO_WAIT:-0:0}
CREDO_PHASE=${CREDO_PHASE:-60}
CREDO_MEDIATED=${CREDO_MEDIATED:-0}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SWARM_BIN=$SWARM_TARGET/release/examples/issue
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-issuance
ISS_PID="" MED_PID=""
bench_stop_peers() { stop_peers; }

# Stop the run's issuer and mediator (by PID, through peers/stop), keeping their logs.
stop_peers() {
    local name pid dir
    for name in issuer mediator; do
        if [[ $name == issuer ]]; then pid=$ISS_PID; else pid=$MED_PID; fi
        [[ -n $pid ]] || continue
        dir=$(sed -n 's/^DIR=//p' "$WORK/$name.out" 2>/dev/null | head -n1)
        [[ -n $dir && -f $dir/log ]] && cp "$dir/log" "$WORK/$name-$RUN_TAG.log" 2>/dev/null
        "$ROOT/peers/stop" "$name" "$pid" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    done
    ISS_PID="" MED_PID=""
}

# A fresh peer pinned to CPU (taskset, then every thread re-pinned). Sets ISS_PID,
# ADMIN_URL, ISSUER_DID (issuer) or MED_PID, INVITATION (mediator).
start_peer() { # start_peer NAME CPU
    local name=$1 cpu=$2 pid
    PEER_TIMEOUT=${PEER_TIMEOUT:-90} taskset -c "$cpu" "$ROOT/peers/start" "$name" >"$WORK/$name.out" \
        || die "peers/start $name failed; run peers/install $name"
    pid=$(sed -n 's/^PID=//p' "$WORK/$name.out" | head -n1)
    [[ -n $pid ]] || die "peers/start $name printed no PID"
    taskset -a -p -c "$cpu" "$pid" >/dev/null
    if [[ $name == issuer ]]; then
        ISS_PID=$pid
        ADMIN_URL=$(sed -n 's/^ADMIN_URL=//p' "$WORK/$name.out" | head -n1)
        ISSUER_DID=$(sed -n 's/^ISSUER_DID=//p' "$WORK/$name.out" | head -n1)
        case $ADMIN_URL in http://127.0.0.1:*) ;; *) die "issuer admin '$ADMIN_URL' is not on 127.0.0.1" ;; esac
        [[ $ISSUER_DID == did:key:* ]] || die "peers/start issuer printed no ISSUER_DID"
    else
        MED_PID=$pid
        INVITATION=$(sed -n 's/^INVITATION=//p' "$WORK/$name.out" | head -n1)
        case $INVITATION in http://127.0.0.1:*) ;; *) die "mediator invitation is not on 127.0.0.1" ;; esac
    fi
}

# Active connections on the issuer (admin API), -1 when it did not answer in 20 s.
active() {
    curl -s --max-time 20 "$ADMIN_URL/connections?state=active&limit=10000" \
        | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["results"]))' 2>/dev/null \
        || echo -1
}

# Every SAMPLE s until PID ends (at most MAX samples): time, then CPU ticks and RSS kB of
# each of PIDS... (0 0 for a PID that is not running).
sampler() { # sampler OUT MAX PID...
    local out=$1 max=$2 k p line
    shift 2
    for ((k = 0; k < max; k++)); do
        kill -0 "$1" 2>/dev/null || break
        line=$(now)
        for p in "$@"; do
            if [[ -n $p ]]; then line+=" $(cpu_ticks_or0 "$p") $(rss_kb "$p")"; else line+=" 0 0"; fi
        done
        echo "$line" >>"$out"
        sleep "$SAMPLE"
    done
}

# ---------------------------------------------------------------------------------------
[[ -x $ROOT/peers/start ]] || die "peers/start missing"
need taskset "install util-linux"
need curl "install curl"
need python3 "install python3"
need cargo "install a Rust toolchain"
(($(nproc) >= 2)) || log "warning: fewer than 2 CPUs; the issuer and Swarm share a core"
if [[ $SKIP_CREDO != 1 ]]; then
    need node "install Node.js, or run with SKIP_CREDO=1"
    [[ -d $ROOT/.peers/mediator-credo/node_modules/@credo-ts/core ]] \
        || die "Credo is not installed: run peers/install credo-holder (or SKIP_CREDO=1)"
fi
for v in R PHASE SETTLE BASE_PHASE TIMEOUT STALL SAMPLE CREDO_PHASE; do
    [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$v must be a number, got '${!v}'"
done
for spec in $NS; do
    [[ $spec =~ ^[0-9]+:[0-9.]+:[0-9.]+$ ]] || die "NS entries are N:MIN_WAIT:MAX_WAIT, got '$spec'"
done
for m in $MODES; do [[ $m == direct || $m == mediated ]] || die "MODES: direct and/or mediated, got '$m'"; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building the issue example (release)..."
(cd "$ROOT" && cargo build --release --example issue) >&2 || die "cargo build --release --example issue failed"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# One Swarm run. Sets ONB_OK ONB_S CREDS RATE P50 P95 P99 STEADY_PCT FAILS REQS
# SW_PCT ISS_PCT MED_PCT SW_MS ISS_MS MED_MS RSS_END ISS_RSS MED_RSS.
run_one() { # run_one TAG MODE N MIN MAX PHASE
    local tag=$1 mode=$2 n=$3 min=$4 max=$5 phase=$6
    RUN_TAG=$tag
    log "[$tag] starting the issuer on CPU 0..."
    start_peer issuer 0
    local user=Issue
    if [[ $mode == mediated ]]; then
        log "[$tag] starting the mediator on CPU 1..."
        start_peer mediator 1
        user=MediatorIssue
    fi
    local spawn_s limit
    spawn_s=$(calc %d "($n + $R - 1) / $R")
    limit=$((2 * spawn_s + STALL + SETTLE + phase + 120))
    local cmd=(taskset -c 1 "$SWARM_BIN" "$user" -u "$n" -r "$R" -t "${limit}s"
        --min-wait "$min" --max-wait "$max" --timeout "$TIMEOUT"
        --json "$WORK/$tag.json" --csv "$WORK/$tag" --only-summary)
    printf '%s ' "${cmd[@]}" >"$WORK/$tag.cmd"
    log "[$tag] $(cat "$WORK/$tag.cmd")"
    local t0 pid
    t0=$(now)
    if [[ $mode == mediated ]]; then
        ISSUER_URL=$ADMIN_URL ISSUER_DID=$ISSUER_DID MEDIATION_URL=$INVITATION "${cmd[@]}" >"$WORK/$tag.log" 2>&1 &
    else
        ISSUER_URL=$ADMIN_URL ISSUER_DID=$ISSUER_DID "${cmd[@]}" >"$WORK/$tag.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    sampler "$WORK/$tag.samples" "$(calc %d "$limit / $SAMPLE + 60")" "$pid" "$ISS_PID" "$MED_PID" &
    PIDS+=("$!")

    # Onboarding: until N connections are active on the issuer, or the count stalls.
    local a=0 last=-1 last_move t t_done="" every=$((n > 500 ? 5 : 2))
    last_move=$(now)
    while kill -0 "$pid" 2>/dev/null; do
        nap "$every"
        a=$(active)
        t=$(now)
        if ((a >= 0 && a != last)); then last=$a; last_move=$t; t_done=$t; fi
        ((a >= n)) && break
        if awk -v t="$t" -v t0="$t0" -v s="$spawn_s" -v m="$last_move" -v st="$STALL" \
            'BEGIN { exit !(t - t0 > s && t - m > st) }'; then
            log "[$tag] onboarding stalled at $a/$n active connections"
            break
        fi
        awk -v t="$t" -v t0="$t0" -v l="$limit" 'BEGIN { exit !(t - t0 > l) }' && break
    done
    kill -0 "$pid" 2>/dev/null || die "[$tag] Swarm exited during onboarding: $(tail -n 20 "$WORK/$tag.log")"
    ONB_OK=$last
    ONB_S=$(calc %.1f "${t_done:-$(now)} - $t0")
    log "[$tag] onboarding: $ONB_OK/$n connected in ${ONB_S}s"
    nap "$SETTLE"

    local ts te sw0 sw1 is0 is1 md0=0 md1=0
    ts=$(now); sw0=$(cpu_ticks_or0 "$pid"); is0=$(cpu_ticks_or0 "$ISS_PID")
    [[ -n $MED_PID ]] && md0=$(cpu_ticks_or0 "$MED_PID")
    nap "$phase"
    kill -0 "$pid" 2>/dev/null || die "[$tag] Swarm exited during the steady phase: $(tail -n 20 "$WORK/$tag.log")"
    te=$(now); sw1=$(cpu_ticks_or0 "$pid"); is1=$(cpu_ticks_or0 "$ISS_PID")
    [[ -n $MED_PID ]] && md1=$(cpu_ticks_or0 "$MED_PID")
    RSS_END=$(rss_kb "$pid"); ISS_RSS=$(rss_kb "$ISS_PID"); MED_RSS=0
    [[ -n $MED_PID ]] && MED_RSS=$(rss_kb "$MED_PID")
    kill -TERM "$pid" 2>/dev/null || true
    wait_bounded "$pid" 60 swarm || true
    stop_peers
    [[ -s $WORK/$tag.json ]] || die "[$tag] no JSON report: $(tail -n 20 "$WORK/$tag.log")"

    # Credentials in the steady phase: the Aggregated history's requests between its ends,
    # over 2 (each credential is one POST send-offer and one DIDCOMM issue_credential once
    # every holder is connected; a reconnect would add more, and is counted apart).
    local out
    out=$(python3 - "$WORK/$tag.json" "$ts" "$te" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ts, te = float(sys.argv[2]), float(sys.argv[3])
def at(t):
    rows = [h for h in d["history"] if h["timestamp"] <= t]
    return rows[-1]["total_requests"] if rows else 0
e = {x["name"]: x for x in d["entries"]}
c = e.get("issue_credential", {"percentiles_ms": {}, "requests": 0, "failures": 0})
pc = c["percentiles_ms"] or {}
g = lambda k: "%.0f" % pc[k] if pc.get(k) is not None else "-"
wins = [h["percentiles_ms"] for h in d["history"] if ts + 10 <= h["timestamp"] <= te]
wins = [w for w in wins[::10] if w and w[0] is not None]
f = lambda v: "%.0f" % v
steady = "%s/%s/%s" % (f(sorted(w[0] for w in wins)[len(wins) // 2]), f(max(w[5] for w in wins)),
                       f(max(w[7] for w in wins))) if wins else "-"
rec = e.get("reconnect", {}).get("requests", 0)
print((at(te) - at(ts)) / 2, g("p50"), g("p95"), g("p99"), c["requests"], c["failures"], rec, steady)
PY
) || die "[$tag] cannot read $WORK/$tag.json"
    read -r CREDS P50 P95 P99 REQS FAILS RECONN STEADY_PCT <<<"$out"
    local dt
    dt=$(calc %.3f "$te - $ts")
    RATE=$(calc %.2f "$CREDS / $dt")
    SW_PCT=$(calc %.1f "100 * ($sw1 - $sw0) / $CLK_TCK / $dt")
    ISS_PCT=$(calc %.1f "100 * ($is1 - $is0) / $CLK_TCK / $dt")
    MED_PCT=$(calc %.1f "100 * ($md1 - $md0) / $CLK_TCK / $dt")
    per_cred() { awk -v a="$1" -v b="$2" -v c="$CREDS" -v k="$CLK_TCK" 'BEGIN { if (c > 0) printf "%.1f", 1000 * (b - a) / k / c; else print "-" }'; }
    SW_MS=$(per_cred "$sw0" "$sw1"); ISS_MS=$(per_cred "$is0" "$is1"); MED_MS=$(per_cred "$md0" "$md1")
    log "[$tag] steady ${dt}s: $CREDS credentials ($RATE/s); CPU % swarm $SW_PCT issuer $ISS_PCT mediator $MED_PCT;" \
        "ms CPU/credential swarm $SW_MS issuer $ISS_MS mediator $MED_MS; RSS kB swarm $RSS_END issuer $ISS_RSS mediator $MED_RSS"
}

# ---------------------------------------------------------------------------------------
# The reference: PROCS Node processes of one Credo holder each (peers/credo/holder.mjs),
# started 1 s apart on CPU 1, a fresh issuer on CPU 0 (and a mediator on CPU 1 with
# CREDO_MEDIATED=1). Once every holder printed READY or FAILED (or 120 s + 3 s per
# process passed), SETTLE s, then a steady phase of CREDO_PHASE s: CRED lines counted at
# its ends, CPU of the processes and the issuer, RSS of each process at its end.
# Sets C_READY C_CREDS C_RATE C_PCT C_ISS_PCT C_MED_PCT C_MS C_ISS_MS C_RSS C_P50 C_P95 C_P99 C_FAILS.
run_credo() { # run_credo TAG PROCS MIN MAX
    local tag=$1 procs=$2 min=$3 max=$4 j
    RUN_TAG=$tag
    start_peer issuer 0
    local med=""
    if [[ $CREDO_MEDIATED == 1 ]]; then start_peer mediator 1; med=$INVITATION; fi
    local pids=() t0
    t0=$(now)
    for ((j = 0; j < procs; j++)); do
        ISSUER_URL=$ADMIN_URL ISSUER_DID=$ISSUER_DID MEDIATION_URL=$med HOLDERS=1 \
            MIN_WAIT=$min MAX_WAIT=$max TIMEOUT=$TIMEOUT DURATION=$((CREDO_PHASE + 900)) \
            taskset -c 1 node "$ROOT/peers/credo/holder.mjs" >"$WORK/$tag-$j.out" 2>"$WORK/$tag-$j.log" &
        pids+=("$!")
        PIDS+=("$!")
        if ((procs > 1)); then nap 1; fi
    done
    local ready=0 failed=0 deadline=$((SECONDS + 120 + procs * 3))
    while ((SECONDS < deadline)); do
        ready=$(cat "$WORK/$tag"-*.out 2>/dev/null | grep -c '^READY ' || true)
        failed=$(cat "$WORK/$tag"-*.out 2>/dev/null | grep -c '^FAILED ' || true)
        ((ready + failed >= procs)) && break
        nap 1
    done
    C_READY=$ready
    log "[$tag] $ready/$procs Credo holders connected ($failed failed) in $(calc %.1f "$(now) - $t0")s"
    nap "$SETTLE"
    local ts te c0=0 c1=0 is0 is1 md0=0 md1=0 n0 n1 pid
    ts=$(now); is0=$(cpu_ticks_or0 "$ISS_PID"); [[ -n $MED_PID ]] && md0=$(cpu_ticks_or0 "$MED_PID")
    for pid in "${pids[@]}"; do c0=$((c0 + $(cpu_ticks_or0 "$pid"))); done
    n0=$(cat "$WORK/$tag"-*.out | grep -c '^CRED ' || true)
    nap "$CREDO_PHASE"
    te=$(now); is1=$(cpu_ticks_or0 "$ISS_PID"); [[ -n $MED_PID ]] && md1=$(cpu_ticks_or0 "$MED_PID")
    n1=$(cat "$WORK/$tag"-*.out | grep -c '^CRED ' || true)
    C_RSS=0
    for pid in "${pids[@]}"; do
        c1=$((c1 + $(cpu_ticks_or0 "$pid")))
        C_RSS=$((C_RSS + $(rss_kb "$pid")))
    done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait_bounded "$pid" 30 credo || true; done
    stop_peers
    local dt
    dt=$(calc %.3f "$te - $ts")
    C_CREDS=$((n1 - n0))
    C_RATE=$(calc %.2f "$C_CREDS / $dt")
    C_PCT=$(calc %.1f "100 * ($c1 - $c0) / $CLK_TCK / $dt")
    C_ISS_PCT=$(calc %.1f "100 * ($is1 - $is0) / $CLK_TCK / $dt")
    C_MED_PCT=$(calc %.1f "100 * ($md1 - $md0) / $CLK_TCK / $dt")
    C_MS=$(awk -v a="$c0" -v b="$c1" -v c="$C_CREDS" -v k="$CLK_TCK" 'BEGIN { if (c > 0) printf "%.1f", 1000 * (b - a) / k / c; else print "-" }')
    C_ISS_MS=$(awk -v a="$is0" -v b="$is1" -v c="$C_CREDS" -v k="$CLK_TCK" 'BEGIN { if (c > 0) printf "%.1f", 1000 * (b - a) / k / c; else print "-" }')
    local out
    out=$(cat "$WORK/$tag"-*.out | python3 -c '
import json, sys
ms, fails = [], 0
for l in sys.stdin:
    if l.startswith("CRED "): ms.append(float(l.split()[2]))
    elif l.startswith("SUMMARY "): fails += json.loads(l[8:]).get("credential_failures", 0)
ms.sort()
p = lambda q: "%.0f" % ms[min(len(ms) - 1, max(0, -(-len(ms) * q // 100) - 1))] if ms else "-"
print(p(50), p(95), p(99), fails, len(ms))
') || die "[$tag] cannot read the Credo output"
    local total
    read -r C_P50 C_P95 C_P99 C_FAILS total <<<"$out"
    C_FAILS="$C_FAILS/$((total + C_FAILS))"
    log "[$tag] steady ${dt}s: $C_CREDS credentials ($C_RATE/s); Credo ${C_PCT}% CPU (${C_MS} ms/credential)," \
        "issuer ${C_ISS_PCT}% (${C_ISS_MS} ms/credential); RSS ${C_RSS} kB in $procs processes"
}

# ---------------------------------------------------------------------------------------
rows=()
for mode in $MODES; do
    RSS_BASE=""
    if [[ $BASE_PHASE != 0 ]]; then
        run_one "$mode-base" "$mode" 1 1 2 "$BASE_PHASE"
        RSS_BASE=$RSS_END
        log "baseline ($mode): 1 holder, RSS $RSS_BASE kB"
    fi
    for spec in $NS; do
        IFS=: read -r n a b <<<"$spec"
        run_one "$mode-n$n" "$mode" "$n" "$a" "$b" "$PHASE"
        kb=$([[ -n $RSS_BASE ]] && calc %.1f "($RSS_END - $RSS_BASE) / $n" || echo -)
        rows+=("$(printf '| %s | %s | %s-%s | %s | %s | %s | %s | %s/%s/%s | %s | %s | %s | %s | %s | %s | %s | %s | **%s** (%s) | %s | %s |' \
            "$mode" "$n" "$a" "$b" "$ONB_OK" "$ONB_S" "$RATE" "$CREDS" "$P50" "$P95" "$P99" "$STEADY_PCT" \
            "$FAILS/$REQS" "$SW_PCT" "$ISS_PCT" "$MED_PCT" "$SW_MS" "$ISS_MS" "$MED_MS" "$kb" "$RSS_END" \
            "$ISS_RSS" "$MED_RSS")")
    done
done

crows=()
if [[ $SKIP_CREDO != 1 ]]; then
    IFS=: read -r a b <<<"$CREDO_WAIT"
    for procs in $CREDO_PROCS; do
        run_credo "credo-$procs" "$procs" "$a" "$b"
        crows+=("$(printf '| %s | %s/%s | %s-%s | %s | %s | %s/%s/%s | %s | %s | %s | %s | %s | %s | **%s** |' \
            "$([[ $CREDO_MEDIATED == 1 ]] && echo mediated || echo direct)" "$C_READY" "$procs" "$a" "$b" \
            "$C_RATE" "$C_CREDS" "$C_P50" "$C_P95" "$C_P99" "$C_FAILS" "$C_PCT" "$C_ISS_PCT" "$C_MED_PCT" \
            "$C_MS" "$C_ISS_MS" "$(calc %.0f "$C_RSS / 1024 / $procs")")")
    done
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nAries issuance: ACA-Py 1.7.0 issuer on CPU 0; Swarm (examples/issue), the mediator and Credo on CPU 1\n'
printf 'load average at the start %s, at the end %s; R=%s/s, PHASE=%ss, --timeout %ss\n\n' "$LOAD_START" "$LOAD_END" "$R" "$PHASE" "$TIMEOUT"
printf '| mode | holders | wait s | connected | onboard s | cred/s | creds (steady) | p50/p95/p99 ms (run) | steady p50/p95/p99 | fail/creds | swarm %% | issuer %% | mediator %% | swarm ms CPU/cred | issuer ms CPU/cred | mediator ms CPU/cred | kB/holder (RSS kB) | issuer RSS kB | mediator RSS kB |\n'
printf '|--|--:|--|--:|--:|--:|--:|--|--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
for row in "${rows[@]}"; do printf '%s\n' "$row"; done
if ((${#crows[@]})); then
    printf '\nThe reference: Credo 0.5.19 holders (peers/credo/holder.mjs, Node %s), one process each, on CPU 1\n\n' "$(node --version)"
    printf '| mode | connected/processes | wait s | cred/s | creds (steady) | p50/p95/p99 ms (run) | fail/creds | credo %% | issuer %% | mediator %% | credo ms CPU/cred | issuer ms CPU/cred | MB/process |\n'
    printf '|--|--:|--|--:|--:|--|--:|--:|--:|--:|--:|--:|--:|\n'
    for row in "${crows[@]}"; do printf '%s\n' "$row"; done
fi
for f in "$WORK"/*.cmd; do printf '  %s: %s\n' "$(basename "$f" .cmd)" "$(cat "$f")"; done
