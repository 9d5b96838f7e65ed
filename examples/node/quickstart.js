'use strict'
// The Node quickstart. Regions between START and END markers are quoted in
// README.md and docs/; `make docs-check` keeps the quotes exact.
const assert = require('node:assert/strict')

// START parse_event
const patron = require('patron')

const event = patron.parseEvent({
  type: 'cart_updated', id: 'e-1', contact_id: 'c-1',
  at: new Date('2024-05-01T10:00:00+02:00'), // or the ISO string itself
  currency: 'EUR', lines: [{ product_id: 'p-1', quantity: 2, unit_price: 19.9 }]
})
assert.equal(event.type, 'cart_updated')
assert.equal(event.at, '2024-05-01T08:00:00Z')
// END parse_event

// START errors
try {
  patron.parseEvent({
    type: 'cart_updated', id: 'e-2', contact_id: 'c-1', at: '2024-05-01T10:00:00Z',
    currency: 'EUR', lines: [{ product_id: 'p-1', quantity: 0, unit_price: 19.9 }]
  })
} catch (err) {
  assert.ok(err instanceof patron.ValidationError) // every error is a patron.PatronError
  assert.equal(err.code, 'validation')
  assert.equal(err.path, 'lines[0].quantity')
  console.log(err.message) // lines[0].quantity: expected a positive quantity, got 0
}
// END errors

// START consent
let contact = patron.parseContact({ id: 'c-1', email: 'anna@example.com' })
for (const [action, at] of [['request', '2024-05-01T10:00:00Z'], ['confirm', '2024-05-01T10:07:00Z']]) {
  contact = patron.applyConsent(contact, { channel: 'email', purpose: 'marketing', action, at })
}
assert.equal(contact.consent.email.marketing.status, 'confirmed')
// END consent
