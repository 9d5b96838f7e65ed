"""patron: the logic of a marketing CRM for repeat sales, as a library.

Parse and validate the data model::

    import patron
    event = patron.parse_event({"type": "product_viewed", "id": "e1", "contact_id": "c1",
                                "at": "2024-05-01T10:00:00+02:00", "product_id": "p1"})

Every error is a :class:`patron.PatronError` with a stable ``code``; bad data
raises :class:`patron.ValidationError` (also a ``ValueError``) whose ``path``
names the field.
"""

from patron._native import (
    __version__,
    apply_consent,
    apply_event,
    build_profiles,
    customer_summaries,
    bgnbd_expected_new,
    bgnbd_fit,
    bgnbd_predict,
    gamma_gamma_fit,
    gamma_gamma_predict,
    lifecycle_moves,
    lifecycle_place,
    parse_catalog,
    parse_catalog_json,
    parse_consent_change,
    parse_consent_change_json,
    parse_contact,
    parse_contact_json,
    parse_contacts,
    parse_contacts_json,
    parse_event,
    parse_event_json,
    parse_events,
    parse_events_json,
    parse_product,
    parse_product_json,
    predict_average_interval,
    predict_clv,
    predict_histories,
    profile_facts,
    profile_transactions,
    rfm_default_segments,
    rfm_four_groups,
    rfm_scores,
    validate_event,
    validate_events,
)
from patron import types
from patron.errors import ConsentTransitionError, ConvergenceError, JsonError, PatronError, ValidationError

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
    "PatronError",
    "ValidationError",
    "JsonError",
    "ConsentTransitionError",
    "ConvergenceError",
]
