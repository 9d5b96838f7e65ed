//! The facts a rule may name, and their types: checked when a rule is
//! built, so a typo or a date compared to a number fails then, not silently
//! at evaluation.

use crate::suggest::nearest;

/// What kind of value a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A number (counts, amounts, days).
    Number,
    /// Text.
    Text,
    /// True or false.
    Bool,
    /// An instant.
    Time,
    /// A calendar day.
    Date,
    /// A custom attribute: each condition reads it in the kind of its own
    /// value (`= 3` as a number, `= "M"` as text, `within 30 days` as a time).
    Any,
}

impl Kind {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Text => "text",
            Kind::Bool => "true or false",
            Kind::Time => "a time",
            Kind::Date => "a date",
            Kind::Any => "a custom attribute",
        }
    }
}

/// Field patterns; `*` stands for one key (a product, category, brand,
/// channel, query, coupon, survey or event name).
const FIELDS: &[(&str, Kind)] = &[
    ("orders", Kind::Number),
    ("cancelled_orders", Kind::Number),
    ("returned_orders", Kind::Number),
    ("revenue", Kind::Number),
    ("currency", Kind::Text),
    ("average_order_value", Kind::Number),
    ("first_order_at", Kind::Time),
    ("last_order_at", Kind::Time),
    ("days_since_last_order", Kind::Number),
    ("purchase_days", Kind::Number),
    ("average_interval_days", Kind::Number),
    ("next_order_expected", Kind::Date),
    ("at_risk", Kind::Bool),
    ("first_seen_at", Kind::Time),
    ("last_activity_at", Kind::Time),
    ("days_since_last_activity", Kind::Number),
    ("bought_products.*.orders", Kind::Number),
    ("bought_products.*.quantity", Kind::Number),
    ("bought_products.*.spent", Kind::Number),
    ("bought_products.*.first_at", Kind::Time),
    ("bought_products.*.last_at", Kind::Time),
    ("bought_categories.*.orders", Kind::Number),
    ("bought_categories.*.quantity", Kind::Number),
    ("bought_categories.*.spent", Kind::Number),
    ("bought_categories.*.first_at", Kind::Time),
    ("bought_categories.*.last_at", Kind::Time),
    ("bought_brands.*.orders", Kind::Number),
    ("bought_brands.*.quantity", Kind::Number),
    ("bought_brands.*.spent", Kind::Number),
    ("bought_brands.*.first_at", Kind::Time),
    ("bought_brands.*.last_at", Kind::Time),
    ("viewed_products.*.count", Kind::Number),
    ("viewed_products.*.first_at", Kind::Time),
    ("viewed_products.*.last_at", Kind::Time),
    ("viewed_categories.*.count", Kind::Number),
    ("viewed_categories.*.first_at", Kind::Time),
    ("viewed_categories.*.last_at", Kind::Time),
    ("viewed_brands.*.count", Kind::Number),
    ("viewed_brands.*.first_at", Kind::Time),
    ("viewed_brands.*.last_at", Kind::Time),
    ("searches.*.count", Kind::Number),
    ("searches.*.last_at", Kind::Time),
    ("cart.value", Kind::Number),
    ("cart.currency", Kind::Text),
    ("cart.updated_at", Kind::Time),
    ("cart.age_seconds", Kind::Number),
    ("wishlist.*", Kind::Time),
    ("checkouts.count", Kind::Number),
    ("checkouts.last_at", Kind::Time),
    ("messages.*.sent", Kind::Number),
    ("messages.*.delivered", Kind::Number),
    ("messages.*.opened", Kind::Number),
    ("messages.*.clicked", Kind::Number),
    ("messages.*.unsubscribed", Kind::Number),
    ("messages.*.bounced", Kind::Number),
    ("messages.*.complained", Kind::Number),
    ("messages.*.unopened_streak", Kind::Number),
    ("messages.*.last_sent_at", Kind::Time),
    ("messages.*.last_opened_at", Kind::Time),
    ("messages.*.last_clicked_at", Kind::Time),
    ("coupons.*.count", Kind::Number),
    ("coupons.*.last_at", Kind::Time),
    ("surveys.*.count", Kind::Number),
    ("surveys.*.last_at", Kind::Time),
    ("custom_events.*.count", Kind::Number),
    ("custom_events.*.first_at", Kind::Time),
    ("custom_events.*.last_at", Kind::Time),
    // The contact's own record, when the facts carry it (`profile::with_contacts`).
    ("contact.email", Kind::Text),
    ("contact.phone", Kind::Text),
    ("contact.first_name", Kind::Text),
    ("contact.last_name", Kind::Text),
    ("contact.birthday", Kind::Date),
    ("contact.gender", Kind::Text),
    ("contact.city", Kind::Text),
    ("contact.region", Kind::Text),
    ("contact.country", Kind::Text),
    ("contact.time_zone", Kind::Text),
    ("contact.locale", Kind::Text),
    ("contact.created_at", Kind::Time),
    ("contact.source.utm_source", Kind::Text),
    ("contact.source.utm_medium", Kind::Text),
    ("contact.source.utm_campaign", Kind::Text),
    ("contact.tags", Kind::Text),
    ("contact.attributes.*", Kind::Any),
    ("contact.consent.*.*.status", Kind::Text),
    ("contact.consent.*.*.requested_at", Kind::Time),
    ("contact.consent.*.*.confirmed_at", Kind::Time),
    // RFM scored across the contacts at hand (`profile::with_rfm`).
    ("rfm.recency_days", Kind::Number),
    ("rfm.frequency", Kind::Number),
    ("rfm.monetary", Kind::Number),
    ("rfm.r", Kind::Number),
    ("rfm.f", Kind::Number),
    ("rfm.m", Kind::Number),
    ("rfm.cell", Kind::Text),
    ("rfm.segment", Kind::Text),
    // The lifecycle grid (`profile::with_lifecycle`).
    ("lifecycle.purchases", Kind::Text),
    ("lifecycle.days", Kind::Text),
    ("lifecycle.region", Kind::Text),
    // BG/NBD predictions (`profile::with_predictions`).
    ("predicted.probability_alive", Kind::Number),
    ("predicted.expected_purchases", Kind::Number),
    ("predicted.horizon_days", Kind::Number),
    ("predicted.churn_risk", Kind::Text),
];

/// The field patterns, `*` standing for a key.
#[cfg(test)]
pub fn patterns() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(p, _)| *p)
}

/// The kind of the field at `path` (dotted), or an error message naming the
/// nearest known field.
pub fn kind_of(path: &str) -> Result<Kind, String> {
    let parts: Vec<&str> = path.split('.').collect();
    for (pattern, kind) in FIELDS {
        let want: Vec<&str> = pattern.split('.').collect();
        if want.len() == parts.len()
            && want
                .iter()
                .zip(&parts)
                .all(|(w, p)| *w == "*" && !p.is_empty() || w == p)
        {
            return Ok(*kind);
        }
    }
    // Suggest with the rule's own keys in place of `*`.
    let filled: Vec<String> = FIELDS
        .iter()
        .map(|(pattern, _)| {
            let want: Vec<&str> = pattern.split('.').collect();
            want.iter()
                .enumerate()
                .map(|(i, w)| match (*w, parts.get(i)) {
                    ("*", Some(p)) => *p,
                    _ => w,
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    let hint = nearest(path, filled.iter().map(String::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Err(format!("unknown field `{path}`{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_keys_and_typos_get_a_suggestion() {
        assert_eq!(kind_of("orders"), Ok(Kind::Number));
        assert_eq!(kind_of("bought_categories.suits.spent"), Ok(Kind::Number));
        assert_eq!(kind_of("wishlist.p-1"), Ok(Kind::Time));
        assert!(kind_of("bought_categories..spent").is_err());
        let err = kind_of("bought_categories.suits.spnt").unwrap_err();
        assert!(
            err.contains("did you mean `bought_categories.suits.spent`?"),
            "{err}"
        );
        let err = kind_of("revenu").unwrap_err();
        assert!(err.contains("`revenue`"), "{err}");
    }
}
