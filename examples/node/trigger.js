'use strict'
// Triggers in Node. Regions between START and END markers are quoted in docs/triggers.md.
const assert = require('node:assert/strict')

async function main () {
  // START engine
  const patron = require('patron')

  // Build the engine once: rules, the segments they name, the policy.
  const engine = new patron.TriggerEngine({
    rules: [{
      id: 'abandoned_cart',
      trigger: { on: 'product', action: 'carted' },
      reentry: { type: 'always' },
      on_repeat: 'restart',
      steps: [{ name: '1h', delay: '1h', template: 'cart_1' }, { name: '1d', delay: '23h', template: 'cart_2' }],
      exit: [{ on: 'event', event: 'order_placed', same_products: true }]
    }],
    policy: { quiet_hours: { from: '21:00', to: '09:00' }, caps: [{ max: 2, per: '7d' }] }
  })
  const anna = {
    id: 'anna',
    email: 'anna@example.com',
    time_zone: 'Europe/Berlin',
    consent: { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
  }
  const cart = {
    type: 'cart_updated',
    id: 'e1',
    contact_id: 'anna',
    at: '2024-05-01T10:00:00Z',
    currency: 'EUR',
    lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }]
  }

  // Per event: fold it into the profile, build the facts with the contact's
  // record, hand the stored state in (null for a new contact), store the new one.
  const { profile } = patron.applyEvent(null, cart)
  let [facts] = await patron.profileFacts([profile], cart.at, null, [anna])
  let out = engine.handle(null, facts, cart, cart.at)
  assert.equal(out.next_wakeup, '2024-05-01T11:00:00Z')

  // At the wake-up: the first reminder is due. Send it; its id is the outbox key.
  ;[facts] = await patron.profileFacts([profile], out.next_wakeup, null, [anna])
  out = engine.due(out.state, facts, out.next_wakeup)
  const action = out.actions[0]
  assert.deepEqual([action.id, action.type, action.template], ['abandoned_cart/e1/1h', 'send', 'cart_1'])
  // END engine

  // START simulate
  const presets = new patron.TriggerEngine(patron.triggerPresets())
  const order = {
    type: 'order_placed',
    id: 'e2',
    contact_id: 'anna',
    at: '2024-05-01T12:00:00Z',
    order_id: 'o1',
    currency: 'EUR',
    total: 30,
    lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }]
  }
  const timeline = await presets.simulate([anna], [cart, order], '2024-06-01T00:00:00Z')
  assert.deepEqual(timeline.slice(0, 4).map((a) => a.id), [
    'abandoned_cart/e1/1h',
    'abandoned_cart/e1/exit',
    'order_confirmation/e2/receipt',
    'post_purchase/e2/rating'
  ])
  // END simulate
  for (const a of timeline) console.log(a.at, a.id)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
