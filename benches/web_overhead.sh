#!/usr/bin/env bash
# What the web UI and the metrics endpoint cost the load: http_basic at full speed (no
# wait) against nginx, alone, with --web and a poller doing what the page does every
# second (GET /stats/requests, /stats/history, /exceptions), with --web and the page open
# in a real headless Chromium (Debian's chromium: peers/install chromium), and with
# --metrics-bind scraped every second. Throughput ratio = requests/s with / requests/s without (goal:
# at least 0.98); beside it, requests per CPU-second of the generator process, which holds
# up better than requests/s when other work shares the machine.
#
# nginx (peers/start nginx, one worker) and the pollers run on CPU 0, http_basic on CPU 1.
# The three variants run interleaved, ROUNDS times, so that drift in the machine's load
# falls on all of them alike.
#
# Env knobs:
#   DURATION=15   seconds of load per run
#   USERS=50      users per run
#   ROUNDS=4      rounds of (plain, web, browser, metrics)
#   BROWSER=0     leave out the headless Chromium variant
#   KEEP_WORK=1   keep the temporary directory with every log and CSV
#
# Everything talks to 127.0.0.1 only; every run is bounded by its run time plus a
# watchdog; nginx and every process started here are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-15}
USERS=${USERS:-50}
ROUNDS=${ROUNDS:-4}
SWARM_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRACE=${GRACE:-30}

# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"
bench_init swarm-web-bench
NGINX_PID=""
bench_stop_peers() {
    [[ -n $NGINX_PID ]] || return 0
    "$ROOT/peers/stop" nginx "$NGINX_PID" >/dev/null 2>&1 || kill -TERM "$NGINX_PID" 2>/dev/null || true
}

[[ -x $ROOT/peers/start ]] || die "peers/start missing"
need taskset "install util-linux"
need curl "install curl"
need awk "install gawk or mawk"
need cargo "install a Rust toolchain"
BROWSER=${BROWSER:-1}
VARIANTS=(plain web browser metrics)
if [[ $BROWSER == 0 ]]; then
    VARIANTS=(plain web metrics)
else
    need chromium "run peers/install chromium (or BROWSER=0)"
fi
(( $(nproc) >= 2 )) || log "warning: fewer than 2 CPUs; pinning server and client apart is impossible"

log "building http_basic (release)..."
(cd "$ROOT" && cargo build --release --example http_basic) >&2 \
    || die "cargo build --release --example http_basic failed"
BIN=$SWARM_TARGET/release/examples/http_basic

log "starting nginx on CPU 0..."
NGINX_OUT=$(NGINX_CPU=0 NGINX_WORKERS=1 "$ROOT/peers/start" nginx) || die "peers/start nginx failed; run peers/install nginx"
URL=$(sed -n 's/^URL=//p' <<<"$NGINX_OUT" | head -n1)
NGINX_PID=$(sed -n 's/^PID=//p' <<<"$NGINX_OUT" | head -n1)
case $URL in
    http://127.0.0.1:*) ;;
    *) die "nginx URL '$URL' is not on 127.0.0.1" ;;
esac
log "nginx: $URL (PID $NGINX_PID)"

# The URL after PREFIX on a line of LOGFILE, waiting at most 30 s while PID lives.
url_in_log() { # url_in_log LOGFILE PREFIX PID
    local i u
    for ((i = 0; i < 300; i++)); do
        u=$(sed -n "s|^$2\(http[^ ]*\).*|\1|p" "$1" 2>/dev/null | head -n1)
        [[ -n $u ]] && { echo "${u%/}"; return 0; }
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Poll like the page, once a second while PID lives (bounded by DURATION + GRACE polls).
# Prints the number of successful polls at the end.
POLL_SCRIPT='
base=$1 pid=$2 limit=$3 mode=$4 ok=0
for ((i = 1; i <= limit; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    if [[ $mode == web ]]; then
        curl -sf -o /dev/null "$base/stats/requests" \
            && curl -sf -o /dev/null "$base/stats/history?since=$((i - 2))" \
            && curl -sf -o /dev/null "$base/exceptions" && ok=$((ok + 1))
    else
        curl -sf -o /dev/null "$base" && ok=$((ok + 1))
    fi
    sleep 1
done
echo "polls=$ok"'

HZ=$(getconf CLK_TCK)
declare -A SUM=() PER_CPU=() POLLS=()
run_one() { # run_one VARIANT ROUND
    local variant=$1 round=$2 prefix="$WORK/$1-$2" extra=()
    case $variant in
        web | browser) extra=(--web --web-port 0 --autoquit 0) ;;
        metrics) extra=(--metrics-bind 127.0.0.1:0) ;;
    esac
    spawn "$prefix.log" env LOCUST_MIN_WAIT=0 LOCUST_MAX_WAIT=0 taskset -c 1 "$BIN" \
        -H "$URL" -u "$USERS" -r "$USERS" -t "${DURATION}s" --csv "$prefix" --only-summary \
        "${extra[@]}"
    local pid=$LAST_PID poller=""
    if [[ $variant != plain ]]; then
        local what="web UI: " base
        [[ $variant == metrics ]] && what="metrics: "
        base=$(url_in_log "$prefix.log" "$what" "$pid") \
            || die "$variant: no '$what' line: $(tail -n 20 "$prefix.log")"
        if [[ $variant == browser ]]; then
            # The page itself, in a real browser on CPU 0: it polls as a person's tab
            # does. Its network log tells how many times it fetched the statistics.
            spawn "$prefix.chromium" taskset -c 0 chromium --headless=new --no-sandbox \
                --disable-gpu --no-first-run --user-data-dir="$WORK/chromium-$round" \
                --log-net-log="$prefix.netlog" --remote-debugging-port=0 "$base/"
        else
            spawn "$prefix.poll" taskset -c 0 bash -c "$POLL_SCRIPT" _ "$base" "$pid" \
                $((DURATION + GRACE)) "$variant"
        fi
        poller=$LAST_PID
    fi
    # http_basic exits 0 (no failure) when nginx answers every request.
    wait_bounded "$pid" $((DURATION + GRACE)) "$variant" || log "warning: $variant exited non-zero"
    local ticks=$LAST_TICKS
    if [[ $variant == browser ]]; then
        kill -TERM "$poller" 2>/dev/null || true
        wait_bounded "$poller" 10 chromium || true
        local fetched
        # One request of the page: its request line, logged by a couple of events of
        # the same source.
        fetched=$(grep 'GET /stats/requests HTTP' "$prefix.netlog" 2>/dev/null \
            | grep -o '"source":{"id":[0-9]*' | sort -u | wc -l)
        (( fetched > 0 )) || die "browser: the page fetched no statistics (see $prefix.chromium)"
        POLLS[$variant]=$(( ${POLLS[$variant]:-0} + fetched ))
    elif [[ -n $poller ]]; then
        wait_bounded "$poller" 5 poller || true
        POLLS[$variant]=$(( ${POLLS[$variant]:-0} + $(sed -n 's/^polls=//p' "$prefix.poll" | head -n1) ))
    fi
    [[ -s ${prefix}_stats.csv ]] || die "$variant wrote no CSV: $(tail -n 20 "$prefix.log")"
    local v
    v=$(csv_aggregated "${prefix}_stats.csv" 'Requests/s') || die "no Aggregated Requests/s in ${prefix}_stats.csv"
    local n per_cpu
    n=$(csv_aggregated "${prefix}_stats.csv" 'Request Count') || die "no Aggregated Request Count in ${prefix}_stats.csv"
    per_cpu=$(awk -v n="$n" -v t="$ticks" -v hz="$HZ" 'BEGIN { if (t > 0) printf "%.0f", n / (t / hz); else print 0 }')
    SUM[$variant]=$(awk -v a="${SUM[$variant]:-0}" -v b="$v" 'BEGIN { print a + b }')
    PER_CPU[$variant]=$(awk -v a="${PER_CPU[$variant]:-0}" -v b="$per_cpu" 'BEGIN { print a + b }')
    printf '%-8s round %d: %10.0f requests/s %10.0f requests per CPU-second\n' "$variant" "$round" "$v" "$per_cpu"
}

for ((r = 1; r <= ROUNDS; r++)); do
    for variant in "${VARIANTS[@]}"; do
        run_one "$variant" "$r"
    done
done

mean() { awk -v s="$1" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }'; }
rel() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '\nhttp_basic, no wait, %s users, %ss x %s rounds, generator on CPU 1, nginx on CPU 0\n' \
    "$USERS" "$DURATION" "$ROUNDS"
printf '%-26s %11s %7s %13s %7s %6s\n' variant requests/s ratio req/CPU-s ratio polls
printf '%-26s %11s %7s %13s %7s %6s\n' plain "$(mean "${SUM[plain]}")" 1.000 \
    "$(mean "${PER_CPU[plain]}")" 1.000 -
for variant in "${VARIANTS[@]:1}"; do
    case $variant in
        web) label="--web + page poller" ;;
        browser) label="--web + Chromium on page" ;;
        metrics) label="--metrics-bind + scraper" ;;
    esac
    printf '%-26s %11s %7s %13s %7s %6s\n' "$label" "$(mean "${SUM[$variant]}")" \
        "$(rel "${SUM[$variant]}" "${SUM[plain]}")" "$(mean "${PER_CPU[$variant]}")" \
        "$(rel "${PER_CPU[$variant]}" "${PER_CPU[plain]}")" "${POLLS[$variant]:-0}"
done
