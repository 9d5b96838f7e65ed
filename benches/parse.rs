//! Parse and validate events: from one JSON text per event, and from a JSON
//! array. Target (issue 2): at least 1M events per second on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patron::{Event, parse, sample};
use std::hint::black_box;

fn events_from_json(c: &mut Criterion) {
    let values = sample::events(10_000, 1_000, 7);
    // As producers write them: `type` first (the normalized form's order).
    let texts: Vec<String> = values
        .iter()
        .map(|v| parse::to_json(&parse::from_value::<Event>(v.clone()).unwrap()))
        .collect();
    // Keys in alphabetical order, so `type` comes late: the general path.
    let sorted_texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let array = format!("[{}]", texts.join(","));
    let bytes: usize = texts.iter().map(String::len).sum();
    println!("mean event size: {} bytes", bytes / texts.len());

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("event_from_json", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(parse::from_json::<Event>(black_box(t)).unwrap());
            }
        })
    });
    group.bench_function("event_from_json_type_late", |b| {
        b.iter(|| {
            for t in &sorted_texts {
                black_box(parse::from_json::<Event>(black_box(t)).unwrap());
            }
        })
    });
    group.bench_function("events_from_json_array", |b| {
        b.iter(|| black_box(parse::list_from_json::<Event>(black_box(&array)).unwrap()))
    });
    group.bench_function("event_from_value", |b| {
        b.iter_batched(
            || values.clone(),
            |vs| {
                for v in vs {
                    black_box(parse::from_value::<Event>(v).unwrap());
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, events_from_json);
criterion_main!(benches);
