//! Messages: one personalized letter (`benches/data/letter.json`: greeting
//! with a fallback, a background by age, the viewed product, a 6-item
//! product table through a partial with tracked links, a coupon, links)
//! rendered on one core, and a whole campaign rendered in parallel and
//! streamed as JSON lines to a sink. `benches/python/render_jinja.py`
//! renders the same letter with Jinja2 and patron's Python binding.
//!
//! Targets (issue 7): at least 10x Jinja2 per core (Jinja2 does about 10k
//! letters a second per core here), 10 million letters in under a minute on
//! 2 cores (about 167k letters a second).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patron::message::campaign::{self, Campaign};
use patron::message::{MessageInfo, Recipient, Template, TemplateSpec};
use patron::model::Timestamp;
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Instant;

fn spec() -> TemplateSpec {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/data/letter.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(doc["template"].clone()).unwrap()
}

const NAMES: [&str; 7] = ["Ann", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus"];

fn product(j: usize) -> Value {
    let mut p = json!({
        "id": format!("p{j}"), "name": format!("Product {j} & co"), "price": 10 + j % 50,
        "currency": "EUR", "url": format!("https://shop.example/p/{j}"),
        "image_url": format!("https://cdn.shop.example/{j}.jpg"),
    });
    if j.is_multiple_of(2) {
        p["brand"] = json!("Acme");
    }
    if j.is_multiple_of(3) {
        p["old_price"] = json!(20 + j % 50);
    }
    p
}

/// The same recipients as `render_jinja.py` builds.
fn recipient(i: usize) -> Value {
    let mut contact = json!({
        "id": format!("c{i}"), "email": format!("c{i}@example.com"),
        "birthday": format!("{}-05-17", 1960 + i % 45),
        "consent": {"email": {"marketing": {"status": "confirmed", "confirmed_at": "2024-01-01T00:00:00Z"}}},
    });
    if !i.is_multiple_of(10) {
        contact["first_name"] = json!(NAMES[i % 7]);
    }
    json!({
        "contact": contact,
        "blocks": {
            "viewed": [product((i * 7) % 100)],
            "picks": (0..6).map(|k| product((i * 13 + k) % 100)).collect::<Vec<_>>(),
        },
        "coupon": {"code": format!("SUM-{i:06}"), "expires_at": "2024-07-31T00:00:00Z"},
        "links": {
            "unsubscribe": format!("https://shop.example/u?c=c{i}&t=x"),
            "view_in_browser": format!("https://shop.example/m/summer-24/c{i}"),
        },
    })
}

fn recipients(n: usize) -> Vec<Recipient> {
    (0..n)
        .map(|i| serde_json::from_value(recipient(i)).unwrap())
        .collect()
}

fn messages(c: &mut Criterion) {
    let template = Template::new(spec()).unwrap();
    let now = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
    let info = MessageInfo {
        campaign_id: Some("summer-24".parse().unwrap()),
        ..MessageInfo::default()
    };
    let people = recipients(10_000);
    let one = template.render(&people[1], now, &info).unwrap();
    println!(
        "letter: {} bytes of HTML, {} of text",
        one.html.as_ref().map_or(0, String::len),
        one.text.as_ref().map_or(0, String::len)
    );

    if std::env::var("PATRON_BENCH_PARTS").is_ok() {
        for (label, part) in [
            (
                "context + empty text",
                TemplateSpec {
                    text: Some("x".into()),
                    ..TemplateSpec::default()
                },
            ),
            (
                "subject",
                TemplateSpec {
                    subject: spec().subject,
                    ..TemplateSpec::default()
                },
            ),
            (
                "html",
                TemplateSpec {
                    html: spec().html,
                    partials: spec().partials,
                    ..TemplateSpec::default()
                },
            ),
            (
                "text",
                TemplateSpec {
                    text: spec().text,
                    ..TemplateSpec::default()
                },
            ),
        ] {
            let t = Template::new(part).unwrap();
            let start = Instant::now();
            for r in &people {
                black_box(t.render(r, now, &info).unwrap());
            }
            println!(
                "{label}: {:.1} us",
                start.elapsed().as_secs_f64() * 1e6 / people.len() as f64
            );
        }
    }
    // Plain rates first, so the run prints comparable letters-a-second figures.
    let start = Instant::now();
    for r in &people {
        black_box(template.render(r, now, &info).unwrap());
    }
    let one_core = people.len() as f64 / start.elapsed().as_secs_f64();
    println!("one core: {one_core:.0} letters/s (subject, HTML and text, context built)");

    let campaign = Campaign {
        id: "summer-24".parse().unwrap(),
        channel: "email".parse().unwrap(),
        purpose: patron::model::Purpose::Marketing,
        control_share: 0.0,
        variants: Vec::new(),
        step: None,
        chunk: None,
    };
    let templates = [template];
    let start = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        campaign::write(
            &campaign,
            &templates,
            people.iter().cloned(),
            now,
            std::io::sink(),
        )
        .unwrap();
    }
    let all = (rounds * people.len()) as f64 / start.elapsed().as_secs_f64();
    println!(
        "campaign on {} threads: {all:.0} letters/s streamed as JSON lines; 10M letters in {:.0} s",
        rayon::current_num_threads(),
        1e7 / all
    );

    let mut group = c.benchmark_group("message");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("render_one_letter", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % people.len();
            black_box(templates[0].render(&people[i], now, &info).unwrap())
        })
    });
    group.throughput(Throughput::Elements(people.len() as u64));
    group.bench_function("campaign_10k_letters_to_sink", |b| {
        b.iter(|| {
            campaign::write(
                &campaign,
                &templates,
                people.iter().cloned(),
                now,
                std::io::sink(),
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, messages);
criterion_main!(benches);
