// Reference holder for benchmarks: Credo 0.5.19 holders that an ACA-Py issuer issues
// JSON-LD (ld_proof) credentials to over issue-credential 2.0, as today's Aries issuance
// load tests run them (one Credo Agent per simulated holder; the Locust side drives the
// issuer's admin API). Needs `peers/install credo-holder` (= mediator-credo).
//
//   ISSUER_URL="$ADMIN_URL" ISSUER_DID="$ISSUER_DID" HOLDERS=1 node peers/credo/holder.mjs
//
// Each holder: its own Agent with its own askar wallet (generated raw key, no Argon2), an
// HTTP inbound endpoint of its own on 127.0.0.1 (a free port; direct holders, as those
// setups give each process a port from a pool), HTTP and WS outbound, credentials
// auto-accepted (AutoAcceptCredential.Always: request on offer, store and ack on credential,
// the JSON-LD format through Credo's W3C credential service). It asks the issuer's admin
// API for a single-use out-of-band invitation (POST /out-of-band/create-invitation), accepts
// it (receiveInvitationFromUrl), waits until the issuer's side of the connection is active
// (GET /connections?invitation_msg_id=...), then, CREDENTIALS times (0: until stopped):
// POST /issue-credential-2.0/send-offer with an ld_proof offer (Ed25519Signature2018, the
// subject CRED_ATTR), await the holder's exchange record reaching `done` (credential
// verified, stored, ack sent), record offer to done, wait MIN_WAIT..MAX_WAIT s (uniform).
//
// With MEDIATION_URL the holder has no inbound endpoint: it connects to that mediator
// first, gets mediation (default mediator, implicit pickup over a WebSocket), and the
// issuer's messages arrive forwarded.
//
// stdout, one line each:
//   READY <i>                 holder i is connected to the issuer
//   FAILED <i> <reason>       holder i could not connect (it gets no credential)
//   CRED <i> <ms>             holder i got a credential, offer to done in ms
//   SUMMARY {"holders":..,"ready":..,"failed":..,"credentials":..,"credential_failures":..,
//            "p50_ms":..,"p95_ms":..,"max_ms":..,"rss_mb":..,"elapsed_s":..,"stopped_by":..}
// SUMMARY comes on SIGTERM/SIGINT, after DURATION seconds, once every holder got its
// CREDENTIALS, or once every holder FAILED; then the process exits 0. Logs go to stderr.
//
// Environment (seconds unless noted):
//   ISSUER_URL        the issuer's admin API (required), e.g. http://127.0.0.1:8031
//   ISSUER_HEADERS    a JSON object of headers for every admin call (never printed)
//   ISSUER_DID        the did:key that signs (default: POST /wallet/did/create once)
//   CRED_ATTR         the credential subject, a JSON object (default {"score": "test"})
//   HOLDERS           holders in this process (default 1)
//   CREDENTIALS       credentials per holder, then the holder stops (default 0: no limit)
//   MIN_WAIT, MAX_WAIT  pause after each credential (default 1 and 2)
//   TIMEOUT           per step: connection, each credential (default 30)
//   DURATION          exit by itself after this long (default 600)
//   SPAWN_INTERVAL_MS delay between starting holders (default 0)
//   MEDIATION_URL     a mediator's out-of-band invitation: mediated holders (see above)
//   CREDO_LOG_LEVEL   trace | debug | info | warn | error | off (default off)
//   CREDO_HOME, LIB_ASKAR_PATH  see common.mjs
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { requireCredo, fileSystemUnder, makeLogger, envNumber, sleep } from './common.mjs'

function usage(msg) {
  console.error(`holder: ${msg}`)
  process.exit(2)
}

const issuerUrl = (process.env.ISSUER_URL || '').replace(/\/+$/, '')
if (!/^https?:\/\//.test(issuerUrl)) usage(`ISSUER_URL (the issuer's admin API, http[s]://...) is required, got '${issuerUrl}'`)
let issuerHeaders = {}
if (process.env.ISSUER_HEADERS) {
  try {
    issuerHeaders = JSON.parse(process.env.ISSUER_HEADERS)
  } catch (e) {
    usage(`ISSUER_HEADERS is not JSON: ${e.message}`)
  }
  if (typeof issuerHeaders !== 'object' || Array.isArray(issuerHeaders) || issuerHeaders === null)
    usage('ISSUER_HEADERS must be a JSON object of header names to values')
}
let subject = { score: 'test' }
if (process.env.CRED_ATTR) {
  try {
    subject = JSON.parse(process.env.CRED_ATTR)
  } catch (e) {
    usage(`CRED_ATTR is not JSON: ${e.message}`)
  }
  if (typeof subject !== 'object' || Array.isArray(subject) || subject === null) usage('CRED_ATTR must be a JSON object')
}
const holders = envNumber('HOLDERS', 1)
if (!Number.isInteger(holders) || holders < 1) usage(`HOLDERS must be a positive integer, got '${process.env.HOLDERS}'`)
const perHolder = envNumber('CREDENTIALS', 0)
if (!Number.isInteger(perHolder)) usage(`CREDENTIALS must be a whole number, got '${process.env.CREDENTIALS}'`)
const minWait = envNumber('MIN_WAIT', 1)
const maxWait = envNumber('MAX_WAIT', Math.max(2, minWait))
if (maxWait < minWait) usage(`MAX_WAIT (${maxWait}) is below MIN_WAIT (${minWait})`)
const timeoutMs = envNumber('TIMEOUT', 30) * 1000
const durationMs = envNumber('DURATION', 600) * 1000
const spawnIntervalMs = envNumber('SPAWN_INTERVAL_MS', 0)
const mediationUrl = process.env.MEDIATION_URL || ''

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'credo-holder-'))
const t0 = Date.now()
const stats = { ready: 0, failed: 0, finished: 0, creds: 0, credFailures: 0, ms: [] }
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

// One admin call; a non-2xx answer is an error naming the call.
async function admin(method, p, body) {
  const res = await fetch(`${issuerUrl}${p}`, {
    method,
    headers: { ...issuerHeaders, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${p.split('?')[0]}: HTTP ${res.status} ${text.slice(0, 200)}`)
  return text ? JSON.parse(text) : {}
}

let issuerDidPromise
const issuerDid = () =>
  (issuerDidPromise ||= process.env.ISSUER_DID
    ? Promise.resolve(process.env.ISSUER_DID)
    : admin('POST', '/wallet/did/create', { method: 'key', options: { key_type: 'ed25519' } }).then((r) => r.result.did))

// An ld_proof offer ACA-Py signs as Credo's JSON-LD holder expects it back: the suite's
// context and the proof purpose spelled out (Credo compares the credential with its
// request, proof options included).
function offerDetail(did) {
  return {
    credential: {
      '@context': [
        'https://www.w3.org/2018/credentials/v1',
        { '@vocab': 'urn:example:vocab#' },
      ],
      type: ['VerifiableCredential'],
      issuer: did,
      issuanceDate: '2026-01-01T00:00:00Z',
      credentialSubject: subject,
    },
    options: { proofType: 'Ed25519Signature2018', proofPurpose: 'assertionMethod' },
  }
}

// A server on a free 127.0.0.1 port, for Credo's HttpInboundTransport (whose own listen()
// binds every interface): its app.listen() hands back this server.
async function localInbound(app) {
  const server = http.createServer(app)
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  app.listen = () => server
  return { server, url: `http://127.0.0.1:${server.address().port}` }
}

async function onboard(i) {
  const dir = path.join(runDir, `holder-${i}`)
  fs.mkdirSync(dir, { recursive: true })
  let inbound
  const endpoints = []
  if (!mediationUrl) {
    const app = express()
    const local = await localInbound(app)
    inbound = new node.HttpInboundTransport({ app, port: 0 })
    endpoints.push(local.url)
  }
  const agent = new Agent({
    config: {
      label: `credo-holder-${process.pid}-${i}`,
      walletConfig: {
        id: `holder-${process.pid}-${i}`,
        key: askarNodeJS.storeGenerateRawKey({}),
        keyDerivationMethod: KeyDerivationMethod.Raw,
        storage: { type: 'sqlite', config: { inMemory: true } },
      },
      endpoints: endpoints.length ? endpoints : undefined,
      logger,
    },
    dependencies: { ...node.agentDependencies, FileSystem: fileSystemUnder(node.agentDependencies.FileSystem, dir) },
    modules: {
      askar: new AskarModule({ ariesAskar: askarNodeJS }),
      connections: new ConnectionsModule({ autoAcceptConnections: true }),
      credentials: new CredentialsModule({
        autoAcceptCredentials: AutoAcceptCredential.Always,
        credentialProtocols: [new V2CredentialProtocol({ credentialFormats: [new JsonLdCredentialFormatService()] })],
      }),
      ...(mediationUrl ? { mediationRecipient: new MediationRecipientModule({ mediatorPickupStrategy: 'Implicit' }) } : {}),
    },
  })
  if (inbound) agent.registerInboundTransport(inbound)
  agent.registerOutboundTransport(new WsOutboundTransport())
  agent.registerOutboundTransport(new HttpOutboundTransport())
  running.push(agent)
  await agent.initialize()
  // Credo finishes a credential exchange after the issuer sent its last message; resolve
  // by thread id, remembering `done`s that come before the admin call returned.
  const waiting = new Map()
  const early = new Set()
  agent.events.on(CredentialEventTypes.CredentialStateChanged, ({ payload }) => {
    const r = payload.credentialRecord
    if (r.state !== CredentialState.Done && r.state !== CredentialState.Abandoned) return
    const w = waiting.get(r.threadId)
    if (w) w(r.state)
    else early.add(`${r.threadId} ${r.state}`)
  })

  if (mediationUrl) {
    const { connectionRecord } = await agent.oob.receiveInvitationFromUrl(mediationUrl, { reuseConnection: false })
    const conn = await agent.connections.returnWhenIsConnected(connectionRecord.id, { timeoutMs })
    await sleep(300) // Credo's recipient loses the grant when it asks at once (PEERS.md)
    const mediation = await agent.mediationRecipient.requestAndAwaitGrant(conn, timeoutMs)
    await agent.mediationRecipient.setDefaultMediator(mediation)
    await withTimeout(agent.mediationRecipient.initiateMessagePickup(mediation, 'Implicit'), timeoutMs, 'message pickup')
  }

  const oob = await admin('POST', '/out-of-band/create-invitation?auto_accept=true', {
    handshake_protocols: ['https://didcomm.org/didexchange/1.0'],
    my_label: 'issuer',
  })
  const { connectionRecord } = await agent.oob.receiveInvitationFromUrl(oob.invitation_url, {
    label: agent.config.label,
    reuseConnection: false,
  })
  if (!connectionRecord) throw new Error("the issuer's invitation started no connection")
  await agent.connections.returnWhenIsConnected(connectionRecord.id, { timeoutMs })
  // The issuer's side: its connection id, once it is active.
  const deadline = Date.now() + timeoutMs
  let issuerConn
  for (;;) {
    const found = await admin('GET', `/connections?invitation_msg_id=${encodeURIComponent(oob.invi_msg_id)}`)
    issuerConn = (found.results || []).find((c) => c.state === 'active' || c.state === 'completed')
    if (issuerConn) break
    if (Date.now() > deadline) throw new Error(`the issuer's connection is not active after ${timeoutMs} ms`)
    await sleep(100)
  }

  // One credential, offer to done, in ms.
  return async () => {
    const start = performance.now()
    const did = await issuerDid()
    const rec = await admin('POST', '/issue-credential-2.0/send-offer', {
      connection_id: issuerConn.connection_id,
      auto_issue: true,
      comment: 'credo-holder',
      filter: { ld_proof: offerDetail(did) },
    })
    const thid = rec.thread_id
    let state
    if (early.delete(`${thid} done`)) state = 'done'
    else if (early.delete(`${thid} abandoned`)) state = 'abandoned'
    else {
      try {
        state = await withTimeout(
          new Promise((resolve) => waiting.set(thid, resolve)),
          Math.max(1, timeoutMs - (performance.now() - start)),
          'credential'
        )
      } finally {
        waiting.delete(thid)
      }
    }
    if (state !== 'done') throw new Error(`the exchange ended ${state}`)
    return performance.now() - start
  }
}

async function holder(i) {
  let issue
  try {
    issue = await onboard(i)
  } catch (e) {
    stats.failed++
    if (!stopping) console.log(`FAILED ${i} ${String(e?.message ?? e).replace(/\s+/g, ' ').slice(0, 300)}`)
    if (stats.failed === holders) stop('all failed')
    else if (stats.finished + stats.failed === holders) stop('CREDENTIALS')
    return
  }
  if (stopping) return
  stats.ready++
  console.log(`READY ${i}`)
  for (let k = 0; !stopping && (perHolder === 0 || k < perHolder); k++) {
    try {
      const ms = await issue()
      if (stopping) break
      stats.creds++
      stats.ms.push(ms)
      console.log(`CRED ${i} ${ms.toFixed(1)}`)
    } catch (e) {
      if (stopping) break
      stats.credFailures++
      console.error(`holder ${i}: credential failed: ${e?.message ?? e}`)
    }
    if (perHolder && k + 1 >= perHolder) break
    await sleep((minWait + Math.random() * (maxWait - minWait)) * 1000)
  }
  stats.finished++
  if (stats.finished + stats.failed === holders) stop('CREDENTIALS')
}

function percentile(sorted, p) {
  if (!sorted.length) return null
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return Math.round(sorted[idx] * 10) / 10
}

async function stop(why) {
  if (stopping) return
  stopping = true
  const sorted = [...stats.ms].sort((a, b) => a - b)
  const summary = {
    holders,
    ready: stats.ready,
    failed: stats.failed,
    credentials: stats.creds,
    credential_failures: stats.credFailures,
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    max_ms: percentile(sorted, 100),
    rss_mb: Math.round(process.memoryUsage().rss / 1048576),
    elapsed_s: Math.round((Date.now() - t0) / 100) / 10,
    stopped_by: why,
  }
  console.log(`SUMMARY ${JSON.stringify(summary)}`)
  const done = Promise.allSettled(running.map((agent) => agent.shutdown()))
  await Promise.race([done, sleep(3000)])
  fs.rmSync(runDir, { recursive: true, force: true })
  process.exit(0)
}

process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
setTimeout(() => stop('DURATION'), durationMs).unref()
const keepAlive = setInterval(() => {}, 1 << 30)
void keepAlive

// Loaded only now, so that a SIGTERM during the 1-2 s of module loading still ends in a
// SUMMARY line and exit 0.
const core = requireCredo('@credo-ts/core')
const node = requireCredo('@credo-ts/node')
const { AskarModule } = requireCredo('@credo-ts/askar')
const { askarNodeJS } = requireCredo('@openwallet-foundation/askar-nodejs')
const express = requireCredo('express')

const {
  Agent,
  AutoAcceptCredential,
  ConnectionsModule,
  CredentialEventTypes,
  CredentialState,
  CredentialsModule,
  HttpOutboundTransport,
  JsonLdCredentialFormatService,
  KeyDerivationMethod,
  MediationRecipientModule,
  V2CredentialProtocol,
  WsOutboundTransport,
} = core
const logger = makeLogger(core, process.env.CREDO_LOG_LEVEL || 'off')

for (let i = 0; i < holders && !stopping; i++) {
  holder(i)
  if (spawnIntervalMs > 0 && i + 1 < holders) await sleep(spawnIntervalMs)
}
