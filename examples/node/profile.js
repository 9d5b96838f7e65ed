'use strict'
// Profiles in Node. Regions between START and END markers are quoted in docs/profile.md.
const assert = require('node:assert/strict')

async function main () {
  // START profile
  const patron = require('patron')

  const events = [
    { type: 'product_viewed', id: 'e1', contact_id: 'anna', at: '2024-06-01T09:00:00Z', product_id: 'boot' },
    { type: 'order_placed', id: 'e2', contact_id: 'anna', at: '2024-06-01T09:30:00Z', order_id: 'o1',
      lines: [{ product_id: 'boot', quantity: 1, unit_price: 120 }], total: 120, currency: 'EUR' },
    { type: 'cart_updated', id: 'e3', contact_id: 'anna', at: '2024-06-20T18:00:00Z',
      lines: [{ product_id: 'scarf', quantity: 1, unit_price: 40 }], currency: 'EUR' }
  ]
  const catalog = {
    categories: [{ id: 'shoes', name: 'Shoes' }, { id: 'boots', name: 'Boots', parent_id: 'shoes' }],
    products: [{ id: 'boot', name: 'Chelsea boot', price: 120, currency: 'EUR', category_path: ['shoes', 'boots'], brand: 'Acme' }]
  }

  // Batch: a whole event log in, one profile per contact out (off the event loop).
  const profiles = await patron.buildProfiles(events)

  // Real time: fold each event as it arrives, in any order; store the profile as JSON.
  let anna = null
  for (const event of [...events].reverse()) anna = patron.applyEvent(anna, event).profile
  assert.equal(patron.applyEvent(anna, events[0]).applied, false)
  assert.deepEqual(anna, profiles[0])

  const [facts] = await patron.profileFacts([anna], '2024-06-21T09:00:00Z', catalog)
  assert.deepEqual([facts.orders, facts.revenue], [1, 120])
  assert.equal(facts.bought_categories.shoes.orders, 1)
  assert.deepEqual([facts.cart.value, facts.cart.age_seconds], [40, 15 * 3600])

  // The same facts feed RFM and the lifecycle grid.
  const summaries = await patron.customerSummaries(profiles, '2024-06-21T09:00:00Z')
  assert.equal(summaries[0].orders, 1)
  // END profile
}

main().catch((err) => { console.error(err); process.exit(1) })
