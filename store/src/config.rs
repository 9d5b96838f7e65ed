//! What a store runs: the trigger rules, the templates they name, the
//! coupon pools, the catalog, and how letters go out.
//!
//! The config is JSON, kept in the store file, so every process that opens
//! the file (the worker, the sender, the `patron` command) runs the same
//! rules. It is checked whole when set: an unknown template or pool, a bad
//! rule or a template that does not compile is refused with its path
//! (`triggers.rules[2].steps[0].template`, `templates.cart_1.html`).

use std::collections::{BTreeMap, HashMap};

use patron::message::coupon::CouponPool;
use patron::message::{Template, TemplateSpec};
use patron::segment::Registry;
use patron::trigger::{Config as TriggerConfig, Engine};
use patron::{Catalog, parse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;

/// The store's config, in its JSON form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Trigger rules, the segments they name, and the delivery policy: the
    /// JSON form of [`patron::trigger::Config`].
    pub triggers: Value,
    /// Templates by name, as trigger steps name them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, Value>,
    /// Coupon pools, as trigger steps name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupon_pools: Vec<Value>,
    /// The catalog: product triggers by category or brand, and the
    /// products a letter shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Value>,
    /// How letters go out.
    #[serde(default)]
    pub sender: SenderConfig,
}

/// How letters go out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderConfig {
    /// The `From` of every letter (`Shop <news@shop.example>`).
    #[serde(default = "default_from")]
    pub from: String,
    /// The domain of Message-IDs; default the domain of `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The https address of one-click unsubscribe (RFC 8058): the store
    /// adds `?token=...`, a signed token naming the contact and letter,
    /// and puts it in `List-Unsubscribe` and in the template's
    /// `links.unsubscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
    /// A `mailto:` address for `List-Unsubscribe`, for clients without https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_mailto: Option<String>,
    /// The secret that signs unsubscribe tokens; needed with `unsubscribe_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key: Option<String>,
    /// Attempts before a letter ends as `failed` (default 5).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Seconds before the first retry, doubled on each next one (default 60).
    #[serde(default = "default_retry")]
    pub retry_seconds: u64,
    /// Seconds a worker or sender holds a contact or letter before another
    /// process may take it over (default 300).
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
}

fn default_from() -> String {
    "shop@localhost".into()
}
fn default_attempts() -> u32 {
    5
}
fn default_retry() -> u64 {
    60
}
fn default_lease() -> u64 {
    300
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            from: default_from(),
            domain: None,
            unsubscribe_url: None,
            unsubscribe_mailto: None,
            link_key: None,
            max_attempts: default_attempts(),
            retry_seconds: default_retry(),
            lease_seconds: default_lease(),
        }
    }
}

impl SenderConfig {
    /// The domain of Message-IDs.
    pub fn domain(&self) -> &str {
        if let Some(d) = &self.domain {
            return d;
        }
        let address = self.from.rsplit('<').next().unwrap_or(&self.from);
        address
            .rsplit('@')
            .next()
            .map(|d| d.trim_end_matches('>').trim())
            .filter(|d| !d.is_empty())
            .unwrap_or("localhost")
    }
}

/// A config checked and compiled: what the store runs with.
pub(crate) struct Setup {
    pub config: Config,
    pub engine: Engine,
    /// The engine's segments, for membership history; none without segments.
    pub segments: Option<Registry>,
    pub templates: HashMap<String, Template>,
    pub pools: HashMap<String, CouponPool>,
    pub catalog: Option<Catalog>,
}

impl Setup {
    /// Checks `config` whole and compiles it.
    pub fn new(config: Config) -> Result<Setup> {
        let catalog: Option<Catalog> = match &config.catalog {
            Some(v) => Some(parse::from_value(v.clone()).map_err(|e| e.within("catalog"))?),
            None => None,
        };
        let mut templates = HashMap::new();
        for (name, spec) in &config.templates {
            let here = format!("templates.{name}");
            let spec: TemplateSpec =
                parse::from_value(spec.clone()).map_err(|e| e.within(&here))?;
            let template = Template::new(spec).map_err(|e| e.within(&here))?;
            templates.insert(name.clone(), template);
        }
        let mut pools = HashMap::new();
        for (i, pool) in config.coupon_pools.iter().enumerate() {
            let here = format!("coupon_pools[{i}]");
            let pool: CouponPool = parse::from_value(pool.clone()).map_err(|e| e.within(&here))?;
            pools.insert(pool.id.as_str().to_string(), pool);
        }
        if config.sender.unsubscribe_url.is_some() && config.sender.link_key.is_none() {
            return Err(patron::Error::invalid(
                "sender.link_key",
                "an unsubscribe_url needs a link_key to sign its tokens",
            )
            .into());
        }
        let mut triggers: TriggerConfig =
            parse::from_value(config.triggers.clone()).map_err(|e| e.within("triggers"))?;
        // Steps may name only what the store has: templates and pools it
        // cannot find would fail every letter at send time.
        triggers
            .templates
            .get_or_insert_with(|| templates.keys().cloned().collect());
        triggers
            .coupon_pools
            .get_or_insert_with(|| pools.keys().cloned().collect());
        let segments = if triggers.segments.is_empty() {
            None
        } else {
            let value = Value::Object(triggers.segments.clone().into_iter().collect());
            Some(Registry::from_value(value).map_err(|e| e.within("triggers.segments"))?)
        };
        let engine = Engine::new(triggers, catalog.as_ref()).map_err(|e| e.within("triggers"))?;
        Ok(Setup {
            config,
            engine,
            segments,
            templates,
            pools,
            catalog,
        })
    }
}
