# Helpers shared by the bench scripts. Source it after setting ROOT:
#
#   ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
#   source "$ROOT/benches/lib.sh"
#   bench_init swarm-bench          # WORK dir, PIDS, the exit trap
#
# A script that starts peers defines `bench_stop_peers` (stop them by PID); the exit trap
# calls it after killing every PID in PIDS. Everything here touches only processes the
# script started.

# shellcheck shell=bash

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() { # need CMD HINT
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# Make the work directory and install the exit trap: kill what was spawned (TERM, then
# KILL after 5 s), stop the peers, keep WORK when asked or on failure.
bench_init() { # bench_init PREFIX
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid i
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if declare -F bench_stop_peers >/dev/null; then bench_stop_peers || true; fi
    if [[ ${KEEP_WORK:-0} == 1 || $rc != 0 ]]; then
        log "logs and reports kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# Run this script, and every helper it starts from now on (the awk and sleep of each
# poll, ten times a second in wait_bounded), on CPU LIST only: a fork and exec on the
# core of the tool being measured takes it away for a millisecond or two, which shows
# as start lateness in the open model. Tools started with their own `taskset -c` keep
# theirs. A no-op without taskset.
bench_pin_self() { # bench_pin_self LIST
    command -v taskset >/dev/null 2>&1 || return 0
    taskset -p -c "$1" "$$" >/dev/null || log "warning: could not pin the script to CPU $1"
}

# Start a command in the background (env and taskset exec it, so $! is the tool itself),
# remember its PID for the trap and in LAST_PID.
spawn() { # spawn LOGFILE CMD...
    local logf=$1; shift
    "$@" >"$logf" 2>&1 &
    PIDS+=("$!")
    LAST_PID=$!
}

# A sleep the INT/TERM traps can cut short (bash runs traps only between foreground commands).
nap() { sleep "$1" & PIDS+=("$!"); wait "$!" || true; }

# Resident memory of PID in kB (0 when it is gone).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# CPU time (user + system) of PID in clock ticks, or nothing when it is gone (see
# ticks_of).
cpu_ticks() { if ticks_of "$1"; then echo "$TICKS"; fi; }

# As cpu_ticks, but 0 when the process is gone (for sums).
cpu_ticks_or0() { local t; t=$(cpu_ticks "$1"); echo "${t:-0}"; }

# Wait for PID, killing it if it is still alive after LIMIT seconds. Returns its exit
# code. Leaves the last CPU time seen of PID (clock ticks) in LAST_TICKS.
wait_bounded() { # wait_bounded PID LIMIT NAME
    local pid=$1 limit=$2 name=$3 waited=0
    LAST_TICKS=0
    # No fork in this loop (it runs ten times a second beside the programs measured: an
    # awk and a sleep each time took a core from them for a millisecond or two).
    while kill -0 "$pid" 2>/dev/null; do
        ticks_of "$pid" && LAST_TICKS=$TICKS
        if (( waited >= limit * 10 )); then
            log "warning: $name still running after ${limit}s, killing PID $pid"
            kill -TERM "$pid" 2>/dev/null || true
            sleep 2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        tick_nap
        waited=$((waited + 1))
    done
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

# CPU time (user + system) of PID in clock ticks into TICKS, with bash builtins only;
# false when PID is gone. The fields are counted after the command name (spaces in it).
ticks_of() { # ticks_of PID
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    local -a f
    read -r -a f <<<"${stat##*) }"
    TICKS=$((f[11] + f[12]))
}

# Sleep 0.1 s without forking: a read that times out on a FIFO nobody writes to.
tick_nap() {
    if [[ -z ${NAP_FD:-} ]]; then
        mkfifo "$WORK/.nap" && exec {NAP_FD}<>"$WORK/.nap"
    fi
    read -r -t 0.1 -u "$NAP_FD" _ || true
}

# Column COL of the row whose Name is "Aggregated" in a Locust-format stats CSV.
csv_aggregated() { # csv_aggregated FILE COL
    awk -F',' -v col="$2" '
        { for (i = 1; i <= NF; i++) gsub(/^"|"$/, "", $i) }
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        $2 == "Aggregated" && c { print $c; found = 1; exit }
        END { if (!found) exit 1 }' "$1"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
