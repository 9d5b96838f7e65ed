'use strict'
// The store from Node: Promises, error classes, letters to a real SMTP
// server (smtp-server on 127.0.0.1), and the host's own provider.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { SMTPServer } = require('smtp-server')
const patron = require('..')

const CONFIG = {
  triggers: {
    rules: [{
      id: 'abandoned_cart',
      trigger: { on: 'product', action: 'carted' },
      steps: [{ name: '1h', delay: '1h', template: 'cart', coupon_pool: 'back' }],
      exit: [{ on: 'event', event: 'order_placed', same_products: true }]
    }],
    segments: { carted: 'cart.value > 0' }
  },
  templates: { cart: { subject: '{{ contact.first_name }}, your cart', text: '{{ coupon.code }} {{ links.unsubscribe }}' } },
  coupon_pools: [{ id: 'back', generator: { pattern: 'BACK-####', key: 3 } }],
  sender: { from: 'Shop <news@shop.example>', unsubscribe_url: 'https://shop.example/u', link_key: 'k' }
}

const contact = (i) => ({
  id: `c${i}`,
  first_name: `Ann${i}`,
  email: `c${i}@example.com`,
  consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
})
const cart = (i, at = '2024-05-01T10:00:00Z') => ({
  type: 'cart_updated', id: `e${i}`, contact_id: `c${i}`, at, currency: 'EUR', lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }]
})

function tempDir () {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'patron-store-'))
}

async function openStore (config = CONFIG) {
  const store = new patron.Store(path.join(tempDir(), 'shop.db'), config)
  await store.upsertContacts([contact(0), contact(1)], '2024-05-01T09:00:00Z')
  return store
}

// A real SMTP server that keeps each letter's raw text; `refuse` answers RCPT.
async function smtpSink () {
  const letters = []
  const sink = { letters, refuse: null }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo (address, session, callback) {
      if (sink.refuse) {
        const err = new Error(sink.refuse.message)
        err.responseCode = sink.refuse.code
        return callback(err)
      }
      callback()
    },
    onData (stream, session, callback) {
      const chunks = []
      stream.on('data', (c) => chunks.push(c))
      stream.on('end', () => {
        letters.push(Buffer.concat(chunks).toString('utf8'))
        callback()
      })
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  sink.address = `127.0.0.1:${server.server.address().port}`
  sink.close = () => new Promise((resolve) => server.close(resolve))
  return sink
}

const header = (raw, name) => {
  const m = raw.match(new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'mi'))
  return m ? m[1].replace(/\r\n[ \t]/g, ' ') : null
}

test('a cart becomes a letter on a real SMTP server, with its coupon and one-click unsubscribe', async () => {
  const store = await openStore()
  const done = await store.ingest([cart(0), cart(1), cart(0)], new Date('2024-05-01T10:00:00Z'))
  assert.deepEqual([done.stored, done.duplicates, done.membership_changes], [2, ['e0'], 2])
  assert.equal(await store.nextWakeup('2024-05-01T10:00:00Z'), '2024-05-01T11:00:00Z')
  assert.equal((await store.runDue('2024-05-01T11:00:00Z')).queued, 2)
  const sink = await smtpSink()
  try {
    const sent = await store.send('2024-05-01T11:00:00Z', { smtp: sink.address })
    assert.deepEqual(sent, { sent: 2, retried: 0, failed: 0, cancelled: 0, resumed: 0 })
  } finally {
    await sink.close()
  }
  const letter = sink.letters.find((l) => header(l, 'To') === 'c0@example.com')
  assert.equal(header(letter, 'Subject'), 'Ann0, your cart')
  assert.match(header(letter, 'Message-ID'), /^<[0-9a-f]{32}@shop\.example>$/)
  assert.equal(header(letter, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click')
  const token = header(letter, 'List-Unsubscribe').split('token=')[1].replace('>', '')
  await assert.rejects(store.unsubscribe(token.replace(/^./, (c) => (c === '0' ? '1' : '0')), '2024-05-01T12:00:00Z'),
    (e) => e instanceof patron.ValidationError && e.path === 'token')
  await store.unsubscribe(token, '2024-05-01T12:00:00Z')
  const stored = await store.contact('c0')
  assert.equal(stored.contact.consent.email.marketing.status, 'unsubscribed')
  assert.deepEqual(stored.segments, ['carted'])
  const stats = await store.stats()
  assert.deepEqual([stats.outbox, stats.coupons], [{ sent: 2 }, 2])
  assert.equal((await store.kpis())[0].sent, 2)
})

test('a refusal is retried, a 550 fails the letter and withdraws consent', async () => {
  const store = await openStore()
  await store.ingest([cart(0)], '2024-05-01T10:00:00Z')
  await store.runDue('2024-05-01T11:00:00Z')
  const sink = await smtpSink()
  try {
    sink.refuse = { code: 451, message: 'try again later' }
    assert.equal((await store.send('2024-05-01T11:00:00Z', { smtp: sink.address })).retried, 1)
    sink.refuse = { code: 550, message: 'no such user' }
    assert.equal((await store.send('2024-05-01T11:01:00Z', { smtp: sink.address })).failed, 1)
  } finally {
    await sink.close()
  }
  const [row] = await store.outbox()
  assert.equal(row.status, 'failed')
  assert.match(row.reason, /550/)
  const stored = await store.contact('c0')
  assert.equal(stored.contact.consent.email.transactional.status, 'unsubscribed')
})

test('letters of the host\'s own provider are claimed, leased and finished', async () => {
  const store = await openStore()
  await store.ingest([cart(0)], '2024-05-01T10:00:00Z')
  await store.runDue('2024-05-01T11:00:00Z')
  const [letter] = await store.claimLetters('2024-05-01T11:00:00Z', ['email'])
  assert.equal(letter.to, 'c0@example.com')
  assert.deepEqual(await store.claimLetters('2024-05-01T11:00:00Z', ['email']), [])
  assert.equal(await store.letterFailed(letter.message_id, 'api timeout', '2024-05-01T11:00:01Z'), 'retry')
  const [again] = await store.claimLetters('2024-05-01T11:02:00Z', ['email'])
  assert.deepEqual([again.message_id, again.attempt], [letter.message_id, 2])
  assert.equal(await store.letterSent(again.message_id, '2024-05-01T11:02:01Z'), 'sent')
  await assert.rejects(store.letterSent('nope', '2024-05-01T11:02:01Z'), (e) => e.path === 'message_id')
})

test('bad input is named and nothing of the batch is stored', async () => {
  const store = await openStore()
  await assert.rejects(store.ingest([cart(0), { ...cart(1), at: 'soon' }], '2024-05-01T10:00:00Z'),
    (e) => e instanceof patron.ValidationError && e.path === 'events[1].at')
  const lines = JSON.stringify({ type: 'product_viewed', id: 'v', contact_id: 'c0', at: '2024-05-01T10:00:00Z', product_id: 'p1' }) + '\n{"type": '
  await assert.rejects(store.ingest(lines, '2024-05-01T10:00:00Z'), (e) => e instanceof patron.JsonError && e.line === 2)
  await assert.rejects(store.ingest([cart(0, '2031-01-01T00:00:00Z')], '2024-05-01T10:00:00Z'), /future/)
  await assert.rejects(store.ingest([{ ...cart(0), lines: [{ product_id: 'p1', quantity: NaN, unit_price: 1 }] }], '2024-05-01T10:00:00Z'),
    (e) => e.path === 'events[0].lines[0].quantity')
  await assert.rejects(store.send('2024-05-01T10:00:00Z', { smtp: 'no port' }), patron.ChannelError)
  assert.equal((await store.stats()).events, 0)
})

test('damaged and unconfigured files and a bad config throw store errors', async () => {
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'junk.db'), Buffer.alloc(4096, 120))
  assert.throws(() => new patron.Store(path.join(dir, 'junk.db')), (e) => e instanceof patron.CorruptError && e instanceof patron.StoreError)
  assert.throws(() => new patron.Store(path.join(dir, 'new.db')), patron.NoConfigError)
  assert.throws(() => new patron.Store(path.join(dir, 'bad.db'), { ...CONFIG, templates: {} }),
    (e) => e.path === 'triggers.rules[0].steps[0].template')
  assert.throws(() => new patron.Store(42), patron.ValidationError)
})

test('calls run off the event loop: a timer fires while a large batch is ingested', async () => {
  const store = new patron.Store(path.join(tempDir(), 'big.db'), CONFIG)
  const events = Array.from({ length: 5000 }, (_, i) => cart(i))
  let ticks = 0
  const timer = setInterval(() => { ticks += 1 }, 1)
  const done = await store.ingest(events, '2024-05-01T10:00:00Z')
  clearInterval(timer)
  assert.equal(done.stored, 5000)
  assert.ok(ticks > 0, 'the event loop ran during the ingest')
})

test('the package\'s bin is the same patron command', () => {
  const { spawnSync } = require('node:child_process')
  const dir = tempDir()
  const db = path.join(dir, 'shop.db')
  const store = new patron.Store(db, CONFIG)
  void store
  const bin = path.join(__dirname, '..', 'bin', 'patron.js')
  const done = spawnSync(process.execPath, [bin, 'stats', '--db', db, '--json'], { encoding: 'utf8' })
  assert.equal(done.status, 0, done.stderr)
  assert.equal(JSON.parse(done.stdout).contacts, 0)
  const bad = spawnSync(process.execPath, [bin, 'stats', '--db', path.join(dir, 'none.db')], { encoding: 'utf8' })
  assert.equal(bad.status, 4)
  assert.match(bad.stderr, /no config/)
  assert.equal(spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' }).status, 2)
})
