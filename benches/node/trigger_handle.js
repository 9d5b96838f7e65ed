'use strict'
// One trigger event from Node: TriggerEngine.handle over the 100 rules of
// benches/data/triggers100.json, each contact's state carried from call to
// call, as a host runs it. Compare the percentiles with the Rust core's
// (`cargo bench --bench trigger`): the difference is the Node boundary.
//
//   make bench-node

const fs = require('node:fs')
const path = require('node:path')
const patron = require('patron')

const CONFIG = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'data', 'triggers100.json'), 'utf8'))
delete CONFIG.about
const CONTACTS = 1000

function day (k) {
  const cid = `c${k}`
  const at = (m) => `2025-01-01T${String(9 + Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00Z`
  const p = (j) => `p${(k * 7 + j) % 120}`
  return [
    { type: 'product_viewed', id: `${cid}-v1`, contact_id: cid, at: at(1), product_id: p(0) },
    { type: 'product_viewed', id: `${cid}-v2`, contact_id: cid, at: at(3), product_id: p(1) },
    { type: 'cart_updated', id: `${cid}-c1`, contact_id: cid, at: at(5), currency: 'EUR', lines: [{ product_id: p(1), quantity: 1, unit_price: 30 }] },
    { type: 'custom', id: `${cid}-x1`, contact_id: cid, at: at(8), name: `event_${(k % 40) * 2 + 1}` },
    { type: 'product_viewed', id: `${cid}-v3`, contact_id: cid, at: at(30), product_id: p(2) },
    { type: 'order_placed', id: `${cid}-o1`, contact_id: cid, at: at(90), order_id: `${cid}-o1`, currency: 'EUR', total: 30, lines: [{ product_id: p(1), quantity: 1, unit_price: 30 }] }
  ]
}

async function main () {
  const engine = new patron.TriggerEngine(CONFIG)
  const contacts = []
  const days = []
  for (let k = 0; k < CONTACTS; k++) {
    contacts.push({ id: `c${k}`, email: `c${k}@example.com`, time_zone: 'Europe/Berlin', consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } } })
    days.push(day(k))
  }
  const profiles = []
  for (const d of days) profiles.push((await patron.buildProfiles(d))[0])
  const facts = await patron.profileFacts(profiles, '2025-01-01T10:30:00Z', null, contacts)
  const times = []
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < CONTACTS; k++) {
      let state = null
      for (const e of days[k]) {
        const t = process.hrtime.bigint()
        const out = engine.handle(state, facts[k], e, e.at)
        if (round > 0) times.push(Number(process.hrtime.bigint() - t) / 1000)
        state = out.state
      }
    }
  }
  times.sort((a, b) => a - b)
  const pct = (p) => times[Math.floor((times.length - 1) * p)]
  console.log(`handle from Node, 100 rules and 20 segments, ${times.length} calls: ` +
    `p50 ${pct(0.5).toFixed(1)} us, p90 ${pct(0.9).toFixed(1)} us, p99 ${pct(0.99).toFixed(1)} us`)
}

main().catch((err) => { console.error(err); process.exit(1) })
