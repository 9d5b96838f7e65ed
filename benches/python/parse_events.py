"""Parse and validate events from Python dicts and from JSON text.

Target (issue 2): at least 300k events per second from dicts on one core.
Baseline, when installed (`pip install -r benches/python/requirements.txt`):
pydantic 2, the validator Python shops use, on an equivalent model of the
same events (tagged union, the same checks it can express), in the same run.

    make bench-python
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Callable

import patron

N = 100_000


def events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = {"id": f"e{i}", "contact_id": f"c{rng.randrange(1000)}",
                "at": f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+03:00"}
        product = f"p{rng.randrange(500)}"
        kind = rng.randrange(10)
        if kind <= 4:
            e = {"type": "product_viewed", **base, "product_id": product, "price": 19.9, "currency": "EUR"}
        elif kind == 5:
            e = {"type": "cart_updated", **base, "currency": "EUR", "lines": [
                {"product_id": product, "quantity": 1, "unit_price": 19.9}, {"product_id": "p7", "quantity": 2, "unit_price": 5.5}]}
        elif kind == 6:
            e = {"type": "order_placed", **base, "order_id": f"o{i}", "total": 30.9, "currency": "EUR", "lines": [
                {"product_id": product, "quantity": 1, "unit_price": 19.9, "category_id": "shoes"},
                {"product_id": "p7", "quantity": 2, "unit_price": 5.5}]}
        elif kind == 7:
            e = {"type": "searched", **base, "query": "running shoes", "results": 42}
        elif kind == 8:
            e = {"type": "message_opened", **base, "message_id": f"m{rng.randrange(1000)}", "campaign_id": "spring", "channel": "email"}
        else:
            e = {"type": "wishlist_added", **base, "product_id": product}
        out.append(e)
    return out


def best_rate(fn: Callable[[], Any], n: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def pydantic_parser() -> Callable[[list[dict[str, Any]]], Any] | None:
    try:
        from datetime import datetime
        from typing import Annotated, Literal, Optional, Union

        from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter
    except ImportError:
        return None

    money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
    qty = Annotated[float, Field(gt=0, allow_inf_nan=False)]
    ident = Annotated[str, Field(min_length=1, max_length=256)]
    Cur = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]

    class Base(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: ident
        contact_id: Optional[ident] = None
        visitor_id: Optional[ident] = None
        at: AwareDatetime

    class Line(BaseModel):
        model_config = ConfigDict(extra="forbid")
        product_id: ident
        quantity: qty
        unit_price: money
        category_id: Optional[ident] = None

    class Viewed(Base):
        type: Literal["product_viewed"]
        product_id: ident
        category_id: Optional[ident] = None
        price: Optional[money] = None
        currency: Optional[Cur] = None

    class Cart(Base):
        type: Literal["cart_updated"]
        lines: list[Line]
        currency: Cur

    class Order(Base):
        type: Literal["order_placed"]
        order_id: ident
        lines: Annotated[list[Line], Field(min_length=1)]
        total: money
        currency: Cur
        coupon: Optional[str] = None

    class Searched(Base):
        type: Literal["searched"]
        query: Annotated[str, Field(max_length=4096)]
        results: Optional[Annotated[int, Field(ge=0)]] = None

    class Opened(Base):
        type: Literal["message_opened"]
        message_id: ident
        campaign_id: Optional[ident] = None
        channel: str

    class Wish(Base):
        type: Literal["wishlist_added"]
        product_id: ident

    adapter = TypeAdapter(list[Annotated[Union[Viewed, Cart, Order, Searched, Opened, Wish], Field(discriminator="type")]])
    _ = datetime
    return adapter.validate_python


def main() -> None:
    data = events(N)
    text = json.dumps(data)
    rows = [
        ("patron.validate_events(list of dicts)", best_rate(lambda: patron.validate_events(data), N)),
        ("patron.parse_events(list of dicts)", best_rate(lambda: patron.parse_events(data), N)),
        ("patron.parse_event(dict) one by one", best_rate(lambda: [patron.parse_event(e) for e in data], N)),
        ("patron.parse_events_json(text)", best_rate(lambda: patron.parse_events_json(text), N)),
    ]
    validate = pydantic_parser()
    if validate is not None:
        import pydantic

        rows.append((f"pydantic {pydantic.VERSION} TypeAdapter.validate_python", best_rate(lambda: validate(data), N)))
    print(f"{N} events, best of 5, one thread")
    width = max(len(name) for name, _ in rows)
    for name, rate in rows:
        print(f"  {name:<{width}}  {rate / 1000:8.0f}k events/s")
    if validate is not None:
        print(f"  ratio patron.validate_events / pydantic: {rows[0][1] / rows[-1][1]:.2f}x")
        print(f"  ratio patron.parse_events / pydantic:    {rows[1][1] / rows[-1][1]:.2f}x")
    target = 300_000
    print(f"  target, validate from dicts: {target // 1000}k/s -> {'met' if rows[0][1] >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
