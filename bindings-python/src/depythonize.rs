//! A serde deserializer that reads Python objects directly, without building
//! an intermediate JSON value: the fast path for events from dicts.
//!
//! It accepts what `convert::to_value` accepts and maps it the same way (an
//! aware `datetime` reads as `{"datetime": text}`, a `date` as `YYYY-MM-DD`).
//! Errors carry no path: on any error the caller reads the object again
//! through `convert::to_value` and the core, which name the path.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDict, PyDictMethods, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Deepest nesting read, as for JSON text.
const MAX_DEPTH: usize = 128;

/// Why a Python object could not be read (the caller finds the path).
#[derive(Debug)]
pub struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

fn fail<T>(msg: &str) -> Result<T, DeError> {
    Err(DeError(msg.to_string()))
}

/// Reads one Python object.
pub struct PyDe<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    depth: usize,
}

impl<'a, 'py> PyDe<'a, 'py> {
    /// A deserializer for `obj`.
    pub fn new(obj: &'a Bound<'py, PyAny>) -> Self {
        PyDe { obj, depth: 0 }
    }
}

impl<'de> de::Deserializer<'de> for PyDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let obj = self.obj;
        if self.depth > MAX_DEPTH {
            return fail("nesting too deep");
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return match s.to_str() {
                Ok(text) => visitor.visit_str(text),
                Err(_) => fail("text is not valid UTF-8"),
            };
        }
        if obj.is_none() {
            return visitor.visit_unit();
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return visitor.visit_bool(b.is_true());
        }
        if let Ok(i) = obj.cast::<PyInt>() {
            if let Ok(v) = i.extract::<i64>() {
                return visitor.visit_i64(v);
            }
            return match i.extract::<u64>() {
                Ok(v) => visitor.visit_u64(v),
                Err(_) => fail("integer out of range"),
            };
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            let v = f.value();
            return if v.is_finite() {
                visitor.visit_f64(v)
            } else {
                fail("not a finite number")
            };
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return visitor.visit_map(DictAccess {
                items: dict.iter(),
                value: None,
                depth: self.depth + 1,
            });
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let items = obj.try_iter().map_err(|e| DeError(e.to_string()))?;
            return visitor.visit_seq(ListAccess {
                items,
                depth: self.depth + 1,
            });
        }
        if obj.is_instance_of::<PyDateTime>() {
            let Ok(t) = obj.extract::<DateTime<FixedOffset>>() else {
                return fail("naive datetime");
            };
            let text = t
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true);
            let entry = std::iter::once(("datetime", text));
            return visitor.visit_map(de::value::MapDeserializer::new(entry));
        }
        if obj.is_instance_of::<PyDate>() {
            let Ok(d) = obj.extract::<NaiveDate>() else {
                return fail("unreadable date");
            };
            return visitor.visit_string(d.format("%Y-%m-%d").to_string());
        }
        fail("unsupported Python type")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.obj.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.obj.cast::<PyString>().map(|s| s.to_str()) {
            Ok(Ok(text)) => visitor.visit_enum(text.into_deserializer()),
            _ => fail("expected a name"),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct DictAccess<'py> {
    items: pyo3::types::iter::BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
    depth: usize,
}

impl<'de> MapAccess<'de> for DictAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.items.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        match key.cast::<PyString>().map(|s| s.to_str()) {
            Ok(Ok(text)) => seed
                .deserialize(de::value::StrDeserializer::<DeError>::new(text))
                .map(Some),
            _ => fail("expected text keys"),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(value) = self.value.take() else {
            return fail("a value without its key");
        };
        seed.deserialize(PyDe {
            obj: &value,
            depth: self.depth,
        })
    }
}

struct ListAccess<'py> {
    items: Bound<'py, pyo3::types::PyIterator>,
    depth: usize,
}

impl<'de> SeqAccess<'de> for ListAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some(Err(e)) => Err(DeError(e.to_string())),
            Some(Ok(item)) => seed
                .deserialize(PyDe {
                    obj: &item,
                    depth: self.depth,
                })
                .map(Some),
        }
    }
}
