//! Node bindings of patron: thin wrappers over the core, exported through
//! napi-rs. `index.js` in front of them is the public entry point.

// napi-derive registers exported functions only outside `cfg(test)`, so a
// test build (clippy --all-targets) sees them as unused.
#![cfg_attr(test, allow(dead_code))]

mod args;
mod error;
mod export;
mod lifecycle;
mod message;
mod metrics;
mod model;
mod predict;
mod profile;
mod purchase;
mod recommend;
mod rfm;
mod segment;
mod store;
mod task;
mod trigger;

/// The version of the native addon, to check it matches the JavaScript wrapper.
#[napi_derive::napi]
pub fn native_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
