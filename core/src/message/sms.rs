//! SMS: which alphabet a text needs, how long it is, how many parts it
//! takes, and fitting it to a number of parts.
//!
//! A text whose every character is in the GSM 03.38 alphabet goes as GSM-7:
//! 160 septets in one part, 153 per part when split (the rest of each part
//! holds the concatenation header). The extension table characters
//! (`^ { } \ [ ~ ] | €` and form feed) take two septets each, and a part
//! never splits one. Any other character (Cyrillic, an emoji, a curly quote)
//! turns the whole text into UCS-2: 70 UTF-16 units in one part, 67 per part,
//! and an emoji (two units) never split. Mixed alphabets are therefore UCS-2:
//! [`Measure::non_gsm`] lists the characters that forced it, and
//! [`Fit::normalize`] replaces common look-alikes (curly quotes, dashes, the
//! ellipsis, no-break spaces) first, which often keeps a text in GSM-7.
//!
//! ```
//! use patron::message::sms::{self, Encoding, Fit};
//!
//! let m = sms::measure("Hi Ann, 20% off {today}");
//! assert_eq!((m.encoding, m.units, m.parts), (Encoding::Gsm7, 25, 1));
//! let m = sms::measure("Привет, Ann");
//! assert_eq!((m.encoding, m.units, m.parts, m.non_gsm.len()), (Encoding::Ucs2, 11, 1, 6));
//!
//! let long = "word ".repeat(40);
//! let fitted = sms::fit(&long, &Fit { max_parts: 1, ..Fit::default() })?;
//! assert!(fitted.text.ends_with("...") && sms::measure(&fitted.text).parts == 1);
//! # Ok::<(), patron::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The GSM 03.38 basic character set (one septet each; ESC left out).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (two septets each: ESC and the character).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// The alphabet a text is sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38, 7 bits a character.
    Gsm7,
    /// UCS-2 (UTF-16), 16 bits a unit.
    Ucs2,
}

/// What a text costs as an SMS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// The alphabet.
    pub encoding: Encoding,
    /// Characters, as a person counts them.
    pub chars: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Parts the text is split into; 0 for an empty text.
    pub parts: usize,
    /// Units one part holds at this length (160 / 153, 70 / 67).
    pub per_part: usize,
    /// Units left in the last part.
    pub remaining: usize,
    /// The distinct characters outside GSM-7, in order of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_gsm: Vec<char>,
}

/// Septets of `c` in GSM-7, or `None` outside the alphabet.
fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

fn units(c: char, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

fn limits(encoding: Encoding) -> (usize, usize) {
    match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    }
}

/// The encoding `text` needs.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| septets(c).is_some()) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// Parts `text` takes, splitting so that no character straddles two parts.
fn count_parts(text: &str, encoding: Encoding, total: usize) -> usize {
    let (single, multi) = limits(encoding);
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let mut parts = 1;
    let mut used = 0;
    for c in text.chars() {
        let u = units(c, encoding);
        if used + u > multi {
            parts += 1;
            used = 0;
        }
        used += u;
    }
    parts
}

/// Measures `text`.
pub fn measure(text: &str) -> Measure {
    let encoding = encoding(text);
    let mut non_gsm = Vec::new();
    if encoding == Encoding::Ucs2 {
        for c in text.chars() {
            if septets(c).is_none() && !non_gsm.contains(&c) {
                non_gsm.push(c);
            }
        }
    }
    let total: usize = text.chars().map(|c| units(c, encoding)).sum();
    let parts = count_parts(text, encoding, total);
    let (single, multi) = limits(encoding);
    let per_part = if parts <= 1 { single } else { multi };
    let remaining = if parts <= 1 {
        single - total.min(single)
    } else {
        // Units in the last part, by the same split.
        let mut used = 0;
        for c in text.chars() {
            let u = units(c, encoding);
            if used + u > multi {
                used = 0;
            }
            used += u;
        }
        multi - used
    };
    Measure {
        encoding,
        chars: text.chars().count(),
        units: total,
        parts,
        per_part,
        remaining,
        non_gsm,
    }
}

/// What to do with a text longer than allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Cut at the last word that fits and add the ellipsis.
    #[default]
    Truncate,
    /// Refuse: a validation error says how many parts the text needs.
    Error,
}

/// How to fit a text into a number of parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fit {
    /// The most parts allowed (1 to 10).
    pub max_parts: usize,
    /// What to do when the text needs more.
    pub overflow: Overflow,
    /// Appended to a cut text.
    pub ellipsis: String,
    /// Replace look-alikes (curly quotes, dashes, `…`, no-break spaces)
    /// with GSM-7 characters before measuring.
    pub normalize: bool,
}

impl Default for Fit {
    fn default() -> Self {
        Fit {
            max_parts: 1,
            overflow: Overflow::Truncate,
            ellipsis: "...".to_string(),
            normalize: true,
        }
    }
}

/// A text fitted to its parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fitted {
    /// The text to send.
    pub text: String,
    /// Whether it was cut.
    pub truncated: bool,
    /// Its measure.
    pub measure: Measure,
}

/// Replaces look-alikes with GSM-7 characters.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => out.push('"'),
            '\u{2013}' | '\u{2014}' | '\u{2212}' => out.push('-'),
            '\u{2026}' => out.push_str("..."),
            '\u{00A0}' | '\u{2009}' | '\u{202F}' => out.push(' '),
            '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Fits `text` into `fit.max_parts` parts.
pub fn fit(text: &str, fit: &Fit) -> Result<Fitted> {
    if !(1..=10).contains(&fit.max_parts) {
        return Err(Error::invalid(
            "max_parts",
            format!("expected 1 to 10 parts, got {}", fit.max_parts),
        ));
    }
    let text = if fit.normalize {
        normalize(text)
    } else {
        text.to_string()
    };
    let m = measure(&text);
    if m.parts <= fit.max_parts {
        return Ok(Fitted {
            text,
            truncated: false,
            measure: m,
        });
    }
    if fit.overflow == Overflow::Error {
        return Err(Error::invalid(
            "text",
            format!(
                "the text needs {} {} parts ({} units), at most {} allowed",
                m.parts,
                match m.encoding {
                    Encoding::Gsm7 => "GSM-7",
                    Encoding::Ucs2 => "UCS-2",
                },
                m.units,
                fit.max_parts
            ),
        ));
    }
    // The budget in the text's own encoding; the ellipsis may force UCS-2.
    let encoding = if encoding(&fit.ellipsis) == Encoding::Ucs2 {
        Encoding::Ucs2
    } else {
        m.encoding
    };
    let (single, multi) = limits(encoding);
    let fits = |s: &str| {
        let total: usize = s.chars().map(|c| units(c, encoding)).sum();
        let budget = if fit.max_parts == 1 {
            single
        } else {
            multi * fit.max_parts
        };
        total <= budget && count_parts(s, encoding, total) <= fit.max_parts
    };
    // Longest prefix (in chars) that fits with the ellipsis.
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let end = chars.get(mid).map_or(text.len(), |(i, _)| *i);
        if fits(&format!("{}{}", &text[..end], fit.ellipsis)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let end = chars.get(lo).map_or(text.len(), |(i, _)| *i);
    let mut cut = &text[..end];
    // Back to the last word boundary, unless that loses more than half.
    if let Some(space) = cut.rfind(char::is_whitespace)
        && space * 2 >= cut.len()
        && !text[end..].starts_with(char::is_whitespace)
    {
        cut = &cut[..space];
    }
    // No dangling punctuation before the ellipsis ("night...." reads badly).
    let cut = cut
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '-'));
    let out = format!("{cut}{}", fit.ellipsis);
    let measure = measure(&out);
    Ok(Fitted {
        text: out,
        truncated: true,
        measure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_and_multipart_limits() {
        assert_eq!(measure(&"a".repeat(160)).parts, 1);
        assert_eq!(measure(&"a".repeat(161)).parts, 2);
        assert_eq!(measure(&"a".repeat(306)).parts, 2);
        assert_eq!(measure(&"a".repeat(307)).parts, 3);
        assert_eq!(measure(&"ж".repeat(70)).parts, 1);
        assert_eq!(measure(&"ж".repeat(71)).parts, 2);
        assert_eq!(measure(&"ж".repeat(134)).parts, 2);
        assert_eq!(measure("").parts, 0);
    }

    #[test]
    fn extension_characters_count_twice_and_never_straddle() {
        let m = measure("€");
        assert_eq!((m.encoding, m.units, m.chars), (Encoding::Gsm7, 2, 1));
        assert_eq!(measure(&"€".repeat(80)).parts, 1);
        assert_eq!(measure(&"€".repeat(81)).parts, 2);
        // 152 septets then a 2-septet character: it moves to part 2.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let m = measure(&text);
        assert_eq!((m.units, m.parts), (164, 2));
    }

    #[test]
    fn emoji_take_two_units_and_force_ucs2() {
        let m = measure("Sale 🎉");
        assert_eq!((m.encoding, m.units, m.chars), (Encoding::Ucs2, 7, 6));
        assert_eq!(m.non_gsm, vec!['🎉']);
    }

    #[test]
    fn normalizing_keeps_gsm7() {
        let f = fit("It’s “great” — really…", &Fit::default()).unwrap();
        assert_eq!(f.text, "It's \"great\" - really...");
        assert_eq!(f.measure.encoding, Encoding::Gsm7);
    }

    #[test]
    fn overflow_error_says_how_many_parts() {
        let e = fit(
            &"a".repeat(400),
            &Fit {
                max_parts: 2,
                overflow: Overflow::Error,
                ..Fit::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("text"));
        assert!(e.to_string().contains("needs 3 GSM-7 parts"), "{e}");
    }

    proptest! {
        #[test]
        fn fitted_text_always_fits(text in "[a-z €жЖ🎉\\n{}]{0,400}", parts in 1usize..4) {
            let f = fit(&text, &Fit { max_parts: parts, ..Fit::default() }).unwrap();
            prop_assert!(f.measure.parts <= parts);
            if !f.truncated {
                prop_assert_eq!(f.text, normalize(&text));
            }
        }
    }
}
