//! The store from Python: a `Store` on one SQLite file, with the same calls
//! as the Rust crate `patron-store`. Every call releases the GIL while it
//! reads, decides and writes, so a web server's other threads go on.

use std::sync::Mutex;
use std::time::Duration;

use patron::model::Timestamp;
use patron::{Contact, Event};
use patron_store::{Channel, Config, Refusal, Smtp};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::args;
use crate::convert::to_py;
use crate::error::{IntoPyResult, store_err};

/// A shop's store on one SQLite file: contacts, events, profiles, trigger
/// state, wake-ups, the outbox and its send log. Several processes may open
/// the same file.
#[pyclass(module = "patron._native", frozen)]
pub struct Store {
    inner: Mutex<patron_store::Store>,
    path: String,
}

/// `?` for store results inside Python methods.
trait IntoStoreResult<T> {
    fn store_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoStoreResult<T> for patron_store::Result<T> {
    fn store_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| store_err(py, e))
    }
}

fn time(data: &Bound<'_, PyAny>, name: &str) -> patron::Result<Timestamp> {
    args::value(data, name)
}

impl Store {
    /// Runs `f` on the store without the GIL.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut patron_store::Store) -> patron_store::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut store = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut store)
        })
        .store_err(py)
    }
}

#[pymethods]
impl Store {
    /// Opens the store file at `path`, creating it when missing. With
    /// `config` (rules, templates, coupon pools, catalog, sender), the config
    /// is checked whole and kept in the file; without, the kept one is used.
    #[new]
    #[pyo3(signature = (path, config=None))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Store> {
        let config: Option<Config> = match config.filter(|c| !c.is_none()) {
            Some(c) => Some(args::value(c, "config").py_err(py)?),
            None => None,
        };
        let shown = path.display().to_string();
        let store = py
            .detach(|| patron_store::Store::open(&path, config))
            .store_err(py)?;
        Ok(Store {
            inner: Mutex::new(store),
            path: shown,
        })
    }

    /// The store file.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// The config the store runs, in its JSON form.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let config = self.with(py, |s| Ok(s.config().clone()))?;
        to_py(py, &config)
    }

    /// Checks `config` whole and keeps it; every process that opens the
    /// store afterwards runs it.
    fn set_config(&self, py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
        let config: Config = args::value(config, "config").py_err(py)?;
        self.with(py, |s| s.set_config(config))
    }

    /// Writes contact records and runs the engine's `refresh` for each (the
    /// facts changed without an event), in one transaction.
    fn upsert_contacts<'py>(
        &self,
        py: Python<'py>,
        contacts: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let contacts: Vec<Contact> = args::list(contacts, "contacts").py_err(py)?;
        let now = time(now, "now").py_err(py)?;
        let done = self.with(py, |s| {
            s.upsert_contacts(&contacts, now)
                .map_err(|e| e.within("contacts"))
        })?;
        to_py(py, &done)
    }

    /// Stores a batch of events and acts on it, in one transaction: a list of
    /// dicts, an Arrow table, or JSON lines (`str`). A bad event refuses the
    /// whole batch, named by its place (`events[3].at`) or its line.
    fn ingest<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        let done = if let Ok(text) = events.cast::<PyString>() {
            let text = text.to_str()?.to_owned();
            self.with(py, |s| s.ingest_json_lines(&text, now))?
        } else {
            let (events, _) = args::bulk::<Event>(py, events, "events").py_err(py)?;
            self.with(py, |s| {
                s.ingest(events, now).map_err(|e| e.within("events"))
            })?
        };
        to_py(py, &done)
    }

    /// Wakes every contact due at `now` (leased, so that several processes
    /// never wake one contact at once) and writes what the engine decided.
    fn run_due<'py>(
        &self,
        py: Python<'py>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        let ran = self.with(py, |s| s.run_due(now))?;
        to_py(py, &ran)
    }

    /// When to call `run_due` next, or None.
    fn next_wakeup<'py>(
        &self,
        py: Python<'py>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        let next = self.with(py, |s| s.next_wakeup(now))?;
        to_py(py, &next)
    }

    /// Sends the email due at `now` through the SMTP server `smtp`
    /// (`HOST:PORT` plain, or a URL: `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host`). Letters of other channels wait for
    /// `claim_letters`.
    #[pyo3(signature = (now, smtp, smtp_timeout=30.0))]
    fn send<'py>(
        &self,
        py: Python<'py>,
        now: &Bound<'py, PyAny>,
        smtp: &str,
        smtp_timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        if !(smtp_timeout.is_finite() && smtp_timeout > 0.0) {
            return Err(store_err(
                py,
                patron::Error::invalid("smtp_timeout", "expected seconds above zero").into(),
            ));
        }
        let timeout = Duration::from_secs_f64(smtp_timeout);
        let sent = self.with(py, |s| {
            let mut channel = Smtp::connect(smtp, timeout)?;
            channel.set_domain(s.config().sender.domain());
            s.send(now, &mut [&mut channel as &mut dyn Channel])
        })?;
        to_py(py, &sent)
    }

    /// Leases up to `limit` letters of `channels` due at `now`, checked and
    /// rendered: hand each to your provider, then call `letter_sent` or
    /// `letter_failed` before its lease ends.
    #[pyo3(signature = (now, channels, limit=100))]
    fn claim_letters<'py>(
        &self,
        py: Python<'py>,
        now: &Bound<'py, PyAny>,
        channels: Vec<String>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        let claimed = self.with(py, |s| {
            let names: Vec<&str> = channels.iter().map(String::as_str).collect();
            s.claim_letters(now, &names, limit)
        })?;
        to_py(py, &claimed.letters)
    }

    /// A claimed letter was accepted by its provider. Returns `"sent"`, or
    /// `"lease_lost"` when another sender took it over meanwhile.
    fn letter_sent(
        &self,
        py: Python<'_>,
        message_id: &str,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let now = time(now, "now").py_err(py)?;
        let done = self.with(py, |s| s.finish_letter(message_id, Ok(()), now))?;
        Ok(finished_name(done))
    }

    /// A claimed letter was refused: tried again after a backoff when
    /// `retry` (until the config's `max_attempts`), else failed for good; a
    /// `hard_bounce` withdraws the channel's consent. Returns `"retry"`,
    /// `"failed"` or `"lease_lost"`.
    #[pyo3(signature = (message_id, reason, now, retry=true, hard_bounce=false))]
    fn letter_failed(
        &self,
        py: Python<'_>,
        message_id: &str,
        reason: String,
        now: &Bound<'_, PyAny>,
        retry: bool,
        hard_bounce: bool,
    ) -> PyResult<String> {
        let now = time(now, "now").py_err(py)?;
        let refusal = if retry && !hard_bounce {
            Refusal::Retry(reason)
        } else {
            Refusal::Reject {
                reason,
                hard_bounce,
            }
        };
        let done = self.with(py, |s| s.finish_letter(message_id, Err(refusal), now))?;
        Ok(finished_name(done))
    }

    /// One-click unsubscribe from the token of a letter's link: a tampered
    /// token, or one made with another key, is refused.
    fn unsubscribe<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = time(now, "now").py_err(py)?;
        let done = self.with(py, |s| s.unsubscribe(token, now))?;
        to_py(py, &done)
    }

    /// Counts: contacts, events, states, outbox by status, message events,
    /// segment moves, coupons.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = self.with(py, |s| s.stats())?;
        to_py(py, &stats)
    }

    /// Outbox rows, oldest first, optionally of one status.
    #[pyo3(signature = (status=None, limit=1000))]
    fn outbox<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.with(py, |s| s.outbox(status.as_deref(), limit))?;
        to_py(py, &rows)
    }

    /// A contact's record, profile, trigger state and segments, or None.
    fn contact<'py>(&self, py: Python<'py>, contact_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let view = self.with(py, |s| s.contact(contact_id))?;
        to_py(py, &view)
    }

    /// The KPI table over the store's events.
    #[pyo3(signature = (config=None))]
    fn kpis<'py>(
        &self,
        py: Python<'py>,
        config: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config: patron::metrics::KpiConfig = args::config(config).py_err(py)?;
        let rows = self.with(py, |s| s.kpis(&config))?;
        to_py(py, &rows)
    }
}

fn finished_name(f: patron_store::Finished) -> String {
    match f {
        patron_store::Finished::Sent => "sent",
        patron_store::Finished::Retry => "retry",
        patron_store::Finished::Failed => "failed",
        patron_store::Finished::LeaseLost => "lease_lost",
    }
    .to_string()
}

/// Runs the `patron` command with `argv` (without the program name) and
/// returns its exit code: the console script `patron` of this package.
#[pyfunction]
pub fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| patron_store::cli::main(std::iter::once("patron".to_string()).chain(argv)))
}
