'use strict'
// Triggers from Node: what the shared vectors cannot show (Dates in, the
// engine kept across calls, error classes, a stored state round trip).
const test = require('node:test')
const assert = require('node:assert/strict')
const patron = require('..')

const anna = {
  id: 'anna',
  email: 'anna@example.com',
  consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
}
const rules = {
  rules: [{
    id: 'cart',
    trigger: { on: 'product', action: 'carted' },
    steps: [{ delay: '1h', template: 'cart_1' }],
    exit: [{ on: 'event', event: 'order_placed', same_products: true }]
  }]
}
const cart = {
  type: 'cart_updated',
  id: 'e1',
  contact_id: 'anna',
  at: new Date('2024-05-01T10:00:00Z'),
  currency: 'EUR',
  lines: [{ product_id: 'p1', quantity: 1, unit_price: 20 }]
}

async function factsAt (at) {
  const profiles = await patron.buildProfiles([cart])
  return (await patron.profileFacts(profiles, at, null, [anna]))[0]
}

test('the engine is built once and called with Dates; the state round-trips through JSON', async () => {
  const engine = new patron.TriggerEngine(rules)
  assert.deepEqual(engine.ruleIds, ['cart'])
  const first = engine.handle(null, await factsAt(cart.at), cart, cart.at)
  assert.equal(first.next_wakeup, '2024-05-01T11:00:00Z')
  const stored = JSON.parse(JSON.stringify(first.state))
  assert.equal(patron.nextWakeup(stored), '2024-05-01T11:00:00Z')
  const again = engine.handle(stored, await factsAt(cart.at), cart, cart.at)
  assert.equal(again.ignored, 'duplicate')
  const due = engine.due(stored, await factsAt(new Date('2024-05-01T11:00:00Z')), new Date('2024-05-01T11:00:00Z'))
  assert.equal(due.actions[0].type, 'send')
  assert.equal(due.actions[0].id, 'cart/e1/1')
})

test('bad rules and calls raise ValidationError with the field', async () => {
  const facts = await factsAt(cart.at)
  assert.throws(() => new patron.TriggerEngine({ rules: [{ id: 'r', trigger: { on: 'event', event: 'order_placd' }, steps: [{ template: 't' }] }] }),
    (e) => e instanceof patron.ValidationError && e.path === 'config.rules[0].trigger.event' && /order_placed/.test(e.message))
  const engine = new patron.TriggerEngine(rules)
  const state = { version: 1, contact_id: 'anna', clock: '2024-05-02T00:00:00Z' }
  assert.throws(() => engine.due(state, {}, new Date('2024-05-01T00:00:00Z')),
    (e) => e instanceof patron.ValidationError && e.path.startsWith('facts'))
  assert.throws(() => engine.due(state, facts, new Date('2024-05-01T00:00:00Z')),
    (e) => e instanceof patron.ValidationError && e.path === 'now')
  assert.throws(() => patron.readTriggerState({ version: 9, contact_id: 'anna' }),
    (e) => e instanceof patron.ValidationError && e.path === 'state.version' && /newer patron/.test(e.message))
})

test('simulate runs off the event loop and returns the timeline', async () => {
  const engine = new patron.TriggerEngine(patron.triggerPresets())
  const timeline = await engine.simulate([anna], [cart], new Date('2024-05-10T00:00:00Z'))
  assert.deepEqual(timeline.map((a) => a.id), ['abandoned_cart/e1/1h', 'abandoned_cart/e1/1d', 'abandoned_cart/e1/3d'])
})
