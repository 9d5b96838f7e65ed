//! What facts carry besides events: the contact's own record (fields, typed
//! attributes, consent per channel) and RFM scored across the contacts at
//! hand, so that rules read them like any fact (`contact.consent.email.
//! marketing.status = "confirmed"`, `rfm.segment = "champions"`).
//!
//! ```
//! use patron::{model::Timestamp, parse, profile, Contact};
//! use patron::rfm::RfmConfig;
//!
//! let contacts: Vec<Contact> = parse::list_from_json(r#"[
//!   {"id": "anna", "first_name": "Anna", "attributes": {"size": "M"},
//!    "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-02T10:00:00Z"}}}},
//!   {"id": "ben"}
//! ]"#)?;
//! let events: Vec<patron::Event> = parse::list_from_json(r#"[
//!   {"type": "order_placed", "id": "e1", "contact_id": "anna", "at": "2024-06-03T10:00:00Z",
//!    "order_id": "o1", "lines": [{"product_id": "p1", "quantity": 1, "unit_price": 50}],
//!    "total": 50, "currency": "EUR"}
//! ]"#)?;
//! let as_of = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! // Ben has no events yet: he still gets facts, with his record.
//! let mut facts = profile::with_contacts(&profile::build(&events)?, &contacts, as_of, None)?;
//! profile::with_rfm(&mut facts, &RfmConfig::default())?;
//! assert_eq!(facts[1].contact.as_ref().map(|c| c.id.as_str()), Some("ben"));
//! assert_eq!(facts[0].rfm.as_ref().map(|r| r.cell.as_str()), Some("333"));
//! assert!(facts[1].rfm.is_none(), "no orders, no RFM");
//! # Ok::<(), patron::Error>(())
//! ```

use std::collections::HashMap;

use super::{Facts, Profile, facts_all};
use crate::error::{Error, Result};
use crate::model::{CatalogIndex, Contact, Timestamp};
use crate::rfm::{self, RfmConfig};

/// The facts of every profile and every contact at `as_of`, each carrying
/// its contact's record where one is given: profiles first, in input order,
/// then contacts without a profile (a subscriber who has done nothing yet
/// still has facts, and rules such as "subscribed, never bought" see them).
/// Two contacts with one id are refused.
pub fn with_contacts(
    profiles: &[Profile],
    contacts: &[Contact],
    as_of: Timestamp,
    catalog: Option<&CatalogIndex<'_>>,
) -> Result<Vec<Facts>> {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(contacts.len());
    for (i, c) in contacts.iter().enumerate() {
        if let Some(first) = by_id.insert(c.id.as_str(), i) {
            return Err(Error::invalid(
                format!("contacts[{i}].id"),
                format!("contact `{}` is also contacts[{first}]", c.id),
            ));
        }
    }
    let known: std::collections::HashSet<&str> =
        profiles.iter().map(|p| p.contact_id.as_str()).collect();
    // Contacts without a profile get an empty one; the profiles given are
    // read in place, not copied.
    let missing: Vec<Profile> = contacts
        .iter()
        .filter(|c| !known.contains(c.id.as_str()))
        .map(|c| Profile::new(c.id.clone()))
        .collect();
    let mut facts = facts_all(profiles, as_of, catalog).map_err(|e| e.within("profiles"))?;
    facts.extend(facts_all(&missing, as_of, catalog)?);
    for f in &mut facts {
        if let Some(&i) = by_id.get(f.contact_id.as_str()) {
            f.contact = Some(contacts[i].clone());
        }
    }
    Ok(facts)
}

/// Scores RFM across these facts (quantiles are relative to them, so pass
/// the whole base) and attaches each buyer's score; a contact without
/// orders gets none. All facts must share one `as_of`.
pub fn with_rfm(facts: &mut [Facts], config: &RfmConfig) -> Result<()> {
    let Some(as_of) = facts.first().map(|f| f.as_of) else {
        return Ok(());
    };
    if let Some(i) = facts.iter().position(|f| f.as_of != as_of) {
        return Err(Error::invalid(
            format!("[{i}].as_of"),
            format!(
                "RFM compares contacts at one moment: {} differs from {as_of}",
                facts[i].as_of
            ),
        ));
    }
    let summaries = facts
        .iter()
        .enumerate()
        .map(|(i, f)| f.summary().map_err(|e| e.within(&format!("[{i}]"))))
        .collect::<Result<Vec<_>>>()?;
    // Scores come in input order, for the contacts with orders only.
    let mut scores = rfm::score(&summaries, as_of, config)?.into_iter();
    for f in facts.iter_mut().filter(|f| f.orders > 0) {
        f.rfm = scores.next();
    }
    Ok(())
}

/// [`facts_all`], with the contacts' records ([`with_contacts`]) and RFM
/// ([`with_rfm`]) when given: what `profile_facts` does in Python and Node.
pub fn facts_with(
    profiles: &[Profile],
    as_of: Timestamp,
    catalog: Option<&CatalogIndex<'_>>,
    contacts: Option<&[Contact]>,
    rfm: Option<&RfmConfig>,
) -> Result<Vec<Facts>> {
    let mut facts = match contacts {
        Some(contacts) => with_contacts(profiles, contacts, as_of, catalog)?,
        None => facts_all(profiles, as_of, catalog).map_err(|e| e.within("profiles"))?,
    };
    if let Some(config) = rfm {
        config.check().map_err(|e| e.within("rfm"))?;
        with_rfm(&mut facts, config)?;
    }
    Ok(facts)
}
