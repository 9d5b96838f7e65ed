//! What the engine remembers about one contact between calls: the host
//! stores it next to the contact (one JSON column) and hands it back on the
//! next call. It is versioned: a blob from a newer patron is refused with a
//! clear error, one from an older patron is migrated when read.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hash::fnv1a;
use crate::model::{Channel, Id, Name, Timestamp};

/// The version of the stored form this patron writes. Times in the stored
/// form are Unix seconds, to keep a contact's state small.
///
/// Version 2 added `segments_until` (see [`SegmentsUntil`]), version 3
/// `withdrawn` (see [`Withdrawal`]); an older state reads as the current one
/// without them.
pub const STATE_VERSION: u32 = 3;

/// [`STATE_VERSION`] as it is written in the stored form.
pub(crate) const STATE_VERSION_TEXT: &str = "3";

/// One contact's trigger state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactState {
    /// The stored form's version ([`STATE_VERSION`]).
    pub version: u32,
    /// The contact.
    pub contact_id: Id,
    /// The `now` of the latest call; a call with an earlier `now` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "secs_opt")]
    pub clock: Option<Timestamp>,
    /// When the host should call [`super::Engine::due`] next.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "secs_opt")]
    pub wakeup: Option<Timestamp>,
    /// Event ids seen within the replay window.
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub seen: Seen,
    /// Running chains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Instance>,
    /// Starts per rule, for re-entry policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub history: BTreeMap<Name, RuleHistory>,
    /// Marketing messages sent within the longest cap window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<Sent>,
    /// The watched segments the contact was in at the latest call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Until when `segments` hold with time alone, noted when they were
    /// read; none when not known (the next call reads them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments_until: Option<SegmentsUntil>,
    /// The lifecycle region at the latest call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The average-interval rule's verdict at the latest call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_risk: bool,
    /// Consent withdrawals the engine saw in events and the contact's record
    /// does not show yet: no send goes against them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<Withdrawal>,
}

/// A withdrawal of consent seen in an event (`consent_changed` with
/// `unsubscribe`, `message_unsubscribed`, `message_complained`,
/// `message_bounced`). The host updates the contact's record too, but may
/// hand the engine the old record for a while; until the record shows a
/// consent change at or after the withdrawal (the unsubscribe itself, or a
/// new confirmation), the engine acts on what it saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// The channel.
    pub channel: Channel,
    /// The purpose withdrawn; none for both (a bounce: the address is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<crate::model::Purpose>,
    /// When.
    #[serde(with = "secs")]
    pub at: Timestamp,
}

/// One running chain. The stored form names the rule once, in `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredInstance", into = "StoredInstance")]
pub struct Instance {
    /// `rule/trigger`: the rule and what started it (an event id, a date).
    pub id: String,
    /// The rule.
    pub rule: Name,
    /// The instance's key, hashed (see [`super::KeyBy`]).
    pub key: String,
    /// When the trigger happened.
    pub started_at: Timestamp,
    /// The next step to run, counted from 0.
    pub step: u32,
    /// When it is due.
    pub due_at: Timestamp,
    /// The products the trigger was about (cart lines, the viewed product).
    pub products: Vec<Id>,
    /// The contact is in the rule's control group: steps are recorded as
    /// held out, not sent.
    pub held_out: bool,
}

/// [`Instance`] as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredInstance {
    id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    key: String,
    #[serde(with = "secs")]
    started_at: Timestamp,
    #[serde(default, skip_serializing_if = "is_first")]
    step: u32,
    #[serde(with = "secs")]
    due_at: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    products: Vec<Id>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    held_out: bool,
}

fn is_first(step: &u32) -> bool {
    *step == 0
}

impl TryFrom<StoredInstance> for Instance {
    type Error = String;

    fn try_from(s: StoredInstance) -> std::result::Result<Instance, String> {
        let rule =
            s.id.split_once('/')
                .map(|(rule, _)| rule)
                .ok_or_else(|| format!("expected an instance id `rule/trigger`, got `{}`", s.id))?;
        let rule = Name::new(rule).map_err(|e| e.reason().to_string())?;
        Ok(Instance {
            rule,
            id: s.id,
            key: s.key,
            started_at: s.started_at,
            step: s.step,
            due_at: s.due_at,
            products: s.products,
            held_out: s.held_out,
        })
    }
}

impl From<Instance> for StoredInstance {
    fn from(i: Instance) -> StoredInstance {
        StoredInstance {
            id: i.id,
            key: i.key,
            started_at: i.started_at,
            step: i.step,
            due_at: i.due_at,
            products: i.products,
            held_out: i.held_out,
        }
    }
}

/// Starts of one rule, as much as its re-entry policy reads: the latest
/// start (`once`, `cooldown`), the starts within the window (`at_most`),
/// the hashed keys (`once_per_key`). A rule that may always start again
/// keeps nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleHistory {
    /// The latest start.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "secs_opt")]
    pub last: Option<Timestamp>,
    /// Starts within the rule's `at_most` window.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "secs_vec")]
    pub recent: Vec<Timestamp>,
    /// Hashed keys it started for (`once_per_key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// A marketing message sent, for frequency caps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sent {
    /// When.
    #[serde(with = "secs")]
    pub at: Timestamp,
    /// On which channel.
    pub channel: Channel,
}

/// Until when the watched segments recorded in a state hold with time
/// alone: noted by the call that last read them, from the facts of that
/// call ([`crate::segment::Registry::next_change`]). [`super::Engine::due`]
/// reads the segments again only from this instant on, or when the
/// engine's segments are no longer those it was noted with.
///
/// The stored form is one string: the instant in Unix seconds (or `never`),
/// a slash, and 16 hex digits of the hash of the engine's segments, as in
/// `"1714561200/9f3e0c2a11d5b7e4"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentsUntil {
    /// The first instant at which the segments change with time alone;
    /// none if they never do.
    pub until: Option<Timestamp>,
    /// The hash of the engine's segments and the ones it watches.
    pub segments_hash: u64,
}

impl Serialize for SegmentsUntil {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let text = match self.until {
            Some(t) => format!("{}/{:016x}", t.get().timestamp(), self.segments_hash),
            None => format!("never/{:016x}", self.segments_hash),
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for SegmentsUntil {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || {
            de::Error::custom(format!(
                "expected Unix seconds or `never`, a slash and 16 hex digits, got `{text}`"
            ))
        };
        let (until, hash) = text.split_once('/').ok_or_else(bad)?;
        if hash.len() != 16 {
            return Err(bad());
        }
        let segments_hash = u64::from_str_radix(hash, 16).map_err(|_| bad())?;
        let until = if until == "never" {
            None
        } else {
            let secs: i64 = until.parse().map_err(|_| bad())?;
            Some(
                chrono::DateTime::from_timestamp(secs, 0)
                    .map(Timestamp::from)
                    .ok_or_else(bad)?,
            )
        };
        Ok(SegmentsUntil {
            until,
            segments_hash,
        })
    }
}

/// Times as Unix seconds (RFC 3339 text is read too).
mod secs {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::model::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.get().timestamp())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Seconds(i64),
            Text(Timestamp),
        }
        match Stored::deserialize(d)
            .map_err(|_| de::Error::custom("expected a time as Unix seconds or RFC 3339 text"))?
        {
            Stored::Text(t) => Ok(t),
            Stored::Seconds(v) => chrono::DateTime::from_timestamp(v, 0)
                .map(Timestamp::from)
                .ok_or_else(|| de::Error::custom(format!("expected Unix seconds, got {v}"))),
        }
    }
}

mod secs_opt {
    use serde::{Deserializer, Serializer};

    use crate::model::Timestamp;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::secs::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        super::secs::deserialize(d).map(Some)
    }
}

mod secs_vec {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Timestamp;

    pub fn serialize<S: Serializer>(ts: &[Timestamp], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ts.len()))?;
        for t in ts {
            seq.serialize_element(&t.get().timestamp())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Timestamp>, D::Error> {
        struct One(Timestamp);
        impl<'de> Deserialize<'de> for One {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<One, D::Error> {
                super::secs::deserialize(d).map(One)
            }
        }
        Ok(Vec::<One>::deserialize(d)?
            .into_iter()
            .map(|o| o.0)
            .collect())
    }
}

/// Event ids seen recently, as 64-bit hashes with the event's time, so a
/// repeat is dropped at 24 bytes of JSON per event. The JSON form is one
/// string: per event, 16 hex digits of hash and 8 of Unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen(Vec<(u64, u32)>);

impl Seen {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `id` was seen.
    pub fn contains(&self, id: &Id) -> bool {
        let h = key_hash(id.as_str());
        self.0.iter().any(|(x, _)| *x == h)
    }

    /// Records `id`, of an event at `at`.
    pub fn insert(&mut self, id: &Id, at: Timestamp) {
        self.0.push((key_hash(id.as_str()), seconds(at)));
    }

    /// Forgets events dated before `cutoff`.
    pub fn forget_before(&mut self, cutoff: Timestamp) {
        let c = seconds(cutoff);
        self.0.retain(|(_, at)| *at >= c);
    }
}

fn seconds(t: Timestamp) -> u32 {
    u32::try_from(t.get().timestamp().max(0)).unwrap_or(u32::MAX)
}

/// The stable 64-bit hash of a key or an event id.
pub(crate) fn key_hash(text: &str) -> u64 {
    fnv1a(text.bytes())
}

/// A key as stored: 16 hex digits of its hash.
pub(crate) fn key_text(text: &str) -> String {
    format!("{:016x}", key_hash(text))
}

impl Serialize for Seen {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.0.len() * 24);
        for (h, at) in &self.0 {
            let _ = write!(text, "{h:016x}{at:08x}");
        }
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Seen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seen;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string of 24 hex digits per event")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Seen, E> {
                if !v.len().is_multiple_of(24) || !v.is_ascii() {
                    return Err(E::custom(format!(
                        "expected 24 hex digits per event, got {} characters",
                        v.len()
                    )));
                }
                let mut out = Vec::with_capacity(v.len() / 24);
                for i in (0..v.len()).step_by(24) {
                    let h = u64::from_str_radix(&v[i..i + 16], 16);
                    let at = u32::from_str_radix(&v[i + 16..i + 24], 16);
                    match (h, at) {
                        (Ok(h), Ok(at)) => out.push((h, at)),
                        _ => {
                            return Err(E::custom(format!("expected hex digits at character {i}")));
                        }
                    }
                }
                Ok(Seen(out))
            }
        }
        d.deserialize_str(V)
    }
}

impl ContactState {
    /// The state of a contact the engine has not seen yet.
    pub fn new(contact_id: Id) -> ContactState {
        ContactState {
            version: STATE_VERSION,
            contact_id,
            clock: None,
            wakeup: None,
            seen: Seen::default(),
            instances: Vec::new(),
            history: BTreeMap::new(),
            sent: Vec::new(),
            segments: Vec::new(),
            segments_until: None,
            lifecycle: None,
            at_risk: false,
            withdrawn: Vec::new(),
        }
    }

    /// Reads a stored state: refuses one written by a newer patron, migrates
    /// one written by an older one (see [`migrate`]), then checks it.
    pub fn from_value(value: Value) -> Result<ContactState> {
        crate::parse::from_value(value)
    }

    /// [`ContactState::from_value`] from JSON text.
    pub fn from_json(text: &str) -> Result<ContactState> {
        crate::parse::from_json(text)
    }

    /// When the host should call [`super::Engine::due`] next; none when
    /// nothing is scheduled.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.wakeup
    }

    /// Checks the version once the form is read (after [`migrate`]).
    pub(crate) fn check_version(&self) -> Result<()> {
        if self.version != STATE_VERSION {
            return Err(Error::invalid(
                "version",
                format!(
                    "this patron reads trigger state version {STATE_VERSION}, got {}",
                    self.version
                ),
            ));
        }
        Ok(())
    }
}

/// Brings a stored state to [`STATE_VERSION`]: refuses a version above this
/// patron's (reading it would drop what it knows) and a missing or unknown
/// one.
///
/// Version 1 is the first stored form; version 2 added `segments_until`.
/// A version 1 state has none, which reads as "not known": the next call
/// reads the segments, so the step from 1 to 2 only sets the version. (A
/// patron that reads version 1 refuses any field it does not know, so the
/// new field needed a new version for it to say why it refuses the state.)
pub fn migrate(value: Value) -> Result<Value> {
    let Value::Object(map) = &value else {
        return Ok(value);
    };
    let version = match map.get("version") {
        None => {
            return Err(Error::invalid(
                "version",
                "a stored trigger state needs `version`",
            ));
        }
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            Error::invalid("version", format!("expected a whole number, got {n}"))
        })?,
        Some(other) => {
            return Err(Error::invalid(
                "version",
                format!(
                    "expected a whole number, got {}",
                    crate::parse::kind_name(other)
                ),
            ));
        }
    };
    if version > u64::from(STATE_VERSION) {
        return Err(Error::invalid(
            "version",
            format!(
                "the state was written by a newer patron (state version {version}); this one reads up to {STATE_VERSION}: upgrade patron before reading it"
            ),
        ));
    }
    if version == 0 {
        return Err(Error::invalid(
            "version",
            "state versions start at 1, got 0",
        ));
    }
    let mut value = value;
    // Each version only added fields: an older state is the current one
    // without them.
    if version < u64::from(STATE_VERSION)
        && let Value::Object(map) = &mut value
    {
        map.insert("version".to_string(), Value::from(STATE_VERSION));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn the_version_text_is_the_version() {
        assert_eq!(STATE_VERSION_TEXT, STATE_VERSION.to_string());
    }

    #[test]
    fn a_current_state_reads_the_same_in_one_pass_as_by_migration() {
        let state = ContactState::new(Id::new("c1").unwrap());
        let text = serde_json::to_string(&state).unwrap();
        let current = format!(r#"{{"version":{STATE_VERSION},"#);
        assert!(text.starts_with(&current), "{text}");
        let fast: ContactState = parse::from_json(&text).unwrap();
        let slow = ContactState::from_value(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(fast, slow);
        // Older versions and a newer one still take the general path.
        for older in 1..STATE_VERSION {
            let old = text.replacen(&current, &format!(r#"{{"version":{older},"#), 1);
            assert_eq!(parse::from_json::<ContactState>(&old).unwrap(), state);
        }
        let newer = text.replacen(
            &current,
            &format!(r#"{{"version":{},"#, STATE_VERSION + 1),
            1,
        );
        assert!(parse::from_json::<ContactState>(&newer).is_err());
        let longer = text.replacen(&current, &format!(r#"{{"version":{STATE_VERSION}0,"#), 1);
        assert!(parse::from_json::<ContactState>(&longer).is_err());
    }
}
