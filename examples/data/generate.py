"""Writes the bundled sample shop (shop/*.json) from a fixed seed.

Run `python3 examples/data/generate.py` to regenerate; the output is committed
so that the demo needs nothing but Rust.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).parent / "shop"
rng = random.Random(20241125)

CATEGORIES = [
    ("apparel", "Apparel", None), ("shoes", "Shoes", "apparel"), ("running", "Running shoes", "shoes"),
    ("outerwear", "Outerwear", "apparel"), ("accessories", "Accessories", None), ("bags", "Bags", "accessories"),
    ("care", "Shoe care", "accessories"), ("socks", "Socks", "apparel"),
]
PATHS = {"running": ["apparel", "shoes", "running"], "shoes": ["apparel", "shoes"], "outerwear": ["apparel", "outerwear"],
         "bags": ["accessories", "bags"], "care": ["accessories", "care"], "socks": ["apparel", "socks"]}
BRANDS = ["Northway", "Kestrel", "Moss & Pine", "Fjell"]
FIRST = ["Anna", "Boris", "Chloe", "Daniel", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lev", "Mila", "Nils"]
LAST = ["Schmidt", "Ivanova", "Martin", "Rossi", "Novak", "Berg", "Kowalski", "Dubois"]
ZONES = ["Europe/Berlin", "Europe/Moscow", "Europe/Paris", "America/New_York", "Asia/Almaty"]


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def catalog() -> dict:
    products = []
    for i in range(24):
        cat = ["running", "shoes", "outerwear", "bags", "care", "socks"][i % 6]
        price = {"running": 120, "shoes": 90, "outerwear": 160, "bags": 70, "care": 12, "socks": 9}[cat] + rng.randint(-8, 25)
        p = {"id": f"p{i + 1}", "name": f"{rng.choice(BRANDS)} {cat.replace('care', 'care kit')} {i + 1}",
             "url": f"https://shop.example/p/{i + 1}", "image_url": f"https://cdn.shop.example/p/{i + 1}.jpg",
             "category_path": PATHS[cat], "brand": rng.choice(BRANDS), "price": float(price), "currency": "EUR",
             "stock": rng.choice([0, 2, 5, 12, 40]), "created_at": iso(datetime(2023, 6, 1, tzinfo=timezone.utc) + timedelta(days=17 * i)),
             "rating": round(rng.uniform(3.2, 5.0), 1)}
        if i % 5 == 0:
            p["old_price"] = float(price + 20)
        p["available"] = p["stock"] > 0
        products.append(p)
    for p in products:
        if p["category_path"][-1] in ("running", "shoes"):
            p["links"] = {"accessories": ["p5", "p6"] if p["id"] not in ("p5", "p6") else ["p11"]}
    return {"categories": [dict(id=c, name=n, **({"parent_id": par} if par else {})) for c, n, par in CATEGORIES],
            "products": products}


def contacts() -> list[dict]:
    out = []
    for i in range(40):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = datetime(2023, 9, 1, tzinfo=timezone.utc) + timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 23))
        c = {"id": f"c{i + 1}", "email": f"{first}.{last}{i}@example.com".lower(), "first_name": first, "last_name": last,
             "time_zone": rng.choice(ZONES), "locale": rng.choice(["en", "de-DE", "ru-RU", "fr-FR"]), "created_at": iso(created),
             "tags": rng.sample(["newsletter", "vip", "runner", "outdoor"], k=rng.randint(0, 2)),
             "attributes": {"shoe_size": rng.choice([37, 38, 40, 42, 44]), "loyalty_card": rng.random() < 0.3}}
        if rng.random() < 0.6:
            c["phone"] = f"+4915{rng.randint(10000000, 99999999)}"
        if rng.random() < 0.7:
            c["birthday"] = f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.5:
            c["source"] = {"utm_source": rng.choice(["google", "instagram", "newsletter"]), "utm_medium": "cpc"}
        asked = created + timedelta(minutes=2)
        status = rng.choice(["confirmed", "confirmed", "confirmed", "pending", "unsubscribed"])
        record = {"status": status, "requested_at": iso(asked), "source": "signup form"}
        if status in ("confirmed", "unsubscribed"):
            record["confirmed_at"] = iso(asked + timedelta(minutes=9))
        if status == "unsubscribed":
            record["unsubscribed_at"] = iso(asked + timedelta(days=40))
        c["consent"] = {"email": {"marketing": record}}
        out.append(c)
    return out


def events(people: list[dict], products: list[dict]) -> list[dict]:
    out: list[dict] = []
    n = 0

    def add(kind: str, who: dict, at: datetime, **payload) -> None:
        nonlocal n
        n += 1
        out.append({"type": kind, "id": f"e{n}", **who, "at": iso(at), **payload})

    for c in people:
        who = {"contact_id": c["id"]}
        t = datetime.fromisoformat(c["created_at"].replace("Z", "+00:00"))
        orders = 0
        for _ in range(rng.randint(1, 7)):
            t += timedelta(days=rng.randint(3, 70), hours=rng.randint(0, 12))
            viewed = rng.sample(products, k=3)
            for p in viewed:
                add("product_viewed", who, t, product_id=p["id"], category_id=p["category_path"][-1], price=p["price"], currency="EUR")
                t += timedelta(minutes=rng.randint(1, 9))
            if rng.random() < 0.3:
                add("searched", who, t, query=rng.choice(["trail shoes", "rain jacket", "socks", "backpack"]), results=rng.randint(0, 30))
            if rng.random() < 0.6:
                lines = [{"product_id": p["id"], "quantity": 1, "unit_price": p["price"]} for p in viewed[:2]]
                add("cart_updated", who, t, lines=lines, currency="EUR")
                t += timedelta(minutes=rng.randint(5, 50))
                if rng.random() < 0.55:
                    orders += 1
                    total = sum(line["unit_price"] for line in lines)
                    order_lines = [dict(line, category_id=next(p for p in products if p["id"] == line["product_id"])["category_path"][-1]) for line in lines]
                    add("order_placed", who, t, order_id=f"o{c['id']}-{orders}", lines=order_lines, total=round(total, 2), currency="EUR")
                    add("cart_updated", who, t + timedelta(seconds=1), lines=[], currency="EUR")
                    status = rng.choice(["delivered", "delivered", "delivered", "cancelled", "returned"])
                    add("order_status_changed", who, t + timedelta(days=3), order_id=f"o{c['id']}-{orders}", status=status)
            if rng.random() < 0.2:
                add("wishlist_added", who, t, product_id=rng.choice(products)["id"])
            if c["consent"]["email"]["marketing"]["status"] == "confirmed" and rng.random() < 0.7:
                m = f"m{n}"
                add("message_sent", who, t + timedelta(days=1), message_id=m, campaign_id="newsletter", channel="email")
                add("message_delivered", who, t + timedelta(days=1, seconds=30), message_id=m, campaign_id="newsletter", channel="email")
                if rng.random() < 0.4:
                    add("message_opened", who, t + timedelta(days=1, hours=2), message_id=m, campaign_id="newsletter", channel="email")
                    if rng.random() < 0.4:
                        add("message_clicked", who, t + timedelta(days=1, hours=2, minutes=1), message_id=m, campaign_id="newsletter",
                            channel="email", url="https://shop.example/sale?utm_source=patron")
    for v in range(12):
        t = datetime(2024, 3, 1, tzinfo=timezone.utc) + timedelta(days=v * 9, hours=v)
        add("product_viewed", {"visitor_id": f"v{v + 1}"}, t, product_id=rng.choice(products)["id"])
    add("price_changed", {}, datetime(2024, 6, 1, tzinfo=timezone.utc), product_id="p2", price=99.0, old_price=products[1]["price"], currency="EUR")
    add("stock_changed", {}, datetime(2024, 6, 2, tzinfo=timezone.utc), product_id="p3", stock=0, available=False)
    out.sort(key=lambda e: (e["at"], e["id"]))
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    cat = catalog()
    people = contacts()
    (OUT / "catalog.json").write_text(json.dumps(cat, indent=1) + "\n")
    (OUT / "contacts.json").write_text(json.dumps(people, indent=1) + "\n")
    (OUT / "events.json").write_text("[\n" + ",\n".join(json.dumps(e) for e in events(people, cat["products"])) + "\n]\n")


if __name__ == "__main__":
    main()
