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

# ACA-Py mediators: `mediator` (acapy-agent, current release, Python 3.13) and
# `mediator-legacy` (aries-cloudagent 0.12.8, Python 3.11, still speaks connections/1.0).
# acapy_paths NAME sets ACAPY_REQS, ACAPY_HOME, ACAPY_VENV, ACAPY_BIN, ACAPY_STAMP for NAME.
acapy_paths() {
  ACAPY_REQS="$PEERS_SRC/requirements-$1.txt"
  ACAPY_HOME="$PEERS_HOME/$1"
  ACAPY_VENV="$ACAPY_HOME/venv"
  ACAPY_BIN="$ACAPY_VENV/bin/aca-py"
  ACAPY_STAMP="$ACAPY_HOME/stamp"
}

# Credo (Node.js) mediator `mediator-credo`: the npm tree pinned by peers/credo/package-lock.json
# in .peers/mediator-credo/node_modules, the askar native library (from the PyPI wheel
# aries-askar==CREDO_ASKAR_VERSION) in .peers/mediator-credo/askar/. The scripts stay in
# peers/credo/ and load the packages from there (CREDO_HOME).
CREDO_SRC="$PEERS_SRC/credo"
CREDO_HOME="$PEERS_HOME/mediator-credo"
CREDO_STAMP="$CREDO_HOME/stamp"
CREDO_ASKAR_VERSION=0.4.6
CREDO_ASKAR_LIB="$CREDO_HOME/askar/libaries_askar.so"

# The stamp `peers/install mediator-credo` writes: lock hash, askar version, Node major
# (the rebuilt ffi/ref bindings are tied to Node's ABI).
credo_stamp_line() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || major=none
  printf '%s askar-%s node-%s\n' "$(sha256sum "$CREDO_SRC/package-lock.json" | cut -d' ' -f1)" \
    "$CREDO_ASKAR_VERSION" "$major"
}

credo_installed() {
  [[ -f "$CREDO_STAMP" && -f "$CREDO_ASKAR_LIB" && -d "$CREDO_HOME/node_modules/@credo-ts/core" ]] || return 1
  [[ "$(cat "$CREDO_STAMP")" == "$(credo_stamp_line)" ]]
}

# ganache (Ethereum JSON-RPC node, Node.js): the npm tree pinned by
# peers/ganache/package-lock.json in .peers/ganache/node_modules.
GANACHE_SRC="$PEERS_SRC/ganache"
GANACHE_HOME="$PEERS_HOME/ganache"
GANACHE_STAMP="$GANACHE_HOME/stamp"
GANACHE_CLI="$GANACHE_HOME/node_modules/ganache/dist/node/cli.js"

ganache_stamp_line() {
  printf '%s\n' "$(sha256sum "$GANACHE_SRC/package-lock.json" | cut -d' ' -f1)"
}

ganache_installed() {
  [[ -f "$GANACHE_STAMP" && -f "$GANACHE_CLI" ]] || return 1
  [[ "$(cat "$GANACHE_STAMP")" == "$(ganache_stamp_line)" ]]
}

# The Socket.IO server (python-socketio + aiohttp, peers/requirements-socketio.txt) in
# .peers/socketio/venv; the app is peers/socketio/app.py.
SOCKETIO_REQS="$PEERS_SRC/requirements-socketio.txt"
SOCKETIO_HOME="$PEERS_HOME/socketio"
SOCKETIO_PY="$SOCKETIO_HOME/venv/bin/python"
SOCKETIO_STAMP="$SOCKETIO_HOME/stamp"
SOCKETIO_APP="$PEERS_SRC/socketio/app.py"

# The report checkers (peers/report-check/check.py): prometheus_client and xmlschema
# (peers/requirements-report-check.txt) in .peers/report-check/venv, and the JUnit schema
# junit-10.xsd from pytest's source distribution (pinned, hash-checked).
REPORT_CHECK_REQS="$PEERS_SRC/requirements-report-check.txt"
REPORT_CHECK_HOME="$PEERS_HOME/report-check"
REPORT_CHECK_PY="$REPORT_CHECK_HOME/venv/bin/python"
REPORT_CHECK_STAMP="$REPORT_CHECK_HOME/stamp"
REPORT_CHECK_XSD="$REPORT_CHECK_HOME/junit-10.xsd"
REPORT_CHECK_PYTEST=9.2.0
REPORT_CHECK_PYTEST_SHA256=97c4f3b1f3c7414aa36465e09b8220f1d03627993bd51b1282e193753c80557b
REPORT_CHECK_XSD_SHA256=a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6

report_check_installed() {
  venv_installed "$REPORT_CHECK_REQS" "$REPORT_CHECK_PY" "$REPORT_CHECK_STAMP" || return 1
  [[ -f "$REPORT_CHECK_XSD" ]] || return 1
  [[ "$(sha256sum "$REPORT_CHECK_XSD" | cut -d' ' -f1)" == "$REPORT_CHECK_XSD_SHA256" ]]
}

# Peers that `peers/install` knows, and the ones `peers/start` can run.
KNOWN_PEERS=(locust nginx wrk mediator mediator-legacy mediator-credo issuer multitenant credo-holder ganache socketio chromium report-check)
STARTABLE_PEERS=(locust nginx mediator mediator-legacy mediator-credo issuer multitenant ganache socketio tls-proxy chromedriver)

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

locust_installed() {
  venv_installed "$LOCUST_REQS" "$LOCUST_BIN" "$LOCUST_STAMP"
}

# venv_installed REQS BIN STAMP: BIN exists and STAMP holds REQS' current sha256.
venv_installed() {
  local reqs="$1" bin="$2" stamp="$3"
  [[ -x "$bin" && -f "$stamp" ]] || return 1
  local have
  have="$(cut -d' ' -f1 "$stamp")"
  [[ "$have" == "$(sha256sum "$reqs" | cut -d' ' -f1)" ]]
}

# python_version PY: prints e.g. "3.13" if PY runs. (A pyenv shim for a version that
# is not selected exits 127, so merely being on PATH is not enough.)
python_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

# find_python X.Y: absolute path of a working Python X.Y, tried in this order:
# `pythonX.Y` on PATH, `python3` if it is X.Y, the newest $(pyenv root)/versions/X.Y[.Z].
# Prints nothing and returns 1 if none runs.
find_python() {
  local want="$1" cand root v
  for cand in "python$want" python3; do
    command -v "$cand" >/dev/null 2>&1 || continue
    if [[ "$(python_version "$cand")" == "$want" ]]; then
      "$cand" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  root=""
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null)" || root=""
  fi
  [[ -n "$root" ]] || root="${PYENV_ROOT:-$HOME/.pyenv}"
  # Newest patch release first; names like 3.13.0t (free-threaded) are skipped.
  while IFS= read -r v; do
    cand="$root/versions/$v/bin/python3"
    if [[ -x "$cand" && "$(python_version "$cand")" == "$want" ]]; then
      printf '%s\n' "$cand"
      return 0
    fi
  done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null \
    | grep -E "^${want//./\\.}(\\.[0-9]+)?\$" | sort -rV)
  return 1
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

chromedriver_bin() {
  command -v chromedriver 2>/dev/null
}

# A free TCP port on 127.0.0.1 (the kernel's pick; tiny race until the peer binds it).
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# N distinct free TCP ports on 127.0.0.1, one a line (all held open while picking).
free_ports() {
  python3 -c 'import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "$1"
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
