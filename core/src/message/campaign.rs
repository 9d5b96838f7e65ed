//! Mass campaigns: an audience in, a control group held out, every other
//! recipient rendered in parallel and streamed out in bounded chunks.
//!
//! - **Control group.** A contact is in the control group when a stable hash
//!   (FNV-1a of the campaign id and the contact id, mixed) falls below
//!   `control_share`: the same contact is always in the same group of the
//!   same campaign, in every release and language, and independently across
//!   campaigns. Control contacts get no message; [`crate::metrics::uplift`]
//!   compares the groups.
//! - **Variants.** With `variants` (A/B), each treated contact gets one by
//!   another stable hash, and the template of the same index.
//! - **Consent.** A contact without consent for the campaign's channel and
//!   purpose, or without an address on it (email, phone), is skipped, never
//!   rendered: no message goes to a channel without consent. The control
//!   group is drawn after this check, among contacts who could get the
//!   message, so that the groups compare like with like.
//! - **Streaming.** Recipients are read from an iterator `chunk` at a time,
//!   rendered with rayon, and handed to the sink (or written to the writer)
//!   in input order before the next chunk is read: memory holds one chunk,
//!   whatever the audience size.
//! - **Failures.** A recipient whose render fails (an unknown field in one
//!   contact's data) is reported as `failed` with its error; the others go on.
//!
//! ```
//! use patron::message::campaign::{self, Campaign};
//! use patron::message::{Recipient, Template, TemplateSpec};
//! use patron::{model::Timestamp, parse, Contact};
//!
//! let template = Template::new(TemplateSpec {
//!     subject: Some("Hi {{ contact.first_name }}".into()),
//!     fallbacks: [("first_name".to_string(), "there".to_string())].into(),
//!     ..Default::default()
//! })?;
//! let campaign: Campaign = serde_json::from_str(
//!     r#"{"id": "spring", "channel": "email", "control_share": 0.1}"#).unwrap();
//! let recipients = (0..100).map(|i| {
//!     let c: Contact = parse::from_json(&format!(r#"{{"id": "c{i}", "email": "c{i}@example.com",
//!         "consent": {{"email": {{"marketing": {{"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}}}}}}"#)).unwrap();
//!     Recipient::new(c)
//! });
//! let mut out = Vec::new();
//! let now = Timestamp::parse("2024-07-01T00:00:00Z")?;
//! let summary = campaign::write(&campaign, &[template], recipients, now, &mut out)?;
//! assert_eq!(summary.audience, 100);
//! assert_eq!(summary.rendered + summary.control, 100);
//! assert_eq!(String::from_utf8(out).unwrap().lines().count(), 100);
//! # Ok::<(), patron::Error>(())
//! ```

use std::io::Write;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::context::{MessageInfo, Recipient};
use super::template::{Message, Template};
use crate::error::{Error, Result};
use crate::hash::fnv1a;
use crate::model::{Channel, Id, Name, Purpose, Timestamp};

/// A mass campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// The campaign id: tags product links and seeds the group hash.
    pub id: Id,
    /// The channel it goes through (`email`, `sms`, `push`...).
    pub channel: Channel,
    /// What the message is for; marketing needs confirmed consent.
    #[serde(default = "marketing")]
    pub purpose: Purpose,
    /// The share of the audience held out as the control group, 0 to 0.5.
    #[serde(default)]
    pub control_share: f64,
    /// A/B variant names; empty for one template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Name>,
    /// The step, for a chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Name>,
    /// Recipients rendered per chunk (default 4096).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<usize>,
}

fn marketing() -> Purpose {
    Purpose::Marketing
}

impl Campaign {
    /// Checks the shares and sizes.
    pub fn check(&self) -> Result<()> {
        if !(0.0..=0.5).contains(&self.control_share) {
            return Err(Error::invalid(
                "control_share",
                format!("expected a share from 0 to 0.5, got {}", self.control_share),
            ));
        }
        if self.chunk == Some(0) {
            return Err(Error::invalid("chunk", "expected a positive chunk size"));
        }
        if let Some(i) =
            (1..self.variants.len()).find(|&i| self.variants[..i].contains(&self.variants[i]))
        {
            return Err(Error::invalid(
                format!("variants[{i}]"),
                format!("variant `{}` is named twice", self.variants[i]),
            ));
        }
        Ok(())
    }

    /// The group of `contact_id` in this campaign.
    pub fn group_of(&self, contact_id: &str) -> Group {
        // 10^6 buckets: shares down to 0.0001% are exact.
        let bucket = stable(self.id.as_str(), "control", contact_id) % 1_000_000;
        if (bucket as f64) < self.control_share * 1_000_000.0 {
            Group::Control
        } else {
            Group::Treatment
        }
    }

    /// The index of the variant `contact_id` gets; 0 without variants.
    pub fn variant_of(&self, contact_id: &str) -> usize {
        if self.variants.len() <= 1 {
            return 0;
        }
        (stable(self.id.as_str(), "variant", contact_id) % self.variants.len() as u64) as usize
    }
}

/// A stable, well-mixed hash of the campaign, a purpose and the contact.
fn stable(campaign: &str, what: &str, contact: &str) -> u64 {
    let bytes = campaign
        .bytes()
        .chain([0])
        .chain(what.bytes())
        .chain([0])
        .chain(contact.bytes());
    // FNV-1a, then the splitmix64 finalizer so that every bit depends on every input bit.
    let mut z = fnv1a(bytes);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Treatment or control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Gets the message.
    Treatment,
    /// Held out.
    Control,
}

/// What happened to one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A message was rendered.
    Rendered,
    /// Held out in the control group.
    Control,
    /// No consent or no address on the channel.
    Skipped,
    /// The render failed; `error` says why.
    Failed,
}

/// The error of a failed render, as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// The error code ([`Error::code`]).
    pub code: String,
    /// The error message.
    pub message: String,
}

/// One recipient's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The contact.
    pub contact_id: Id,
    /// What happened.
    pub status: Status,
    /// The variant, for a rendered message of an A/B campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Name>,
    /// Why the contact was skipped: `no_consent` or `no_address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The error of a failed render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// Counts over the whole audience.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Recipients read.
    pub audience: u64,
    /// Messages rendered.
    pub rendered: u64,
    /// Held out.
    pub control: u64,
    /// Skipped for want of consent or address.
    pub skipped: u64,
    /// Renders that failed.
    pub failed: u64,
}

impl Summary {
    fn count(&mut self, status: Status) {
        self.audience += 1;
        match status {
            Status::Rendered => self.rendered += 1,
            Status::Control => self.control += 1,
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
        }
    }
}

fn outcome(contact_id: &Id, status: Status) -> Outcome {
    Outcome {
        contact_id: contact_id.clone(),
        status,
        variant: None,
        reason: None,
        subject: None,
        html: None,
        text: None,
        error: None,
    }
}

/// The outcome for one recipient.
pub fn render_one(
    campaign: &Campaign,
    templates: &[Template],
    recipient: &Recipient,
    now: Timestamp,
) -> Outcome {
    let c = &recipient.contact;
    if !c.consent.allows(&campaign.channel, campaign.purpose) {
        let mut o = outcome(&c.id, Status::Skipped);
        o.reason = Some("no_consent".into());
        return o;
    }
    let address = match campaign.channel.as_str() {
        "email" => c.email.is_some(),
        "sms" => c.phone.is_some(),
        _ => true,
    };
    if !address {
        let mut o = outcome(&c.id, Status::Skipped);
        o.reason = Some("no_address".into());
        return o;
    }
    // Drawn among the contacts who could get the message, so that the
    // groups compare like with like.
    if campaign.group_of(c.id.as_str()) == Group::Control {
        return outcome(&c.id, Status::Control);
    }
    let index = campaign.variant_of(c.id.as_str());
    let variant = campaign.variants.get(index).cloned();
    let info = MessageInfo {
        campaign_id: Some(campaign.id.clone()),
        step: campaign.step.clone(),
        variant: variant.clone(),
    };
    let template = &templates[index.min(templates.len() - 1)];
    match template.render(recipient, now, &info) {
        Ok(Message {
            subject,
            html,
            text,
            ..
        }) => Outcome {
            contact_id: c.id.clone(),
            status: Status::Rendered,
            variant,
            reason: None,
            subject,
            html,
            text,
            error: None,
        },
        Err(e) => {
            let mut o = outcome(&c.id, Status::Failed);
            o.variant = variant;
            o.error = Some(Failure {
                code: e.code().to_string(),
                message: e.to_string(),
            });
            o
        }
    }
}

fn check_templates(campaign: &Campaign, templates: &[Template]) -> Result<()> {
    campaign.check()?;
    let want = campaign.variants.len().max(1);
    if templates.len() != want {
        return Err(Error::invalid(
            "templates",
            format!(
                "expected {want} template(s), one per variant, got {}",
                templates.len()
            ),
        ));
    }
    Ok(())
}

/// Renders the audience chunk by chunk; `sink` gets each chunk's outcomes in
/// input order, and an error from it stops the run.
pub fn run<I, F>(
    campaign: &Campaign,
    templates: &[Template],
    recipients: I,
    now: Timestamp,
    mut sink: F,
) -> Result<Summary>
where
    I: IntoIterator<Item = Recipient>,
    F: FnMut(&[Outcome]) -> Result<()>,
{
    check_templates(campaign, templates)?;
    let chunk = campaign.chunk.unwrap_or(4096);
    let mut summary = Summary::default();
    let mut iter = recipients.into_iter();
    let mut batch: Vec<Recipient> = Vec::with_capacity(chunk);
    loop {
        batch.clear();
        batch.extend(iter.by_ref().take(chunk));
        if batch.is_empty() {
            return Ok(summary);
        }
        let outcomes: Vec<Outcome> = batch
            .par_iter()
            .map(|r| render_one(campaign, templates, r, now))
            .collect();
        for o in &outcomes {
            summary.count(o.status);
        }
        sink(&outcomes)?;
    }
}

/// Renders the audience and writes one JSON object a line (an [`Outcome`])
/// to `writer`, in input order; lines are serialized in parallel too.
pub fn write<I, W>(
    campaign: &Campaign,
    templates: &[Template],
    recipients: I,
    now: Timestamp,
    mut writer: W,
) -> Result<Summary>
where
    I: IntoIterator<Item = Recipient>,
    W: Write,
{
    let io = |e: std::io::Error| Error::io("writing the campaign", &e);
    let summary = run(campaign, templates, recipients, now, |outcomes| {
        let lines: Vec<Vec<u8>> = outcomes
            .par_iter()
            .map(|o| {
                let mut line = serde_json::to_vec(o).unwrap_or_default();
                line.push(b'\n');
                line
            })
            .collect();
        for line in &lines {
            writer.write_all(line).map_err(io)?;
        }
        Ok(())
    })?;
    writer.flush().map_err(io)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::TemplateSpec;
    use crate::parse;

    fn campaign(share: f64) -> Campaign {
        Campaign {
            id: Id::new("spring").unwrap(),
            channel: Channel::new("email").unwrap(),
            purpose: Purpose::Marketing,
            control_share: share,
            variants: Vec::new(),
            step: None,
            chunk: Some(7),
        }
    }

    fn recipient(i: usize, consent: bool) -> Recipient {
        let consent = if consent {
            r#", "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}}"#
        } else {
            ""
        };
        Recipient::new(
            parse::from_json(&format!(
                r#"{{"id": "c{i}", "email": "c{i}@example.com"{consent}}}"#
            ))
            .unwrap(),
        )
    }

    #[test]
    fn control_share_is_close_to_asked_and_stable() {
        let c = campaign(0.1);
        let control = (0..20_000)
            .filter(|i| c.group_of(&format!("c{i}")) == Group::Control)
            .count();
        assert!((1800..2200).contains(&control), "{control}");
        assert_eq!(c.group_of("c1"), c.group_of("c1"));
        assert!((0..1000).all(|i| campaign(0.0).group_of(&format!("c{i}")) == Group::Treatment));
    }

    #[test]
    fn no_message_without_consent_and_order_is_kept() {
        let t = Template::new(TemplateSpec {
            subject: Some("Hi {{ contact.id }}".into()),
            ..Default::default()
        })
        .unwrap();
        let now = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let mut seen = Vec::new();
        let s = run(
            &campaign(0.2),
            &[t],
            (0..50).map(|i| recipient(i, i % 5 != 0)),
            now,
            |chunk| {
                assert!(chunk.len() <= 7);
                seen.extend(chunk.iter().cloned());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(s.audience, 50);
        for (i, o) in seen.iter().enumerate() {
            assert_eq!(o.contact_id.as_str(), format!("c{i}"));
            if i % 5 == 0 {
                assert_ne!(o.status, Status::Rendered);
            }
            if o.status == Status::Rendered {
                assert_eq!(o.subject.as_deref(), Some(format!("Hi c{i}").as_str()));
            }
        }
    }

    #[test]
    fn variants_need_one_template_each() {
        let mut c = campaign(0.0);
        c.variants = vec![Name::new("a").unwrap(), Name::new("b").unwrap()];
        let t = Template::new(TemplateSpec {
            text: Some("x".into()),
            ..Default::default()
        })
        .unwrap();
        let now = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let e = write(&c, &[t], Vec::new(), now, Vec::new()).unwrap_err();
        assert_eq!(e.path(), Some("templates"));
    }
}
