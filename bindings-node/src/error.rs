//! The one place where core errors become JavaScript errors.
//!
//! The native error's message is a small JSON object (`code`, `message`,
//! `path`, `line`, `column`); `index.js` turns it into a `PatronError`
//! subclass with those fields, so users match on `err.code`, never on text.

use napi::{Error, Status};
use serde_json::json;

/// Converts a core error for the JavaScript wrapper.
pub fn to_js(e: patron::Error) -> Error {
    let location = e.location();
    let payload = json!({
        "code": e.code(),
        "message": e.to_string(),
        "path": e.path(),
        "line": location.map(|l| l.line),
        "column": location.map(|l| l.column),
    });
    Error::new(Status::InvalidArg, format!("{PREFIX}{payload}"))
}

/// Converts a store error for the JavaScript wrapper: the core's kinds as
/// everywhere, the store's own codes (`corrupt`, `newer_schema`, `full`,
/// `busy`, `database`, `no_config`, `channel`, `io`); a bad line of JSON
/// lines carries that line, and the column within it.
pub fn store_to_js(e: patron_store::Error) -> Error {
    let payload = json!({
        "code": e.code(),
        "message": e.to_string(),
        "path": e.path(),
        "line": e.line(),
        "column": e.column(),
    });
    Error::new(Status::InvalidArg, format!("{PREFIX}{payload}"))
}

/// Marks a message that `index.js` decodes.
pub const PREFIX: &str = "patron:";

/// `?` for core results inside exported functions.
pub trait IntoJsResult<T> {
    /// Maps the error to its JavaScript form.
    fn js_err(self) -> napi::Result<T>;
}

impl<T> IntoJsResult<T> for patron::Result<T> {
    fn js_err(self) -> napi::Result<T> {
        self.map_err(to_js)
    }
}
