'use strict'
// Recommendation blocks in Node. Regions between START and END markers are quoted in docs/recommend.md.
const assert = require('node:assert/strict')

// Bulk calls return Promises: they run off the event loop.
async function main () {
  // START recommend
  const patron = require('patron')

  const catalog = {
    products: [
      { id: 'sencha', name: 'Sencha green tea', price: 8, currency: 'EUR' },
      { id: 'matcha', name: 'Matcha green tea', price: 20, currency: 'EUR' },
      { id: 'cup', name: 'Tea cup', price: 9, currency: 'EUR' },
      { id: 'pot', name: 'Tea pot', price: 35, currency: 'EUR', stock: 0 }
    ]
  }
  // Orders (and views, with kind: 'view') of the whole shop: the model learns from them.
  const baskets = [
    { contact_id: 'a', at: '2024-05-01T10:00:00Z', product_ids: ['sencha', 'cup'] },
    { contact_id: 'b', at: '2024-05-03T10:00:00Z', product_ids: ['sencha', 'cup', 'pot'] },
    { contact_id: 'b', at: '2024-05-20T10:00:00Z', product_ids: ['matcha'] }
  ]
  const now = new Date('2024-06-01T00:00:00Z')
  const model = await patron.buildItemModel(baskets, now) // an object: store it as JSON

  const message = { blocks: [{ kind: 'buy_again', size: 1 }, { kind: 'also_bought', size: 3 }] }
  const history = {
    bought: [{ product_id: 'sencha', orders: 3, first_at: '2024-03-01T10:00:00Z', last_at: '2024-05-01T10:00:00Z' }]
  }
  // Index the catalog and the model once, then fill blocks for any number of contacts
  // (patron.recommendBlocks does the same in one call, indexing the catalog each time).
  const recommender = new patron.Recommender(catalog, model)
  const blocks = await recommender.blocks(message, history, now)
  const slots = blocks.map((b) => b.slots.map((s) => [s.product_id, s.source]))
  // The pot is out of stock; the tea was bought, so only "buy again" shows it.
  assert.deepEqual(slots, [[['sencha', 'buy_again']], [['cup', 'also_bought'], ['matcha', 'also_bought']]])
  // END recommend
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
