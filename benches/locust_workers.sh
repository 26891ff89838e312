#!/usr/bin/env bash
# Swarm workers and Python Locust workers under one real Locust 2.47.0 master.
#
# A. WORKERS worker processes (USERS_PER users each, GET /index.html every WAIT s, the
#    http_basic scenario) under one headless master: the master's CPU share and memory,
#    and each worker's CPU per 3-second statistics report and memory, for Swarm workers
#    and then for Python workers, each kind alone. From the master's cost per worker:
#    how many workers saturate its core.
# B. One worker at full speed (50 users, no wait, GET /; the http_max scenario, Locust's
#    FastHttpUser) under the same kind of master: requests per CPU-second of the worker,
#    Swarm beside Python.
#
# nginx (1 worker) and the master share CPU 0; every worker is pinned to CPU 1.
#
# Env knobs:
#   WORKERS=100     workers in part A          USERS_PER=1   users per worker in part A
#   PHASE=30        seconds measured in part A  EFF_TIME=20   seconds of load in part B
#   SPAWN_RATE=10   users per second the part-A master starts
#   WAIT=1          part A: seconds between a user's requests (LOCUST_MIN_WAIT/MAX_WAIT)
#   SKIP_A=1, SKIP_B=1, SKIP_PYTHON=1           skip a part, or the Python side
#   KEEP_WORK=1     keep logs and CSV files
#
# Everything binds 127.0.0.1; every process started here is stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-dist

WORKERS=${WORKERS:-100}
USERS_PER=${USERS_PER:-1}
PHASE=${PHASE:-30}
EFF_TIME=${EFF_TIME:-20}
SKIP_A=${SKIP_A:-0}
SKIP_B=${SKIP_B:-0}
SKIP_PYTHON=${SKIP_PYTHON:-0}
SPAWN_RATE=${SPAWN_RATE:-10}
# Part A's wait between a user's requests, seconds. At 0.1 s, 100 Python workers on one
# core (1,000 requests/s of Python) miss their heartbeats and the master drops them all.
WAIT=${WAIT:-1}
CLK_TCK=$(getconf CLK_TCK)
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOCUST_BIN=$ROOT/.peers/locust/venv/bin/locust
NGINX_PID=""

bench_stop_peers() {
    [[ -n $NGINX_PID ]] || return 0
    "$ROOT/peers/stop" nginx "$NGINX_PID" >/dev/null 2>&1 || kill -TERM "$NGINX_PID" 2>/dev/null || true
}

need taskset "Debian package util-linux"
[[ -x $LOCUST_BIN ]] || die "Locust is not installed: peers/install locust"
log "building the release examples (http_basic, http_max)"
(cd "$ROOT" && cargo build --release --example http_basic --example http_max 2>&1 | tail -n 1) >&2

out=$(NGINX_CPU=0 "$ROOT/peers/start" nginx)
NGINX_PID=$(sed -n 's/^PID=//p' <<<"$out")
TARGET=$(sed -n 's/^URL=//p' <<<"$out")
log "nginx at $TARGET (pid $NGINX_PID, CPU 0)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_master NAME LOCUSTFILE WORKERS USERS RUN_TIME [RATE] -> MASTER_PID, MASTER_PORT, MASTER_LOG
start_master() {
    local name=$1 file=$2 workers=$3 users=$4 run_time=$5 rate=${6:-$4}
    MASTER_PORT=$(free_port)
    MASTER_LOG=$WORK/$name-master.log
    spawn "$MASTER_LOG" taskset -c 0 "$LOCUST_BIN" -f "$file" --master --headless \
        --master-bind-host 127.0.0.1 --master-bind-port "$MASTER_PORT" \
        --expect-workers "$workers" --expect-workers-max-wait 300 \
        -u "$users" -r "$rate" -t "$run_time" -H "$TARGET" --csv "$WORK/$name" --only-summary
    MASTER_PID=$LAST_PID
}

# start_workers KIND N SCENARIO LOCUSTFILE -> WORKER_PIDS
start_workers() {
    local kind=$1 n=$2 scenario=$3 file=$4 i
    WORKER_PIDS=()
    for ((i = 0; i < n; i++)); do
        if [[ $kind == swarm ]]; then
            spawn "$WORK/$kind-w$i.log" taskset -c 1 "$SWARM_TARGET/release/examples/$scenario" \
                --worker --master-port "$MASTER_PORT"
        else
            spawn "$WORK/$kind-w$i.log" taskset -c 1 "$LOCUST_BIN" -f "$file" --worker \
                --master-port "$MASTER_PORT"
        fi
        WORKER_PIDS+=("$LAST_PID")
    done
}

wait_spawned() { # wait_spawned LIMIT
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        grep -q "All users spawned\|Spawning is complete" "$MASTER_LOG" 2>/dev/null && return 0
        kill -0 "$MASTER_PID" 2>/dev/null || die "the master exited: $(tail -n 20 "$MASTER_LOG")"
        sleep 0.1
    done
    die "the master never spawned all users: $(tail -n 20 "$MASTER_LOG")"
}

sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks_or0 "$p"))); done; echo "$t"; }
sum_rss() { local t=0 p; for p in "$@"; do t=$((t + $(rss_kb "$p"))); done; echo "$t"; }

declare -A A_MASTER_CPU A_MASTER_RSS A_WORKER_MS A_WORKER_RSS A_REQS B_RPS B_PER_CPU B_CPU
part_a() { # part_a KIND
    local kind=$1 users=$((WORKERS * USERS_PER))
    log "[A/$kind] $WORKERS workers x $USERS_PER users under one master"
    start_master "a-$kind" "$ROOT/peers/locustfiles/http_basic.py" "$WORKERS" "$users" \
        "$((PHASE + 15 + users / SPAWN_RATE))s" "$SPAWN_RATE"
    export LOCUST_MIN_WAIT=$WAIT LOCUST_MAX_WAIT=$WAIT
    start_workers "$kind" "$WORKERS" http_basic "$ROOT/peers/locustfiles/http_basic.py"
    unset LOCUST_MIN_WAIT LOCUST_MAX_WAIT
    wait_spawned 300
    nap 5
    local m0 w0 t0 m1 w1 t1 dt
    t0=$(now); m0=$(cpu_ticks_or0 "$MASTER_PID"); w0=$(sum_ticks "${WORKER_PIDS[@]}")
    nap "$PHASE"
    t1=$(now); m1=$(cpu_ticks_or0 "$MASTER_PID"); w1=$(sum_ticks "${WORKER_PIDS[@]}")
    dt=$(calc %.3f "$t1 - $t0")
    A_MASTER_CPU[$kind]=$(calc %.1f "100 * ($m1 - $m0) / $CLK_TCK / $dt")
    A_MASTER_RSS[$kind]=$(( $(rss_kb "$MASTER_PID") / 1024 ))
    # CPU per worker per 3-second report period (all of a worker's work in that period).
    A_WORKER_MS[$kind]=$(calc %.2f "1000 * ($w1 - $w0) / $CLK_TCK / $WORKERS / ($dt / 3)")
    A_WORKER_RSS[$kind]=$(( $(sum_rss "${WORKER_PIDS[@]}") / WORKERS / 1024 ))
    log "[A/$kind] master ${A_MASTER_CPU[$kind]}% CPU, ${A_MASTER_RSS[$kind]} MB; worker ${A_WORKER_MS[$kind]} ms CPU per report period, ${A_WORKER_RSS[$kind]} MB"
    wait_bounded "$MASTER_PID" $((PHASE + 180)) "the $kind master" || true
    A_REQS[$kind]=$(csv_aggregated "$WORK/a-${kind}_stats.csv" "Request Count" || echo "-")
    local p
    for p in "${WORKER_PIDS[@]}"; do wait_bounded "$p" 30 "a worker" || true; done
}

part_b() { # part_b KIND
    local kind=$1
    log "[B/$kind] one worker, 50 users at full speed, ${EFF_TIME}s"
    start_master "b-$kind" "$ROOT/peers/locustfiles/http_max.py" 1 50 "${EFF_TIME}s"
    start_workers "$kind" 1 http_max "$ROOT/peers/locustfiles/http_max.py"
    local w=${WORKER_PIDS[0]}
    # The worker's CPU from the moment its users run to its exit (its start-up, a Python
    # import of about a second, is left out for both), sampled while it lives.
    wait_spawned 120
    local t0 t ticks
    t0=$(cpu_ticks_or0 "$w")
    ticks=$t0
    while kill -0 "$w" 2>/dev/null; do
        t=$(cpu_ticks "$w"); [[ -n $t ]] && ticks=$t
        kill -0 "$MASTER_PID" 2>/dev/null || break
        sleep 0.2
    done
    wait_bounded "$MASTER_PID" $((EFF_TIME + 120)) "the $kind master" || true
    wait_bounded "$w" 30 "the worker" || true
    ((LAST_TICKS > ticks)) && ticks=$LAST_TICKS
    ticks=$((ticks - t0))
    local reqs
    reqs=$(csv_aggregated "$WORK/b-${kind}_stats.csv" "Request Count")
    B_CPU[$kind]=$(calc %.2f "$ticks / $CLK_TCK")
    B_RPS[$kind]=$(calc %.0f "$reqs / $EFF_TIME")
    B_PER_CPU[$kind]=$(calc %.0f "$reqs / ($ticks / $CLK_TCK)")
    log "[B/$kind] $reqs requests, worker CPU ${B_CPU[$kind]} s: ${B_PER_CPU[$kind]} requests per CPU-second"
}

kinds=(swarm)
((SKIP_PYTHON)) || kinds+=(python)
if ((!SKIP_A)); then for k in "${kinds[@]}"; do part_a "$k"; done; fi
if ((!SKIP_B)); then for k in "${kinds[@]}"; do part_b "$k"; done; fi

echo
if ((!SKIP_A)); then
    echo "A. $WORKERS workers x $USERS_PER users (GET /index.html every ${WAIT} s), ${PHASE}s measured"
    echo
    echo "| workers | master CPU | master RSS | worker CPU per 3-s report | worker RSS | requests in the master's CSV | workers per master core |"
    echo "|---|--:|--:|--:|--:|--:|--:|"
    for k in "${kinds[@]}"; do
        per=$(awk -v c="${A_MASTER_CPU[$k]}" -v n="$WORKERS" 'BEGIN { if (c > 0) printf "%.0f", 100 * n / c; else print "-" }')
        echo "| $k | ${A_MASTER_CPU[$k]}% | ${A_MASTER_RSS[$k]} MB | ${A_WORKER_MS[$k]} ms | ${A_WORKER_RSS[$k]} MB | ${A_REQS[$k]} | ~$per |"
    done
    echo
fi
if ((!SKIP_B)); then
    echo "B. one worker, 50 users, no wait, GET / (${EFF_TIME}s)"
    echo
    echo "| worker | requests/s | worker CPU | requests per CPU-second | Swarm / this |"
    echo "|---|--:|--:|--:|--:|"
    for k in "${kinds[@]}"; do
        echo "| $k | ${B_RPS[$k]} | ${B_CPU[$k]} s | ${B_PER_CPU[$k]} | $(ratio "${B_PER_CPU[swarm]}" "${B_PER_CPU[$k]}") |"
    done
fi
