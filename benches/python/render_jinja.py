"""Personalized letters from Python: patron against Jinja2, same letter, same
recipients, same run.

The letter is `benches/data/letter.json` (greeting with a fallback, a
background by age, the viewed product, a 6-item product table through a
partial with tracked links, a coupon, view-in-browser and unsubscribe links);
`benches/message.rs` renders the same one in Rust. Jinja2 (autoescaping the
HTML) renders subject, HTML and text from the same source, with a context the
host builds per contact the way patron does (fallback, age, tracked links).
The first letters of both are checked equal before any time is printed.

Patron is timed through `patron.render_campaign` (rendered in Rust, one
result dict per contact), and through `patron.write_campaign` (the letters
written as JSON lines to the null device, never Python objects), with one thread (`RAYON_NUM_THREADS=1`, in a child
process) for the per-core ratio, and with every core; the recipients go in
as dicts, or as the JSON text of the same list (as a host reading them from
a file or a database would have them). The cost of `json.dumps` for a host
that holds dicts is timed too and shown added to the JSON-text rate.

Target (issue 7): at least 10x Jinja2 per core.

    make bench-python
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

ROOT = Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "benches/data/letter.json").read_text())
SPEC = DOC["template"]
N = int(os.environ.get("PATRON_BENCH_LETTERS", "20000"))
NOW = "2024-07-01T00:00:00Z"
NAMES = ["Ann", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus"]


def product(j: int) -> dict[str, Any]:
    p: dict[str, Any] = {
        "id": f"p{j}",
        "name": f"Product {j} & co",
        "price": float(10 + j % 50),
        "currency": "EUR",
        "url": f"https://shop.example/p/{j}",
        "image_url": f"https://cdn.shop.example/{j}.jpg",
    }
    if j % 2 == 0:
        p["brand"] = "Acme"
    if j % 3 == 0:
        p["old_price"] = float(20 + j % 50)
    return p


def recipient(i: int) -> dict[str, Any]:
    """The same recipients as benches/message.rs builds."""
    contact: dict[str, Any] = {
        "id": f"c{i}",
        "email": f"c{i}@example.com",
        "birthday": f"{1960 + i % 45}-05-17",
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
    }
    if i % 10 != 0:
        contact["first_name"] = NAMES[i % 7]
    return {
        "contact": contact,
        "blocks": {"viewed": [product((i * 7) % 100)], "picks": [product((i * 13 + k) % 100) for k in range(6)]},
        "coupon": {"code": f"SUM-{i:06d}", "expires_at": "2024-07-31T00:00:00Z"},
        "links": {
            "unsubscribe": f"https://shop.example/u?c=c{i}&t=x",
            "view_in_browser": f"https://shop.example/m/summer-24/c{i}",
        },
    }


# --- Jinja2: the host builds the context itself -------------------------------

TODAY = dt.date(2024, 7, 1)
TAGS = "".join(f"&{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(SPEC["tracking"].items()))
TAGS += "&utm_campaign=" + DOC["campaign_id"]


def tracked(url: str) -> str:
    return url + ("&" if "?" in url else "?") + TAGS[1:]


def jinja_context(r: dict[str, Any]) -> dict[str, Any]:
    c = dict(r["contact"])
    for field, value in SPEC["fallbacks"].items():
        if c.get(field) is None:
            c[field] = value
    born = dt.date.fromisoformat(c["birthday"])
    c["age"] = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
    blocks = {
        name: [
            {
                "id": p["id"],
                "name": p["name"],
                "url": tracked(p["url"]) if p.get("url") else None,
                "image_url": p.get("image_url"),
                "brand": p.get("brand"),
                "price": p["price"],
                "old_price": p.get("old_price"),
                "currency": p["currency"],
            }
            for p in products
        ]
        for name, products in r["blocks"].items()
    }
    return {"contact": c, "blocks": blocks, "coupon": r["coupon"], "links": r["links"]}


def jinja_templates() -> dict[str, jinja2.Template]:
    sources = {"message.subject": SPEC["subject"], "message.html": SPEC["html"], "message.text": SPEC["text"]}
    sources.update(SPEC["partials"])
    env = jinja2.Environment(
        loader=jinja2.DictLoader(sources),
        # Jinja2 escapes an included template by its own name (patron by the
        # including part's): the card partial is only included from the HTML.
        autoescape=lambda name: name in ("message.html", "card"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return {part: env.get_template(f"message.{part}") for part in ("subject", "html", "text")}


def jinja_render(templates: dict[str, jinja2.Template], r: dict[str, Any]) -> dict[str, str]:
    ctx = jinja_context(r)
    return {
        "subject": " ".join(templates["subject"].render(ctx).split()),
        "html": templates["html"].render(ctx),
        "text": templates["text"].render(ctx),
    }


# --- patron -------------------------------------------------------------------

CAMPAIGN = {"id": DOC["campaign_id"], "channel": "email"}


def patron_rate(people: list[dict[str, Any]] | str, write: bool = False) -> float:
    """Letters a second through `render_campaign`, best of 3; `people` as
    dicts or as the JSON text of the list (read without the GIL). With
    `write`, through `write_campaign` to the null device instead: the
    letters as JSON lines, never Python objects."""
    import patron

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        if write:
            summary = patron.write_campaign(CAMPAIGN, [SPEC], people, NOW, os.devnull)
        else:
            summary = patron.render_campaign(CAMPAIGN, [SPEC], people, NOW)["summary"]
        best = min(best, time.perf_counter() - start)
    assert summary["rendered"] == N, summary
    return N / best


def child_rate(form: str) -> float:
    """The rate on one core (`RAYON_NUM_THREADS=1`, in a child process)."""
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    run = [sys.executable, __file__, "--patron-rate", form]
    return float(subprocess.run(run, env=env, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    if "--patron-rate" in sys.argv:
        people = [recipient(i) for i in range(N)]
        form = sys.argv[-1]
        print(patron_rate(people if form == "dicts" else json.dumps(people), write=form == "write"))
        return
    import patron

    people = [recipient(i) for i in range(N)]
    templates = jinja_templates()
    # Same output first.
    for i in range(1, 4):
        mine = patron.render_message(SPEC, people[i], NOW, {"campaign_id": DOC["campaign_id"]})
        theirs = jinja_render(templates, people[i])
        for part in ("subject", "html", "text"):
            if mine[part] != theirs[part]:
                raise SystemExit(f"{part} differs for contact {i}:\npatron {mine[part]!r}\njinja2 {theirs[part]!r}")

    start = time.perf_counter()
    for r in people:
        jinja_render(templates, r)
    jinja = len(people) / (time.perf_counter() - start)

    start = time.perf_counter()
    text = json.dumps(people)
    dumps = len(people) / (time.perf_counter() - start)

    one = child_rate("dicts")
    one_json = child_rate("json")
    one_write = child_rate("write")
    every = patron_rate(people)
    every_json = patron_rate(text)
    every_write = patron_rate(text, write=True)
    cores = os.cpu_count() or 1
    print(f"{N} letters (subject, HTML, text; 6-item product block), Jinja2 {jinja2.__version__}")
    print(f"  jinja2, one core:                   {jinja:10.0f} letters/s")
    print(f"  patron, one core, dicts:            {one:10.0f} letters/s   {one / jinja:5.1f}x jinja2")
    print(f"  patron, one core, JSON text:        {one_json:10.0f} letters/s   {one_json / jinja:5.1f}x jinja2")
    print(f"  patron, one core, JSON text, write: {one_write:10.0f} letters/s   {one_write / jinja:5.1f}x jinja2")
    both = 1 / (1 / one_json + 1 / dumps)
    print(f"  json.dumps of the dicts, then that: {both:10.0f} letters/s   {both / jinja:5.1f}x jinja2")
    print(f"  patron, {cores} cores, dicts:            {every:10.0f} letters/s")
    print(f"  patron, {cores} cores, JSON text:        {every_json:10.0f} letters/s")
    print(f"  patron, {cores} cores, JSON text, write: {every_write:10.0f} letters/s   10M letters in {1e7 / every_write:.0f} s")


if __name__ == "__main__":
    main()
