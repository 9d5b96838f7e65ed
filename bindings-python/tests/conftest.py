from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "v1"


def expand(value: Any) -> Any:
    """Replaces the vector markers ($float, $repeat, $nest) with native values."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "$float":
                return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[arg]
            if key == "$repeat":
                return arg[0] * arg[1]
            if key == "$nest":
                out = arg[1]
                for _ in range(arg[0]):
                    out = {"a": out}
                return out
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def json_form(value: Any) -> Any:
    """The JSON form of a parse result: datetimes as RFC 3339 text in UTC."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.replace("+00:00", "Z") if "." not in text else _with_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_form(v) for v in value]
    return value


def _with_millis(value: datetime) -> str:
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    frac = f"{micros // 1000:03d}" if micros % 1000 == 0 else f"{micros:06d}"
    return f"{base}.{frac}Z"


def flatten_datetime_objects(value: Any) -> Any:
    """Python returns a datetime attribute as a plain datetime; the JSON form wraps it."""
    if isinstance(value, dict):
        if set(value) == {"datetime"}:
            return value["datetime"]
        return {k: flatten_datetime_objects(v) for k, v in value.items()}
    if isinstance(value, list):
        return [flatten_datetime_objects(v) for v in value]
    return value


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["version"] == 1
        for case in doc["cases"]:
            cases.append((f"{path.stem}/{case['name']}", case))
    return cases
