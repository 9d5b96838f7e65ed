//! Reading call arguments (JSON text): every error's path starts with the argument's name.

use patron::parse::{self, Model};
use serde::de::DeserializeOwned;

/// One model value.
pub fn model<T: Model>(text: &str, name: &str) -> patron::Result<T> {
    T::from_json(text).map_err(|e| e.within(name))
}

/// A list of model values (customers, histories, transactions).
pub fn list<T: Model>(text: &str, name: &str) -> patron::Result<Vec<T>> {
    parse::list_from_json(text).map_err(|e| e.within(name))
}

/// A plain value such as a time or a date, as a JSON string.
pub fn value<T: DeserializeOwned>(text: &str, name: &str) -> patron::Result<T> {
    serde_json::from_str(text).map_err(|e| patron::Error::invalid(name, e.to_string()))
}

/// An optional model value: JSON `null` stays none.
pub fn optional_model<T: Model>(text: &str, name: &str) -> patron::Result<Option<T>> {
    if text.trim() == "null" {
        return Ok(None);
    }
    model(text, name).map(Some)
}

/// An optional list of model values: JSON `null` stays none.
pub fn optional_list<T: Model>(text: &str, name: &str) -> patron::Result<Option<Vec<T>>> {
    if text.trim() == "null" {
        return Ok(None);
    }
    list(text, name).map(Some)
}

/// A configuration object.
pub fn config<T: Model>(text: &str) -> patron::Result<T> {
    model(text, "config")
}
