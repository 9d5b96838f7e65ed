'use strict'
// Messages in Node. Regions between START and END markers are quoted in docs/messages.md.
const assert = require('node:assert/strict')

async function main () {
  // START template
  const patron = require('patron')

  const template = {
    subject: '{{ contact.first_name }}, picks for you',
    html: '<p>Hi {{ contact.first_name }}!</p>{% for product in blocks.picks %}{% include "card" %}{% endfor %}' +
      '<a href="{{ links.unsubscribe }}">Unsubscribe</a>',
    text: 'Hi {{ contact.first_name }}! Your code: {{ coupon.code }}',
    partials: { card: '<a href="{{ product.url }}">{{ product.name }}</a>' },
    fallbacks: { first_name: 'friend' },
    tracking: { utm_source: 'newsletter' }
  }
  const recipient = {
    contact: { id: 'c-1', first_name: '<b>Ann</b>' },
    blocks: { picks: [{ id: 'p1', name: 'Linen shirt', price: 49.9, currency: 'EUR', url: 'https://shop.example/p/1' }] },
    coupon: { code: 'SPR-RFGP-FFTZS' },
    links: { unsubscribe: 'https://shop.example/u/c-1' }
  }
  const letter = patron.renderMessage(template, recipient, '2024-07-01T00:00:00Z', { campaign_id: 'summer' })
  assert.equal(letter.html,
    '<p>Hi &lt;b&gt;Ann&lt;/b&gt;!</p>' +
    '<a href="https://shop.example/p/1?utm_source=newsletter&amp;utm_campaign=summer">Linen shirt</a>' +
    '<a href="https://shop.example/u/c-1">Unsubscribe</a>')
  assert.deepEqual(patron.lintTemplate(template, recipient, '2024-07-01T00:00:00Z'), [])
  assert.throws(() => patron.renderMessage({ html: '<p>{% if x %}</p>' }, recipient, '2024-07-01T00:00:00Z'),
    (e) => e instanceof patron.TemplateError && e.path === 'template.html' && e.line === 1 && e.column === 18)
  // END template

  // START sms
  const m = patron.smsMeasure('Привет, Ann! 20% off today')
  assert.deepEqual([m.encoding, m.parts], ['ucs2', 1])
  const fitted = patron.smsFit('Sale on every shirt and dress '.repeat(8))
  assert.ok(fitted.truncated && fitted.measure.parts === 1)
  // END sms

  // START kpis
  const events = [
    { type: 'message_sent', id: 'e1', contact_id: 'c-1', at: '2024-07-01T09:00:00Z', message_id: 'm1', campaign_id: 'summer', channel: 'email' },
    { type: 'message_clicked', id: 'e2', contact_id: 'c-1', at: '2024-07-01T10:00:00Z', message_id: 'm1', channel: 'email', url: 'https://shop.example/p/1' },
    { type: 'order_placed', id: 'e3', contact_id: 'c-1', at: '2024-07-02T10:00:00Z', order_id: 'o1',
      lines: [{ product_id: 'p1', quantity: 1, unit_price: 49.9 }], total: 49.9, currency: 'EUR' }
  ]
  const rows = await patron.campaignKpis(events)
  assert.deepEqual([rows[0].sent, rows[0].clicked, rows[0].converted], [1, 1, 1])
  assert.equal(rows[0].revenue, 49.9)
  console.log(patron.kpiReport(rows, 'csv'))
  // END kpis

  // START campaign
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')

  const consent = { email: { marketing: { status: 'confirmed', confirmed_at: '2024-01-01T00:00:00Z' } } }
  const recipients = Array.from({ length: 100 }, (_, i) => ({
    contact: { id: `c-${i}`, email: `c${i}@example.com`, consent },
    blocks: { picks: [] },
    coupon: { code: `SPR-${String(i).padStart(4, '0')}` },
    links: { unsubscribe: `https://shop.example/u/c-${i}` }
  }))
  const campaign = { id: 'summer', channel: 'email', control_share: 0.1 }
  // Every outcome back as objects, or one JSON line each to a file.
  const result = await patron.renderCampaign(campaign, [template], recipients, '2024-07-01T00:00:00Z')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letters-'))
  const out = path.join(dir, 'letters.jsonl')
  const summary = await patron.writeCampaign(campaign, [template], recipients, '2024-07-01T00:00:00Z', out)
  assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, 100)
  assert.deepEqual(summary, result.summary)
  assert.equal(summary.failed, 0)
  fs.rmSync(dir, { recursive: true })
  // END campaign
}

main().catch((e) => { console.error(e); process.exit(1) })
