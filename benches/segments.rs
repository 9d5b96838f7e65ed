//! Segments: twenty rules a shop runs (benches/data/segments20.json) over
//! a base of 1M contacts at once, from a table of facts (columns) and from
//! facts one contact at a time, and one contact's update when an event
//! arrives. Targets: the whole base no slower than DuckDB running the same
//! rules as SQL over the same columns (benches/python/segments_duckdb.py
//! runs both and prints the ratio); one contact's update under 10 us.
//!
//! `PATRON_BENCH_CSV=path` also writes the facts' columns the SQL reads
//! and each segment's count (`path.counts.json`), for the comparison.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patron::model::Timestamp;
use patron::profile::{self, Profile};
use patron::segment::{Format, Registry, Rule, Table, export};
use patron::{Event, parse, sample};
use serde_json::Value;
use std::hint::black_box;

const RULES: &str = include_str!("data/segments20.json");

fn registry() -> (Registry, Vec<String>) {
    let data: Value = serde_json::from_str(RULES).unwrap();
    let segments = data["segments"].as_object().unwrap();
    let rules = segments.iter().map(|(name, s)| {
        let rule = Rule::parse(s["rule"].as_str().unwrap()).unwrap();
        (name.clone(), rule)
    });
    let columns = data["columns"].as_array().unwrap();
    let columns = columns.iter().map(|c| c.as_str().unwrap().to_string());
    (Registry::new(rules).unwrap(), columns.collect())
}

fn whole_base(c: &mut Criterion) {
    let (registry, columns) = registry();
    let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
    let facts = sample::facts(1_000_000, as_of, 7);
    if let Ok(path) = std::env::var("PATRON_BENCH_CSV") {
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        export(&facts, &columns, Format::Csv, file).unwrap();
        let all = registry.evaluate(&facts).unwrap();
        let counts: serde_json::Map<String, Value> = all
            .segments()
            .iter()
            .map(|s| (s.clone(), Value::from(all.count(s).unwrap())))
            .collect();
        std::fs::write(
            format!("{path}.counts.json"),
            Value::from(counts).to_string(),
        )
        .unwrap();
    }
    let table = Table::from_facts(&facts, &registry.fields()).unwrap();
    assert_eq!(
        registry.evaluate_table(&table).unwrap(),
        registry.evaluate(&facts).unwrap()
    );
    let mut group = c.benchmark_group("segments");
    group.sample_size(10);
    group.throughput(Throughput::Elements(facts.len() as u64));
    group.bench_function("evaluate_20_segments_1m_contacts_table", |b| {
        b.iter(|| black_box(registry.evaluate_table(black_box(&table)).unwrap()))
    });
    group.bench_function("evaluate_20_segments_1m_contacts_facts", |b| {
        b.iter(|| black_box(registry.evaluate(black_box(&facts)).unwrap()))
    });
    group.finish();
}

fn one_event(c: &mut Criterion) {
    let (registry, _) = registry();
    // A contact with about 100 events, her record and her segments so far.
    let events: Vec<Event> = sample::events(100_000, 1_000, 7)
        .into_iter()
        .map(|v| parse::from_value(v).unwrap())
        .collect();
    let stored: Profile = profile::build(&events).unwrap().swap_remove(0);
    let as_of = Timestamp::parse("2024-12-31T10:00:00Z").unwrap();
    let record = sample::facts(1, as_of, 3)[0].contact.clone();
    let mut before = stored.facts(as_of, None).unwrap();
    before.contact = record.clone();
    let previous = registry.update(None, &before).unwrap().membership;
    let next: Event = parse::from_json(
        r#"{"type": "product_viewed", "id": "new-1", "contact_id": "c0",
            "at": "2024-12-31T10:00:00Z", "product_id": "p1"}"#,
    )
    .unwrap();
    let mut after = stored.clone();
    after.apply(&next).unwrap();
    let mut facts = after.facts(as_of, None).unwrap();
    facts.contact = record.clone();
    let mut group = c.benchmark_group("segments");
    group.throughput(Throughput::Elements(1));
    group.bench_function("update_one_contact_20_segments", |b| {
        b.iter(|| black_box(registry.update(Some(&previous), black_box(&facts)).unwrap()))
    });
    group.bench_function("update_after_event_one_contact_20_segments", |b| {
        b.iter(|| {
            black_box(
                registry
                    .update_after(Some(&previous), black_box(&facts), &next)
                    .unwrap(),
            )
        })
    });
    group.bench_function("event_to_facts_to_20_segments", |b| {
        b.iter_batched_ref(
            || stored.clone(),
            |profile| {
                profile.apply(black_box(&next)).unwrap();
                let mut facts = profile.facts(as_of, None).unwrap();
                facts.contact = record.clone();
                black_box(registry.update(Some(&previous), &facts).unwrap())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, whole_base, one_event);
criterion_main!(benches);
