"""Recommendation blocks in Python. Regions between START and END markers are quoted in docs/recommend.md."""

# START recommend
import patron

catalog = {
    "products": [
        {"id": "sencha", "name": "Sencha green tea", "price": 8, "currency": "EUR"},
        {"id": "matcha", "name": "Matcha green tea", "price": 20, "currency": "EUR"},
        {"id": "cup", "name": "Tea cup", "price": 9, "currency": "EUR"},
        {"id": "pot", "name": "Tea pot", "price": 35, "currency": "EUR", "stock": 0},
    ]
}
# Orders (and views, with "kind": "view") of the whole shop: the model learns from them.
baskets = [
    {"contact_id": "a", "at": "2024-05-01T10:00:00Z", "product_ids": ["sencha", "cup"]},
    {"contact_id": "b", "at": "2024-05-03T10:00:00Z", "product_ids": ["sencha", "cup", "pot"]},
    {"contact_id": "b", "at": "2024-05-20T10:00:00Z", "product_ids": ["matcha"]},
]
now = "2024-06-01T00:00:00Z"
model = patron.build_item_model(baskets, now)  # a dict: store it as JSON

message = {"blocks": [{"kind": "buy_again", "size": 1}, {"kind": "also_bought", "size": 3}]}
history = {
    "bought": [
        {"product_id": "sencha", "orders": 3, "first_at": "2024-03-01T10:00:00Z", "last_at": "2024-05-01T10:00:00Z"}
    ]
}
# Index the catalog and the model once, then fill blocks for any number of contacts
# (patron.recommend_blocks does the same in one call, indexing the catalog each time).
recommender = patron.Recommender(catalog, model)
blocks = recommender.blocks(message, history, now)
slots = [[(s["product_id"], s["source"]) for s in b["slots"]] for b in blocks]
# The pot is out of stock; the tea was bought, so only "buy again" shows it.
assert slots == [[("sencha", "buy_again")], [("cup", "also_bought"), ("matcha", "also_bought")]]
# END recommend

# START lines
# The same orders as an order-line table: a pyarrow table, a polars or pandas
# DataFrame, or a dict of columns. Lines with one contact and order id are one basket
# (without `order_id`: one contact at one instant); `kind` ("order", "view") is optional.
lines = {
    "contact_id": ["a", "a", "b", "b", "b", "b"],
    "order_id": [1, 1, 2, 2, 2, 3],
    "at": ["2024-05-01T10:00:00Z"] * 2 + ["2024-05-03T10:00:00Z"] * 3 + ["2024-05-20T10:00:00Z"],
    "product_id": ["sencha", "cup", "sencha", "cup", "pot", "matcha"],
}
assert patron.build_item_model(lines, now) == model
# END lines
