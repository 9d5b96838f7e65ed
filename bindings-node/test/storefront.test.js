'use strict'
// The fastify storefront example (examples/node/storefront.js) end to end:
// the example runs as its own process on localhost, this test posts events
// over HTTP, its worker sends to a real SMTP server (smtp-server) here, and
// the letter's one-click unsubscribe link is posted back.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { SMTPServer } = require('smtp-server')

const ROOT = path.join(__dirname, '..', '..')

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until (what, check, ms = 15000) {
  const deadline = Date.now() + ms
  for (;;) {
    const got = await check().catch(() => null)
    if (got) return got
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

test('the storefront sends a cart reminder and takes the one-click unsubscribe', async () => {
  const letters = []
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData (stream, session, callback) {
      const chunks = []
      stream.on('data', (c) => chunks.push(c))
      stream.on('end', () => { letters.push(Buffer.concat(chunks).toString('utf8')); callback() })
    }
  })
  await new Promise((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patron-storefront-'))
  const shop = spawn(process.execPath, [path.join(ROOT, 'examples', 'node', 'storefront.js')], {
    env: {
      ...process.env,
      NODE_PATH: path.join(ROOT, 'target', 'node_path'),
      PORT: String(port),
      SHOP_DB: path.join(dir, 'shop.db'),
      SHOP_SMTP: `127.0.0.1:${smtp.server.address().port}`,
      SHOP_LINK_KEY: 'test'
    },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  try {
    const post = (url, body) => fetch(url, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    await until('the storefront', () => fetch(`${base}/contacts/nobody`).then((r) => r.status === 404))
    const anna = {
      id: 'anna',
      first_name: 'Anna',
      email: 'anna@example.com',
      consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
    }
    assert.equal((await post(`${base}/contacts`, [anna])).status, 200)
    // The cart was left 61 minutes ago: the reminder is due now.
    const at = new Date(Date.now() - 61 * 60 * 1000).toISOString()
    const cart = { type: 'cart_updated', id: 'e1', contact_id: 'anna', at, currency: 'EUR', lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }] }
    const stored = await post(`${base}/events`, [cart])
    assert.equal((await stored.json()).stored, 1)
    const bad = await post(`${base}/events`, [{ ...cart, id: 'e2', at: 'yesterday' }])
    assert.equal(bad.status, 422)
    assert.equal((await bad.json()).path, 'events[0].at')

    const letter = await until('the reminder', async () => letters[0])
    assert.match(letter, /^Subject: Anna, your cart is waiting/m)
    const link = letter.match(/^List-Unsubscribe: <([^>]+)>/m)[1]
    assert.ok(link.startsWith(`${base}/unsubscribe?token=`))
    assert.equal((await post(link)).status, 200)
    assert.equal((await post(link + '0')).status, 400)
    const record = await (await fetch(`${base}/contacts/anna`)).json()
    assert.equal(record.contact.consent.email.marketing.status, 'unsubscribed')
    await sleep(500)
    assert.equal(letters.length, 1, 'nothing went twice')
  } finally {
    shop.kill()
    await new Promise((resolve) => smtp.close(resolve))
  }
})
