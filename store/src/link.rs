//! Names a letter keeps through retries, and signed unsubscribe tokens.
//!
//! A letter's Message-ID is a function of its contact and the engine's
//! action id, which is itself a function of the state and the inputs that
//! caused it: a letter sent again after a crash carries the same id, so
//! the store, the receiving server and the shop's logs all see one letter.

use ring::{digest, hmac};

use crate::error::Result;

/// The id of the letter for `action_id` to `contact_id`: 32 hex digits
/// (the first 128 bits of SHA-256 over both).
pub fn message_id(contact_id: &str, action_id: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(contact_id.as_bytes());
    ctx.update(&[0]);
    ctx.update(action_id.as_bytes());
    hex(&ctx.finish().as_ref()[..16])
}

/// A token for one-click unsubscribe from the letter `message_id` to
/// `contact_id`, signed with `key` (HMAC-SHA256): `contact.message.signature`,
/// with the contact id in hex so the token is safe in any URL.
pub fn unsubscribe_token(key: &str, contact_id: &str, message_id: &str) -> String {
    let body = format!("{}.{message_id}", hex(contact_id.as_bytes()));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        body.as_bytes(),
    );
    format!("{body}.{}", hex(&tag.as_ref()[..16]))
}

/// The contact and letter of a token made by [`unsubscribe_token`] with the
/// same `key`; a token changed in any character is refused.
pub fn verify_unsubscribe(key: &str, token: &str) -> Result<(String, String)> {
    let bad = |why: &str| patron::Error::invalid("token", why.to_string());
    let mut parts = token.trim().split('.');
    let (Some(contact), Some(message), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected contact.message.signature").into());
    };
    let tag = unhex(tag).ok_or_else(|| bad("the signature is not hex"))?;
    let body = format!("{contact}.{message}");
    let full = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        body.as_bytes(),
    );
    // Compared in constant time: how much of a guess matches says nothing.
    let differ = full.as_ref()[..16]
        .iter()
        .zip(&tag)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if tag.len() != 16 || differ != 0 {
        return Err(bad(
            "the signature does not match: the token was changed or made with another key",
        )
        .into());
    }
    let contact = unhex(contact)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("the contact is not hex"))?;
    Ok((contact, message.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let id = message_id("anna", "abandoned_cart/e1/1h");
        assert_eq!(id, message_id("anna", "abandoned_cart/e1/1h"));
        assert_eq!(id.len(), 32);
        assert_ne!(id, message_id("anna", "abandoned_cart/e1/1d"));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(message_id("ab", "c"), message_id("a", "bc"));
    }

    #[test]
    fn tokens_verify_and_refuse_any_change() {
        let token = unsubscribe_token("secret", "anna/1", "m1");
        assert_eq!(
            verify_unsubscribe("secret", &token).unwrap(),
            ("anna/1".to_string(), "m1".to_string())
        );
        assert!(verify_unsubscribe("other", &token).is_err());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed != token {
                assert!(verify_unsubscribe("secret", &changed).is_err(), "{changed}");
            }
        }
        assert!(verify_unsubscribe("secret", "").is_err());
        assert!(verify_unsubscribe("secret", "a.b.c.d").is_err());
    }
}
