"""What the vectors cannot show: native types, the error classes, threads."""

from __future__ import annotations

import threading
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import pytest

import patron

ORDER: dict[str, Any] = {
    "type": "order_placed",
    "id": "e1",
    "contact_id": "c1",
    "at": datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=2))),
    "order_id": "o1",
    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 30}],
    "total": 30,
    "currency": "EUR",
}


def test_aware_datetimes_in_and_utc_datetimes_out() -> None:
    event = patron.parse_event(ORDER)
    assert event["at"] == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    assert event["at"].tzinfo is not None


def test_naive_datetime_is_refused_with_its_path() -> None:
    with pytest.raises(patron.ValidationError) as info:
        patron.parse_event({**ORDER, "at": datetime(2024, 5, 1, 10)})
    assert info.value.path == "at"
    assert "timezone-aware" in str(info.value)


def test_dates_and_datetime_attributes_are_native() -> None:
    when = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    contact = patron.parse_contact({"id": "c", "birthday": date(1990, 5, 17), "attributes": {"seen": when}})
    assert contact["birthday"] == date(1990, 5, 17)
    assert contact["attributes"]["seen"] == when
    # The output is valid input again.
    assert patron.parse_contact(contact) == contact


def test_every_error_is_a_patron_error() -> None:
    failures: list[Callable[[], object]] = [
        lambda: patron.parse_event_json("{"),
        lambda: patron.parse_event({"type": "nope"}),
        lambda: patron.apply_consent(
            {"id": "c"},
            {"channel": "email", "purpose": "marketing", "action": "confirm", "at": "2024-01-01T00:00:00Z"},
        ),
    ]
    kinds = set()
    for fail in failures:
        with pytest.raises(patron.PatronError) as info:
            fail()
        kinds.add(type(info.value))
        assert isinstance(info.value, ValueError)
    assert kinds == {patron.JsonError, patron.ValidationError, patron.ConsentTransitionError}
    assert issubclass(patron.JsonError, patron.ValidationError)


def test_json_text_may_be_bytes() -> None:
    event = patron.parse_event_json(b'{"type":"searched","id":"e","contact_id":"c","at":"2024-01-01T00:00:00Z","query":"q"}')
    assert event["type"] == "searched" and event["query"] == "q"
    with pytest.raises(patron.JsonError):
        patron.parse_event_json(b"\xff\xfe")


def test_campaign_recipients_as_json_text_render_as_dicts_do() -> None:
    import json

    from conftest import load_cases

    cases = [c for name, c in load_cases() if name.startswith("message/") and "recipients" in c["input"]]
    assert cases
    for case in cases:
        v = case["input"]
        if "error" in case:
            continue
        want = patron.render_campaign(v["campaign"], v["templates"], v["recipients"], v["now"])
        text = json.dumps(v["recipients"])
        assert patron.render_campaign(v["campaign"], v["templates"], text, v["now"]) == want
        assert patron.render_campaign(v["campaign"], v["templates"], text.encode(), v["now"]) == want
    v = next(c["input"] for c in cases if "error" not in c)
    with pytest.raises(patron.ValidationError) as info:
        patron.render_campaign(v["campaign"], v["templates"], '[{"contact": {"id": ""}}]', v["now"])
    assert (info.value.path or "").startswith("recipients[0]")
    with pytest.raises(patron.JsonError):
        patron.render_campaign(v["campaign"], v["templates"], b"[{", v["now"])


def test_write_campaign_writes_the_outcomes_render_campaign_returns(tmp_path: Path) -> None:
    import io
    import json

    from conftest import load_cases

    cases = [c for name, c in load_cases() if name.startswith("message/") and "recipients" in c["input"]]
    for case in (c for c in cases if "error" not in c):
        v = case["input"]
        want = patron.render_campaign(v["campaign"], v["templates"], v["recipients"], v["now"])
        path = tmp_path / "letters.jsonl"
        summary = patron.write_campaign(v["campaign"], v["templates"], v["recipients"], v["now"], path)
        assert summary == want["summary"]
        lines = path.read_text().splitlines()
        assert [json.loads(line) for line in lines] == want["outcomes"]
        buffer = io.BytesIO()
        text = json.dumps(v["recipients"])
        assert patron.write_campaign(v["campaign"], v["templates"], text, v["now"], buffer) == want["summary"]
        assert buffer.getvalue().decode().splitlines() == lines
    v = next(c["input"] for c in cases if "error" not in c)
    with pytest.raises(patron.ValidationError) as info:
        patron.write_campaign(v["campaign"], v["templates"], v["recipients"], v["now"], 42)  # type: ignore[arg-type]
    assert info.value.path == "out"

    with pytest.raises(patron.IoError):
        patron.write_campaign(v["campaign"], v["templates"], v["recipients"], v["now"], tmp_path / "no" / "such.jsonl")

    class Full(io.RawIOBase):
        def write(self, data: Any) -> int:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        patron.write_campaign(v["campaign"], v["templates"], v["recipients"], v["now"], Full())


def test_unsupported_python_types_name_their_path() -> None:
    with pytest.raises(patron.ValidationError) as info:
        patron.parse_contact({"id": "c", "attributes": {"x": object()}})
    assert info.value.path == "attributes.x"
    with pytest.raises(patron.ValidationError) as info:
        patron.parse_contact({"id": "c", "attributes": {1: "x"}})
    assert info.value.path == "attributes"
    with pytest.raises(patron.ValidationError):
        patron.parse_contact({"id": 2**80})


def test_cyclic_and_deep_structures_are_errors_not_crashes() -> None:
    cyclic: dict[str, Any] = {"id": "c"}
    cyclic["attributes"] = cyclic
    with pytest.raises(patron.ValidationError, match="nesting deeper"):
        patron.parse_contact(cyclic)
    deep: Any = 1
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(patron.ValidationError):
        patron.parse_events(deep)


def test_inputs_are_never_modified() -> None:
    contact = {"id": "c", "email": "A@B.CO"}
    change = {"channel": "email", "purpose": "marketing", "action": "request", "at": "2024-01-01T00:00:00Z"}
    out = patron.apply_consent(contact, change)
    assert contact == {"id": "c", "email": "A@B.CO"}
    assert out["consent"]["email"]["marketing"]["status"] == "pending"


def test_bulk_parsing_runs_in_threads() -> None:
    import json

    text = json.dumps([{**ORDER, "at": "2024-05-01T10:00:00Z", "id": f"e{i}"} for i in range(20_000)])
    results: list[int] = []

    def work() -> None:
        results.append(len(patron.parse_events_json(text)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [20_000] * 4


def test_version_matches_the_package() -> None:
    assert patron.__version__ == "0.1.0"


def test_fast_and_general_paths_agree() -> None:
    # `type` first takes the one-pass path; `type` last the general one.
    first = {**ORDER, "coupon": "SPRING"}
    last = {k: v for k, v in reversed(list(first.items()))}
    assert list(last)[-1] == "type"
    assert patron.parse_event(first) == patron.parse_event(last)
    patron.validate_events([first, last])
    bad = {**first, "lines": [{"product_id": "p1", "quantity": 0, "unit_price": 1}]}
    for data in (bad, {k: v for k, v in reversed(list(bad.items()))}):
        with pytest.raises(patron.ValidationError) as info:
            patron.validate_event(data)
        assert info.value.path == "lines[0].quantity"


def test_a_stored_profile_comes_back_in_native_types_and_folds_on() -> None:
    events: list[dict[str, Any]] = [
        ORDER,
        {**ORDER, "id": "e2", "order_id": "o2", "at": datetime(2024, 6, 1, tzinfo=timezone.utc)},
        {"type": "product_viewed", "id": "e3", "contact_id": "c1", "at": "2024-06-02T00:00:00Z", "product_id": "p9"},
    ]
    built = patron.build_profiles(events)
    profile: Any = None
    for event in reversed(events):
        result = patron.apply_event(profile, event)
        assert result["applied"]
        profile = result["profile"]
    assert profile == built[0]
    assert profile["events"]["last_at"] == datetime(2024, 6, 2, tzinfo=timezone.utc)
    again = patron.apply_event(profile, events[0])
    assert not again["applied"] and again["profile"] == profile
    facts = patron.profile_facts([profile], datetime(2024, 7, 1, tzinfo=timezone.utc))[0]
    assert facts["orders"] == 2 and facts["next_order_expected"] == date(2024, 6, 1) + timedelta(days=31)
    summaries = patron.customer_summaries([profile], "2024-07-01T00:00:00Z")
    assert patron.rfm_scores(summaries, "2024-07-01T00:00:00Z")[0]["contact_id"] == "c1"
    with pytest.raises(patron.ValidationError) as err:
        patron.apply_event(None, {**ORDER, "contact_id": None, "visitor_id": "v1"})
    assert err.value.path == "event.contact_id"


def test_histories_read_directly_agree_with_the_general_path() -> None:
    # A list of dicts is read directly; a tuple goes through the general reader.
    histories: list[dict[str, Any]] = [
        {"contact_id": f"c{i}", "frequency": i % 4, "recency": float(3 * (i % 4)), "age": 30, "monetary": 10.0 + i}
        for i in range(40)
    ]
    assert patron.gamma_gamma_fit(histories) == patron.gamma_gamma_fit(tuple(histories))
    assert patron.bgnbd_fit(histories) == patron.bgnbd_fit(tuple(histories))
    for bad, path in (
        ({"frequency": True}, "histories[1].frequency"),
        ({"frequency": 2.0}, "histories[1].frequency"),
        ({"recency": float("nan")}, "histories[1].recency"),
        ({"contact_id": " "}, "histories[1].contact_id"),
    ):
        data = [histories[0], {**histories[1], **bad}]
        for form in (data, tuple(data)):
            with pytest.raises(patron.ValidationError) as info:
                patron.bgnbd_fit(form)
            assert info.value.path == path
    with pytest.raises(patron.ValidationError) as info:
        patron.gamma_gamma_fit([histories[0], {**histories[1], "extra": 1}])
    assert (info.value.path or "").startswith("histories[1]")
