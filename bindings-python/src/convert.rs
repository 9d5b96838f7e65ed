//! Python objects to the core's JSON values, and core values to Python objects.
//!
//! In: dicts, lists, tuples, str, int, float, bool, None; aware `datetime`
//! becomes `{"datetime": text}` (the typed form core reads for timestamps and
//! datetime attributes) and `date` becomes `YYYY-MM-DD`. Out: a serde
//! serializer that builds dicts and lists, and turns the core's timestamp and
//! date markers into aware `datetime` (UTC) and `date` objects.

use chrono::{DateTime, NaiveDate, Utc};
use patron::model::scalar::{ATTRIBUTE_DATETIME_MARKER, DATE_MARKER, DATETIME_MARKER};
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// Deepest nesting accepted from Python, as for JSON text.
const MAX_DEPTH: usize = 128;

/// Why a Python object could not be read, and where (innermost segment first).
pub struct ConvertError {
    segments: Vec<Segment>,
    message: String,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl ConvertError {
    fn new(message: impl Into<String>) -> Self {
        ConvertError {
            segments: Vec::new(),
            message: message.into(),
        }
    }

    /// The error as the core would report it: a validation error at a path.
    pub fn into_core(self) -> patron::Error {
        let mut path = String::new();
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
                Segment::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
            }
        }
        patron::Error::invalid(path, self.message)
    }
}

/// Converts a Python object into a JSON value.
pub fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    convert(obj, 0)
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::new(format!(
            "nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(|s| Value::String(s.to_owned()))
            .map_err(|_| ConvertError::new("expected text that is valid UTF-8"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        return Err(ConvertError::new(
            "expected an integer that fits in 64 bits",
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| ConvertError::new(format!("expected a finite number, got {v}")));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key = k
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_str().ok().map(str::to_owned))
                .ok_or_else(|| {
                    ConvertError::new(format!(
                        "expected text keys, got a key of type {}",
                        type_name(&k)
                    ))
                })?;
            let value = convert(&v, depth + 1).map_err(|mut e| {
                e.segments.push(Segment::Key(key.clone()));
                e
            })?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::with_capacity(obj.len().unwrap_or(0));
        for (i, item) in obj
            .try_iter()
            .map_err(|e| ConvertError::new(e.to_string()))?
            .enumerate()
        {
            let item = item.map_err(|e| ConvertError::new(e.to_string()))?;
            items.push(convert(&item, depth + 1).map_err(|mut e| {
                e.segments.push(Segment::Index(i));
                e
            })?);
        }
        return Ok(Value::Array(items));
    }
    if obj.is_instance_of::<PyDateTime>() {
        let t: DateTime<chrono::FixedOffset> = obj.extract().map_err(|_| {
            ConvertError::new("expected a timezone-aware datetime (a naive datetime has no offset)")
        })?;
        let text = t
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let mut map = Map::new();
        map.insert("datetime".into(), Value::String(text));
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyDate>() {
        let d: NaiveDate = obj
            .extract()
            .map_err(|e: PyErr| ConvertError::new(e.to_string()))?;
        return Ok(Value::String(d.format("%Y-%m-%d").to_string()));
    }
    Err(ConvertError::new(format!(
        "expected dict, list, str, int, float, bool, None, datetime or date, got {}",
        type_name(obj)
    )))
}

/// The Python type name of `obj`, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Builds Python objects from any core value.
pub fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    PyBuilder::new(py).build(value)
}

/// Builds Python objects from a large core value (a model of millions of
/// numbers) with Python's cyclic garbage collector paused: each new list
/// counts towards a collection, and collections over a growing heap of
/// fresh lists took a fifth of a model's build time. Nothing built here is
/// garbage, and the collector runs again as it was when this returns.
pub fn to_py_large<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let gc = py.import("gc")?;
    let enabled: bool = gc.call_method0("isenabled")?.extract()?;
    if enabled {
        gc.call_method0("disable")?;
    }
    let out = to_py(py, value);
    if enabled {
        gc.call_method0("enable")?;
    }
    out
}

/// Builds Python objects, reusing one Python string per field name: struct
/// field names are `&'static str`, so their address identifies them.
pub struct PyBuilder<'py> {
    py: Python<'py>,
    keys: RefCell<HashMap<usize, Bound<'py, PyString>>>,
}

impl<'py> PyBuilder<'py> {
    /// A builder with an empty name cache.
    pub fn new(py: Python<'py>) -> Self {
        PyBuilder {
            py,
            keys: RefCell::new(HashMap::new()),
        }
    }

    /// Builds the Python form of `value`.
    pub fn build<T: Serialize + ?Sized>(&self, value: &T) -> PyResult<Bound<'py, PyAny>> {
        value
            .serialize(ToPy {
                py: self.py,
                builder: self,
            })
            .map_err(|e| PyValueError::new_err(e.0))
    }

    fn field_name(&self, name: &'static str) -> Bound<'py, PyString> {
        let mut keys = self.keys.borrow_mut();
        keys.entry(name.as_ptr() as usize)
            .or_insert_with(|| PyString::intern(self.py, name))
            .clone()
    }
}

/// A failure while building Python objects (only a failing Python API call).
#[derive(Debug)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl ser::Error for BuildError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BuildError(msg.to_string())
    }
}

impl From<PyErr> for BuildError {
    fn from(e: PyErr) -> Self {
        BuildError(e.to_string())
    }
}

#[derive(Clone, Copy)]
struct ToPy<'a, 'py> {
    py: Python<'py>,
    builder: &'a PyBuilder<'py>,
}

type Out<'py> = Result<Bound<'py, PyAny>, BuildError>;

impl<'py> ToPy<'_, 'py> {
    fn obj<T: IntoPyObject<'py>>(self, v: T) -> Out<'py> {
        v.into_bound_py_any(self.py).map_err(BuildError::from)
    }
}

impl<'a, 'py> ser::Serializer for ToPy<'a, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    type SerializeSeq = ListBuilder<'a, 'py>;
    type SerializeTuple = ListBuilder<'a, 'py>;
    type SerializeTupleStruct = ListBuilder<'a, 'py>;
    type SerializeTupleVariant = Impossible<Self::Ok, BuildError>;
    type SerializeMap = DictBuilder<'a, 'py>;
    type SerializeStruct = DictBuilder<'a, 'py>;
    type SerializeStructVariant = Impossible<Self::Ok, BuildError>;

    fn serialize_bool(self, v: bool) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_i8(self, v: i8) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_i16(self, v: i16) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_i32(self, v: i32) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_i64(self, v: i64) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_u8(self, v: u8) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_u16(self, v: u16) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_u32(self, v: u32) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_u64(self, v: u64) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_f32(self, v: f32) -> Out<'py> {
        self.obj(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_char(self, v: char) -> Out<'py> {
        self.obj(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Out<'py> {
        self.obj(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Out<'py> {
        self.obj(v.to_vec())
    }
    fn serialize_none(self) -> Out<'py> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Out<'py> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Out<'py> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Out<'py> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Out<'py> {
        self.obj(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Out<'py> {
        if name == DATETIME_MARKER || name == DATE_MARKER {
            let text = match serde_json::to_value(value) {
                Ok(Value::String(s)) => s,
                _ => return Err(BuildError(format!("{name} must hold text"))),
            };
            if name == DATETIME_MARKER {
                let t =
                    DateTime::parse_from_rfc3339(&text).map_err(|e| BuildError(e.to_string()))?;
                return self.obj(t.with_timezone(&Utc));
            }
            let d = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|e| BuildError(e.to_string()))?;
            return self.obj(d);
        }
        if name == ATTRIBUTE_DATETIME_MARKER {
            // `{"datetime": t}` in JSON; a plain datetime in Python.
            let dict = value.serialize(self)?;
            return dict.get_item("datetime").map_err(BuildError::from);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Out<'py> {
        let dict = PyDict::new(self.py);
        dict.set_item(variant, value.serialize(self)?)?;
        Ok(dict.into_any())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder<'a, 'py>, BuildError> {
        Ok(ListBuilder {
            to: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<ListBuilder<'a, 'py>, BuildError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<ListBuilder<'a, 'py>, BuildError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, BuildError> {
        Err(BuildError(format!(
            "{name}: tuple variants have no Python form"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<DictBuilder<'a, 'py>, BuildError> {
        Ok(DictBuilder {
            to: self,
            dict: PyDict::new(self.py),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<DictBuilder<'a, 'py>, BuildError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, BuildError> {
        Err(BuildError(format!(
            "{name}: struct variants have no Python form"
        )))
    }
}

struct ListBuilder<'a, 'py> {
    to: ToPy<'a, 'py>,
    items: Vec<Bound<'py, PyAny>>,
}

impl<'py> ListBuilder<'_, 'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BuildError> {
        self.items.push(value.serialize(self.to)?);
        Ok(())
    }
    fn finish(self) -> Out<'py> {
        Ok(PyList::new(self.to.py, self.items)?.into_any())
    }
}

impl<'py> ser::SerializeSeq for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BuildError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BuildError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for ListBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BuildError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

struct DictBuilder<'a, 'py> {
    to: ToPy<'a, 'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

impl<'py> ser::SerializeMap for DictBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), BuildError> {
        self.key = Some(key.serialize(self.to)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BuildError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| BuildError("a map value came before its key".into()))?;
        self.dict.set_item(key, value.serialize(self.to)?)?;
        Ok(())
    }
    fn end(self) -> Out<'py> {
        Ok(self.dict.into_any())
    }
}

impl<'py> ser::SerializeStruct for DictBuilder<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = BuildError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), BuildError> {
        let key = self.to.builder.field_name(key);
        self.dict.set_item(key, value.serialize(self.to)?)?;
        Ok(())
    }
    fn end(self) -> Out<'py> {
        Ok(self.dict.into_any())
    }
}
