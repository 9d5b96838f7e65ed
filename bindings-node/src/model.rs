//! Parse and validate the data model from JSON text.
//!
//! `index.js` turns JavaScript objects into JSON (a `Date` becomes
//! `{"datetime": iso}`), calls these, and parses the normalized JSON that
//! comes back; the same core functions serve Python and Rust.

use napi_derive::napi;
use patron::model::{Catalog, ConsentChange, Contact, Event, Product};
use patron::parse::{self, Model};

use crate::error::IntoJsResult;

fn one<T: Model>(text: &str) -> napi::Result<String> {
    T::from_json(text).map(|v| parse::to_json(&v)).js_err()
}

fn many<T: Model>(text: &str) -> napi::Result<String> {
    parse::list_from_json::<T>(text)
        .map(|v| parse::to_json(&v))
        .js_err()
}

/// Validates a contact (JSON text in, normalized JSON text out).
#[napi]
pub fn parse_contact_json(text: String) -> napi::Result<String> {
    one::<Contact>(&text)
}

/// Validates a JSON array of contacts.
#[napi]
pub fn parse_contacts_json(text: String) -> napi::Result<String> {
    many::<Contact>(&text)
}

/// Validates a product.
#[napi]
pub fn parse_product_json(text: String) -> napi::Result<String> {
    one::<Product>(&text)
}

/// Validates a whole catalog.
#[napi]
pub fn parse_catalog_json(text: String) -> napi::Result<String> {
    one::<Catalog>(&text)
}

/// Validates an event.
#[napi]
pub fn parse_event_json(text: String) -> napi::Result<String> {
    one::<Event>(&text)
}

/// Validates a JSON array of events.
#[napi]
pub fn parse_events_json(text: String) -> napi::Result<String> {
    many::<Event>(&text)
}

/// Checks a JSON array of events without writing the normalized form back.
#[napi]
pub fn validate_events_json(text: String) -> napi::Result<()> {
    parse::list_from_json::<Event>(&text).map(drop).js_err()
}

/// Checks one event without writing the normalized form back.
#[napi]
pub fn validate_event_json(text: String) -> napi::Result<()> {
    Event::from_json(&text).map(drop).js_err()
}

/// Validates a consent change.
#[napi]
pub fn parse_consent_change_json(text: String) -> napi::Result<String> {
    one::<ConsentChange>(&text)
}

/// Applies a consent change to a contact; returns the updated contact.
#[napi]
pub fn apply_consent_json(contact: String, change: String) -> napi::Result<String> {
    let mut contact = Contact::from_json(&contact)
        .map_err(|e| e.within("contact"))
        .js_err()?;
    let change = ConsentChange::from_json(&change)
        .map_err(|e| e.within("change"))
        .js_err()?;
    contact.apply_consent(&change).js_err()?;
    Ok(parse::to_json(&contact))
}
