//! Personal coupons: one code per contact per campaign, from a pool of
//! uploaded codes or a generator, with expiry and redemption.
//!
//! State is data the host keeps: a [`PoolState`] (serde JSON) holds every
//! code issued. [`issue`] takes the state and returns the contact's code,
//! adding it to the state; issuing again for the same contact and campaign
//! returns the same code and changes nothing. The host stores the new state
//! in the same transaction as the messages.
//!
//! A generator fills a pattern's `#` slots from an alphabet without
//! look-alikes (no `0 O 1 I L`), in an order no one can guess without the
//! pool's key (a keyed permutation of the slot space, so a code never comes
//! out twice), and appends a check character that catches any one mistyped
//! character and, with an odd-sized alphabet such as the default, any swap
//! of two neighbouring characters.
//!
//! ```
//! use patron::message::coupon::{self, CouponPool, PoolState};
//! use patron::model::{Id, Timestamp};
//!
//! let pool: CouponPool = serde_json::from_str(r##"{"id": "spring",
//!   "generator": {"pattern": "SPRING-####-####", "key": 42}, "valid_days": 14}"##).unwrap();
//! pool.check()?;
//! let mut state = PoolState::new(&pool);
//! let now = Timestamp::parse("2024-05-01T00:00:00Z")?;
//! let (campaign, ann) = (Id::new("may")?, Id::new("ann")?);
//! let code = coupon::issue(&pool, &mut state, &campaign, &ann, now)?;
//! assert!(code.code.starts_with("SPRING-") && code.code.len() == 17);
//! assert!(coupon::is_valid_code(&pool, &code.code));
//! let again = coupon::issue(&pool, &mut state, &campaign, &ann, now)?;
//! assert_eq!(again.code, code.code);
//! assert_eq!(state.issued.len(), 1);
//! # Ok::<(), patron::Error>(())
//! ```
//!
//! An uploaded pool with every code issued is an [`Error::Exhausted`]; so is
//! a generator whose pattern has no code left.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::fnv1a;
use crate::model::{Id, Timestamp};

/// Digits and capitals without the look-alikes `0 O 1 I L`.
pub const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Where codes come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponPool {
    /// The pool.
    pub id: Id,
    /// Uploaded codes, issued in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// A generator, instead of uploaded codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    /// Days a code stays valid after it is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<u32>,
    /// A fixed end of validity for every code (the earlier of the two wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// A code generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// The code's shape: each `#` is one character of the alphabet, the rest
    /// is copied (`SALE-####-####`).
    pub pattern: String,
    /// The characters of the slots (default [`ALPHABET`]).
    #[serde(default = "alphabet")]
    pub alphabet: String,
    /// Append a check character (default true).
    #[serde(default = "yes")]
    pub check_digit: bool,
    /// The secret that orders the codes; keep it with the pool.
    pub key: u64,
}

fn alphabet() -> String {
    ALPHABET.to_string()
}

fn yes() -> bool {
    true
}

/// One issued code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issued {
    /// The code.
    pub code: String,
    /// Who got it.
    pub contact_id: Id,
    /// For which campaign.
    pub campaign_id: Id,
    /// When.
    pub issued_at: Timestamp,
    /// When it stops being valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When it was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<Timestamp>,
    /// The order it was used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Id>,
}

/// The codes a pool has issued: the state the host keeps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolState {
    /// The pool.
    pub pool_id: String,
    /// Codes taken from the pool or generator so far.
    pub next: u64,
    /// Every code issued, in order.
    #[serde(default)]
    pub issued: Vec<Issued>,
    #[serde(skip)]
    by_contact: HashMap<(String, String), usize>,
    #[serde(skip)]
    by_code: HashMap<String, usize>,
}

impl PoolState {
    /// The empty state of `pool`.
    pub fn new(pool: &CouponPool) -> PoolState {
        PoolState {
            pool_id: pool.id.as_str().to_string(),
            ..PoolState::default()
        }
    }

    /// Rebuilds the lookups; refuses a code issued twice or a contact with
    /// two codes in one campaign.
    pub(crate) fn normalize(&mut self) -> Result<()> {
        self.by_contact.clear();
        self.by_code.clear();
        if (self.issued.len() as u64) > self.next {
            return Err(Error::invalid(
                "next",
                format!(
                    "expected at least {} codes taken, one per issued code, got {}",
                    self.issued.len(),
                    self.next
                ),
            ));
        }
        for (i, c) in self.issued.iter().enumerate() {
            let key = (
                c.campaign_id.as_str().to_string(),
                c.contact_id.as_str().to_string(),
            );
            if self.by_contact.insert(key, i).is_some() {
                return Err(Error::invalid(
                    format!("issued[{i}].contact_id"),
                    format!(
                        "contact `{}` already has a code in campaign `{}`",
                        c.contact_id, c.campaign_id
                    ),
                ));
            }
            if self.by_code.insert(c.code.clone(), i).is_some() {
                return Err(Error::invalid(
                    format!("issued[{i}].code"),
                    format!("code `{}` is issued twice", c.code),
                ));
            }
        }
        Ok(())
    }

    /// The code issued to `contact_id` in `campaign_id`, if any.
    pub fn code_of(&self, campaign_id: &str, contact_id: &str) -> Option<&Issued> {
        self.by_contact
            .get(&(campaign_id.to_string(), contact_id.to_string()))
            .map(|&i| &self.issued[i])
    }

    /// The issued code `code`, if any.
    pub fn find(&self, code: &str) -> Option<&Issued> {
        self.by_code.get(code).map(|&i| &self.issued[i])
    }
}

impl CouponPool {
    /// Checks the pool: codes or a generator, unique codes, a pattern with
    /// slots, an alphabet of distinct characters.
    pub fn check(&self) -> Result<()> {
        match (&self.generator, self.codes.is_empty()) {
            (Some(_), false) => {
                return Err(Error::invalid(
                    "generator",
                    "a pool has uploaded `codes` or a `generator`, not both",
                ));
            }
            (None, true) => {
                return Err(Error::invalid(
                    "codes",
                    "a pool needs uploaded `codes` or a `generator`",
                ));
            }
            _ => {}
        }
        let mut seen = HashSet::with_capacity(self.codes.len());
        for (i, c) in self.codes.iter().enumerate() {
            if c.trim().is_empty() || c.trim() != c {
                return Err(Error::invalid(
                    format!("codes[{i}]"),
                    "expected a code without surrounding spaces",
                ));
            }
            if !seen.insert(c) {
                return Err(Error::invalid(
                    format!("codes[{i}]"),
                    format!("code `{c}` is uploaded twice"),
                ));
            }
        }
        if let Some(g) = &self.generator {
            let chars: Vec<char> = g.alphabet.chars().collect();
            let distinct: HashSet<char> = chars.iter().copied().collect();
            if chars.len() < 2 || distinct.len() != chars.len() || chars.contains(&'#') {
                return Err(Error::invalid(
                    "generator.alphabet",
                    "expected at least 2 distinct characters, without `#`",
                ));
            }
            let slots = g.pattern.matches('#').count();
            if slots == 0 {
                return Err(Error::invalid(
                    "generator.pattern",
                    "expected `#` slots in the pattern, such as SALE-####-####",
                ));
            }
            if space(chars.len(), slots).is_none() {
                return Err(Error::invalid(
                    "generator.pattern",
                    format!("{slots} slots make more codes than a 62-bit counter holds"),
                ));
            }
        }
        if self.valid_days == Some(0) {
            return Err(Error::invalid("valid_days", "expected at least 1 day"));
        }
        Ok(())
    }

    /// How many codes the pool can issue in all.
    pub fn capacity(&self) -> u64 {
        match &self.generator {
            Some(g) => space(g.alphabet.chars().count(), g.pattern.matches('#').count())
                .unwrap_or(u64::MAX),
            None => self.codes.len() as u64,
        }
    }

    fn expiry(&self, now: Timestamp) -> Option<Timestamp> {
        let relative = self
            .valid_days
            .map(|d| Timestamp::from(now.get() + Duration::days(i64::from(d))));
        match (relative, self.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The `n`-th code (0-based) of the pool.
    fn nth(&self, n: u64) -> String {
        match &self.generator {
            None => self.codes[n as usize].clone(),
            Some(g) => g.code(n, self.capacity()),
        }
    }
}

/// alphabet^slots, when it fits in 62 bits.
fn space(alphabet: usize, slots: usize) -> Option<u64> {
    let mut n: u64 = 1;
    for _ in 0..slots {
        n = n.checked_mul(alphabet as u64)?;
    }
    (n < 1 << 62).then_some(n)
}

impl Generator {
    fn code(&self, n: u64, capacity: u64) -> String {
        let chars: Vec<char> = self.alphabet.chars().collect();
        let base = chars.len() as u64;
        let mut x = permute(n, capacity, self.key);
        let slots = self.pattern.matches('#').count();
        let mut digits = vec![0usize; slots];
        for d in digits.iter_mut().rev() {
            *d = (x % base) as usize;
            x /= base;
        }
        let mut out = String::with_capacity(self.pattern.len() + 1);
        let mut next = digits.iter();
        for c in self.pattern.chars() {
            if c == '#' {
                out.push(chars[*next.next().unwrap_or(&0)]);
            } else {
                out.push(c);
            }
        }
        if self.check_digit {
            out.push(chars[check_index(&digits, chars.len())]);
        }
        out
    }
}

/// A keyed permutation of `0..n` (a 4-round Feistel network over the next
/// even power of two, walking the cycle until the value falls below `n`).
fn permute(x: u64, n: u64, key: u64) -> u64 {
    let bits = 64 - (n.max(2) - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut y = x;
    loop {
        let (mut l, mut r) = (y >> half, y & mask);
        for round in 0..4u64 {
            let f = fnv1a(
                key.to_le_bytes()
                    .into_iter()
                    .chain(round.to_le_bytes())
                    .chain(r.to_le_bytes()),
            ) & mask;
            (l, r) = (r, l ^ f);
        }
        y = (l << half) | r;
        if y < n {
            return y;
        }
    }
}

/// The check character's index for `digits` (most significant first): the
/// digits weighted 2, 1, 2, 1... from the right, summed modulo the alphabet
/// size `n`. For an odd `n` (the default alphabet has 31 characters) the
/// weights are invertible, so every single wrong character and every swap of
/// two neighbours changes the check; for an even `n` the doubled digits have
/// their base-`n` digits summed (Luhn mod N), which also catches every single
/// wrong character.
fn check_index(digits: &[usize], n: usize) -> usize {
    let mut sum = 0;
    for (i, &d) in digits.iter().rev().enumerate() {
        let weight = if i % 2 == 0 { 2 } else { 1 };
        let addend = weight * d;
        sum += if n.is_multiple_of(2) {
            addend / n + addend % n
        } else {
            addend % n
        };
    }
    (n - sum % n) % n
}

/// Whether `code` has the generator's shape and a right check character;
/// for an uploaded pool, whether it is one of the codes.
pub fn is_valid_code(pool: &CouponPool, code: &str) -> bool {
    let Some(g) = &pool.generator else {
        return pool.codes.iter().any(|c| c == code);
    };
    let chars: Vec<char> = g.alphabet.chars().collect();
    let mut digits = Vec::new();
    let mut given = code.chars();
    for p in g.pattern.chars() {
        let Some(c) = given.next() else { return false };
        if p == '#' {
            match chars.iter().position(|&a| a == c) {
                Some(i) => digits.push(i),
                None => return false,
            }
        } else if p != c {
            return false;
        }
    }
    match (g.check_digit, given.next(), given.next()) {
        (false, None, _) => true,
        (true, Some(c), None) => chars.get(check_index(&digits, chars.len())) == Some(&c),
        _ => false,
    }
}

/// The code of `contact_id` in `campaign_id`: the one issued before, or the
/// pool's next one, added to `state`.
pub fn issue(
    pool: &CouponPool,
    state: &mut PoolState,
    campaign_id: &Id,
    contact_id: &Id,
    now: Timestamp,
) -> Result<Issued> {
    if state.pool_id != pool.id.as_str() {
        return Err(Error::invalid(
            "pool_id",
            format!(
                "the state is pool `{}`'s, not `{}`'s",
                state.pool_id, pool.id
            ),
        ));
    }
    if let Some(found) = state.code_of(campaign_id.as_str(), contact_id.as_str()) {
        return Ok(found.clone());
    }
    let capacity = pool.capacity();
    // An uploaded code a host also issued by hand is skipped, never given twice.
    loop {
        if state.next >= capacity {
            return Err(Error::Exhausted {
                path: pool.id.as_str().to_string(),
                message: format!("all {capacity} codes of the pool are issued"),
            });
        }
        let code = pool.nth(state.next);
        state.next += 1;
        if state.by_code.contains_key(&code) {
            continue;
        }
        let issued = Issued {
            code: code.clone(),
            contact_id: contact_id.clone(),
            campaign_id: campaign_id.clone(),
            issued_at: now,
            expires_at: pool.expiry(now),
            redeemed_at: None,
            order_id: None,
        };
        let i = state.issued.len();
        state.by_code.insert(code, i);
        state.by_contact.insert(
            (
                campaign_id.as_str().to_string(),
                contact_id.as_str().to_string(),
            ),
            i,
        );
        state.issued.push(issued.clone());
        return Ok(issued);
    }
}

/// Issues codes to many contacts at once; stops at the first error, with
/// the codes issued so far kept in `state`.
pub fn issue_all(
    pool: &CouponPool,
    state: &mut PoolState,
    campaign_id: &Id,
    contact_ids: &[Id],
    now: Timestamp,
) -> Result<Vec<Issued>> {
    contact_ids
        .iter()
        .enumerate()
        .map(|(i, c)| {
            issue(pool, state, campaign_id, c, now).map_err(|e| match e {
                Error::Exhausted { .. } => e,
                other => other.within(&format!("contact_ids[{i}]")),
            })
        })
        .collect()
}

/// Records the use of `code` by `contact_id` at `at`: refused for an unknown
/// code, another contact's code, an expired code, or a code used before.
pub fn redeem(
    state: &mut PoolState,
    code: &str,
    contact_id: &Id,
    order_id: Option<Id>,
    at: Timestamp,
) -> Result<Issued> {
    let code = code.trim();
    let Some(&i) = state.by_code.get(code) else {
        return Err(Error::invalid(
            "code",
            format!("`{code}` is not a code of this pool"),
        ));
    };
    let entry = &mut state.issued[i];
    if entry.contact_id != *contact_id {
        return Err(Error::invalid(
            "code",
            format!("`{code}` was issued to another contact"),
        ));
    }
    if let Some(when) = entry.redeemed_at {
        return Err(Error::invalid(
            "code",
            format!("`{code}` was already used at {when}"),
        ));
    }
    if let Some(end) = entry.expires_at
        && at > end
    {
        return Err(Error::invalid("code", format!("`{code}` expired at {end}")));
    }
    entry.redeemed_at = Some(at);
    entry.order_id = order_id;
    Ok(entry.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn uploaded(codes: &[&str]) -> CouponPool {
        CouponPool {
            id: id("p"),
            codes: codes.iter().map(|c| c.to_string()).collect(),
            generator: None,
            valid_days: Some(7),
            expires_at: None,
        }
    }

    #[test]
    fn an_uploaded_pool_runs_out_with_a_typed_error() {
        let pool = uploaded(&["A1", "B2"]);
        let mut s = PoolState::new(&pool);
        let now = t("2024-01-01T00:00:00Z");
        for c in ["x", "y"] {
            issue(&pool, &mut s, &id("k"), &id(c), now).unwrap();
        }
        let e = issue(&pool, &mut s, &id("k"), &id("z"), now).unwrap_err();
        assert_eq!(e.code(), "exhausted");
        assert!(e.to_string().contains("all 2 codes"), "{e}");
        // The same contact in another campaign gets another code.
        let e = issue(&pool, &mut s, &id("k2"), &id("x"), now).unwrap_err();
        assert_eq!(e.code(), "exhausted");
    }

    #[test]
    fn redemption_checks_owner_expiry_and_reuse() {
        let pool = uploaded(&["A1"]);
        let mut s = PoolState::new(&pool);
        issue(&pool, &mut s, &id("k"), &id("x"), t("2024-01-01T00:00:00Z")).unwrap();
        let r = |s: &mut PoolState, who: &str, at: &str| {
            redeem(s, "A1", &id(who), None, t(at)).map_err(|e| e.to_string())
        };
        assert!(
            r(&mut s, "y", "2024-01-02T00:00:00Z")
                .unwrap_err()
                .contains("another contact")
        );
        assert!(
            r(&mut s, "x", "2024-01-09T00:00:00Z")
                .unwrap_err()
                .contains("expired")
        );
        assert!(r(&mut s, "x", "2024-01-02T00:00:00Z").is_ok());
        assert!(
            r(&mut s, "x", "2024-01-03T00:00:00Z")
                .unwrap_err()
                .contains("already used")
        );
        assert!(redeem(&mut s, "ZZ", &id("x"), None, t("2024-01-02T00:00:00Z")).is_err());
    }

    #[test]
    fn state_round_trips_through_json_and_refuses_duplicates() {
        let pool = uploaded(&["A1", "B2", "C3"]);
        let mut s = PoolState::new(&pool);
        let now = t("2024-01-01T00:00:00Z");
        let a = issue(&pool, &mut s, &id("k"), &id("x"), now).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let mut back: PoolState = crate::parse::from_json(&json).unwrap();
        assert_eq!(issue(&pool, &mut back, &id("k"), &id("x"), now).unwrap(), a);
        let mut dup = back.clone();
        let mut again = dup.issued[0].clone();
        again.contact_id = id("y");
        dup.issued.push(again);
        dup.next = 5;
        let e = crate::parse::from_json::<PoolState>(&serde_json::to_string(&dup).unwrap())
            .unwrap_err();
        assert_eq!(e.path(), Some("issued[1].code"));
    }

    #[test]
    fn generated_codes_carry_a_check_character_that_catches_typos() {
        let pool: CouponPool =
            serde_json::from_str(r##"{"id": "g", "generator": {"pattern": "X-####", "key": 7}}"##)
                .unwrap();
        pool.check().unwrap();
        let g = pool.generator.as_ref().unwrap();
        let code = g.code(0, pool.capacity());
        assert!(is_valid_code(&pool, &code));
        let chars: Vec<char> = code.chars().collect();
        for pos in 2..chars.len() {
            for a in ALPHABET.chars().filter(|&a| a != chars[pos]) {
                let mut typo = chars.clone();
                typo[pos] = a;
                let typo: String = typo.into_iter().collect();
                assert!(!is_valid_code(&pool, &typo), "{typo}");
            }
        }
        for pos in 2..chars.len() - 1 {
            if chars[pos] != chars[pos + 1] {
                let mut swapped = chars.clone();
                swapped.swap(pos, pos + 1);
                let swapped: String = swapped.into_iter().collect();
                assert!(!is_valid_code(&pool, &swapped), "{swapped}");
            }
        }
    }

    #[test]
    fn a_small_generator_runs_out_after_every_code() {
        let pool: CouponPool = serde_json::from_str(
            r###"{"id": "g", "generator": {"pattern": "##", "alphabet": "ABC", "key": 1, "check_digit": false}}"###,
        )
        .unwrap();
        let mut s = PoolState::new(&pool);
        let now = t("2024-01-01T00:00:00Z");
        let mut codes = HashSet::new();
        for i in 0..9 {
            codes.insert(
                issue(&pool, &mut s, &id("k"), &id(&format!("c{i}")), now)
                    .unwrap()
                    .code,
            );
        }
        assert_eq!(codes.len(), 9);
        assert_eq!(
            issue(&pool, &mut s, &id("k"), &id("c9"), now)
                .unwrap_err()
                .code(),
            "exhausted"
        );
    }

    proptest! {
        #[test]
        fn permutation_is_a_bijection(n in 2u64..3000, key: u64) {
            let mut seen = HashSet::new();
            for x in 0..n {
                let y = permute(x, n, key);
                prop_assert!(y < n);
                prop_assert!(seen.insert(y));
            }
        }

        #[test]
        fn a_code_never_goes_to_two_contacts(
            asks in proptest::collection::vec((0u8..4, 0u8..30), 1..200),
            key: u64,
            slots in 2usize..4,
        ) {
            let pool = CouponPool {
                id: id("g"),
                codes: Vec::new(),
                generator: Some(Generator {
                    pattern: "#".repeat(slots),
                    alphabet: "ABCDEFG".into(),
                    check_digit: true,
                    key,
                }),
                valid_days: None,
                expires_at: None,
            };
            let mut s = PoolState::new(&pool);
            let now = t("2024-01-01T00:00:00Z");
            let mut owner: HashMap<String, (u8, u8)> = HashMap::new();
            for (campaign, contact) in asks {
                let got = issue(&pool, &mut s, &id(&format!("k{campaign}")), &id(&format!("c{contact}")), now);
                let Ok(got) = got else { continue };
                prop_assert!(is_valid_code(&pool, &got.code));
                let prev = owner.insert(got.code.clone(), (campaign, contact));
                prop_assert!(prev.is_none() || prev == Some((campaign, contact)));
                // Asking again returns the same code.
                let again = issue(&pool, &mut s, &id(&format!("k{campaign}")), &id(&format!("c{contact}")), now).unwrap();
                prop_assert_eq!(again.code, got.code);
            }
        }
    }
}
