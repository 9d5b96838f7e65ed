//! Property tests of export: what is written reads back the same, in every
//! text format, for any id and any number.

use patron::parse;
use patron::profile::Facts;
use patron::segment::{Export, Format, export, read_ids};
use proptest::prelude::*;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event as Xml;
use serde_json::{Value, json};

fn facts(rows: &[(String, f64)]) -> Vec<Facts> {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(id, revenue)| {
            json!({"contact_id": id, "as_of": "2024-07-01T00:00:00Z", "orders": 1, "revenue": revenue,
                   "cancelled_orders": 0, "returned_orders": 0, "purchase_days": 1, "at_risk": false})
        })
        .collect();
    parse::list_from_value(Value::Array(rows)).unwrap()
}

/// Ids as a shop might have them: plain, with CSV's and XML's special
/// characters, line breaks and formula starts, or any printable text.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,8}",
        "[a-zé中 ,\"\r\n\t=+@<>&'-]{1,12}",
        "\\PC{1,12}",
    ]
    .prop_filter("a valid id", |s| {
        patron::model::scalar::Id::new(s).is_ok() && !s.contains(['\u{fffe}', '\u{ffff}'])
    })
}

fn rows() -> impl Strategy<Value = Vec<(String, f64)>> {
    proptest::collection::hash_map(id(), -1e12f64..1e12, 0..20)
        .prop_map(|m| m.into_iter().collect())
}

/// The `(contact_id, revenue)` pairs of an XML export.
fn xml_rows(text: &str) -> Vec<(String, f64)> {
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut out, mut name, mut value, mut id) =
        (Vec::new(), String::new(), String::new(), String::new());
    loop {
        match reader.read_event().unwrap() {
            Xml::Start(e) if e.name().0 == "field" => {
                let attr = e.try_get_attribute("name").unwrap().unwrap();
                name = attr
                    .normalized_value(XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned();
                value.clear();
            }
            Xml::Text(t) => value.push_str(&t.xml10_content()),
            Xml::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => value.push(c),
                None => value.push_str(resolve_predefined_entity(&r).unwrap()),
            },
            Xml::End(e) if e.name().0 == "field" => {
                if name == "contact_id" {
                    id = std::mem::take(&mut value);
                } else {
                    out.push((std::mem::take(&mut id), value.parse().unwrap()));
                }
            }
            Xml::Eof => return out,
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Ids written as a one-column CSV come back from `read_ids` identical,
    /// in order; with formula escaping on, so do ids no spreadsheet would run.
    #[test]
    fn csv_ids_round_trip(rows in rows()) {
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        let facts = facts(&rows);
        let raw = Export::new(&["contact_id"], Format::Csv).unwrap().escape_formulas(false);
        let out = raw.write(&facts, Vec::new()).unwrap();
        prop_assert_eq!(read_ids(out.as_slice(), "contact_id").unwrap(), ids.clone());
        let out = export(&facts, &["contact_id"], Format::Csv, Vec::new()).unwrap();
        // The escape adds a `'` that `read_ids` keeps, so `@x` comes back as
        // `'@x`; when the base also has a real `'@x`, the file names one id
        // twice and reading it back must say so.
        let formula = |id: &str| id.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let collides = ids.iter().any(|id| formula(id) && ids.contains(&format!("'{id}")));
        match read_ids(out.as_slice(), "contact_id") {
            Ok(back) => {
                prop_assert_eq!(back.len(), ids.len());
                for (id, got) in ids.iter().zip(&back) {
                    if formula(id) {
                        // A plain number such as `-5` is left alone.
                        prop_assert!(got == id || *got == format!("'{id}"), "{id:?} came back as {got:?}");
                    } else {
                        prop_assert_eq!(id, got);
                    }
                }
            }
            Err(e) => {
                prop_assert!(collides, "{e}");
                prop_assert!(e.to_string().contains("given twice"), "{e}");
            }
        }
    }

    /// JSON, NDJSON and XML parse back to the same ids and numbers.
    #[test]
    fn text_formats_parse_back(rows in rows()) {
        let facts = facts(&rows);
        let columns = ["contact_id", "revenue"];
        let text = |format| String::from_utf8(export(&facts, &columns, format, Vec::new()).unwrap()).unwrap();
        // Numbers compare by value: `0` and `0.0` are the same revenue.
        let pairs = |objects: Vec<Value>| -> Vec<(String, f64)> {
            objects
                .iter()
                .map(|o| (o["contact_id"].as_str().unwrap().to_string(), o["revenue"].as_f64().unwrap()))
                .collect()
        };
        let json: Vec<Value> = serde_json::from_str(&text(Format::Json)).unwrap();
        prop_assert_eq!(pairs(json), rows.clone());
        let ndjson: Vec<Value> = text(Format::Ndjson)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        prop_assert_eq!(pairs(ndjson), rows.clone());
        prop_assert_eq!(xml_rows(&text(Format::Xml)), rows);
    }
}
