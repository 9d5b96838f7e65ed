"""Runs every shared test vector through the Python API, as objects and as JSON text."""

from __future__ import annotations

import io
import json
import math
from typing import Any, Callable

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import patron
from conftest import expand, flatten_datetime_objects, json_form, load_cases


def _apply_consent_json(text: str) -> Any:
    doc = json.loads(text)
    return patron.apply_consent(doc["contact"], doc["change"])


def _export(v: dict[str, Any]) -> str:
    out = io.BytesIO()
    escape = v.get("escape_formulas", True)
    if "segments" in v:
        patron.export_segment(
            v["segments"], v["name"], v["facts"], v["columns"], v["format"], out, escape_formulas=escape
        )
    else:
        patron.export_facts(v["facts"], v["columns"], v["format"], out, escape_formulas=escape)
    return out.getvalue().decode()


OBJECT_OPS: dict[str, Callable[[Any], Any]] = {
    "parse_contact": patron.parse_contact,
    "parse_contacts": patron.parse_contacts,
    "parse_product": patron.parse_product,
    "parse_catalog": patron.parse_catalog,
    "parse_event": patron.parse_event,
    "parse_events": patron.parse_events,
    "parse_consent_change": patron.parse_consent_change,
    "apply_consent": lambda v: patron.apply_consent(v["contact"], v["change"]),
    "rfm_scores": lambda v: patron.rfm_scores(v["customers"], v["as_of"], v.get("config")),
    "rfm_four_groups": lambda v: patron.rfm_four_groups(v["customers"], v["as_of"], v.get("config")),
    "lifecycle_place": lambda v: patron.lifecycle_place(v["customers"], v["as_of"], v.get("config")),
    "lifecycle_moves": lambda v: patron.lifecycle_moves(
        v["before"], v["before_at"], v["after"], v["after_at"], v.get("config")
    ),
    "predict_histories": lambda v: patron.predict_histories(
        v["transactions"], v["calibration_end"], v.get("period_days", 7.0)
    ),
    "bgnbd_fit": lambda v: patron.bgnbd_fit(v["histories"]),
    "bgnbd_predict": lambda v: patron.bgnbd_predict(v["model"], v["histories"], v["t"]),
    "bgnbd_expected_new": lambda v: patron.bgnbd_expected_new(v["model"], v["t"]),
    "gamma_gamma_fit": lambda v: patron.gamma_gamma_fit(v["histories"]),
    "gamma_gamma_predict": lambda v: patron.gamma_gamma_predict(v["model"], v["histories"]),
    "predict_average_interval": lambda v: patron.predict_average_interval(v["transactions"], v["as_of"]),
    "predict_clv": lambda v: patron.predict_clv(
        v["bgnbd"], v["gamma_gamma"], v["histories"], v["horizon"], v["step"], v["discount"]
    ),
    "build_profiles": lambda v: patron.build_profiles(v["events"]),
    "apply_event": lambda v: patron.apply_event(v["profile"], v["event"]),
    "profile_facts": lambda v: patron.profile_facts(
        v["profiles"], v["as_of"], v.get("catalog"), v.get("contacts"), v.get("rfm"), v.get("lifecycle"), v.get("predict")
    ),
    "customer_summaries": lambda v: patron.customer_summaries(v["profiles"], v["as_of"]),
    "profile_transactions": lambda v: patron.profile_transactions(v["profiles"]),
    "summarize_purchases": lambda v: patron.summarize_purchases(v["purchases"], v["as_of"]),
    "rfm_from_purchases": lambda v: patron.rfm_from_purchases(v["purchases"], v["as_of"], v.get("config")),
    "check_segments": lambda v: patron.check_segments(v["segments"]),
    "segment_members": lambda v: patron.segment_members(v["segments"], v["facts"]),
    "explain_segment": lambda v: patron.explain_segment(v["segments"], v["name"], v["facts"]),
    "parse_segment_rule": lambda v: patron.parse_segment_rule(v["text"]),
    "export": _export,
    "read_segment_ids": lambda v: patron.read_segment_ids(v["source"].encode(), v["column"]),
    "freeze_segment": lambda v: patron.freeze_segment(v["segments"], v["name"], v["facts"]),
    "update_segments": lambda v: patron.update_segments(v["segments"], v["previous"], v["facts"], v.get("event")),
    "segment_changes": lambda v: patron.segment_changes(v["before"], v["after"], v["at"]),
    "segment_overlap": lambda v: patron.segment_overlap(v["segments"], v["memberships"]),
    "evaluate_segments": lambda v: _evaluate_segments(v),
    "render_message": lambda v: patron.render_message(v["template"], v["recipient"], v["now"], v.get("info")),
    "lint_template": lambda v: patron.lint_template(v["template"], v["sample"], v["now"]),
    "sms_measure": lambda v: patron.sms_measure(v["text"]),
    "sms_fit": lambda v: patron.sms_fit(v["text"], v.get("fit")),
    "push_fit": lambda v: patron.push_fit(v["title"], v["body"], v.get("limits")),
    "render_campaign": lambda v: patron.render_campaign(v["campaign"], v["templates"], v["recipients"], v["now"]),
    "issue_coupons": lambda v: patron.issue_coupons(
        v["pool"], v.get("state"), v["campaign_id"], v["contact_ids"], v["now"]
    ),
    "redeem_coupon": lambda v: patron.redeem_coupon(v["pool"], v["state"], v["code"], v["contact_id"], v["at"]),
    "campaign_kpis": lambda v: patron.campaign_kpis(v["events"], v.get("config")),
    "campaign_uplift": lambda v: patron.campaign_uplift(v["assignments"], v["events"], v.get("config")),
    "compare_variants": lambda v: patron.compare_variants(v["rows"], v["metric"], v.get("confidence", 0.95)),
    "build_item_model": lambda v: patron.build_item_model(v["baskets"], v["now"], v.get("config")),
    "update_item_model": lambda v: patron.update_item_model(
        patron.build_item_model(v["baskets"], v["now"], v.get("config")), v["new_baskets"]
    ),
    "recommend_blocks": lambda v: patron.recommend_blocks(
        v["catalog"],
        v["message"],
        v.get("history"),
        v["now"],
        patron.build_item_model(v["baskets"], v["now"], v.get("config")) if "baskets" in v else None,
    ),
    "evaluate_recommendations": lambda v: patron.evaluate_recommendations(
        v["catalog"], v["baskets"], v["spec"], v["k"], v.get("config")
    ),
    "check_triggers": lambda v: patron.TriggerEngine(v["config"], v.get("catalog")).rule_ids,
    "trigger_handle": lambda v: patron.TriggerEngine(v["config"], v.get("catalog")).handle(
        v.get("state"), v["facts"], v["event"], v["now"]
    ),
    "trigger_due": lambda v: patron.TriggerEngine(v["config"], v.get("catalog")).due(
        v.get("state"), v["facts"], v["now"]
    ),
    "trigger_refresh": lambda v: patron.TriggerEngine(v["config"], v.get("catalog")).refresh(
        v.get("state"), v["facts"], v["now"]
    ),
    "simulate_triggers": lambda v: patron.TriggerEngine(v["config"], v.get("catalog")).simulate(
        v["contacts"], v["events"], v["until"], v.get("catalog")
    ),
    "read_trigger_state": lambda v: patron.read_trigger_state(v["state"]),
    "trigger_presets": lambda v: patron.trigger_presets(),
}

def _evaluate_segments(v: Any) -> Any:
    table = pa.table(patron.evaluate_segments(v["segments"], v["table"], v["as_of"]))
    return table.to_pydict()


TEXT_OPS: dict[str, Callable[[str], Any]] = {
    "parse_contact": patron.parse_contact_json,
    "parse_contacts": patron.parse_contacts_json,
    "parse_product": patron.parse_product_json,
    "parse_catalog": patron.parse_catalog_json,
    "parse_event": patron.parse_event_json,
    "parse_events": patron.parse_events_json,
    "parse_consent_change": patron.parse_consent_change_json,
    # Ops with several arguments have no single-text form: the suite reads the
    # document and passes the parts.
    "apply_consent": _apply_consent_json,
    "rfm_scores": lambda t: OBJECT_OPS["rfm_scores"](json.loads(t)),
    "rfm_four_groups": lambda t: OBJECT_OPS["rfm_four_groups"](json.loads(t)),
    "lifecycle_place": lambda t: OBJECT_OPS["lifecycle_place"](json.loads(t)),
    "lifecycle_moves": lambda t: OBJECT_OPS["lifecycle_moves"](json.loads(t)),
    **{
        op: (lambda op: lambda t: OBJECT_OPS[op](json.loads(t)))(op)
        for op in (
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
            "export",
            "read_segment_ids",
            "freeze_segment",
            "update_segments",
            "segment_changes",
            "segment_overlap",
            "evaluate_segments",
            "render_message",
            "lint_template",
            "sms_measure",
            "sms_fit",
            "push_fit",
            "render_campaign",
            "issue_coupons",
            "redeem_coupon",
            "campaign_kpis",
            "campaign_uplift",
            "compare_variants",
            "build_item_model",
            "update_item_model",
            "recommend_blocks",
            "evaluate_recommendations",
            "check_triggers",
            "trigger_handle",
            "trigger_due",
            "trigger_refresh",
            "simulate_triggers",
            "read_trigger_state",
            "trigger_presets",
        )
    },
}


# validate_* must accept and refuse exactly what parse_* does.
VALIDATE_OPS: dict[str, Callable[[Any], Any]] = {
    "parse_event": patron.validate_event,
    "parse_events": patron.validate_events,
}


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nonfinite(v) for v in value)
    return False


# Bulk arguments that may also come as columns (a dict of lists here; the
# Arrow producers are tested in test_columns.py): the same rows must give the
# same results and the same errors.
COLUMNAR_ARGS: dict[str, tuple[str, ...]] = {
    "rfm_scores": ("customers",),
    "rfm_four_groups": ("customers",),
    "lifecycle_place": ("customers",),
    "lifecycle_moves": ("before", "after"),
    "predict_histories": ("transactions",),
    "bgnbd_fit": ("histories",),
    "gamma_gamma_fit": ("histories",),
    "bgnbd_predict": ("histories",),
    "gamma_gamma_predict": ("histories",),
    "predict_average_interval": ("transactions",),
    "predict_clv": ("histories",),
    "summarize_purchases": ("purchases",),
    "rfm_from_purchases": ("purchases",),
}


def _as_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    return {name: [row.get(name) for row in rows] for name in names}


def _columnar_input(op: str, value: Any) -> Any:
    args = COLUMNAR_ARGS.get(op, ())
    if not args or not isinstance(value, dict):
        return None
    if not all(isinstance(value.get(a), list) and all(isinstance(r, dict) for r in value[a]) for a in args):
        return None
    return {**value, **{a: _as_columns(value[a]) for a in args}}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def rows_of(table: Any) -> Any:
    """An Arrow result as the row form: nulls left out, nested cells parsed."""
    if not hasattr(table, "__arrow_c_stream__"):
        return table
    rows = pa.table(table).to_pylist()
    out = []
    for row in rows:
        clean = {}
        for k, v in row.items():
            if v is None:
                continue
            clean[k] = json.loads(v) if isinstance(v, str) and v.startswith("{") else v
        out.append(clean)
    return out


def _runs(case: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    op = case["op"]
    if "text" in case:
        return [("text", lambda: TEXT_OPS[op](case["text"]))]
    value = expand(case["input"])
    runs: list[tuple[str, Callable[[], Any]]] = []
    for form in case.get("forms", ["object", "text"]):
        if form == "object":
            runs.append(("object", lambda: OBJECT_OPS[op](value)))
            if op in VALIDATE_OPS:
                runs.append(("validate", lambda: VALIDATE_OPS[op](value)))
        elif not _has_nonfinite(value):
            runs.append(("text", lambda: TEXT_OPS[op](json.dumps(value))))
    columns = _columnar_input(op, value)
    if columns is not None:
        runs.append(("columns", lambda: rows_of(OBJECT_OPS[op](columns))))
    return runs


@pytest.mark.parametrize("name,case", load_cases(), ids=[n for n, _ in load_cases()])
def test_vector(name: str, case: dict[str, Any]) -> None:
    for form, run in _runs(case):
        if "output" in case and form == "validate":
            assert run() is None
            continue
        if "output" in case:
            got = json_form(run())
            want = flatten_datetime_objects(case["output"])
            if form == "columns":
                # An Arrow cell is null or not: an absent field and a null read the same.
                want = _without_nulls(want)
            assert got == want, f"[{form}]"
            continue
        want = case["error"]
        with pytest.raises(patron.PatronError) as info:
            run()
        err = info.value
        assert err.code == want["code"], f"[{form}] {err}"
        if "path" in want:
            assert err.path == want["path"], f"[{form}] {err}"
        if form == "text":
            for key in ("line", "column"):
                if key in want:
                    assert getattr(err, key) == want[key], f"[{form}] {err}"
        if "message_contains" in want:
            assert want["message_contains"] in str(err), f"[{form}] {err}"
