'use strict'
// What the vectors cannot show: Dates, error classes, export parity with Python and the .d.ts.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')
const patron = require('..')

const ORDER = {
  type: 'order_placed',
  id: 'e1',
  contact_id: 'c1',
  at: new Date('2024-05-01T10:00:00+02:00'),
  order_id: 'o1',
  lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }],
  total: 30,
  currency: 'EUR'
}

test('Dates in, ISO strings in UTC out', () => {
  const e = patron.parseEvent(ORDER)
  assert.equal(e.at, '2024-05-01T08:00:00Z')
  const c = patron.parseContact({ id: 'c', attributes: { seen: new Date('2024-03-01T12:00:00Z') } })
  assert.deepEqual(c.attributes.seen, { datetime: '2024-03-01T12:00:00Z' })
  assert.deepEqual(patron.parseContact(c), c, 'the output is valid input again')
})

test('an invalid Date is a validation error at its path', () => {
  assert.throws(() => patron.parseEvent({ ...ORDER, at: new Date('nope') }),
    (e) => e instanceof patron.ValidationError && e.path === 'at')
})

test('every error is a PatronError with a stable code', () => {
  const cases = [
    [() => patron.parseEventJson('{'), patron.JsonError, 'json'],
    [() => patron.parseEvent({ type: 'nope' }), patron.ValidationError, 'validation'],
    [() => patron.applyConsent({ id: 'c' }, { channel: 'email', purpose: 'marketing', action: 'confirm', at: '2024-01-01T00:00:00Z' }),
      patron.ConsentTransitionError, 'consent_transition']
  ]
  for (const [fn, Class, code] of cases) {
    assert.throws(fn, (e) => e instanceof Class && e instanceof patron.PatronError && e instanceof Error && e.code === code)
  }
  assert.ok(patron.JsonError.prototype instanceof patron.ValidationError)
})

test('odd JavaScript values are errors, not crashes', () => {
  const cyclic = { id: 'c' }
  cyclic.attributes = cyclic
  assert.throws(() => patron.parseContact(cyclic), patron.ValidationError)
  assert.throws(() => patron.parseContact('{"id":"c"}'), /Json functions/)
  assert.throws(() => patron.parseContact({ id: 10n ** 30n }), (e) => e.path === 'id')
  assert.throws(() => patron.parseEventJson(42), patron.ValidationError)
  const c = patron.parseContactJson(Buffer.from('{"id":"c"}'))
  assert.equal(c.id, 'c')
})

test('inputs are never modified', () => {
  const contact = { id: 'c', email: 'A@B.CO' }
  const out = patron.applyConsent(contact, { channel: 'email', purpose: 'marketing', action: 'request', at: '2024-01-01T00:00:00Z' })
  assert.deepEqual(contact, { id: 'c', email: 'A@B.CO' })
  assert.equal(out.consent.email.marketing.status, 'pending')
})

const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

test('every Python export has a Node export, and the other way round', () => {
  const init = fs.readFileSync(path.join(__dirname, '..', '..', 'bindings-python', 'python', 'patron', '__init__.py'), 'utf8')
  const all = init.match(/__all__ = \[([^\]]*)\]/)[1].match(/"([^"]+)"/g).map((s) => s.slice(1, -1))
  const python = new Set(all.map((n) => n === '__version__' ? 'version' : camel(n)))
  assert.deepEqual([...python].sort(), Object.keys(patron).sort())
})

test('index.d.ts declares exactly the runtime exports', () => {
  const file = path.join(__dirname, '..', 'index.d.ts')
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const declared = new Set()
  for (const stmt of source.statements) {
    const exported = stmt.modifiers && stmt.modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
    if (!exported) continue
    if (ts.isFunctionDeclaration(stmt) || ts.isClassDeclaration(stmt)) declared.add(stmt.name.text)
    if (ts.isVariableStatement(stmt)) stmt.declarationList.declarations.forEach((d) => declared.add(d.name.text))
  }
  assert.deepEqual([...declared].sort(), Object.keys(patron).sort())
})

test('bulk calls return Promises and reject with PatronError', async () => {
  const customers = [{ contact_id: 'a', last_order_at: '2024-06-25T10:00:00Z', orders: 2, revenue: 50 }]
  const pending = patron.rfmScores(customers, '2024-07-01T00:00:00Z')
  assert.ok(pending instanceof Promise)
  assert.equal((await pending)[0].contact_id, 'a')
  await assert.rejects(patron.rfmScores(customers, '2024-07-01T00:00:00Z', { bins: 11 }),
    (e) => e instanceof patron.ValidationError && e.path === 'config.bins')
  // Bad input that fails while encoding rejects too, instead of throwing.
  await assert.rejects(patron.bgnbdFit([{ contact_id: 'a', frequency: NaN }]),
    (e) => e instanceof patron.ValidationError && e.path === 'histories[0].frequency')
})

test('a stored profile round-trips through JSON and folds on', async () => {
  const order = { type: 'order_placed', id: 'e1', contact_id: 'c1', at: new Date('2024-05-01T08:00:00Z'), order_id: 'o1', lines: [{ product_id: 'p1', quantity: 1, unit_price: 30 }], total: 30, currency: 'EUR' }
  const events = [order, { ...order, id: 'e2', order_id: 'o2', at: '2024-06-01T00:00:00Z' }]
  const [built] = await patron.buildProfiles(events)
  let profile = null
  for (const event of [...events].reverse()) {
    const result = patron.applyEvent(profile, event)
    assert.equal(result.applied, true)
    profile = JSON.parse(JSON.stringify(result.profile))
  }
  assert.deepEqual(profile, built)
  assert.equal(patron.applyEvent(profile, events[0]).applied, false)
  const [facts] = await patron.profileFacts([profile], new Date('2024-07-01T00:00:00Z'))
  assert.equal(facts.orders, 2)
  assert.equal(facts.next_order_expected, '2024-07-02')
  await assert.rejects(patron.customerSummaries([profile], '2024-05-02T00:00:00Z'), { code: 'validation', path: 'profiles[0].events.last_at' })
})

test('writeCampaign writes the outcomes renderCampaign returns, a line each', async () => {
  const os = require('node:os')
  const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '../../tests/vectors/v1/message.json'), 'utf8'))
  const cases = doc.cases.filter((c) => c.input.recipients && !c.error)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patron-'))
  const file = path.join(dir, 'letters.jsonl')
  for (const { input: v } of cases) {
    const want = await patron.renderCampaign(v.campaign, v.templates, v.recipients, v.now)
    assert.deepEqual(await patron.writeCampaign(v.campaign, v.templates, v.recipients, v.now, file), want.summary)
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l)
    assert.deepEqual(lines.map((l) => JSON.parse(l)), want.outcomes)
  }
  const v = cases[0].input
  await assert.rejects(patron.writeCampaign(v.campaign, v.templates, v.recipients, v.now, 42),
    { code: 'validation', path: 'out' })
  await assert.rejects(patron.writeCampaign(v.campaign, v.templates, v.recipients, v.now, path.join(dir, 'no/such/dir.jsonl')),
    (e) => e instanceof patron.IoError && e.code === 'io')
  fs.rmSync(dir, { recursive: true })
})

test('campaign recipients may come as the JSON text of their array', async () => {
  const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '../../tests/vectors/v1/message.json'), 'utf8'))
  const cases = doc.cases.filter((c) => c.input.recipients && !c.error)
  assert.ok(cases.length > 0)
  for (const { input: v } of cases) {
    const want = await patron.renderCampaign(v.campaign, v.templates, v.recipients, v.now)
    const text = JSON.stringify(v.recipients)
    assert.deepEqual(await patron.renderCampaign(v.campaign, v.templates, text, v.now), want)
    assert.deepEqual(await patron.renderCampaign(v.campaign, v.templates, Buffer.from(text), v.now), want)
  }
  await assert.rejects(patron.renderCampaign(cases[0].input.campaign, cases[0].input.templates, '[{', cases[0].input.now),
    (e) => e instanceof patron.PatronError && e.code === 'json')
})
