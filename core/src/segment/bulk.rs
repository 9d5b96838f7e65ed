//! Every segment over a whole base at once: one bit per contact and
//! segment, computed in parallel. Counts, member lists and the overlap
//! matrix are then counts of bits, not passes over the facts.
//!
//! ```
//! use patron::segment::Registry;
//! use patron::{model::Timestamp, parse, profile};
//!
//! let events: Vec<patron::Event> = parse::list_from_json(r#"[
//!   {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-03T10:00:00Z", "order_id": "o1",
//!    "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 80}], "total": 80, "currency": "EUR"},
//!   {"type": "product_viewed", "id": "e2", "contact_id": "ben", "at": "2024-06-05T10:00:00Z", "product_id": "p1"}
//! ]"#)?;
//! let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let facts = profile::facts_all(&profile::build(&events)?, as_of, None)?;
//! let registry = Registry::from_json(r#"{"buyers": "orders >= 1", "browsers": "orders = 0"}"#)?;
//!
//! let all = registry.evaluate(&facts)?;
//! assert_eq!(all.count("buyers")?, 1);
//! assert_eq!(all.rows("browsers")?, [1]);
//! assert_eq!(all.overlap().both, [[1, 0], [0, 1]]);
//! # Ok::<(), patron::Error>(())
//! ```

use rayon::prelude::*;

use super::{Membership, Overlap, Registry};
use crate::error::Result;
use crate::profile::Facts;

/// Contacts per parallel task: a whole number of 64-bit words.
pub(super) const CHUNK: usize = 64 * 64;

/// Which contacts are in which segments, one bit each.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    segments: Vec<String>,
    rows: usize,
    /// `bits[s]`: the contacts in segment `s`, bit `row % 64` of word `row / 64`.
    bits: Vec<Vec<u64>>,
}

impl Registry {
    /// Evaluates every segment for every contact, in parallel. An error
    /// names the contact's row (`[12]`).
    pub fn evaluate(&self, facts: &[Facts]) -> Result<Evaluation> {
        let bits = bits_by_row(facts.len(), self.segments.len(), |row, s, memo| {
            self.eval_at(s, &facts[row], memo)
        })?;
        Ok(self.evaluation(facts.len(), bits))
    }

    pub(super) fn evaluation(&self, rows: usize, bits: Vec<Vec<u64>>) -> Evaluation {
        Evaluation {
            segments: self.names().map(String::from).collect(),
            rows,
            bits,
        }
    }
}

/// One bit per row and segment from `inside(row, segment, memo)`, over
/// chunks of rows in parallel; `memo` is cleared for each row, so segments
/// that refer to each other are evaluated once per row.
pub(super) fn bits_by_row(
    rows: usize,
    segments: usize,
    inside: impl Fn(usize, usize, &mut [Option<bool>]) -> Result<bool> + Sync,
) -> Result<Vec<Vec<u64>>> {
    let chunks: Vec<Result<Vec<Vec<u64>>>> = (0..rows.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let span = c * CHUNK..rows.min((c + 1) * CHUNK);
            let mut bits = vec![vec![0u64; span.len().div_ceil(64)]; segments];
            let mut memo = vec![None; segments];
            for (i, row) in span.enumerate() {
                memo.fill(None);
                for (s, segment_bits) in bits.iter_mut().enumerate() {
                    let yes =
                        inside(row, s, &mut memo).map_err(|e| e.within(&format!("[{row}]")))?;
                    segment_bits[i / 64] |= u64::from(yes) << (i % 64);
                }
            }
            Ok(bits)
        })
        .collect();
    let mut bits = vec![Vec::with_capacity(rows.div_ceil(64)); segments];
    for chunk in chunks {
        for (all, part) in bits.iter_mut().zip(chunk?) {
            all.extend(part);
        }
    }
    Ok(bits)
}

impl Evaluation {
    /// The segments, in name order.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// How many contacts were evaluated.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no contacts were evaluated.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn place(&self, name: &str) -> Result<usize> {
        self.segments
            .binary_search_by(|s| s.as_str().cmp(name))
            .map_err(|_| {
                let hint = crate::suggest::nearest(name, self.segments.iter().map(String::as_str))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                crate::Error::invalid(name, format!("unknown segment `{name}`{hint}"))
            })
    }

    /// The number of contacts in segment `name`.
    pub fn count(&self, name: &str) -> Result<u64> {
        let s = self.place(name)?;
        Ok(self.bits[s].iter().map(|w| u64::from(w.count_ones())).sum())
    }

    /// The rows (places in the facts given) of segment `name`'s members,
    /// in order.
    pub fn rows(&self, name: &str) -> Result<Vec<usize>> {
        let s = self.place(name)?;
        let mut out = Vec::new();
        for (w, &word) in self.bits[s].iter().enumerate() {
            let mut word = word;
            while word != 0 {
                out.push(w * 64 + word.trailing_zeros() as usize);
                word &= word - 1;
            }
        }
        Ok(out)
    }

    /// Whether the contact at `row` is in segment `name`.
    pub fn contains(&self, row: usize, name: &str) -> Result<bool> {
        let s = self.place(name)?;
        Ok(row < self.rows && self.bits[s][row / 64] >> (row % 64) & 1 == 1)
    }

    /// Each contact's segments, in the order of `facts` (the facts that
    /// were evaluated).
    pub fn memberships(&self, facts: &[Facts]) -> Vec<Membership> {
        facts
            .iter()
            .take(self.rows)
            .enumerate()
            .map(|(row, f)| Membership {
                fingerprint: None,
                contact_id: f.contact_id.to_string(),
                segments: (0..self.segments.len())
                    .filter(|&s| self.bits[s][row / 64] >> (row % 64) & 1 == 1)
                    .map(|s| self.segments[s].clone())
                    .collect(),
            })
            .collect()
    }

    /// The size of every segment and of every pair's overlap.
    pub fn overlap(&self) -> Overlap {
        let n = self.segments.len();
        let shared = |i: usize, j: usize| -> u64 {
            self.bits[i]
                .iter()
                .zip(&self.bits[j])
                .map(|(a, b)| u64::from((a & b).count_ones()))
                .sum()
        };
        let both: Vec<Vec<u64>> = (0..n)
            .map(|i| (0..n).map(|j| shared(i.min(j), i.max(j))).collect())
            .collect();
        Overlap {
            segments: self.segments.clone(),
            counts: (0..n).map(|i| both[i][i]).collect(),
            both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, profile, sample};
    use serde_json::Value;

    /// The bits agree with evaluating each contact alone, across chunk
    /// borders, and the overlap with the one counted from memberships.
    #[test]
    fn bits_agree_with_one_contact_at_a_time() {
        let events: Vec<crate::Event> =
            parse::list_from_value(Value::Array(sample::events(30_000, 9_000, 5))).unwrap();
        let as_of = crate::model::Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let facts = profile::facts_all(&profile::build(&events).unwrap(), as_of, None).unwrap();
        assert!(facts.len() > CHUNK);
        let registry = Registry::from_json(
            r#"{"buyers": "orders >= 1", "viewers": "viewed_products.p7.count >= 1",
                "both": "segment \"buyers\" and segment \"viewers\"",
                "sample": "bucket 30% salt \"s\""}"#,
        )
        .unwrap();
        let all = registry.evaluate(&facts).unwrap();
        assert_eq!(all.len(), facts.len());
        let one_by_one: Vec<Membership> = facts
            .iter()
            .map(|f| Membership {
                fingerprint: None,
                contact_id: f.contact_id.to_string(),
                segments: registry
                    .members_of(f)
                    .unwrap()
                    .into_iter()
                    .map(String::from)
                    .collect(),
            })
            .collect();
        assert_eq!(all.memberships(&facts), one_by_one);
        assert_eq!(all.overlap(), registry.overlap(&one_by_one).unwrap());
        let buyers = all.rows("buyers").unwrap();
        assert_eq!(buyers.len() as u64, all.count("buyers").unwrap());
        assert!(buyers.iter().all(|&r| facts[r].orders >= 1));
        assert!(all.contains(buyers[0], "buyers").unwrap());
        assert!(!all.contains(facts.len(), "buyers").unwrap());
        let err = all.count("buyer").unwrap_err();
        assert!(err.to_string().contains("did you mean `buyers`?"), "{err}");
    }
}
