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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tera::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{Contact, Id, Name, Product, Text, Timestamp, Url};
use crate::profile::Facts;
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

/// Builds the template context for `r` at `now`.
pub(crate) fn build(
    r: &Recipient,
    now: Timestamp,
    info: &MessageInfo,
    fallbacks: &BTreeMap<String, String>,
    tracking: &[(String, String)],
) -> Result<tera::Context> {
    let c = &r.contact;
    let mut contact = Map::new();
    let opt = |v: Option<&str>| v.map_or(Value::none(), text);
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
            .map_or(Value::none(), |d| Value::from(d.to_string())),
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
        Value::from(c.tags.iter().map(|t| text(t.as_str())).collect::<Vec<_>>()),
    );
    contact.insert(
        "attributes".into(),
        to_value("contact.attributes", &c.attributes)?,
    );
    contact.insert(
        "age".into(),
        c.birthday
            .and_then(|b| now.get().date_naive().years_since(b.get()))
            .map_or(Value::none(), |y| Value::from(u64::from(y))),
    );
    for (field, value) in fallbacks {
        let key: tera::value::Key = field.clone().into();
        if contact.get(&key).is_none_or(|v| v.is_none()) {
            contact.insert(key, text(value));
        }
    }

    let mut ctx = tera::Context::new();
    ctx.insert_value("contact", Value::from(contact));
    ctx.insert_value(
        "facts",
        match &r.facts {
            Some(f) => to_value("facts", f)?,
            None => Value::none(),
        },
    );
    let rfm = r
        .rfm
        .as_ref()
        .or(r.facts.as_ref().and_then(|f| f.rfm.as_ref()));
    ctx.insert_value(
        "rfm",
        match rfm {
            Some(s) => to_value("rfm", s)?,
            None => Value::none(),
        },
    );
    ctx.insert_value(
        "segments",
        Value::from(r.segments.iter().map(|s| text(s)).collect::<Vec<_>>()),
    );
    let mut blocks = Map::new();
    for (name, products) in &r.blocks {
        let items: Vec<Value> = products
            .iter()
            .map(|p| product(p, info, tracking))
            .collect();
        blocks.insert(name.clone().into(), Value::from(items));
    }
    ctx.insert_value("blocks", Value::from(blocks));
    ctx.insert_value(
        "coupon",
        match &r.coupon {
            Some(cv) => {
                let mut m = Map::new();
                m.insert("code".into(), text(cv.code.as_str()));
                m.insert(
                    "expires_at".into(),
                    cv.expires_at
                        .map_or(Value::none(), |t| Value::from(t.to_rfc3339())),
                );
                Value::from(m)
            }
            None => Value::none(),
        },
    );
    let mut links = Map::new();
    for (name, url) in &r.links {
        links.insert(name.clone().into(), text(url.as_str()));
    }
    ctx.insert_value("links", Value::from(links));
    let mut campaign = Map::new();
    campaign.insert(
        "id".into(),
        opt(info.campaign_id.as_ref().map(|v| v.as_str())),
    );
    campaign.insert("step".into(), opt(info.step.as_ref().map(|v| v.as_str())));
    campaign.insert(
        "variant".into(),
        opt(info.variant.as_ref().map(|v| v.as_str())),
    );
    ctx.insert_value("campaign", Value::from(campaign));
    Ok(ctx)
}

/// The top-level names every context has.
pub(crate) const NAMES: [&str; 8] = [
    "contact", "facts", "rfm", "segments", "blocks", "coupon", "links", "campaign",
];

fn product(p: &Product, info: &MessageInfo, tracking: &[(String, String)]) -> Value {
    let opt = |v: Option<&str>| v.map_or(Value::none(), text);
    let mut m = Map::new();
    m.insert("id".into(), text(p.id.as_str()));
    m.insert("name".into(), text(p.name.as_str()));
    m.insert(
        "url".into(),
        p.url.as_ref().map_or(Value::none(), |u| {
            Value::from(tracked(u.as_str(), info, tracking))
        }),
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

/// `url` with the tracking tags appended to its query, percent-encoded.
pub(crate) fn tracked(url: &str, info: &MessageInfo, tracking: &[(String, String)]) -> String {
    let mut out = String::with_capacity(url.len() + 64);
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    out.push_str(base);
    let mut sep = if base.contains('?') { '&' } else { '?' };
    let mut push = |k: &str, v: &str| {
        out.push(sep);
        sep = '&';
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
    fn tracking_tags_join_the_query_before_the_fragment() {
        let info = MessageInfo {
            campaign_id: Some(Id::new("spring sale").unwrap()),
            step: None,
            variant: Some(Name::new("b").unwrap()),
        };
        let tags = vec![("utm_source".to_string(), "patron".to_string())];
        assert_eq!(
            tracked("https://shop.example/p/1?c=red#top", &info, &tags),
            "https://shop.example/p/1?c=red&utm_source=patron&utm_campaign=spring%20sale&utm_content=b#top"
        );
        assert_eq!(
            tracked("https://shop.example/p/1", &MessageInfo::default(), &[]),
            "https://shop.example/p/1"
        );
    }
}
