//! Message templates: a subject, an HTML body and a plain-text body, with
//! partials, compiled once by [tera](https://keats.github.io/tera/) and
//! rendered per recipient.
//!
//! - The HTML body is autoescaped: a first name `<script>` comes out as
//!   `&lt;script&gt;`. A partial included from the HTML body is escaped as
//!   HTML, the same partial included from the text body is not (tera escapes
//!   by the including template). `| safe` turns escaping off for one value.
//! - The subject is plain text, on one line: line breaks (which would let a
//!   field value add mail headers) become spaces.
//! - Templates cannot read files or reach the network: tera 2 has no such
//!   function or filter (its only functions are `range` and `throw`), patron
//!   registers none, and `include` / `extends` see only the template's own
//!   parts and partials. A test pins this.
//! - Every part is compiled when the template is made: a syntax error is an
//!   [`Error::Template`] naming the part and the line and column.
//! - An unknown variable fails the render for that recipient;
//!   [`Template::lint`] finds unknown variables ahead of time, against a
//!   sample recipient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::context::{self, CONTACT_FIELDS, Cache, MessageInfo, NAMES, Plan, Recipient, Shared};
use crate::error::{Error, Location, Result};
use crate::model::{Id, Timestamp};

/// The source of a template, as the host stores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// The subject (email) or title (push); plain text, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTML body, autoescaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The plain-text body (email text part, SMS, push body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Partials by name, for `{% include "name" %}` (a product card, a footer).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partials: BTreeMap<String, String>,
    /// Values for contact fields that are missing: `{"first_name": "friend"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fallbacks: BTreeMap<String, String>,
    /// Query tags added to every product link (`utm_source`, `utm_medium`...);
    /// `utm_campaign` and `utm_content` default to the campaign id and variant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tracking: BTreeMap<String, String>,
    /// How much one render may write and loop (see [`RenderLimits`]).
    #[serde(default, skip_serializing_if = "RenderLimits::is_default")]
    pub limits: RenderLimits,
}

/// What one render of a template may do, so that no template (and no value
/// in a context) can make a render run on or fill memory: a render that
/// reaches a limit stops with [`Error::Limit`] naming it. Both hold per
/// part (subject, HTML body, text body) of one recipient's letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderLimits {
    /// Bytes a part may write: 2 MiB (mail clients clip letters long
    /// before: Gmail at 102 KB).
    pub output_bytes: usize,
    /// Numbers that `range` may make in one part, over all its calls (each
    /// call makes at most 100,000): 1,000,000. A `range` inside a loop
    /// counts every time it runs.
    pub range_steps: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            output_bytes: 2 << 20,
            range_steps: 1_000_000,
        }
    }
}

impl RenderLimits {
    fn is_default(&self) -> bool {
        *self == RenderLimits::default()
    }
}

/// The `range` numbers a render may still make, and whether it asked for
/// more.
#[derive(Clone, Copy)]
struct RangeBudget {
    left: u64,
    reached: bool,
}

thread_local! {
    /// The budget of the part rendering on this thread, set for one render
    /// by [`Template::render_part`] (tera calls functions on the thread
    /// that renders).
    static RANGE_BUDGET: std::cell::Cell<Option<RangeBudget>> =
        const { std::cell::Cell::new(None) };
}

/// `range` as tera has it, charging what it makes to the render's
/// [`RenderLimits::range_steps`].
fn range(kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<Vec<i128>> {
    let start = kwargs.get::<i128>("start")?.unwrap_or_default();
    let end = kwargs.must_get::<i128>("end")?;
    let step = kwargs.get::<i128>("step_by")?.unwrap_or(1);
    if step == 0 {
        return Err(tera::Error::message(
            "`range` was called with a `step_by` of 0",
        ));
    }
    if start > end && step > 0 {
        return Err(tera::Error::message(
            "`range` was called with a `start` greater than its `end`",
        ));
    }
    let span = if step > 0 {
        end.saturating_sub(start)
    } else {
        start.saturating_sub(end)
    };
    let stride = step.saturating_abs();
    let len = (span / stride + i128::from(span % stride != 0)).max(0);
    if len > 100_000 {
        return Err(tera::Error::message(format!(
            "`range` would make {len} numbers; one call makes at most 100000"
        )));
    }
    let len = len as u64;
    let refused = RANGE_BUDGET.with(|budget| match budget.get() {
        Some(b) if len > b.left => {
            budget.set(Some(RangeBudget {
                left: b.left,
                reached: true,
            }));
            true
        }
        Some(b) => {
            budget.set(Some(RangeBudget {
                left: b.left - len,
                reached: false,
            }));
            false
        }
        None => false,
    });
    if refused {
        return Err(tera::Error::message("`range` steps limit reached"));
    }
    Ok((0..len as i128).map(|i| start + i * step).collect())
}

/// A writer that takes at most `limit` bytes, then refuses.
struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
    reached: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + data.len() > self.limit {
            self.reached = true;
            return Err(std::io::Error::other("patron: output limit reached"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One rendered message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The recipient.
    pub contact_id: Id,
    /// The subject or title, on one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A problem [`Template::lint`] found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// The part: `subject`, `html`, `text` or `partials.<name>`.
    pub path: String,
    /// The unknown variable or field, when that is the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

const PARTS: [(&str, &str); 3] = [
    ("subject", "message.subject"),
    ("html", "message.html"),
    ("text", "message.text"),
];

/// A compiled template.
#[derive(Debug)]
pub struct Template {
    tera: tera::Tera,
    spec: TemplateSpec,
    plan: Plan,
}

impl Template {
    /// Compiles every part; errors name the part, line and column.
    ///
    /// ```
    /// use patron::message::{Template, TemplateSpec};
    ///
    /// let spec = TemplateSpec { html: Some("<p>{% if x %}</p>".into()), ..Default::default() };
    /// let err = Template::new(spec).unwrap_err();
    /// assert_eq!((err.code(), err.path()), ("template", Some("html")));
    /// assert_eq!(err.location().map(|l| (l.line, l.column)), Some((1, 18)));
    /// ```
    pub fn new(spec: TemplateSpec) -> Result<Template> {
        if spec.subject.is_none() && spec.html.is_none() && spec.text.is_none() {
            return Err(Error::invalid(
                "",
                "a template needs at least one of `subject`, `html` or `text`",
            ));
        }
        for name in spec.partials.keys() {
            if name.is_empty() || name.starts_with("message.") {
                return Err(Error::invalid(
                    format!("partials.{name}"),
                    "a partial needs a name that does not start with `message.`",
                ));
            }
        }
        for field in spec.fallbacks.keys() {
            if !CONTACT_FIELDS.contains(&field.as_str())
                || matches!(field.as_str(), "id" | "tags" | "attributes")
            {
                return Err(Error::invalid(
                    format!("fallbacks.{field}"),
                    format!(
                        "expected a contact field (first_name, last_name, city...), got `{field}`"
                    ),
                ));
            }
        }
        let mut tera = tera::Tera::new();
        tera.autoescape_on(["message.html"]);
        tera.register_function("range", range);
        let mut sources: Vec<(String, &str)> = Vec::new();
        for (part, name) in PARTS {
            if let Some(src) = spec.part(part) {
                sources.push((name.to_string(), src));
            }
        }
        for (name, src) in &spec.partials {
            sources.push((name.clone(), src));
        }
        tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), *s)))
            .map_err(|e| from_tera(&spec, e))?;
        // The top-level names the parts read, with their partials; every
        // name when a part could read the context in a way tera does not
        // report (its `__tera_context` dump, a component's implicit
        // arguments).
        let opaque = sources
            .iter()
            .any(|(_, s)| s.contains("__tera") || s.contains("component"));
        let mut read: Vec<&str> = Vec::new();
        if !opaque {
            for (name, _) in &sources {
                let vars = tera
                    .get_template_variables(name)
                    .map_err(|e| from_tera(&spec, e))?;
                read.extend(vars);
            }
        }
        let plan = Plan::new(
            (!opaque).then_some(read.as_slice()),
            &spec.fallbacks,
            &spec.tracking,
        );
        Ok(Template { tera, spec, plan })
    }

    /// The source this template was compiled from.
    pub fn spec(&self) -> &TemplateSpec {
        &self.spec
    }

    /// Renders every part for `recipient` at `now` (ages are counted at `now`).
    pub fn render(
        &self,
        recipient: &Recipient,
        now: Timestamp,
        info: &MessageInfo,
    ) -> Result<Message> {
        self.render_with(recipient, now, &self.shared(info), None)
    }

    /// The parts of every context that depend only on `info`.
    pub(crate) fn shared(&self, info: &MessageInfo) -> Shared {
        Shared::new(info, &self.plan)
    }

    /// [`Template::render`] with the `shared` values built once for many
    /// recipients, and a `cache` of the values built for earlier ones.
    pub(crate) fn render_with<'a>(
        &self,
        recipient: &'a Recipient,
        now: Timestamp,
        shared: &Shared,
        cache: Option<&mut Cache<'a>>,
    ) -> Result<Message> {
        let ctx = context::build(recipient, now, &self.plan, shared, cache)?;
        let mut out = Message {
            contact_id: recipient.contact.id.clone(),
            subject: None,
            html: None,
            text: None,
        };
        for (part, name) in PARTS {
            if self.spec.part(part).is_none() {
                continue;
            }
            let rendered = self.render_part(part, name, &ctx)?;
            match part {
                "subject" => out.subject = Some(one_line(&rendered)),
                "html" => out.html = Some(rendered),
                _ => out.text = Some(rendered),
            }
        }
        Ok(out)
    }

    /// Renders one part within the spec's [`RenderLimits`].
    fn render_part(&self, part: &str, name: &str, ctx: &tera::Context) -> Result<String> {
        let limits = self.spec.limits;
        let mut out = Bounded {
            bytes: Vec::new(),
            limit: limits.output_bytes,
            reached: false,
        };
        let budget = RangeBudget {
            left: limits.range_steps,
            reached: false,
        };
        let before = RANGE_BUDGET.with(|b| b.replace(Some(budget)));
        let rendered = self.tera.render_to(name, ctx, &mut out);
        let after = RANGE_BUDGET.with(|b| b.replace(before));
        match rendered {
            Ok(()) => Ok(String::from_utf8(out.bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
            Err(_) if out.reached => Err(Error::limit(
                "output_bytes",
                part,
                format!(
                    "the part would write more than {} bytes (limits.output_bytes)",
                    limits.output_bytes
                ),
            )),
            Err(_) if after.is_some_and(|b| b.reached) => Err(Error::limit(
                "range_steps",
                part,
                format!(
                    "`range` would make more than {} numbers in all (limits.range_steps)",
                    limits.range_steps
                ),
            )),
            Err(e) => Err(from_tera(&self.spec, e)),
        }
    }

    /// Finds unknown variables: top-level names a template reads that no
    /// context has, and, by rendering for `sample`, the first unknown field
    /// or other render error of each part. An empty list means the template
    /// renders for the sample.
    pub fn lint(&self, sample: &Recipient, now: Timestamp) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut names: Vec<(String, &str)> = PARTS
            .iter()
            .filter(|(part, _)| self.spec.part(part).is_some())
            .map(|(part, name)| (part.to_string(), *name))
            .collect();
        names.extend(
            self.spec
                .partials
                .keys()
                .map(|n| (format!("partials.{n}"), n.as_str())),
        );
        let all_sources: Vec<&str> = names
            .iter()
            .filter_map(|(_, n)| self.spec.source(n))
            .collect();
        for (path, name) in &names {
            let Ok(vars) = self.tera.get_template_variables(name) else {
                continue;
            };
            let source = self.spec.source(name).unwrap_or_default();
            // A partial also sees the loop and `set` variables of the parts
            // that include it.
            let mut unknown: Vec<&str> = vars
                .into_iter()
                .filter(|v| {
                    let partial_local =
                        path.starts_with("partials.") && all_sources.iter().any(|s| is_local(s, v));
                    !(NAMES.contains(v) || is_local(source, v) || partial_local)
                })
                .collect();
            unknown.sort_unstable();
            for v in unknown {
                let at = position_of(source, v);
                problems.push(Problem {
                    path: path.clone(),
                    variable: Some(v.to_string()),
                    message: format!(
                        "unknown variable `{v}`; a template sees {}",
                        NAMES.join(", ")
                    ),
                    line: at.map(|l| l.line),
                    column: at.map(|l| l.column),
                });
            }
        }
        let shared = self.shared(&MessageInfo::default());
        let ctx = match context::build(sample, now, &self.plan, &shared, None) {
            Ok(ctx) => ctx,
            Err(e) => {
                problems.push(Problem {
                    path: "sample".into(),
                    variable: None,
                    message: e.to_string(),
                    line: None,
                    column: None,
                });
                return problems;
            }
        };
        for (part, name) in PARTS {
            if self.spec.part(part).is_none() {
                continue;
            }
            if let Err(e) = self.render_part(part, name, &ctx) {
                let variable = unknown_in(e.reason());
                let location = e.location();
                let path = e.path().unwrap_or(part).to_string();
                let already = problems
                    .iter()
                    .any(|p| p.path == path && variable.is_some() && p.variable == variable);
                if !already {
                    problems.push(Problem {
                        path,
                        variable,
                        message: e.reason().to_string(),
                        line: location.map(|l| l.line),
                        column: location.map(|l| l.column),
                    });
                }
            }
        }
        problems
    }
}

impl TemplateSpec {
    fn part(&self, part: &str) -> Option<&str> {
        match part {
            "subject" => self.subject.as_deref(),
            "html" => self.html.as_deref(),
            "text" => self.text.as_deref(),
            _ => None,
        }
    }

    /// The source of a compiled template name.
    fn source(&self, name: &str) -> Option<&str> {
        match PARTS.iter().find(|(_, n)| *n == name) {
            Some((part, _)) => self.part(part),
            None => self.partials.get(name).map(String::as_str),
        }
    }
}

/// The error path of a compiled template name.
fn path_of(spec: &TemplateSpec, name: &str) -> String {
    match PARTS.iter().find(|(_, n)| *n == name) {
        Some((part, _)) => (*part).to_string(),
        None if spec.partials.contains_key(name) => format!("partials.{name}"),
        None => String::new(),
    }
}

fn from_tera(spec: &TemplateSpec, e: tera::Error) -> Error {
    use tera::ErrorKind;
    match e.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) => {
            let span = r.span();
            let location = (span.start_line > 0).then(|| Location {
                line: span.start_line,
                column: span.start_col + 1,
            });
            Error::Template {
                path: path_of(spec, r.filename()),
                message: r.message().to_string(),
                location,
            }
        }
        ErrorKind::TemplateNotFound(name) => Error::Template {
            path: String::new(),
            message: format!("no partial named `{name}`"),
            location: None,
        },
        ErrorKind::MissingParent { current, parent } => Error::Template {
            path: path_of(spec, current),
            message: format!("extends `{parent}`, which is not one of the partials"),
            location: None,
        },
        ErrorKind::CircularInclude { tpl, include_chain } => Error::Template {
            path: path_of(spec, tpl),
            message: format!("includes itself: {}", include_chain.join(" -> ")),
            location: None,
        },
        ErrorKind::CircularExtend {
            tpl,
            inheritance_chain,
        } => Error::Template {
            path: path_of(spec, tpl),
            message: format!("extends itself: {}", inheritance_chain.join(" -> ")),
            location: None,
        },
        other => Error::Template {
            path: String::new(),
            message: other.to_string(),
            location: None,
        },
    }
}

/// Collapses every run of whitespace (line breaks included) to one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The variable or field a tera "is not defined" message names.
fn unknown_in(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("Variable `")
        .or_else(|| message.strip_prefix("Field `"))?;
    rest.split_once('`').map(|(v, _)| v.to_string())
}

/// Whether `name` is set inside the template (`set`, `for`, macro arguments).
fn is_local(source: &str, name: &str) -> bool {
    let words: Vec<&str> = source
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .any(|w| matches!(w[0], "set" | "set_global" | "for") && w[1] == name)
        || words.windows(3).any(|w| w[0] == "for" && w[2] == name)
}

/// The first place `name` appears as a whole word inside `{{ }}` or `{% %}`.
fn position_of(source: &str, name: &str) -> Option<Location> {
    let bytes = source.as_bytes();
    let mut from = 0;
    while let Some(i) = source[from..].find(name).map(|i| i + from) {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + name.len()).copied();
        let word =
            |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        let inside = source[..i].rfind("{{").max(source[..i].rfind("{%"))
            > source[..i].rfind("}}").max(source[..i].rfind("%}"));
        if !word(before) && !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') && inside
        {
            let line = source[..i].matches('\n').count() + 1;
            let column = source[..i]
                .rsplit('\n')
                .next()
                .map_or(0, |l| l.chars().count())
                + 1;
            return Some(Location { line, column });
        }
        from = i + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn spec(json: &str) -> TemplateSpec {
        serde_json::from_str(json).unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse("2024-07-01T00:00:00Z").unwrap()
    }

    fn render_err(json: &str) -> Error {
        Template::new(spec(json))
            .unwrap()
            .render(&ann(), now(), &MessageInfo::default())
            .unwrap_err()
    }

    #[test]
    fn nested_loops_stop_at_the_output_limit_not_at_a_gigabyte() {
        let e = render_err(
            r#"{"text": "{% for i in range(end=100000) %}{% for j in range(end=9) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}"}"#,
        );
        assert_eq!((e.code(), e.path()), ("limit", Some("text")), "{e}");
        assert!(e.to_string().contains("limits.output_bytes"), "{e}");
        // A host may allow less (or more).
        let e = render_err(
            r#"{"text": "{{ contact.first_name }} and more", "limits": {"output_bytes": 10}}"#,
        );
        assert_eq!(e.code(), "limit");
    }

    #[test]
    fn loops_that_write_nothing_stop_at_the_range_limit() {
        let e = render_err(
            r#"{"html": "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}"}"#,
        );
        assert_eq!((e.code(), e.path()), ("limit", Some("html")), "{e}");
        assert!(e.to_string().contains("limits.range_steps"), "{e}");
        // Under the limit, `range` is tera's: steps, and a call too large.
        let m = Template::new(spec(
            r#"{"text": "{% for i in range(start=10, end=0, step_by=-3) %}{{ i }} {% endfor %}"}"#,
        ))
        .unwrap()
        .render(&ann(), now(), &MessageInfo::default())
        .unwrap();
        assert_eq!(m.text.as_deref(), Some("10 7 4 1 "));
        let e = render_err(r#"{"text": "{% for i in range(end=100001) %}{% endfor %}"}"#);
        assert_eq!(e.code(), "template", "{e}");
    }

    fn ann() -> Recipient {
        serde_json::from_str(
            r#"{"contact": {"id": "c-1", "first_name": "<script>alert(1)</script>", "birthday": "1990-07-02"},
                "segments": ["vip"], "links": {"unsubscribe": "https://shop.example/u?t=1&c=2"},
                "coupon": {"code": "SAVE-7K3Q"},
                "blocks": {"picks": [
                  {"id": "p1", "name": "Tea & <Cups>", "price": 12.5, "currency": "EUR", "url": "https://s.example/p1"},
                  {"id": "p2", "name": "Pot", "price": 30, "currency": "EUR"}]}}"#,
        )
        .unwrap()
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Template::new(spec(
            r#"{"subject": "Hi {{ contact.first_name }}\n\r Bcc: x", "html": "<p>{{ contact.first_name }}</p>",
                "text": "{{ contact.first_name }}"}"#,
        ))
        .unwrap();
        let m = t.render(&ann(), now(), &MessageInfo::default()).unwrap();
        assert_eq!(
            m.html.as_deref(),
            Some("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
        );
        assert_eq!(m.text.as_deref(), Some("<script>alert(1)</script>"));
        assert_eq!(
            m.subject.as_deref(),
            Some("Hi <script>alert(1)</script> Bcc: x")
        );
    }

    #[test]
    fn context_has_age_segments_coupon_links_and_blocks_through_partials() {
        let t = Template::new(spec(
            r#"{"text": "{{ contact.age }} {% if 'vip' in segments %}VIP{% endif %} {{ coupon.code }} {{ links.unsubscribe }}{% for product in blocks.picks %} [{% include 'card' %}]{% endfor %}",
                "html": "{% for product in blocks.picks %}{% include 'card' %}{% endfor %}",
                "partials": {"card": "{{ product.name }} {{ product.price }} {{ product.url }}"}}"#,
        ))
        .unwrap();
        let m = t.render(&ann(), now(), &MessageInfo::default()).unwrap();
        assert_eq!(
            m.text.as_deref(),
            Some(
                "33 VIP SAVE-7K3Q https://shop.example/u?t=1&c=2 [Tea & <Cups> 12.5 https://s.example/p1] [Pot 30.0 ]"
            )
        );
        assert_eq!(
            m.html.as_deref(),
            Some("Tea &amp; &lt;Cups&gt; 12.5 https://s.example/p1Pot 30.0 ")
        );
    }

    #[test]
    fn fallbacks_fill_missing_fields() {
        let t = Template::new(spec(
            r#"{"text": "Hi {{ contact.first_name }}, {{ contact.city }}!", "fallbacks": {"first_name": "friend"}}"#,
        ))
        .unwrap();
        let r = Recipient::new(parse::from_json(r#"{"id": "c"}"#).unwrap());
        let m = t.render(&r, now(), &MessageInfo::default()).unwrap();
        assert_eq!(m.text.as_deref(), Some("Hi friend, !"));
        let e = Template::new(spec(r#"{"text": "x", "fallbacks": {"nmae": "x"}}"#)).unwrap_err();
        assert_eq!(e.path(), Some("fallbacks.nmae"));
    }

    #[test]
    fn syntax_errors_name_part_line_and_column() {
        let e = Template::new(spec(
            r#"{"text": "ok", "partials": {"card": "line one\n  {{ product.name }"}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code(), "template");
        assert_eq!(e.path(), Some("partials.card"));
        let l = e.location().unwrap();
        assert_eq!(l.line, 2, "{e}");
        let e = Template::new(spec(r#"{"subject": "{% for x in y %}"}"#)).unwrap_err();
        assert_eq!(e.path(), Some("subject"), "{e}");
    }

    #[test]
    fn unknown_variables_fail_the_render_and_lint_finds_them() {
        let t = Template::new(spec(
            r#"{"html": "<p>\n{{ contact.nmae }} {{ user.name }}</p>", "text": "{{ contact.first_name }}"}"#,
        ))
        .unwrap();
        let e = t
            .render(&ann(), now(), &MessageInfo::default())
            .unwrap_err();
        assert_eq!((e.code(), e.path()), ("template", Some("html")));
        let problems = t.lint(&ann(), now());
        let vars: Vec<_> = problems.iter().map(|p| p.variable.as_deref()).collect();
        assert_eq!(vars, vec![Some("user"), Some("nmae")], "{problems:?}");
        assert_eq!((problems[0].line, problems[0].column), (Some(2), Some(23)));
        assert_eq!(problems[1].line, Some(2));
    }

    #[test]
    fn names_a_template_does_not_read_are_still_listed_and_dumps_see_everything() {
        // Only `contact` is built; the error still lists every name.
        let t = Template::new(spec(r#"{"text": "{{ contact.id }} {{ user }}"}"#)).unwrap();
        let e = t
            .render(&ann(), now(), &MessageInfo::default())
            .unwrap_err();
        assert!(
            e.to_string().contains(
                "Available variables: blocks, campaign, contact, coupon, facts, links, rfm, segments"
            ),
            "{e}"
        );
        // A part that reads the whole context gets every name built.
        let t = Template::new(spec(r#"{"text": "{{ __tera_context }}"}"#)).unwrap();
        let m = t.render(&ann(), now(), &MessageInfo::default()).unwrap();
        assert!(m.text.unwrap().contains("SAVE-7K3Q"));
    }

    #[test]
    fn templates_cannot_reach_files_or_the_network() {
        for src in [
            "{% include '/etc/passwd' %}",
            "{% extends '../Cargo.toml' %}",
            "{{ get_env(name='HOME') }}",
            "{{ load_data(path='Cargo.toml') }}",
            "{{ get_url(path='x') }}",
            "{{ 'https://example.com' | fetch }}",
        ] {
            let made = Template::new(TemplateSpec {
                text: Some(src.into()),
                ..Default::default()
            });
            let rendered = made.and_then(|t| t.render(&ann(), now(), &MessageInfo::default()));
            let e = rendered.unwrap_err();
            assert_eq!(e.code(), "template", "{src}: {e}");
        }
    }
}
