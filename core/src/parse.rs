//! Parsing with validation: JSON text or a [`serde_json::Value`] in, a valid
//! model value or an [`Error`] that names the field path out.
//!
//! ```
//! use patron::{parse, Event};
//!
//! let text = r#"{"type": "order_placed", "id": "e1", "contact_id": "c1",
//!   "at": "2024-05-01T10:00:00+02:00", "order_id": "o1", "total": 30, "currency": "eur",
//!   "lines": [{"product_id": "p1", "quantity": 0, "unit_price": 30}]}"#;
//! let err = parse::from_json::<Event>(text).unwrap_err();
//! assert_eq!(err.code(), "validation");
//! assert_eq!(err.path(), Some("lines[0].quantity"));
//! assert_eq!(err.reason(), "expected a positive quantity, got 0");
//! ```
//!
//! Lists report the index first: `[3].lines[0].quantity`. Malformed text is a
//! [`Error::Json`] with line and column.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Location, Result};
use crate::lifecycle::LifecycleConfig;
use crate::model::{
    Catalog, Category, ConsentChange, Contact, Event, EventKind, Id, Product, Timestamp,
};
use crate::predict::{BgNbd, GammaGamma, History, Transaction};
use crate::profile::{Facts, Profile};
use crate::purchase::Purchase;
use crate::rfm::{CustomerSummary, FourGroupConfig, RfmConfig};
use crate::suggest::nearest;

/// A type with a validated JSON form.
pub trait Model: Sized + Serialize {
    /// Parses and validates JSON text.
    fn from_json(text: &str) -> Result<Self>;
    /// Parses and validates a JSON value (what the bindings build from native objects).
    fn from_value(value: Value) -> Result<Self>;

    /// Parses and validates a JSON array; an error's path starts with the index.
    fn list_from_json(text: &str) -> Result<Vec<Self>> {
        let items: Vec<&RawValue> = read_json(text, ListVisitor)?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, raw)| Self::from_json(raw.get()).map_err(|e| at_index(e, i)))
            .collect()
    }
}

/// Parses and validates one value from JSON text.
pub fn from_json<T: Model>(text: &str) -> Result<T> {
    T::from_json(text)
}

/// Parses and validates one value from a JSON value.
pub fn from_value<T: Model>(value: Value) -> Result<T> {
    T::from_value(value)
}

/// Parses and validates a JSON array of values; an error's path starts with the index.
pub fn list_from_json<T: Model>(text: &str) -> Result<Vec<T>> {
    T::list_from_json(text)
}

/// Parses and validates a JSON array value; an error's path starts with the index.
pub fn list_from_value<T: Model>(value: Value) -> Result<Vec<T>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| T::from_value(v).map_err(|e| at_index(e, i)))
            .collect(),
        other => Err(Error::invalid(
            "",
            format!("expected an array, got {}", kind_of(&other)),
        )),
    }
}

/// Serializes any model value to its normalized JSON text.
pub fn to_json<T: Serialize>(value: &T) -> String {
    // Model types serialize to maps of strings, numbers and bools only: infallible.
    serde_json::to_string(value).unwrap_or_default()
}

fn at_index(e: Error, i: usize) -> Error {
    // Text errors inside a list item would carry positions relative to the item.
    match e {
        Error::Json { message, .. } => Error::invalid(format!("[{i}]"), message),
        Error::Validation { path, message, .. } => {
            Error::invalid(crate::error::join_path(&format!("[{i}]"), &path), message)
        }
        other => other.within(&format!("[{i}]")),
    }
}

/// What kind of JSON value `v` is, for messages ("a number", "text").
pub(crate) fn kind_name(v: &Value) -> &'static str {
    kind_of(v)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Types whose derived serde form needs a check across fields afterwards.
trait Normalize {
    fn normalize(&mut self) -> Result<()>;
}

macro_rules! derived_model {
    ($($t:ty => $norm:expr;)*) => {$(
        impl Normalize for $t {
            fn normalize(&mut self) -> Result<()> {
                let f: fn(&mut $t) -> Result<()> = $norm;
                f(self)
            }
        }
        impl Model for $t {
            fn from_json(text: &str) -> Result<Self> {
                derived_from_json(text)
            }
            fn from_value(value: Value) -> Result<Self> {
                derived_from_value(value)
            }
        }
    )*};
}

derived_model! {
    Contact => Contact::normalize;
    Product => Product::normalize;
    Category => |_| Ok(());
    Catalog => Catalog::normalize;
    ConsentChange => |_| Ok(());
    CustomerSummary => CustomerSummary::normalize;
    RfmConfig => |_| Ok(());
    FourGroupConfig => |_| Ok(());
    LifecycleConfig => |_| Ok(());
    crate::profile::PredictConfig => |c| c.check();
    Transaction => |_| Ok(());
    History => |_| Ok(());
    BgNbd => |m| m.check();
    GammaGamma => |m| m.check();
    Profile => Profile::normalize;
    Purchase => |_| Ok(());
    Facts => Facts::check;
    crate::segment::StaticSegment => |_| Ok(());
    crate::segment::Membership => |_| Ok(());
    crate::segment::Change => |_| Ok(());
    crate::message::coupon::CouponPool => |p| p.check();
    crate::message::coupon::PoolState => crate::message::coupon::PoolState::normalize;
    crate::message::TemplateSpec => |_| Ok(());
    crate::message::Recipient => crate::message::Recipient::normalize;
    crate::message::MessageInfo => |_| Ok(());
    crate::message::campaign::Campaign => |c| c.check();
    crate::message::sms::Fit => |_| Ok(());
    crate::message::push::PushLimits => |_| Ok(());
    crate::metrics::KpiConfig => |_| Ok(());
    crate::metrics::UpliftConfig => |_| Ok(());
    crate::metrics::Assignment => |_| Ok(());
    crate::metrics::KpiRow => |_| Ok(());
    crate::recommend::Basket => |_| Ok(());
    crate::recommend::ModelConfig => |c| c.check();
    crate::recommend::ItemModel => crate::recommend::ItemModel::normalize;
    crate::recommend::ContactHistory => crate::recommend::ContactHistory::normalize;
    crate::recommend::Message => |_| Ok(());
    crate::recommend::BlockSpec => |_| Ok(());
    crate::trigger::Config => |_| Ok(());
    crate::trigger::Rule => |_| Ok(());
    crate::trigger::Policy => |_| Ok(());
}

fn derived_from_json<T: DeserializeOwned + Normalize>(text: &str) -> Result<T> {
    // serde would also read a struct from an array of its fields in order; the
    // contract is objects only.
    if let Some(first) = text.trim_start().chars().next()
        && first != '{'
    {
        let value: Value = serde_json::from_str(text).map_err(json_error)?;
        return Err(Error::invalid(
            "",
            format!("expected an object, got {}", kind_of(&value)),
        ));
    }
    // Valid input takes the plain reader; only a failure is read again with
    // path tracking (about twice as slow) to say where it failed.
    let mut value: T = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let value = serde_path_to_error::deserialize(&mut de).map_err(from_path_error)?;
            de.end().map_err(json_error)?;
            value
        }
    };
    value.normalize()?;
    Ok(value)
}

fn derived_from_value<T: DeserializeOwned + Normalize>(value: Value) -> Result<T> {
    if !value.is_object() {
        return Err(Error::invalid(
            "",
            format!("expected an object, got {}", kind_of(&value)),
        ));
    }
    // As for text: the plain reader first (by reference, so a failure can
    // still be read again with path tracking).
    let mut value: T = match T::deserialize(&value) {
        Ok(read) => read,
        Err(_) => serde_path_to_error::deserialize(value).map_err(from_path_error)?,
    };
    value.normalize()?;
    Ok(value)
}

impl Normalize for crate::trigger::ContactState {
    fn normalize(&mut self) -> Result<()> {
        self.check_version()
    }
}

/// A stored trigger state is migrated (or refused, when newer) before it is read.
impl Model for crate::trigger::ContactState {
    fn from_json(text: &str) -> Result<Self> {
        // A state of this version as patron writes it (`version` first)
        // needs no migration: it is read in one pass, as stores read it on
        // every event. Anything else takes the general path.
        let current = text
            .strip_prefix("{\"version\":")
            .and_then(|rest| rest.strip_prefix(crate::trigger::STATE_VERSION_TEXT))
            .is_some_and(|rest| rest.starts_with([',', '}']));
        if current {
            return derived_from_json(text);
        }
        Self::from_value(from_json_value(text)?)
    }

    fn from_value(value: Value) -> Result<Self> {
        derived_from_value(crate::trigger::migrate(value)?)
    }
}

impl Model for Event {
    fn from_json(text: &str) -> Result<Self> {
        // Most events arrive with `type` first (as patron writes them): read
        // those in one pass. Anything else, errors included, takes the general
        // path, which also finds the error's path.
        if let Some(event) = event_in_one_pass(text) {
            return Ok(event);
        }
        let fields: Vec<(Cow<'_, str>, &RawValue)> = read_json(text, FieldsVisitor(PhantomData))?;
        event_from_fields(fields)
    }

    fn list_from_json(text: &str) -> Result<Vec<Self>> {
        // One pass over the whole array when every event has `type` first;
        // otherwise item by item, which also finds the first error's path.
        let mut de = serde_json::Deserializer::from_str(text);
        if let Ok(events) = de.deserialize_seq(OnePassListVisitor)
            && de.end().is_ok()
        {
            return Ok(events);
        }
        let items: Vec<&RawValue> = read_json(text, ListVisitor)?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, raw)| Event::from_json(raw.get()).map_err(|e| at_index(e, i)))
            .collect()
    }

    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Object(map) => {
                event_from_fields(map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
            }
            other => Err(Error::invalid(
                "",
                format!("expected an event object, got {}", kind_of(&other)),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    /// Reads an event from any serde format; errors carry the path in their message.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Event::from_value(value).map_err(de::Error::custom)
    }
}

/// Reads a whole JSON text with `visitor`, mapping syntax errors to [`Error::Json`].
fn read_json<'de, V: Visitor<'de>>(text: &'de str, visitor: V) -> Result<V::Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_any(visitor).map_err(json_or_root_error)?;
    de.end().map_err(json_error)?;
    Ok(value)
}

/// An object's fields, in order, each value kept for later.
struct FieldsVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for FieldsVisitor<V> {
    type Value = Vec<(Cow<'de, str>, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(Key(k)) = map.next_key()? {
            fields.push((k, map.next_value()?));
        }
        Ok(fields)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }
}

/// A map key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads an event whose first field is `type`, in one pass; `None` when the
/// text is anything else or has any error.
fn event_in_one_pass(text: &str) -> Option<Event> {
    let mut de = serde_json::Deserializer::from_str(text);
    let event = event_type_first(&mut de)?;
    de.end().ok()?;
    Some(event)
}

/// The fast path for an event from any serde source (the Python binding reads
/// dicts with it): the event if its first field is `type` and it is valid,
/// else `None`, and the caller reads it again with [`Model::from_value`] to get
/// the error with its path.
pub fn event_type_first<'de, D: Deserializer<'de>>(d: D) -> Option<Event> {
    let mut event = d.deserialize_map(OnePassVisitor).ok()?;
    event.normalize().ok()?;
    Some(event)
}

struct OnePassVisitor;

/// Deserializes one event in one pass (see [`OnePassVisitor`]), normalized.
struct OnePassSeed;

impl<'de> de::DeserializeSeed<'de> for OnePassSeed {
    type Value = Event;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Event, D::Error> {
        let mut event = d.deserialize_map(OnePassVisitor)?;
        event.normalize().map_err(|_| de::Error::custom(""))?;
        Ok(event)
    }
}

struct OnePassListVisitor;

impl<'de> Visitor<'de> for OnePassListVisitor {
    type Value = Vec<Event>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Event>, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(64));
        while let Some(event) = seq.next_element_seed(OnePassSeed)? {
            events.push(event);
        }
        Ok(events)
    }
}

#[derive(Default)]
struct CommonFields {
    id: Option<Id>,
    contact_id: Option<Option<Id>>,
    visitor_id: Option<Option<Id>>,
    at: Option<Timestamp>,
}

impl<'de> Visitor<'de> for OnePassVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object with `type` first")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let give_up = || de::Error::custom("");
        match map.next_key::<Key<'de>>()? {
            Some(Key(k)) if k == "type" => {}
            _ => return Err(give_up()),
        }
        let Key(type_name) = map.next_value::<Key<'de>>()?;
        let mut common = CommonFields::default();
        let payload = de::value::MapAccessDeserializer::new(CommonFieldsFilter {
            map: &mut map,
            common: &mut common,
        });
        let kind = EventKind::deserialize_payload(&type_name, payload).ok_or_else(give_up)??;
        Ok(Event {
            id: common.id.ok_or_else(give_up)?,
            contact_id: common.contact_id.flatten(),
            visitor_id: common.visitor_id.flatten(),
            at: common.at.ok_or_else(give_up)?,
            kind,
        })
    }
}

/// Hands the payload's fields to the payload, and keeps the common ones.
struct CommonFieldsFilter<'a, A> {
    map: &'a mut A,
    common: &'a mut CommonFields,
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::custom("duplicate field"));
    }
    Ok(())
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for CommonFieldsFilter<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            match &*key {
                "id" => set_once(&mut self.common.id, self.map.next_value()?)?,
                "contact_id" => set_once(&mut self.common.contact_id, self.map.next_value()?)?,
                "visitor_id" => set_once(&mut self.common.visitor_id, self.map.next_value()?)?,
                "at" => set_once(&mut self.common.at, self.map.next_value()?)?,
                "type" => return Err(de::Error::custom("duplicate field")),
                _ => return seed.deserialize(key.into_deserializer()).map(Some),
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Builds an event from its fields: the common ones by name, the rest as the
/// payload of the kind that `type` names.
fn event_from_fields<'de, V: FieldValue<'de>>(
    mut fields: Vec<(Cow<'de, str>, V)>,
) -> Result<Event> {
    let type_name: String = match take(&mut fields, "type")? {
        Some(v) => field("type", v)?,
        None => {
            return Err(Error::invalid(
                "type",
                "missing field; every event needs a `type`",
            ));
        }
    };
    if !EventKind::TYPES.contains(&type_name.as_str()) {
        let hint = nearest(&type_name, EventKind::TYPES.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return Err(Error::invalid(
            "type",
            format!(
                "unknown event type `{}`{hint}",
                crate::model::scalar::excerpt(&type_name)
            ),
        ));
    }
    let id: Id = required(&mut fields, "id")?;
    let contact_id: Option<Id> = optional(&mut fields, "contact_id")?;
    let visitor_id: Option<Id> = optional(&mut fields, "visitor_id")?;
    let at: Timestamp = required(&mut fields, "at")?;

    let kind = if V::RETRY_CHEAP {
        // Fast path without path tracking; on error, read again to find the path.
        let payload = MapDeserializer::new(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        match EventKind::deserialize_payload(&type_name, payload) {
            Some(Ok(kind)) => kind,
            _ => return Err(payload_error(&type_name, fields)),
        }
    } else {
        payload_tracked(&type_name, fields)?
    };

    let mut event = Event {
        id,
        contact_id,
        visitor_id,
        at,
        kind,
    };
    event.normalize()?;
    Ok(event)
}

/// Reads the payload with path tracking, so that an error says where.
fn payload_tracked<'de, V: FieldValue<'de>>(
    type_name: &str,
    fields: Vec<(Cow<'de, str>, V)>,
) -> Result<EventKind> {
    let mut track = serde_path_to_error::Track::new();
    let payload = MapDeserializer::new(fields.into_iter());
    match EventKind::deserialize_payload(
        type_name,
        serde_path_to_error::Deserializer::new(payload, &mut track),
    ) {
        Some(Ok(kind)) => Ok(kind),
        Some(Err(e)) => Err(validation_error(track.path().to_string_path(), &e)),
        None => Err(Error::invalid("type", "unknown event type")),
    }
}

fn payload_error<'de, V: FieldValue<'de>>(
    type_name: &str,
    fields: Vec<(Cow<'de, str>, V)>,
) -> Error {
    match payload_tracked(type_name, fields) {
        Err(e) => e,
        Ok(_) => Error::invalid("", "the event could not be read"),
    }
}

/// A field value kept for a second reading: a slice of JSON text, or a JSON value.
trait FieldValue<'de>: IntoDeserializer<'de, serde_json::Error> + Clone {
    /// Whether a clone is cheap enough to read twice (a slice is; a value tree is not).
    const RETRY_CHEAP: bool;
}

impl<'de> FieldValue<'de> for &'de RawValue {
    const RETRY_CHEAP: bool = true;
}

impl FieldValue<'_> for Value {
    const RETRY_CHEAP: bool = false;
}

/// Removes the field `name`; a second field of that name is an error.
fn take<K: AsRef<str>, V>(fields: &mut Vec<(K, V)>, name: &str) -> Result<Option<V>> {
    let Some(pos) = fields.iter().position(|(k, _)| k.as_ref() == name) else {
        return Ok(None);
    };
    let (_, v) = fields.remove(pos);
    if fields[pos..].iter().any(|(k, _)| k.as_ref() == name) {
        return Err(Error::invalid(name, "duplicate field"));
    }
    Ok(Some(v))
}

fn field<'de, T: Deserialize<'de>, V: IntoDeserializer<'de, serde_json::Error>>(
    name: &str,
    v: V,
) -> Result<T> {
    T::deserialize(v.into_deserializer()).map_err(|e| validation_error(name.to_string(), &e))
}

fn required<'de, T: Deserialize<'de>, V: IntoDeserializer<'de, serde_json::Error>>(
    fields: &mut Vec<(Cow<'de, str>, V)>,
    name: &str,
) -> Result<T> {
    match take(fields, name)? {
        Some(v) => field(name, v),
        None => Err(Error::invalid(name, "missing field")),
    }
}

fn optional<'de, T: Deserialize<'de>, V: IntoDeserializer<'de, serde_json::Error>>(
    fields: &mut Vec<(Cow<'de, str>, V)>,
    name: &str,
) -> Result<Option<T>> {
    match take(fields, name)? {
        Some(v) => field(name, v),
        None => Ok(None),
    }
}

trait PathString {
    fn to_string_path(&self) -> String;
}

impl PathString for serde_path_to_error::Path {
    /// `lines[2].quantity`, without the `.` that the crate prints for the root.
    fn to_string_path(&self) -> String {
        use serde_path_to_error::Segment;
        let mut out = String::new();
        for segment in self.iter() {
            match segment {
                Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                Segment::Map { key } => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Enum { .. } | Segment::Unknown => {}
            }
        }
        out
    }
}

fn from_path_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string_path();
    let inner = e.into_inner();
    if is_syntax(&inner) {
        return json_error(inner);
    }
    let location = (inner.line() > 0).then(|| Location {
        line: inner.line(),
        column: inner.column(),
    });
    match validation_error(path, &inner) {
        Error::Validation { path, message, .. } => Error::Validation {
            path,
            message,
            location,
        },
        other => other,
    }
}

fn is_syntax(e: &serde_json::Error) -> bool {
    !matches!(e.classify(), serde_json::error::Category::Data)
}

/// JSON text as a plain value; malformed text is an [`Error::Json`] with line and column.
pub(crate) fn from_json_value(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Json {
        line: e.line(),
        column: e.column(),
        message: bare_message(&e),
    }
}

fn json_or_root_error(e: serde_json::Error) -> Error {
    if is_syntax(&e) {
        json_error(e)
    } else {
        validation_error(String::new(), &e)
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn bare_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(text)
}

/// A data error at `path`; "missing field `x`" and "unknown field `x`" move the
/// field name into the path, and an unknown field gets the nearest known name.
fn validation_error(path: String, e: &serde_json::Error) -> Error {
    let message = bare_message(e);
    for (prefix, what) in [
        ("missing field `", "missing field"),
        ("unknown field `", "unknown field"),
        ("duplicate field `", "duplicate field"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((name, tail)) = rest.split_once('`')
        {
            let already = path == name || path.ends_with(&format!(".{name}"));
            let full = if already {
                path.clone()
            } else {
                crate::error::join_path(&path, name)
            };
            let reason = if what == "unknown field" {
                let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
                match nearest(name, expected.iter().copied()) {
                    Some(n) => format!("unknown field (did you mean `{n}`?)"),
                    None if expected.is_empty() => {
                        "unknown field; none are allowed here".to_string()
                    }
                    None => format!("unknown field; expected one of {}", quote_list(&expected)),
                }
            } else {
                what.to_string()
            };
            return Error::invalid(full, reason);
        }
    }
    Error::invalid(path, message)
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{"type":"order_placed","id":"e1","contact_id":"c1","at":"2024-05-01T10:00:00+02:00",
        "order_id":"o1","total":30,"currency":"eur","lines":[{"product_id":"p1","quantity":1,"unit_price":30}]}"#;

    #[test]
    fn text_and_value_agree() {
        let a: Event = from_json(ORDER).unwrap();
        let b: Event = from_value(serde_json::from_str(ORDER).unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            to_json(&a),
            r#"{"type":"order_placed","id":"e1","contact_id":"c1","at":"2024-05-01T08:00:00Z","order_id":"o1","lines":[{"product_id":"p1","quantity":1.0,"unit_price":30.0}],"total":30.0,"currency":"EUR"}"#
        );
    }

    #[test]
    fn normalized_form_parses_to_the_same_value() {
        let a: Event = from_json(ORDER).unwrap();
        let b: Event = from_json(&to_json(&a)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = ORDER.replace(r#""quantity":1"#, r#""quantity":-2"#);
        let e = from_json::<Event>(&bad).unwrap_err();
        assert_eq!(e.path(), Some("lines[0].quantity"), "{e}");
        let e = from_value::<Event>(serde_json::from_str(&bad).unwrap()).unwrap_err();
        assert_eq!(e.path(), Some("lines[0].quantity"), "{e}");
    }

    #[test]
    fn missing_and_unknown_fields_are_in_the_path() {
        let bad = ORDER.replace(r#""unit_price":30"#, r#""unit_prise":30"#);
        let e = from_json::<Event>(&bad).unwrap_err();
        assert_eq!(e.path(), Some("lines[0].unit_prise"), "{e}");
        assert!(e.reason().contains("did you mean `unit_price`"), "{e}");
        let bad = ORDER.replace(r#""order_id":"o1","#, "");
        assert_eq!(
            from_json::<Event>(&bad).unwrap_err().path(),
            Some("order_id")
        );
    }

    #[test]
    fn unknown_types_get_a_suggestion() {
        let bad = ORDER.replace("order_placed", "order_plased");
        let e = from_json::<Event>(&bad).unwrap_err();
        assert_eq!(e.path(), Some("type"));
        assert!(e.reason().contains("did you mean `order_placed`"), "{e}");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = from_json::<Event>("{\n  \"type\": }").unwrap_err();
        assert_eq!(e.code(), "json");
        assert_eq!(
            e.location(),
            Some(Location {
                line: 2,
                column: 11
            })
        );
    }

    #[test]
    fn lists_prefix_the_index() {
        let bad = format!(
            "[{ORDER}, {}]",
            ORDER.replace(r#""currency":"eur""#, r#""currency":"EURO""#)
        );
        let e = list_from_json::<Event>(&bad).unwrap_err();
        assert_eq!(e.path(), Some("[1].currency"), "{e}");
    }

    #[test]
    fn contact_paths_reach_into_consent() {
        let text = r#"{"id":"c1","consent":{"email":{"marketing":{"status":"confirmed"}}}}"#;
        let e = from_json::<Contact>(text).unwrap_err();
        assert_eq!(
            e.path(),
            Some("consent.email.marketing.confirmed_at"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod deep_tests {
    use super::*;

    #[test]
    fn very_deep_text_is_an_error_not_a_crash() {
        let depth = 200_000;
        let deep = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let text = format!(
            r#"{{"type":"custom","id":"e1","contact_id":"c1","at":"2024-05-01T10:00:00Z","name":"x","properties":{{"deep":{deep}}}}}"#
        );
        assert!(from_json::<Event>(&text).is_err());
        let text = format!(r#"{{"id":"c1","attributes":{{"deep":{deep}}}}}"#);
        assert!(from_json::<Contact>(&text).is_err());
        let list = format!("[{}1{}]", "[".repeat(depth), "]".repeat(depth));
        assert!(list_from_json::<Event>(&list).is_err());
    }
}

#[cfg(test)]
mod one_pass_tests {
    use super::*;

    #[test]
    fn normalized_arrays_take_the_one_pass_path() {
        let values = crate::sample::events(200, 20, 3);
        let texts: Vec<String> = values
            .iter()
            .map(|v| to_json(&from_value::<Event>(v.clone()).unwrap()))
            .collect();
        for t in &texts {
            assert!(event_in_one_pass(t).is_some(), "{t}");
        }
        let array = format!("[{}]", texts.join(","));
        let mut de = serde_json::Deserializer::from_str(&array);
        let events = de.deserialize_seq(OnePassListVisitor).unwrap();
        assert_eq!(events.len(), 200);
        assert_eq!(
            events,
            list_from_value::<Event>(Value::Array(values)).unwrap()
        );
    }
}
