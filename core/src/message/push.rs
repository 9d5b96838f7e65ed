//! Push notifications: a title and a body within the limits devices show.
//!
//! The defaults are what Android shows uncollapsed (65 characters of title,
//! 240 of body); iOS shows about 178 characters in all on a lock screen.
//! Characters are counted as a person counts them (Unicode scalar values).
//!
//! ```
//! use patron::message::push::{self, PushLimits};
//!
//! let limits = PushLimits { title: 10, body: 20, ..PushLimits::default() };
//! let p = push::fit("Summer sale today", "Everything 20% off until Sunday night", &limits)?;
//! assert_eq!((p.title.as_str(), p.body.as_str()), ("Summer…", "Everything 20% off…"));
//! assert!(p.truncated);
//! # Ok::<(), patron::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::sms::Overflow;
use crate::error::{Error, Result};

/// The most characters of a title and a body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushLimits {
    /// Characters of title.
    pub title: usize,
    /// Characters of body.
    pub body: usize,
    /// What to do with a longer text.
    pub overflow: Overflow,
    /// Appended to a cut text (counted within the limit).
    pub ellipsis: String,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            title: 65,
            body: 240,
            overflow: Overflow::Truncate,
            ellipsis: "…".to_string(),
        }
    }
}

/// A title and body within the limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
    /// Whether either was cut.
    pub truncated: bool,
}

/// Fits a title and a body to `limits`; whitespace runs become one space.
pub fn fit(title: &str, body: &str, limits: &PushLimits) -> Result<Push> {
    let (title, cut_title) = cut("title", title, limits.title, limits)?;
    let (body, cut_body) = cut("body", body, limits.body, limits)?;
    Ok(Push {
        title,
        body,
        truncated: cut_title || cut_body,
    })
}

fn cut(path: &str, text: &str, max: usize, limits: &PushLimits) -> Result<(String, bool)> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = text.chars().count();
    if n <= max {
        return Ok((text, false));
    }
    if limits.overflow == Overflow::Error {
        return Err(Error::invalid(
            path,
            format!("expected at most {max} characters, got {n}"),
        ));
    }
    let room = max.saturating_sub(limits.ellipsis.chars().count());
    let end = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let mut kept = &text[..end];
    if let Some(space) = kept.rfind(' ')
        && space * 2 >= kept.len()
        && !text[end..].starts_with(' ')
    {
        kept = &kept[..space];
    }
    Ok((format!("{}{}", kept.trim_end(), limits.ellipsis), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_pass_and_long_ones_fail_when_asked() {
        let p = fit("Hi", "Body", &PushLimits::default()).unwrap();
        assert!(!p.truncated);
        let strict = PushLimits {
            overflow: Overflow::Error,
            title: 3,
            ..PushLimits::default()
        };
        assert_eq!(fit("Hello", "", &strict).unwrap_err().path(), Some("title"));
    }

    #[test]
    fn cut_texts_stay_within_the_limit() {
        for max in 1..30 {
            let l = PushLimits {
                title: max,
                body: max,
                ..PushLimits::default()
            };
            let p = fit("Ünïcödé words all the way down", "x", &l).unwrap();
            assert!(p.title.chars().count() <= max.max(1), "{max}: {}", p.title);
        }
    }
}
