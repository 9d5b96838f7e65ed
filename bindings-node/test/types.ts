// Compiled by `tsc` in the test command: the declarations must type real use.
import * as patron from '..'

const event: patron.Event = patron.parseEvent({ type: 'searched', id: 'e', contact_id: 'c', at: new Date(), query: 'q' })
if (event.type === 'order_placed') {
  const total: number = event.total
  const first: patron.OrderLine | undefined = event.lines[0]
  void total
  void first
}
const contact: patron.Contact = patron.applyConsent({ id: 'c' }, { channel: 'email', purpose: 'marketing', action: 'request', at: '2024-01-01T00:00:00Z' })
const status: patron.ConsentStatus | undefined = contact.consent?.email?.marketing?.status
try {
  patron.parseCatalogJson('{}')
} catch (e) {
  if (e instanceof patron.ValidationError) {
    const where: string | null = e.path
    void where
  }
}
void status

async function profiles (): Promise<void> {
  const [built] = await patron.buildProfiles([event])
  const { profile, applied } = patron.applyEvent(built ?? null, event)
  const facts: patron.Facts[] = await patron.profileFacts([profile], new Date(), null)
  const cartAge: number | undefined = facts[0]?.cart?.age_seconds
  const summaries: patron.CustomerSummary[] = await patron.customerSummaries([profile], '2024-01-01T00:00:00Z')
  const transactions: patron.Transaction[] = await patron.profileTransactions([profile])
  void applied
  void cartAge
  void summaries
  void transactions
}
void profiles

async function exports (facts: patron.Facts[]): Promise<void> {
  const csv: Buffer = await patron.exportFacts(facts, ['contact_id', 'orders'], 'csv')
  const written: void = await patron.exportSegment({ buyers: 'orders >= 1' }, 'buyers', facts, ['contact_id'], 'xlsx',
    '/tmp/buyers.xlsx', { escapeFormulas: false })
  const ids: string[] = await patron.readSegmentIds(csv, 'contact_id')
  try {
    await patron.readSegmentIds('/no/such/file.csv', 'contact_id')
  } catch (e) {
    if (e instanceof patron.IoError) void e.code
  }
  void written
  void ids
}
void exports

async function membership (facts: patron.Facts[]): Promise<void> {
  const segments = { buyers: 'orders >= 1', june: { members: ['c1'] } }
  const frozen: patron.StaticSegment = await patron.freezeSegment(segments, 'buyers', facts)
  const update: patron.MembershipUpdate = patron.updateSegments({ ...segments, frozen }, null, facts[0])
  const entered: 'entered' | 'left' | undefined = update.changes[0]?.change
  const moves: patron.SegmentChange[] = await patron.segmentChanges([], [update.membership], new Date())
  const overlap: patron.SegmentOverlap = await patron.segmentOverlap(segments, [update.membership])
  const inside: Record<string, boolean[]> = await patron.evaluateSegments(segments, { orders: [1, 0] }, '2024-07-01T00:00:00Z')
  void entered
  void moves
  void overlap.both
}
void membership

async function messages (): Promise<void> {
  const template: patron.TemplateSpec = { subject: 'Hi {{ contact.first_name }}', fallbacks: { first_name: 'there' } }
  const letter: patron.Message = patron.renderMessage(template, { contact: { id: 'c1' } }, new Date())
  const problems: patron.TemplateProblem[] = patron.lintTemplate(template, { contact: { id: 'c1' } }, '2024-07-01T00:00:00Z')
  const sms: patron.SmsMeasure = patron.smsMeasure('Hi')
  const fitted: patron.SmsFitted = patron.smsFit('Hi', { max_parts: 1 })
  const push: patron.Push = patron.pushFit('Title', 'Body')
  const run: patron.CampaignResult = await patron.renderCampaign({ id: 'k', channel: 'email' }, [template], [], new Date())
  const letters: patron.CampaignSummary = await patron.writeCampaign({ id: 'k', channel: 'email' }, [template], [], new Date(), '/tmp/letters.jsonl')
  const coupons = await patron.issueCoupons({ id: 'p', codes: ['A'] }, null, 'k', ['c1'], new Date())
  const state: patron.PoolState = coupons.state
  const rows: patron.KpiRow[] = await patron.campaignKpis([])
  const uplift: patron.Uplift[] = await patron.campaignUplift([], [])
  const ab: patron.VariantComparison[] = patron.compareVariants(rows, 'click_rate')
  const csv: string = patron.kpiReport(rows, 'csv')
  void [letter, problems, sms, fitted, push, run, letters, state, uplift, ab, csv]
}
void messages
async function recommendations (catalog: patron.Data): Promise<void> {
  const model: patron.ItemModel = await patron.buildItemModel(
    [{ contact_id: 'c', at: new Date(), product_ids: ['p1', 'p2'] }], new Date(), { neighbours: 10 })
  const updated: patron.ItemModel = await patron.updateItemModel(model, [{ contact_id: 'd', at: '2024-01-01T00:00:00Z', product_ids: ['p1'] }])
  const blocks: patron.Block[] = await patron.recommendBlocks(catalog, { triggers: ['p1'], blocks: [{ kind: 'also_bought', size: 4 }] },
    null, new Date(), updated)
  const source: patron.BlockKind | undefined = blocks[0]?.slots[0]?.source
  const evaluation: patron.Evaluation = await patron.evaluateRecommendations(catalog, [], { kind: 'buy_again', size: 10 }, 10)
  const recommender: patron.Recommender = new patron.Recommender(catalog, model)
  const again: patron.Block[] = await recommender.blocks({ blocks: [{ kind: 'for_you', size: 4 }] }, null, new Date())
  const many: patron.Block[][] = await recommender.blocksMany({ blocks: [{ kind: 'bestsellers', size: 2 }] }, [{}], '2024-01-01T00:00:00Z')
  const known: number = recommender.knownToModel
  const ndcg: number = evaluation.all_items.ndcg
  void source
  void ndcg
  void [again, many, known]
}
void recommendations
async function triggers (facts: patron.Facts): Promise<void> {
  const engine = new patron.TriggerEngine(patron.triggerPresets())
  const ids: string[] = engine.ruleIds
  const config: patron.TriggerConfig = engine.config()
  const out: patron.TriggerOutcome = engine.handle(null, facts, { type: 'custom', id: 'e1', contact_id: 'c', at: new Date(), name: 'x' }, new Date())
  const state: patron.ContactState = engine.adopt(out.state, facts, new Date())
  const later: patron.TriggerOutcome = engine.due(state, facts, '2024-01-01T00:00:00Z')
  const refreshed: patron.TriggerOutcome = engine.refresh(later.state, facts, '2024-01-01T00:00:00Z')
  const note: string | undefined = refreshed.state.segments_until
  const kind: patron.TriggerAction['type'] | undefined = later.actions[0]?.type
  const timeline: patron.TriggerAction[] = await engine.simulate([], [], new Date())
  const fresh: patron.ContactState = patron.newTriggerState('c')
  const read: patron.ContactState = patron.readTriggerState(fresh)
  const wake: string | null = patron.nextWakeup(read)
  void [ids, config, kind, timeline, wake, note]
}
void triggers

async function store (): Promise<void> {
  const shop = new patron.Store('/tmp/patron-types.db', { triggers: { rules: [] }, sender: { from: 'Shop <a@b.c>' } })
  const ingested: patron.Ingested = await shop.ingest([{ type: 'searched', id: 'e', contact_id: 'c', at: new Date(), query: 'q' }], new Date())
  const ran: patron.Ran = await shop.runDue('2024-05-01T00:00:00Z')
  const sent: patron.Sent = await shop.send(new Date(), { smtp: '127.0.0.1:25' })
  const letters: patron.Letter[] = await shop.claimLetters(new Date(), ['sms'], 10)
  for (const letter of letters) {
    const done: 'sent' | 'lease_lost' = await shop.letterSent(letter.message_id, new Date())
    void done
  }
  const stats: patron.StoreStats = await shop.stats()
  const next: string | null = await shop.nextWakeup(new Date())
  try {
    await shop.ingest('{"type": 1}', new Date())
  } catch (e) {
    if (e instanceof patron.StoreError || e instanceof patron.JsonError) {
      const line: number | null = e.line
      void line
    }
  }
  void ingested
  void ran
  void sent
  void stats
  void next
}
void store
