//! Reading call arguments: every error's path starts with the argument's name.

use patron::parse::{self, Model};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use crate::convert::to_value;

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
