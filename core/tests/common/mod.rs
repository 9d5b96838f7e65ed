//! Public data the validation tests read: fetched by `make data` into
//! `target/data` (or `PATRON_DATA_DIR`), never committed.

use std::path::PathBuf;

/// The text of data file `relative`, or none when it has not been fetched;
/// with `PATRON_REQUIRE_DATA=1` (as `make test` sets) a missing file fails.
pub fn read_data(relative: &str) -> Option<String> {
    let dir = std::env::var_os("PATRON_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/data"));
    let path = dir.join(relative);
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("PATRON_REQUIRE_DATA").as_deref() != Ok("1"),
            "{} is missing: run `make data`",
            path.display()
        );
        eprintln!("skipped: {} is missing (run `make data`)", path.display());
        return None;
    };
    Some(text)
}
