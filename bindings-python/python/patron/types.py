"""Typed shapes of patron's data, as the parse functions return them.

Timestamps come back as aware ``datetime`` objects in UTC and birthdays as
``date``; on input, RFC 3339 text with an offset or an aware ``datetime`` is
accepted. Fields that are absent are left out of the dicts.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Any, Literal, Mapping, Protocol, Union

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover
    from typing_extensions import NotRequired, TypedDict

AttributeValue = Union[str, float, bool, datetime, list[str]]
"""A typed custom attribute: text, number, bool, datetime or a list of strings."""

Channel = str
"""``email``, ``sms``, ``push`` or a channel the shop adds."""

Purpose = Literal["marketing", "transactional"]
ConsentStatus = Literal["none", "pending", "confirmed", "unsubscribed"]
ConsentAction = Literal["request", "confirm", "unsubscribe"]


class ConsentRecord(TypedDict):
    status: ConsentStatus
    requested_at: NotRequired[datetime]
    confirmed_at: NotRequired[datetime]
    source: NotRequired[str]
    ip: NotRequired[str]
    unsubscribed_at: NotRequired[datetime]
    reason: NotRequired[str]


class ConsentChange(TypedDict):
    channel: Channel
    purpose: Purpose
    action: ConsentAction
    at: datetime
    source: NotRequired[str]
    ip: NotRequired[str]
    reason: NotRequired[str]


class Source(TypedDict, total=False):
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    landing_page: str
    referrer: str
    search_query: str


class Contact(TypedDict):
    id: str
    email: NotRequired[str]
    phone: NotRequired[str]
    first_name: NotRequired[str]
    last_name: NotRequired[str]
    birthday: NotRequired[date]
    gender: NotRequired[Literal["female", "male", "other"]]
    city: NotRequired[str]
    region: NotRequired[str]
    country: NotRequired[str]
    time_zone: NotRequired[str]
    locale: NotRequired[str]
    created_at: NotRequired[datetime]
    source: NotRequired[Source]
    tags: NotRequired[list[str]]
    attributes: NotRequired[dict[str, AttributeValue]]
    consent: NotRequired[dict[Channel, dict[Purpose, ConsentRecord]]]


class ProductLinks(TypedDict, total=False):
    accessories: list[str]
    similar: list[str]
    replacement: list[str]


class Product(TypedDict):
    id: str
    name: str
    url: NotRequired[str]
    image_url: NotRequired[str]
    category_path: NotRequired[list[str]]
    brand: NotRequired[str]
    price: float
    old_price: NotRequired[float]
    currency: str
    stock: NotRequired[int]
    available: bool
    created_at: NotRequired[datetime]
    rating: NotRequired[float]
    tags: NotRequired[list[str]]
    attributes: NotRequired[dict[str, AttributeValue]]
    links: NotRequired[ProductLinks]


class Category(TypedDict):
    id: str
    name: str
    parent_id: NotRequired[str]
    url: NotRequired[str]


class Catalog(TypedDict):
    categories: list[Category]
    products: list[Product]


class CartLine(TypedDict):
    product_id: str
    quantity: float
    unit_price: float


class OrderLine(TypedDict):
    product_id: str
    quantity: float
    unit_price: float
    category_id: NotRequired[str]


class _EventBase(TypedDict):
    id: str
    contact_id: NotRequired[str]
    visitor_id: NotRequired[str]
    at: datetime


class ProductViewed(_EventBase):
    type: Literal["product_viewed"]
    product_id: str
    category_id: NotRequired[str]
    price: NotRequired[float]
    currency: NotRequired[str]


class CategoryViewed(_EventBase):
    type: Literal["category_viewed"]
    category_id: str


class Searched(_EventBase):
    type: Literal["searched"]
    query: str
    results: NotRequired[int]


class CartUpdated(_EventBase):
    type: Literal["cart_updated"]
    lines: list[CartLine]
    currency: str


class CheckoutStarted(_EventBase):
    type: Literal["checkout_started"]
    total: NotRequired[float]
    currency: NotRequired[str]


class OrderPlaced(_EventBase):
    type: Literal["order_placed"]
    order_id: str
    lines: list[OrderLine]
    total: float
    currency: str
    coupon: NotRequired[str]


class OrderStatusChanged(_EventBase):
    type: Literal["order_status_changed"]
    order_id: str
    status: Literal["paid", "shipped", "delivered", "cancelled", "returned"]


class WishlistChanged(_EventBase):
    type: Literal["wishlist_added", "wishlist_removed"]
    product_id: str


class ConsentChanged(_EventBase):
    type: Literal["consent_changed"]
    channel: Channel
    purpose: Purpose
    action: ConsentAction
    source: NotRequired[str]
    ip: NotRequired[str]
    reason: NotRequired[str]


class MessageActivity(_EventBase):
    type: Literal[
        "message_sent",
        "message_delivered",
        "message_opened",
        "message_clicked",
        "message_unsubscribed",
        "message_bounced",
        "message_complained",
    ]
    message_id: str
    campaign_id: NotRequired[str]
    channel: Channel
    url: NotRequired[str]
    step: NotRequired[str]
    variant: NotRequired[str]


class CouponRedeemed(_EventBase):
    type: Literal["coupon_redeemed"]
    code: str
    order_id: NotRequired[str]


class SurveyAnswered(_EventBase):
    type: Literal["survey_answered"]
    survey_id: str
    answers: dict[str, AttributeValue]


class Custom(_EventBase):
    type: Literal["custom"]
    name: str
    properties: dict[str, AttributeValue]


class PriceChanged(_EventBase):
    type: Literal["price_changed"]
    product_id: str
    price: float
    old_price: NotRequired[float]
    currency: str


class StockChanged(_EventBase):
    type: Literal["stock_changed"]
    product_id: str
    stock: int
    previous_stock: NotRequired[int]
    available: NotRequired[bool]


class ProductAdded(_EventBase):
    type: Literal["product_added"]
    product: Product


Event = Union[
    ProductViewed,
    CategoryViewed,
    Searched,
    CartUpdated,
    CheckoutStarted,
    OrderPlaced,
    OrderStatusChanged,
    WishlistChanged,
    ConsentChanged,
    MessageActivity,
    CouponRedeemed,
    SurveyAnswered,
    Custom,
    PriceChanged,
    StockChanged,
    ProductAdded,
]
"""Any event; ``type`` tells which."""


class CustomerSummary(TypedDict):
    """What RFM needs to know about one contact."""

    contact_id: str
    last_order_at: NotRequired[datetime]
    orders: int
    purchase_days: NotRequired[int]
    revenue: float
    currency: NotRequired[str]


class SegmentRule(TypedDict):
    """A named RFM segment: the score ranges it covers, ``[min, max]``."""

    name: str
    r: NotRequired[list[int]]
    f: NotRequired[list[int]]
    m: NotRequired[list[int]]


class RfmThresholds(TypedDict):
    recency_days: list[float]
    frequency: list[float]
    monetary: list[float]


class RfmConfig(TypedDict, total=False):
    bins: int
    ties: Literal["same_bin", "by_id"]
    frequency: Literal["orders", "purchase_days"]
    monetary: Literal["total", "mean"]
    thresholds: RfmThresholds | None
    segments: list[SegmentRule] | None


class RfmScore(TypedDict):
    contact_id: str
    recency_days: int
    frequency: float
    monetary: float
    r: int
    f: int
    m: int
    cell: str
    segment: NotRequired[str]


class FourGroupConfig(TypedDict, total=False):
    min_orders: int
    min_revenue: float
    window_days: int


class FourGroupResult(TypedDict):
    contact_id: str
    group: Literal["best", "losing", "subscribers", "others"]


class RegionRule(TypedDict):
    """A named region of the lifecycle grid: purchases and days covered,
    ``[min, max]``; a ``None`` max is open-ended."""

    name: str
    purchases: list[int | None]
    days: list[int | None]


class LifecycleConfig(TypedDict, total=False):
    purchases: list[int]
    days: list[int]
    regions: list[RegionRule]


class LifecycleCell(TypedDict):
    purchases: str
    days: str
    region: str


class Placement(LifecycleCell):
    contact_id: str


# `from` is a Python keyword, so this one is declared in the functional form.
LifecycleMove = TypedDict(
    "LifecycleMove", {"contact_id": str, "from": Union[LifecycleCell, None], "to": Union[LifecycleCell, None]}
)
"""A contact whose lifecycle cell changed; ``None`` where it had no cell."""


class Transaction(TypedDict):
    """One purchase, for ``predict_histories``."""

    contact_id: str
    date: date | str
    amount: float


class History(TypedDict):
    """One customer's history in the shape the models read (lifetimes' convention)."""

    contact_id: str
    frequency: int
    recency: float
    age: float
    monetary: float


class BgNbd(TypedDict):
    r: float
    alpha: float
    a: float
    b: float


class PredictConfig(TypedDict):
    """Predictions for ``profile_facts``: fitted BG/NBD parameters, the days
    of one period of the fit (7) and the horizon of ``expected_purchases``
    in days (90)."""

    bgnbd: BgNbd
    period_days: NotRequired[float]
    horizon_days: NotRequired[float]


class Predicted(TypedDict):
    """A contact's BG/NBD predictions at the facts' ``as_of``."""

    probability_alive: float
    expected_purchases: float
    horizon_days: float
    churn_risk: Literal["low", "medium", "high"]


class GammaGamma(TypedDict):
    p: float
    q: float
    gamma: float


class BgNbdFit(TypedDict):
    model: BgNbd
    log_likelihood: float
    iterations: int


class GammaGammaFit(TypedDict):
    model: GammaGamma
    log_likelihood: float
    iterations: int


class Prediction(TypedDict):
    contact_id: str
    p_alive: float
    expected_purchases: float
    churn_risk: Literal["low", "medium", "high"]


class ValuePrediction(TypedDict):
    contact_id: str
    expected_value: float


class IntervalState(TypedDict):
    """The average-interval rule for one customer."""

    contact_id: str
    purchase_days: int
    last_purchase: date
    average_interval_days: NotRequired[float]
    next_order_expected: NotRequired[date]
    at_risk: bool


class Clv(TypedDict):
    contact_id: str
    expected_purchases: float
    expected_value: float
    clv: float


class Tally(TypedDict):
    """How often something happened, when first and last, and the newest
    times (newest first, at most 16; facts a host writes may leave them out)."""

    count: int
    first_at: datetime
    last_at: datetime
    recent: NotRequired[list[datetime]]


class ProductViews(Tally):
    categories: NotRequired[list[str]]


class PlacedOrder(TypedDict):
    event_id: str
    at: datetime
    lines: list[OrderLine]
    total: float
    currency: str
    coupon: NotRequired[str]


class StatusRecord(TypedDict):
    status: Literal["paid", "shipped", "delivered", "cancelled", "returned"]
    at: datetime
    event_id: str


class OrderRecord(TypedDict, total=False):
    placed: PlacedOrder
    status: StatusRecord


class CartRecord(TypedDict):
    event_id: str
    at: datetime
    lines: NotRequired[list[CartLine]]
    currency: str


class WishlistRecord(TypedDict):
    listed: bool
    at: datetime
    event_id: str


class MessageRecord(TypedDict):
    channel: str
    campaign_id: NotRequired[str]
    sent_at: NotRequired[datetime]
    delivered_at: NotRequired[datetime]
    opens: NotRequired[Tally]
    clicks: NotRequired[Tally]
    unsubscribed_at: NotRequired[datetime]
    bounced_at: NotRequired[datetime]
    complained_at: NotRequired[datetime]


class Profile(TypedDict):
    """What patron remembers about one contact; store it whole (docs/profile.md)."""

    version: int
    contact_id: str
    events: NotRequired[Tally]
    activity: NotRequired[Tally]
    orders: NotRequired[dict[str, OrderRecord]]
    product_views: NotRequired[dict[str, ProductViews]]
    category_views: NotRequired[dict[str, Tally]]
    searches: NotRequired[dict[str, Tally]]
    cart: NotRequired[CartRecord]
    checkouts: NotRequired[Tally]
    wishlist: NotRequired[dict[str, WishlistRecord]]
    messages: NotRequired[dict[str, MessageRecord]]
    coupons: NotRequired[dict[str, Tally]]
    surveys: NotRequired[dict[str, Tally]]
    custom: NotRequired[dict[str, Tally]]
    seen: NotRequired[str]


class AppliedEvent(TypedDict):
    """The result of ``apply_event``: the new profile, and whether the event was new."""

    profile: Profile
    applied: bool


class OrderTotal(TypedDict):
    """One order that counts: when, and what was paid (newest first in ``Facts.purchases``)."""

    at: datetime
    total: float


class BoughtOnce(TypedDict):
    """One order's purchase of a product, category or brand."""

    at: datetime
    quantity: float
    spent: float


class Bought(TypedDict):
    orders: int
    quantity: float
    spent: float
    first_at: datetime
    last_at: datetime
    history: NotRequired[list[BoughtOnce]]
    """Each order with it, newest first (what windows read; facts a host writes may leave it out)."""


class CartFacts(TypedDict):
    lines: list[CartLine]
    value: float
    currency: str
    updated_at: datetime
    age_seconds: int


class Engagement(TypedDict):
    sent: int
    delivered: int
    opened: int
    clicked: int
    unsubscribed: int
    bounced: int
    complained: int
    unopened_streak: int
    last_sent_at: NotRequired[datetime]
    last_opened_at: NotRequired[datetime]
    last_clicked_at: NotRequired[datetime]


class Facts(TypedDict):
    """What is known about a contact at ``as_of``: the facts rules read."""

    contact_id: str
    as_of: datetime
    first_seen_at: NotRequired[datetime]
    last_activity_at: NotRequired[datetime]
    days_since_last_activity: NotRequired[int]
    orders: int
    cancelled_orders: int
    returned_orders: int
    revenue: float
    currency: NotRequired[str]
    average_order_value: NotRequired[float]
    first_order_at: NotRequired[datetime]
    last_order_at: NotRequired[datetime]
    days_since_last_order: NotRequired[int]
    purchase_days: int
    intervals_days: NotRequired[list[int]]
    average_interval_days: NotRequired[float]
    next_order_expected: NotRequired[date]
    at_risk: bool
    purchases: NotRequired[list[OrderTotal]]
    bought_products: NotRequired[dict[str, Bought]]
    bought_categories: NotRequired[dict[str, Bought]]
    bought_brands: NotRequired[dict[str, Bought]]
    viewed_products: NotRequired[dict[str, Tally]]
    viewed_categories: NotRequired[dict[str, Tally]]
    viewed_brands: NotRequired[dict[str, Tally]]
    searches: NotRequired[dict[str, Tally]]
    cart: NotRequired[CartFacts]
    wishlist: NotRequired[dict[str, datetime]]
    checkouts: NotRequired[Tally]
    messages: NotRequired[dict[str, Engagement]]
    coupons: NotRequired[dict[str, Tally]]
    surveys: NotRequired[dict[str, Tally]]
    custom_events: NotRequired[dict[str, Tally]]
    contact: NotRequired[Contact]
    rfm: NotRequired[RfmScore]
    lifecycle: NotRequired[LifecycleCell]
    predicted: NotRequired[Predicted]


class ArrowTable(Protocol):
    """A columnar result: an Arrow table that ``pyarrow.table(t)``,
    ``polars.DataFrame(t)`` or ``pandas.DataFrame(pyarrow.table(t))`` take
    without copying (the Arrow PyCapsule interface)."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...


class _ArrowStream(Protocol):
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...


class _ArrowArray(Protocol):
    def __arrow_c_array__(self, requested_schema: Any = None) -> Any: ...


Columns = Union[_ArrowStream, _ArrowArray, Mapping[str, Any]]
"""Columnar input: a pyarrow table or record batch, a polars or pandas
DataFrame, a DuckDB result, or a dict of columns (arrays, Series or lists)."""


class Purchase(TypedDict):
    """One row of a shop's order table: an order, or an order line."""

    contact_id: str
    order_id: NotRequired[str]
    at: datetime | str
    amount: float


class Membership(TypedDict):
    """The segments one contact is in."""

    contact_id: str
    segments: list[str]
    fingerprint: NotRequired[str]
    """Set by ``update_segments``: tells a later update whether the segments changed since."""


class Explanation(TypedDict):
    """Why a contact is in a segment or not, part by part."""

    kind: Literal["all", "any", "not", "segment", "bucket", "field", "static"]
    name: NotRequired[str]
    op: NotRequired[str]
    within_days: NotRequired[float]
    value: NotRequired[Any]
    result: bool
    parts: NotRequired[list["Explanation"]]


class StaticSegment(TypedDict):
    """A segment whose members were fixed when it was made (``freeze_segment``, or a list of ids)."""

    members: list[str]
    frozen_at: NotRequired[datetime]


class SegmentChange(TypedDict):
    """A contact entering or leaving a segment, at the time of the facts that showed it."""

    contact_id: str
    segment: str
    change: Literal["entered", "left"]
    at: datetime


class MembershipUpdate(TypedDict):
    """One contact's segments now (keep them for the next update), and what changed."""

    membership: Membership
    changes: list[SegmentChange]
    next_change: datetime | None
    """When the segments next change with no new event (rules over time windows): the wake-up to schedule."""


class SegmentOverlap(TypedDict):
    """Contacts in each segment, and in each pair (``both[i][j]``), segments in name order."""

    segments: list[str]
    counts: list[int]
    both: list[list[int]]


ExportFormat = Literal["csv", "json", "ndjson", "xml", "xlsx"]
"""The formats ``export_facts`` and ``export_segment`` write (docs/export.md)."""


class BinaryWriter(Protocol):
    """Where an export may go besides a path: a binary file object, ``io.BytesIO``, a socket file."""

    def write(self, data: bytes, /) -> object: ...


class BinaryReader(Protocol):
    """Where ids may come from besides a path or bytes: a binary file object."""

    def read(self) -> bytes: ...


class TemplateSpec(TypedDict, total=False):
    """A message template (docs/messages.md): tera syntax, HTML autoescaped."""

    subject: str
    html: str
    text: str
    partials: dict[str, str]
    fallbacks: dict[str, str]
    tracking: dict[str, str]
    limits: RenderLimits


class RenderLimits(TypedDict, total=False):
    """What one render of one part may do (docs/limits.md)."""

    #: Bytes a part may write (2 MiB).
    output_bytes: int
    #: Numbers ``range`` may make in one part, over all its calls (1,000,000).
    range_steps: int


class Message(TypedDict):
    """One rendered message."""

    contact_id: str
    subject: NotRequired[str]
    html: NotRequired[str]
    text: NotRequired[str]


class TemplateProblem(TypedDict):
    """An unknown variable or render error ``lint_template`` found."""

    path: str
    variable: NotRequired[str]
    message: str
    line: NotRequired[int]
    column: NotRequired[int]


class SmsMeasure(TypedDict):
    """What a text costs as an SMS."""

    encoding: Literal["gsm7", "ucs2"]
    chars: int
    units: int
    parts: int
    per_part: int
    remaining: int
    non_gsm: NotRequired[list[str]]


class SmsFitted(TypedDict):
    """A text fitted to its parts."""

    text: str
    truncated: bool
    measure: SmsMeasure


class Push(TypedDict):
    """A push title and body within their limits."""

    title: str
    body: str
    truncated: bool


class CampaignOutcome(TypedDict):
    """One recipient's outcome in a campaign."""

    contact_id: str
    status: Literal["rendered", "control", "skipped", "failed"]
    variant: NotRequired[str]
    reason: NotRequired[str]
    subject: NotRequired[str]
    html: NotRequired[str]
    text: NotRequired[str]
    error: NotRequired[dict[str, str]]


class CampaignSummary(TypedDict):
    """Counts over a campaign's audience."""

    audience: int
    rendered: int
    control: int
    skipped: int
    failed: int


class CampaignResult(TypedDict):
    """What ``render_campaign`` returns."""

    summary: CampaignSummary
    outcomes: list[CampaignOutcome]


class IssuedCoupon(TypedDict):
    """One issued coupon code."""

    code: str
    contact_id: str
    campaign_id: str
    issued_at: datetime
    expires_at: NotRequired[datetime]
    redeemed_at: NotRequired[datetime]
    order_id: NotRequired[str]


class PoolState(TypedDict):
    """The codes a pool has issued: the state the host stores."""

    pool_id: str
    next: int
    issued: list[IssuedCoupon]


class IssuedCoupons(TypedDict):
    """What ``issue_coupons`` returns."""

    issued: list[IssuedCoupon]
    state: PoolState


class RedeemedCoupon(TypedDict):
    """What ``redeem_coupon`` returns."""

    redeemed: IssuedCoupon
    state: PoolState


class KpiRow(TypedDict):
    """One row of a campaign KPI report (docs/messages.md)."""

    campaign_id: NotRequired[str]
    step: NotRequired[str]
    variant: NotRequired[str]
    channel: NotRequired[str]
    sent: int
    delivered: int
    opened: int
    clicked: int
    unsubscribed: int
    bounced: int
    complained: int
    converted: int
    orders: int
    revenue: float
    currency: NotRequired[str]
    delivery_rate: float | None
    bounce_rate: float | None
    open_rate: float | None
    click_rate: float | None
    click_to_open_rate: float | None
    unsubscribe_rate: float | None
    complaint_rate: float | None
    conversion_rate: float | None
    revenue_per_delivered: float | None


class Effect(TypedDict):
    """A difference with its interval and two-sided p-value."""

    absolute: float
    relative: float | None
    low: float
    high: float
    p_value: float


class GroupOutcome(TypedDict):
    """One group's conversion and revenue."""

    contacts: int
    converted: int
    conversion_rate: float | None
    revenue: float
    revenue_per_contact: float | None


class Uplift(TypedDict):
    """A campaign against its control group."""

    campaign_id: str
    treatment: GroupOutcome
    control: GroupOutcome
    conversion: Effect | None
    revenue_per_contact: Effect | None
    currency: NotRequired[str]


class VariantComparison(TypedDict):
    """One A/B variant against the baseline."""

    campaign_id: NotRequired[str]
    metric: str
    baseline: str
    variant: str
    baseline_rate: float | None
    variant_rate: float | None
    effect: Effect | None
    significant: bool
BlockKind = Literal[
    "bestsellers",
    "top_rated",
    "new_arrivals",
    "trending",
    "recently_viewed",
    "from_cart",
    "from_wishlist",
    "interests",
    "searches",
    "buy_again",
    "for_you",
    "similar",
    "also_viewed",
    "also_bought",
    "bought_together",
    "accessories",
    "up_sell",
]
"""Where a recommendation block's products come from (docs/recommend.md)."""


class ItemModelPopularity(TypedDict):
    orders: int
    recent_orders: int
    previous_orders: int
    views: int


class ItemModel(TypedDict):
    """The item-to-item model (``build_item_model``): store it as JSON and pass it back."""

    version: int
    config: dict[str, Any]
    built_at: datetime
    products: list[str]
    popularity: list[ItemModelPopularity]
    neighbours: list[list[list[list[float]]]]
    interactions: NotRequired[dict[str, Any]]


class Slot(TypedDict):
    """One product in a block, the kind that filled it (the block's own or a fallback) and its score."""

    product_id: str
    source: BlockKind
    score: float


class Block(TypedDict):
    name: str
    kind: BlockKind
    slots: list[Slot]


class RankingMetrics(TypedDict):
    contacts: int
    precision: float
    recall: float
    hit_rate: float
    map: float
    ndcg: float


class Evaluation(TypedDict):
    """Leave-last-basket-out evaluation (``evaluate_recommendations``)."""

    k: int
    test_contacts: int
    all_items: RankingMetrics
    new_items: RankingMetrics


# Triggers: the JSON form of patron::trigger (see docs/triggers.md).

TriggerConfig = TypedDict(
    "TriggerConfig",
    {
        "rules": list[dict[str, Any]],
        "segments": NotRequired[dict[str, Any]],
        "policy": NotRequired[dict[str, Any]],
        "templates": NotRequired[list[str]],
        "coupon_pools": NotRequired[list[str]],
    },
)
"""Rules, the segments they name, the delivery policy (``TriggerEngine``)."""


class TriggerInstance(TypedDict):
    """One running chain in a contact's trigger state (``id`` is ``rule/trigger``; times in Unix seconds)."""

    id: str
    key: NotRequired[str]
    started_at: int
    step: int
    due_at: int
    products: NotRequired[list[str]]
    held_out: NotRequired[bool]


class ContactState(TypedDict):
    """What the trigger engine remembers about one contact: store it whole
    (times in Unix seconds, to keep it small)."""

    version: int
    contact_id: str
    clock: NotRequired[int]
    wakeup: NotRequired[int]
    seen: NotRequired[str]
    instances: NotRequired[list[TriggerInstance]]
    history: NotRequired[dict[str, dict[str, Any]]]
    sent: NotRequired[list[dict[str, Any]]]
    segments: NotRequired[list[str]]
    segments_until: NotRequired[str]
    """Until when ``segments`` hold with time alone, and for which segments:
    Unix seconds (or ``never``), a slash, 16 hex digits of the segments' hash."""
    lifecycle: NotRequired[str]
    at_risk: NotRequired[bool]
    withdrawn: NotRequired[list[Withdrawal]]
    """Consent withdrawals seen in events that the contact's record does not show yet."""


class Withdrawal(TypedDict):
    """A withdrawal of consent the engine saw; ``purpose`` absent for both (a bounce)."""

    channel: str
    purpose: NotRequired[Purpose]
    at: int


TriggerActionType = Literal[
    "send", "task", "webhook", "held_out", "skipped", "deferred", "exited"
]


class TriggerAction(TypedDict):
    """One decision: ``send``, ``task`` and ``webhook`` are for the host to
    execute (``id`` is its outbox key); the others are records."""

    id: str
    contact_id: str
    rule: str
    step: NotRequired[str]
    at: datetime
    type: TriggerActionType
    channel: NotRequired[str]
    template: NotRequired[str]
    coupon_pool: NotRequired[str]
    purpose: NotRequired[Literal["marketing", "transactional"]]
    products: NotRequired[list[str]]
    task: NotRequired[str]
    url: NotRequired[str]
    group: NotRequired[Literal["global", "rule", "step"]]
    reason: NotRequired[Any]
    until: NotRequired[datetime]


class TriggerOutcome(TypedDict):
    """What ``TriggerEngine.handle``, ``due`` and ``refresh`` return."""

    state: ContactState
    actions: list[TriggerAction]
    next_wakeup: datetime | None
    ignored: NotRequired[Literal["duplicate", "too_old"]]


#: How a store's letters go out (``StoreConfig.sender``); ``from`` is a
#: keyword, hence the functional form.
SenderConfig = TypedDict(
    "SenderConfig",
    {
        "from": str,
        "domain": str,
        "unsubscribe_url": str,
        "unsubscribe_mailto": str,
        "link_key": str,
        "max_attempts": int,
        "retry_seconds": int,
        "lease_seconds": int,
    },
    total=False,
)


class StoreConfig(TypedDict, total=False):
    """What a store runs, kept in the store file."""

    triggers: TriggerConfig | Mapping[str, Any]
    templates: Mapping[str, TemplateSpec | Mapping[str, Any]]
    coupon_pools: list[Mapping[str, Any]]
    catalog: Mapping[str, Any]
    sender: SenderConfig


class Ingested(TypedDict):
    """What ``Store.ingest`` and ``Store.upsert_contacts`` stored and decided."""

    stored: int
    duplicates: list[str]
    contacts: int
    actions: int
    queued: int
    membership_changes: int


class Ran(TypedDict):
    """What ``Store.run_due`` did."""

    contacts: int
    actions: int
    queued: int
    membership_changes: int
    lost: int
    failed: list[tuple[str, str]]


class Sent(TypedDict):
    """What ``Store.send`` did."""

    sent: int
    retried: int
    failed: int
    cancelled: int
    resumed: int


class StoreStats(TypedDict):
    """Counts over a store."""

    contacts: int
    events: int
    states: int
    scheduled: int
    next_wakeup: datetime | None
    actions: int
    outbox: dict[str, int]
    message_events: dict[str, int]
    membership_changes: int
    coupons: int
    pending: int


class OutboxEntry(TypedDict):
    """One row of a store's outbox."""

    contact_id: str
    action_id: str
    message_id: str
    rule: str
    step: NotRequired[str]
    channel: str
    status: Literal["queued", "sending", "sent", "failed", "cancelled"]
    attempts: int
    reason: NotRequired[str]


#: A letter claimed for sending: rendered and addressed (``from`` is the
#: sender's address).
Letter = TypedDict(
    "Letter",
    {
        "message_id": str,
        "contact_id": str,
        "channel": str,
        "rule": str,
        "step": NotRequired[str],
        "to": NotRequired[str],
        "from": str,
        "subject": NotRequired[str],
        "html": NotRequired[str],
        "text": NotRequired[str],
        "headers": NotRequired[list[tuple[str, str]]],
        "action": dict[str, Any],
        "attempt": int,
    },
)


class StoredContact(TypedDict):
    """A contact as a store keeps it."""

    contact: Contact | None
    profile: Profile | None
    state: ContactState | None
    segments: list[str]
