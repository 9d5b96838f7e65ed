//! Reading call arguments (JSON text): every error's path starts with the argument's name.

use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::rfm::CustomerSummary;

/// A list of customer summaries.
pub fn customers(text: &str, name: &str) -> patron::Result<Vec<CustomerSummary>> {
    parse::list_from_json(text).map_err(|e| e.within(name))
}

/// A time, as a JSON string.
pub fn timestamp(text: &str, name: &str) -> patron::Result<Timestamp> {
    serde_json::from_str(text).map_err(|e| patron::Error::invalid(name, e.to_string()))
}

/// A configuration object.
pub fn config<T: Model>(text: &str) -> patron::Result<T> {
    T::from_json(text).map_err(|e| e.within("config"))
}
