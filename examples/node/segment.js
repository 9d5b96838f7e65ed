'use strict'
// Segments in Node. Regions between START and END markers are quoted in docs/segments.md.
const assert = require('node:assert/strict')

async function main () {
  // START segments
  const patron = require('patron')

  const events = [
    { type: 'order_placed', id: 'e1', contact_id: 'anna', at: '2024-06-20T10:00:00Z', order_id: 'o1',
      total: 180000, currency: 'RUB', lines: [{ product_id: 'suit-9', quantity: 1, unit_price: 180000, category_id: 'suits' }] },
    { type: 'message_sent', id: 'e2', contact_id: 'ben', at: '2024-06-01T08:00:00Z', message_id: 'm1', channel: 'email' }
  ]
  const facts = await patron.profileFacts(await patron.buildProfiles(events), '2024-07-01T00:00:00Z')

  const segments = {
    'suit buyers this month': { all: [
      { field: 'bought_categories.suits.last_at', op: 'within_last_days', value: 30 },
      { field: 'revenue', op: '>=', value: 180000 }] },
    'never bought': { field: 'orders', op: '=', value: 0 },
    // Rules may also be written as text.
    buyers: 'not segment "never bought"'
  }
  const members = await patron.segmentMembers(segments, facts)
  assert.deepEqual(members[0].segments, ['buyers', 'suit buyers this month'])
  assert.deepEqual(members[1].segments, ['never bought'])

  assert.equal(patron.explainSegment(segments, 'buyers', facts[1]).result, false)

  assert.throws(() => patron.checkSegments({ x: { field: 'revenu', op: '>', value: 1 } }),
    { code: 'validation', path: 'segments.x.field' })
  // END segments
}

main().catch((err) => { console.error(err); process.exit(1) })
