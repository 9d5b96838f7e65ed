# Stubs of the native module; `make test` checks them with mypy.stubtest.
import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, final, overload

from datetime import date, datetime

from patron.types import (
    Ingested,
    Letter,
    OutboxEntry,
    Ran,
    Sent,
    StoreConfig,
    StoreStats,
    StoredContact,
    ContactState,
    TriggerAction,
    TriggerConfig,
    TriggerOutcome,
    BinaryReader,
    BinaryWriter,
    ExportFormat,
    Explanation,
    Membership,
    MembershipUpdate,
    SegmentChange,
    SegmentOverlap,
    StaticSegment,
    ArrowTable,
    Columns,
    AppliedEvent,
    CustomerSummary,
    Facts,
    Profile,
    Transaction,
    BgNbdFit,
    Catalog,
    ConsentChange,
    Contact,
    Event,
    FourGroupResult,
    GammaGammaFit,
    Clv,
    History,
    IntervalState,
    LifecycleMove,
    Placement,
    Prediction,
    Product,
    RfmScore,
    SegmentRule,
    ValuePrediction,
    TemplateSpec,
    Message,
    TemplateProblem,
    SmsMeasure,
    SmsFitted,
    Push,
    CampaignResult,
    CampaignSummary,
    IssuedCoupons,
    RedeemedCoupon,
    KpiRow,
    Uplift,
    VariantComparison,
    Block,
    Evaluation,
    ItemModel,
)

__version__: str
__all__ = [
    "__version__",
    "apply_consent",
    "parse_catalog",
    "parse_catalog_json",
    "parse_consent_change",
    "parse_consent_change_json",
    "parse_contact",
    "parse_contact_json",
    "parse_contacts",
    "parse_contacts_json",
    "parse_event",
    "parse_event_json",
    "parse_events",
    "parse_events_json",
    "parse_product",
    "parse_product_json",
    "validate_event",
    "validate_events",
    "rfm_scores",
    "rfm_four_groups",
    "rfm_default_segments",
    "lifecycle_place",
    "lifecycle_moves",
    "predict_histories",
    "bgnbd_fit",
    "bgnbd_predict",
    "bgnbd_expected_new",
    "gamma_gamma_fit",
    "gamma_gamma_predict",
    "predict_average_interval",
    "predict_clv",
    "build_profiles",
    "apply_event",
    "profile_facts",
    "customer_summaries",
    "profile_transactions",
    "summarize_purchases",
    "rfm_from_purchases",
    "check_segments",
    "segment_members",
    "explain_segment",
    "parse_segment_rule",
    "freeze_segment",
    "update_segments",
    "segment_changes",
    "segment_overlap",
    "evaluate_segments",
    "export_facts",
    "export_segment",
    "read_segment_ids",
    "render_message",
    "lint_template",
    "sms_measure",
    "sms_fit",
    "push_fit",
    "render_campaign",
    "write_campaign",
    "issue_coupons",
    "redeem_coupon",
    "campaign_kpis",
    "campaign_uplift",
    "compare_variants",
    "kpi_report",
    "build_item_model",
    "update_item_model",
    "recommend_blocks",
    "evaluate_recommendations",
    "recommend_blocks_many",
    "TriggerEngine",
    "Store",
    "cli",
    "new_trigger_state",
    "read_trigger_state",
    "next_wakeup",
    "trigger_presets",
    "Recommender",
]

_JsonText: TypeAlias = str | bytes
_Data: TypeAlias = Mapping[str, Any]
_Path: TypeAlias = str | os.PathLike[str]

def parse_contact(data: _Data) -> Contact: ...
def parse_contact_json(text: _JsonText) -> Contact: ...
def parse_contacts(data: Sequence[_Data]) -> list[Contact]: ...
def parse_contacts_json(text: _JsonText) -> list[Contact]: ...
def parse_product(data: _Data) -> Product: ...
def parse_product_json(text: _JsonText) -> Product: ...
def parse_catalog(data: _Data) -> Catalog: ...
def parse_catalog_json(text: _JsonText) -> Catalog: ...
def parse_event(data: _Data) -> Event: ...
def parse_event_json(text: _JsonText) -> Event: ...
def parse_events(data: Sequence[_Data]) -> list[Event]: ...
def parse_events_json(text: _JsonText) -> list[Event]: ...
def validate_event(data: _Data) -> None: ...
def validate_events(data: Sequence[_Data]) -> None: ...
def parse_consent_change(data: _Data) -> ConsentChange: ...
def parse_consent_change_json(text: _JsonText) -> ConsentChange: ...
def apply_consent(contact: _Data, change: _Data) -> Contact: ...
@overload
def rfm_scores(customers: Sequence[_Data], as_of: datetime | str, config: _Data | None = None) -> list[RfmScore]: ...
@overload
def rfm_scores(customers: Columns, as_of: datetime | str, config: _Data | None = None) -> ArrowTable: ...
@overload
def rfm_four_groups(
    customers: Sequence[_Data], as_of: datetime | str, config: _Data | None = None
) -> list[FourGroupResult]: ...
@overload
def rfm_four_groups(customers: Columns, as_of: datetime | str, config: _Data | None = None) -> ArrowTable: ...
def rfm_default_segments() -> list[SegmentRule]: ...
@overload
def summarize_purchases(purchases: Sequence[_Data], as_of: datetime | str) -> list[CustomerSummary]: ...
@overload
def summarize_purchases(purchases: Columns, as_of: datetime | str) -> ArrowTable: ...
@overload
def rfm_from_purchases(
    purchases: Sequence[_Data], as_of: datetime | str, config: _Data | None = None
) -> list[RfmScore]: ...
@overload
def rfm_from_purchases(purchases: Columns, as_of: datetime | str, config: _Data | None = None) -> ArrowTable: ...
@overload
def lifecycle_place(
    customers: Sequence[_Data], as_of: datetime | str, config: _Data | None = None
) -> list[Placement]: ...
@overload
def lifecycle_place(customers: Columns, as_of: datetime | str, config: _Data | None = None) -> ArrowTable: ...
@overload
def lifecycle_moves(
    before: Sequence[_Data],
    before_at: datetime | str,
    after: Sequence[_Data] | Columns,
    after_at: datetime | str,
    config: _Data | None = None,
) -> list[LifecycleMove]: ...
@overload
def lifecycle_moves(
    before: Columns,
    before_at: datetime | str,
    after: Sequence[_Data] | Columns,
    after_at: datetime | str,
    config: _Data | None = None,
) -> ArrowTable: ...
@overload
def predict_histories(
    transactions: Sequence[_Data], calibration_end: date | str, period_days: float = 7.0
) -> list[History]: ...
@overload
def predict_histories(transactions: Columns, calibration_end: date | str, period_days: float = 7.0) -> ArrowTable: ...
def bgnbd_fit(histories: Sequence[_Data] | Columns) -> BgNbdFit: ...
@overload
def bgnbd_predict(model: _Data, histories: Sequence[_Data], t: float) -> list[Prediction]: ...
@overload
def bgnbd_predict(model: _Data, histories: Columns, t: float) -> ArrowTable: ...
def bgnbd_expected_new(model: _Data, t: float) -> float: ...
def gamma_gamma_fit(histories: Sequence[_Data] | Columns) -> GammaGammaFit: ...
@overload
def gamma_gamma_predict(model: _Data, histories: Sequence[_Data]) -> list[ValuePrediction]: ...
@overload
def gamma_gamma_predict(model: _Data, histories: Columns) -> ArrowTable: ...
@overload
def predict_average_interval(transactions: Sequence[_Data], as_of: date | str) -> list[IntervalState]: ...
@overload
def predict_average_interval(transactions: Columns, as_of: date | str) -> ArrowTable: ...
@overload
def predict_clv(
    bgnbd: _Data, gamma_gamma: _Data, histories: Sequence[_Data], horizon: float, step: float, discount: float
) -> list[Clv]: ...
@overload
def predict_clv(
    bgnbd: _Data, gamma_gamma: _Data, histories: Columns, horizon: float, step: float, discount: float
) -> ArrowTable: ...
def build_profiles(events: Sequence[_Data]) -> list[Profile]: ...
def apply_event(profile: _Data | None, event: _Data) -> AppliedEvent: ...
def profile_facts(
    profiles: Sequence[_Data],
    as_of: datetime | str,
    catalog: _Data | None = None,
    contacts: Sequence[_Data] | None = None,
    rfm: _Data | None = None,
    lifecycle: _Data | None = None,
    predict: _Data | None = None,
) -> list[Facts]: ...
def customer_summaries(profiles: Sequence[_Data], as_of: datetime | str) -> list[CustomerSummary]: ...
def profile_transactions(profiles: Sequence[_Data]) -> list[Transaction]: ...
def check_segments(segments: Mapping[str, _Data | str]) -> list[str]: ...
@overload
def segment_members(segments: Mapping[str, _Data | str], facts: Sequence[_Data]) -> list[Membership]: ...
@overload
def segment_members(segments: Mapping[str, _Data | str], facts: Columns) -> ArrowTable: ...
def explain_segment(segments: Mapping[str, _Data | str], name: str, facts: _Data) -> Explanation: ...
def parse_segment_rule(text: str) -> dict[str, Any]: ...
def freeze_segment(segments: Mapping[str, _Data | str], name: str, facts: Sequence[_Data] | Columns) -> StaticSegment: ...
def update_segments(
    segments: Mapping[str, _Data | str], previous: Membership | _Data | None, facts: _Data, event: _Data | None = None
) -> MembershipUpdate: ...
def segment_changes(
    before: Sequence[Membership | _Data], after: Sequence[Membership | _Data], at: str | datetime
) -> list[SegmentChange]: ...
def segment_overlap(segments: Mapping[str, _Data | str], memberships: Sequence[Membership | _Data]) -> SegmentOverlap: ...
def evaluate_segments(segments: Mapping[str, _Data | str], table: Columns, as_of: datetime | str) -> ArrowTable: ...
def export_facts(
    facts: Sequence[_Data] | Columns,
    columns: Sequence[str],
    format: ExportFormat,
    out: _Path | BinaryWriter,
    *,
    escape_formulas: bool = True,
) -> None: ...
def export_segment(
    segments: Mapping[str, _Data | str],
    name: str,
    facts: Sequence[_Data] | Columns,
    columns: Sequence[str],
    format: ExportFormat,
    out: _Path | BinaryWriter,
    *,
    escape_formulas: bool = True,
) -> None: ...
def read_segment_ids(source: _Path | bytes | bytearray | BinaryReader, column: str) -> list[str]: ...
def render_message(
    template: TemplateSpec | _Data, recipient: _Data, now: datetime | str, info: _Data | None = None
) -> Message: ...
def lint_template(template: TemplateSpec | _Data, sample: _Data, now: datetime | str) -> list[TemplateProblem]: ...
def sms_measure(text: str) -> SmsMeasure: ...
def sms_fit(text: str, fit: _Data | None = None) -> SmsFitted: ...
def push_fit(title: str, body: str, limits: _Data | None = None) -> Push: ...
def render_campaign(
    campaign: _Data,
    templates: Sequence[TemplateSpec | _Data],
    recipients: Sequence[_Data] | _JsonText,
    now: datetime | str,
) -> CampaignResult: ...
def write_campaign(
    campaign: _Data,
    templates: Sequence[TemplateSpec | _Data],
    recipients: Sequence[_Data] | _JsonText,
    now: datetime | str,
    out: _Path | BinaryWriter,
) -> CampaignSummary: ...
def issue_coupons(
    pool: _Data, state: _Data | None, campaign_id: str, contact_ids: Sequence[str], now: datetime | str
) -> IssuedCoupons: ...
def redeem_coupon(
    pool: _Data, state: _Data, code: str, contact_id: str, at: datetime | str, order_id: str | None = None
) -> RedeemedCoupon: ...
def campaign_kpis(events: Sequence[Event | _Data], config: _Data | None = None) -> list[KpiRow]: ...
def campaign_uplift(
    assignments: Sequence[_Data], events: Sequence[Event | _Data], config: _Data | None = None
) -> list[Uplift]: ...
def compare_variants(rows: Sequence[KpiRow | _Data], metric: str, confidence: float = 0.95) -> list[VariantComparison]: ...
def kpi_report(rows: Sequence[_Data], format: str) -> str: ...
def build_item_model(baskets: Sequence[_Data] | Columns, now: datetime | str, config: _Data | None = None) -> ItemModel: ...
def update_item_model(model: ItemModel | _Data, baskets: Sequence[_Data] | Columns) -> ItemModel: ...
def recommend_blocks(
    catalog: _Data,
    message: _Data,
    history: _Data | None,
    now: datetime | str,
    model: ItemModel | _Data | None = None,
) -> list[Block]: ...
def evaluate_recommendations(
    catalog: _Data, baskets: Sequence[_Data] | Columns, spec: _Data, k: int, config: _Data | None = None
) -> Evaluation: ...
def recommend_blocks_many(
    catalog: _Data,
    message: _Data,
    histories: Sequence[_Data],
    now: datetime | str,
    model: ItemModel | _Data | None = None,
) -> list[list[Block]]: ...

@final
class TriggerEngine:
    """A checked rule set: rules, the segments they name, the delivery policy."""

    def __new__(cls, config: TriggerConfig | _Data, catalog: _Data | None = None) -> TriggerEngine: ...
    @property
    def rule_ids(self) -> list[str]: ...
    def config(self) -> TriggerConfig: ...
    def handle(
        self,
        state: ContactState | _Data | None,
        facts: Facts | _Data,
        event: Event | _Data,
        now: datetime | str,
    ) -> TriggerOutcome: ...
    def due(
        self, state: ContactState | _Data | None, facts: Facts | _Data, now: datetime | str
    ) -> TriggerOutcome: ...
    def refresh(
        self, state: ContactState | _Data | None, facts: Facts | _Data, now: datetime | str
    ) -> TriggerOutcome: ...
    def adopt(
        self, state: ContactState | _Data | None, facts: Facts | _Data, now: datetime | str
    ) -> ContactState: ...
    def simulate(
        self,
        contacts: Sequence[Contact | _Data],
        events: Sequence[Event | _Data],
        until: datetime | str,
        catalog: _Data | None = None,
    ) -> list[TriggerAction]: ...

def new_trigger_state(contact_id: str) -> ContactState: ...
def read_trigger_state(state: _Data) -> ContactState: ...
def next_wakeup(state: ContactState | _Data) -> datetime | None: ...
def trigger_presets() -> TriggerConfig: ...

def cli(argv: Sequence[str]) -> int: ...

@final
class Store:
    """A shop's store on one SQLite file: contacts, events, profiles, trigger
    state, wake-ups, the outbox and its send log."""

    def __new__(cls, path: str | os.PathLike[str], config: StoreConfig | _Data | None = None) -> Store: ...
    @property
    def path(self) -> str: ...
    def config(self) -> StoreConfig: ...
    def set_config(self, config: StoreConfig | _Data) -> None: ...
    def upsert_contacts(self, contacts: Sequence[Contact | _Data], now: datetime | str) -> Ingested: ...
    def ingest(self, events: str | Sequence[Event | _Data] | _Data, now: datetime | str) -> Ingested: ...
    def run_due(self, now: datetime | str) -> Ran: ...
    def next_wakeup(self, now: datetime | str) -> datetime | None: ...
    def send(self, now: datetime | str, smtp: str, smtp_timeout: float = 30.0) -> Sent: ...
    def claim_letters(self, now: datetime | str, channels: Sequence[str], limit: int = 100) -> list[Letter]: ...
    def letter_sent(self, message_id: str, now: datetime | str) -> str: ...
    def letter_failed(
        self,
        message_id: str,
        reason: str,
        now: datetime | str,
        retry: bool = True,
        hard_bounce: bool = False,
    ) -> str: ...
    def unsubscribe(self, token: str, now: datetime | str) -> Ingested: ...
    def stats(self) -> StoreStats: ...
    def outbox(self, status: str | None = None, limit: int = 1000) -> list[OutboxEntry]: ...
    def contact(self, contact_id: str) -> StoredContact | None: ...
    def kpis(self, config: _Data | None = None) -> list[KpiRow]: ...

@final
class Recommender:
    """A catalog and an optional item-to-item model, indexed once: build it when
    the catalog or the model changes and call ``blocks`` for every message."""

    def __new__(cls, catalog: _Data, model: ItemModel | _Data | None = None) -> Recommender: ...
    def blocks(self, message: _Data, history: _Data | None, now: datetime | str) -> list[Block]: ...
    def blocks_many(self, message: _Data, histories: Sequence[_Data], now: datetime | str) -> list[list[Block]]: ...
    @property
    def known_to_model(self) -> int: ...
