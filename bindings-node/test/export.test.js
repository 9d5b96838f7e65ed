'use strict'
// Export and id reading: what the vectors cannot show (files, Buffers, xlsx, error classes).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const patron = require('..')

const facts = Array.from({ length: 10 }, (_, i) => ({
  contact_id: `c${i}`, as_of: '2024-07-01T00:00:00Z', orders: i % 5, revenue: i * 10.5, cancelled_orders: 0,
  returned_orders: 0, purchase_days: i % 5, at_risk: i % 2 === 0, last_order_at: '2024-06-20T10:00:00Z'
}))
const COLUMNS = ['contact_id', 'orders', 'revenue', 'last_order_at', 'at_risk']
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'patron-export-'))

test('without a path the output comes back as a Buffer; with one the file is written', async () => {
  const pending = patron.exportFacts(facts, COLUMNS, 'csv')
  assert.ok(pending instanceof Promise)
  const buffer = await pending
  assert.ok(Buffer.isBuffer(buffer))
  assert.ok(buffer.toString().startsWith('contact_id,orders,revenue,last_order_at,at_risk\r\nc0,0,0,2024-06-20T10:00:00Z,true\r\n'))
  const file = path.join(tmp, 'all.csv')
  assert.equal(await patron.exportFacts(facts, COLUMNS, 'csv', file), undefined)
  assert.deepEqual(fs.readFileSync(file), buffer)
  assert.deepEqual(await patron.readSegmentIds(file, 'contact_id'), facts.map((f) => f.contact_id))
  assert.deepEqual(await patron.readSegmentIds(new Uint8Array(buffer), 'contact_id'), facts.map((f) => f.contact_id))
})

test('a segment exports its members; xlsx is a zip with the sheet', async () => {
  const buffer = await patron.exportSegment({ buyers: 'orders >= 1' }, 'buyers', facts, COLUMNS, 'xlsx')
  assert.equal(buffer.subarray(0, 4).toString('latin1'), 'PK\x03\x04')
  assert.ok(buffer.includes('xl/worksheets/sheet1.xml'))
  const ndjson = await patron.exportSegment({ buyers: 'orders >= 1' }, 'buyers', facts, ['contact_id'], 'ndjson')
  assert.equal(ndjson.toString().trim().split('\n').length, 8)
})

test('formula escaping is on by default for CSV and can be turned off', async () => {
  const rows = [{ ...facts[0], contact_id: '=1+2' }]
  assert.equal((await patron.exportFacts(rows, ['contact_id'], 'csv')).toString(), "contact_id\r\n'=1+2\r\n")
  assert.equal((await patron.exportFacts(rows, ['contact_id'], 'csv', null, { escapeFormulas: false })).toString(),
    'contact_id\r\n=1+2\r\n')
})

test('errors reject with their class, code and path', async () => {
  await assert.rejects(patron.exportFacts(facts, ['revenu'], 'csv'),
    (e) => e instanceof patron.ValidationError && e.path === 'columns[0]' && e.message.includes('did you mean `revenue`?'))
  await assert.rejects(patron.exportFacts(facts, 'orders', 'csv'), (e) => e.code === 'validation' && e.path === 'columns')
  await assert.rejects(patron.exportFacts(facts, ['orders'], 'xls'), (e) => e.code === 'validation' && e.path === 'format')
  await assert.rejects(patron.exportFacts(facts, ['orders'], 'csv', 42), (e) => e.code === 'validation' && e.path === 'out')
  await assert.rejects(patron.exportSegment({ vip: 'revenue > 1' }, 'vp', facts, ['orders'], 'csv'),
    (e) => e.code === 'validation' && e.path === 'name')
  // A failed export to a path leaves no file.
  const vip = path.join(tmp, 'vip.csv')
  await assert.rejects(patron.exportSegment({ vip: 'revenue > 1' }, 'vp', facts, ['orders'], 'csv', vip))
  assert.equal(fs.existsSync(vip), false)
  await assert.rejects(patron.exportFacts(facts, ['orders'], 'csv', path.join(tmp, 'missing', 'x.csv')),
    (e) => e instanceof patron.IoError && e.code === 'io')
  await assert.rejects(patron.readSegmentIds(path.join(tmp, 'nope.csv'), 'contact_id'), (e) => e instanceof patron.IoError)
  await assert.rejects(patron.readSegmentIds(Buffer.from('contact_id\nanna\nanna\n'), 'contact_id'),
    (e) => e instanceof patron.ValidationError && e.line === 3 && e.column === 1)
  await assert.rejects(patron.readSegmentIds(42, 'contact_id'), (e) => e.code === 'validation' && e.path === 'source')
})
