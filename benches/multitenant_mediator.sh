#!/usr/bin/env bash
# The multi-tenant platform: ACA-Py sub-wallets onboarded on an ACA-Py mediator by
# examples/multitenant_mediator (release), and the multi-tenant agent's memory per tenant.
#
# One ACA-Py 1.7.0 multi-tenant agent (peers/start multitenant) and one mediator (peers/start
# mediator), both with raw wallet keys. For each batch in BATCHES, Swarm onboards that many
# more tenants at once (-u B -r B: every sub-wallet is created, connected and granted
# mediation through the admin API) and pings for RUN seconds; the batch's rate is B / the
# slowest tenant_onboard (all start together). The agent's VmRSS is read before the first
# batch and after each one (its tenants stay, as a platform's do): the growth over the
# tenants added is its memory per tenant.
#
# Env knobs: BATCHES="20 20 20", RUN=20 (seconds per batch), WAIT=1:3 (--min-wait:--max-wait),
# MULTITENANT_WALLET (single-wallet-askar | basic), KEEP_WORK=1 (keep /tmp/swarm-mt.*).
# Loopback only; both peers are stopped by PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BATCHES=${BATCHES:-20 20 20}
RUN=${RUN:-20}
WAIT=${WAIT:-1:3}
BIN="$ROOT/target/release/examples/multitenant_mediator"
[[ -x "$BIN" ]] || { echo "build it first: cargo build --release -p swarm-examples --example multitenant_mediator" >&2; exit 1; }
WORK=$(mktemp -d /tmp/swarm-mt.XXXXXX)
MT_PID="" MED_PID=""
cleanup() {
  [[ -z "$MT_PID" ]] || "$ROOT/peers/stop" multitenant "$MT_PID" >/dev/null 2>&1 || true
  [[ -z "$MED_PID" ]] || "$ROOT/peers/stop" mediator "$MED_PID" >/dev/null 2>&1 || true
  [[ "${KEEP_WORK:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

start() { # NAME -> KEY=VALUE lines in $WORK/NAME.env
  MEDIATOR_RAW_KEY=1 "$ROOT/peers/start" "$1" >"$WORK/$1.env"
}
var() { grep "^$2=" "$WORK/$1.env" | head -n1 | cut -d= -f2-; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start multitenant
MT_PID=$(var multitenant PID)
start mediator
MED_PID=$(var mediator PID)
export MULTITENANT_URL ISSUER_HEADERS="" MEDIATION_URL
MULTITENANT_URL=$(var multitenant ADMIN_URL)
MEDIATION_URL=$(var mediator INVITATION)
sleep 2
rss0=$(rss_kb "$MT_PID")
echo "multi-tenant agent idle: VmRSS $((rss0 / 1024)) MB ($(var multitenant WALLET_TYPE))"
total=0 prev=$rss0
for b in $BATCHES; do
  json="$WORK/batch-$total.json"
  timeout $((RUN + 120)) "$BIN" -u "$b" -r "$b" -t "${RUN}s" --min-wait "${WAIT%%:*}" \
    --max-wait "${WAIT##*:}" --only-summary --json "$json" >"$WORK/batch-$total.log" 2>&1 || true
  total=$((total + b))
  sleep 2
  rss=$(rss_kb "$MT_PID")
  python3 - "$json" "$b" "$total" "$prev" "$rss" "$rss0" <<'PY'
import json, sys
path, b, total, prev, rss, rss0 = sys.argv[1], *map(int, sys.argv[2:])
rep = json.load(open(path))
def entry(kind, name):
    return next((e for e in rep["entries"] if e["kind"] == kind and e["name"] == name), None)
on = entry("DIDCOMM", "tenant_onboard") or {}
ok = on.get("requests", 0) - on.get("failures", 0)
mx = on.get("max_ms") or 0
pct = on.get("percentiles_ms") or {}
wal = entry("POST", "/multitenancy/wallet") or {}
ping = entry("POST", "/connections/[id]/send-ping") or {}
fails = sum(e.get("failures", 0) for e in rep["entries"])
rate = ok / (mx / 1000) if mx else 0
print(f"batch of {b} (total {total}): onboarded {ok}, {rate:.1f} tenants/s (slowest onboard {mx:.0f} ms, "
      f"p50 {pct.get('p50', '?')} ms); wallet create p50 {(wal.get('percentiles_ms') or {}).get('p50', '?')} ms; "
      f"{ping.get('requests', 0)} pings; {fails} failures; agent VmRSS {rss // 1024} MB: "
      f"+{(rss - prev) / max(b, 1):.0f} kB/tenant this batch, +{(rss - rss0) / total:.0f} kB/tenant overall")
PY
  prev=$rss
done
