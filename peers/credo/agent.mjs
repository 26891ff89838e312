// Reference agent for benchmarks: Credo 0.5.19 agents onboarding on a mediator and
// trust-pinging it, as today's Aries load tests run them (one Credo Agent per simulated
// user). Needs `peers/install mediator-credo`.
//
//   MEDIATION_URL="$INVITATION" AGENTS=5 node peers/credo/agent.mjs
//   node peers/credo/agent.mjs "$INVITATION"          (the URL as the only argument)
//
// Each agent: its own Agent with its own askar wallet (generated raw key, no Argon2), HTTP
// and WS outbound; receiveInvitationFromUrl(MEDIATION_URL); once the connection completes,
// CONNECT_DELAY_MS of quiet (Credo's recipient loses the grant about half the time when it
// asks at once), then mediation request -> grant, set as default mediator, message pickup
// started (PICKUP; Implicit opens the return-routed WebSocket, which then carries the
// pings, see PING_TRANSPORT). Then, until stopped: wait MIN_WAIT..MAX_WAIT s (uniform), send a trust ping with
// response_requested, await the response (TIMEOUT), record the round trip.
//
// stdout, one line each:
//   READY <i>                 agent i is connected and mediated (i from 0)
//   FAILED <i> <reason>       agent i could not onboard (it does not ping)
//   SUMMARY {"agents":..,"ready":..,"failed":..,"pings":..,"ping_failures":..,
//            "p50_ms":..,"p95_ms":..,"max_ms":..,"rss_mb":..,"elapsed_s":..}
// SUMMARY comes on SIGTERM/SIGINT, after DURATION seconds, or once every agent has
// FAILED (stopped_by says which); then the process exits 0.
// Log output goes to stderr.
//
// Environment (seconds unless noted):
//   MEDIATION_URL     out-of-band invitation URL of the mediator (required; or argv[2])
//   AGENTS            agents in this process (default 1)
//   MIN_WAIT, MAX_WAIT  pause before each ping (default 1 and 3)
//   TIMEOUT           per step: connection, mediation grant, each ping response (default 20)
//   DURATION          exit by itself after this long (default 600)
//   CONNECT_DELAY_MS  quiet time between connection and mediation request (default 300)
//   SPAWN_INTERVAL_MS delay between starting agents (default 0: all at once)
//   PICKUP            MediatorPickupStrategy: Implicit (default), PickUpV1, PickUpV2,
//                     PickUpV2LiveMode, None
//   PING_TRANSPORT    ws (default: pings only over ws/wss, i.e. the open socket) | any
//                     (Credo's connections.sendPing: the DID doc's first service, HTTP
//                     on ACA-Py and Credo mediators)
//   WALLET            memory (default: in-memory sqlite) | sqlite (a file under RUN_DIR)
//   RUN_DIR           where each agent's data dir goes (default: a fresh dir under the
//                     OS tmpdir; removed at exit either way)
//   CREDO_LOG_LEVEL   trace | debug | info | warn | error | off (default off)
//   CREDO_HOME, LIB_ASKAR_PATH  see common.mjs
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { requireCredo, fileSystemUnder, makeLogger, envNumber, sleep } from './common.mjs'

function usage(msg) {
  console.error(`agent: ${msg}`)
  process.exit(2)
}

const mediationUrl = process.env.MEDIATION_URL || process.argv[2]
if (!mediationUrl) usage('MEDIATION_URL (an out-of-band invitation URL) is required')
const agents = envNumber('AGENTS', 1)
if (!Number.isInteger(agents) || agents < 1) usage(`AGENTS must be a positive integer, got '${process.env.AGENTS}'`)
const minWait = envNumber('MIN_WAIT', 1)
const maxWait = envNumber('MAX_WAIT', Math.max(3, minWait))
if (maxWait < minWait) usage(`MAX_WAIT (${maxWait}) is below MIN_WAIT (${minWait})`)
const timeoutMs = envNumber('TIMEOUT', 20) * 1000
const durationMs = envNumber('DURATION', 600) * 1000
const connectDelayMs = envNumber('CONNECT_DELAY_MS', 300)
const spawnIntervalMs = envNumber('SPAWN_INTERVAL_MS', 0)
// MediatorPickupStrategy's values.
const PICKUPS = ['Implicit', 'PickUpV1', 'PickUpV2', 'PickUpV2LiveMode', 'None']
const pickup = process.env.PICKUP || 'Implicit'
if (!PICKUPS.includes(pickup)) usage(`PICKUP must be one of ${PICKUPS.join(', ')}, got '${pickup}'`)
const pingTransport = process.env.PING_TRANSPORT || 'ws'
if (!['ws', 'any'].includes(pingTransport)) usage(`PING_TRANSPORT must be ws or any, got '${pingTransport}'`)
const pingOverWs = pingTransport === 'ws'
const walletKind = process.env.WALLET || 'memory'
if (!['memory', 'sqlite'].includes(walletKind)) usage(`WALLET must be memory or sqlite, got '${walletKind}'`)

const runDir = fs.mkdtempSync(path.join(process.env.RUN_DIR || os.tmpdir(), 'credo-agent-'))
const t0 = Date.now()
const stats = { ready: 0, failed: 0, pings: 0, pingFailures: 0, rtts: [] }
const running = []
let stopping = false

const withTimeout = (promise, ms, what) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e) => {
        clearTimeout(timer)
        reject(e)
      }
    )
  })

async function onboard(i) {
  const dir = path.join(runDir, `agent-${i}`)
  fs.mkdirSync(dir, { recursive: true })
  const storage =
    walletKind === 'memory'
      ? { type: 'sqlite', config: { inMemory: true } }
      : { type: 'sqlite', config: { path: path.join(dir, 'wallet.db') } }
  const agent = new Agent({
    config: {
      label: `credo-agent-${process.pid}-${i}`,
      walletConfig: {
        id: `agent-${process.pid}-${i}`,
        key: askarNodeJS.storeGenerateRawKey({}),
        keyDerivationMethod: KeyDerivationMethod.Raw,
        storage,
      },
      logger,
    },
    dependencies: { ...node.agentDependencies, FileSystem: fileSystemUnder(node.agentDependencies.FileSystem, dir) },
    modules: {
      askar: new AskarModule({ ariesAskar: askarNodeJS }),
      mediationRecipient: new MediationRecipientModule({ mediatorPickupStrategy: pickup }),
    },
  })
  agent.registerOutboundTransport(new WsOutboundTransport())
  agent.registerOutboundTransport(new HttpOutboundTransport())
  running.push(agent)
  await agent.initialize()

  const { connectionRecord } = await agent.oob.receiveInvitationFromUrl(mediationUrl, {
    label: agent.config.label,
    reuseConnection: false,
  })
  if (!connectionRecord) throw new Error('the invitation started no connection (no handshake protocol?)')
  const connection = await agent.connections.returnWhenIsConnected(connectionRecord.id, { timeoutMs })
  await sleep(connectDelayMs)
  const mediation = await agent.mediationRecipient.requestAndAwaitGrant(connection, timeoutMs)
  await agent.mediationRecipient.setDefaultMediator(mediation)
  await withTimeout(agent.mediationRecipient.initiateMessagePickup(mediation, pickup), timeoutMs, 'message pickup')
  return { agent, connectionId: connection.id }
}

// Trust pings of one agent. One listener per agent; a response can arrive before
// sendPing() returns the message (and its id), so early arrivals are remembered.
function pinger(agent, connectionId) {
  const waiting = new Map() // ping @id -> resolve
  const early = new Set()
  agent.events.on(TrustPingEventTypes.TrustPingResponseReceivedEvent, (event) => {
    const thid = event.payload.message.threadId
    const resolve = waiting.get(thid)
    if (resolve) resolve()
    else early.add(thid)
  })
  return async () => {
    const start = performance.now()
    let message
    if (pingOverWs) {
      // The mediator's DID doc lists HTTP first (ACA-Py and Credo alike), and
      // connections.sendPing() takes the first service: go through the recipient's sender,
      // which keeps to ws/wss (the socket opened for pickup; return_route all is added
      // because this agent has no endpoint of its own).
      message = new TrustPingMessage({ responseRequested: true })
      const connection = await agent.connections.getById(connectionId)
      await agent.mediationRecipient.sendMessage(
        new OutboundMessageContext(message, { agentContext: agent.context, connection }),
        MediatorPickupStrategy.Implicit
      )
    } else {
      message = await agent.connections.sendPing(connectionId, { responseRequested: true })
    }
    if (!early.delete(message.id)) {
      try {
        await withTimeout(
          new Promise((resolve) => waiting.set(message.id, resolve)),
          Math.max(1, timeoutMs - (performance.now() - start)),
          'trust ping'
        )
      } finally {
        waiting.delete(message.id)
      }
    }
    return performance.now() - start
  }
}

async function user(i) {
  let session
  try {
    session = await onboard(i)
  } catch (e) {
    stats.failed++
    if (!stopping) console.log(`FAILED ${i} ${String(e?.message ?? e).replace(/\s+/g, ' ').slice(0, 300)}`)
    // Nothing left to measure: do not wait for DURATION.
    if (stats.failed === agents) stop('all failed')
    return
  }
  if (stopping) return
  stats.ready++
  console.log(`READY ${i}`)
  const ping = pinger(session.agent, session.connectionId)
  while (!stopping) {
    await sleep((minWait + Math.random() * (maxWait - minWait)) * 1000)
    if (stopping) break
    try {
      const rtt = await ping()
      if (stopping) break
      stats.pings++
      stats.rtts.push(rtt)
    } catch (e) {
      if (stopping) break
      stats.pingFailures++
      console.error(`agent ${i}: ping failed: ${e?.message ?? e}`)
    }
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return null
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return Math.round(sorted[idx] * 10) / 10
}

async function stop(why) {
  if (stopping) return
  stopping = true
  const sorted = [...stats.rtts].sort((a, b) => a - b)
  const summary = {
    agents,
    ready: stats.ready,
    failed: stats.failed,
    pings: stats.pings,
    ping_failures: stats.pingFailures,
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    max_ms: percentile(sorted, 100),
    rss_mb: Math.round(process.memoryUsage().rss / 1048576),
    elapsed_s: Math.round((Date.now() - t0) / 100) / 10,
    stopped_by: why,
  }
  console.log(`SUMMARY ${JSON.stringify(summary)}`)
  const done = Promise.allSettled(
    running.map(async (agent) => {
      await agent.mediationRecipient.stopMessagePickup().catch(() => {})
      await agent.shutdown()
    })
  )
  await Promise.race([done, sleep(3000)])
  fs.rmSync(runDir, { recursive: true, force: true })
  process.exit(0)
}

process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
setTimeout(() => stop('DURATION'), durationMs).unref()
// Keep the event loop alive until stop() even if every agent failed.
const keepAlive = setInterval(() => {}, 1 << 30)
void keepAlive

// Loaded only now, so that a SIGTERM during the 1-2 s of module loading still ends in a
// SUMMARY line and exit 0.
const core = requireCredo('@credo-ts/core')
const node = requireCredo('@credo-ts/node')
const { AskarModule } = requireCredo('@credo-ts/askar')
const { askarNodeJS } = requireCredo('@openwallet-foundation/askar-nodejs')

const {
  Agent,
  KeyDerivationMethod,
  HttpOutboundTransport,
  WsOutboundTransport,
  MediationRecipientModule,
  MediatorPickupStrategy,
  TrustPingEventTypes,
  TrustPingMessage,
  OutboundMessageContext,
} = core
const logger = makeLogger(core, process.env.CREDO_LOG_LEVEL || 'off')

for (let i = 0; i < agents && !stopping; i++) {
  user(i)
  if (spawnIntervalMs > 0 && i + 1 < agents) await sleep(spawnIntervalMs)
}
