//! Validated scalar values: ids, text, emails, phones, money, timestamps, zones.
//!
//! Each type can only hold a valid value ("parse, don't validate"): the
//! constructor checks it, and deserialization goes through the constructor, so a
//! `Contact` that exists is a `Contact` that is valid. Constructors return the
//! reason as an [`Error`](crate::Error) with an empty path; parsers add the path.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use compact_str::CompactString;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::suggest::nearest;

/// Longest id, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Longest free text (names, queries, reasons), in bytes.
pub const MAX_TEXT_LEN: usize = 4096;
/// Longest URL, in bytes.
pub const MAX_URL_LEN: usize = 8192;

/// Serde newtype name that marks a timestamp, so that bindings can build native datetimes.
pub const DATETIME_MARKER: &str = "$patron::datetime";
/// Serde newtype name that marks a datetime attribute (`{"datetime": text}` in
/// JSON), so that bindings can return a plain native datetime.
pub const ATTRIBUTE_DATETIME_MARKER: &str = "$patron::attribute_datetime";
/// Serde newtype name that marks a calendar date, so that bindings can build native dates.
pub const DATE_MARKER: &str = "$patron::date";

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid("", message)
}

/// Shows at most 40 characters of a bad value in a message.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn check_text(s: &str, what: &str, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(invalid(format!(
            "expected {what} of at most {max} bytes, got {} bytes",
            s.len()
        )));
    }
    if has_control(s) {
        return Err(invalid(format!(
            "expected {what} without control characters"
        )));
    }
    Ok(())
}

/// Whether `s` holds a control character other than a line break or tab
/// (C0, DEL, or C1, which UTF-8 writes as 0xC2 0x80..=0x9F).
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        (c < 0x20 && !matches!(c, b'\n' | b'\t' | b'\r'))
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// Defines a string newtype whose constructor validates (and may normalize) the text.
macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident, $expecting:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(CompactString);

        impl $name {
            /// Checks `value` and returns it in normal form.
            pub fn new(value: impl AsRef<str>) -> Result<Self> {
                let check: for<'a> fn(&'a str) -> Result<Cow<'a, str>> = $check;
                // Short values (most ids) live inline, without a heap allocation.
                check(value.as_ref()).map(|text| $name(CompactString::from(text)))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::new(v).map_err(|e| E::custom(e.reason()))
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

string_type!(
    /// An identifier: of a contact, product, order, event, message. Non-empty, at
    /// most 256 bytes, no control characters; kept exactly as given.
    Id,
    "a non-empty id",
    |s| {
        if s.chars().all(char::is_whitespace) {
            return Err(invalid("expected a non-empty id"));
        }
        check_text(s, "an id", MAX_ID_LEN)?;
        // Ids end up in CSV cells, headers and log lines: no line breaks or tabs either.
        if s.chars().any(char::is_control) {
            return Err(invalid(
                "expected an id without control characters (line breaks, tabs)",
            ));
        }
        Ok(s.into())
    }
);

string_type!(
    /// Free text: a name, a query, a reason. At most 4096 bytes, no control
    /// characters other than line breaks and tabs.
    Text,
    "text",
    |s| {
        check_text(s, "text", MAX_TEXT_LEN)?;
        Ok(s.into())
    }
);

string_type!(
    /// An absolute `http` or `https` URL, as links in messages need.
    Url,
    "an absolute http(s) URL",
    |s| {
        check_text(s, "a URL", MAX_URL_LEN)?;
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &s[8..]
        } else if lower.starts_with("http://") {
            &s[7..]
        } else {
            return Err(invalid(format!(
                "expected an absolute http(s) URL, got `{}`",
                excerpt(s)
            )));
        };
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "expected an absolute http(s) URL with a host, got `{}`",
                excerpt(s)
            )));
        }
        Ok(s.into())
    }
);

string_type!(
    /// A plausible email address, trimmed and lower-cased (mail systems treat
    /// addresses case-insensitively in practice, and matching needs one form).
    Email,
    "an email address",
    |s| {
        let s = s.trim().to_lowercase();
        let bad = || invalid(format!("expected an email address like name@example.com, got `{}`", excerpt(&s)));
        if s.len() > 254 || s.contains(char::is_whitespace) || s.chars().any(char::is_control) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(s.into())
    }
);

string_type!(
    /// A phone number in international E.164 form (`+` and 8 to 15 digits).
    /// Spaces, dots, dashes and brackets are dropped; a leading `00` becomes `+`.
    Phone,
    "a phone number in international form",
    |s| {
        let bad = |s: &str| invalid(format!("expected an international phone number like +14155550123, got `{}`", excerpt(s)));
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = if let Some(d) = compact.strip_prefix('+') {
            d
        } else if let Some(d) = compact.strip_prefix("00") {
            d
        } else {
            return Err(bad(s));
        };
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(bad(s));
        }
        Ok(format!("+{digits}").into())
    }
);

string_type!(
    /// A delivery channel: `email`, `sms`, `push`, or a name the shop adds
    /// (lower-case letters, digits and `_`, at most 32 bytes).
    Channel,
    "a channel name",
    |s| {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(s.into())
        } else {
            Err(invalid(format!("expected a channel name such as email, sms or push, got `{}`", excerpt(s))))
        }
    }
);

string_type!(
    /// A name for a tag or a custom attribute: letters, digits, `_`, `-`, `.`, `:`,
    /// at most 128 bytes.
    Name,
    "a name",
    |s| {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if ok {
            Ok(s.into())
        } else {
            Err(invalid(format!(
                "expected a name of letters, digits, `_`, `-`, `.` or `:` (at most 128 bytes), got `{}`",
                excerpt(s)
            )))
        }
    }
);

string_type!(
    /// An ISO 3166-1 alpha-2 country code, upper-cased (`DE`, `US`).
    Country,
    "a country code",
    |s| {
        let up = s.trim().to_ascii_uppercase();
        if up.len() == 2 && up.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(up.into())
        } else {
            Err(invalid(format!("expected a two-letter ISO 3166 country code such as DE, got `{}`", excerpt(s))))
        }
    }
);

string_type!(
    /// A BCP 47 language tag such as `en`, `en-US` or `pt-BR`, in canonical case.
    Locale,
    "a language tag",
    |s| {
        let bad = || invalid(format!("expected a language tag such as en or en-US, got `{}`", excerpt(s)));
        let mut parts = s.trim().split(['-', '_']);
        let lang = parts.next().filter(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic())).ok_or_else(bad)?;
        let mut out = lang.to_ascii_lowercase();
        for part in parts {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad());
            }
            out.push('-');
            match part.len() {
                2 => out.push_str(&part.to_ascii_uppercase()),
                4 => {
                    out.push_str(&part[..1].to_ascii_uppercase());
                    out.push_str(&part[1..].to_ascii_lowercase());
                }
                _ => out.push_str(&part.to_ascii_lowercase()),
            }
        }
        Ok(out.into())
    }
);

/// An ISO 4217 currency code, upper-cased (`EUR`, `USD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Checks `code` against the ISO 4217 list; lower case is accepted.
    pub fn new(code: &str) -> Result<Self> {
        let b = code.as_bytes();
        if b.len() == 3 {
            let up = [
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ];
            if let Ok(s) = std::str::from_utf8(&up)
                && crate::model::currency::is_iso4217(s)
            {
                return Ok(Currency(up));
            }
        }
        Err(invalid(format!(
            "expected an ISO 4217 currency code such as EUR or USD, got `{}`",
            excerpt(code)
        )))
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        // The bytes came from an upper-case ASCII code.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::new(v).map_err(|e| E::custom(e.reason()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Defines an `f64` newtype that only holds finite numbers passing `$check`.
macro_rules! number_type {
    ($(#[$doc:meta])* $name:ident, $expecting:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
        #[serde(transparent)]
        pub struct $name(f64);

        impl $name {
            /// Checks `value`.
            pub fn new(value: f64) -> Result<Self> {
                let check: fn(f64) -> bool = $check;
                if value.is_finite() && check(value) {
                    Ok($name(value))
                } else {
                    Err(invalid(format!(concat!("expected ", $expecting, ", got {}"), value)))
                }
            }

            /// The number.
            pub fn get(self) -> f64 {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        $name::new(v).map_err(|e| E::custom(e.reason()))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                }
                d.deserialize_f64(V)
            }
        }
    };
}

number_type!(
    /// An amount of money: finite and not negative. The currency travels beside it.
    Money,
    "a finite non-negative amount",
    |v| v >= 0.0
);

number_type!(
    /// A quantity of a product in a cart or an order: finite and above zero
    /// (fractions allowed, for goods sold by weight).
    Quantity,
    "a positive quantity",
    |v| v > 0.0
);

number_type!(
    /// A product rating from 0 to 5.
    Rating,
    "a rating from 0 to 5",
    |v| (0.0..=5.0).contains(&v)
);

/// An instant, kept in UTC. Parsed from RFC 3339 text that carries an offset
/// (`2024-05-01T10:00:00+03:00` or `...Z`); text without an offset is refused,
/// because a local time without a zone is ambiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Parses RFC 3339 text with an offset.
    pub fn parse(text: &str) -> Result<Self> {
        match DateTime::parse_from_rfc3339(text) {
            // Years 1 to 9999 in UTC: what RFC 3339 writes, and what Python's
            // datetime and every host can hold and write back.
            Ok(t) if !(1..=9999).contains(&t.with_timezone(&Utc).year()) => Err(invalid(format!(
                "expected a time in the years 0001 to 9999 (in UTC), got `{}`",
                excerpt(text)
            ))),
            Ok(t) => Ok(Timestamp(t.with_timezone(&Utc))),
            Err(_) => Err(invalid(format!(
                "expected a timestamp with an offset such as 2024-05-01T10:00:00+03:00, got `{}`",
                excerpt(text)
            ))),
        }
    }

    /// The instant as a chrono value.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }

    /// Whole days from this instant to `later`; 0 when `later` is earlier.
    pub fn whole_days_until(self, later: Timestamp) -> u64 {
        u64::try_from((later.0 - self.0).num_days()).unwrap_or(0)
    }

    /// RFC 3339 text in UTC, with fractions only when there are some.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(DATETIME_MARKER, &self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TimestampVisitor)
    }
}

/// Reads a timestamp from text, or from the `{"datetime": text}` form that
/// typed attributes use.
pub(crate) struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Timestamp;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp with an offset (RFC 3339 text)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Timestamp::parse(v).map_err(|e| E::custom(e.reason()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Timestamp, A::Error> {
        let key: Option<std::borrow::Cow<'de, str>> = map.next_key()?;
        match key.as_deref() {
            Some("datetime") => {
                let t: Timestamp = map.next_value()?;
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "expected only the key `datetime` in a datetime object",
                    ));
                }
                Ok(t)
            }
            _ => Err(de::Error::custom(
                "expected a timestamp: RFC 3339 text or {\"datetime\": text}",
            )),
        }
    }
}

/// A calendar date without a time (a birthday). Years before 1900 are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(NaiveDate);

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self> {
        match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(d) if d.format("%Y").to_string().parse::<i32>().unwrap_or(0) >= 1900 => Ok(Date(d)),
            _ => Err(invalid(format!(
                "expected a date YYYY-MM-DD from 1900 on, got `{}`",
                excerpt(text)
            ))),
        }
    }

    /// The date as a chrono value.
    pub fn get(self) -> NaiveDate {
        self.0
    }

    /// Wraps a chrono date (any year: only parsing checks plausibility).
    pub fn from_naive(date: NaiveDate) -> Self {
        Date(date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(DATE_MARKER, &self.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Date, E> {
                Date::parse(v).map_err(|e| E::custom(e.reason()))
            }
        }
        d.deserialize_str(V)
    }
}

/// An IANA time zone such as `Europe/Berlin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Looks `name` up in the IANA database; a typo gets the nearest real name.
    pub fn new(name: &str) -> Result<Self> {
        match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(TimeZone(tz)),
            Err(_) => {
                let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
                let hint = nearest(name, names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                Err(invalid(format!(
                    "expected an IANA time zone such as Europe/Berlin, got `{}`{hint}",
                    excerpt(name)
                )))
            }
        }
    }

    /// The zone for chrono arithmetic.
    pub fn get(self) -> chrono_tz::Tz {
        self.0
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TimeZone;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IANA time zone name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeZone, E> {
                TimeZone::new(v).map_err(|e| E::custom(e.reason()))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_and_oversized() {
        assert!(Id::new("c1").is_ok());
        assert!(Id::new("").is_err());
        assert!(Id::new("   ").is_err());
        assert!(Id::new("x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(Id::new("a\u{0}b").is_err());
    }

    #[test]
    fn emails_are_normalized() {
        assert_eq!(
            Email::new(" Anna@Example.COM ").unwrap().as_str(),
            "anna@example.com"
        );
        for bad in [
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "a b@example.com",
            "anna@.com",
            "anna@example..com",
        ] {
            assert!(Email::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            Phone::new("+7 (916) 123-45-67").unwrap().as_str(),
            "+79161234567"
        );
        assert_eq!(
            Phone::new("0049 30 1234567").unwrap().as_str(),
            "+49301234567"
        );
        for bad in [
            "12345",
            "89161234567",
            "+0123456789",
            "+1234567890123456",
            "+7916abc4567",
        ] {
            assert!(Phone::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_is_finite_and_not_negative() {
        assert!(Money::new(0.0).is_ok());
        assert!(Money::new(-0.01).is_err());
        assert!(Money::new(f64::NAN).is_err());
        assert!(Money::new(f64::INFINITY).is_err());
        assert!(Quantity::new(0.0).is_err());
        assert!(Rating::new(5.5).is_err());
    }

    #[test]
    fn currencies_follow_iso_4217() {
        assert_eq!(Currency::new("eur").unwrap().as_str(), "EUR");
        assert!(Currency::new("EU").is_err());
        assert!(Currency::new("ABC").is_err());
    }

    #[test]
    fn timestamps_need_an_offset() {
        let t = Timestamp::parse("2024-05-01T10:00:00+03:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T07:00:00Z");
        assert_eq!(
            Timestamp::parse("2024-05-01T10:00:00.250Z")
                .unwrap()
                .to_rfc3339(),
            "2024-05-01T10:00:00.250Z"
        );
        assert!(Timestamp::parse("2024-05-01T10:00:00").is_err());
        assert!(Timestamp::parse("2024-05-01").is_err());
    }

    #[test]
    fn time_zones_suggest_the_nearest_name() {
        assert_eq!(
            TimeZone::new("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        let e = TimeZone::new("Europe/Berlim").unwrap_err();
        assert!(e.reason().contains("did you mean `Europe/Berlin`"), "{e}");
    }

    #[test]
    fn locales_get_canonical_case() {
        assert_eq!(Locale::new("en_us").unwrap().as_str(), "en-US");
        assert_eq!(Locale::new("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert!(Locale::new("english").is_err());
    }
}

#[cfg(test)]
mod control_tests {
    use super::*;

    #[test]
    fn control_characters_are_found_in_every_range() {
        assert!(!has_control("Anna\tSmith\nline"));
        assert!(!has_control("Zoë – ünïcode ✓"));
        assert!(has_control("a\u{1}b"));
        assert!(has_control("a\u{7f}b"));
        assert!(has_control("a\u{85}b"));
        assert!(!has_control("a\u{a0}b"));
    }
}
