// Shared by mediator.mjs and agent.mjs: where the installed Credo packages and the
// askar native library live, and a few small helpers. Not a program.
//
// The packages are installed by `peers/install mediator-credo` into
// <repo>/.peers/mediator-credo/ (node_modules/ and askar/libaries_askar.so), not next to
// these scripts, so they are loaded with require() rooted there. CREDO_HOME overrides
// that directory. LIB_ASKAR_PATH (the folder holding libaries_askar.so, read by
// @openwallet-foundation/askar-nodejs) defaults to CREDO_HOME/askar.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import fs from 'node:fs'

const here = path.dirname(fileURLToPath(import.meta.url))
const peersHome = process.env.PEERS_HOME || path.join(here, '..', '..', '.peers')
export const CREDO_HOME = path.resolve(process.env.CREDO_HOME || path.join(peersHome, 'mediator-credo'))

if (!fs.existsSync(path.join(CREDO_HOME, 'node_modules', '@credo-ts', 'core'))) {
  console.error(`credo: no Credo packages under ${CREDO_HOME}/node_modules; run: peers/install mediator-credo (or set CREDO_HOME)`)
  process.exit(1)
}
process.env.LIB_ASKAR_PATH ||= path.join(CREDO_HOME, 'askar')
if (!fs.existsSync(path.join(process.env.LIB_ASKAR_PATH, 'libaries_askar.so'))) {
  console.error(`credo: no libaries_askar.so in ${process.env.LIB_ASKAR_PATH}; run: peers/install mediator-credo (or set LIB_ASKAR_PATH)`)
  process.exit(1)
}

export const requireCredo = createRequire(path.join(CREDO_HOME, 'package.json'))

// A NodeFileSystem whose data and cache paths sit under DIR (Credo's default is ~/.afj).
export function fileSystemUnder(NodeFileSystem, dir) {
  return class extends NodeFileSystem {
    constructor() {
      super({ baseDataPath: dir, baseCachePath: dir, baseTempPath: dir })
    }
  }
}

// Credo's ConsoleLogger at the level named by NAME (trace|debug|info|warn|error|off).
export function makeLogger(core, name) {
  const level = core.LogLevel[name || 'warn']
  if (level === undefined) {
    console.error(`credo: unknown log level '${name}' (trace, debug, info, warn, error, off)`)
    process.exit(2)
  }
  return new core.ConsoleLogger(level)
}

// A non-negative number from the environment, or DEFAULT; exits 2 on garbage.
export function envNumber(name, dflt) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`credo: ${name} must be a non-negative number, got '${raw}'`)
    process.exit(2)
  }
  return n
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
