//! Runs the store's shared vectors (`tests/vectors/store/v1/*.json`): each
//! case opens a fresh store with its config and runs its steps in order,
//! comparing each step's output or error. Python and Node run the same
//! files through their `Store`.
//!
//! `PATRON_BLESS=store.json cargo test -p patron-store --test vectors`
//! writes the outputs of the steps that expect one, for review in the diff.

use std::path::{Path, PathBuf};

use patron::model::Timestamp;
use patron_store::{Config, Refusal, Store};
use serde_json::{Value, json};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/store/v1")
}

fn time(args: &Value, key: &str) -> Timestamp {
    Timestamp::parse(args[key].as_str().expect("a time")).expect("an RFC 3339 time")
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::from_str(&patron::parse::to_json(value)).expect("JSON")
}

/// One step: its output as JSON, or its error as `{code, path, line, column}`.
fn step(store: &mut Store, call: &str, args: &Value) -> Result<Value, patron_store::Error> {
    Ok(match call {
        "upsert_contacts" => {
            let contacts: Vec<patron::Contact> =
                patron::parse::list_from_value(args["contacts"].clone())
                    .map_err(|e| e.within("contacts"))?;
            to_value(
                &store
                    .upsert_contacts(&contacts, time(args, "now"))
                    .map_err(|e| e.within("contacts"))?,
            )
        }
        "ingest" => {
            let now = time(args, "now");
            if let Some(lines) = args["lines"].as_str() {
                to_value(&store.ingest_json_lines(lines, now)?)
            } else {
                let events: Vec<patron::Event> =
                    patron::parse::list_from_value(args["events"].clone())
                        .map_err(|e| e.within("events"))?;
                to_value(&store.ingest(events, now).map_err(|e| e.within("events"))?)
            }
        }
        "run_due" => to_value(&store.run_due(time(args, "now"))?),
        "next_wakeup" => to_value(&store.next_wakeup(time(args, "now"))?),
        "claim_letters" => {
            let channels: Vec<&str> = args["channels"]
                .as_array()
                .expect("channels")
                .iter()
                .map(|c| c.as_str().expect("a channel"))
                .collect();
            let limit = args["limit"].as_u64().unwrap_or(100) as usize;
            to_value(
                &store
                    .claim_letters(time(args, "now"), &channels, limit)?
                    .letters,
            )
        }
        "letter_sent" => {
            let id = args["message_id"].as_str().expect("message_id");
            to_value(&store.finish_letter(id, Ok(()), time(args, "now"))?)
        }
        "letter_failed" => {
            let id = args["message_id"].as_str().expect("message_id");
            let reason = args["reason"].as_str().expect("reason").to_string();
            let hard_bounce = args["hard_bounce"].as_bool().unwrap_or(false);
            let refusal = if args["retry"].as_bool().unwrap_or(true) && !hard_bounce {
                Refusal::Retry(reason)
            } else {
                Refusal::Reject {
                    reason,
                    hard_bounce,
                }
            };
            to_value(&store.finish_letter(id, Err(refusal), time(args, "now"))?)
        }
        "unsubscribe" => {
            to_value(&store.unsubscribe(args["token"].as_str().expect("token"), time(args, "now"))?)
        }
        "stats" => to_value(&store.stats()?),
        "outbox" => to_value(&store.outbox(args["status"].as_str(), 1000)?),
        "contact" => to_value(&store.contact(args["contact_id"].as_str().expect("contact_id"))?),
        other => panic!("unknown store call `{other}`"),
    })
}

fn error_form(e: &patron_store::Error) -> Value {
    json!({"code": e.code(), "path": e.path(), "line": e.line(), "column": e.column(), "message": e.to_string()})
}

/// Whether `got` is the error `want` describes (only the keys it gives).
fn error_matches(want: &Value, got: &Value) -> bool {
    want.as_object()
        .expect("an error object")
        .iter()
        .all(|(k, v)| match k.as_str() {
            "message_contains" => got["message"]
                .as_str()
                .is_some_and(|m| m.contains(v.as_str().unwrap_or(""))),
            _ => &got[k] == v,
        })
}

/// Numbers compare by value (`38` equals `38.0`).
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

fn run_case(case: &mut Value, bless: bool, dir: &Path) -> Vec<String> {
    let name = case["name"].as_str().expect("a name").to_string();
    let path = dir.join(format!(
        "{}.db",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let _ = std::fs::remove_file(&path);
    let config: Result<Config, _> = serde_json::from_value(case["config"].clone());
    let opened = config
        .map_err(|e| patron_store::Error::Core(patron::Error::invalid("config", e.to_string())))
        .and_then(|c| Store::open(&path, Some(c)));
    let mut failures = Vec::new();
    let mut store = match (opened, case.get("open_error")) {
        (Err(e), Some(want)) => {
            if !error_matches(want, &error_form(&e)) {
                failures.push(format!(
                    "{name}: opening: want {want}, got {}",
                    error_form(&e)
                ));
            }
            return failures;
        }
        (Err(e), None) => panic!("{name}: the store does not open: {e}"),
        (Ok(_), Some(want)) => {
            failures.push(format!("{name}: opening: want the error {want}, it opened"));
            return failures;
        }
        (Ok(store), None) => store,
    };
    for (i, s) in case["steps"]
        .as_array_mut()
        .expect("steps")
        .iter_mut()
        .enumerate()
    {
        let call = s["call"].as_str().expect("a call").to_string();
        let args = s.get("args").cloned().unwrap_or(json!({}));
        let got = step(&mut store, &call, &args);
        let here = format!("{name}: step {i} ({call})");
        match (got, s.get("error")) {
            (Ok(out), None) => {
                if bless {
                    s["output"] = out;
                } else if !same(&s["output"], &out) {
                    failures.push(format!("{here}:\n  want {}\n  got  {out}", s["output"]));
                }
            }
            (Err(e), Some(want)) => {
                if !error_matches(want, &error_form(&e)) {
                    failures.push(format!("{here}: want {want}, got {}", error_form(&e)));
                }
            }
            (Ok(out), Some(want)) => {
                failures.push(format!("{here}: want the error {want}, got {out}"))
            }
            (Err(e), None) => failures.push(format!("{here}: {}", error_form(&e))),
        }
    }
    failures
}

#[test]
fn every_store_vector() {
    let dir = std::env::temp_dir().join(format!("patron-store-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(vectors()).expect("the vector folder") {
        let file = entry.unwrap().path();
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(doc["version"], 1);
        let bless = std::env::var("PATRON_BLESS")
            .is_ok_and(|b| file.file_name().is_some_and(|f| f.to_string_lossy() == b));
        for case in doc["cases"].as_array_mut().unwrap() {
            cases += 1;
            failures.extend(run_case(case, bless, &dir));
        }
        if bless {
            let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
            std::fs::write(&file, text).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(cases > 0, "no store vectors found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
