"""Purchase predictions in Python. Regions between START and END markers are quoted in docs/predict.md."""

# START predict
import patron

transactions = [
    {"contact_id": "a", "date": "1997-01-01", "amount": 29.33},
    {"contact_id": "a", "date": "1997-01-18", "amount": 29.73},
    {"contact_id": "a", "date": "1997-08-02", "amount": 14.96},
    {"contact_id": "b", "date": "1997-03-05", "amount": 11.77},
]
histories = patron.predict_histories(transactions, "1997-09-30")  # periods of 7 days

# Parameters from a fit (patron.bgnbd_fit, patron.gamma_gamma_fit); here the published CDNOW ones.
bgnbd = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
next_39_weeks = patron.bgnbd_predict(bgnbd, histories, 39)
assert abs(next_39_weeks[0]["expected_purchases"] - 1.226) < 0.001

spend = patron.gamma_gamma_predict({"p": 6.25, "q": 3.74, "gamma": 15.44}, histories)
assert spend[0]["expected_value"] > 0
# END predict

# START interval_clv
# The average-interval rule: past the mean gap between purchases, a customer is "at risk".
rule = patron.predict_average_interval(transactions, "1997-12-01")
assert rule[0].get("average_interval_days") == 106.5 and rule[0]["at_risk"]  # gaps of 17 and 196 days

# Lifetime value over a year in monthly steps, discounted 1% a month.
clv = patron.predict_clv(bgnbd, {"p": 6.25, "q": 3.74, "gamma": 15.44}, histories, 52.18, 4.348, 0.01)
assert clv[0]["clv"] > clv[1]["clv"]
# END interval_clv
