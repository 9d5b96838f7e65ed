//! A shop's customer or subscriber: identity, profile, origin, tags, typed
//! custom attributes and consent.

use serde::{Deserialize, Serialize};

use super::attribute::Attributes;
use super::consent::{ConsentChange, Consents};
use super::scalar::{
    Country, Date, Email, Id, Locale, Name, Phone, Text, TimeZone, Timestamp, Url,
};
use crate::error::{Error, Result};

/// Longest tag list on a contact or product.
pub const MAX_TAGS: usize = 1000;

/// A contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The shop's id for this contact.
    pub id: Id,
    /// Email address, lower-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Phone number in E.164 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Text>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Text>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<Date>,
    /// Gender, as the contact gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Text>,
    /// Region or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Text>,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// IANA time zone, for quiet hours and send-time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZone>,
    /// Language tag for templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// When the contact first became known to the shop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Where the contact came from.
    #[serde(default, skip_serializing_if = "Source::is_empty")]
    pub source: Source,
    /// Tags, without repeats, in the order first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Name>,
    /// Typed custom attributes.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    /// Consent per channel and purpose.
    #[serde(default, skip_serializing_if = "Consents::is_empty")]
    pub consent: Consents,
}

/// Gender, as a contact states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Any other answer.
    Other,
}

impl Gender {
    /// The name in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
        }
    }
}

/// The acquisition source of a contact: UTM tags, landing page, referrer, search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `utm_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<Text>,
    /// `utm_medium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<Text>,
    /// `utm_campaign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<Text>,
    /// `utm_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<Text>,
    /// `utm_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<Text>,
    /// The first page the contact saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<Url>,
    /// The referring page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Url>,
    /// The search query that brought them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_query: Option<Text>,
}

impl Source {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Source::default()
    }
}

impl Contact {
    /// A contact with only an id.
    pub fn new(id: Id) -> Self {
        Contact {
            id,
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            birthday: None,
            gender: None,
            city: None,
            region: None,
            country: None,
            time_zone: None,
            locale: None,
            created_at: None,
            source: Source::default(),
            tags: Vec::new(),
            attributes: Attributes::new(),
            consent: Consents::default(),
        }
    }

    /// Applies a consent change; on error the contact is unchanged.
    pub fn apply_consent(&mut self, change: &ConsentChange) -> Result<()> {
        self.consent.apply(change).map_err(|e| e.within("consent"))
    }

    /// Checks the rules that span fields, and puts tags in normal form.
    pub(crate) fn normalize(&mut self) -> Result<()> {
        dedup_tags(&mut self.tags).map_err(|e| e.within("tags"))?;
        self.consent.check().map_err(|e| e.within("consent"))
    }
}

/// Drops repeated tags, keeping the first; refuses more than [`MAX_TAGS`].
pub(crate) fn dedup_tags(tags: &mut Vec<Name>) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "",
            format!("expected at most {MAX_TAGS} tags, got {}", tags.len()),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    tags.retain(|t| seen.insert(t.clone()));
    Ok(())
}
