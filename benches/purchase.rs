//! RFM from an order table held as columns: summing 4.4M order lines of 1M
//! customers, then scoring. The comparison with pandas, polars and DuckDB
//! from Python is `benches/python/rfm_purchases.py` (target: 3x the best).

use criterion::{Criterion, criterion_group, criterion_main};
use patron::model::Timestamp;
use patron::purchase::{self, Keys, PurchaseColumns};
use patron::rfm::{self, RfmConfig};
use patron::sample::Sequence;
use std::hint::black_box;

/// About 2 orders per customer and 2.2 lines per order, in time order.
struct Table {
    contact_text: Vec<u8>,
    contact_offsets: Vec<i32>,
    orders: Vec<i64>,
    at: Vec<i64>,
    amounts: Vec<f64>,
}

fn generate(customers: u64) -> Table {
    let mut rng = Sequence::new(7);
    let mut placed: Vec<(i64, u64)> = Vec::new();
    for c in 0..customers {
        for _ in 0..1 + rng.below(3) {
            placed.push((rng.below(3 * 365 * 86_400) as i64, c));
        }
    }
    placed.sort_unstable();
    let start = Timestamp::parse("2022-01-01T00:00:00Z")
        .unwrap()
        .get()
        .timestamp_micros();
    let mut t = Table {
        contact_text: Vec::new(),
        contact_offsets: vec![0],
        orders: Vec::new(),
        at: Vec::new(),
        amounts: Vec::new(),
    };
    for (order, (seconds, contact)) in placed.iter().enumerate() {
        for _ in 0..1 + rng.below(3) + rng.below(2) {
            t.contact_text
                .extend_from_slice(format!("c{contact}").as_bytes());
            t.contact_offsets.push(t.contact_text.len() as i32);
            t.orders.push(order as i64);
            t.at.push(start + seconds * 1_000_000);
            t.amounts.push(1.0 + rng.below(10_000) as f64 / 100.0);
        }
    }
    t
}

fn rfm_from_columns(c: &mut Criterion) {
    let table = generate(1_000_000);
    println!("{} order lines", table.orders.len());
    let columns = PurchaseColumns {
        contact_ids: Keys::Text {
            offsets: &table.contact_offsets,
            bytes: &table.contact_text,
        },
        order_ids: Some(Keys::Int(&table.orders)),
        at_micros: &table.at,
        amounts: &table.amounts,
    };
    let as_of = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
    let mut group = c.benchmark_group("purchase");
    group.sample_size(10);
    group.bench_function("summarize_4m_lines_1m_customers", |b| {
        b.iter(|| black_box(purchase::summarize_columns(black_box(&columns), as_of).unwrap()))
    });
    group.bench_function("rfm_columns_4m_lines_1m_customers", |b| {
        b.iter(|| {
            black_box(
                purchase::rfm_columns(black_box(&columns), as_of, &RfmConfig::default()).unwrap(),
            )
        })
    });
    let customers = purchase::summarize_columns(&columns, as_of).unwrap();
    group.bench_function("rfm_score_1m_customers", |b| {
        b.iter(|| {
            black_box(rfm::score(black_box(&customers), as_of, &RfmConfig::default()).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, rfm_from_columns);
criterion_main!(benches);
