#!/usr/bin/env bash
# The multi-tenant platform beside the native agent on one ACA-Py mediator: sub-wallets of an
# ACA-Py multi-tenant agent created and connected per second (and per CPU-second of that
# agent), the agent's memory per tenant, and Swarm's memory per native agent on the same
# mediator.
#
# One ACA-Py 1.7.0 multi-tenant agent (peers/start multitenant) and one ACA-Py 1.7.0 mediator
# (peers/start mediator), both with raw wallet keys, started once for the whole run.
#
# Tenants: for each batch in BATCHES, examples/multitenant_mediator (release) onboards that
# many more tenants at RATE a second (-u B -r RATE: every sub-wallet is created, connected to
# the mediator and granted mediation through the admin API) and then pings until RUN s; a
# tenant still onboarding then finishes (--stop-timeout). All B at once is not a rate ACA-Py
# carries: with 25 at once half the connections stayed in `request` for 30 s and later
# batches failed entirely. Onboarding ends at the latest (B-1)/RATE + the slowest
# tenant_onboard after the start: the batch's rate is the tenants onboarded over that (a
# lower bound). Every 0.5 s the script samples the CPU time of the multi-tenant agent and of
# the mediator; their CPU up to that end gives tenants per agent CPU-second. The agent's
# VmRSS is read before the first batch and 2 s after each one (tenants stay, as a
# platform's do): its growth over the tenants added is its memory per tenant.
#
# Native agents: the same binary runs `MediatorPing` (swarm-aries' native agent) on the same
# mediator with 1 agent and then with NATIVE agents (-r NATIVE_RATE), each for NATIVE_RUN
# seconds after its last spawn; Swarm's VmRSS is read 2 s before its end:
# (RSS_NATIVE - RSS_1) / (NATIVE - 1) is Swarm's memory per connected native agent.
#
# Env knobs: BATCHES="20 20 20" (empty: native runs only), RATE=2 (tenants spawned a
# second), RUN=30 (seconds per batch), WAIT=1:3 (--min-wait:--max-wait), NATIVE (default:
# the tenants' total; 0 skips the native runs), NATIVE_RATE=5, NATIVE_RUN=20,
# MULTITENANT_WALLET (single-wallet-askar | basic), KEEP_WORK=1 (keep /tmp/swarm-mt.*), BIN
# (the example binary; default the release build).
# Loopback only; every run is bounded by a watchdog; both peers are stopped by PID on exit.
# The machine's other work is not controlled: the load average is printed at start and end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/benches/lib.sh"

BATCHES=${BATCHES-20 20 20}
RUN=${RUN:-30}
RATE=${RATE:-2}
WAIT=${WAIT:-1:3}
NATIVE_RATE=${NATIVE_RATE:-5}
NATIVE_RUN=${NATIVE_RUN:-20}
BIN="${BIN:-$ROOT/target/release/examples/multitenant_mediator}"
[[ -x "$BIN" ]] || die "build it first: cargo build --release -p swarm-examples --example multitenant_mediator"
need python3 "python3 computes the figures"
total_planned=0
for b in $BATCHES; do total_planned=$((total_planned + b)); done
NATIVE=${NATIVE:-$total_planned}
TICK=$(getconf CLK_TCK)

bench_init swarm-mt
MT_PID="" MED_PID=""
bench_stop_peers() {
    [[ -z "$MT_PID" ]] || "$ROOT/peers/stop" multitenant "$MT_PID" >/dev/null 2>&1 || true
    [[ -z "$MED_PID" ]] || "$ROOT/peers/stop" mediator "$MED_PID" >/dev/null 2>&1 || true
}

start() { # NAME -> KEY=VALUE lines in $WORK/NAME.env
    MEDIATOR_RAW_KEY=1 "$ROOT/peers/start" "$1" >"$WORK/$1.env" || die "peers/start $1 failed (peers/install $1)"
}
var() { grep "^$2=" "$WORK/$1.env" | head -n1 | cut -d= -f2-; }

log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)"
start multitenant
MT_PID=$(var multitenant PID)
start mediator
MED_PID=$(var mediator PID)
export MULTITENANT_URL ISSUER_HEADERS="" MEDIATION_URL
MULTITENANT_URL=$(var multitenant ADMIN_URL)
MEDIATION_URL=$(var mediator INVITATION)
nap 2
rss0=$(rss_kb "$MT_PID")
log "multi-tenant agent idle: VmRSS $((rss0 / 1024)) MB ($(var multitenant WALLET_TYPE)); mediator VmRSS $(($(rss_kb "$MED_PID") / 1024)) MB"

# Sample "seconds agent_ticks mediator_ticks swarm_ticks" every 0.5 s while PID runs.
sample() { # sample PID FILE
    while kill -0 "$1" 2>/dev/null; do
        printf '%s %s %s %s\n' "$(now)" "$(cpu_ticks_or0 "$MT_PID")" "$(cpu_ticks_or0 "$MED_PID")" \
            "$(cpu_ticks_or0 "$1")" >>"$2"
        sleep 0.5
    done
}

total=0 prev=$rss0
for b in $BATCHES; do
    tag="batch-$total"
    t0=$(now)
    printf '%s %s %s 0\n' "$t0" "$(cpu_ticks_or0 "$MT_PID")" "$(cpu_ticks_or0 "$MED_PID")" >"$WORK/$tag.cpu"
    # --stop-timeout: a tenant still onboarding at the end finishes (it is counted, not cut).
    spawn "$WORK/$tag.log" "$BIN" -u "$b" -r "$RATE" -t "${RUN}s" --stop-timeout 120s \
        --min-wait "${WAIT%%:*}" --max-wait "${WAIT##*:}" --only-summary --json "$WORK/$tag.json"
    pid=$LAST_PID
    sample "$pid" "$WORK/$tag.cpu" &
    wait_bounded "$pid" $((RUN + 180)) "$tag" || true
    wait
    total=$((total + b))
    nap 2
    rss=$(rss_kb "$MT_PID")
    python3 - "$WORK/$tag.json" "$WORK/$tag.cpu" "$b" "$total" "$prev" "$rss" "$rss0" "$TICK" "$RATE" <<'PY'
import json, sys
path, cpu = sys.argv[1], sys.argv[2]
b, total, prev, rss, rss0, tick = map(int, sys.argv[3:9])
spawn_rate = float(sys.argv[9])
try:
    rep = json.load(open(path))
except (OSError, ValueError) as e:
    sys.exit(f"batch of {b}: no JSON report ({e})")
def entry(kind, name):
    return next((e for e in rep["entries"] if e["kind"] == kind and e["name"] == name), None) or {}
on = entry("DIDCOMM", "tenant_onboard")
ok = on.get("requests", 0) - on.get("failures", 0)
mx = on.get("max_ms") or 0
pct = on.get("percentiles_ms") or {}
wal = entry("POST", "/multitenancy/wallet")
ping = entry("POST", "/connections/[id]/send-ping")
fails = sum(e.get("failures", 0) for e in rep["entries"])
rows = [list(map(float, l.split())) for l in open(cpu) if l.strip()]
t0 = rows[0][0]
# Onboarding ends at the latest when the last tenant spawned has had the slowest onboard.
busy = (b - 1) / spawn_rate + mx / 1000
end = t0 + busy
# CPU seconds of the agent and the mediator from the start to the end of onboarding (the
# first sample at or after it), and Swarm's whole run.
upto = next((r for r in rows if r[0] >= end), rows[-1])
agent_s = (upto[1] - rows[0][1]) / tick
med_s = (upto[2] - rows[0][2]) / tick
swarm_s = max(r[3] for r in rows) / tick
rate = ok / busy if mx else 0
per_cpu = ok / agent_s if agent_s > 0 else 0
print(f"batch of {b} (total {total}): onboarded {ok} in at most {busy:.1f} s: {rate:.2f} tenants/s or more (slowest onboard {mx:.0f} ms, "
      f"p50 {pct.get('p50', '?')} ms); wallet create p50 {(wal.get('percentiles_ms') or {}).get('p50', '?')} ms; "
      f"agent CPU {agent_s:.1f} s and mediator CPU {med_s:.1f} s while onboarding: {per_cpu:.2f} tenants per "
      f"agent CPU-second; Swarm CPU {swarm_s:.2f} s for the batch ({ping.get('requests', 0)} pings); "
      f"{fails} failures; agent VmRSS {rss // 1024} MB: +{(rss - prev) / max(b, 1):.0f} kB/tenant this batch, "
      f"+{(rss - rss0) / total:.0f} kB/tenant overall")
PY
    prev=$rss
done

# Swarm's native agent on the same mediator: RSS with 1 agent and with NATIVE agents.
native_rss() { # native_rss N -> "RSS_kB mediated" in $WORK/native-N.res
    local n=$1 spawn_s limit pid r=0 end
    spawn_s=$(((n + NATIVE_RATE - 1) / NATIVE_RATE))
    limit=$((spawn_s + NATIVE_RUN))
    spawn "$WORK/native-$n.log" "$BIN" MediatorPing -u "$n" -r "$NATIVE_RATE" -t "${limit}s" \
        --min-wait "${WAIT%%:*}" --max-wait "${WAIT##*:}" --only-summary --json "$WORK/native-$n.json"
    pid=$LAST_PID
    # RSS 2 s before the run's end (its agents connected and pinging).
    end=$(calc %.1f "$(now) + $limit - 2")
    while kill -0 "$pid" 2>/dev/null && awk -v t="$(now)" -v e="$end" 'BEGIN { exit !(t < e) }'; do
        sleep 0.2
    done
    r=$(rss_kb "$pid")
    wait_bounded "$pid" 120 "native-$n" || true
    python3 - "$WORK/native-$n.json" "$r" >"$WORK/native-$n.res" <<'PY'
import json, sys
try:
    rep = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print(sys.argv[2], 0); sys.exit()
m = next((e for e in rep["entries"] if e["kind"] == "DIDCOMM" and e["name"] == "mediate"), {})
print(sys.argv[2], m.get("requests", 0) - m.get("failures", 0))
PY
}
if ((NATIVE > 1)); then
    native_rss 1
    native_rss "$NATIVE"
    read -r rss1 ok1 <"$WORK/native-1.res"
    read -r rssn okn <"$WORK/native-$NATIVE.res"
    log "native agents (MediatorPing) on the same mediator: 1 agent VmRSS ${rss1} kB ($ok1 mediated), $NATIVE agents ${rssn} kB ($okn mediated): $(calc %.1f "($rssn - $rss1) / ($NATIVE - 1)") kB per native agent in Swarm"
    ((total == 0)) || log "beside: the multi-tenant agent's $(calc %.0f "($prev - $rss0) / $total") kB per tenant (VmRSS $((rss0 / 1024)) -> $((prev / 1024)) MB over $total tenants)"
fi
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
