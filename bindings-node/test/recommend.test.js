'use strict'
// Recommendations from Node: what the shared vectors cannot show (Dates, the
// bulk call, the model's round trip through JSON, error classes).
const test = require('node:test')
const assert = require('node:assert/strict')
const patron = require('..')

const catalog = {
  products: [
    { id: 'tea', name: 'Green tea', price: 4, currency: 'EUR' },
    { id: 'cup', name: 'Tea cup', price: 9, currency: 'EUR' },
    { id: 'honey', name: 'Honey', price: 6, currency: 'EUR' }
  ]
}
const now = new Date('2024-06-01T00:00:00Z')
const baskets = [
  { contact_id: 'a', at: new Date('2024-05-01T00:00:00Z'), product_ids: ['tea', 'cup'] },
  { contact_id: 'b', at: '2024-05-02T10:00:00Z', product_ids: ['tea', 'cup', 'honey'] }
]

test('the model round-trips through JSON and updates', async () => {
  const model = await patron.buildItemModel(baskets, now)
  assert.equal(model.built_at, '2024-06-01T00:00:00Z')
  const updated = await patron.updateItemModel(JSON.parse(JSON.stringify(model)), [{ contact_id: 'c', at: now, product_ids: ['honey', 'tea'] }])
  assert.deepEqual(updated.products, ['tea', 'cup', 'honey'])
  const fixed = await patron.buildItemModel(baskets, now, { incremental: false })
  await assert.rejects(patron.updateItemModel(fixed, baskets), (e) => e instanceof patron.ValidationError && e.path === 'model.interactions')
})

test('many contacts at once equal one by one', async () => {
  const model = await patron.buildItemModel(baskets, now)
  const message = { blocks: [{ kind: 'for_you', size: 2 }, { kind: 'buy_again', size: 1 }] }
  const histories = [{ bought: [{ product_id: 'tea', last_at: now }] }, { viewed: [{ product_id: 'cup', count: 2, last_at: now }] }, {}]
  const many = await patron.recommendBlocksMany(catalog, message, histories, now, model)
  const one = await Promise.all(histories.map((h) => patron.recommendBlocks(catalog, message, h, now, model)))
  assert.deepEqual(many, one)
})

test('errors carry code and path', async () => {
  await assert.rejects(patron.recommendBlocks(catalog, { blocks: [{ kind: 'similar', size: 0 }] }, null, now),
    (e) => e instanceof patron.PatronError && e.code === 'validation' && e.path === 'message.blocks[0].size')
})

test('a Recommender indexes once and gives what the functions give', async () => {
  const model = await patron.buildItemModel(baskets, now)
  const recommender = new patron.Recommender(catalog, model)
  assert.equal(recommender.knownToModel, 3)
  const message = { blocks: [{ kind: 'for_you', size: 2 }, { kind: 'buy_again', size: 1 }] }
  const histories = [{ bought: [{ product_id: 'tea', last_at: now }] }, { viewed: [{ product_id: 'cup', count: 2, last_at: now }] }, {}]
  for (const h of histories) {
    assert.deepEqual(await recommender.blocks(message, h, now), await patron.recommendBlocks(catalog, message, h, now, model))
  }
  assert.deepEqual(await recommender.blocksMany(message, histories, now),
    await patron.recommendBlocksMany(catalog, message, histories, now, model))
  assert.deepEqual(await new patron.Recommender(catalog).blocks(message, null, now),
    await patron.recommendBlocks(catalog, message, null, now))
  await assert.rejects(recommender.blocks({ blocks: [{ kind: 'similar', size: 0 }] }, null, now),
    (e) => e instanceof patron.ValidationError && e.path === 'message.blocks[0].size')
  assert.throws(() => new patron.Recommender({ products: [{ id: 'x' }] }),
    (e) => e instanceof patron.ValidationError && e.path.startsWith('catalog.'))
})
