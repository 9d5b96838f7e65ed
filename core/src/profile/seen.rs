//! The event ids a profile has applied, kept as 64-bit hashes so that a
//! repeated delivery is a no-op at 8 bytes per event.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::hash::fnv1a;
use crate::model::Id;

/// A set of event ids, stored as FNV-1a hashes. The hash is fixed by this
/// format (not Rust's `Hash`, which may change between releases), so stored
/// profiles stay valid; two ids colliding is a 1 in 2^64 chance per pair.
/// The JSON form is one string of 16 hex digits per id, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeenIds(BTreeSet<u64>);

impl SeenIds {
    /// Records `id`; false when it was already there.
    pub fn insert(&mut self, id: &Id) -> bool {
        self.0.insert(fnv1a(id.as_str().bytes()))
    }

    /// Whether `id` was recorded.
    pub fn contains(&self, id: &Id) -> bool {
        self.0.contains(&fnv1a(id.as_str().bytes()))
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for SeenIds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.0.len() * 16);
        for h in &self.0 {
            let _ = write!(text, "{h:016x}");
        }
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for SeenIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeenIds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string of 16 hex digits per event id")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeenIds, E> {
                if !v.len().is_multiple_of(16) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(E::custom("expected a string of 16 hex digits per event id"));
                }
                let mut set = BTreeSet::new();
                for chunk in v.as_bytes().chunks(16) {
                    let text = std::str::from_utf8(chunk).map_err(E::custom)?;
                    let hash = u64::from_str_radix(text, 16).map_err(E::custom)?;
                    set.insert(hash);
                }
                Ok(SeenIds(set))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut seen = SeenIds::default();
        for id in ["e1", "e2", "a-long-event-id"] {
            assert!(seen.insert(&id.parse().unwrap()));
        }
        assert!(!seen.insert(&"e2".parse().unwrap()));
        let text = serde_json::to_string(&seen).unwrap();
        assert_eq!(text.len(), 2 + 3 * 16);
        let back: SeenIds = serde_json::from_str(&text).unwrap();
        assert_eq!(back, seen);
        assert!(serde_json::from_str::<SeenIds>("\"abc\"").is_err());
        assert!(serde_json::from_str::<SeenIds>("\"zzzzzzzzzzzzzzzz\"").is_err());
    }
}
