//! What a template sees: one recipient's data, shaped for templates.
//!
//! The host hands in a [`Recipient`]: the contact, and optionally the
//! contact's facts, segment memberships, recommendation blocks, a coupon and
//! the links it built. The template reads:
//!
//! | name | what |
//! |---|---|
//! | `contact` | the contact's fields (`id`, `email`, `phone`, `first_name`, `last_name`, `city`, `region`, `country`, `locale`, `gender`, `birthday`, `tags`, `attributes`); a missing field is `null`, unless the template's [`fallbacks`](super::TemplateSpec::fallbacks) give it a value; `age` in whole years at `now` when the birthday is known |
//! | `facts` | the [`Facts`] (orders, revenue, days since the last order, viewed and bought products...), or `null` |
//! | `rfm` | the RFM score (`r`, `f`, `m`, `cell`, `segment`), or `null` |
//! | `segments` | the names of the segments the contact is in: `{% if "vip" in segments %}` |
//! | `blocks` | recommendation blocks by name, each a list of products (`id`, `name`, `url` with the campaign's tracking tags, `image_url`, `brand`, `price`, `old_price`, `currency`) |
//! | `coupon` | `code` and `expires_at`, or `null` |
//! | `links` | the links the host built (unsubscribe, preferences, view in browser...) by name |
//! | `campaign` | `id`, `variant` and `step` of the message, when given |

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::{Deserialize, Serialize};
use tera::value::Key;
use tera::{Map, Value};

use crate::error::{Error, Result};
use chrono::Datelike;

use crate::model::{Contact, Date, Id, Name, Product, Text, Timestamp, Url};
use crate::profile::Facts;
use crate::purchase::FxHasher;
use crate::rfm::RfmScore;

/// One recipient of a message, as the host hands it in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The contact.
    pub contact: Contact,
    /// The contact's facts (from [`crate::profile`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
    /// RFM score; defaults to the one in `facts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfm: Option<RfmScore>,
    /// Names of the segments the contact is in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Recommendation blocks by name: the products to show, in order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocks: BTreeMap<String, Vec<Product>>,
    /// The contact's coupon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponView>,
    /// Links the host built for this contact, by name (`unsubscribe`,
    /// `preferences`, `view_in_browser`...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, Url>,
}

impl Recipient {
    /// A recipient with only a contact.
    pub fn new(contact: Contact) -> Recipient {
        Recipient {
            contact,
            facts: None,
            rfm: None,
            segments: Vec::new(),
            blocks: BTreeMap::new(),
            coupon: None,
            links: BTreeMap::new(),
        }
    }
}

impl Recipient {
    pub(crate) fn normalize(&mut self) -> Result<()> {
        self.contact.normalize().map_err(|e| e.within("contact"))?;
        for (name, products) in &mut self.blocks {
            for (i, p) in products.iter_mut().enumerate() {
                p.normalize()
                    .map_err(|e| e.within(&format!("blocks.{name}[{i}]")))?;
            }
        }
        Ok(())
    }
}

/// A coupon as a template shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponView {
    /// The code.
    pub code: Text,
    /// When it stops being valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// Which message this is: the campaign (or trigger rule), its step and the
/// A/B variant. Product links get `utm_campaign` (the id) and `utm_content`
/// (the variant) besides the template's own tracking tags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageInfo {
    /// The campaign or trigger rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Id>,
    /// The step of a triggered chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Name>,
    /// The A/B variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Name>,
}

/// The contact fields a template sees, in this order; missing ones are null.
pub(crate) const CONTACT_FIELDS: [&str; 13] = [
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "birthday",
    "gender",
    "city",
    "region",
    "country",
    "locale",
    "tags",
    "attributes",
];

fn to_value<T: Serialize + ?Sized>(what: &str, v: &T) -> Result<Value> {
    Value::try_from_serializable(v).map_err(|e| Error::invalid(what, e.to_string()))
}

fn text(s: &str) -> Value {
    Value::from(s)
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::none(), text)
}

/// What a compiled template needs from every context: which of the
/// top-level [`NAMES`] it reads, and its fallbacks as ready values.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// `uses[i]`: the template reads `NAMES[i]`. A name it never reads is
    /// still in the context, as null, so that error messages (which list the
    /// available variables) stay the same.
    uses: [bool; NAMES.len()],
    /// Fallbacks by contact field, the field being one of [`CONTACT_FIELDS`].
    fallbacks: Vec<(&'static str, Value)>,
    /// The template's own tracking tags, in order.
    tracking: Vec<(String, String)>,
}

impl Plan {
    /// `read`: the top-level names the template's parts and partials read
    /// (tera's `get_template_variables`), or `None` to build every name.
    pub(crate) fn new(
        read: Option<&[&str]>,
        fallbacks: &BTreeMap<String, String>,
        tracking: &BTreeMap<String, String>,
    ) -> Plan {
        let mut uses = [true; NAMES.len()];
        if let Some(read) = read {
            for (i, name) in NAMES.iter().enumerate() {
                uses[i] = read.contains(name);
            }
        }
        Plan {
            uses,
            fallbacks: fallbacks
                .iter()
                .filter_map(|(k, v)| {
                    let field = CONTACT_FIELDS.iter().find(|f| **f == k.as_str())?;
                    Some((*field, text(v)))
                })
                .collect(),
            tracking: tracking
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn uses(&self, name: &str) -> bool {
        NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.uses[i])
    }
}

/// The parts of a context that are the same for every recipient of one
/// message (one campaign, step and variant): the `campaign` value and the
/// tracking query added to product links.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    campaign: Value,
    /// The encoded query (`utm_source=x&utm_campaign=y`), empty for none.
    query: String,
    empty_map: Value,
    empty_list: Value,
}

impl Shared {
    pub(crate) fn new(info: &MessageInfo, plan: &Plan) -> Shared {
        let mut campaign = Map::with_capacity(3);
        campaign.insert(
            "id".into(),
            opt(info.campaign_id.as_ref().map(|v| v.as_str())),
        );
        campaign.insert("step".into(), opt(info.step.as_ref().map(|v| v.as_str())));
        campaign.insert(
            "variant".into(),
            opt(info.variant.as_ref().map(|v| v.as_str())),
        );
        Shared {
            campaign: Value::from(campaign),
            query: query(info, &plan.tracking),
            empty_map: Value::from(Map::new()),
            empty_list: Value::from(Vec::<Value>::new()),
        }
    }
}

/// Values already built for earlier recipients of one message (one
/// [`Shared`]: product links carry its tracking query) in one campaign
/// chunk: whole blocks and single products (by every field a template sees),
/// the names of blocks and links, the last coupon expiry. The keys borrow
/// from the recipients, so a cache lives no longer than the chunk it serves.
#[derive(Default)]
pub(crate) struct Cache<'a> {
    blocks: FxMap<Block<'a>, Value>,
    products: FxMap<Shown<'a>, Value>,
    keys: FxMap<&'a str, Key<'static>>,
    expiry: Option<(Timestamp, Value)>,
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

impl<'a> Cache<'a> {
    fn key(&mut self, name: &'a str) -> Key<'static> {
        self.keys
            .entry(name)
            .or_insert_with(|| Key::from(name.to_string()))
            .clone()
    }
}

/// A product by the fields a template sees of it.
#[derive(Clone, Copy)]
struct Shown<'a>(&'a Product);

impl Shown<'_> {
    #[allow(clippy::type_complexity)]
    fn fields(
        &self,
    ) -> (
        &str,
        &str,
        Option<&str>,
        Option<&str>,
        Option<&str>,
        u64,
        Option<u64>,
        &str,
    ) {
        let p = self.0;
        (
            p.id.as_str(),
            p.name.as_str(),
            p.url.as_ref().map(|v| v.as_str()),
            p.image_url.as_ref().map(|v| v.as_str()),
            p.brand.as_ref().map(|v| v.as_str()),
            p.price.get().to_bits(),
            p.old_price.map(|v| v.get().to_bits()),
            p.currency.as_str(),
        )
    }
}

impl PartialEq for Shown<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for Shown<'_> {}

impl Hash for Shown<'_> {
    /// The id and the price only: cheap, and products that share both are
    /// told apart by `eq`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.id.as_str().as_bytes());
        state.write_u64(self.0.price.get().to_bits());
    }
}

/// A block by its name and the shown fields of its products.
#[derive(Clone, Copy)]
struct Block<'a>(&'a str, &'a [Product]);

impl PartialEq for Block<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
            && self.1.len() == other.1.len()
            && self
                .1
                .iter()
                .zip(other.1)
                .all(|(a, b)| Shown(a) == Shown(b))
    }
}

impl Eq for Block<'_> {}

impl Hash for Block<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
        state.write_usize(self.1.len());
        for p in self.1 {
            Shown(p).hash(state);
        }
    }
}

/// Builds the template context for `r` at `now`: the values `shared` holds
/// are cloned (an `Arc` each), names the template never reads are null, and
/// with a `cache` the blocks, products, names and expiry seen before are
/// reused.
pub(crate) fn build<'a>(
    r: &'a Recipient,
    now: Timestamp,
    plan: &Plan,
    shared: &Shared,
    mut cache: Option<&mut Cache<'a>>,
) -> Result<tera::Context> {
    let mut ctx = tera::Context::new();
    let none = Value::none;
    ctx.insert_value(
        "contact",
        if plan.uses("contact") {
            contact(&r.contact, now, plan, shared)?
        } else {
            none()
        },
    );
    ctx.insert_value(
        "facts",
        match &r.facts {
            Some(f) if plan.uses("facts") => to_value("facts", f)?,
            _ => none(),
        },
    );
    let rfm = r
        .rfm
        .as_ref()
        .or(r.facts.as_ref().and_then(|f| f.rfm.as_ref()));
    ctx.insert_value(
        "rfm",
        match rfm {
            Some(s) if plan.uses("rfm") => to_value("rfm", s)?,
            _ => none(),
        },
    );
    ctx.insert_value(
        "segments",
        if !plan.uses("segments") {
            none()
        } else if r.segments.is_empty() {
            shared.empty_list.clone()
        } else {
            Value::from(r.segments.iter().map(|s| text(s)).collect::<Vec<_>>())
        },
    );
    ctx.insert_value(
        "blocks",
        if plan.uses("blocks") {
            let mut blocks = Map::with_capacity(r.blocks.len());
            for (name, products) in &r.blocks {
                let value = match cache.as_deref_mut() {
                    Some(cache) => block_cached(name, products, &shared.query, cache),
                    None => Value::from(
                        products
                            .iter()
                            .map(|p| product(p, &shared.query))
                            .collect::<Vec<_>>(),
                    ),
                };
                let key = match cache.as_deref_mut() {
                    Some(cache) => cache.key(name),
                    None => name.clone().into(),
                };
                blocks.insert(key, value);
            }
            Value::from(blocks)
        } else {
            none()
        },
    );
    ctx.insert_value(
        "coupon",
        match &r.coupon {
            Some(cv) if plan.uses("coupon") => {
                let mut m = Map::with_capacity(2);
                m.insert("code".into(), text(cv.code.as_str()));
                let expires = match (cv.expires_at, cache.as_deref_mut()) {
                    (None, _) => none(),
                    (Some(t), Some(cache)) => match &cache.expiry {
                        Some((seen, v)) if *seen == t => v.clone(),
                        _ => {
                            let v = Value::from(t.to_rfc3339());
                            cache.expiry = Some((t, v.clone()));
                            v
                        }
                    },
                    (Some(t), None) => Value::from(t.to_rfc3339()),
                };
                m.insert("expires_at".into(), expires);
                Value::from(m)
            }
            _ => none(),
        },
    );
    ctx.insert_value(
        "links",
        if plan.uses("links") {
            let mut links = Map::with_capacity(r.links.len());
            for (name, url) in &r.links {
                let key = match cache.as_deref_mut() {
                    Some(cache) => cache.key(name),
                    None => name.clone().into(),
                };
                links.insert(key, text(url.as_str()));
            }
            Value::from(links)
        } else {
            none()
        },
    );
    ctx.insert_value(
        "campaign",
        if plan.uses("campaign") {
            shared.campaign.clone()
        } else {
            none()
        },
    );
    Ok(ctx)
}

fn contact(c: &Contact, now: Timestamp, plan: &Plan, shared: &Shared) -> Result<Value> {
    let mut contact = Map::with_capacity(CONTACT_FIELDS.len() + 1);
    contact.insert("id".into(), text(c.id.as_str()));
    contact.insert("email".into(), opt(c.email.as_ref().map(|v| v.as_str())));
    contact.insert("phone".into(), opt(c.phone.as_ref().map(|v| v.as_str())));
    contact.insert(
        "first_name".into(),
        opt(c.first_name.as_ref().map(|v| v.as_str())),
    );
    contact.insert(
        "last_name".into(),
        opt(c.last_name.as_ref().map(|v| v.as_str())),
    );
    contact.insert(
        "birthday".into(),
        c.birthday
            .map_or(Value::none(), |d| Value::from(iso_date(d))),
    );
    contact.insert(
        "gender".into(),
        c.gender.map_or(Value::none(), |g| {
            text(match g {
                crate::model::Gender::Female => "female",
                crate::model::Gender::Male => "male",
                crate::model::Gender::Other => "other",
            })
        }),
    );
    contact.insert("city".into(), opt(c.city.as_ref().map(|v| v.as_str())));
    contact.insert("region".into(), opt(c.region.as_ref().map(|v| v.as_str())));
    contact.insert(
        "country".into(),
        opt(c.country.as_ref().map(|v| v.as_str())),
    );
    contact.insert("locale".into(), opt(c.locale.as_ref().map(|v| v.as_str())));
    contact.insert(
        "tags".into(),
        if c.tags.is_empty() {
            shared.empty_list.clone()
        } else {
            Value::from(c.tags.iter().map(|t| text(t.as_str())).collect::<Vec<_>>())
        },
    );
    contact.insert(
        "attributes".into(),
        if c.attributes.is_empty() {
            shared.empty_map.clone()
        } else {
            to_value("contact.attributes", &c.attributes)?
        },
    );
    contact.insert(
        "age".into(),
        c.birthday
            .and_then(|b| now.get().date_naive().years_since(b.get()))
            .map_or(Value::none(), |y| Value::from(u64::from(y))),
    );
    for (field, value) in &plan.fallbacks {
        let key = Key::Str(field);
        if contact.get(&key).is_none_or(|v| v.is_none()) {
            contact.insert(key, value.clone());
        }
    }
    Ok(Value::from(contact))
}

/// `YYYY-MM-DD`, as the date's `Display` writes it, without a format string
/// to interpret for the usual years.
fn iso_date(d: Date) -> String {
    let day = d.get();
    let (y, m, dd) = (day.year(), day.month(), day.day());
    if !(1000..=9999).contains(&y) {
        return d.to_string();
    }
    let digits = |n: u32, out: &mut String, width: u32| {
        for p in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
        }
    };
    let mut out = String::with_capacity(10);
    digits(y as u32, &mut out, 4);
    out.push('-');
    digits(m, &mut out, 2);
    out.push('-');
    digits(dd, &mut out, 2);
    out
}

/// The top-level names every context has.
pub(crate) const NAMES: [&str; 8] = [
    "contact", "facts", "rfm", "segments", "blocks", "coupon", "links", "campaign",
];

fn block_cached<'a>(
    name: &'a str,
    products: &'a [Product],
    query: &str,
    cache: &mut Cache<'a>,
) -> Value {
    let key = Block(name, products);
    if let Some(v) = cache.blocks.get(&key) {
        return v.clone();
    }
    let items: Vec<Value> = products
        .iter()
        .map(|p| {
            cache
                .products
                .entry(Shown(p))
                .or_insert_with(|| product(p, query))
                .clone()
        })
        .collect();
    let v = Value::from(items);
    cache.blocks.insert(key, v.clone());
    v
}

fn product(p: &Product, query: &str) -> Value {
    let mut m = Map::with_capacity(8);
    m.insert("id".into(), text(p.id.as_str()));
    m.insert("name".into(), text(p.name.as_str()));
    m.insert(
        "url".into(),
        p.url
            .as_ref()
            .map_or(Value::none(), |u| Value::from(tracked(u.as_str(), query))),
    );
    m.insert(
        "image_url".into(),
        opt(p.image_url.as_ref().map(|v| v.as_str())),
    );
    m.insert("brand".into(), opt(p.brand.as_ref().map(|v| v.as_str())));
    m.insert("price".into(), Value::from(p.price.get()));
    m.insert(
        "old_price".into(),
        p.old_price.map_or(Value::none(), |v| Value::from(v.get())),
    );
    m.insert("currency".into(), text(p.currency.as_str()));
    Value::from(m)
}

/// The tracking query of a message: the template's tags, then
/// `utm_campaign` (the campaign id) and `utm_content` (the variant) unless
/// the tags set them, percent-encoded and joined by `&`.
pub(crate) fn query(info: &MessageInfo, tracking: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut push = |k: &str, v: &str| {
        if !out.is_empty() {
            out.push('&');
        }
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    };
    for (k, v) in tracking {
        push(k, v);
    }
    if let Some(id) = &info.campaign_id
        && !tracking.iter().any(|(k, _)| k == "utm_campaign")
    {
        push("utm_campaign", id.as_str());
    }
    if let Some(variant) = &info.variant
        && !tracking.iter().any(|(k, _)| k == "utm_content")
    {
        push("utm_content", variant.as_str());
    }
    out
}

/// `url` with the tracking `query` (from [`query`]) appended to its query,
/// before the fragment.
pub(crate) fn tracked(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let mut out = String::with_capacity(url.len() + query.len() + 1);
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    out.push_str(base);
    out.push(if base.contains('?') { '&' } else { '?' });
    out.push_str(query);
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_their_display() {
        for text in ["1900-01-01", "1987-10-09", "2024-02-29", "9999-12-31"] {
            let d: Date = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(iso_date(d), d.to_string());
            assert_eq!(iso_date(d), text);
        }
    }

    #[test]
    fn tracking_tags_join_the_query_before_the_fragment() {
        let info = MessageInfo {
            campaign_id: Some(Id::new("spring sale").unwrap()),
            step: None,
            variant: Some(Name::new("b").unwrap()),
        };
        let tags = vec![("utm_source".to_string(), "patron".to_string())];
        assert_eq!(
            tracked("https://shop.example/p/1?c=red#top", &query(&info, &tags)),
            "https://shop.example/p/1?c=red&utm_source=patron&utm_campaign=spring%20sale&utm_content=b#top"
        );
        assert_eq!(
            tracked(
                "https://shop.example/p/1",
                &query(&MessageInfo::default(), &[])
            ),
            "https://shop.example/p/1"
        );
    }
}
