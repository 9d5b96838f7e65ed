//! Runs the shared test vectors (`tests/vectors/v1/*.json`), which the Python
//! and Node suites run too. See `tests/vectors/README.md` for the format.

use patron::lifecycle::{self, LifecycleConfig};
use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::predict::{self, BgNbd, GammaGamma, History, Transaction};
use patron::profile::{self, Facts, Profile};
use patron::purchase::{self, Purchase};
use patron::rfm::{self, CustomerSummary, FourGroupConfig, RfmConfig};
use patron::segment::{
    Export, Format, Membership, Registry, Rule, Table, changes, columns_from_value, read_ids,
};
use patron::{Catalog, ConsentChange, Contact, Error, Event, Product};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

use patron::message::campaign::{self, Campaign};
use patron::message::coupon::{self, CouponPool, PoolState};
use patron::message::push::{self, PushLimits};
use patron::message::sms::{self, Fit};
use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
use patron::metrics::{self, Assignment, KpiConfig, KpiRow, Metric, UpliftConfig};

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Replaces the markers; `None` when the value cannot exist as a JSON value (NaN).
fn expand(v: &Value) -> Option<Value> {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$float") => None,
        Value::Object(m) if m.len() == 1 && m.contains_key("$repeat") => {
            let args = m["$repeat"].as_array()?;
            Some(Value::String(
                args[0].as_str()?.repeat(args[1].as_u64()? as usize),
            ))
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("$nest") => {
            let args = m["$nest"].as_array()?;
            let mut out = args[1].clone();
            for _ in 0..args[0].as_u64()? {
                out = json!({ "a": out });
            }
            Some(out)
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), expand(v)?);
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(expand)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        other => Some(other.clone()),
    }
}

enum Input {
    Object(Value),
    Text(String),
}

fn ok<T: Serialize>(r: patron::Result<T>) -> Result<Value, Error> {
    r.map(|v| serde_json::to_value(v).unwrap())
}

fn one<T: Model>(input: Input) -> Result<Value, Error> {
    ok(match input {
        Input::Object(v) => parse::from_value::<T>(v),
        Input::Text(t) => parse::from_json::<T>(&t),
    })
}

fn many<T: Model>(input: Input) -> Result<Value, Error> {
    ok(match input {
        Input::Object(v) => parse::list_from_value::<T>(v),
        Input::Text(t) => parse::list_from_json::<T>(&t),
    })
}

fn apply_consent(input: Input) -> Result<Value, Error> {
    let (mut contact, change) = match input {
        Input::Object(v) => (
            Contact::from_value(v["contact"].clone()).map_err(|e| e.within("contact"))?,
            ConsentChange::from_value(v["change"].clone()).map_err(|e| e.within("change"))?,
        ),
        Input::Text(t) => {
            let v: Value = serde_json::from_str(&t).unwrap();
            (
                Contact::from_json(&v["contact"].to_string()).map_err(|e| e.within("contact"))?,
                ConsentChange::from_json(&v["change"].to_string())
                    .map_err(|e| e.within("change"))?,
            )
        }
    };
    contact.apply_consent(&change)?;
    ok(Ok(contact))
}

/// The RFM ops take `{"customers", "as_of", "config"}`; errors name the argument.
fn rfm_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let customers: Vec<CustomerSummary> =
        parse::list_from_json(&v["customers"].to_string()).map_err(|e| e.within("customers"))?;
    let as_of: Timestamp = serde_json::from_value(v["as_of"].clone())
        .map_err(|e| Error::invalid("as_of", e.to_string()))?;
    let config = v
        .get("config")
        .filter(|c| !c.is_null())
        .cloned()
        .unwrap_or(json!({}));
    if op == "rfm_scores" {
        let config = RfmConfig::from_value(config).map_err(|e| e.within("config"))?;
        config.check().map_err(|e| e.within("config"))?;
        ok(rfm::score(&customers, as_of, &config).map_err(|e| e.within("customers")))
    } else {
        let config = FourGroupConfig::from_value(config).map_err(|e| e.within("config"))?;
        config.check().map_err(|e| e.within("config"))?;
        let groups =
            rfm::four_groups(&customers, as_of, &config).map_err(|e| e.within("customers"))?;
        Ok(Value::Array(
            customers
                .iter()
                .zip(groups)
                .map(|(c, g)| json!({"contact_id": c.contact_id, "group": g}))
                .collect(),
        ))
    }
}

/// The lifecycle ops take `{"customers", "as_of", "config"}` or
/// `{"before", "before_at", "after", "after_at", "config"}`.
fn lifecycle_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let list = |name: &str| -> Result<Vec<CustomerSummary>, Error> {
        parse::list_from_json(&v[name].to_string()).map_err(|e| e.within(name))
    };
    let time = |name: &str| -> Result<Timestamp, Error> {
        serde_json::from_value(v[name].clone()).map_err(|e| Error::invalid(name, e.to_string()))
    };
    let config = v
        .get("config")
        .filter(|c| !c.is_null())
        .cloned()
        .unwrap_or(json!({}));
    let config = LifecycleConfig::from_value(config).map_err(|e| e.within("config"))?;
    config.check().map_err(|e| e.within("config"))?;
    if op == "lifecycle_place" {
        let customers = list("customers")?;
        ok(
            lifecycle::place(&customers, time("as_of")?, &config)
                .map_err(|e| e.within("customers")),
        )
    } else {
        let (before, before_at) = (list("before")?, time("before_at")?);
        let (after, after_at) = (list("after")?, time("after_at")?);
        ok(lifecycle::moves(
            &before, before_at, &after, after_at, &config,
        ))
    }
}

/// The prediction ops take their arguments by name, as in the bindings.
fn predict_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let histories = || -> Result<Vec<History>, Error> {
        parse::list_from_json(&v["histories"].to_string()).map_err(|e| e.within("histories"))
    };
    let number = |name: &str| v[name].as_f64().unwrap();
    match op {
        "predict_histories" => {
            let transactions: Vec<Transaction> =
                parse::list_from_json(&v["transactions"].to_string())
                    .map_err(|e| e.within("transactions"))?;
            let end: patron::model::Date = serde_json::from_value(v["calibration_end"].clone())
                .map_err(|e| Error::invalid("calibration_end", e.to_string()))?;
            let period = v.get("period_days").and_then(Value::as_f64).unwrap_or(7.0);
            ok(predict::summarize(&transactions, end.get(), period)
                .map_err(|e| e.within("transactions")))
        }
        "bgnbd_fit" => {
            let (model, report) = BgNbd::fit(&histories()?).map_err(|e| e.within("histories"))?;
            Ok(
                json!({"model": model, "log_likelihood": report.log_likelihood, "iterations": report.iterations}),
            )
        }
        "gamma_gamma_fit" => {
            let (model, report) =
                GammaGamma::fit(&histories()?).map_err(|e| e.within("histories"))?;
            Ok(
                json!({"model": model, "log_likelihood": report.log_likelihood, "iterations": report.iterations}),
            )
        }
        "bgnbd_predict" => {
            let model = BgNbd::from_value(v["model"].clone()).map_err(|e| e.within("model"))?;
            let h = histories()?;
            ok(model.predict(&h, number("t")).map_err(|e| {
                if e.path() == Some("t") {
                    e
                } else {
                    e.within("histories")
                }
            }))
        }
        "predict_average_interval" => {
            let transactions: Vec<Transaction> =
                parse::list_from_json(&v["transactions"].to_string())
                    .map_err(|e| e.within("transactions"))?;
            let as_of: patron::model::Date = serde_json::from_value(v["as_of"].clone())
                .map_err(|e| Error::invalid("as_of", e.to_string()))?;
            ok(predict::average_interval(&transactions, as_of.get())
                .map_err(|e| e.within("transactions")))
        }
        "predict_clv" => {
            let bg = BgNbd::from_value(v["bgnbd"].clone()).map_err(|e| e.within("bgnbd"))?;
            let gg = GammaGamma::from_value(v["gamma_gamma"].clone())
                .map_err(|e| e.within("gamma_gamma"))?;
            let h = histories()?;
            ok(predict::clv(
                &bg,
                &gg,
                &h,
                number("horizon"),
                number("step"),
                number("discount"),
            )
            .map_err(|e| match e.path() {
                Some("horizon" | "step" | "discount") => e,
                _ => e.within("histories"),
            }))
        }
        "bgnbd_expected_new" => {
            let model = BgNbd::from_value(v["model"].clone()).map_err(|e| e.within("model"))?;
            ok(model.expected_purchases_new(number("t")))
        }
        _ => {
            let model =
                GammaGamma::from_value(v["model"].clone()).map_err(|e| e.within("model"))?;
            ok(model
                .predict(&histories()?)
                .map_err(|e| e.within("histories")))
        }
    }
}

/// The profile ops take their arguments by name, as in the bindings.
fn profile_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let profiles = || -> Result<Vec<Profile>, Error> {
        parse::list_from_json(&v["profiles"].to_string()).map_err(|e| e.within("profiles"))
    };
    let as_of = || -> Result<Timestamp, Error> {
        serde_json::from_value(v["as_of"].clone())
            .map_err(|e| Error::invalid("as_of", e.to_string()))
    };
    match op {
        "build_profiles" => {
            let events: Vec<Event> =
                parse::list_from_json(&v["events"].to_string()).map_err(|e| e.within("events"))?;
            ok(profile::build(&events).map_err(|e| e.within("events")))
        }
        "apply_event" => {
            let event = Event::from_value(v["event"].clone()).map_err(|e| e.within("event"))?;
            let mut profile = match v.get("profile").filter(|p| !p.is_null()) {
                Some(p) => Profile::from_value(p.clone()).map_err(|e| e.within("profile"))?,
                None => Profile::new(event.contact_id.clone().ok_or_else(|| {
                    Error::invalid(
                        "event.contact_id",
                        "a new profile needs the event's contact_id",
                    )
                })?),
            };
            let applied = profile.apply(&event).map_err(|e| e.within("event"))?;
            Ok(json!({"profile": profile, "applied": applied}))
        }
        "profile_facts" => {
            let catalog = match v.get("catalog").filter(|c| !c.is_null()) {
                Some(c) => Some(Catalog::from_value(c.clone()).map_err(|e| e.within("catalog"))?),
                None => None,
            };
            let index = catalog.as_ref().map(Catalog::index);
            let contacts: Option<Vec<Contact>> = match v.get("contacts").filter(|c| !c.is_null()) {
                Some(c) => {
                    Some(parse::list_from_json(&c.to_string()).map_err(|e| e.within("contacts"))?)
                }
                None => None,
            };
            let rfm: Option<RfmConfig> = match v.get("rfm").filter(|c| !c.is_null()) {
                Some(c) => Some(RfmConfig::from_value(c.clone()).map_err(|e| e.within("rfm"))?),
                None => None,
            };
            let lifecycle: Option<LifecycleConfig> =
                match v.get("lifecycle").filter(|c| !c.is_null()) {
                    Some(c) => Some(
                        LifecycleConfig::from_value(c.clone())
                            .map_err(|e| e.within("lifecycle"))?,
                    ),
                    None => None,
                };
            let predict: Option<profile::PredictConfig> =
                match v.get("predict").filter(|c| !c.is_null()) {
                    Some(c) => Some(
                        profile::PredictConfig::from_value(c.clone())
                            .map_err(|e| e.within("predict"))?,
                    ),
                    None => None,
                };
            let enrich = profile::Enrich {
                rfm,
                lifecycle,
                predict,
            };
            ok(profile::facts_with(
                &profiles()?,
                as_of()?,
                index.as_ref(),
                contacts.as_deref(),
                &enrich,
            ))
        }
        "customer_summaries" => {
            ok(profile::summaries(&profiles()?, as_of()?).map_err(|e| e.within("profiles")))
        }
        _ => ok(profile::transactions(&profiles()?).map_err(|e| e.within("profiles"))),
    }
}

/// The purchase ops take `{"purchases", "as_of", "config"}`.
fn purchase_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let as_of: Timestamp = serde_json::from_value(v["as_of"].clone())
        .map_err(|e| Error::invalid("as_of", e.to_string()))?;
    let config = RfmConfig::from_value(
        v.get("config")
            .filter(|c| !c.is_null())
            .cloned()
            .unwrap_or(json!({})),
    )
    .map_err(|e| e.within("config"))?;
    config.check().map_err(|e| e.within("config"))?;
    let purchases: Vec<Purchase> =
        parse::list_from_json(&v["purchases"].to_string()).map_err(|e| e.within("purchases"))?;
    let customers = purchase::summarize(&purchases, as_of).map_err(|e| e.within("purchases"))?;
    if op == "summarize_purchases" {
        return ok(Ok(customers));
    }
    ok(rfm::score(&customers, as_of, &config).map_err(|e| e.within("purchases")))
}

/// The segment ops take `{"segments", "facts", "name"}`.
fn segment_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let registry = Registry::from_value(v["segments"].clone()).map_err(|e| e.within("segments"))?;
    match op {
        "check_segments" => Ok(json!(registry.names().collect::<Vec<_>>())),
        "segment_members" => {
            let facts: Vec<Facts> =
                parse::list_from_json(&v["facts"].to_string()).map_err(|e| e.within("facts"))?;
            ok(registry.members(&facts).map_err(|e| e.within("facts")))
        }
        "freeze_segment" => {
            let facts: Vec<Facts> =
                parse::list_from_json(&v["facts"].to_string()).map_err(|e| e.within("facts"))?;
            let name = v["name"].as_str().unwrap_or_default();
            ok(registry.freeze(name, &facts).map_err(|e| e.within("name")))
        }
        "update_segments" => {
            let previous: Option<Membership> = match &v["previous"] {
                Value::Null => None,
                p => Some(Membership::from_value(p.clone()).map_err(|e| e.within("previous"))?),
            };
            let facts = Facts::from_value(v["facts"].clone()).map_err(|e| e.within("facts"))?;
            match v.get("event") {
                None | Some(Value::Null) => ok(registry.update(previous.as_ref(), &facts)),
                Some(e) => {
                    let event = Event::from_value(e.clone()).map_err(|e| e.within("event"))?;
                    ok(registry.update_after(previous.as_ref(), &facts, &event))
                }
            }
        }
        "evaluate_segments" => {
            let as_of = v["as_of"].as_str().unwrap_or_default();
            let as_of = Timestamp::parse(as_of).map_err(|e| e.within("as_of"))?;
            let table =
                Table::from_json_value(as_of, &v["table"]).map_err(|e| e.within("table"))?;
            let all = registry
                .evaluate_table(&table)
                .map_err(|e| e.within("segments"))?;
            let mut out = Map::new();
            for name in all.segments() {
                let rows = all.rows(name)?;
                let mut inside = vec![false; all.len()];
                rows.into_iter().for_each(|r| inside[r] = true);
                out.insert(name.clone(), json!(inside));
            }
            Ok(Value::Object(out))
        }
        "segment_overlap" => {
            let memberships: Vec<Membership> = parse::list_from_json(&v["memberships"].to_string())
                .map_err(|e| e.within("memberships"))?;
            ok(registry
                .overlap(&memberships)
                .map_err(|e| e.within("memberships")))
        }
        _ => {
            let facts = Facts::from_value(v["facts"].clone()).map_err(|e| e.within("facts"))?;
            let name = v["name"].as_str().unwrap_or_default();
            ok(registry.explain(name, &facts).map_err(|e| e.within("name")))
        }
    }
}

/// `segment_changes` takes `{"before", "after", "at"}`: two snapshots of memberships.
fn changes_op(input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let before: Vec<Membership> =
        parse::list_from_json(&v["before"].to_string()).map_err(|e| e.within("before"))?;
    let after: Vec<Membership> =
        parse::list_from_json(&v["after"].to_string()).map_err(|e| e.within("after"))?;
    let at = Timestamp::parse(v["at"].as_str().unwrap_or_default()).map_err(|e| e.within("at"))?;
    ok(Ok(changes(&before, &after, at)))
}

/// `export` takes `{"facts", "columns", "format", "escape_formulas"}`, and
/// `"segments"` and `"name"` for a segment's members; the output is the text.
/// `read_segment_ids` takes `{"source", "column"}`.
fn export_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    if op == "read_segment_ids" {
        let source = v["source"].as_str().unwrap_or_default();
        let column = v["column"].as_str().unwrap_or_default();
        return ok(read_ids(source.as_bytes(), column));
    }
    let facts: Vec<Facts> =
        parse::list_from_json(&v["facts"].to_string()).map_err(|e| e.within("facts"))?;
    let columns = columns_from_value(v["columns"].clone())?;
    let format: Format = v["format"].as_str().unwrap_or_default().parse()?;
    let export = Export::new(&columns, format)?
        .escape_formulas(v.get("escape_formulas").and_then(Value::as_bool) != Some(false));
    let out = match v.get("segments") {
        Some(segments) => {
            let registry =
                Registry::from_value(segments.clone()).map_err(|e| e.within("segments"))?;
            let name = v["name"].as_str().unwrap_or_default();
            export.write_segment(&registry, name, &facts, Vec::new())?
        }
        None => export.write(&facts, Vec::new())?,
    };
    Ok(Value::String(String::from_utf8(out).unwrap()))
}

/// Reads the optional model argument `name`, or its default.
fn arg<T: Model + Default>(v: &Value, name: &str) -> Result<T, Error> {
    match v.get(name).filter(|x| !x.is_null()) {
        Some(x) => T::from_value(x.clone()).map_err(|e| e.within(name)),
        None => Ok(T::default()),
    }
}

fn time_arg(v: &Value, name: &str) -> Result<Timestamp, Error> {
    serde_json::from_value(v[name].clone()).map_err(|e| Error::invalid(name, e.to_string()))
}

/// The message ops take their arguments by name, as in the bindings.
fn message_op(op: &str, input: Input) -> Result<Value, Error> {
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let template = |name: &str| -> Result<Template, Error> {
        let spec = TemplateSpec::from_value(v[name].clone()).map_err(|e| e.within(name))?;
        Template::new(spec).map_err(|e| e.within(name))
    };
    let text = |name: &str| v[name].as_str().unwrap_or_default().to_string();
    match op {
        "render_message" => {
            let t = template("template")?;
            let r =
                Recipient::from_value(v["recipient"].clone()).map_err(|e| e.within("recipient"))?;
            let info: MessageInfo = arg(&v, "info")?;
            ok(t.render(&r, time_arg(&v, "now")?, &info))
        }
        "lint_template" => {
            let t = template("template")?;
            let r = Recipient::from_value(v["sample"].clone()).map_err(|e| e.within("sample"))?;
            ok(Ok(t.lint(&r, time_arg(&v, "now")?)))
        }
        "sms_measure" => ok(Ok(sms::measure(&text("text")))),
        "sms_fit" => {
            let fit: Fit = arg(&v, "fit")?;
            ok(sms::fit(&text("text"), &fit))
        }
        "push_fit" => {
            let limits: PushLimits = arg(&v, "limits")?;
            ok(push::fit(&text("title"), &text("body"), &limits))
        }
        "render_campaign" => {
            let c =
                Campaign::from_value(v["campaign"].clone()).map_err(|e| e.within("campaign"))?;
            let templates = v["templates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    TemplateSpec::from_value(t)
                        .and_then(Template::new)
                        .map_err(|e| e.within(&format!("templates[{i}]")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let recipients: Vec<Recipient> = parse::list_from_value(v["recipients"].clone())
                .map_err(|e| e.within("recipients"))?;
            let mut outcomes = Vec::new();
            let summary =
                campaign::run(&c, &templates, recipients, time_arg(&v, "now")?, |chunk| {
                    outcomes.extend_from_slice(chunk);
                    Ok(())
                })?;
            Ok(json!({"summary": summary, "outcomes": outcomes}))
        }
        "issue_coupons" | "redeem_coupon" => {
            let pool = CouponPool::from_value(v["pool"].clone()).map_err(|e| e.within("pool"))?;
            let mut state = match v.get("state").filter(|s| !s.is_null()) {
                Some(s) => PoolState::from_value(s.clone()).map_err(|e| e.within("state"))?,
                None => PoolState::new(&pool),
            };
            if op == "redeem_coupon" {
                let contact = patron::model::Id::new(text("contact_id"))
                    .map_err(|e| e.within("contact_id"))?;
                let redeemed = coupon::redeem(
                    &mut state,
                    &text("code"),
                    &contact,
                    None,
                    time_arg(&v, "at")?,
                )?;
                return Ok(json!({"redeemed": redeemed, "state": state}));
            }
            let campaign_id =
                patron::model::Id::new(text("campaign_id")).map_err(|e| e.within("campaign_id"))?;
            let contacts: Vec<patron::model::Id> = serde_json::from_value(v["contact_ids"].clone())
                .map_err(|e| Error::invalid("contact_ids", e.to_string()))?;
            let issued = coupon::issue_all(
                &pool,
                &mut state,
                &campaign_id,
                &contacts,
                time_arg(&v, "now")?,
            )?;
            Ok(json!({"issued": issued, "state": state}))
        }
        "campaign_kpis" => {
            let events: Vec<Event> =
                parse::list_from_value(v["events"].clone()).map_err(|e| e.within("events"))?;
            let config: KpiConfig = arg(&v, "config")?;
            ok(metrics::kpis(&events, &config).map_err(|e| e.within("events")))
        }
        "campaign_uplift" => {
            let assignments: Vec<Assignment> = parse::list_from_value(v["assignments"].clone())
                .map_err(|e| e.within("assignments"))?;
            let events: Vec<Event> =
                parse::list_from_value(v["events"].clone()).map_err(|e| e.within("events"))?;
            let config: UpliftConfig = arg(&v, "config")?;
            ok(
                metrics::uplift(&assignments, &events, &config).map_err(|e| {
                    if e.path() == Some("confidence") {
                        e.within("config")
                    } else if e.path().is_some_and(|p| p.ends_with("contact_id")) {
                        e.within("assignments")
                    } else {
                        e.within("events")
                    }
                }),
            )
        }
        _ => {
            let rows: Vec<KpiRow> =
                parse::list_from_value(v["rows"].clone()).map_err(|e| e.within("rows"))?;
            let metric: Metric = serde_json::from_value(v["metric"].clone())
                .map_err(|e| Error::invalid("metric", e.to_string()))?;
            let confidence = v.get("confidence").and_then(Value::as_f64).unwrap_or(0.95);
            ok(
                metrics::compare_variants(&rows, metric, confidence).map_err(|e| {
                    if e.path() == Some("confidence") {
                        e
                    } else {
                        e.within("rows")
                    }
                }),
            )
        }
    }
}

/// The recommendation ops take their arguments by name, as in the bindings:
/// `build_item_model` (`baskets`, `now`, `config`), `update_item_model` (the
/// same, then `new_baskets`), `recommend_blocks` (`catalog`, `message`,
/// `history`, `now`, and `baskets` with `config` for the model, built first)
/// and `evaluate_recommendations` (`catalog`, `baskets`, `spec`, `k`, `config`).
fn recommend_op(op: &str, input: Input) -> Result<Value, Error> {
    use patron::recommend::{
        self, Basket, BlockSpec, ContactHistory, ItemModel, Message, ModelConfig, Recommender,
    };
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let given = |name: &str| v.get(name).filter(|c| !c.is_null()).cloned();
    let baskets = |name: &str| -> Result<Vec<Basket>, Error> {
        parse::list_from_json(&v[name].to_string()).map_err(|e| e.within(name))
    };
    let now = || -> Result<Timestamp, Error> {
        serde_json::from_value(v["now"].clone()).map_err(|e| Error::invalid("now", e.to_string()))
    };
    let config = || -> Result<ModelConfig, Error> {
        ModelConfig::from_value(given("config").unwrap_or(json!({})))
            .map_err(|e| e.within("config"))
    };
    let catalog = || -> Result<Catalog, Error> {
        Catalog::from_value(v["catalog"].clone()).map_err(|e| e.within("catalog"))
    };
    match op {
        "build_item_model" => ok(ItemModel::build(&baskets("baskets")?, now()?, &config()?)),
        "update_item_model" => {
            let mut model = ItemModel::build(&baskets("baskets")?, now()?, &config()?)?;
            model.update(&baskets("new_baskets")?)?;
            ok(Ok(model))
        }
        "recommend_blocks" => {
            let catalog = catalog()?;
            let model = match given("baskets") {
                Some(_) => Some(ItemModel::build(&baskets("baskets")?, now()?, &config()?)?),
                None => None,
            };
            let message =
                Message::from_value(v["message"].clone()).map_err(|e| e.within("message"))?;
            let history = ContactHistory::from_value(given("history").unwrap_or(json!({})))
                .map_err(|e| e.within("history"))?;
            let recommender = Recommender::new(&catalog, model.as_ref());
            ok(recommender
                .blocks(&message, &history, now()?)
                .map_err(|e| e.within("message")))
        }
        _ => {
            let spec = BlockSpec::from_value(v["spec"].clone()).map_err(|e| e.within("spec"))?;
            let k = v["k"].as_u64().unwrap_or(0) as usize;
            ok(recommend::evaluate(
                &catalog()?,
                &baskets("baskets")?,
                &spec,
                k,
                &config()?,
            ))
        }
    }
}

/// The trigger ops take their arguments by name, as the bindings'
/// `TriggerEngine` does: `check_triggers` (`config`, `catalog`: the rule ids),
/// `trigger_handle` (`config`, `state` or null for a new contact, `facts`,
/// `event`, `now`), `trigger_due` and `trigger_refresh` (`config`, `state`,
/// `facts`, `now`),
/// `simulate_triggers` (`config`, `contacts`, `events`, `until`, `catalog`)
/// `read_trigger_state` (`state`) and `trigger_presets` (no arguments).
fn trigger_op(op: &str, input: Input) -> Result<Value, Error> {
    use patron::trigger::{self, ContactState, Engine};
    let v = match input {
        Input::Object(v) => v,
        Input::Text(t) => serde_json::from_str(&t).unwrap(),
    };
    let given = |name: &str| v.get(name).filter(|c| !c.is_null()).cloned();
    let time = |name: &str| -> Result<Timestamp, Error> {
        serde_json::from_value(v[name].clone()).map_err(|e| Error::invalid(name, e.to_string()))
    };
    let catalog = match given("catalog") {
        Some(c) => Some(Catalog::from_value(c).map_err(|e| e.within("catalog"))?),
        None => None,
    };
    if op == "trigger_presets" {
        return ok(trigger::presets::config());
    }
    if op == "read_trigger_state" {
        return ok(ContactState::from_value(v["state"].clone()).map_err(|e| e.within("state")));
    }
    let config = parse::from_value(v["config"].clone()).map_err(|e| e.within("config"))?;
    let engine = Engine::new(config, catalog.as_ref()).map_err(|e| e.within("config"))?;
    let facts = || -> Result<Facts, Error> {
        Facts::from_value(v["facts"].clone()).map_err(|e| e.within("facts"))
    };
    let state = |facts: &Facts| -> Result<ContactState, Error> {
        match given("state") {
            Some(s) => ContactState::from_value(s).map_err(|e| e.within("state")),
            None => Ok(ContactState::new(facts.contact_id.clone())),
        }
    };
    match op {
        "check_triggers" => ok(Ok(engine
            .config()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>())),
        "trigger_handle" => {
            let facts = facts()?;
            let event = Event::from_value(v["event"].clone()).map_err(|e| e.within("event"))?;
            ok(engine.handle(&state(&facts)?, &facts, &event, time("now")?))
        }
        "trigger_due" => {
            let facts = facts()?;
            ok(engine.due(&state(&facts)?, &facts, time("now")?))
        }
        "trigger_refresh" => {
            let facts = facts()?;
            ok(engine.refresh(&state(&facts)?, &facts, time("now")?))
        }
        _ => {
            let contacts: Vec<Contact> =
                parse::list_from_value(v["contacts"].clone()).map_err(|e| e.within("contacts"))?;
            let events: Vec<Event> =
                parse::list_from_value(v["events"].clone()).map_err(|e| e.within("events"))?;
            ok(trigger::simulate(
                &engine,
                &contacts,
                &events,
                catalog.as_ref(),
                time("until")?,
            )
            .map_err(|e| e.within("events")))
        }
    }
}

fn run(op: &str, input: Input) -> Result<Value, Error> {
    match op {
        "check_triggers" | "trigger_handle" | "trigger_due" | "trigger_refresh"
        | "simulate_triggers" | "read_trigger_state" | "trigger_presets" => trigger_op(op, input),
        "build_item_model"
        | "update_item_model"
        | "recommend_blocks"
        | "evaluate_recommendations" => recommend_op(op, input),
        "render_message" | "lint_template" | "sms_measure" | "sms_fit" | "push_fit"
        | "render_campaign" | "issue_coupons" | "redeem_coupon" | "campaign_kpis"
        | "campaign_uplift" | "compare_variants" => message_op(op, input),
        "export" | "read_segment_ids" => export_op(op, input),
        "check_segments" | "segment_members" | "explain_segment" | "freeze_segment"
        | "update_segments" | "segment_overlap" | "evaluate_segments" => segment_op(op, input),
        "segment_changes" => changes_op(input),
        "parse_segment_rule" => {
            let v = match input {
                Input::Object(v) => v,
                Input::Text(t) => serde_json::from_str(&t).unwrap(),
            };
            ok(Rule::parse(v["text"].as_str().unwrap_or_default()))
        }
        "summarize_purchases" | "rfm_from_purchases" => purchase_op(op, input),
        "build_profiles"
        | "apply_event"
        | "profile_facts"
        | "customer_summaries"
        | "profile_transactions" => profile_op(op, input),
        "predict_histories"
        | "bgnbd_fit"
        | "bgnbd_predict"
        | "bgnbd_expected_new"
        | "gamma_gamma_fit"
        | "gamma_gamma_predict"
        | "predict_average_interval"
        | "predict_clv" => predict_op(op, input),
        "lifecycle_place" | "lifecycle_moves" => lifecycle_op(op, input),
        "rfm_scores" | "rfm_four_groups" => rfm_op(op, input),
        "parse_contact" => one::<Contact>(input),
        "parse_contacts" => many::<Contact>(input),
        "parse_product" => one::<Product>(input),
        "parse_catalog" => one::<Catalog>(input),
        "parse_event" => one::<Event>(input),
        "parse_events" => many::<Event>(input),
        "parse_consent_change" => one::<ConsentChange>(input),
        "apply_consent" => apply_consent(input),
        other => panic!("unknown op {other}"),
    }
}

/// JSON equality where 38 and 38.0 are the same number (as in Python and JS).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(case: &Value, form: &str, got: Result<Value, Error>) -> Result<(), String> {
    match (case.get("output"), case.get("error"), got) {
        (Some(want), _, Ok(out)) if same(want, &out) => Ok(()),
        (Some(want), _, Ok(out)) => Err(format!("output differs:\n want {want}\n  got {out}")),
        (Some(_), _, Err(e)) => Err(format!("unexpected error: {e}")),
        (None, Some(want), Err(e)) => {
            if want["code"] != e.code() {
                return Err(format!(
                    "code {} instead of {}: {e}",
                    e.code(),
                    want["code"]
                ));
            }
            if let Some(path) = want.get("path")
                && Some(path.as_str().unwrap()) != e.path()
            {
                return Err(format!("path {:?} instead of {path}: {e}", e.path()));
            }
            if form == "text" {
                let location = e.location();
                for (key, got) in [
                    ("line", location.map(|l| l.line)),
                    ("column", location.map(|l| l.column)),
                ] {
                    if let Some(n) = want.get(key)
                        && got != n.as_u64().map(|n| n as usize)
                    {
                        return Err(format!("{key} {got:?} instead of {n}: {e}"));
                    }
                }
            }
            if let Some(part) = want.get("message_contains")
                && !e.to_string().contains(part.as_str().unwrap())
            {
                return Err(format!("message lacks {part}: {e}"));
            }
            Ok(())
        }
        (None, _, Ok(out)) => Err(format!("expected an error, got {out}")),
        (None, None, Err(e)) => Err(format!("case has neither output nor error; got {e}")),
    }
}

#[test]
fn every_vector_passes() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for file in vector_files() {
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(doc["version"], 1, "{}", file.display());
        if bless(&file, &mut doc) {
            continue;
        }
        for case in doc["cases"].as_array().unwrap() {
            let name = format!(
                "{} / {}",
                file.file_name().unwrap().to_string_lossy(),
                case["name"]
            );
            let op = case["op"].as_str().unwrap();
            let forms: Vec<&str> = match case.get("forms") {
                Some(f) => f
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap())
                    .collect(),
                None => vec!["object", "text"],
            };
            let mut inputs = Vec::new();
            if let Some(text) = case.get("text") {
                inputs.push(("text", Input::Text(text.as_str().unwrap().to_string())));
            } else if let Some(value) = expand(&case["input"]) {
                // A value holding NaN has no JSON form; the typed constructors'
                // unit tests cover it in Rust.
                for form in forms {
                    let input = match form {
                        "object" => Input::Object(value.clone()),
                        _ => Input::Text(value.to_string()),
                    };
                    inputs.push((form, input));
                }
            }
            for (form, input) in inputs {
                runs += 1;
                if let Err(why) = check(case, form, run(op, input)) {
                    failures.push(format!("{name} [{form}]: {why}"));
                }
            }
        }
    }
    assert!(runs >= 150, "only {runs} vector runs");
    assert!(
        failures.is_empty(),
        "{} of {runs} vector runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `PATRON_BLESS=profile.json cargo test --test vectors` writes the outputs
/// the core computes into that file's cases that expect an output, for
/// review in the diff: a new vector's expected values are read and checked
/// by a person, never blessed blind.
fn bless(file: &std::path::Path, doc: &mut Value) -> bool {
    let Ok(name) = std::env::var("PATRON_BLESS") else {
        return false;
    };
    if file.file_name().is_none_or(|f| f.to_string_lossy() != name) {
        return false;
    }
    for case in doc["cases"].as_array_mut().unwrap() {
        if case.get("output").is_some() {
            let op = case["op"].as_str().unwrap().to_owned();
            let input = Input::Object(expand(&case["input"]).unwrap());
            match run(&op, input) {
                Ok(out) => case["output"] = out,
                Err(e) => panic!("{}: {e}", case["name"]),
            }
        }
    }
    let mut text = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut text, formatter);
    doc.serialize(&mut ser).unwrap();
    text.push(b'\n');
    std::fs::write(file, text).unwrap();
    eprintln!("blessed {}", file.display());
    true
}
