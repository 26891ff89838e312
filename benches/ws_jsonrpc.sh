#!/usr/bin/env bash
# JSON-RPC and WebSocket client cost: Swarm beside a bare reqwest loop and a bare
# tokio-tungstenite loop (CPU time per call / message, work per CPU-second), and memory
# per connected idle WebSocket user.
#
# The target (the demo target's /rpc and /ws/echo, or ganache for JSON-RPC) is pinned to
# CPU 0; every client is pinned to CPU 1 and runs alone, one after another, with the same
# concurrency against the same target. Each client reads its own CPU time (user + system,
# /proc/self/stat) when it ends and prints it with the work it did. See benches/README.md.
#
# Env knobs:
#   DURATION=15       seconds per throughput run
#   ROUNDS=2          runs of each client, alternating bare and Swarm (the best is kept)
#   RPC_USERS=32      concurrent JSON-RPC callers
#   WS_USERS=50       concurrent WebSocket connections
#   RPC_TARGET=demo   demo (POST /rpc "echo" on the demo target) or ganache (eth_blockNumber)
#   MEM_USERS=10000   connected idle users for the memory figure; MEM_RATE=2000 per second
#   MEM_SAMPLE_AT=15  seconds after start at which RSS is sampled; MEM_RUN_TIME=20
#   SKIP_RPC=1 SKIP_WS=1 SKIP_MEMORY=1 SKIP_BARE_MEMORY=1
#   KEEP_WORK=1       keep the temporary directory with every log
#
# Load goes to 127.0.0.1 only; every run is bounded by its own duration plus a watchdog;
# the target, ganache and every process started here are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-2}
RPC_USERS=${RPC_USERS:-32}
WS_USERS=${WS_USERS:-50}
RPC_TARGET=${RPC_TARGET:-demo}
MEM_USERS=${MEM_USERS:-10000}
MEM_RATE=${MEM_RATE:-2000}
MEM_SAMPLE_AT=${MEM_SAMPLE_AT:-15}
MEM_RUN_TIME=${MEM_RUN_TIME:-20}
SKIP_RPC=${SKIP_RPC:-0}
SKIP_WS=${SKIP_WS:-0}
SKIP_MEMORY=${SKIP_MEMORY:-0}
SKIP_BARE_MEMORY=${SKIP_BARE_MEMORY:-0}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRACE=${GRACE:-30}

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-ws-bench
GANACHE_PID=""
bench_stop_peers() {
    [[ -n $GANACHE_PID ]] || return 0
    "$ROOT/peers/stop" ganache "$GANACHE_PID" >/dev/null 2>&1 || kill -TERM "$GANACHE_PID" 2>/dev/null || true
}

need taskset "install util-linux"
need awk "install gawk or mawk"
need cargo "install a Rust toolchain"
need getconf "install libc-bin"
case $RPC_TARGET in demo | ganache) ;; *) die "RPC_TARGET=$RPC_TARGET: use demo or ganache" ;; esac
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; pinning target and client apart is impossible"
HZ=$(getconf CLK_TCK)

# 10,000 idle users hold 10,000 sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) > MEM_USERS + 100 )) || log "warning: ulimit -n is $(ulimit -n); $MEM_USERS users will fail to connect"

log "building benches/ws_jsonrpc (release)..."
(cd "$ROOT" && cargo build --release -p swarm-bench-ws) >&2 || die "cargo build --release -p swarm-bench-ws failed"
BIN=$SWARM_TARGET/release
SWARM=$BIN/swarm_ws
# Other work on either core skews every figure (CPU per operation less than rates): say so.
read -r LOAD1 _ </proc/loadavg
if awk -v l="$LOAD1" 'BEGIN { exit !(l > 0.5) }'; then
    log "warning: load average $LOAD1 before the benchmark; figures will be noisy"
fi

# ---------------------------------------------------------------------------------------
# The demo target, pinned to CPU 0, for as long as the whole script may take.
TOTAL=$(( (4 * ROUNDS * (DURATION + GRACE)) + 4 * (MEM_RUN_TIME + GRACE) + 120 ))
spawn "$WORK/target.log" taskset -c 0 "$SWARM" target "$TOTAL"
TARGET_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do
    URL=$(sed -n 's/^URL=//p' "$WORK/target.log" | head -n1)
    [[ -n $URL ]] && break
    kill -0 "$TARGET_PID" 2>/dev/null || die "the demo target exited: $(cat "$WORK/target.log")"
    sleep 0.1
done
[[ -n ${URL:-} ]] || die "the demo target printed no URL= within 10 s"
case $URL in http://127.0.0.1:*) ;; *) die "target URL $URL is not on 127.0.0.1" ;; esac
log "demo target: $URL (PID $TARGET_PID, CPU 0)"
WS_URL=ws://${URL#http://}/ws/echo

# Run one client on CPU 1: sets OPS (its work count, from `KEY=`), FAILS, CPU_S (its own
# CPU seconds), WALL_S and TARGET_S (the target's CPU seconds meanwhile).
measure() { # measure NAME KEY TARGET_PID CMD...
    local name=$1 key=$2 tpid=$3; shift 3
    local t0 t1 w0 w1 logf=$WORK/$name.log
    t0=$(cpu_ticks_or0 "$tpid"); w0=$(now)
    spawn "$logf" taskset -c 1 "$@"
    wait_bounded "$LAST_PID" $((DURATION + GRACE)) "$name" || die "$name failed: $(tail -n 20 "$logf")"
    w1=$(now); t1=$(cpu_ticks_or0 "$tpid")
    OPS=$(sed -n "s/.*$key=\([0-9]*\).*/\1/p" "$logf" | tail -n1)
    FAILS=$(sed -n 's/.*failures=\([0-9]*\).*/\1/p' "$logf" | tail -n1)
    local ticks; ticks=$(sed -n 's/.*ticks=\([0-9]*\).*/\1/p' "$logf" | tail -n1)
    [[ -n $OPS && -n $ticks ]] || die "$name printed no $key=/ticks=: $(tail -n 20 "$logf")"
    (( OPS > 0 )) || die "$name did no work: $(tail -n 20 "$logf")"
    CPU_S=$(calc '%.3f' "$ticks / $HZ")
    WALL_S=$(calc '%.3f' "$w1 - $w0")
    TARGET_S=$(calc '%.3f' "($t1 - $t0) / $HZ")
    log "$name: $key=$OPS failures=$FAILS cpu=${CPU_S}s wall=${WALL_S}s target cpu=${TARGET_S}s"
}

declare -A BEST_US=() BEST_LINE=()
# Keep the round with the least CPU per operation of each tool, and its table row.
keep_best() { # keep_best TOOL
    local us
    us=$(calc '%.3f' "$CPU_S * 1000000 / $OPS")
    if [[ -z ${BEST_US[$1]:-} ]] || awk -v a="$us" -v b="${BEST_US[$1]}" 'BEGIN { exit !(a < b) }'; then
        BEST_US[$1]=$us
        BEST_LINE[$1]=$(printf '%-14s %10d %6d %10.0f %8.0f%% %8.0f%% %10.2f %12.0f' "$1" "$OPS" "$FAILS" \
            "$(calc '%.1f' "$OPS / $WALL_S")" "$(calc '%.1f' "100 * $CPU_S / $WALL_S")" \
            "$(calc '%.1f' "100 * $TARGET_S / $WALL_S")" "$us" "$(calc '%.1f' "$OPS / $CPU_S")")
    fi
}
header() { printf '%-14s %10s %6s %10s %9s %9s %10s %12s\n' tool "$1" fails "$1/s" "client" "target" "CPU us/op" "$1/CPU-s"; }
compare() { # compare SWARM BARE: Swarm's CPU per operation over the reference's
    printf 'Swarm CPU per operation / reference: %s (goal <= 1.10x)\n' \
        "$(ratio "${BEST_US[$1]}" "${BEST_US[$2]}")"
}

# ---------------------------------------------------------------------------------------
# (1) JSON-RPC over HTTP: Swarm's RpcClient beside a bare reqwest loop.
if [[ $SKIP_RPC != 1 ]]; then
    RPC_PID=$TARGET_PID
    if [[ $RPC_TARGET == ganache ]]; then
        log "starting ganache..."
        out=$("$ROOT/peers/start" ganache) || die "peers/start ganache failed; run peers/install ganache"
        GANACHE_PID=$(sed -n 's/^PID=//p' <<<"$out" | head -n1)
        RPC_URL=$(sed -n 's/^URL=//p' <<<"$out" | head -n1)
        [[ -n $GANACHE_PID && -n $RPC_URL ]] || die "peers/start ganache printed no URL=/PID=: $out"
        case $RPC_URL in http://127.0.0.1:*) ;; *) die "ganache URL $RPC_URL is not on 127.0.0.1" ;; esac
        taskset -a -p -c 0 "$GANACHE_PID" >/dev/null || die "cannot pin ganache to CPU 0"
        RPC_PID=$GANACHE_PID
        METHOD=eth_blockNumber
    else
        RPC_URL=$URL/rpc
        METHOD=echo
    fi
    # Warm-up, discarded.
    measure rpc-warmup calls "$RPC_PID" "$BIN/bare_jsonrpc" "$RPC_URL" "$METHOD" "$RPC_USERS" 2
    for ((r = 1; r <= ROUNDS; r++)); do
        measure "rpc-bare-$r" calls "$RPC_PID" "$BIN/bare_jsonrpc" "$RPC_URL" "$METHOD" "$RPC_USERS" "$DURATION"
        keep_best bare-reqwest
        measure "rpc-swarm-$r" calls "$RPC_PID" "$SWARM" rpc "$RPC_URL" "$METHOD" "$RPC_USERS" "$DURATION"
        keep_best swarm
    done
    printf '\nJSON-RPC over HTTP: %s on %s (%s, CPU 0), %s callers, %ss, client on CPU 1; best of %s\n' \
        "$METHOD" "$RPC_TARGET" "$RPC_URL" "$RPC_USERS" "$DURATION" "$ROUNDS"
    header calls
    printf '%s\n' "${BEST_LINE[bare-reqwest]}" "${BEST_LINE[swarm]}"
    compare swarm bare-reqwest
    RPC_RESULT=("${BEST_US[swarm]}" "${BEST_US[bare-reqwest]}")
    bench_stop_peers; GANACHE_PID=""
fi

# ---------------------------------------------------------------------------------------
# (2) WebSocket round trips on the demo target's echo: WsClient beside tokio-tungstenite.
if [[ $SKIP_WS != 1 ]]; then
    BEST_US=(); BEST_LINE=()
    measure ws-warmup messages "$TARGET_PID" "$BIN/bare_ws" echo "$WS_URL" "$WS_USERS" 2
    for ((r = 1; r <= ROUNDS; r++)); do
        measure "ws-bare-$r" messages "$TARGET_PID" "$BIN/bare_ws" echo "$WS_URL" "$WS_USERS" "$DURATION"
        keep_best bare-tungstenite
        measure "ws-swarm-$r" messages "$TARGET_PID" "$SWARM" ws "$URL" "$WS_USERS" "$DURATION"
        keep_best swarm
    done
    printf '\nWebSocket round trips: 48-byte text echoed by the demo target (CPU 0), %s connections, %ss, client on CPU 1; best of %s\n' \
        "$WS_USERS" "$DURATION" "$ROUNDS"
    header msgs
    printf '%s\n' "${BEST_LINE[bare-tungstenite]}" "${BEST_LINE[swarm]}"
    compare swarm bare-tungstenite
fi

# ---------------------------------------------------------------------------------------
# (3) Memory per connected idle WebSocket user: RSS with MEM_USERS users minus RSS with 1,
# sampled MEM_SAMPLE_AT seconds after the start, over MEM_USERS - 1.
mem_rss() { # mem_rss NAME USERS CMD... -> MEM_RSS (kB at MEM_SAMPLE_AT), MEM_CONNECTED
    local name=$1 users=$2; shift 2
    local logf=$WORK/mem-$name-$users.log
    spawn "$logf" taskset -c 1 "$@"
    local pid=$LAST_PID
    nap "$MEM_SAMPLE_AT"
    kill -0 "$pid" 2>/dev/null || die "$name with $users users exited before ${MEM_SAMPLE_AT}s: $(tail -n 20 "$logf")"
    MEM_RSS=$(rss_kb "$pid")
    wait_bounded "$pid" $((MEM_RUN_TIME + GRACE)) "$name-$users" || die "$name with $users users failed: $(tail -n 20 "$logf")"
    MEM_CONNECTED=$(sed -n 's/.*connected=\([0-9]*\).*/\1/p' "$logf" | tail -n1)
    [[ ${MEM_CONNECTED:-0} == "$users" ]] || die "$name: $users users wanted, ${MEM_CONNECTED:-none} connected: $(tail -n 5 "$logf")"
    log "$name: $users users connected, RSS ${MEM_RSS} kB"
}
per_user() { awk -v n="$1" -v o="$2" -v u="$3" 'BEGIN { printf "%.2f", (n - o) / (u - 1) }'; }

if [[ $SKIP_MEMORY != 1 ]]; then
    printf '\nMemory per connected idle WebSocket user (demo target echo, CPU 0), RSS at %ss\n' "$MEM_SAMPLE_AT"
    printf '%-16s %8s %12s %14s %12s\n' tool users "RSS kB" "RSS 1 user kB" "kB / user"
    declare -A rss=()
    for u in 1 "$MEM_USERS"; do
        mem_rss swarm "$u" "$SWARM" idle "$URL" "$u" "$MEM_RUN_TIME" "$MEM_RATE"
        rss[$u]=$MEM_RSS
    done
    printf '%-16s %8s %12s %14s %12s (goal <= 16)\n' swarm "$MEM_USERS" "${rss[$MEM_USERS]}" "${rss[1]}" \
        "$(per_user "${rss[$MEM_USERS]}" "${rss[1]}" "$MEM_USERS")"
    if [[ $SKIP_BARE_MEMORY != 1 ]]; then
        for u in 1 "$MEM_USERS"; do
            mem_rss bare "$u" "$BIN/bare_ws" idle "$WS_URL" "$u" "$MEM_RUN_TIME"
            rss[$u]=$MEM_RSS
        done
        printf '%-16s %8s %12s %14s %12s\n' bare-tungstenite "$MEM_USERS" "${rss[$MEM_USERS]}" "${rss[1]}" \
            "$(per_user "${rss[$MEM_USERS]}" "${rss[1]}" "$MEM_USERS")"
    fi
fi
