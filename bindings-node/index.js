'use strict'
// patron for Node: the public entry point in front of the native addon.
//
// Objects go to the core as JSON text (a Date becomes {"datetime": iso}, which
// the core reads for timestamps and datetime attributes) and come back as the
// normalized JSON form: timestamps are ISO 8601 strings in UTC. Errors are
// PatronError subclasses with a stable `code`, a field `path`, and for JSON
// text a `line` and `column`.

const native = require('./native.js')

const PREFIX = 'patron:'

/** Base of every patron error. */
class PatronError extends Error {
  constructor (message, { code = 'patron', path = null, line = null, column = null } = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.path = path
    this.line = line
    this.column = column
  }
}

/** A value is missing, of the wrong type, or out of range (code `validation`). */
class ValidationError extends PatronError {}

/** The input is not well-formed JSON text (code `json`). */
class JsonError extends ValidationError {}

/** A consent change the current consent state does not allow (code `consent_transition`). */
class ConsentTransitionError extends PatronError {}

/** A model fit or a series that did not converge (code `convergence`). */
class ConvergenceError extends PatronError {}

/** Reading the input or writing the output failed (code `io`): a path that cannot be opened, a full disk. */
class IoError extends PatronError {}
class TemplateError extends PatronError {}
class ExhaustedError extends PatronError {}
/** A call reached a limit that keeps it bounded (code `limit`; docs/limits.md) and stopped; `path` says where. */
class LimitError extends PatronError {}

/** Base of the store's own errors: the database file, the disk, a channel. */
class StoreError extends PatronError {}
/** The file is not a patron store, or it is damaged or cut short (code `corrupt`); nothing was changed. */
class CorruptError extends StoreError {}
/** The store file was written by a newer patron (code `newer_schema`). */
class NewerSchemaError extends StoreError {}
/** The disk (or the file's size limit) is full (code `full`); the call's transaction was rolled back. */
class DiskFullError extends StoreError {}
/** Another process held the store file locked longer than the busy timeout (code `busy`). */
class BusyError extends StoreError {}
/** Any other database failure (code `database`). */
class DatabaseError extends StoreError {}
/** The store file has no config yet (code `no_config`): open it with one. */
class NoConfigError extends StoreError {}
/** A channel that cannot be set up, such as a bad SMTP address (code `channel`). */
class ChannelError extends StoreError {}

const CLASSES = {
  json: JsonError,
  validation: ValidationError,
  consent_transition: ConsentTransitionError,
  convergence: ConvergenceError,
  io: IoError,
  template: TemplateError,
  exhausted: ExhaustedError,
  limit: LimitError,
  corrupt: CorruptError,
  newer_schema: NewerSchemaError,
  full: DiskFullError,
  busy: BusyError,
  database: DatabaseError,
  no_config: NoConfigError,
  channel: ChannelError
}

function decodeError (err) {
  if (err && typeof err.message === 'string' && err.message.startsWith(PREFIX)) {
    const info = JSON.parse(err.message.slice(PREFIX.length))
    const Class = CLASSES[info.code] || PatronError
    return new Class(info.message, info)
  }
  return err
}

// What `encode` must take care of, found in one walk: plain JSON.stringify is
// fast, a replacer function is not, so the replacer runs only when needed.
const NEEDS_REPLACER = 1 // a Date (becomes {"datetime": iso}) or a BigInt
const NON_FINITE = 2 // NaN or Infinity, which JSON would write as null

function inspect (value, depth = 0) {
  if (typeof value === 'number') return Number.isFinite(value) ? 0 : NON_FINITE
  if (typeof value === 'bigint' || value instanceof Date) return NEEDS_REPLACER
  if (value === null || typeof value !== 'object' || depth > 128) return 0
  let flags = 0
  if (Array.isArray(value)) {
    for (const v of value) flags |= inspect(v, depth + 1)
  } else {
    for (const k in value) flags |= inspect(value[k], depth + 1)
  }
  return flags
}

function replacer (key, value) {
  const raw = this[key]
  if (raw instanceof Date) {
    return { datetime: Number.isNaN(raw.getTime()) ? 'Invalid Date' : raw.toISOString() }
  }
  if (typeof value === 'bigint') return Number(value)
  return value
}

// The path of the first NaN or Infinity, in the core's notation (`lines[2].quantity`).
function nonFinitePath (value, path) {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path
  if (value === null || typeof value !== 'object' || value instanceof Date) return null
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`${path}[${i}]`, v])
    : Object.entries(value).map(([k, v]) => [path ? `${path}.${k}` : k, v])
  for (const [p, v] of entries) {
    const found = nonFinitePath(v, p)
    if (found !== null) return found
  }
  return null
}

function encode (value, what, prefix = '') {
  if (typeof value === 'string') {
    throw new ValidationError(`${what}: expected an object; pass JSON text to the *Json functions`, { code: 'validation', path: '' })
  }
  const flags = inspect(value)
  if (flags & NON_FINITE) {
    const path = nonFinitePath(value, prefix)
    throw new ValidationError(`${path}: expected a finite number`, { code: 'validation', path })
  }
  try {
    return flags & NEEDS_REPLACER ? JSON.stringify(value, replacer) : JSON.stringify(value)
  } catch (err) {
    throw new ValidationError(`${what}: cannot be written as JSON: ${err.message}`, { code: 'validation', path: '' })
  }
}

// A timestamp argument: a Date or ISO text, sent as a JSON string.
function encodeTime (value, name) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError(`${name}: invalid Date`, { code: 'validation', path: name })
    return JSON.stringify(value.toISOString())
  }
  if (typeof value === 'string') return JSON.stringify(value)
  throw new ValidationError(`${name}: expected a Date or ISO 8601 text`, { code: 'validation', path: name })
}

// A calendar date argument: a Date (its UTC day) or `YYYY-MM-DD`, sent as a JSON string.
function encodeDate (value, name) {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return JSON.stringify(value.toISOString().slice(0, 10))
  if (typeof value === 'string') return JSON.stringify(value)
  throw new ValidationError(`${name}: expected a Date or YYYY-MM-DD`, { code: 'validation', path: name })
}

function textOf (text) {
  if (typeof text === 'string') return text
  if (Buffer.isBuffer(text) || text instanceof Uint8Array) return Buffer.from(text).toString('utf8')
  throw new ValidationError('expected JSON text as a string or Buffer', { code: 'validation', path: '' })
}

// Campaign recipients: objects, or the JSON text of their array as it came
// from a file or a database (passed on as is).
function recipientsText (recipients) {
  if (typeof recipients === 'string' || recipients instanceof Uint8Array) return textOf(recipients)
  return encode(recipients, 'recipients', 'recipients')
}

function invoke (fn, ...args) {
  try {
    return fn(...args)
  } catch (err) {
    throw decodeError(err)
  }
}

const call = (fn, ...args) => JSON.parse(invoke(fn, ...args))

// Bulk calls: the native function returns a Promise of JSON text.
async function callAsync (fn, ...args) {
  let out
  try {
    out = await fn(...args)
  } catch (err) {
    throw decodeError(err)
  }
  return JSON.parse(out)
}

// Export: columns go as JSON (a string as columns reaches the core, which
// says it wants a list); `out` is a path or absent.
const encodeColumns = (columns) => typeof columns === 'string' ? JSON.stringify(columns) : encode(columns, 'columns', 'columns')

function outPath (out) {
  if (out == null) return null
  if (typeof out === 'string') return out
  throw new ValidationError('out: expected a file path, or nothing to get a Buffer', { code: 'validation', path: 'out' })
}

function filePath (out) {
  if (typeof out === 'string') return out
  throw new ValidationError('out: expected a file path', { code: 'validation', path: 'out' })
}

const escapeFormulas = (options) => !(options && options.escapeFormulas === false)

// Resolves to a Buffer without a path, to undefined when the file was written.
async function exportAsync (fn, out, ...args) {
  let buffer
  try {
    buffer = await fn(...args)
  } catch (err) {
    throw decodeError(err)
  }
  return out == null ? buffer : undefined
}

function idsSource (source) {
  if (typeof source === 'string') return [source, null]
  if (Buffer.isBuffer(source)) return [null, source]
  if (source instanceof Uint8Array) return [null, Buffer.from(source.buffer, source.byteOffset, source.byteLength)]
  throw new ValidationError('source: expected a file path or a Buffer', { code: 'validation', path: 'source' })
}

/**
 * A catalog and an optional item-to-item model, indexed once: build it when
 * the catalog or the model changes and call `blocks` for every message
 * (`recommendBlocks` indexes the catalog again on each call). The
 * constructor parses and indexes on the calling thread (about 0.2 s for
 * 50,000 products); blocks run off it and return Promises.
 */
class Recommender {
  constructor (catalog, model) {
    this._handle = invoke((c, m) => new native.RecommenderHandle(c, m), encode(catalog, 'catalog', 'catalog'),
      model == null ? 'null' : encode(model, 'model', 'model'))
  }

  async blocks (message, history, now) {
    return callAsync((...args) => this._handle.blocksJson(...args), encode(message, 'message', 'message'),
      history == null ? 'null' : encode(history, 'history', 'history'), encodeTime(now, 'now'))
  }

  async blocksMany (message, histories, now) {
    return callAsync((...args) => this._handle.blocksManyJson(...args), encode(message, 'message', 'message'),
      encode(histories, 'histories', 'histories'), encodeTime(now, 'now'))
  }

  get knownToModel () {
    return this._handle.knownToModel
  }
}

const fromObject = (fn, what) => (data) => call(fn, encode(data, what))
const fromText = (fn) => (text) => call(fn, textOf(text))

const nullable = (value, what) => value == null ? 'null' : encode(value, what, what)

/**
 * A checked rule set: rules, the segments they name, the delivery policy.
 * Build it once and call it for every event and wake-up; it keeps no
 * per-contact state (pass the stored state in, store the returned one).
 */
class TriggerEngine {
  constructor (config, catalog) {
    this._native = invoke(() => new native.TriggerEngineNative(encode(config, 'config', 'config'), nullable(catalog, 'catalog')))
  }

  /** The rule ids, in order. */
  get ruleIds () {
    return this.config().rules.map((r) => r.id)
  }

  /** The config, in its normalized JSON form. */
  config () {
    return JSON.parse(this._native.configJson())
  }

  /** One event for one contact: `{state, actions, next_wakeup, ignored?}`. */
  handle (state, facts, event, now) {
    return call((...a) => this._native.handleJson(...a), nullable(state, 'state'), encode(facts, 'facts', 'facts'),
      encode(event, 'event', 'event'), encodeTime(now, 'now'))
  }

  /** A wake-up at `now`: what time triggers and every step due. */
  due (state, facts, now) {
    return call((...a) => this._native.dueJson(...a), nullable(state, 'state'), encode(facts, 'facts', 'facts'), encodeTime(now, 'now'))
  }

  /** `due` after the facts changed without an event (the contact's record edited, RFM scored again): reads every watched segment again. */
  refresh (state, facts, now) {
    return call((...a) => this._native.refreshJson(...a), nullable(state, 'state'), encode(facts, 'facts', 'facts'), encodeTime(now, 'now'))
  }

  /** Takes on an existing contact without firing; returns the state. */
  adopt (state, facts, now) {
    return call((...a) => this._native.adoptJson(...a), nullable(state, 'state'), encode(facts, 'facts', 'facts'), encodeTime(now, 'now'))
  }

  /** Resolves to the timeline of every action over `events`, waking up until `until`. */
  async simulate (contacts, events, until, catalog) {
    return callAsync((...a) => this._native.simulateJson(...a), encode(contacts, 'contacts', 'contacts'),
      encode(events, 'events', 'events'), encodeTime(until, 'until'), nullable(catalog, 'catalog'))
  }
}

/**
 * A shop's store on one SQLite file: contacts, events, profiles, trigger
 * state, wake-ups, the outbox and its send log. The constructor opens (or
 * creates) the file on the calling thread; every other call runs off it
 * and returns a Promise. Several processes may open the same file.
 */
class Store {
  constructor (path, config) {
    if (typeof path !== 'string') throw new ValidationError('path: expected a file path', { code: 'validation', path: 'path' })
    this._native = invoke(() => new native.StoreNative(path, nullable(config, 'config')))
  }

  /** The store file. */
  get path () {
    return this._native.path
  }

  /** The config the store runs, in its JSON form. */
  async config () {
    return callAsync(() => this._native.configJson())
  }

  /** Checks `config` whole and keeps it; every process that opens the store afterwards runs it. */
  async setConfig (config) {
    await callAsync((c) => this._native.setConfigJson(c), encode(config, 'config', 'config'))
  }

  /** Writes contact records and runs the engine's `refresh` for each, in one transaction. */
  async upsertContacts (contacts, now) {
    return callAsync((...a) => this._native.upsertContactsJson(...a), encode(contacts, 'contacts', 'contacts'), encodeTime(now, 'now'))
  }

  /**
   * Stores a batch of events (objects, or JSON lines as a string) and acts on it, in one
   * transaction; a bad event refuses the whole batch, named by its place or line.
   */
  async ingest (events, now) {
    if (typeof events === 'string' || events instanceof Uint8Array) {
      return callAsync((...a) => this._native.ingestLines(...a), textOf(events), encodeTime(now, 'now'))
    }
    return callAsync((...a) => this._native.ingestJson(...a), encode(events, 'events', 'events'), encodeTime(now, 'now'))
  }

  /** Wakes every contact due at `now` (leased, so that processes never wake one contact at once). */
  async runDue (now) {
    return callAsync((n) => this._native.runDueJson(n), encodeTime(now, 'now'))
  }

  /** When to call `runDue` next, or null. */
  async nextWakeup (now) {
    return callAsync((n) => this._native.nextWakeupJson(n), encodeTime(now, 'now'))
  }

  /** Sends the email due at `now` through an SMTP server (`HOST:PORT`, or a URL such as `smtp://user:pass@host:587?tls=required`). */
  async send (now, { smtp, smtpTimeout = 30 } = {}) {
    if (typeof smtp !== 'string') throw new ValidationError('smtp: expected HOST:PORT or a URL', { code: 'validation', path: 'smtp' })
    return callAsync((...a) => this._native.sendJson(...a), encodeTime(now, 'now'), smtp, Number(smtpTimeout))
  }

  /** Leases up to `limit` letters of `channels` due at `now`, checked and rendered, for your own provider. */
  async claimLetters (now, channels, limit = 100) {
    return callAsync((...a) => this._native.claimLettersJson(...a), encodeTime(now, 'now'), encode(channels, 'channels', 'channels'), limit)
  }

  /** A claimed letter was accepted: `'sent'`, or `'lease_lost'` when another sender took it over. */
  async letterSent (messageId, now) {
    return callAsync((...a) => this._native.finishLetterJson(...a), String(messageId), encodeTime(now, 'now'), null, false, false)
  }

  /** A claimed letter was refused: retried after a backoff (`retry`), or failed; a hard bounce withdraws consent. */
  async letterFailed (messageId, reason, now, { retry = true, hardBounce = false } = {}) {
    return callAsync((...a) => this._native.finishLetterJson(...a), String(messageId), encodeTime(now, 'now'), String(reason),
      Boolean(retry), Boolean(hardBounce))
  }

  /** One-click unsubscribe from the token of a letter's link; a tampered token is refused. */
  async unsubscribe (token, now) {
    return callAsync((...a) => this._native.unsubscribeJson(...a), String(token), encodeTime(now, 'now'))
  }

  /** Counts: contacts, events, states, outbox by status, message events, segment moves, coupons. */
  async stats () {
    return callAsync(() => this._native.statsJson())
  }

  /** Outbox rows, oldest first, optionally of one status. */
  async outbox (status = null, limit = 1000) {
    return callAsync((...a) => this._native.outboxJson(...a), status == null ? null : String(status), limit)
  }

  /** A contact's record, profile, trigger state and segments, or null. */
  async contact (contactId) {
    return callAsync((id) => this._native.contactJson(id), String(contactId))
  }

  /** The KPI table over the store's events. */
  async kpis (config) {
    return callAsync((c) => this._native.kpisJson(c), encode(config || {}, 'config', 'config'))
  }
}

module.exports = {
  version: native.nativeVersion(),
  parseContact: fromObject(native.parseContactJson, 'contact'),
  parseContactJson: fromText(native.parseContactJson),
  parseContacts: fromObject(native.parseContactsJson, 'contacts'),
  parseContactsJson: fromText(native.parseContactsJson),
  parseProduct: fromObject(native.parseProductJson, 'product'),
  parseProductJson: fromText(native.parseProductJson),
  parseCatalog: fromObject(native.parseCatalogJson, 'catalog'),
  parseCatalogJson: fromText(native.parseCatalogJson),
  parseEvent: fromObject(native.parseEventJson, 'event'),
  parseEventJson: fromText(native.parseEventJson),
  parseEvents: fromObject(native.parseEventsJson, 'events'),
  parseEventsJson: fromText(native.parseEventsJson),
  validateEvent: (data) => { invoke(native.validateEventJson, encode(data, 'event')) },
  validateEvents: (data) => { invoke(native.validateEventsJson, encode(data, 'events')) },
  parseConsentChange: fromObject(native.parseConsentChangeJson, 'change'),
  parseConsentChangeJson: fromText(native.parseConsentChangeJson),
  applyConsent: (contact, change) =>
    call(native.applyConsentJson, encode(contact, 'contact', 'contact'), encode(change, 'change', 'change')),
  rfmScores: async (customers, asOf, config) =>
    callAsync(native.rfmScoresJson, encode(customers, 'customers', 'customers'), encodeTime(asOf, 'as_of'), encode(config || {}, 'config', 'config')),
  rfmFourGroups: async (customers, asOf, config) =>
    callAsync(native.rfmFourGroupsJson, encode(customers, 'customers', 'customers'), encodeTime(asOf, 'as_of'), encode(config || {}, 'config', 'config')),
  summarizePurchases: async (purchases, asOf) =>
    callAsync(native.summarizePurchasesJson, encode(purchases, 'purchases', 'purchases'), encodeTime(asOf, 'as_of')),
  rfmFromPurchases: async (purchases, asOf, config) =>
    callAsync(native.rfmFromPurchasesJson, encode(purchases, 'purchases', 'purchases'), encodeTime(asOf, 'as_of'), encode(config || {}, 'config', 'config')),
  rfmDefaultSegments: () => JSON.parse(native.rfmDefaultSegmentsJson()),
  lifecyclePlace: async (customers, asOf, config) =>
    callAsync(native.lifecyclePlaceJson, encode(customers, 'customers', 'customers'), encodeTime(asOf, 'as_of'), encode(config || {}, 'config', 'config')),
  lifecycleMoves: async (before, beforeAt, after, afterAt, config) =>
    callAsync(native.lifecycleMovesJson, encode(before, 'before', 'before'), encodeTime(beforeAt, 'before_at'),
      encode(after, 'after', 'after'), encodeTime(afterAt, 'after_at'), encode(config || {}, 'config', 'config')),
  predictHistories: async (transactions, calibrationEnd, periodDays = 7) =>
    callAsync(native.predictHistoriesJson, encode(transactions, 'transactions', 'transactions'), encodeDate(calibrationEnd, 'calibration_end'), periodDays),
  bgnbdFit: async (histories) => callAsync(native.bgnbdFitJson, encode(histories, 'histories', 'histories')),
  bgnbdPredict: async (model, histories, t) =>
    callAsync(native.bgnbdPredictJson, encode(model, 'model', 'model'), encode(histories, 'histories', 'histories'), t),
  bgnbdExpectedNew: (model, t) => invoke(native.bgnbdExpectedNewJson, encode(model, 'model', 'model'), t),
  gammaGammaFit: async (histories) => callAsync(native.gammaGammaFitJson, encode(histories, 'histories', 'histories')),
  gammaGammaPredict: async (model, histories) =>
    callAsync(native.gammaGammaPredictJson, encode(model, 'model', 'model'), encode(histories, 'histories', 'histories')),
  predictAverageInterval: async (transactions, asOf) =>
    callAsync(native.predictAverageIntervalJson, encode(transactions, 'transactions', 'transactions'), encodeDate(asOf, 'as_of')),
  predictClv: async (bgnbd, gammaGamma, histories, horizon, step, discount) =>
    callAsync(native.predictClvJson, encode(bgnbd, 'bgnbd', 'bgnbd'), encode(gammaGamma, 'gamma_gamma', 'gamma_gamma'),
      encode(histories, 'histories', 'histories'), horizon, step, discount),
  buildProfiles: async (events) => callAsync(native.buildProfilesJson, encode(events, 'events', 'events')),
  applyEvent: (profile, event) =>
    call(native.applyEventJson, profile == null ? 'null' : encode(profile, 'profile', 'profile'), encode(event, 'event', 'event')),
  profileFacts: async (profiles, asOf, catalog, contacts, rfm, lifecycle, predict) =>
    callAsync(native.profileFactsJson, encode(profiles, 'profiles', 'profiles'), encodeTime(asOf, 'as_of'),
      catalog == null ? 'null' : encode(catalog, 'catalog', 'catalog'),
      contacts == null ? 'null' : encode(contacts, 'contacts', 'contacts'),
      rfm == null ? 'null' : encode(rfm, 'rfm', 'rfm'),
      lifecycle == null ? 'null' : encode(lifecycle, 'lifecycle', 'lifecycle'),
      predict == null ? 'null' : encode(predict, 'predict', 'predict')),
  customerSummaries: async (profiles, asOf) =>
    callAsync(native.customerSummariesJson, encode(profiles, 'profiles', 'profiles'), encodeTime(asOf, 'as_of')),
  profileTransactions: async (profiles) => callAsync(native.profileTransactionsJson, encode(profiles, 'profiles', 'profiles')),
  checkSegments: (segments) => call(native.checkSegmentsJson, encode(segments, 'segments', 'segments')),
  segmentMembers: async (segments, facts) =>
    callAsync(native.segmentMembersJson, encode(segments, 'segments', 'segments'), encode(facts, 'facts', 'facts')),
  explainSegment: (segments, name, facts) =>
    call(native.explainSegmentJson, encode(segments, 'segments', 'segments'), String(name), encode(facts, 'facts', 'facts')),
  parseSegmentRule: (text) => call(native.parseSegmentRuleJson, String(text)),
  freezeSegment: async (segments, name, facts) =>
    callAsync(native.freezeSegmentJson, encode(segments, 'segments', 'segments'), String(name), encode(facts, 'facts', 'facts')),
  updateSegments: (segments, previous, facts, event) =>
    call(native.updateSegmentsJson, encode(segments, 'segments', 'segments'),
      previous == null ? 'null' : encode(previous, 'previous', 'previous'), encode(facts, 'facts', 'facts'),
      event == null ? 'null' : encode(event, 'event', 'event')),
  segmentChanges: async (before, after, at) =>
    callAsync(native.segmentChangesJson, encode(before, 'before', 'before'), encode(after, 'after', 'after'), encodeTime(at, 'at')),
  segmentOverlap: async (segments, memberships) =>
    callAsync(native.segmentOverlapJson, encode(segments, 'segments', 'segments'), encode(memberships, 'memberships', 'memberships')),
  evaluateSegments: async (segments, table, asOf) =>
    callAsync(native.evaluateSegmentsJson, encode(segments, 'segments', 'segments'), encode(table, 'table', 'table'), encodeTime(asOf, 'as_of')),
  exportFacts: async (facts, columns, format, out, options) =>
    exportAsync(native.exportFactsJson, out, encode(facts, 'facts', 'facts'), encodeColumns(columns), String(format),
      outPath(out), escapeFormulas(options)),
  exportSegment: async (segments, name, facts, columns, format, out, options) =>
    exportAsync(native.exportSegmentJson, out, encode(segments, 'segments', 'segments'), String(name),
      encode(facts, 'facts', 'facts'), encodeColumns(columns), String(format), outPath(out), escapeFormulas(options)),
  readSegmentIds: async (source, column) => callAsync(native.readSegmentIdsJson, ...idsSource(source), String(column)),
  buildItemModel: async (baskets, now, config) =>
    callAsync(native.buildItemModelJson, encode(baskets, 'baskets', 'baskets'), encodeTime(now, 'now'), encode(config || {}, 'config', 'config')),
  updateItemModel: async (model, baskets) =>
    callAsync(native.updateItemModelJson, encode(model, 'model', 'model'), encode(baskets, 'baskets', 'baskets')),
  recommendBlocks: async (catalog, message, history, now, model) =>
    callAsync(native.recommendBlocksJson, encode(catalog, 'catalog', 'catalog'), encode(message, 'message', 'message'),
      history == null ? 'null' : encode(history, 'history', 'history'), encodeTime(now, 'now'),
      model == null ? 'null' : encode(model, 'model', 'model')),
  recommendBlocksMany: async (catalog, message, histories, now, model) =>
    callAsync(native.recommendBlocksManyJson, encode(catalog, 'catalog', 'catalog'), encode(message, 'message', 'message'),
      encode(histories, 'histories', 'histories'), encodeTime(now, 'now'), model == null ? 'null' : encode(model, 'model', 'model')),
  Recommender,
  evaluateRecommendations: async (catalog, baskets, spec, k, config) =>
    callAsync(native.evaluateRecommendationsJson, encode(catalog, 'catalog', 'catalog'), encode(baskets, 'baskets', 'baskets'),
      encode(spec, 'spec', 'spec'), k, encode(config || {}, 'config', 'config')),
  TriggerEngine,
  newTriggerState: (contactId) => call(native.newTriggerStateJson, String(contactId)),
  readTriggerState: (state) => call(native.readTriggerStateJson, encode(state, 'state', 'state')),
  nextWakeup: (state) => call(native.nextWakeupJson, encode(state, 'state', 'state')),
  triggerPresets: () => call(native.triggerPresetsJson),
  PatronError,
  ValidationError,
  JsonError,
  ConsentTransitionError,
  ConvergenceError,
  IoError,
  TemplateError,
  ExhaustedError,
  LimitError,
  Store,
  StoreError,
  CorruptError,
  NewerSchemaError,
  DiskFullError,
  BusyError,
  DatabaseError,
  NoConfigError,
  ChannelError,
  renderMessage: (template, recipient, now, info) =>
    call(native.renderMessageJson, encode(template, 'template', 'template'), encode(recipient, 'recipient', 'recipient'),
      encodeTime(now, 'now'), info == null ? 'null' : encode(info, 'info', 'info')),
  lintTemplate: (template, sample, now) =>
    call(native.lintTemplateJson, encode(template, 'template', 'template'), encode(sample, 'sample', 'sample'), encodeTime(now, 'now')),
  smsMeasure: (text) => JSON.parse(native.smsMeasureJson(String(text))),
  smsFit: (text, fit) => call(native.smsFitJson, String(text), fit == null ? 'null' : encode(fit, 'fit', 'fit')),
  pushFit: (title, body, limits) =>
    call(native.pushFitJson, String(title), String(body), limits == null ? 'null' : encode(limits, 'limits', 'limits')),
  renderCampaign: async (campaign, templates, recipients, now) =>
    callAsync(native.renderCampaignJson, encode(campaign, 'campaign', 'campaign'), encode(templates, 'templates', 'templates'),
      recipientsText(recipients), encodeTime(now, 'now')),
  writeCampaign: async (campaign, templates, recipients, now, out) =>
    callAsync(native.writeCampaignJson, encode(campaign, 'campaign', 'campaign'), encode(templates, 'templates', 'templates'),
      recipientsText(recipients), encodeTime(now, 'now'), filePath(out)),
  issueCoupons: async (pool, state, campaignId, contactIds, now) =>
    callAsync(native.issueCouponsJson, encode(pool, 'pool', 'pool'), state == null ? 'null' : encode(state, 'state', 'state'),
      String(campaignId), encode(contactIds, 'contact_ids', 'contact_ids'), encodeTime(now, 'now')),
  redeemCoupon: (pool, state, code, contactId, at, orderId) =>
    call(native.redeemCouponJson, encode(pool, 'pool', 'pool'), encode(state, 'state', 'state'), String(code), String(contactId),
      encodeTime(at, 'at'), orderId == null ? null : String(orderId)),
  campaignKpis: async (events, config) =>
    callAsync(native.campaignKpisJson, encode(events, 'events', 'events'), encode(config || {}, 'config', 'config')),
  campaignUplift: async (assignments, events, config) =>
    callAsync(native.campaignUpliftJson, encode(assignments, 'assignments', 'assignments'), encode(events, 'events', 'events'),
      encode(config || {}, 'config', 'config')),
  compareVariants: (rows, metric, confidence) =>
    call(native.compareVariantsJson, encode(rows, 'rows', 'rows'), JSON.stringify(String(metric)), confidence == null ? 0.95 : Number(confidence)),
  kpiReport: (rows, format) => {
    try {
      return native.kpiReportJson(encode(rows, 'rows', 'rows'), String(format))
    } catch (err) {
      throw decodeError(err)
    }
  }
}
