'use strict'
// Runs the store's shared vectors (tests/vectors/store/v1) through patron.Store.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const patron = require('..')

const VECTORS = path.join(__dirname, '..', '..', 'tests', 'vectors', 'store', 'v1')

function step (store, call, a) {
  switch (call) {
    case 'upsert_contacts': return store.upsertContacts(a.contacts, a.now)
    case 'ingest': return store.ingest('lines' in a ? a.lines : a.events, a.now)
    case 'run_due': return store.runDue(a.now)
    case 'next_wakeup': return store.nextWakeup(a.now)
    case 'claim_letters': return store.claimLetters(a.now, a.channels, a.limit ?? 100)
    case 'letter_sent': return store.letterSent(a.message_id, a.now)
    case 'letter_failed': return store.letterFailed(a.message_id, a.reason, a.now, { retry: a.retry ?? true, hardBounce: a.hard_bounce ?? false })
    case 'unsubscribe': return store.unsubscribe(a.token, a.now)
    case 'stats': return store.stats()
    case 'outbox': return store.outbox(a.status ?? null)
    case 'contact': return store.contact(a.contact_id)
    default: throw new Error(`unknown store call ${call}`)
  }
}

function checkError (err, want, where) {
  assert.ok(err instanceof patron.PatronError, `${where}: ${err}`)
  assert.equal(err.code, want.code, `${where}: ${err.message}`)
  for (const key of ['path', 'line', 'column']) {
    if (key in want) assert.equal(err[key], want[key], `${where}: ${key} in ${err.message}`)
  }
  if ('message_contains' in want) assert.ok(err.message.includes(want.message_contains), `${where}: ${err.message}`)
}

for (const file of fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort()) {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  assert.equal(doc.version, 1)
  for (const c of doc.cases) {
    test(`${path.basename(file, '.json')}/${c.name}`, async () => {
      const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'patron-vectors-')), 'shop.db')
      if (c.open_error) {
        assert.throws(() => new patron.Store(db, c.config), (e) => { checkError(e, c.open_error, 'opening'); return true })
        return
      }
      const store = new patron.Store(db, c.config)
      for (const [i, s] of c.steps.entries()) {
        const where = `step ${i} (${s.call})`
        if (s.error) {
          await assert.rejects(step(store, s.call, s.args || {}), (e) => { checkError(e, s.error, where); return true })
        } else {
          assert.deepEqual(await step(store, s.call, s.args || {}), s.output, where)
        }
      }
    })
  }
}
