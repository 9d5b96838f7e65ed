//! Reading call arguments: every error's path starts with the argument's name.

use patron::parse::{self, Model};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use serde::Serialize;

use crate::columns;
use crate::convert::{to_py, to_value};

/// One model value.
pub fn model<T: Model>(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<T> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    T::from_value(value).map_err(|e| e.within(name))
}

/// A list of model values (customers, histories, transactions).
pub fn list<T: Model>(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Vec<T>> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    parse::list_from_value(value).map_err(|e| e.within(name))
}

/// An optional model value: `None` (absent or Python `None`) stays none.
pub fn optional_model<T: Model>(
    data: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> patron::Result<Option<T>> {
    data.filter(|d| !d.is_none())
        .map(|d| model(d, name))
        .transpose()
}

/// An optional list of model values: `None` stays none.
pub fn optional_list<T: Model>(
    data: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> patron::Result<Option<Vec<T>>> {
    data.filter(|d| !d.is_none())
        .map(|d| list(d, name))
        .transpose()
}

/// How a bulk argument came in, so the result goes back the same way.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A list of dicts: a list of dicts back.
    Rows,
    /// An Arrow table or a dict of columns: an Arrow table back.
    Columns,
}

impl Shape {
    /// `items` as Python objects in this shape.
    pub fn to_py<'py, T: Serialize>(
        self,
        py: Python<'py>,
        items: &[T],
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Shape::Rows => to_py(py, &items),
            Shape::Columns => columns::to_table(py, items),
        }
    }
}

/// A bulk argument: a list of dicts, or columnar data (see [`columns`]),
/// read without the GIL when columnar.
pub fn bulk<T: Model + Send>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    name: &str,
) -> patron::Result<(Vec<T>, Shape)> {
    if columns::is_columnar(data) {
        let table = columns::read_table(data, name)?;
        let rows = py.detach(|| table.rows(name))?;
        Ok((rows, Shape::Columns))
    } else {
        Ok((list(data, name)?, Shape::Rows))
    }
}

/// A plain value such as a time (aware datetime or RFC 3339 text) or a date.
pub fn value<T: DeserializeOwned>(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<T> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    serde_json::from_value(value).map_err(|e| patron::Error::invalid(name, e.to_string()))
}

/// An optional configuration; `None` gives the defaults.
pub fn config<T: Model + Default>(data: Option<&Bound<'_, PyAny>>) -> patron::Result<T> {
    data.filter(|d| !d.is_none())
        .map_or_else(|| Ok(T::default()), |d| model(d, "config"))
}
