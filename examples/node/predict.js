'use strict'
// Purchase predictions in Node. Regions between START and END markers are quoted in docs/predict.md.
const assert = require('node:assert/strict')

// START predict
const patron = require('patron')

const transactions = [
  { contact_id: 'a', date: '1997-01-01', amount: 29.33 },
  { contact_id: 'a', date: '1997-01-18', amount: 29.73 },
  { contact_id: 'a', date: '1997-08-02', amount: 14.96 },
  { contact_id: 'b', date: '1997-03-05', amount: 11.77 }
]
const histories = patron.predictHistories(transactions, '1997-09-30') // periods of 7 days

// Parameters from a fit (bgnbdFit, gammaGammaFit); here the published CDNOW ones.
const bgnbd = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }
const next39Weeks = patron.bgnbdPredict(bgnbd, histories, 39)
assert.ok(Math.abs(next39Weeks[0].expected_purchases - 1.226) < 0.001)

const spend = patron.gammaGammaPredict({ p: 6.25, q: 3.74, gamma: 15.44 }, histories)
assert.ok(spend[0].expected_value > 0)
// END predict
