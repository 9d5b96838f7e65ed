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
//!   in input order. The calling thread reads the next chunk and hands over
//!   the previous one while the pool renders, so memory holds at most three
//!   chunks, whatever the audience size. Within a chunk, the values built
//!   for one recipient's products and blocks are reused for the next
//!   recipients who have the same ones.
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

use std::borrow::Borrow;
use std::io::Write;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::context::{Cache, MessageInfo, Recipient, Shared};
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

    fn add(&mut self, other: &Summary) {
        self.audience += other.audience;
        self.rendered += other.rendered;
        self.control += other.control;
        self.skipped += other.skipped;
        self.failed += other.failed;
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
    let prepared = prepare(campaign, templates);
    decide(campaign, &prepared, recipient, now, None)
}

/// One variant's template with the values shared by all its letters.
struct Prepared<'t> {
    template: &'t Template,
    variant: Option<Name>,
    shared: Shared,
}

fn prepare<'t>(campaign: &Campaign, templates: &'t [Template]) -> Vec<Prepared<'t>> {
    (0..campaign.variants.len().max(1))
        .map(|index| {
            let variant = campaign.variants.get(index).cloned();
            let info = MessageInfo {
                campaign_id: Some(campaign.id.clone()),
                step: campaign.step.clone(),
                variant: variant.clone(),
            };
            let template = &templates[index.min(templates.len() - 1)];
            Prepared {
                template,
                variant,
                shared: template.shared(&info),
            }
        })
        .collect()
}

fn decide<'a>(
    campaign: &Campaign,
    prepared: &[Prepared<'_>],
    recipient: &'a Recipient,
    now: Timestamp,
    caches: Option<&mut [Cache<'a>]>,
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
    let p = &prepared[index];
    let variant = p.variant.clone();
    // One cache per variant: product links carry the variant.
    let cache = caches.map(|caches| &mut caches[index]);
    match p.template.render_with(recipient, now, &p.shared, cache) {
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

/// Renders the audience chunk by chunk: `work` turns a slice of a chunk into
/// `T` on the thread pool, with caches (one per variant) that live as long
/// as a pool job, over many slices of the chunk, and `consume` gets each
/// chunk's results in input order on the calling thread. While the pool
/// renders one chunk, the calling thread hands the previous chunk to
/// `consume` and reads the next one from `recipients`, so neither waits for
/// the other; memory holds at most three chunks.
fn drive<I, T, W, C>(campaign: &Campaign, recipients: I, work: W, mut consume: C) -> Result<()>
where
    I: IntoIterator,
    I::Item: Borrow<Recipient> + Send + Sync,
    T: Send,
    W: for<'a> Fn(&mut Vec<Cache<'a>>, &'a [I::Item]) -> T + Sync,
    C: FnMut(Vec<T>) -> Result<()>,
{
    let chunk = campaign.chunk.unwrap_or(4096);
    let variants = campaign.variants.len().max(1);
    // Slices small enough to share the chunk among the threads and to keep
    // each output buffer small.
    let slice = (chunk / (rayon::current_num_threads() * 8)).clamp(8, 64);
    let mut iter = recipients.into_iter();
    let read = |iter: &mut I::IntoIter| -> Vec<I::Item> {
        let mut batch = Vec::with_capacity(chunk);
        batch.extend(iter.by_ref().take(chunk));
        batch
    };
    let mut current = read(&mut iter);
    let mut done: Option<Vec<T>> = None;
    while !current.is_empty() {
        let work = &work;
        let batch = &current;
        let mut rendered: Option<Vec<T>> = None;
        let slot = &mut rendered;
        // The render goes to the current pool (the one a caller `install`ed,
        // or the global one); this thread meanwhile consumes and reads.
        let next = rayon::in_place_scope(|s| {
            s.spawn(move |_| {
                *slot = Some(
                    batch
                        .par_chunks(slice)
                        .map_init(
                            || (0..variants).map(|_| Cache::default()).collect(),
                            |caches, rs| work(caches, rs),
                        )
                        .collect(),
                );
            });
            match done.take() {
                Some(d) => consume(d).map(|()| read(&mut iter)),
                None => Ok(read(&mut iter)),
            }
        });
        done = Some(rendered.unwrap_or_default());
        current = next?;
    }
    match done {
        Some(d) => consume(d),
        None => Ok(()),
    }
}

/// Renders the audience chunk by chunk; `sink` gets each chunk's outcomes in
/// input order, and an error from it stops the run. The next chunk is read
/// and rendered while `sink` handles this one. Recipients may come by value
/// or by reference (`&Recipient`), which saves a copy when the caller holds
/// them already.
pub fn run<I, F>(
    campaign: &Campaign,
    templates: &[Template],
    recipients: I,
    now: Timestamp,
    mut sink: F,
) -> Result<Summary>
where
    I: IntoIterator,
    I::Item: Borrow<Recipient> + Send + Sync,
    F: FnMut(&[Outcome]) -> Result<()>,
{
    check_templates(campaign, templates)?;
    let prepared = prepare(campaign, templates);
    let mut summary = Summary::default();
    drive(
        campaign,
        recipients,
        |caches, slice| {
            slice
                .iter()
                .map(|r| decide(campaign, &prepared, r.borrow(), now, Some(caches)))
                .collect::<Vec<Outcome>>()
        },
        |slices| {
            let outcomes: Vec<Outcome> = slices.into_iter().flatten().collect();
            for o in &outcomes {
                summary.count(o.status);
            }
            sink(&outcomes)
        },
    )?;
    Ok(summary)
}

/// Renders the audience (by value or by reference, as for [`run`]) and
/// writes one JSON object a line (an [`Outcome`]) to `writer`, in input
/// order. Letters are rendered and serialized on the
/// thread pool, each slice of a chunk into one buffer; the calling thread
/// only reads recipients and writes buffers.
pub fn write<I, W>(
    campaign: &Campaign,
    templates: &[Template],
    recipients: I,
    now: Timestamp,
    mut writer: W,
) -> Result<Summary>
where
    I: IntoIterator,
    I::Item: Borrow<Recipient> + Send + Sync,
    W: Write,
{
    check_templates(campaign, templates)?;
    let prepared = prepare(campaign, templates);
    let io = |e: std::io::Error| Error::io("writing the campaign", &e);
    let mut summary = Summary::default();
    drive(
        campaign,
        recipients,
        |caches, slice| {
            let mut lines = Vec::with_capacity(slice.len() * 2048);
            let mut counts = Summary::default();
            for r in slice {
                let o = decide(campaign, &prepared, r.borrow(), now, Some(caches));
                counts.count(o.status);
                // Serializing an `Outcome` (strings and enums) cannot fail.
                serde_json::to_writer(&mut lines, &o).unwrap_or_default();
                lines.push(b'\n');
            }
            (lines, counts)
        },
        |slices| {
            for (lines, counts) in &slices {
                summary.add(counts);
                writer.write_all(lines).map_err(io)?;
            }
            Ok(())
        },
    )?;
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

    /// Recipients whose blocks share products, and products that differ
    /// only in one shown field, rendered through a campaign (with its
    /// caches) and one by one.
    #[test]
    fn campaign_letters_equal_single_renders_and_write_equals_run() {
        let mut c = campaign(0.1);
        c.variants = vec![Name::new("a").unwrap(), Name::new("b").unwrap()];
        let spec = |tag: &str| {
            TemplateSpec {
            subject: Some(format!("{tag} {{{{ contact.first_name }}}}")),
            html: Some(
                "{% for p in blocks.picks %}<a href=\"{{ p.url }}\">{{ p.name }} {{ p.price }} {{ p.old_price }} {{ p.brand }} {{ p.image_url }}</a>{% endfor %}\
                 {{ coupon.expires_at }} {{ links.u }} {{ campaign.variant }}"
                    .into(),
            ),
            text: Some("{{ blocks | length }} {{ contact.tags | length }}".into()),
            fallbacks: [("first_name".to_string(), "friend".to_string())].into(),
            tracking: [("utm_source".to_string(), tag.to_string())].into(),
            ..Default::default()
        }
        };
        let templates = [
            Template::new(spec("one")).unwrap(),
            Template::new(spec("two")).unwrap(),
        ];
        let now = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let people: Vec<Recipient> = (0..60)
            .map(|i| {
                let mut r = recipient(i, true);
                let product = |j: usize| -> crate::model::Product {
                    parse::from_json(&format!(
                        r#"{{"id": "p{}", "name": "P & {}", "price": {}, "currency": "EUR",
                            "url": "https://s.example/p?x={}#f"{}}}"#,
                        j % 4,
                        j % 3,
                        10 + j % 5,
                        j % 2,
                        if j.is_multiple_of(7) {
                            r#", "brand": "B", "old_price": 20"#
                        } else {
                            ""
                        }
                    ))
                    .unwrap()
                };
                r.blocks
                    .insert("picks".into(), (0..3).map(|k| product(i % 9 + k)).collect());
                r.coupon = Some(super::super::CouponView {
                    code: "X".parse().unwrap(),
                    expires_at: Some(if i.is_multiple_of(3) {
                        now
                    } else {
                        Timestamp::parse("2024-02-01T00:00:00Z").unwrap()
                    }),
                });
                r.links.insert(
                    "u".into(),
                    format!("https://s.example/u/{i}").parse().unwrap(),
                );
                r
            })
            .collect();
        let mut outcomes = Vec::new();
        run(&c, &templates, people.clone(), now, |chunk| {
            outcomes.extend_from_slice(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(outcomes.len(), people.len());
        let mut rendered = 0;
        for (r, o) in people.iter().zip(&outcomes) {
            assert_eq!(o, &render_one(&c, &templates, r, now));
            if o.status == Status::Rendered {
                rendered += 1;
                let index = c.variant_of(r.contact.id.as_str());
                let info = MessageInfo {
                    campaign_id: Some(c.id.clone()),
                    step: None,
                    variant: Some(c.variants[index].clone()),
                };
                let m = templates[index].render(r, now, &info).unwrap();
                assert_eq!(
                    (&o.subject, &o.html, &o.text),
                    (&m.subject, &m.html, &m.text)
                );
            }
        }
        assert!(rendered > 40, "{rendered}");
        let mut out = Vec::new();
        write(&c, &templates, &people, now, &mut out).unwrap();
        let want: String = outcomes
            .iter()
            .map(|o| serde_json::to_string(o).unwrap() + "\n")
            .collect();
        assert_eq!(String::from_utf8(out).unwrap(), want);
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
        let e = write(&c, &[t], Vec::<Recipient>::new(), now, Vec::new()).unwrap_err();
        assert_eq!(e.path(), Some("templates"));
    }
}
