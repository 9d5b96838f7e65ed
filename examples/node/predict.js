'use strict'
// Purchase predictions in Node. Regions between START and END markers are quoted in docs/predict.md.
const assert = require('node:assert/strict')

// Bulk calls return Promises: they run off the event loop.
async function main () {
  // START predict
  const patron = require('patron')

  const transactions = [
    { contact_id: 'a', date: '1997-01-01', amount: 29.33 },
    { contact_id: 'a', date: '1997-01-18', amount: 29.73 },
    { contact_id: 'a', date: '1997-08-02', amount: 14.96 },
    { contact_id: 'b', date: '1997-03-05', amount: 11.77 }
  ]
  const histories = await patron.predictHistories(transactions, '1997-09-30') // periods of 7 days

  // Parameters from a fit (bgnbdFit, gammaGammaFit); here the published CDNOW ones.
  const bgnbd = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }
  const next39Weeks = await patron.bgnbdPredict(bgnbd, histories, 39)
  assert.ok(Math.abs(next39Weeks[0].expected_purchases - 1.226) < 0.001)

  const spend = await patron.gammaGammaPredict({ p: 6.25, q: 3.74, gamma: 15.44 }, histories)
  assert.ok(spend[0].expected_value > 0)
  // END predict
  // START interval_clv
  // The average-interval rule: past the mean gap between purchases, a customer is "at risk".
  const rule = await patron.predictAverageInterval(transactions, '1997-12-01')
  assert.equal(rule[0].average_interval_days, 106.5) // gaps of 17 and 196 days
  assert.ok(rule[0].at_risk)

  // Lifetime value over a year in monthly steps, discounted 1% a month.
  const clv = await patron.predictClv(bgnbd, { p: 6.25, q: 3.74, gamma: 15.44 }, histories, 52.18, 4.348, 0.01)
  assert.ok(clv[0].clv > clv[1].clv)
  // END interval_clv
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
