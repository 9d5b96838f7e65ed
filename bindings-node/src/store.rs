//! The store from Node (JSON text in and out): a `Store` on one SQLite
//! file with the same calls as the Rust crate `patron-store`. Every call
//! that reads or writes the file runs off the JavaScript thread and returns
//! a Promise, so a storefront's event loop keeps serving requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use patron::model::Timestamp;
use patron::parse;
use patron::{Contact, Event};
use patron_store::{Channel, Config, Refusal, Smtp};

use crate::args;
use crate::error::{IntoJsResult, store_to_js};
use crate::task::{self, JsonTask};

type Shared = Arc<Mutex<patron_store::Store>>;

/// A store file; the JavaScript `Store` wraps it.
#[napi]
pub struct StoreNative {
    inner: Shared,
    path: String,
}

fn time(text: &str, name: &str) -> napi::Result<Timestamp> {
    args::value(text, name).js_err()
}

/// Runs `f` on the store off the JavaScript thread; the result as JSON.
fn run<T: serde::Serialize>(
    inner: &Shared,
    f: impl FnOnce(&mut patron_store::Store) -> patron_store::Result<T> + Send + 'static,
) -> AsyncTask<JsonTask> {
    let inner = Arc::clone(inner);
    task::spawn(move || {
        let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut store).map_err(store_to_js)?;
        Ok(parse::to_json(&out))
    })
}

#[napi]
impl StoreNative {
    /// Opens (or creates) the store file; `config` is JSON text or `null`
    /// (use the config kept in the file).
    #[napi(constructor)]
    pub fn new(path: String, config: String) -> napi::Result<Self> {
        let config: Option<Config> = if config.trim() == "null" {
            None
        } else {
            Some(args::value(&config, "config").js_err()?)
        };
        let store = patron_store::Store::open(&path, config).map_err(store_to_js)?;
        Ok(StoreNative {
            inner: Arc::new(Mutex::new(store)),
            path,
        })
    }

    /// The store file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// The config, in its JSON form.
    #[napi]
    pub fn config_json(&self) -> AsyncTask<JsonTask> {
        run(&self.inner, |s| Ok(s.config().clone()))
    }

    /// Checks the config whole and keeps it.
    #[napi]
    pub fn set_config_json(&self, config: String) -> napi::Result<AsyncTask<JsonTask>> {
        let config: Config = args::value(&config, "config").js_err()?;
        Ok(run(&self.inner, move |s| s.set_config(config)))
    }

    /// Writes contact records and refreshes their state.
    #[napi]
    pub fn upsert_contacts_json(
        &self,
        contacts: String,
        now: String,
    ) -> napi::Result<AsyncTask<JsonTask>> {
        let contacts: Vec<Contact> = args::list(&contacts, "contacts").js_err()?;
        let now = time(&now, "now")?;
        Ok(run(&self.inner, move |s| {
            s.upsert_contacts(&contacts, now)
                .map_err(|e| e.within("contacts"))
        }))
    }

    /// Stores a batch of events (a JSON array) and acts on it.
    #[napi]
    pub fn ingest_json(&self, events: String, now: String) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        let inner = Arc::clone(&self.inner);
        Ok(task::spawn(move || {
            let events: Vec<Event> = args::list(&events, "events").js_err()?;
            let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
            let out = store
                .ingest(events, now)
                .map_err(|e| store_to_js(e.within("events")))?;
            Ok(parse::to_json(&out))
        }))
    }

    /// Stores a batch of events given as JSON lines and acts on it.
    #[napi]
    pub fn ingest_lines(&self, lines: String, now: String) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        Ok(run(&self.inner, move |s| s.ingest_json_lines(&lines, now)))
    }

    /// Wakes every contact due at `now`.
    #[napi]
    pub fn run_due_json(&self, now: String) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        Ok(run(&self.inner, move |s| s.run_due(now)))
    }

    /// When to call `runDue` next, or null.
    #[napi]
    pub fn next_wakeup_json(&self, now: String) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        Ok(run(&self.inner, move |s| s.next_wakeup(now)))
    }

    /// Sends the email due at `now` through an SMTP server.
    #[napi]
    pub fn send_json(
        &self,
        now: String,
        smtp: String,
        timeout_seconds: f64,
    ) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        if !(timeout_seconds.is_finite() && timeout_seconds > 0.0) {
            return Err(crate::error::to_js(patron::Error::invalid(
                "smtpTimeout",
                "expected seconds above zero",
            )));
        }
        let timeout = Duration::from_secs_f64(timeout_seconds);
        Ok(run(&self.inner, move |s| {
            let mut channel = Smtp::connect(&smtp, timeout)?;
            channel.set_domain(s.config().sender.domain());
            s.send(now, &mut [&mut channel as &mut dyn Channel])
        }))
    }

    /// Leases letters of `channels` (a JSON array of names) for the host's own provider.
    #[napi]
    pub fn claim_letters_json(
        &self,
        now: String,
        channels: String,
        limit: u32,
    ) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        let channels: Vec<String> = args::value(&channels, "channels").js_err()?;
        Ok(run(&self.inner, move |s| {
            let names: Vec<&str> = channels.iter().map(String::as_str).collect();
            s.claim_letters(now, &names, limit as usize)
                .map(|c| c.letters)
        }))
    }

    /// Ends the attempt at a claimed letter: sent when `error` is null, else
    /// retried (`retry`) or failed, a hard bounce withdrawing consent.
    #[napi]
    pub fn finish_letter_json(
        &self,
        message_id: String,
        now: String,
        error: Option<String>,
        retry: bool,
        hard_bounce: bool,
    ) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        let outcome = match error {
            None => Ok(()),
            Some(reason) if retry && !hard_bounce => Err(Refusal::Retry(reason)),
            Some(reason) => Err(Refusal::Reject {
                reason,
                hard_bounce,
            }),
        };
        Ok(run(&self.inner, move |s| {
            s.finish_letter(&message_id, outcome, now)
        }))
    }

    /// One-click unsubscribe from a letter's token.
    #[napi]
    pub fn unsubscribe_json(
        &self,
        token: String,
        now: String,
    ) -> napi::Result<AsyncTask<JsonTask>> {
        let now = time(&now, "now")?;
        Ok(run(&self.inner, move |s| s.unsubscribe(&token, now)))
    }

    /// Counts over the store.
    #[napi]
    pub fn stats_json(&self) -> AsyncTask<JsonTask> {
        run(&self.inner, |s| s.stats())
    }

    /// Outbox rows, oldest first, optionally of one status.
    #[napi]
    pub fn outbox_json(&self, status: Option<String>, limit: u32) -> AsyncTask<JsonTask> {
        run(&self.inner, move |s| {
            s.outbox(status.as_deref(), limit as usize)
        })
    }

    /// A contact as stored, or null.
    #[napi]
    pub fn contact_json(&self, contact_id: String) -> AsyncTask<JsonTask> {
        run(&self.inner, move |s| s.contact(&contact_id))
    }

    /// The KPI table over the store's events.
    #[napi]
    pub fn kpis_json(&self, config: String) -> napi::Result<AsyncTask<JsonTask>> {
        let config: patron::metrics::KpiConfig = args::config(&config).js_err()?;
        Ok(run(&self.inner, move |s| s.kpis(&config)))
    }
}

/// Runs the `patron` command with `argv` (without the program name) and
/// returns its exit code: the package's `patron` bin. It blocks the thread
/// it runs on, as a command does.
#[napi]
pub fn cli(argv: Vec<String>) -> u32 {
    u32::from(patron_store::cli::main(
        std::iter::once("patron".to_string()).chain(argv),
    ))
}
