'use strict'
// Parse and validate events from JavaScript objects and JSON text, to show
// the overhead of the Node boundary against the Rust core (benches/parse.rs).
//
//   make bench-node

const patron = require('patron')

const N = 100000

function events (n, seed = 7) {
  let state = BigInt(seed)
  const below = (k) => {
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n)
    return Number((state >> 33n) % BigInt(k))
  }
  const pad = (x) => String(x).padStart(2, '0')
  const out = []
  for (let i = 0; i < n; i++) {
    const base = {
      id: `e${i}`,
      contact_id: `c${below(1000)}`,
      at: `2024-${pad(1 + below(12))}-${pad(1 + below(28))}T${pad(below(24))}:${pad(below(60))}:00+03:00`
    }
    const product = `p${below(500)}`
    const kind = below(10)
    if (kind <= 4) out.push({ type: 'product_viewed', ...base, product_id: product, price: 19.9, currency: 'EUR' })
    else if (kind === 5) out.push({ type: 'cart_updated', ...base, currency: 'EUR', lines: [{ product_id: product, quantity: 1, unit_price: 19.9 }, { product_id: 'p7', quantity: 2, unit_price: 5.5 }] })
    else if (kind === 6) out.push({ type: 'order_placed', ...base, order_id: `o${i}`, total: 30.9, currency: 'EUR', lines: [{ product_id: product, quantity: 1, unit_price: 19.9, category_id: 'shoes' }, { product_id: 'p7', quantity: 2, unit_price: 5.5 }] })
    else if (kind === 7) out.push({ type: 'searched', ...base, query: 'running shoes', results: 42 })
    else if (kind === 8) out.push({ type: 'message_opened', ...base, message_id: `m${below(1000)}`, campaign_id: 'spring', channel: 'email' })
    else out.push({ type: 'wishlist_added', ...base, product_id: product })
  }
  return out
}

function bestRate (fn, n, repeat = 5) {
  let best = Infinity
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint()
    fn()
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9)
  }
  return n / best
}

const data = events(N)
const text = JSON.stringify(data)
const rows = [
  ['patron.validateEvents(objects)', bestRate(() => patron.validateEvents(data), N)],
  ['patron.parseEvents(objects)', bestRate(() => patron.parseEvents(data), N)],
  ['patron.parseEventsJson(text)', bestRate(() => patron.parseEventsJson(text), N)],
  ['patron.parseEvent(object) one by one', bestRate(() => data.forEach((e) => patron.parseEvent(e)), N)],
  ['JSON.parse(JSON.stringify(objects)) alone', bestRate(() => JSON.parse(JSON.stringify(data)), N)]
]
console.log(`${N} events, best of 5, one thread, Node ${process.version}`)
for (const [name, rate] of rows) console.log(`  ${name.padEnd(42)} ${(rate / 1000).toFixed(0).padStart(6)}k events/s`)
