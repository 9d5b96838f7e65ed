'use strict'
// Issue 19's attacks, rerun through Node: each ends at once with a clear,
// typed error or a correct result (docs/limits.md).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const patron = require('..')

const FACTS = {
  contact_id: 'c1', as_of: '2024-07-01T00:00:00Z', orders: 4, cancelled_orders: 0, returned_orders: 0,
  purchase_days: 4, revenue: 200.0, last_order_at: '2024-06-20T00:00:00Z', currency: 'EUR', at_risk: false
}
const NOW = '2024-07-01T00:00:00Z'

// Runs `call`; a hang (what these inputs caused before) fails the test.
async function quickly (call) {
  const started = Date.now()
  const result = await call()
  assert.ok(Date.now() - started < 5000, 'took seconds: a hang')
  return result
}

test('segments referring to each other many times are checked once each', async () => {
  const segments = {}
  for (let i = 0; i < 30; i++) segments[`s${i}`] = `segment "s${i + 1}" or segment "s${i + 1}"`
  segments.s30 = 'orders >= 1'
  const names = Object.keys(segments).sort()
  assert.deepEqual(await quickly(() => patron.checkSegments(segments)), names)
  const members = await quickly(() => patron.segmentMembers(segments, [FACTS]))
  assert.deepEqual(members[0].segments, names)
  const why = await quickly(() => patron.explainSegment(segments, 's0', FACTS))
  assert.equal(why.result, true)
  assert.deepEqual(why.parts[1], { kind: 'segment', name: 's1', result: true })
})

test('a chain of ten thousand references is refused at once, naming the limit', async () => {
  const chain = {}
  for (let i = 0; i < 10000; i++) chain[`c${i}`] = `segment "c${i + 1}"`
  chain.c10000 = 'orders >= 1'
  await quickly(() => assert.throws(() => patron.checkSegments(chain), (e) => {
    assert.ok(e instanceof patron.ValidationError)
    assert.equal(e.path, 'segments.c0')
    assert.match(e.message, /at most 64 levels deep/)
    return true
  }))
})

test('KPI csv cells that would run as formulas are escaped', async () => {
  const events = [{
    type: 'message_sent', id: 'e1', contact_id: 'c1', at: NOW, message_id: 'm1', channel: 'email',
    campaign_id: '=HYPERLINK("http://evil.example","open")'
  }]
  const csv = patron.kpiReport(await patron.campaignKpis(events), 'csv')
  assert.ok(csv.split('\r\n')[1].startsWith('"\'=HYPERLINK('), csv)
})

test('templates stop at their limits with a LimitError', async () => {
  const cases = [
    [{ text: '{% for i in range(end=100000) %}{% for j in range(end=9) %}' + 'x'.repeat(90) + '{% endfor %}{% endfor %}' }, /limits\.output_bytes/],
    [{ html: '{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}' }, /limits\.range_steps/],
    [{ subject: 'longer than ten bytes', limits: { output_bytes: 10 } }, /limits\.output_bytes/]
  ]
  for (const [template, limit] of cases) {
    await quickly(() => assert.throws(() => patron.renderMessage(template, { contact: { id: 'c1' } }, NOW), (e) => {
      assert.ok(e instanceof patron.LimitError, e)
      assert.equal(e.code, 'limit')
      assert.match(e.message, limit)
      return true
    }))
  }
})

test('no letter after an unsubscribe the engine saw, though the record handed in is old', () => {
  const engine = new patron.TriggerEngine({
    rules: [{ id: 'cart', trigger: { on: 'product', action: 'carted' }, steps: [{ name: '1h', delay: '1h', template: 'cart' }] }]
  })
  const facts = (asOf) => ({
    contact_id: 'anna', as_of: asOf, orders: 0, cancelled_orders: 0, returned_orders: 0, purchase_days: 0, revenue: 0, at_risk: false,
    cart: { lines: [{ product_id: 'p1', quantity: 1, unit_price: 20 }], currency: 'EUR', value: 20, updated_at: '2024-05-01T10:00:00Z', age_seconds: 0 },
    contact: { id: 'anna', email: 'anna@example.com', consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } } }
  })
  const cart = {
    type: 'cart_updated', id: 'e1', contact_id: 'anna', at: '2024-05-01T10:00:00Z', currency: 'EUR',
    lines: [{ product_id: 'p1', quantity: 1, unit_price: 20 }]
  }
  const started = engine.handle(null, facts('2024-05-01T10:00:00Z'), cart, '2024-05-01T10:00:00Z')
  const unsubscribe = {
    type: 'consent_changed', id: 'u1', contact_id: 'anna', at: '2024-05-01T10:30:00Z', channel: 'email', purpose: 'marketing', action: 'unsubscribe'
  }
  const seen = engine.handle(started.state, facts('2024-05-01T10:30:00Z'), unsubscribe, '2024-05-01T10:30:00Z')
  const due = engine.due(seen.state, facts('2024-05-01T11:00:00Z'), '2024-05-01T11:00:00Z')
  assert.deepEqual(due.actions.map((a) => a.type), ['skipped'])
})
