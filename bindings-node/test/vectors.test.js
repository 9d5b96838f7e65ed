'use strict'
// Runs every shared test vector through the Node API, as objects and as JSON text.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const patron = require('..')

const VECTORS = path.join(__dirname, '..', '..', 'tests', 'vectors', 'v1')

function expand (value) {
  if (Array.isArray(value)) return value.map(expand)
  if (value && typeof value === 'object') {
    const keys = Object.keys(value)
    if (keys.length === 1) {
      const arg = value[keys[0]]
      if (keys[0] === '$float') return { nan: NaN, inf: Infinity, '-inf': -Infinity }[arg]
      if (keys[0] === '$repeat') return arg[0].repeat(arg[1])
      if (keys[0] === '$nest') {
        let out = arg[1]
        for (let i = 0; i < arg[0]; i++) out = { a: out }
        return out
      }
    }
    return Object.fromEntries(keys.map((k) => [k, expand(value[k])]))
  }
  return value
}

const hasNonFinite = (v) =>
  typeof v === 'number' ? !Number.isFinite(v)
    : Array.isArray(v) ? v.some(hasNonFinite)
      : v && typeof v === 'object' ? Object.values(v).some(hasNonFinite) : false

const objectOps = {
  parse_contact: patron.parseContact,
  parse_contacts: patron.parseContacts,
  parse_product: patron.parseProduct,
  parse_catalog: patron.parseCatalog,
  parse_event: patron.parseEvent,
  parse_events: patron.parseEvents,
  parse_consent_change: patron.parseConsentChange,
  apply_consent: (v) => patron.applyConsent(v.contact, v.change),
  rfm_scores: (v) => patron.rfmScores(v.customers, v.as_of, v.config),
  rfm_four_groups: (v) => patron.rfmFourGroups(v.customers, v.as_of, v.config),
  lifecycle_place: (v) => patron.lifecyclePlace(v.customers, v.as_of, v.config),
  lifecycle_moves: (v) => patron.lifecycleMoves(v.before, v.before_at, v.after, v.after_at, v.config),
  predict_histories: (v) => patron.predictHistories(v.transactions, v.calibration_end, v.period_days),
  bgnbd_fit: (v) => patron.bgnbdFit(v.histories),
  bgnbd_predict: (v) => patron.bgnbdPredict(v.model, v.histories, v.t),
  bgnbd_expected_new: (v) => patron.bgnbdExpectedNew(v.model, v.t),
  gamma_gamma_fit: (v) => patron.gammaGammaFit(v.histories),
  gamma_gamma_predict: (v) => patron.gammaGammaPredict(v.model, v.histories),
  predict_average_interval: (v) => patron.predictAverageInterval(v.transactions, v.as_of),
  predict_clv: (v) => patron.predictClv(v.bgnbd, v.gamma_gamma, v.histories, v.horizon, v.step, v.discount),
  build_profiles: (v) => patron.buildProfiles(v.events),
  apply_event: (v) => patron.applyEvent(v.profile, v.event),
  profile_facts: (v) => patron.profileFacts(v.profiles, v.as_of, v.catalog, v.contacts, v.rfm, v.lifecycle, v.predict),
  customer_summaries: (v) => patron.customerSummaries(v.profiles, v.as_of),
  profile_transactions: (v) => patron.profileTransactions(v.profiles),
  summarize_purchases: (v) => patron.summarizePurchases(v.purchases, v.as_of),
  rfm_from_purchases: (v) => patron.rfmFromPurchases(v.purchases, v.as_of, v.config),
  check_segments: (v) => patron.checkSegments(v.segments),
  segment_members: (v) => patron.segmentMembers(v.segments, v.facts),
  explain_segment: (v) => patron.explainSegment(v.segments, v.name, v.facts),
  parse_segment_rule: (v) => patron.parseSegmentRule(v.text),
  freeze_segment: (v) => patron.freezeSegment(v.segments, v.name, v.facts),
  update_segments: (v) => patron.updateSegments(v.segments, v.previous, v.facts, v.event),
  segment_changes: (v) => patron.segmentChanges(v.before, v.after, v.at),
  segment_overlap: (v) => patron.segmentOverlap(v.segments, v.memberships),
  evaluate_segments: (v) => patron.evaluateSegments(v.segments, v.table, v.as_of),
  export: async (v) => {
    const options = { escapeFormulas: v.escape_formulas !== false }
    const out = 'segments' in v
      ? await patron.exportSegment(v.segments, v.name, v.facts, v.columns, v.format, null, options)
      : await patron.exportFacts(v.facts, v.columns, v.format, null, options)
    return out.toString('utf8')
  },
  read_segment_ids: (v) => patron.readSegmentIds(Buffer.from(v.source, 'utf8'), v.column),
  build_item_model: (v) => patron.buildItemModel(v.baskets, v.now, v.config),
  update_item_model: async (v) => patron.updateItemModel(await patron.buildItemModel(v.baskets, v.now, v.config), v.new_baskets),
  recommend_blocks: async (v) => patron.recommendBlocks(v.catalog, v.message, v.history, v.now,
    'baskets' in v ? await patron.buildItemModel(v.baskets, v.now, v.config) : null),
  evaluate_recommendations: (v) => patron.evaluateRecommendations(v.catalog, v.baskets, v.spec, v.k, v.config)
}

const validateOps = {
  parse_event: patron.validateEvent,
  parse_events: patron.validateEvents
}

const textOps = {
  parse_contact: patron.parseContactJson,
  parse_contacts: patron.parseContactsJson,
  parse_product: patron.parseProductJson,
  parse_catalog: patron.parseCatalogJson,
  parse_event: patron.parseEventJson,
  parse_events: patron.parseEventsJson,
  parse_consent_change: patron.parseConsentChangeJson,
  // Ops with several arguments have no single-text form: read the document, pass the parts.
  apply_consent: (text) => objectOps.apply_consent(JSON.parse(text)),
  rfm_scores: (text) => objectOps.rfm_scores(JSON.parse(text)),
  rfm_four_groups: (text) => objectOps.rfm_four_groups(JSON.parse(text)),
  lifecycle_place: (text) => objectOps.lifecycle_place(JSON.parse(text)),
  lifecycle_moves: (text) => objectOps.lifecycle_moves(JSON.parse(text))
}
Object.assign(objectOps, {
  render_message: (v) => patron.renderMessage(v.template, v.recipient, v.now, v.info),
  lint_template: (v) => patron.lintTemplate(v.template, v.sample, v.now),
  sms_measure: (v) => patron.smsMeasure(v.text),
  sms_fit: (v) => patron.smsFit(v.text, v.fit),
  push_fit: (v) => patron.pushFit(v.title, v.body, v.limits),
  render_campaign: (v) => patron.renderCampaign(v.campaign, v.templates, v.recipients, v.now),
  issue_coupons: (v) => patron.issueCoupons(v.pool, v.state, v.campaign_id, v.contact_ids, v.now),
  redeem_coupon: (v) => patron.redeemCoupon(v.pool, v.state, v.code, v.contact_id, v.at),
  campaign_kpis: (v) => patron.campaignKpis(v.events, v.config),
  campaign_uplift: (v) => patron.campaignUplift(v.assignments, v.events, v.config),
  compare_variants: (v) => patron.compareVariants(v.rows, v.metric, v.confidence),
  check_triggers: (v) => new patron.TriggerEngine(v.config, v.catalog).ruleIds,
  trigger_handle: (v) => new patron.TriggerEngine(v.config, v.catalog).handle(v.state, v.facts, v.event, v.now),
  trigger_due: (v) => new patron.TriggerEngine(v.config, v.catalog).due(v.state, v.facts, v.now),
  trigger_refresh: (v) => new patron.TriggerEngine(v.config, v.catalog).refresh(v.state, v.facts, v.now),
  simulate_triggers: (v) => new patron.TriggerEngine(v.config, v.catalog).simulate(v.contacts, v.events, v.until, v.catalog),
  read_trigger_state: (v) => patron.readTriggerState(v.state),
  trigger_presets: () => patron.triggerPresets()
})
for (const op of ['render_message', 'lint_template', 'sms_measure', 'sms_fit', 'push_fit', 'render_campaign',
  'issue_coupons', 'redeem_coupon', 'campaign_kpis', 'campaign_uplift', 'compare_variants',
  'check_triggers', 'trigger_handle', 'trigger_due', 'trigger_refresh', 'simulate_triggers', 'read_trigger_state',
  'trigger_presets']) {
  textOps[op] = (text) => objectOps[op](JSON.parse(text))
}
for (const op of ['predict_histories', 'bgnbd_fit', 'bgnbd_predict', 'bgnbd_expected_new', 'gamma_gamma_fit',
  'gamma_gamma_predict', 'predict_average_interval', 'predict_clv', 'build_profiles', 'apply_event', 'profile_facts',
  'customer_summaries', 'profile_transactions', 'summarize_purchases', 'rfm_from_purchases',
  'check_segments', 'segment_members', 'explain_segment', 'parse_segment_rule', 'export', 'read_segment_ids',
  'freeze_segment', 'update_segments', 'segment_changes', 'segment_overlap', 'evaluate_segments',
  'build_item_model', 'update_item_model', 'recommend_blocks', 'evaluate_recommendations']) {
  textOps[op] = (text) => objectOps[op](JSON.parse(text))
}

function runs (c) {
  if ('text' in c) return [['text', () => textOps[c.op](c.text)]]
  const value = expand(c.input)
  const out = []
  for (const form of c.forms || ['object', 'text']) {
    if (form === 'object') {
      out.push(['object', () => objectOps[c.op](value)])
      // validate* must accept and refuse exactly what parse* does.
      if (c.op in validateOps) out.push(['validate', () => validateOps[c.op](value)])
    }
    else if (!hasNonFinite(value)) out.push(['text', () => textOps[c.op](JSON.stringify(value))])
  }
  return out
}

for (const file of fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort()) {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  assert.equal(doc.version, 1)
  for (const c of doc.cases) {
    test(`${file} / ${c.name}`, async () => {
      for (const [form, run] of runs(c)) {
        if ('output' in c && form === 'validate') {
          assert.equal(run(), undefined)
          continue
        }
        if ('output' in c) {
          assert.deepStrictEqual(await run(), c.output, `[${form}]`)
          continue
        }
        const want = c.error
        let err = null
        try { await run() } catch (e) { err = e }
        assert.ok(err instanceof patron.PatronError, `[${form}] expected a PatronError, got ${err}`)
        assert.equal(err.code, want.code, `[${form}] ${err.message}`)
        if ('path' in want) assert.equal(err.path, want.path, `[${form}] ${err.message}`)
        if (form === 'text') {
          for (const key of ['line', 'column']) {
            if (key in want) assert.equal(err[key], want[key], `[${form}] ${err.message}`)
          }
        }
        if ('message_contains' in want) assert.ok(err.message.includes(want.message_contains), err.message)
      }
    })
  }
}
