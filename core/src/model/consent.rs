//! Consent per channel and purpose, with double opt-in.
//!
//! Each (channel, purpose) pair moves through
//! `none → pending → confirmed → unsubscribed`:
//!
//! | from \ action  | `request`            | `confirm`       | `unsubscribe`    |
//! |----------------|----------------------|-----------------|------------------|
//! | `none`         | pending              | error           | unsubscribed     |
//! | `pending`      | pending (re-request) | confirmed       | unsubscribed     |
//! | `confirmed`    | error                | error           | unsubscribed     |
//! | `unsubscribed` | pending              | error           | error            |
//!
//! Unsubscribing from `none` records an explicit opt-out (a suppression), which
//! the law in many countries asks a shop to keep. A change dated before the
//! entry's last change is refused: consent history never runs backwards. The
//! proof of consent (when, from where, which IP) stays on the record after an
//! unsubscribe, for audits.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::scalar::{Channel, Text, Timestamp};
use crate::error::{Error, Result};

/// What a consent covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Promotions, newsletters, triggered marketing.
    Marketing,
    /// Order confirmations, receipts, password resets.
    Transactional,
}

impl Purpose {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Marketing => "marketing",
            Purpose::Transactional => "transactional",
        }
    }
}

/// Where one consent entry stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// Never asked.
    #[default]
    None,
    /// Double opt-in requested, not yet confirmed.
    Pending,
    /// Confirmed: messages may go out.
    Confirmed,
    /// Opted out.
    Unsubscribed,
}

impl ConsentStatus {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::None => "none",
            ConsentStatus::Pending => "pending",
            ConsentStatus::Confirmed => "confirmed",
            ConsentStatus::Unsubscribed => "unsubscribed",
        }
    }
}

/// One consent entry: the status and the facts that prove how it got there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// Where the entry stands.
    pub status: ConsentStatus,
    /// When double opt-in was last requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<Timestamp>,
    /// When the contact confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Timestamp>,
    /// Where consent was given: a form, a checkout box, an import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Text>,
    /// The IP address the confirmation came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// When the contact opted out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<Timestamp>,
    /// Why the contact opted out, if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

impl ConsentRecord {
    /// The time of the latest change this record knows.
    pub fn last_changed(&self) -> Option<Timestamp> {
        [self.requested_at, self.confirmed_at, self.unsubscribed_at]
            .into_iter()
            .flatten()
            .max()
    }

    /// Checks that the status has the date that proves it.
    pub(crate) fn check(&self) -> Result<()> {
        let (field, present) = match self.status {
            ConsentStatus::None => return Ok(()),
            ConsentStatus::Pending => ("requested_at", self.requested_at.is_some()),
            ConsentStatus::Confirmed => ("confirmed_at", self.confirmed_at.is_some()),
            ConsentStatus::Unsubscribed => ("unsubscribed_at", self.unsubscribed_at.is_some()),
        };
        if present {
            Ok(())
        } else {
            Err(Error::invalid(
                field,
                format!("a {} entry needs `{field}`", self.status.as_str()),
            ))
        }
    }
}

/// Consent entries by channel and purpose. The JSON form is
/// `{"email": {"marketing": {"status": "confirmed", ...}}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Consents(pub BTreeMap<Channel, BTreeMap<Purpose, ConsentRecord>>);

impl Consents {
    /// The entry for a channel and purpose; `None` status when absent.
    pub fn get(&self, channel: &Channel, purpose: Purpose) -> ConsentRecord {
        self.0
            .get(channel)
            .and_then(|p| p.get(&purpose))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether a message for `purpose` may go out on `channel`: marketing needs
    /// confirmed consent; transactional messages need only that the contact has
    /// not opted out of them.
    pub fn allows(&self, channel: &Channel, purpose: Purpose) -> bool {
        let status = self.get(channel, purpose).status;
        match purpose {
            Purpose::Marketing => status == ConsentStatus::Confirmed,
            Purpose::Transactional => status != ConsentStatus::Unsubscribed,
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn check(&self) -> Result<()> {
        for (channel, purposes) in &self.0 {
            for (purpose, record) in purposes {
                record
                    .check()
                    .map_err(|e| e.within(&format!("{channel}.{}", purpose.as_str())))?;
            }
        }
        Ok(())
    }

    /// Applies one change, or refuses it and changes nothing.
    pub fn apply(&mut self, change: &ConsentChange) -> Result<()> {
        let current = self.get(&change.channel, change.purpose);
        let next = transition(&current, change).map_err(|message| Error::ConsentTransition {
            path: format!("{}.{}", change.channel, change.purpose.as_str()),
            message,
        })?;
        self.0
            .entry(change.channel.clone())
            .or_default()
            .insert(change.purpose, next);
        Ok(())
    }
}

/// What a consent change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// Ask for double opt-in (the confirmation letter or SMS went out).
    Request,
    /// The contact confirmed.
    Confirm,
    /// The contact opted out.
    Unsubscribe,
}

impl ConsentAction {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::Request => "request",
            ConsentAction::Confirm => "confirm",
            ConsentAction::Unsubscribe => "unsubscribe",
        }
    }
}

/// One change of consent: the payload of a `consent_changed` event and the
/// argument of [`Contact::apply_consent`](super::Contact::apply_consent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// The channel.
    pub channel: Channel,
    /// The purpose.
    pub purpose: Purpose,
    /// What happens.
    pub action: ConsentAction,
    /// When it happened.
    pub at: Timestamp,
    /// Where: a form, a checkout box, a link in a letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Text>,
    /// The IP address of the confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Why the contact opted out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

fn transition(current: &ConsentRecord, change: &ConsentChange) -> Result<ConsentRecord, String> {
    use ConsentAction::*;
    use ConsentStatus as S;
    if let Some(last) = current.last_changed()
        && change.at < last
    {
        return Err(format!(
            "cannot {} at {}: the entry last changed at {last}, and consent history never runs backwards",
            change.action.as_str(),
            change.at
        ));
    }
    let refuse = |why: &str| {
        Err(format!(
            "cannot {} when the status is {}: {why}",
            change.action.as_str(),
            current.status.as_str()
        ))
    };
    let mut next = current.clone();
    match (current.status, change.action) {
        (S::None | S::Pending | S::Unsubscribed, Request) => {
            next.status = S::Pending;
            next.requested_at = Some(change.at);
            if change.source.is_some() {
                next.source = change.source.clone();
            }
        }
        (S::Confirmed, Request) => return refuse("consent is already confirmed"),
        (S::Pending, Confirm) => {
            next.status = S::Confirmed;
            next.confirmed_at = Some(change.at);
            next.source = change.source.clone().or(next.source);
            next.ip = change.ip.or(next.ip);
            next.unsubscribed_at = None;
            next.reason = None;
        }
        (S::None | S::Unsubscribed, Confirm) => {
            return refuse("double opt-in must be requested first");
        }
        (S::Confirmed, Confirm) => return refuse("consent is already confirmed"),
        (S::None | S::Pending | S::Confirmed, Unsubscribe) => {
            next.status = S::Unsubscribed;
            next.unsubscribed_at = Some(change.at);
            next.reason = change.reason.clone();
        }
        (S::Unsubscribed, Unsubscribe) => return refuse("the contact has already opted out"),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: ConsentAction, at: &str) -> ConsentChange {
        ConsentChange {
            channel: Channel::new("email").unwrap(),
            purpose: Purpose::Marketing,
            action,
            at: Timestamp::parse(at).unwrap(),
            source: None,
            ip: None,
            reason: None,
        }
    }

    #[test]
    fn double_opt_in_then_unsubscribe() {
        let mut c = Consents::default();
        let email = Channel::new("email").unwrap();
        c.apply(&change(ConsentAction::Request, "2024-01-01T00:00:00Z"))
            .unwrap();
        assert!(!c.allows(&email, Purpose::Marketing));
        c.apply(&change(ConsentAction::Confirm, "2024-01-01T00:10:00Z"))
            .unwrap();
        assert!(c.allows(&email, Purpose::Marketing));
        c.apply(&change(ConsentAction::Unsubscribe, "2024-02-01T00:00:00Z"))
            .unwrap();
        let r = c.get(&email, Purpose::Marketing);
        assert_eq!(r.status, ConsentStatus::Unsubscribed);
        assert!(r.confirmed_at.is_some(), "proof of consent is kept");
    }

    #[test]
    fn invalid_transitions_change_nothing() {
        let mut c = Consents::default();
        let before = c.clone();
        let e = c
            .apply(&change(ConsentAction::Confirm, "2024-01-01T00:00:00Z"))
            .unwrap_err();
        assert_eq!(e.code(), "consent_transition");
        assert_eq!(e.path(), Some("email.marketing"));
        assert_eq!(c, before);
    }

    #[test]
    fn history_never_runs_backwards() {
        let mut c = Consents::default();
        c.apply(&change(ConsentAction::Request, "2024-01-02T00:00:00Z"))
            .unwrap();
        assert!(
            c.apply(&change(ConsentAction::Confirm, "2024-01-01T00:00:00Z"))
                .is_err()
        );
    }

    #[test]
    fn transactional_needs_only_no_opt_out() {
        let c = Consents::default();
        let sms = Channel::new("sms").unwrap();
        assert!(c.allows(&sms, Purpose::Transactional));
        assert!(!c.allows(&sms, Purpose::Marketing));
    }
}
