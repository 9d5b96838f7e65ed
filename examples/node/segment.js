'use strict'
// Segments in Node. Regions between START and END markers are quoted in docs/segments.md and docs/export.md.
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

  // START windows
  // What happened in the last N days before the facts' as_of: orders, revenue
  // and what was bought exactly; counts of events (views, searches...) below 16.
  const windows = {
    'spent 180000 on suits this month': 'bought_categories.suits.spent in last 30 days >= 180000',
    'phone browsers': { field: 'viewed_categories.phones.count', within_days: 7, op: '>=', value: 2 }
  }
  assert.deepEqual((await patron.segmentMembers(windows, facts))[0].segments, ['spent 180000 on suits this month'])
  // Anna's order leaves the window 30 days after it: her next change.
  assert.equal(patron.updateSegments(windows, null, facts[0]).next_change, '2024-07-20T10:00:01Z')
  // A count of events within a window is exact below 16; 16 is refused.
  assert.throws(() => patron.checkSegments({ x: 'searches.phone.count in last 7 days >= 16' }),
    { code: 'validation', message: /exact below 16/ })
  // END windows

  // START export
  const os = require('node:os')
  const path = require('node:path')

  // A segment's members with chosen columns: a Buffer, or a file when given a path.
  const columns = ['contact_id', 'orders', 'revenue', 'last_order_at']
  const csv = await patron.exportSegment(segments, 'buyers', facts, columns, 'csv')
  assert.equal(csv.toString(), 'contact_id,orders,revenue,last_order_at\r\nanna,1,180000,2024-06-20T10:00:00Z\r\n')
  await patron.exportSegment(segments, 'buyers', facts, columns, 'xlsx', path.join(os.tmpdir(), 'buyers.xlsx'))

  // A static segment's ids back from CSV: a path or a Buffer.
  assert.deepEqual(await patron.readSegmentIds(csv, 'contact_id'), ['anna'])
  // END export

  // START membership
  // Freeze "buyers" now: a static segment keeps these members for good.
  const frozen = await patron.freezeSegment(segments, 'buyers', facts)
  const registry = { buyers: 'orders >= 1', 'june buyers': frozen }
  const before = await patron.segmentMembers(registry, facts)

  // After ben's first order, his update says he entered "buyers" (not the
  // frozen list), at the time of his facts. Keep `membership` for next time.
  const update = patron.updateSegments(registry, before[1], { ...facts[1], orders: 1 })
  assert.deepEqual(update.membership.segments, ['buyers'])
  assert.deepEqual(update.changes.map((c) => [c.segment, c.change]), [['buyers', 'entered']])

  // Given the event the facts now hold, an update reads again only the segments
  // such an event can change (a view cannot change "buyers"); the rest come from
  // the membership, while its fingerprint says the segments are the same.
  const view = { type: 'product_viewed', id: 'e3', contact_id: 'ben', at: '2024-07-01T00:00:00Z', product_id: 'p1' }
  const again = patron.updateSegments(registry, update.membership, { ...facts[1], orders: 1 }, view)
  assert.deepEqual([again.membership, again.changes], [update.membership, []])

  // Sizes and overlaps of every segment over the base.
  const overlap = await patron.segmentOverlap(registry, [before[0], update.membership])
  assert.deepEqual(overlap.counts, [2, 1])
  // END membership

  // START record
  // With the contacts' records and RFM, rules read consent, typed attributes,
  // tags and scores; a contact without events (vera) gets facts too.
  const contacts = [
    { id: 'anna', attributes: { size: 'M', points: 120 },
      consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-05-02T10:00:00Z' } } } },
    { id: 'vera', consent: { email: { marketing: { status: 'pending', requested_at: '2024-06-30T10:00:00Z' } } } }
  ]
  const known = await patron.profileFacts(await patron.buildProfiles(events), '2024-07-01T00:00:00Z', null, contacts, {})
  const rules = {
    'mailable size M': 'contact.consent.email.marketing.status = "confirmed" and contact.attributes.size = "M"',
    'awaiting double opt-in, never bought': 'contact.consent.email.marketing.status = "pending" and orders = 0',
    'has an RFM score': 'rfm.cell is set'
  }
  assert.deepEqual((await patron.segmentMembers(rules, known)).map((m) => m.segments),
    [['has an RFM score', 'mailable size M'], [], ['awaiting double opt-in, never bought']])
  // END record

  // START table
  // A whole base as columns named by field (an object of lists): every
  // segment at once, true or false per row.
  const table = { orders: [4, 0, null], 'contact.city': ['Berlin', 'Paris', null] }
  const inside = await patron.evaluateSegments(
    { buyers: 'orders >= 1', 'outside Berlin': 'contact.city != "Berlin"' }, table, '2024-07-01T00:00:00Z')
  // An empty cell is a missing value: `!=` holds for it.
  assert.deepEqual(inside, { buyers: [true, false, false], 'outside Berlin': [false, true, true] })
  // END table

  // START predicted
  // With the lifecycle grid and a fitted BG/NBD model (here the published
  // CDNOW parameters, in weeks), rules read each buyer's cell and predictions.
  const bgnbd = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }
  const scored = await patron.profileFacts(await patron.buildProfiles(events), '2024-07-01T00:00:00Z',
    null, null, null, {}, { bgnbd, horizon_days: 90 })
  const gridRules = { 'new buyers': 'lifecycle.region = "new"', 'slipping away': 'predicted.probability_alive < 0.4' }
  assert.deepEqual((await patron.segmentMembers(gridRules, scored)).map((m) => m.segments), [['new buyers'], []])
  // One purchase day: nothing to lose yet. Ben has no orders, so no predictions.
  assert.equal(scored[0].predicted.probability_alive, 1)
  assert.equal(scored[1].predicted, undefined)
  // END predicted
}

main().catch((err) => { console.error(err); process.exit(1) })
