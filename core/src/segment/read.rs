//! Reading a rule's field straight from [`Facts`]: a checked path becomes a
//! [`Field`] once, when the rule is built, and each evaluation reads the
//! value in place, without turning the facts into JSON. The values are
//! exactly those of the facts' JSON form (a test holds the two together).

use serde_json::Value;

use super::fields;
use crate::model::{AttributeValue, ConsentRecord, Contact, Name, Purpose, Text, Timestamp};
use crate::predict::ChurnRisk;
use crate::profile::{Bought, Engagement, Facts, RECENT_TIMES, Tally};

/// A field a rule or an export names, resolved to where it lives in [`Facts`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    ContactId,
    AsOf,
    Top(Top),
    Bought(BoughtMap, String, BoughtStat),
    Tally(TallyMap, String, TallyStat),
    Cart(CartStat),
    Wishlist(String),
    Checkouts(TallyStat),
    Message(String, MessageStat),
    Contact(ContactField),
    Attribute(String),
    Consent(String, Purpose, ConsentStat),
    Rfm(RfmStat),
    Lifecycle(LifecycleStat),
    Predicted(PredictedStat),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Top {
    Orders,
    CancelledOrders,
    ReturnedOrders,
    Revenue,
    Currency,
    AverageOrderValue,
    FirstOrderAt,
    LastOrderAt,
    DaysSinceLastOrder,
    PurchaseDays,
    AverageIntervalDays,
    NextOrderExpected,
    AtRisk,
    FirstSeenAt,
    LastActivityAt,
    DaysSinceLastActivity,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BoughtMap {
    Products,
    Categories,
    Brands,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BoughtStat {
    Orders,
    Quantity,
    Spent,
    FirstAt,
    LastAt,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TallyMap {
    ViewedProducts,
    ViewedCategories,
    ViewedBrands,
    Searches,
    Coupons,
    Surveys,
    CustomEvents,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TallyStat {
    Count,
    FirstAt,
    LastAt,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CartStat {
    Value,
    Currency,
    UpdatedAt,
    AgeSeconds,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MessageStat {
    Sent,
    Delivered,
    Opened,
    Clicked,
    Unsubscribed,
    Bounced,
    Complained,
    UnopenedStreak,
    LastSentAt,
    LastOpenedAt,
    LastClickedAt,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ContactField {
    Email,
    Phone,
    FirstName,
    LastName,
    Birthday,
    Gender,
    City,
    Region,
    Country,
    TimeZone,
    Locale,
    CreatedAt,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Tags,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ConsentStat {
    Status,
    RequestedAt,
    ConfirmedAt,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RfmStat {
    RecencyDays,
    Frequency,
    Monetary,
    R,
    F,
    M,
    Cell,
    Segment,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LifecycleStat {
    Purchases,
    Days,
    Region,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PredictedStat {
    ProbabilityAlive,
    ExpectedPurchases,
    HorizonDays,
    ChurnRisk,
}

/// A contact's value of a field, borrowed from the facts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    /// A whole number (counts, days); written as an integer.
    Count(u64),
    Number(f64),
    Text(&'a str),
    Bool(bool),
    Time(Timestamp),
    Date(chrono::NaiveDate),
    Tags(&'a [Name]),
    Attribute(&'a AttributeValue),
}

impl Val<'_> {
    /// The value as the facts' JSON form writes it.
    pub(crate) fn to_json(self) -> Value {
        match self {
            Val::Count(n) => Value::from(n),
            Val::Number(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Val::Text(s) => Value::from(s),
            Val::Bool(b) => Value::Bool(b),
            Val::Time(t) => Value::from(t.to_rfc3339()),
            Val::Date(d) => Value::from(d.format("%Y-%m-%d").to_string()),
            Val::Tags(tags) => tags.iter().map(|t| Value::from(t.as_str())).collect(),
            Val::Attribute(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        }
    }
}

fn known<T>(key: &str, table: &[(&str, T)]) -> Option<T>
where
    T: Copy,
{
    table.iter().find(|(name, _)| *name == key).map(|(_, v)| *v)
}

const TOP: &[(&str, Top)] = &[
    ("orders", Top::Orders),
    ("cancelled_orders", Top::CancelledOrders),
    ("returned_orders", Top::ReturnedOrders),
    ("revenue", Top::Revenue),
    ("currency", Top::Currency),
    ("average_order_value", Top::AverageOrderValue),
    ("first_order_at", Top::FirstOrderAt),
    ("last_order_at", Top::LastOrderAt),
    ("days_since_last_order", Top::DaysSinceLastOrder),
    ("purchase_days", Top::PurchaseDays),
    ("average_interval_days", Top::AverageIntervalDays),
    ("next_order_expected", Top::NextOrderExpected),
    ("at_risk", Top::AtRisk),
    ("first_seen_at", Top::FirstSeenAt),
    ("last_activity_at", Top::LastActivityAt),
    ("days_since_last_activity", Top::DaysSinceLastActivity),
];

const BOUGHT: &[(&str, BoughtMap)] = &[
    ("bought_products", BoughtMap::Products),
    ("bought_categories", BoughtMap::Categories),
    ("bought_brands", BoughtMap::Brands),
];

const BOUGHT_STATS: &[(&str, BoughtStat)] = &[
    ("orders", BoughtStat::Orders),
    ("quantity", BoughtStat::Quantity),
    ("spent", BoughtStat::Spent),
    ("first_at", BoughtStat::FirstAt),
    ("last_at", BoughtStat::LastAt),
];

const TALLIES: &[(&str, TallyMap)] = &[
    ("viewed_products", TallyMap::ViewedProducts),
    ("viewed_categories", TallyMap::ViewedCategories),
    ("viewed_brands", TallyMap::ViewedBrands),
    ("searches", TallyMap::Searches),
    ("coupons", TallyMap::Coupons),
    ("surveys", TallyMap::Surveys),
    ("custom_events", TallyMap::CustomEvents),
];

const TALLY_STATS: &[(&str, TallyStat)] = &[
    ("count", TallyStat::Count),
    ("first_at", TallyStat::FirstAt),
    ("last_at", TallyStat::LastAt),
];

const CART: &[(&str, CartStat)] = &[
    ("value", CartStat::Value),
    ("currency", CartStat::Currency),
    ("updated_at", CartStat::UpdatedAt),
    ("age_seconds", CartStat::AgeSeconds),
];

const MESSAGE_STATS: &[(&str, MessageStat)] = &[
    ("sent", MessageStat::Sent),
    ("delivered", MessageStat::Delivered),
    ("opened", MessageStat::Opened),
    ("clicked", MessageStat::Clicked),
    ("unsubscribed", MessageStat::Unsubscribed),
    ("bounced", MessageStat::Bounced),
    ("complained", MessageStat::Complained),
    ("unopened_streak", MessageStat::UnopenedStreak),
    ("last_sent_at", MessageStat::LastSentAt),
    ("last_opened_at", MessageStat::LastOpenedAt),
    ("last_clicked_at", MessageStat::LastClickedAt),
];

const CONTACT: &[(&str, ContactField)] = &[
    ("email", ContactField::Email),
    ("phone", ContactField::Phone),
    ("first_name", ContactField::FirstName),
    ("last_name", ContactField::LastName),
    ("birthday", ContactField::Birthday),
    ("gender", ContactField::Gender),
    ("city", ContactField::City),
    ("region", ContactField::Region),
    ("country", ContactField::Country),
    ("time_zone", ContactField::TimeZone),
    ("locale", ContactField::Locale),
    ("created_at", ContactField::CreatedAt),
    ("tags", ContactField::Tags),
];

const SOURCE: &[(&str, ContactField)] = &[
    ("utm_source", ContactField::UtmSource),
    ("utm_medium", ContactField::UtmMedium),
    ("utm_campaign", ContactField::UtmCampaign),
];

const PURPOSES: &[(&str, Purpose)] = &[
    ("marketing", Purpose::Marketing),
    ("transactional", Purpose::Transactional),
];

const CONSENT_STATS: &[(&str, ConsentStat)] = &[
    ("status", ConsentStat::Status),
    ("requested_at", ConsentStat::RequestedAt),
    ("confirmed_at", ConsentStat::ConfirmedAt),
];

const RFM: &[(&str, RfmStat)] = &[
    ("recency_days", RfmStat::RecencyDays),
    ("frequency", RfmStat::Frequency),
    ("monetary", RfmStat::Monetary),
    ("r", RfmStat::R),
    ("f", RfmStat::F),
    ("m", RfmStat::M),
    ("cell", RfmStat::Cell),
    ("segment", RfmStat::Segment),
];

const LIFECYCLE: &[(&str, LifecycleStat)] = &[
    ("purchases", LifecycleStat::Purchases),
    ("days", LifecycleStat::Days),
    ("region", LifecycleStat::Region),
];

const PREDICTED: &[(&str, PredictedStat)] = &[
    ("probability_alive", PredictedStat::ProbabilityAlive),
    ("expected_purchases", PredictedStat::ExpectedPurchases),
    ("horizon_days", PredictedStat::HorizonDays),
    ("churn_risk", PredictedStat::ChurnRisk),
];

impl Field {
    /// Resolves a dotted path: the fields a rule may name (see
    /// [`fields::kind_of`]) and `contact_id` and `as_of`. An unknown path is
    /// an error message with the nearest known name.
    pub(crate) fn resolve(path: &str) -> Result<Field, String> {
        match path {
            "contact_id" => return Ok(Field::ContactId),
            "as_of" => return Ok(Field::AsOf),
            _ => {}
        }
        fields::kind_of(path)?;
        let parts: Vec<&str> = path.split('.').collect();
        let field = match parts.as_slice() {
            [name] => known(name, TOP).map(Field::Top),
            ["cart", stat] => known(stat, CART).map(Field::Cart),
            ["wishlist", key] => Some(Field::Wishlist(key.to_string())),
            ["checkouts", stat] => known(stat, TALLY_STATS).map(Field::Checkouts),
            ["messages", channel, stat] => {
                known(stat, MESSAGE_STATS).map(|s| Field::Message(channel.to_string(), s))
            }
            ["rfm", stat] => known(stat, RFM).map(Field::Rfm),
            ["lifecycle", stat] => known(stat, LIFECYCLE).map(Field::Lifecycle),
            ["predicted", stat] => known(stat, PREDICTED).map(Field::Predicted),
            ["contact", "source", name] => known(name, SOURCE).map(Field::Contact),
            ["contact", "attributes", key] => Some(Field::Attribute(key.to_string())),
            ["contact", "consent", channel, purpose, stat] => {
                let Some(purpose) = known(purpose, PURPOSES) else {
                    let hint = crate::suggest::nearest(purpose, PURPOSES.iter().map(|(n, _)| *n))
                        .map(|n| format!("; did you mean `{n}`?"))
                        .unwrap_or_default();
                    return Err(format!(
                        "unknown consent purpose `{purpose}` in `{path}`{hint}"
                    ));
                };
                known(stat, CONSENT_STATS).map(|s| Field::Consent(channel.to_string(), purpose, s))
            }
            ["contact", name] => known(name, CONTACT).map(Field::Contact),
            [map, key, stat] => {
                if let Some(map) = known(map, BOUGHT) {
                    known(stat, BOUGHT_STATS).map(|s| Field::Bought(map, key.to_string(), s))
                } else {
                    let map = known(map, TALLIES);
                    map.zip(known(stat, TALLY_STATS))
                        .map(|(m, s)| Field::Tally(m, key.to_string(), s))
                }
            }
            _ => None,
        };
        // Every pattern in the field table resolves; a miss is a table
        // out of step with this function, which a test catches.
        field.ok_or_else(|| format!("field `{path}` cannot be read"))
    }

    /// Whether a count (or sum) of this field within a time window can be
    /// read, and below which number it is exact: `Some(None)` for order
    /// counts and revenue (every order is kept), `Some(Some(n))` for counts
    /// of events (the newest n times are kept), none for other fields.
    pub(crate) fn window_limit(&self) -> Option<Option<f64>> {
        match self {
            Field::Top(Top::Orders | Top::Revenue) => Some(None),
            Field::Bought(_, _, BoughtStat::Orders | BoughtStat::Quantity | BoughtStat::Spent) => {
                Some(None)
            }
            Field::Tally(_, _, TallyStat::Count) | Field::Checkouts(TallyStat::Count) => {
                Some(Some(RECENT_TIMES as f64))
            }
            _ => None,
        }
    }

    /// The count (or, for revenue and what was bought, the sum) of what
    /// happened in the last `days` days before `now`: zero when nothing
    /// did. Fails, with the path and why, on facts that carry no times for
    /// the field.
    pub(crate) fn read_within<'a>(
        &self,
        facts: &'a Facts,
        days: f64,
        now: Timestamp,
    ) -> Result<Val<'a>, (String, String)> {
        let within =
            |t: Timestamp| super::within_last_days(days, (now.get() - t.get()).num_seconds());
        let no_times = |path: String| {
            let message = format!(
                "these facts carry no times for `{path}`, so what happened within {days} days \
                 cannot be counted; build the facts with patron (profile facts)"
            );
            (path, message)
        };
        let purchases = || {
            if facts.purchases.is_empty() && facts.orders > 0 {
                return Err(no_times("purchases".to_string()));
            }
            Ok(facts.purchases.iter().filter(|p| within(p.at)))
        };
        let tally = |t: Option<&Tally>, path: &dyn Fn() -> String| match t {
            None => Ok(Val::Count(0)),
            Some(t) if t.recent.is_empty() => Err(no_times(path())),
            Some(t) => Ok(Val::Count(
                t.recent.iter().filter(|at| within(**at)).count() as u64,
            )),
        };
        match self {
            Field::Bought(map, key, stat) => {
                let Some(b) = bought_map(*map, facts).get(key) else {
                    return Ok(match stat {
                        BoughtStat::Orders => Val::Count(0),
                        _ => Val::Number(0.0),
                    });
                };
                if b.history.is_empty() {
                    let name = BOUGHT.iter().find(|(_, m)| m == map).map_or("", |(n, _)| n);
                    return Err(no_times(format!("{name}.{key}.history")));
                }
                let within = b.history.iter().filter(|o| within(o.at));
                Ok(match stat {
                    BoughtStat::Orders => Val::Count(within.count() as u64),
                    BoughtStat::Quantity => Val::Number(within.map(|o| o.quantity).sum()),
                    _ => Val::Number(within.map(|o| o.spent).sum()),
                })
            }
            Field::Top(Top::Orders) => Ok(Val::Count(purchases()?.count() as u64)),
            Field::Top(Top::Revenue) => Ok(Val::Number(purchases()?.map(|p| p.total).sum())),
            Field::Checkouts(_) => tally(facts.checkouts.as_ref(), &|| "checkouts.recent".into()),
            Field::Tally(map, key, _) => tally(tally_map(*map, facts).get(key), &|| {
                let name = TALLIES
                    .iter()
                    .find(|(_, m)| m == map)
                    .map_or("", |(n, _)| n);
                format!("{name}.{key}.recent")
            }),
            _ => Ok(Val::Count(0)),
        }
    }

    /// The times a count within a window reads (see [`Field::read_within`]).
    pub(crate) fn times<'a>(&self, facts: &'a Facts) -> Box<dyn Iterator<Item = Timestamp> + 'a> {
        let recent = |t: Option<&'a Tally>| t.map_or(&[][..], |t| &t.recent[..]).iter().copied();
        match self {
            Field::Top(Top::Orders | Top::Revenue) => {
                Box::new(facts.purchases.iter().map(|p| p.at))
            }
            Field::Bought(map, key, _) => Box::new(
                bought_map(*map, facts)
                    .get(key)
                    .into_iter()
                    .flat_map(|b| b.history.iter().map(|o| o.at)),
            ),
            Field::Checkouts(_) => Box::new(recent(facts.checkouts.as_ref())),
            Field::Tally(map, key, _) => Box::new(recent(tally_map(*map, facts).get(key))),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The contact's value at moment `now`, as on the facts moved there
    /// ([`Facts::at`]): the fields that count time from `as_of` are read
    /// for `now`, the rest as they are.
    pub(crate) fn read_at<'a>(&self, facts: &'a Facts, now: Timestamp) -> Option<Val<'a>> {
        if now == facts.as_of {
            return self.read(facts);
        }
        match self {
            Field::AsOf => Some(Val::Time(now)),
            Field::Top(Top::DaysSinceLastOrder) => {
                facts.days_since_last_order_at(now).map(Val::Count)
            }
            Field::Top(Top::DaysSinceLastActivity) => {
                facts.days_since_last_activity_at(now).map(Val::Count)
            }
            Field::Top(Top::AtRisk) => Some(Val::Bool(facts.at_risk_at(now))),
            Field::Cart(CartStat::AgeSeconds) => facts.cart_age_at(now).map(Val::Count),
            _ => self.read(facts),
        }
    }

    /// The contact's value, or none.
    pub(crate) fn read<'a>(&self, facts: &'a Facts) -> Option<Val<'a>> {
        match self {
            Field::ContactId => Some(Val::Text(facts.contact_id.as_str())),
            Field::AsOf => Some(Val::Time(facts.as_of)),
            Field::Top(top) => read_top(*top, facts),
            Field::Bought(map, key, stat) => bought_map(*map, facts)
                .get(key)
                .map(|b| read_bought(b, *stat)),
            Field::Tally(map, key, stat) => tally_map(*map, facts)
                .get(key)
                .map(|t| read_tally(t, *stat)),
            Field::Cart(stat) => facts.cart.as_ref().map(|cart| match stat {
                CartStat::Value => Val::Number(cart.value),
                CartStat::Currency => Val::Text(cart.currency.as_str()),
                CartStat::UpdatedAt => Val::Time(cart.updated_at),
                CartStat::AgeSeconds => Val::Count(cart.age_seconds),
            }),
            Field::Wishlist(key) => facts.wishlist.get(key).map(|t| Val::Time(*t)),
            Field::Checkouts(stat) => facts.checkouts.as_ref().map(|t| read_tally(t, *stat)),
            Field::Message(channel, stat) => facts
                .messages
                .get(channel)
                .and_then(|e| read_message(e, *stat)),
            Field::Contact(field) => facts.contact.as_ref().and_then(|c| read_contact(c, *field)),
            Field::Attribute(key) => facts
                .contact
                .as_ref()
                .and_then(|c| c.attributes.get(key.as_str()))
                .map(Val::Attribute),
            Field::Consent(channel, purpose, stat) => facts
                .contact
                .as_ref()
                .and_then(|c| c.consent.0.get(channel.as_str()))
                .and_then(|purposes| purposes.get(purpose))
                .and_then(|record| read_consent(record, *stat)),
            Field::Rfm(stat) => facts.rfm.as_ref().and_then(|s| match stat {
                RfmStat::RecencyDays => Some(Val::Count(s.recency_days)),
                RfmStat::Frequency => Some(Val::Number(s.frequency)),
                RfmStat::Monetary => Some(Val::Number(s.monetary)),
                RfmStat::R => Some(Val::Count(s.r.into())),
                RfmStat::F => Some(Val::Count(s.f.into())),
                RfmStat::M => Some(Val::Count(s.m.into())),
                RfmStat::Cell => Some(Val::Text(&s.cell)),
                RfmStat::Segment => s.segment.as_deref().map(Val::Text),
            }),
            Field::Lifecycle(stat) => facts.lifecycle.as_ref().map(|c| match stat {
                LifecycleStat::Purchases => Val::Text(&c.purchases),
                LifecycleStat::Days => Val::Text(&c.days),
                LifecycleStat::Region => Val::Text(&c.region),
            }),
            Field::Predicted(stat) => facts.predicted.as_ref().map(|p| match stat {
                PredictedStat::ProbabilityAlive => Val::Number(p.probability_alive),
                PredictedStat::ExpectedPurchases => Val::Number(p.expected_purchases),
                PredictedStat::HorizonDays => Val::Number(p.horizon_days),
                PredictedStat::ChurnRisk => Val::Text(match p.churn_risk {
                    ChurnRisk::Low => "low",
                    ChurnRisk::Medium => "medium",
                    ChurnRisk::High => "high",
                }),
            }),
        }
    }
}

fn bought_map(map: BoughtMap, facts: &Facts) -> &std::collections::BTreeMap<String, Bought> {
    match map {
        BoughtMap::Products => &facts.bought_products,
        BoughtMap::Categories => &facts.bought_categories,
        BoughtMap::Brands => &facts.bought_brands,
    }
}

fn tally_map(map: TallyMap, facts: &Facts) -> &std::collections::BTreeMap<String, Tally> {
    match map {
        TallyMap::ViewedProducts => &facts.viewed_products,
        TallyMap::ViewedCategories => &facts.viewed_categories,
        TallyMap::ViewedBrands => &facts.viewed_brands,
        TallyMap::Searches => &facts.searches,
        TallyMap::Coupons => &facts.coupons,
        TallyMap::Surveys => &facts.surveys,
        TallyMap::CustomEvents => &facts.custom_events,
    }
}

fn read_top(top: Top, f: &Facts) -> Option<Val<'_>> {
    let time = |t: Option<Timestamp>| t.map(Val::Time);
    match top {
        Top::Orders => Some(Val::Count(f.orders)),
        Top::CancelledOrders => Some(Val::Count(f.cancelled_orders)),
        Top::ReturnedOrders => Some(Val::Count(f.returned_orders)),
        Top::Revenue => Some(Val::Number(f.revenue)),
        Top::Currency => f.currency.as_ref().map(|c| Val::Text(c.as_str())),
        Top::AverageOrderValue => f.average_order_value.map(Val::Number),
        Top::FirstOrderAt => time(f.first_order_at),
        Top::LastOrderAt => time(f.last_order_at),
        Top::DaysSinceLastOrder => f.days_since_last_order.map(Val::Count),
        Top::PurchaseDays => Some(Val::Count(f.purchase_days)),
        Top::AverageIntervalDays => f.average_interval_days.map(Val::Number),
        Top::NextOrderExpected => f.next_order_expected.map(|d| Val::Date(d.get())),
        Top::AtRisk => Some(Val::Bool(f.at_risk)),
        Top::FirstSeenAt => time(f.first_seen_at),
        Top::LastActivityAt => time(f.last_activity_at),
        Top::DaysSinceLastActivity => f.days_since_last_activity.map(Val::Count),
    }
}

fn read_bought(b: &Bought, stat: BoughtStat) -> Val<'_> {
    match stat {
        BoughtStat::Orders => Val::Count(b.orders),
        BoughtStat::Quantity => Val::Number(b.quantity),
        BoughtStat::Spent => Val::Number(b.spent),
        BoughtStat::FirstAt => Val::Time(b.first_at),
        BoughtStat::LastAt => Val::Time(b.last_at),
    }
}

fn read_tally(t: &Tally, stat: TallyStat) -> Val<'_> {
    match stat {
        TallyStat::Count => Val::Count(t.count),
        TallyStat::FirstAt => Val::Time(t.first_at),
        TallyStat::LastAt => Val::Time(t.last_at),
    }
}

fn read_message(e: &Engagement, stat: MessageStat) -> Option<Val<'_>> {
    let time = |t: Option<Timestamp>| t.map(Val::Time);
    match stat {
        MessageStat::Sent => Some(Val::Count(e.sent)),
        MessageStat::Delivered => Some(Val::Count(e.delivered)),
        MessageStat::Opened => Some(Val::Count(e.opened)),
        MessageStat::Clicked => Some(Val::Count(e.clicked)),
        MessageStat::Unsubscribed => Some(Val::Count(e.unsubscribed)),
        MessageStat::Bounced => Some(Val::Count(e.bounced)),
        MessageStat::Complained => Some(Val::Count(e.complained)),
        MessageStat::UnopenedStreak => Some(Val::Count(e.unopened_streak)),
        MessageStat::LastSentAt => time(e.last_sent_at),
        MessageStat::LastOpenedAt => time(e.last_opened_at),
        MessageStat::LastClickedAt => time(e.last_clicked_at),
    }
}

fn text(t: &Option<Text>) -> Option<Val<'_>> {
    t.as_ref().map(|t| Val::Text(t.as_str()))
}

fn read_contact(c: &Contact, field: ContactField) -> Option<Val<'_>> {
    match field {
        ContactField::Email => c.email.as_ref().map(|e| Val::Text(e.as_str())),
        ContactField::Phone => c.phone.as_ref().map(|p| Val::Text(p.as_str())),
        ContactField::FirstName => text(&c.first_name),
        ContactField::LastName => text(&c.last_name),
        ContactField::Birthday => c.birthday.map(|d| Val::Date(d.get())),
        ContactField::Gender => c.gender.map(|g| Val::Text(g.as_str())),
        ContactField::City => text(&c.city),
        ContactField::Region => text(&c.region),
        ContactField::Country => c.country.as_ref().map(|x| Val::Text(x.as_str())),
        ContactField::TimeZone => c.time_zone.map(|z| Val::Text(z.name())),
        ContactField::Locale => c.locale.as_ref().map(|l| Val::Text(l.as_str())),
        ContactField::CreatedAt => c.created_at.map(Val::Time),
        ContactField::UtmSource => text(&c.source.utm_source),
        ContactField::UtmMedium => text(&c.source.utm_medium),
        ContactField::UtmCampaign => text(&c.source.utm_campaign),
        ContactField::Tags => (!c.tags.is_empty()).then_some(Val::Tags(&c.tags)),
    }
}

fn read_consent(r: &ConsentRecord, stat: ConsentStat) -> Option<Val<'_>> {
    match stat {
        ConsentStat::Status => Some(Val::Text(r.status.as_str())),
        ConsentStat::RequestedAt => r.requested_at.map(Val::Time),
        ConsentStat::ConfirmedAt => r.confirmed_at.map(Val::Time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Contact;
    use crate::{parse, profile, rfm::RfmConfig, sample};

    /// Sample facts with every section filled for some contacts, and every
    /// field path with the keys they hold (and one key nobody has).
    fn rich_facts_and_paths() -> (Vec<Facts>, Vec<String>) {
        let events: Vec<crate::Event> =
            parse::list_from_value(Value::Array(sample::events(600, 8, 11))).unwrap();
        let profiles = profile::build(&events).unwrap();
        let contacts: Vec<Contact> = parse::list_from_json(
            r#"[
            {"id": "c1", "email": "a@example.com", "phone": "+4930123456", "first_name": "Anna",
             "last_name": "Berg", "birthday": "1990-02-03", "gender": "female", "city": "Berlin",
             "region": "BE", "country": "DE", "time_zone": "Europe/Berlin", "locale": "de-DE",
             "created_at": "2023-01-02T03:04:05Z", "tags": ["vip", "newsletter"],
             "source": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"},
             "attributes": {"size": 38, "vip": true, "nick": "an", "sizes": ["M", "L"],
                            "seen": {"datetime": "2024-05-01T10:00:00Z"}},
             "consent": {"email": {"marketing": {"status": "confirmed",
                 "requested_at": "2024-01-01T00:00:00Z", "confirmed_at": "2024-01-02T00:00:00Z"}},
                 "sms": {"transactional": {"status": "pending", "requested_at": "2024-01-01T00:00:00Z"}}}},
            {"id": "c2", "gender": "male"},
            {"id": "c3"}
        ]"#,
        )
        .unwrap();
        let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let bgnbd = crate::predict::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let enrich = profile::Enrich {
            rfm: Some(RfmConfig::default()),
            lifecycle: Some(Default::default()),
            predict: Some(profile::PredictConfig {
                bgnbd,
                period_days: 7.0,
                horizon_days: 90.0,
            }),
        };
        let facts = profile::facts_with(&profiles, as_of, None, Some(&contacts), &enrich).unwrap();
        let mut keys: std::collections::BTreeSet<String> = ["nobody-has-this".to_string()].into();
        for f in &facts {
            let json = serde_json::to_value(f).unwrap();
            collect_keys(&json, &mut keys);
        }
        let mut paths = vec!["contact_id".to_string(), "as_of".to_string()];
        for pattern in fields::patterns() {
            let stars = pattern.matches('*').count();
            // Two keys (consent: channel and purpose) from a short list, so
            // the combinations stay few.
            let few: Vec<String> = [
                "email",
                "sms",
                "marketing",
                "transactional",
                "nobody-has-this",
            ]
            .map(String::from)
            .to_vec();
            let choices: Vec<&String> = if stars > 1 {
                few.iter().collect()
            } else {
                keys.iter().collect()
            };
            let mut fill = vec![0usize; stars];
            loop {
                let mut parts = fill.iter();
                let path: Vec<String> = pattern
                    .split('.')
                    .map(|p| match p {
                        "*" => choices[*parts.next().unwrap()].clone(),
                        p => p.to_string(),
                    })
                    .collect();
                let path = path.join(".");
                let purpose_ok =
                    !pattern.starts_with("contact.consent.") || Field::resolve(&path).is_ok();
                if purpose_ok {
                    paths.push(path);
                }
                // The next combination of keys, like an odometer.
                let mut i = 0;
                while i < stars {
                    fill[i] += 1;
                    if fill[i] < choices.len() {
                        break;
                    }
                    fill[i] = 0;
                    i += 1;
                }
                if i == stars {
                    break;
                }
            }
        }
        (facts, paths)
    }

    fn collect_keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        if let Value::Object(map) = v {
            for (k, inner) in map {
                out.insert(k.clone());
                collect_keys(inner, out);
            }
        }
    }

    /// Every field of every sample contact reads as the facts' JSON form
    /// says, so rules and exports see exactly what users see in the JSON.
    #[test]
    fn typed_reads_agree_with_the_json_form() {
        let (facts, paths) = rich_facts_and_paths();
        assert!(facts.len() > 5 && paths.len() > 60);
        for f in &facts {
            let json = serde_json::to_value(f).unwrap();
            for path in &paths {
                let field = Field::resolve(path).unwrap();
                let typed = field.read(f).map(Val::to_json);
                let raw = path
                    .split('.')
                    .try_fold(&json, |v, key| v.get(key))
                    .filter(|v| !v.is_null())
                    .cloned();
                assert_eq!(typed, raw, "{path} of {}", f.contact_id);
            }
        }
    }

    #[test]
    fn unknown_paths_and_purposes_are_refused() {
        assert!(Field::resolve("revenu").unwrap_err().contains("`revenue`"));
        let err = Field::resolve("contact.consent.email.marketng.status").unwrap_err();
        assert!(err.contains("did you mean `marketing`?"), "{err}");
    }
}
