//! Purchase predictions in Rust. Regions between START and END markers are quoted in docs/predict.md.

fn main() -> Result<(), patron::Error> {
    // START predict
    use chrono::NaiveDate;
    use patron::parse;
    use patron::predict::{self, BgNbd, GammaGamma, Transaction};

    let transactions: Vec<Transaction> = parse::list_from_json(
        r#"[{"contact_id": "a", "date": "1997-01-01", "amount": 29.33},
            {"contact_id": "a", "date": "1997-01-18", "amount": 29.73},
            {"contact_id": "a", "date": "1997-08-02", "amount": 14.96},
            {"contact_id": "b", "date": "1997-03-05", "amount": 11.77}]"#,
    )?;
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).expect("a valid date");
    let histories = predict::summarize(&transactions, end, 7.0)?; // weeks

    // Parameters from a fit (BgNbd::fit, GammaGamma::fit); here the published CDNOW ones.
    let bgnbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let next_39_weeks = bgnbd.predict(&histories, 39.0)?;
    assert!((next_39_weeks[0].expected_purchases - 1.226).abs() < 0.001);
    assert!(next_39_weeks[0].p_alive > next_39_weeks[1].p_alive - 1.0);

    let spend = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    }
    .predict(&histories)?;
    assert!(spend[0].expected_value > 0.0);
    // END predict

    // START interval_clv
    // The average-interval rule: past the mean gap between purchases, a customer is "at risk".
    let as_of = NaiveDate::from_ymd_opt(1997, 12, 1).expect("a valid date");
    let rule = predict::average_interval(&transactions, as_of)?;
    assert_eq!(rule[0].average_interval_days, Some(106.5)); // gaps of 17 and 196 days
    assert!(rule[0].at_risk);

    // Lifetime value over a year in monthly steps, discounted 1% a month.
    let value = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };
    let clv = predict::clv(&bgnbd, &value, &histories, 52.18, 4.348, 0.01)?;
    assert!(clv[0].clv > clv[1].clv);
    // END interval_clv
    Ok(())
}
