// An open DIDComm v1 mediator on Credo 0.5.19 (the `mediator-credo` peer). Started by
// `peers/start mediator-credo`; runnable by hand once `peers/install mediator-credo` is done:
//
//   HTTP_PORT=8020 WS_PORT=8021 node peers/credo/mediator.mjs
//
// - MediatorModule with autoAcceptMediationRequests; every mediation request is granted
//   (CREDO_GRANT=0: none is, a mediator that never answers a mediate-request).
// - MessagePickupModule with its default protocols: messagepickup 1.0 and 2.0.
// - HTTP inbound on http://127.0.0.1:HTTP_PORT and WS inbound on ws://127.0.0.1:WS_PORT,
//   both bound to 127.0.0.1 only; HTTP and WS outbound. Both endpoints are advertised
//   (invitation services and DID documents, HTTP first).
// - Connections are auto-accepted; trust pings are answered; basic messages are stored.
// - One multi-use out-of-band invitation (didexchange + connections handshakes), printed
//   as `INVITATION=<url>` on stdout once everything listens, and written (atomically) to
//   READY_FILE if set.
//
// Environment:
//   HTTP_PORT, WS_PORT   inbound ports (required)
//   CREDO_STRATEGY       MediatorModule forwarding strategy: QueueOnly (default: forwarded
//                        messages wait for a pickup), QueueAndLiveModeDelivery (pickup 2.0
//                        live mode gets them pushed), DirectDelivery (pushed over an open
//                        return-routed session when there is one, else queued)
//   CREDO_GRANT          1 (default): grant every mediation request; 0: grant none
//   CREDO_LOG_LEVEL      trace | debug | info | warn (default) | error | off
//   CREDO_DATA_DIR       Credo's data/cache dir (default: a fresh dir under the OS tmpdir,
//                        removed at exit)
//   CREDO_LABEL          invitation label (default "mediator")
//   READY_FILE           file to write the invitation URL to once ready
//   CREDO_HOME, LIB_ASKAR_PATH  see common.mjs
//
// The wallet is an in-memory askar store with a generated raw key (no Argon2), gone at exit.
// SIGTERM/SIGINT: shut the agent down and exit 0.
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { requireCredo, fileSystemUnder, makeLogger } from './common.mjs'

const core = requireCredo('@credo-ts/core')
const node = requireCredo('@credo-ts/node')
const { AskarModule } = requireCredo('@credo-ts/askar')
const { askarNodeJS } = requireCredo('@openwallet-foundation/askar-nodejs')
const express = requireCredo('express')
const { WebSocketServer } = requireCredo('ws')

const {
  Agent,
  ConnectionsModule,
  MediatorModule,
  MessagePickupModule,
  HandshakeProtocol,
  KeyDerivationMethod,
  HttpOutboundTransport,
  WsOutboundTransport,
} = core

function port(name) {
  const v = process.env[name]
  const n = Number(v)
  if (!v || !Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`mediator: ${name} must be a TCP port, got '${v ?? ''}'`)
    process.exit(2)
  }
  return n
}

const httpPort = port('HTTP_PORT')
const wsPort = port('WS_PORT')
const strategyName = process.env.CREDO_STRATEGY || 'QueueOnly'
// MessageForwardingStrategy's values (the enum is not exported by @credo-ts/core 0.5).
const STRATEGIES = ['QueueOnly', 'QueueAndLiveModeDelivery', 'DirectDelivery']
const strategy = STRATEGIES.includes(strategyName) ? strategyName : undefined
if (!strategy) {
  console.error(`mediator: CREDO_STRATEGY must be one of ${STRATEGIES.join(', ')}, got '${strategyName}'`)
  process.exit(2)
}
const grantName = process.env.CREDO_GRANT ?? '1'
if (grantName !== '0' && grantName !== '1') {
  console.error(`mediator: CREDO_GRANT must be 0 or 1, got '${grantName}'`)
  process.exit(2)
}
const logger = makeLogger(core, process.env.CREDO_LOG_LEVEL)
const ownDataDir = !process.env.CREDO_DATA_DIR
const dataDir = process.env.CREDO_DATA_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'credo-mediator-'))
fs.mkdirSync(dataDir, { recursive: true })

const httpUrl = `http://127.0.0.1:${httpPort}`
const wsUrl = `ws://127.0.0.1:${wsPort}`

// Credo's HttpInboundTransport calls app.listen(port), which binds every interface:
// hand it an express app whose listen() binds 127.0.0.1.
const app = express()
app.listen = (p, ...rest) => {
  const server = http.createServer(app)
  server.once('error', (e) => {
    console.error(`mediator: cannot listen on ${httpUrl}: ${e.message}`)
    process.exit(1)
  })
  return server.listen(p, '127.0.0.1', ...rest)
}
const httpInbound = new node.HttpInboundTransport({ app, port: httpPort })

// The WS inbound transport takes a ready-made server; this one binds 127.0.0.1 only.
const wss = new WebSocketServer({ host: '127.0.0.1', port: wsPort })
await new Promise((resolve, reject) => {
  wss.once('listening', resolve)
  wss.once('error', reject)
}).catch((e) => {
  console.error(`mediator: cannot listen on ${wsUrl}: ${e.message}`)
  process.exit(1)
})
const wsInbound = new node.WsInboundTransport({ server: wss })

const walletKey = askarNodeJS.storeGenerateRawKey({})

const agent = new Agent({
  config: {
    label: process.env.CREDO_LABEL || 'mediator',
    walletConfig: {
      id: `mediator-${httpPort}`,
      key: walletKey,
      keyDerivationMethod: KeyDerivationMethod.Raw,
      storage: { type: 'sqlite', config: { inMemory: true } },
    },
    endpoints: [httpUrl, wsUrl],
    logger,
  },
  dependencies: { ...node.agentDependencies, FileSystem: fileSystemUnder(node.agentDependencies.FileSystem, dataDir) },
  modules: {
    askar: new AskarModule({ ariesAskar: askarNodeJS }),
    connections: new ConnectionsModule({ autoAcceptConnections: true }),
    mediator: new MediatorModule({
      autoAcceptMediationRequests: grantName === '1',
      messageForwardingStrategy: strategy,
    }),
    // The default protocols, spelled out: messagepickup 1.0 and 2.0.
    messagePickup: new MessagePickupModule(),
  },
})
agent.registerInboundTransport(httpInbound)
agent.registerInboundTransport(wsInbound)
agent.registerOutboundTransport(new HttpOutboundTransport())
agent.registerOutboundTransport(new WsOutboundTransport())

const t0 = Date.now()
await agent.initialize()
// HttpInboundTransport.start() listens without waiting; wait for it so "ready" means ready.
const server = httpInbound.server
if (server && !server.listening) await new Promise((resolve) => server.once('listening', resolve))

const oob = await agent.oob.createInvitation({
  label: process.env.CREDO_LABEL || 'mediator',
  multiUseInvitation: true,
  autoAcceptConnection: true,
  handshakeProtocols: [HandshakeProtocol.DidExchange, HandshakeProtocol.Connections],
})
const invitationUrl = oob.outOfBandInvitation.toUrl({ domain: httpUrl })

logger.info(`mediator ready in ${Date.now() - t0} ms`, { strategy: strategyName, httpUrl, wsUrl })

if (process.env.READY_FILE) {
  const tmp = `${process.env.READY_FILE}.tmp`
  fs.writeFileSync(tmp, `${invitationUrl}\n`)
  fs.renameSync(tmp, process.env.READY_FILE)
}
console.log(`STRATEGY=${strategyName}`)
console.log(`INVITATION=${invitationUrl}`)

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  console.log(`mediator: ${signal}, shutting down`)
  const force = setTimeout(() => process.exit(0), 5000)
  force.unref()
  try {
    await agent.shutdown()
  } catch (e) {
    console.error(`mediator: shutdown: ${e.message}`)
  }
  if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
