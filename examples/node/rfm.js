'use strict'
// RFM in Node. Regions between START and END markers are quoted in docs/rfm.md.
const assert = require('node:assert/strict')

// Bulk calls return Promises: they run off the event loop.
async function main () {
  // START rfm
  const patron = require('patron')

  const customers = [
    { contact_id: 'a', last_order_at: '2024-06-25T10:00:00Z', orders: 9, revenue: 900 },
    { contact_id: 'b', last_order_at: '2024-05-02T10:00:00Z', orders: 5, revenue: 410 },
    { contact_id: 'c', last_order_at: '2024-01-20T10:00:00Z', orders: 3, revenue: 260 },
    { contact_id: 'd', last_order_at: '2023-08-14T10:00:00Z', orders: 2, revenue: 95 },
    { contact_id: 'e', last_order_at: '2022-11-30T10:00:00Z', orders: 1, revenue: 40 },
    { contact_id: 'f', orders: 0, revenue: 0 }
  ]
  const asOf = new Date('2024-07-01T00:00:00Z')
  const scores = await patron.rfmScores(customers, asOf)
  assert.equal(scores[0].cell, '555')
  assert.equal(scores[0].segment, 'champions')

  const groups = await patron.rfmFourGroups(customers, asOf)
  assert.deepEqual(groups.map((g) => g.group), ['best', 'best', 'best', 'others', 'others', 'subscribers'])
  // END rfm
  // START lifecycle
  const places = await patron.lifecyclePlace(customers, asOf)
  assert.deepEqual([places[0].purchases, places[0].days, places[0].region], ['5+', '0-30', 'best'])

  // Thirty days on, with no new orders: who moved to another cell?
  const moves = await patron.lifecycleMoves(customers, asOf, customers, new Date('2024-07-31T00:00:00Z'))
  assert.equal(moves[0].contact_id, 'a')
  assert.equal(moves[0].to.days, '31-60')
  // END lifecycle
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
