//! How the store packs its largest rows.
//!
//! A profile is rewritten on every event of its contact and is mostly
//! repeated text (times, product ids), so it is kept as LZ4-compressed
//! JSON: a quarter of the bytes to write, and a few microseconds to pack
//! in the parallel phase. A packed body starts with a tag byte; JSON text
//! (as version 1 wrote it) starts with `{`, and reads as it is.

use std::borrow::Cow;

/// The tag of LZ4-compressed JSON.
const LZ4_JSON: u8 = 1;

/// A stored body that does not unpack.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(String);

/// JSON text packed for storage.
pub fn pack(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() / 3 + 8);
    out.push(LZ4_JSON);
    out.extend_from_slice(&lz4_flex::compress_prepend_size(json.as_bytes()));
    out
}

/// The JSON text of a stored body, packed or not.
pub fn unpack(stored: &[u8]) -> Result<Cow<'_, str>, Unreadable> {
    match stored.first() {
        Some(b'{') => std::str::from_utf8(stored)
            .map(Cow::Borrowed)
            .map_err(|e| Unreadable(format!("not UTF-8: {e}"))),
        Some(&LZ4_JSON) => {
            let bytes = lz4_flex::decompress_size_prepended(&stored[1..])
                .map_err(|e| Unreadable(format!("damaged compression: {e}")))?;
            String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|e| Unreadable(format!("not UTF-8: {e}")))
        }
        Some(tag) => Err(Unreadable(format!("unknown packing (tag {tag})"))),
        None => Err(Unreadable("empty".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_json_unpacks_and_plain_json_reads_as_it_is() {
        let json =
            r#"{"contact_id":"c1","recent":["2024-05-01T08:00:00Z","2024-05-01T08:01:00Z"]}"#;
        let packed = pack(json);
        assert_eq!(packed[0], LZ4_JSON);
        assert_eq!(unpack(&packed).unwrap(), json);
        assert_eq!(unpack(json.as_bytes()).unwrap(), json);
    }

    #[test]
    fn damaged_bodies_are_refused_not_misread() {
        let mut packed = pack(r#"{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}"#);
        packed.truncate(packed.len() - 3);
        assert!(unpack(&packed).is_err());
        assert!(unpack(&[7, 1, 2]).is_err());
        assert!(unpack(&[]).is_err());
        assert!(unpack(&[b'{', 0xff]).is_err());
    }
}
