'use strict'
// The store in Node. Regions between START and END markers are quoted in docs/store.md.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { SMTPServer } = require(require.resolve('smtp-server', { paths: [path.join(__dirname, '../../bindings-node')] }))

// A real SMTP server on 127.0.0.1 for the example.
async function smtpSink () {
  const letters = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData (stream, session, callback) {
      const chunks = []
      stream.on('data', (c) => chunks.push(c))
      stream.on('end', () => { letters.push(Buffer.concat(chunks).toString('utf8')); callback() })
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { letters, address: `127.0.0.1:${server.server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) }
}

async function main () {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'patron-example-'))
  const smtp = await smtpSink()
  const smtpAddress = smtp.address

  // START open
  const patron = require('patron')

  // The config lives in the file: every process that opens it runs the same rules.
  const store = new patron.Store(path.join(folder, 'shop.db'), {
    triggers: {
      rules: [{
        id: 'abandoned_cart',
        trigger: { on: 'product', action: 'carted' },
        steps: [{ name: '1h', delay: '1h', template: 'cart', coupon_pool: 'back' }],
        exit: [{ on: 'event', event: 'order_placed', same_products: true }]
      }]
    },
    templates: {
      cart: {
        subject: '{{ contact.first_name }}, your cart is waiting',
        text: 'Take 10% with {{ coupon.code }}. Unsubscribe: {{ links.unsubscribe }}'
      }
    },
    coupon_pools: [{ id: 'back', generator: { pattern: 'BACK-####-####', key: 42 }, valid_days: 7 }],
    sender: { from: 'Shop <news@shop.example>', unsubscribe_url: 'https://shop.example/unsubscribe', link_key: 'change me' }
  })
  // END open

  // START flow
  await store.upsertContacts([{
    id: 'anna',
    first_name: 'Anna',
    email: 'anna@example.com',
    consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
  }], '2024-05-01T10:00:00Z')

  // A batch of events (objects or JSON lines), one transaction; every call returns a Promise.
  const cart = {
    type: 'cart_updated',
    id: 'e1',
    contact_id: 'anna',
    at: '2024-05-01T10:00:00Z',
    currency: 'EUR',
    lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }]
  }
  assert.equal((await store.ingest([cart], '2024-05-01T10:00:00Z')).stored, 1)
  assert.deepEqual((await store.ingest([cart], '2024-05-01T10:00:00Z')).duplicates, ['e1'])

  // The worker wakes Anna when her reminder is due; the sender hands the
  // letter to SMTP (or use claimLetters / letterSent for your own provider).
  const wakeup = await store.nextWakeup('2024-05-01T10:00:00Z')
  assert.equal(wakeup, '2024-05-01T11:00:00Z')
  assert.equal((await store.runDue(wakeup)).queued, 1)
  assert.equal((await store.send(wakeup, { smtp: smtpAddress })).sent, 1)
  assert.deepEqual((await store.stats()).outbox, { sent: 1 })
  // END flow

  await smtp.close()
  assert.equal(smtp.letters.length, 1)
  assert.match(smtp.letters[0], /^Subject: Anna, your cart is waiting/m)
  fs.rmSync(folder, { recursive: true, force: true })
  console.log('store: one letter through SMTP')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
