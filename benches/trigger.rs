//! Triggers: the engine over 100 rules (benches/data/triggers100.json: the
//! presets, a rule entering each of the twenty segments of segments20.json,
//! and product and custom-event rules) as a host runs it. Targets: `handle` p99 under 50 us
//! per event; `due` over 1M stored states under 2 s on 2 cores; a typical
//! contact's state under 1 KB of JSON.
//!
//! Besides criterion's means, `report` prints the percentiles of 20k
//! `handle` calls, the time of one pass of `due` over 1M states (borrowing
//! each state, then `due_owned` taking it as a host that has just read it),
//! and the state sizes. benches/python/trigger_handle.py and
//! benches/node/trigger_handle.js time the same call from Python and Node.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use patron::model::Timestamp;
use patron::profile::Facts;
use patron::trigger::{Config, ContactState, Engine};
use patron::{Event, parse, sample};
use rayon::prelude::*;
use serde_json::{Value, json};

const CONFIG: &str = include_str!("data/triggers100.json");

/// 100 rules over 20 segments (plus the presets' own), from the shared data file.
fn config() -> Config {
    let mut config: Value = serde_json::from_str(CONFIG).unwrap();
    config.as_object_mut().unwrap().remove("about");
    parse::from_value(config).unwrap()
}

/// A day of events for contact `facts`: views, a cart, an order, a custom event.
fn events(facts: &Facts, k: usize) -> Vec<Event> {
    let id = facts.contact_id.as_str();
    let base = facts.as_of.get();
    let at = |m: i64| Timestamp::from(base + chrono::Duration::minutes(m)).to_string();
    let p = |j: usize| format!("p{}", (k * 7 + j) % 120);
    let list = vec![
        json!({"type": "product_viewed", "id": format!("{id}-v1"), "contact_id": id, "at": at(1), "product_id": p(0)}),
        json!({"type": "product_viewed", "id": format!("{id}-v2"), "contact_id": id, "at": at(3), "product_id": p(1)}),
        json!({"type": "cart_updated", "id": format!("{id}-c1"), "contact_id": id, "at": at(5), "currency": "EUR",
            "lines": [{"product_id": p(1), "quantity": 1, "unit_price": 30}]}),
        json!({"type": "custom", "id": format!("{id}-x1"), "contact_id": id, "at": at(8), "name": format!("event_{}", (k % 40) * 2 + 1)}),
        json!({"type": "product_viewed", "id": format!("{id}-v3"), "contact_id": id, "at": at(30), "product_id": p(2)}),
        json!({"type": "order_placed", "id": format!("{id}-o1"), "contact_id": id, "at": at(90), "order_id": format!("{id}-o1"),
            "currency": "EUR", "total": 30, "lines": [{"product_id": p(1), "quantity": 1, "unit_price": 30}]}),
    ];
    list.into_iter()
        .map(|v| parse::from_value(v).unwrap())
        .collect()
}

struct Setup {
    engine: Engine,
    facts: Vec<Facts>,
    events: Vec<Vec<Event>>,
    /// Each contact's facts at each of its events, as a host builds them
    /// after folding the event in.
    facts_at: Vec<Vec<Facts>>,
}

fn setup() -> Setup {
    let engine = Engine::new(config(), None).unwrap();
    assert_eq!(engine.config().rules.len(), 100);
    let as_of = Timestamp::parse("2025-01-01T09:00:00Z").unwrap();
    let facts = sample::facts(1_000, as_of, 7);
    let events: Vec<Vec<Event>> = facts
        .iter()
        .enumerate()
        .map(|(k, f)| events(f, k))
        .collect();
    let facts_at = facts
        .iter()
        .zip(&events)
        .map(|(f, es)| es.iter().map(|e| f.at(e.at)).collect())
        .collect();
    Setup {
        engine,
        facts,
        events,
        facts_at,
    }
}

/// Each contact's state after its day of events (all six), or after the
/// first view and the order alone (`n` = 2).
fn states_after(s: &Setup, n: usize) -> Vec<ContactState> {
    s.facts
        .iter()
        .zip(&s.events)
        .enumerate()
        .map(|(i, (f, events))| {
            let mut state = ContactState::new(f.contact_id.clone());
            for (j, e) in events.iter().enumerate() {
                if n == 2 && j != 0 && j != 5 {
                    continue;
                }
                state = s
                    .engine
                    .handle(&state, &s.facts_at[i][j], e, e.at)
                    .unwrap()
                    .state;
            }
            state
        })
        .collect()
}

fn handle_bench(c: &mut Criterion) {
    let s = setup();
    let mut group = c.benchmark_group("trigger");
    group.bench_function("handle_100_rules_20_segments", |b| {
        let mut k = 0;
        b.iter(|| {
            let i = k % s.facts.len();
            let j = k % 6;
            let e = &s.events[i][j];
            k += 1;
            let state = ContactState::new(s.facts[i].contact_id.clone());
            black_box(s.engine.handle(&state, &s.facts_at[i][j], e, e.at).unwrap())
        })
    });
    group.finish();
}

fn report() {
    let s = setup();
    // handle, one event at a time, each contact's state carried along.
    let mut times = Vec::new();
    for round in 0..4 {
        for (i, (f, events)) in s.facts.iter().zip(&s.events).enumerate() {
            let mut state = ContactState::new(f.contact_id.clone());
            for (j, e) in events.iter().enumerate() {
                let facts = &s.facts_at[i][j];
                let t = Instant::now();
                let out = s.engine.handle(&state, facts, e, e.at).unwrap();
                if round > 0 {
                    times.push(t.elapsed().as_nanos() as f64 / 1000.0);
                }
                state = out.state;
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    println!(
        "handle, 100 rules and 20 segments, {} calls: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us (target p99 < 50 us)",
        times.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        times[times.len() - 1]
    );

    let typical = states_after(&s, 6);
    let quiet = states_after(&s, 2);
    for (what, states) in [
        ("after a busy day (6 events, 6 chains started)", &typical),
        ("after a view and an order (3 chains running)", &quiet),
    ] {
        let mut sizes: Vec<usize> = states
            .iter()
            .map(|st| serde_json::to_string(st).unwrap().len())
            .collect();
        sizes.sort();
        println!(
            "state {what}, JSON bytes: median {}, p90 {}, max {} (target < 1024)",
            sizes[sizes.len() / 2],
            sizes[sizes.len() * 9 / 10],
            sizes[sizes.len() - 1]
        );
    }

    // due over 1M stored states, every one due an hour after the events:
    // first borrowing each state (`due` works on a copy, dropped with the
    // outcome), then as a host that takes each stored state and writes the
    // new one back in its place (`due_owned` changes it, no copy).
    let n = 1_000_000;
    let now = Timestamp::parse("2025-01-01T14:00:00Z").unwrap();
    let mut states: Vec<ContactState> =
        (0..n).map(|i| typical[i % typical.len()].clone()).collect();
    let facts_now: Vec<Facts> = s.facts.iter().map(|f| f.at(now)).collect();
    let due = states
        .iter()
        .filter(|st| st.next_wakeup().is_some_and(|w| w <= now))
        .count();
    let t = Instant::now();
    let borrowed: usize = states
        .par_iter()
        .enumerate()
        .map(|(i, st)| {
            let f = &facts_now[i % s.facts.len()];
            if st.next_wakeup().is_some_and(|w| w <= now) {
                s.engine.due(st, f, now).unwrap().actions.len()
            } else {
                0
            }
        })
        .sum();
    let borrowed_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let owned: usize = states
        .par_iter_mut()
        .enumerate()
        .map(|(i, st)| {
            let f = &facts_now[i % s.facts.len()];
            if st.next_wakeup().is_some_and(|w| w <= now) {
                // Take the stored state, write the new one back in its place.
                let stored = std::mem::replace(st, ContactState::new(st.contact_id.clone()));
                let out = s.engine.due_owned(stored, f, now).unwrap();
                *st = out.state;
                out.actions.len()
            } else {
                0
            }
        })
        .sum();
    let owned_secs = t.elapsed().as_secs_f64();
    assert_eq!(borrowed, owned);
    println!(
        "due (borrowing each state) over {n} stored states ({due} due, {borrowed} actions), {} threads: {borrowed_secs:.2} s",
        rayon::current_num_threads(),
    );
    println!(
        "due over {n} stored states ({due} due, {owned} actions), {} threads, due_owned: {owned_secs:.2} s (target < 2 s)",
        rayon::current_num_threads(),
    );
}

criterion_group!(benches, handle_bench);

fn main() {
    benches();
    report();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
