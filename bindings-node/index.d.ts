// Types of the `patron` package: the normalized JSON form of the data model.
// Timestamps are ISO 8601 strings in UTC on output; on input a `Date` or an
// ISO 8601 string with an offset is accepted.

/** A timestamp: ISO 8601 text with an offset (output is always UTC, `...Z`). */
export type Timestamp = string
/** A timestamp on input: ISO text with an offset, or a Date. */
export type TimestampInput = string | Date
/** A typed custom attribute; a datetime is `{ datetime: iso }` (a Date on input). */
export type AttributeValue = string | number | boolean | string[] | { datetime: Timestamp }
/** `email`, `sms`, `push` or a channel the shop adds. */
export type Channel = string
export type Purpose = 'marketing' | 'transactional'
export type ConsentStatus = 'none' | 'pending' | 'confirmed' | 'unsubscribed'
export type ConsentAction = 'request' | 'confirm' | 'unsubscribe'

export interface ConsentRecord {
  status: ConsentStatus
  requested_at?: Timestamp
  confirmed_at?: Timestamp
  source?: string
  ip?: string
  unsubscribed_at?: Timestamp
  reason?: string
}

export interface ConsentChange {
  channel: Channel
  purpose: Purpose
  action: ConsentAction
  at: Timestamp
  source?: string
  ip?: string
  reason?: string
}

export interface Source {
  utm_source?: string
  utm_medium?: string
  utm_campaign?: string
  utm_term?: string
  utm_content?: string
  landing_page?: string
  referrer?: string
  search_query?: string
}

export interface Contact {
  id: string
  email?: string
  phone?: string
  first_name?: string
  last_name?: string
  /** `YYYY-MM-DD`. */
  birthday?: string
  gender?: 'female' | 'male' | 'other'
  city?: string
  region?: string
  country?: string
  time_zone?: string
  locale?: string
  created_at?: Timestamp
  source?: Source
  tags?: string[]
  attributes?: Record<string, AttributeValue>
  consent?: Record<Channel, Partial<Record<Purpose, ConsentRecord>>>
}

export interface ProductLinks {
  accessories?: string[]
  similar?: string[]
  replacement?: string[]
}

export interface Product {
  id: string
  name: string
  url?: string
  image_url?: string
  category_path?: string[]
  brand?: string
  price: number
  old_price?: number
  currency: string
  stock?: number
  available: boolean
  created_at?: Timestamp
  rating?: number
  tags?: string[]
  attributes?: Record<string, AttributeValue>
  links?: ProductLinks
}

export interface Category {
  id: string
  name: string
  parent_id?: string
  url?: string
}

export interface Catalog {
  categories: Category[]
  products: Product[]
}

export interface CartLine {
  product_id: string
  quantity: number
  unit_price: number
}

export interface OrderLine extends CartLine {
  category_id?: string
}

interface EventBase {
  id: string
  contact_id?: string
  visitor_id?: string
  at: Timestamp
}

export interface ProductViewed extends EventBase {
  type: 'product_viewed'
  product_id: string
  category_id?: string
  price?: number
  currency?: string
}
export interface CategoryViewed extends EventBase { type: 'category_viewed', category_id: string }
export interface Searched extends EventBase { type: 'searched', query: string, results?: number }
export interface CartUpdated extends EventBase { type: 'cart_updated', lines: CartLine[], currency: string }
export interface CheckoutStarted extends EventBase { type: 'checkout_started', total?: number, currency?: string }
export interface OrderPlaced extends EventBase {
  type: 'order_placed'
  order_id: string
  lines: OrderLine[]
  total: number
  currency: string
  coupon?: string
}
export interface OrderStatusChanged extends EventBase {
  type: 'order_status_changed'
  order_id: string
  status: 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned'
}
export interface WishlistChanged extends EventBase { type: 'wishlist_added' | 'wishlist_removed', product_id: string }
export interface ConsentChanged extends EventBase {
  type: 'consent_changed'
  channel: Channel
  purpose: Purpose
  action: ConsentAction
  source?: string
  ip?: string
  reason?: string
}
export interface MessageActivity extends EventBase {
  type: 'message_sent' | 'message_delivered' | 'message_opened' | 'message_clicked' |
    'message_unsubscribed' | 'message_bounced' | 'message_complained'
  message_id: string
  campaign_id?: string
  channel: Channel
  url?: string
}
export interface CouponRedeemed extends EventBase { type: 'coupon_redeemed', code: string, order_id?: string }
export interface SurveyAnswered extends EventBase { type: 'survey_answered', survey_id: string, answers: Record<string, AttributeValue> }
export interface Custom extends EventBase { type: 'custom', name: string, properties: Record<string, AttributeValue> }
export interface PriceChanged extends EventBase {
  type: 'price_changed'
  product_id: string
  price: number
  old_price?: number
  currency: string
}
export interface StockChanged extends EventBase { type: 'stock_changed', product_id: string, stock: number, previous_stock?: number, available?: boolean }
export interface ProductAdded extends EventBase { type: 'product_added', product: Product }

/** Any event; `type` tells which. */
export type Event =
  | ProductViewed | CategoryViewed | Searched | CartUpdated | CheckoutStarted | OrderPlaced
  | OrderStatusChanged | WishlistChanged | ConsentChanged | MessageActivity | CouponRedeemed
  | SurveyAnswered | Custom | PriceChanged | StockChanged | ProductAdded

/** Plain data to validate: a JSON-like object (Dates allowed for timestamps); checked at run time. */
export type Data = object
/** JSON text, as a string or UTF-8 bytes. */
export type JsonText = string | Uint8Array

/** The package version. */
export const version: string

/** Validates a contact and returns its normalized form. */
export function parseContact (data: Data): Contact
export function parseContactJson (text: JsonText): Contact
/** Validates a list of contacts; an error path starts with the index. */
export function parseContacts (data: Data[]): Contact[]
export function parseContactsJson (text: JsonText): Contact[]
export function parseProduct (data: Data): Product
export function parseProductJson (text: JsonText): Product
/** Validates a whole catalog: the category tree, the products and their links. */
export function parseCatalog (data: Data): Catalog
export function parseCatalogJson (text: JsonText): Catalog
/** Validates an event (tagged by `type`). */
export function parseEvent (data: Data): Event
export function parseEventJson (text: JsonText): Event
/** Validates a list of events; an error path starts with the index. */
export function parseEvents (data: Data[]): Event[]
export function parseEventsJson (text: JsonText): Event[]
/** Checks one event without building the normalized form (the fast path for raw event streams). */
export function validateEvent (data: Data): void
/** Checks a list of events without building the normalized form. */
export function validateEvents (data: Data[]): void
export function parseConsentChange (data: Data): ConsentChange
export function parseConsentChangeJson (text: JsonText): ConsentChange
/** Applies a consent change to a contact; throws ConsentTransitionError when not allowed. */
export function applyConsent (contact: Data, change: Data): Contact

/** What RFM needs to know about one contact. */
export interface CustomerSummary {
  contact_id: string
  last_order_at?: Timestamp
  orders: number
  purchase_days?: number
  revenue: number
  currency?: string
}
/** A named RFM segment: the score ranges it covers, `[min, max]`. */
export interface SegmentRule { name: string, r?: [number, number], f?: [number, number], m?: [number, number] }
export interface RfmConfig {
  bins?: number
  ties?: 'same_bin' | 'by_id'
  frequency?: 'orders' | 'purchase_days'
  monetary?: 'total' | 'mean'
  thresholds?: { recency_days: number[], frequency: number[], monetary: number[] } | null
  segments?: SegmentRule[] | null
}
export interface RfmScore {
  contact_id: string
  recency_days: number
  frequency: number
  monetary: number
  r: number
  f: number
  m: number
  cell: string
  segment?: string
}
export interface FourGroupConfig { min_orders?: number, min_revenue?: number, window_days?: number }
export interface FourGroupResult { contact_id: string, group: 'best' | 'losing' | 'subscribers' | 'others' }

/** RFM scores of every customer who has bought, in input order. Bulk calls like this one run off the event loop and return Promises. */
export function rfmScores (customers: Data[], asOf: TimestampInput, config?: RfmConfig): Promise<RfmScore[]>
/** The four-group scheme (best, losing, subscribers, others), in input order. */
export function rfmFourGroups (customers: Data[], asOf: TimestampInput, config?: FourGroupConfig): Promise<FourGroupResult[]>
/** The default named-segment table, rules in order of precedence. */
/** One row of a shop's order table: an order, or an order line (rows with one `order_id` are one order). */
export interface Purchase { contact_id: string, order_id?: string, at: TimestampInput, amount: number }
/** Customer summaries from a shop's order table, in the order of each customer's first row. */
export function summarizePurchases (purchases: Data[], asOf: TimestampInput): Promise<CustomerSummary[]>
/** RFM scores straight from a shop's order table. */
export function rfmFromPurchases (purchases: Data[], asOf: TimestampInput, config?: RfmConfig): Promise<RfmScore[]>
export function rfmDefaultSegments (): SegmentRule[]

/** A named region of the lifecycle grid: purchases and days covered, `[min, max]`; a null max is open-ended. */
export interface RegionRule { name: string, purchases: [number, number | null], days: [number, number | null] }
export interface LifecycleConfig { purchases?: number[], days?: number[], regions?: RegionRule[] }
export interface LifecycleCell { purchases: string, days: string, region: string }
export interface Placement extends LifecycleCell { contact_id: string }
export interface LifecycleMove { contact_id: string, from: LifecycleCell | null, to: LifecycleCell | null }

/** The lifecycle cell (purchases x days since the last purchase) and region of every buyer. */
export function lifecyclePlace (customers: Data[], asOf: TimestampInput, config?: LifecycleConfig): Promise<Placement[]>
/** Contacts whose lifecycle cell changed between two dates. */
export function lifecycleMoves (before: Data[], beforeAt: TimestampInput, after: Data[], afterAt: TimestampInput, config?: LifecycleConfig): Promise<LifecycleMove[]>

/** One purchase, for predictHistories. */
export interface Transaction { contact_id: string, date: string, amount: number }
/** One customer's history in the shape the models read (lifetimes' convention). */
export interface History { contact_id: string, frequency: number, recency: number, age: number, monetary: number }
export interface BgNbd { r: number, alpha: number, a: number, b: number }
/** Predictions for profileFacts: fitted BG/NBD parameters, days per period of the fit (7), horizon in days (90). */
export interface PredictConfig { bgnbd: BgNbd, period_days?: number, horizon_days?: number }
/** A contact's BG/NBD predictions at the facts' as_of. */
export interface Predicted { probability_alive: number, expected_purchases: number, horizon_days: number, churn_risk: 'low' | 'medium' | 'high' }
export interface GammaGamma { p: number, q: number, gamma: number }
export interface Fit<M> { model: M, log_likelihood: number, iterations: number }
export interface Prediction { contact_id: string, p_alive: number, expected_purchases: number, churn_risk: 'low' | 'medium' | 'high' }
export interface IntervalState {
  contact_id: string
  purchase_days: number
  last_purchase: string
  average_interval_days?: number
  next_order_expected?: string
  at_risk: boolean
}
export interface Clv { contact_id: string, expected_purchases: number, expected_value: number, clv: number }
export interface ValuePrediction { contact_id: string, expected_value: number }

/** Per-customer histories from transactions up to `calibrationEnd`, in periods of `periodDays` days (7). */
export function predictHistories (transactions: Data[], calibrationEnd: Date | string, periodDays?: number): Promise<History[]>
/** Fits BG/NBD by maximum likelihood. */
export function bgnbdFit (histories: Data[]): Promise<Fit<BgNbd>>
/** P(alive) and expected purchases in the next `t` periods for each history. */
export function bgnbdPredict (model: Data, histories: Data[], t: number): Promise<Prediction[]>
/** Expected purchases in the first `t` periods of a new customer. */
export function bgnbdExpectedNew (model: Data, t: number): number
/** Fits Gamma-Gamma on the histories with repeat purchases. */
export function gammaGammaFit (histories: Data[]): Promise<Fit<GammaGamma>>
/** The expected order value for each history. */
export function gammaGammaPredict (model: Data, histories: Data[]): Promise<ValuePrediction[]>

/** The average-interval rule: mean gap between purchase days, the expected next order, and whether `asOf` is past it. */
export function predictAverageInterval (transactions: Data[], asOf: Date | string): Promise<IntervalState[]>
/** Customer lifetime value over `horizon` periods in steps of `step`, discounted by `discount` per step. */
export function predictClv (bgnbd: Data, gammaGamma: Data, histories: Data[], horizon: number, step: number, discount: number): Promise<Clv[]>

/** How often something happened, and when first and last. */
/** How often something happened, when first and last, and the newest times (newest first, at most 16; facts a host writes may leave them out). */
export interface Tally { count: number, first_at: Timestamp, last_at: Timestamp, recent?: Timestamp[] }
export interface PlacedOrder {
  event_id: string
  at: Timestamp
  lines: OrderLine[]
  total: number
  currency: string
  coupon?: string
}
export interface OrderRecord {
  placed?: PlacedOrder
  status?: { status: 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'returned', at: Timestamp, event_id: string }
}
export interface MessageRecord {
  channel: string
  campaign_id?: string
  sent_at?: Timestamp
  delivered_at?: Timestamp
  opens?: Tally
  clicks?: Tally
  unsubscribed_at?: Timestamp
  bounced_at?: Timestamp
  complained_at?: Timestamp
}
/** What patron remembers about one contact; store it whole (docs/profile.md). */
export interface Profile {
  version: number
  contact_id: string
  events?: Tally
  activity?: Tally
  orders?: Record<string, OrderRecord>
  product_views?: Record<string, Tally & { categories?: string[] }>
  category_views?: Record<string, Tally>
  searches?: Record<string, Tally>
  cart?: { event_id: string, at: Timestamp, lines?: CartLine[], currency: string }
  checkouts?: Tally
  wishlist?: Record<string, { listed: boolean, at: Timestamp, event_id: string }>
  messages?: Record<string, MessageRecord>
  coupons?: Record<string, Tally>
  surveys?: Record<string, Tally>
  custom?: Record<string, Tally>
  seen?: string
}
/** One order that counts: when, and what was paid (newest first in Facts.purchases). */
export interface OrderTotal { at: Timestamp, total: number }
/** One order's purchase of a product, category or brand. */
export interface BoughtOnce { at: Timestamp, quantity: number, spent: number }
/** Purchases of one product, category or brand; `history` holds each order, newest first (what windows read). */
export interface Bought { orders: number, quantity: number, spent: number, first_at: Timestamp, last_at: Timestamp, history?: BoughtOnce[] }
export interface Engagement {
  sent: number
  delivered: number
  opened: number
  clicked: number
  unsubscribed: number
  bounced: number
  complained: number
  unopened_streak: number
  last_sent_at?: Timestamp
  last_opened_at?: Timestamp
  last_clicked_at?: Timestamp
}
/** What is known about a contact at `as_of`: the facts rules read. */
export interface Facts {
  contact_id: string
  as_of: Timestamp
  first_seen_at?: Timestamp
  last_activity_at?: Timestamp
  days_since_last_activity?: number
  orders: number
  cancelled_orders: number
  returned_orders: number
  revenue: number
  currency?: string
  average_order_value?: number
  first_order_at?: Timestamp
  last_order_at?: Timestamp
  days_since_last_order?: number
  purchase_days: number
  intervals_days?: number[]
  average_interval_days?: number
  next_order_expected?: string
  at_risk: boolean
  purchases?: OrderTotal[]
  bought_products?: Record<string, Bought>
  bought_categories?: Record<string, Bought>
  bought_brands?: Record<string, Bought>
  viewed_products?: Record<string, Tally>
  viewed_categories?: Record<string, Tally>
  viewed_brands?: Record<string, Tally>
  searches?: Record<string, Tally>
  cart?: { lines: CartLine[], value: number, currency: string, updated_at: Timestamp, age_seconds: number }
  wishlist?: Record<string, Timestamp>
  checkouts?: Tally
  messages?: Record<string, Engagement>
  coupons?: Record<string, Tally>
  surveys?: Record<string, Tally>
  custom_events?: Record<string, Tally>
  /** The contact's record, when profileFacts was given contacts. */
  contact?: Contact
  /** RFM scored across the facts, when profileFacts was given an RFM config; none without orders. */
  rfm?: RfmScore
  /** The cell on the lifecycle grid, when profileFacts was given a lifecycle config; none without orders. */
  lifecycle?: LifecycleCell
  /** BG/NBD predictions, when profileFacts was given a predict config; none without orders. */
  predicted?: Predicted
}

/** The profile of every contact in an event log, in contact id order; visitors' and catalog events are skipped. */
export function buildProfiles (events: Data[]): Promise<Profile[]>
/** Folds one event into a profile (`null` starts the event's contact's profile); `applied` is false for an event id seen before. */
export function applyEvent (profile: Data | null, event: Data): { profile: Profile, applied: boolean }
/** The facts of every profile at `asOf`; with a catalog, categories include ancestors and brands are known. */
export function profileFacts (profiles: Data[], asOf: TimestampInput, catalog?: Data | null, contacts?: Data[] | null,
  rfm?: RfmConfig | null, lifecycle?: LifecycleConfig | null, predict?: PredictConfig | null): Promise<Facts[]>
/** What RFM and the lifecycle grid read, for every profile at `asOf`. */
export function customerSummaries (profiles: Data[], asOf: TimestampInput): Promise<CustomerSummary[]>
/** The purchases of every profile as transactions for predictHistories. */
export function profileTransactions (profiles: Data[]): Promise<Transaction[]>

/** A segment rule: `{all: [...]}`, `{any: [...]}`, `{not: rule}`, `{field, op, value}`, `{segment: name}`, `{bucket: {percent, salt}}` (docs/segments.md). */
export type SegmentRuleExpr =
  | { all: SegmentRuleExpr[] }
  | { any: SegmentRuleExpr[] }
  | { not: SegmentRuleExpr }
  | { segment: string }
  | { bucket: { percent: number, salt?: string } }
  | { field: string, op: string, value?: unknown, within_days?: number }
/** Why a contact is in a segment or not, part by part. */
export interface Explanation {
  kind: 'all' | 'any' | 'not' | 'segment' | 'bucket' | 'field' | 'static'
  name?: string
  op?: string
  within_days?: number
  value?: unknown
  result: boolean
  parts?: Explanation[]
}
/** A rule in the text syntax (`orders >= 3 and last_order_at within 30 days`), checked, in its JSON form; errors carry line and column. */
export function parseSegmentRule (text: string): SegmentRuleExpr
/** Checks segments (name to rule) as a whole: fields, types, references, cycles; returns the names. */
export function checkSegments (segments: Record<string, SegmentRuleExpr | string>): string[]
/** The segments each contact is in, from their facts (profileFacts). */
export function segmentMembers (segments: Record<string, SegmentRuleExpr | string>, facts: Data[]): Promise<Array<{ contact_id: string, segments: string[] }>>
/** Why one contact is in segment `name` or not. */
export function explainSegment (segments: Record<string, SegmentRuleExpr | string | StaticSegment>, name: string, facts: Data): Explanation
/** A segment whose members were fixed when it was made (freezeSegment, or a list of ids). */
export interface StaticSegment { members: string[], frozen_at?: string }
/** The segments one contact is in; `fingerprint` (set by updateSegments) tells a later update whether the segments changed since. */
export interface Membership { contact_id: string, segments: string[], fingerprint?: string }
/** A contact entering or leaving a segment, at the time of the facts that showed it. */
export interface SegmentChange { contact_id: string, segment: string, change: 'entered' | 'left', at: string }
/** One contact's segments now (keep them for the next update), and what changed. */
export interface MembershipUpdate {
  membership: Membership
  changes: SegmentChange[]
  /** When the segments next change with no new event (rules over time windows): the wake-up to schedule. */
  next_change: string | null
}
/** Contacts in each segment, and in each pair (`both[i][j]`), segments in name order. */
export interface SegmentOverlap { segments: string[], counts: number[], both: number[][] }
/** Fixes segment `name`'s members now, over the whole base: the static segment to keep. */
export function freezeSegment (segments: Record<string, SegmentRuleExpr | string | StaticSegment>, name: string, facts: Data[]): Promise<StaticSegment>
/** One contact's segments from its new facts, and what it entered and left since `previous` (null for a new contact). With the `event` the facts now hold, only the segments it can change are evaluated again (the rest are kept from `previous`). */
export function updateSegments (segments: Record<string, SegmentRuleExpr | string | StaticSegment>, previous: Membership | null, facts: Data, event?: Data | null): MembershipUpdate
/** Entered and left from snapshot `before` to snapshot `after` (both whole), at `at`. */
export function segmentChanges (before: Membership[], after: Membership[], at: TimestampInput): Promise<SegmentChange[]>
/** How many contacts each segment holds and how many each pair shares. */
export function segmentOverlap (segments: Record<string, SegmentRuleExpr | string | StaticSegment>, memberships: Membership[]): Promise<SegmentOverlap>
/**
 * Every segment over a table of facts: an object of field path (`orders`,
 * `contact.city`, `bought_categories.suits.last_at`) to a list of values, one
 * per contact, all of moment `asOf`. Times and dates as ISO text; `null` is a
 * missing value. Per segment, true or false per row.
 */
export function evaluateSegments (segments: Record<string, SegmentRuleExpr | string | StaticSegment>, table: Record<string, Array<number | string | boolean | Date | null>>, asOf: TimestampInput): Promise<Record<string, boolean[]>>

/** An export format (docs/export.md). */
export type ExportFormat = 'csv' | 'json' | 'ndjson' | 'xml' | 'xlsx'
export interface ExportOptions {
  /** CSV only: text a spreadsheet would run as a formula (`=`, `+`, `-`, `@` ...) gets a leading `'`. Default true. */
  escapeFormulas?: boolean
}
/**
 * Writes `columns` (field paths as rules name them, plus `contact_id` and `as_of`) of every contact's facts in `format`.
 * With a path `out`, writes the file and resolves when done; without, resolves to the output as a Buffer.
 */
export function exportFacts (facts: Data[], columns: string[], format: ExportFormat, out: string, options?: ExportOptions): Promise<void>
export function exportFacts (facts: Data[], columns: string[], format: ExportFormat, out?: null, options?: ExportOptions): Promise<Buffer>
/** As exportFacts, for the members of segment `name` only. */
export function exportSegment (segments: Record<string, SegmentRuleExpr | string>, name: string, facts: Data[], columns: string[],
  format: ExportFormat, out: string, options?: ExportOptions): Promise<void>
export function exportSegment (segments: Record<string, SegmentRuleExpr | string>, name: string, facts: Data[], columns: string[],
  format: ExportFormat, out?: null, options?: ExportOptions): Promise<Buffer>
/** The ids in column `column` of a CSV with a header row, from a file path or a Buffer; errors carry line and column. */
export function readSegmentIds (source: string | Uint8Array, column: string): Promise<string[]>

export interface ErrorInfo {
  code?: string
  path?: string | null
  line?: number | null
  column?: number | null
}

/** Base of every patron error; `code` is stable across Rust, Python and Node. */
export class PatronError extends Error {
  constructor (message: string, info?: ErrorInfo)
  readonly code: string
  /** The field path, e.g. `lines[2].quantity`; `''` for the whole input. */
  readonly path: string | null
  readonly line: number | null
  readonly column: number | null
}
/** A value is missing, of the wrong type, or out of range (code `validation`). */
export class ValidationError extends PatronError {}
/** The input is not well-formed JSON text (code `json`). */
export class JsonError extends ValidationError {}
/** A consent change the current consent state does not allow (code `consent_transition`). */
export class ConsentTransitionError extends PatronError {}
/** A model fit or a series that did not converge (code `convergence`). */
export class ConvergenceError extends PatronError {}
/** Reading the input or writing the output failed (code `io`): a path that cannot be opened, a full disk. */
export class IoError extends PatronError {}
/** A message template failed to compile or render (code `template`); `path` names the part, `line` and `column` the place. */
export class TemplateError extends PatronError {}
/** A coupon pool with no code left to issue (code `exhausted`). */
export class ExhaustedError extends PatronError {}
/** A call reached a limit that keeps it bounded (code `limit`; docs/limits.md) and stopped; `path` says where. */
export class LimitError extends PatronError {}
/** Base of the store's own errors: the database file, the disk, a channel. */
export class StoreError extends PatronError {}
/** The file is not a patron store, or it is damaged or cut short (code `corrupt`); nothing was changed. */
export class CorruptError extends StoreError {}
/** The store file was written by a newer patron (code `newer_schema`). */
export class NewerSchemaError extends StoreError {}
/** The disk (or the file's size limit) is full (code `full`); the call's transaction was rolled back. */
export class DiskFullError extends StoreError {}
/** Another process held the store file locked longer than the busy timeout (code `busy`). */
export class BusyError extends StoreError {}
/** Any other database failure (code `database`). */
export class DatabaseError extends StoreError {}
/** The store file has no config yet (code `no_config`): open it with one. */
export class NoConfigError extends StoreError {}
/** A channel that cannot be set up, such as a bad SMTP address (code `channel`). */
export class ChannelError extends StoreError {}

/** How a store's letters go out. */
export interface SenderConfig {
  from?: string, domain?: string, unsubscribe_url?: string, unsubscribe_mailto?: string, link_key?: string,
  max_attempts?: number, retry_seconds?: number, lease_seconds?: number
}
/** What a store runs, kept in the store file (docs/store.md). */
export interface StoreConfig {
  triggers: TriggerConfig | Data, templates?: Record<string, TemplateSpec>, coupon_pools?: Data[], catalog?: Data,
  sender?: SenderConfig
}
export interface Ingested { stored: number, duplicates: string[], contacts: number, actions: number, queued: number, membership_changes: number }
export interface Ran { contacts: number, actions: number, queued: number, membership_changes: number, lost: number, failed: Array<[string, string]> }
export interface Sent { sent: number, retried: number, failed: number, cancelled: number, resumed: number }
export interface StoreStats {
  contacts: number, events: number, states: number, scheduled: number, next_wakeup: string | null, actions: number,
  outbox: Record<string, number>, message_events: Record<string, number>, membership_changes: number, coupons: number,
  pending: number
}
export interface OutboxEntry {
  contact_id: string, action_id: string, message_id: string, rule: string, step?: string, channel: string,
  status: 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled', attempts: number, reason?: string
}
/** A letter claimed for sending: rendered and addressed. */
export interface Letter {
  message_id: string, contact_id: string, channel: string, rule: string, step?: string, to?: string, from: string,
  subject?: string, html?: string, text?: string, headers?: Array<[string, string]>, action: Data, attempt: number
}
export interface StoredContact { contact: Data | null, profile: Data | null, state: ContactState | null, segments: string[] }

/**
 * A shop's store on one SQLite file: contacts, events, profiles, trigger
 * state, wake-ups, the outbox and its send log. The constructor opens the
 * file; every other call returns a Promise.
 */
export class Store {
  constructor (path: string, config?: StoreConfig | Data | null)
  /** The store file. */
  readonly path: string
  config (): Promise<StoreConfig>
  setConfig (config: StoreConfig | Data): Promise<void>
  upsertContacts (contacts: Data[], now: TimestampInput): Promise<Ingested>
  /** Objects, or JSON lines as a string; one transaction. */
  ingest (events: Data[] | string | Uint8Array, now: TimestampInput): Promise<Ingested>
  runDue (now: TimestampInput): Promise<Ran>
  nextWakeup (now: TimestampInput): Promise<string | null>
  send (now: TimestampInput, options: { smtp: string, smtpTimeout?: number }): Promise<Sent>
  claimLetters (now: TimestampInput, channels: string[], limit?: number): Promise<Letter[]>
  letterSent (messageId: string, now: TimestampInput): Promise<'sent' | 'lease_lost'>
  letterFailed (messageId: string, reason: string, now: TimestampInput,
    options?: { retry?: boolean, hardBounce?: boolean }): Promise<'retry' | 'failed' | 'lease_lost'>
  unsubscribe (token: string, now: TimestampInput): Promise<Ingested>
  stats (): Promise<StoreStats>
  outbox (status?: string | null, limit?: number): Promise<OutboxEntry[]>
  contact (contactId: string): Promise<StoredContact | null>
  kpis (config?: Data): Promise<KpiRow[]>
}

/** A message template (docs/messages.md): tera syntax, HTML autoescaped. */
export interface TemplateSpec { subject?: string, html?: string, text?: string, partials?: Record<string, string>, fallbacks?: Record<string, string>, tracking?: Record<string, string>, limits?: RenderLimits }
/** What one render of one part may do (docs/limits.md): bytes written (2 MiB), numbers `range` makes over all its calls (1,000,000). */
export interface RenderLimits { output_bytes?: number, range_steps?: number }
export interface Message { contact_id: string, subject?: string, html?: string, text?: string }
export interface TemplateProblem { path: string, variable?: string, message: string, line?: number, column?: number }
export interface SmsMeasure { encoding: 'gsm7' | 'ucs2', chars: number, units: number, parts: number, per_part: number, remaining: number, non_gsm?: string[] }
export interface SmsFitted { text: string, truncated: boolean, measure: SmsMeasure }
export interface Push { title: string, body: string, truncated: boolean }
export interface CampaignOutcome { contact_id: string, status: 'rendered' | 'control' | 'skipped' | 'failed', variant?: string, reason?: string, subject?: string, html?: string, text?: string, error?: { code: string, message: string } }
export interface CampaignSummary { audience: number, rendered: number, control: number, skipped: number, failed: number }
export interface CampaignResult { summary: CampaignSummary, outcomes: CampaignOutcome[] }
export interface IssuedCoupon { code: string, contact_id: string, campaign_id: string, issued_at: string, expires_at?: string, redeemed_at?: string, order_id?: string }
export interface PoolState { pool_id: string, next: number, issued: IssuedCoupon[] }
export interface KpiRow {
  campaign_id?: string, step?: string, variant?: string, channel?: string,
  sent: number, delivered: number, opened: number, clicked: number, unsubscribed: number, bounced: number, complained: number,
  converted: number, orders: number, revenue: number, currency?: string,
  delivery_rate: number | null, bounce_rate: number | null, open_rate: number | null, click_rate: number | null,
  click_to_open_rate: number | null, unsubscribe_rate: number | null, complaint_rate: number | null,
  conversion_rate: number | null, revenue_per_delivered: number | null
}
export interface Effect { absolute: number, relative: number | null, low: number, high: number, p_value: number }
export interface GroupOutcome { contacts: number, converted: number, conversion_rate: number | null, revenue: number, revenue_per_contact: number | null }
export interface Uplift { campaign_id: string, treatment: GroupOutcome, control: GroupOutcome, conversion: Effect | null, revenue_per_contact: Effect | null, currency?: string }
export interface VariantComparison { campaign_id?: string, metric: string, baseline: string, variant: string, baseline_rate: number | null, variant_rate: number | null, effect: Effect | null, significant: boolean }

/** Renders a template for one recipient at `now`. */
export function renderMessage (template: TemplateSpec, recipient: Data, now: TimestampInput, info?: Data | null): Message
/** Unknown variables and render errors of a template against a sample recipient. */
export function lintTemplate (template: TemplateSpec, sample: Data, now: TimestampInput): TemplateProblem[]
/** The SMS cost of a text: GSM-7 or UCS-2, units, parts. */
export function smsMeasure (text: string): SmsMeasure
/** Fits a text into SMS parts (default 1). */
export function smsFit (text: string, fit?: Data | null): SmsFitted
/** Fits a push title and body to their limits. */
export function pushFit (title: string, body: string, limits?: Data | null): Push
/**
 * Renders a campaign (one template per variant) for every recipient, off the event loop.
 * `recipients` is an array of objects, or the JSON text of one (a string or Buffer), passed on as is.
 */
export function renderCampaign (campaign: Data, templates: TemplateSpec[], recipients: Data[] | JsonText, now: TimestampInput): Promise<CampaignResult>
/**
 * Renders a campaign as renderCampaign does, off the event loop, but writes each outcome as a line of JSON
 * to the file at `out` instead of returning it (a failed run removes the file); resolves to the summary.
 */
export function writeCampaign (campaign: Data, templates: TemplateSpec[], recipients: Data[] | JsonText, now: TimestampInput, out: string): Promise<CampaignSummary>
/** Issues one code per contact in a campaign; store the returned state. */
export function issueCoupons (pool: Data, state: PoolState | Data | null, campaignId: string, contactIds: string[], now: TimestampInput): Promise<{ issued: IssuedCoupon[], state: PoolState }>
/** Records the use of a code. */
export function redeemCoupon (pool: Data, state: PoolState | Data, code: string, contactId: string, at: TimestampInput, orderId?: string | null): { redeemed: IssuedCoupon, state: PoolState }
/** The KPI table of an event stream, per campaign (or `config.by`). */
export function campaignKpis (events: Data[], config?: Data): Promise<KpiRow[]>
/** Uplift of each campaign against its control group. */
export function campaignUplift (assignments: Data[], events: Data[], config?: Data): Promise<Uplift[]>
/** Each variant of a report grouped by variant against the first. */
export function compareVariants (rows: Array<KpiRow | Data>, metric: string, confidence?: number): VariantComparison[]
/** A report (KPI rows or uplifts) as csv or json text. */
export function kpiReport (rows: Array<KpiRow | Uplift | Data>, format: 'csv' | 'json'): string

/** Where a recommendation block's products come from (docs/recommend.md). */
export type BlockKind =
  | 'bestsellers' | 'top_rated' | 'new_arrivals' | 'trending'
  | 'recently_viewed' | 'from_cart' | 'from_wishlist' | 'interests' | 'searches' | 'buy_again' | 'for_you'
  | 'similar' | 'also_viewed' | 'also_bought' | 'bought_together' | 'accessories' | 'up_sell'

/** The item-to-item model (buildItemModel): store it as JSON and pass it back. */
export interface ItemModel {
  version: number
  config: Record<string, unknown>
  built_at: Timestamp
  products: string[]
  popularity: Array<{ orders: number, recent_orders: number, previous_orders: number, views: number }>
  /** Per table (bought, together, viewed), per product index: `[product index, score]`, best first. */
  neighbours: Array<Array<Array<[number, number]>>>
  interactions?: Record<string, unknown>
}

/** One product in a block, the kind that filled it (the block's own or a fallback) and its score. */
export interface Slot {
  product_id: string
  source: BlockKind
  score: number
}

export interface Block {
  name: string
  kind: BlockKind
  slots: Slot[]
}

export interface RankingMetrics {
  contacts: number
  precision: number
  recall: number
  hit_rate: number
  map: number
  ndcg: number
}

/** Leave-last-basket-out evaluation (evaluateRecommendations). */
export interface Evaluation {
  k: number
  test_contacts: number
  all_items: RankingMetrics
  new_items: RankingMetrics
}

/** The item-to-item model from baskets (`{contact_id, at, kind?, product_ids}`), `now` ending the recent window. */
export function buildItemModel (baskets: Data[], now: TimestampInput, config?: Data | null): Promise<ItemModel>
/** The model with new baskets added (not for a model built with `incremental: false`). */
export function updateItemModel (model: ItemModel | Data, baskets: Data[]): Promise<ItemModel>
/** The blocks of one message (`{triggers?, blocks}`) for one contact's history (`null`: none) at `now`. */
export function recommendBlocks (catalog: Data, message: Data, history: Data | null, now: TimestampInput,
  model?: ItemModel | Data | null): Promise<Block[]>
/** Leave-last-basket-out evaluation of one block spec at `k` slots. */
export function evaluateRecommendations (catalog: Data, baskets: Data[], spec: Data, k: number,
  config?: Data | null): Promise<Evaluation>
/** The blocks of one message for many contacts' histories, in parallel (the catalog and the model indexed once). */
export function recommendBlocksMany (catalog: Data, message: Data, histories: Data[], now: TimestampInput,
  model?: ItemModel | Data | null): Promise<Block[][]>

/** Rules, the segments they name, the delivery policy (see docs/triggers.md). */
export interface TriggerConfig {
  rules: Data[]
  segments?: Record<string, SegmentRuleExpr | string | StaticSegment>
  policy?: Data
  templates?: string[]
  coupon_pools?: string[]
}

/** One running chain in a contact's trigger state (`id` is `rule/trigger`; times in Unix seconds). */
export interface TriggerInstance {
  id: string
  key?: string
  started_at: number
  step: number
  due_at: number
  products?: string[]
  held_out?: boolean
}

/** What the trigger engine remembers about one contact: store it whole (times in Unix seconds, to keep it small). */
export interface ContactState {
  version: number
  contact_id: string
  clock?: number
  wakeup?: number
  seen?: string
  instances?: TriggerInstance[]
  history?: Record<string, Data>
  sent?: Data[]
  segments?: string[]
  /** Until when `segments` hold with time alone, and for which segments: Unix seconds (or `never`), a slash, 16 hex digits of the segments' hash. */
  segments_until?: string
  lifecycle?: string
  at_risk?: boolean
  /** Consent withdrawals seen in events that the contact's record does not show yet. */
  withdrawn?: Array<{ channel: string, purpose?: 'marketing' | 'transactional', at: number }>
}

/** One decision: `send`, `task` and `webhook` are for the host to execute (`id` is its outbox key); the others are records. */
export interface TriggerAction {
  id: string
  contact_id: string
  rule: string
  step?: string
  at: string
  type: 'send' | 'task' | 'webhook' | 'held_out' | 'skipped' | 'deferred' | 'exited'
  channel?: string
  template?: string
  coupon_pool?: string
  purpose?: 'marketing' | 'transactional'
  products?: string[]
  task?: string
  url?: string
  group?: 'global' | 'rule' | 'step'
  reason?: unknown
  until?: string
}

/** What `handle`, `due` and `refresh` return. */
export interface TriggerOutcome {
  state: ContactState
  actions: TriggerAction[]
  next_wakeup: string | null
  ignored?: 'duplicate' | 'too_old'
}

/** A checked rule set; build it once, call it for every event and wake-up. */
export class TriggerEngine {
  constructor (config: TriggerConfig | Data, catalog?: Data | null)
  /** The rule ids, in order. */
  readonly ruleIds: string[]
  /** The config, in its normalized JSON form. */
  config (): TriggerConfig
  /** One event for one contact (`state` null for a new contact; `facts` after the event, with the contact's record). */
  handle (state: ContactState | Data | null, facts: Facts | Data, event: Data, now: TimestampInput): TriggerOutcome
  /** A wake-up at `now`: what time triggers and every step due. */
  due (state: ContactState | Data | null, facts: Facts | Data, now: TimestampInput): TriggerOutcome
  /** `due` after the facts changed without an event (the contact's record edited, RFM scored again): reads every watched segment again. */
  refresh (state: ContactState | Data | null, facts: Facts | Data, now: TimestampInput): TriggerOutcome
  /** Takes on an existing contact without firing; returns the state. */
  adopt (state: ContactState | Data | null, facts: Facts | Data, now: TimestampInput): ContactState
  /** The timeline of every action over `events`, waking up until `until`. */
  simulate (contacts: Data[], events: Data[], until: TimestampInput, catalog?: Data | null): Promise<TriggerAction[]>
}

/** The state of a contact the engine has not seen yet. */
export function newTriggerState (contactId: string): ContactState
/** A stored state read back: migrated when older, refused when newer. */
export function readTriggerState (state: Data): ContactState
/** When to call `due` next for this state, or null. */
export function nextWakeup (state: ContactState | Data): string | null
/** The classic scenarios as a config (rules, segments, default policy). */
export function triggerPresets (): TriggerConfig
/**
 * A catalog and an optional item-to-item model, indexed once: build it when
 * the catalog or the model changes and call `blocks` for every message
 * (`recommendBlocks` indexes the catalog again on each call). The
 * constructor parses and indexes on the calling thread; blocks run off it.
 */
export class Recommender {
  constructor (catalog: Data, model?: ItemModel | Data | null)
  /** The blocks of one message for one contact's history (null: an anonymous visitor). */
  blocks (message: Data, history: Data | null, now: TimestampInput): Promise<Block[]>
  /** The blocks of one message for many contacts' histories, in parallel. */
  blocksMany (message: Data, histories: Data[], now: TimestampInput): Promise<Block[][]>
  /** Catalog products the model knows (0 without a model). */
  readonly knownToModel: number
}
