# shellcheck shell=bash disable=SC2034 # variables here are used by the scripts that source this file
# Shared helpers for peers/install, peers/start and peers/stop. Sourced, not run.
#
# Everything lives under $PEERS_HOME (default: <repo root>/.peers), which is
# self-ignored by git (it holds a `.gitignore` of `*`).

# The repo root, from this file's own location (never the caller's cwd).
PEERS_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$PEERS_SRC/.." && pwd -P)"
PEERS_HOME="${PEERS_HOME:-$REPO_ROOT/.peers}"
PEERS_RUN="$PEERS_HOME/run"

LOCUST_REQS="$PEERS_SRC/requirements-locust.txt"
LOCUST_HOME="$PEERS_HOME/locust"
LOCUST_VENV="$LOCUST_HOME/venv"
LOCUST_BIN="$LOCUST_VENV/bin/locust"
LOCUST_STAMP="$LOCUST_HOME/stamp"

# Peers that `peers/install` knows, and the ones `peers/start` can run.
KNOWN_PEERS=(locust nginx wrk)
STARTABLE_PEERS=(locust nginx)

PROG="peers/$(basename "$0")"

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
# Usage errors (unknown peer name, bad arguments) exit 2.
die_usage() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 2; }

in_list() {
  local needle="$1" item
  shift
  for item in "$@"; do
    [[ "$item" == "$needle" ]] && return 0
  done
  return 1
}

ensure_peers_home() {
  mkdir -p "$PEERS_HOME" "$PEERS_RUN"
  [[ -f "$PEERS_HOME/.gitignore" ]] || printf '*\n' >"$PEERS_HOME/.gitignore"
}

# Hash of the pinned requirements plus the interpreter that built the venv.
locust_wanted_stamp() {
  local py="$1"
  printf '%s %s\n' "$(sha256sum "$LOCUST_REQS" | cut -d' ' -f1)" "$py"
}

locust_installed() {
  [[ -x "$LOCUST_BIN" && -f "$LOCUST_STAMP" ]] || return 1
  local have
  have="$(cut -d' ' -f1 "$LOCUST_STAMP")"
  [[ "$have" == "$(sha256sum "$LOCUST_REQS" | cut -d' ' -f1)" ]]
}

nginx_bin() {
  if [[ -n "${NGINX_BIN:-}" ]]; then
    [[ -x "$NGINX_BIN" ]] && { printf '%s\n' "$NGINX_BIN"; return 0; }
    return 1
  fi
  command -v nginx 2>/dev/null && return 0
  [[ -x /usr/sbin/nginx ]] && { printf '%s\n' /usr/sbin/nginx; return 0; }
  return 1
}

wrk_bin() {
  command -v wrk 2>/dev/null
}

# A free TCP port on 127.0.0.1 (the kernel's pick; tiny race until the peer binds it).
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

valid_port() {
  [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1 && "$1" <= 65535))
}

pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null
}

# Field 22 of /proc/PID/stat: start time in clock ticks since boot. Recorded at
# launch and checked before any kill, so a recycled PID is never signalled.
pid_starttime() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Skip "pid (comm) " — comm may contain spaces or parentheses.
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  printf '%s\n' "${20}"
}

# True if RUNDIR's recorded process is alive and is the very process we started.
run_alive() {
  local dir="$1" pid start
  pid="$(cat "$dir/pid" 2>/dev/null)" || return 1
  pid_alive "$pid" || return 1
  start="$(pid_starttime "$pid")" || return 1
  [[ "$start" == "$(cat "$dir/starttime" 2>/dev/null)" ]]
}

# Direct children of PID (from /proc, so procps is not needed).
pid_children() {
  local parent="$1" f line rest
  for f in /proc/[0-9]*/stat; do
    line="$(cat "$f" 2>/dev/null)" || continue
    rest="${line##*) }"
    # rest = "STATE PPID ..."
    rest="${rest#* }"
    if [[ "${rest%% *}" == "$parent" ]]; then
      line="${f#/proc/}"
      printf '%s\n' "${line%/stat}"
    fi
  done
}
