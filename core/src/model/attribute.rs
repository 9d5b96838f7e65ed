//! Typed custom attributes: the facts a shop adds to contacts, products and
//! custom events.
//!
//! The JSON form is the natural one: `"vip": true`, `"shoe_size": 42`,
//! `"sizes": ["M", "L"]`, `"nickname": "Anna"`. A datetime is written as
//! `{"datetime": "2024-05-01T10:00:00Z"}`, so that it never hides in a string;
//! Python `datetime` values and JavaScript `Date` objects map to it.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::scalar::{ATTRIBUTE_DATETIME_MARKER, Name, Text, Timestamp, TimestampVisitor};

/// Attributes by name, in name order.
pub type Attributes = BTreeMap<Name, AttributeValue>;

/// Longest list in an attribute.
pub const MAX_LIST_LEN: usize = 1000;

/// One typed attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// Text.
    String(Text),
    /// A finite number.
    Number(f64),
    /// True or false.
    Bool(bool),
    /// An instant.
    Datetime(Timestamp),
    /// A list of strings (sizes, interests).
    List(Vec<Text>),
}

impl AttributeValue {
    /// The type name used in messages and in the segment language.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::String(_) => "string",
            AttributeValue::Number(_) => "number",
            AttributeValue::Bool(_) => "bool",
            AttributeValue::Datetime(_) => "datetime",
            AttributeValue::List(_) => "list",
        }
    }
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AttributeValue::String(v) => v.serialize(s),
            AttributeValue::Number(v) => s.serialize_f64(*v),
            AttributeValue::Bool(v) => s.serialize_bool(*v),
            AttributeValue::List(v) => v.serialize(s),
            AttributeValue::Datetime(t) => {
                s.serialize_newtype_struct(ATTRIBUTE_DATETIME_MARKER, &DatetimeObject(t))
            }
        }
    }
}

/// The JSON form of a datetime attribute: `{"datetime": text}`.
struct DatetimeObject<'a>(&'a Timestamp);

impl Serialize for DatetimeObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("datetime", self.0)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AttributeVisitor)
    }
}

struct AttributeVisitor;

impl<'de> Visitor<'de> for AttributeVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, bool, list of strings or {\"datetime\": text}")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
        if v.is_finite() {
            Ok(AttributeValue::Number(v))
        } else {
            Err(E::custom(format!("expected a finite number, got {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
        Text::new(v)
            .map(AttributeValue::String)
            .map_err(|e| E::custom(e.reason()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AttributeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Text>()? {
            if items.len() == MAX_LIST_LEN {
                return Err(de::Error::custom(format!(
                    "expected at most {MAX_LIST_LEN} items in a list attribute"
                )));
            }
            items.push(item);
        }
        Ok(AttributeValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttributeValue, A::Error> {
        TimestampVisitor
            .visit_map(map)
            .map(AttributeValue::Datetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_json_round_trips() {
        let text = r#"{"n":42.5,"b":true,"s":"x","l":["M","L"],"d":{"datetime":"2024-05-01T10:00:00+02:00"}}"#;
        let attrs: Attributes = serde_json::from_str(text).unwrap();
        assert_eq!(attrs.len(), 5);
        let out = serde_json::to_string(&attrs).unwrap();
        assert_eq!(
            out,
            r#"{"b":true,"d":{"datetime":"2024-05-01T08:00:00Z"},"l":["M","L"],"n":42.5,"s":"x"}"#
        );
    }

    #[test]
    fn nested_objects_are_refused() {
        assert!(serde_json::from_str::<AttributeValue>(r#"{"a":{"b":1}}"#).is_err());
        assert!(serde_json::from_str::<AttributeValue>(r#"[1,2]"#).is_err());
        assert!(serde_json::from_str::<AttributeValue>("null").is_err());
    }
}
