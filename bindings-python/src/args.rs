//! Reading call arguments: every error's path starts with the argument's name.

use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::rfm::CustomerSummary;
use pyo3::prelude::*;

use crate::convert::to_value;

/// One model value.
pub fn model<T: Model>(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<T> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    T::from_value(value).map_err(|e| e.within(name))
}

/// A list of customer summaries.
pub fn customers(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Vec<CustomerSummary>> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    parse::list_from_value(value).map_err(|e| e.within(name))
}

/// A time: an aware datetime or RFC 3339 text.
pub fn timestamp(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Timestamp> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    serde_json::from_value(value).map_err(|e| patron::Error::invalid(name, e.to_string()))
}

/// An optional configuration; `None` gives the defaults.
pub fn config<T: Model + Default>(data: Option<&Bound<'_, PyAny>>) -> patron::Result<T> {
    data.filter(|d| !d.is_none())
        .map_or_else(|| Ok(T::default()), |d| model(d, "config"))
}

/// Any serde value (a date, a time) read from a Python object.
pub fn model_value<T: serde::de::DeserializeOwned>(
    data: &Bound<'_, PyAny>,
    name: &str,
) -> patron::Result<T> {
    let value = to_value(data).map_err(|e| e.into_core().within(name))?;
    serde_json::from_value(value).map_err(|e| patron::Error::invalid(name, e.to_string()))
}
