'use strict'
// Purchases in Node. Regions between START and END markers are quoted in docs/purchases.md.
const assert = require('node:assert/strict')

async function main () {
  // START purchases
  const patron = require('patron')

  // A shop's order table: one row per order line; rows of one order share its id.
  const orders = [
    { contact_id: 'anna', order_id: 'o-10', at: '2024-06-01T10:00:00Z', amount: 30 },
    { contact_id: 'anna', order_id: 'o-10', at: '2024-06-01T10:00:00Z', amount: 20 },
    { contact_id: 'ben', order_id: 'o-11', at: '2024-05-20T08:30:00Z', amount: 99 },
    { contact_id: 'anna', order_id: 'o-12', at: '2024-06-20T19:00:00Z', amount: 15 }
  ]
  const scores = await patron.rfmFromPurchases(orders, '2024-07-01T00:00:00Z')
  assert.equal(scores[0].cell, '442')

  const summaries = await patron.summarizePurchases(orders, new Date('2024-07-01T00:00:00Z'))
  assert.deepEqual([summaries[0].orders, summaries[0].revenue], [2, 65])
  // END purchases
}

main().catch((err) => { console.error(err); process.exit(1) })
