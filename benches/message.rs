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

/// The floor: tera alone, rendering the three parts from contexts built
/// beforehand (outside the timing), with the template compiled the way
/// `Template::new` compiles it. The contexts mirror `message::context` for the
/// fields this letter has, and every letter is checked byte for byte against
/// `Template::render` before timing, so the floor renders the same output.
fn tera_floor(
    spec: &TemplateSpec,
    people: &[Recipient],
    now: Timestamp,
    info: &MessageInfo,
    template: &Template,
) -> f64 {
    use tera::value::Map;
    use tera::{Context, Value as T};
    let mut tera = tera::Tera::new();
    tera.autoescape_on(["message.html"]);
    let mut sources = vec![
        ("message.subject".to_string(), spec.subject.clone().unwrap()),
        ("message.html".to_string(), spec.html.clone().unwrap()),
        ("message.text".to_string(), spec.text.clone().unwrap()),
    ];
    sources.extend(spec.partials.iter().map(|(k, v)| (k.clone(), v.clone())));
    tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
        .unwrap();
    let s = |v: Option<&str>| v.map_or(T::none(), T::from);
    let tags: Vec<(String, String)> = spec
        .tracking
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain([(
            "utm_campaign".to_string(),
            info.campaign_id.as_ref().unwrap().to_string(),
        )])
        .collect();
    let contexts: Vec<Context> = people
        .iter()
        .map(|r| {
            let c = &r.contact;
            let mut contact = Map::new();
            contact.insert("id".into(), T::from(c.id.as_str()));
            contact.insert("email".into(), s(c.email.as_ref().map(|v| v.as_str())));
            contact.insert(
                "first_name".into(),
                T::from(c.first_name.as_ref().map_or("friend", |v| v.as_str())),
            );
            let age = now
                .get()
                .date_naive()
                .years_since(c.birthday.unwrap().get())
                .unwrap();
            contact.insert("age".into(), T::from(u64::from(age)));
            let mut blocks = Map::new();
            for (name, products) in &r.blocks {
                let items: Vec<T> = products
                    .iter()
                    .map(|p| {
                        let mut m = Map::new();
                        let url = p.url.as_ref().unwrap().as_str();
                        let query: Vec<String> =
                            tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        m.insert("url".into(), T::from(format!("{url}?{}", query.join("&"))));
                        m.insert("name".into(), T::from(p.name.as_str()));
                        m.insert(
                            "image_url".into(),
                            s(p.image_url.as_ref().map(|v| v.as_str())),
                        );
                        m.insert("brand".into(), s(p.brand.as_ref().map(|v| v.as_str())));
                        m.insert("price".into(), T::from(p.price.get()));
                        m.insert(
                            "old_price".into(),
                            p.old_price.map_or(T::none(), |v| T::from(v.get())),
                        );
                        m.insert("currency".into(), T::from(p.currency.as_str()));
                        T::from(m)
                    })
                    .collect();
                blocks.insert(name.clone().into(), T::from(items));
            }
            let coupon = r.coupon.as_ref().unwrap();
            let mut cm = Map::new();
            cm.insert("code".into(), T::from(coupon.code.as_str()));
            cm.insert(
                "expires_at".into(),
                T::from(coupon.expires_at.unwrap().to_rfc3339()),
            );
            let mut links = Map::new();
            for (name, url) in &r.links {
                links.insert(name.clone().into(), T::from(url.as_str()));
            }
            let mut ctx = Context::new();
            ctx.insert_value("contact", T::from(contact));
            ctx.insert_value("blocks", T::from(blocks));
            ctx.insert_value("coupon", T::from(cm));
            ctx.insert_value("links", T::from(links));
            ctx
        })
        .collect();
    let render = |ctx: &Context| {
        (
            tera.render("message.subject", ctx).unwrap(),
            tera.render("message.html", ctx).unwrap(),
            tera.render("message.text", ctx).unwrap(),
        )
    };
    for (r, ctx) in people.iter().zip(&contexts) {
        let want = template.render(r, now, info).unwrap();
        let (subject, html, text) = render(ctx);
        assert_eq!(want.subject.as_deref(), Some(subject.trim()));
        assert_eq!((want.html, want.text), (Some(html), Some(text)));
    }
    let start = Instant::now();
    for ctx in &contexts {
        black_box(render(ctx));
    }
    people.len() as f64 / start.elapsed().as_secs_f64()
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
                "context (the names the letter reads) + empty text",
                TemplateSpec {
                    text: Some(
                        "{% if contact and blocks and coupon and links %}{% endif %}".into(),
                    ),
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
    if std::env::var("PATRON_BENCH_PARTS").is_ok() {
        // What a campaign adds to each letter on top of the render.
        let start = Instant::now();
        let copies: Vec<Recipient> = people.to_vec();
        drop(black_box(copies));
        println!(
            "cloning and dropping a recipient (the campaign bench's input): {:.1} us",
            start.elapsed().as_secs_f64() * 1e6 / people.len() as f64
        );
        let campaign = summer_campaign();
        let outcomes: Vec<_> = people
            .iter()
            .map(|r| campaign::render_one(&campaign, std::slice::from_ref(&template), r, now))
            .collect();
        let start = Instant::now();
        let mut out = Vec::with_capacity(4096);
        for o in &outcomes {
            out.clear();
            serde_json::to_writer(&mut out, o).unwrap();
            black_box(&out);
        }
        println!(
            "an outcome as a JSON line: {:.1} us",
            start.elapsed().as_secs_f64() * 1e6 / people.len() as f64
        );
    }
    // Plain rates first, so the run prints comparable letters-a-second figures.
    let floor = tera_floor(&spec(), &people, now, &info, &template);
    println!("tera alone, one core, contexts built beforehand: {floor:.0} letters/s (the floor)");
    let start = Instant::now();
    for r in &people {
        black_box(template.render(r, now, &info).unwrap());
    }
    let one_core = people.len() as f64 / start.elapsed().as_secs_f64();
    println!("one core: {one_core:.0} letters/s (subject, HTML and text, context built)");

    let campaign = summer_campaign();
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
    let start = Instant::now();
    for _ in 0..rounds {
        campaign::write(&campaign, &templates, &people, now, std::io::sink()).unwrap();
    }
    let borrowed = (rounds * people.len()) as f64 / start.elapsed().as_secs_f64();
    println!(
        "campaign on {} threads, recipients by reference (no copy): {borrowed:.0} letters/s; 10M letters in {:.0} s",
        rayon::current_num_threads(),
        1e7 / borrowed
    );
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let start = Instant::now();
    single.install(|| {
        campaign::write(
            &campaign,
            &templates,
            people.iter().cloned(),
            now,
            std::io::sink(),
        )
        .unwrap()
    });
    let one_thread = people.len() as f64 / start.elapsed().as_secs_f64();
    println!("campaign on 1 thread: {one_thread:.0} letters/s streamed as JSON lines");
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

/// The bench's campaign: email, marketing, no control group, one variant.
fn summer_campaign() -> Campaign {
    Campaign {
        id: "summer-24".parse().unwrap(),
        channel: "email".parse().unwrap(),
        purpose: patron::model::Purpose::Marketing,
        control_share: 0.0,
        variants: Vec::new(),
        step: None,
        chunk: None,
    }
}
