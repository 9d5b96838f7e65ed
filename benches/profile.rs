//! Profiles: folding a whole log (batch), one event into a stored profile
//! (real time: read the stored JSON, apply, write it back), and the facts.
//! Targets: a 100k-event log in well under a second on 2 cores; one event
//! applied to a stored profile of 100 events in well under 100 us.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patron::model::Timestamp;
use patron::parse::{self, Model};
use patron::profile::{self, Profile};
use patron::{Event, sample};
use std::hint::black_box;

fn profiles(c: &mut Criterion) {
    let events: Vec<Event> = sample::events(100_000, 1_000, 7)
        .into_iter()
        .map(|v| parse::from_value(v).unwrap())
        .collect();
    let mut group = c.benchmark_group("profile");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("build_100k_events_1k_contacts", |b| {
        b.iter(|| black_box(profile::build(black_box(&events)).unwrap()))
    });
    let built = profile::build(&events).unwrap();
    let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
    group.throughput(Throughput::Elements(built.len() as u64));
    group.bench_function("facts_1k_profiles", |b| {
        b.iter(|| black_box(profile::facts_all(black_box(&built), as_of, None).unwrap()))
    });
    group.finish();

    // One contact with about 100 events, stored as JSON; a new event arrives.
    let stored = parse::to_json(&built[0]);
    println!(
        "stored profile: {} events, {} bytes of JSON",
        built[0].seen.len(),
        stored.len()
    );
    let next: Event = parse::from_json(
        r#"{"type": "product_viewed", "id": "new-1", "contact_id": "c0",
            "at": "2024-12-31T10:00:00Z", "product_id": "p1"}"#,
    )
    .unwrap();
    let mut group = c.benchmark_group("profile");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read_stored_json", |b| {
        b.iter(|| black_box(Profile::from_json(black_box(&stored)).unwrap()))
    });
    group.bench_function("write_stored_json", |b| {
        b.iter(|| black_box(parse::to_json(black_box(&built[0]))))
    });
    group.bench_function("apply_one_event_to_stored_json", |b| {
        b.iter(|| {
            let mut p = Profile::from_json(black_box(&stored)).unwrap();
            p.apply(black_box(&next)).unwrap();
            black_box(parse::to_json(&p))
        })
    });
    group.finish();
}

criterion_group!(benches, profiles);
criterion_main!(benches);
