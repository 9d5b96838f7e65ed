//! `patron`: the store from the command line, for operators and scripts.
//! The binary of this crate and the `patron` console script of the Python
//! package both call [`main`].
//!
//! Exit codes: 0 done; 2 a bad command line; 3 bad input (the message names
//! the line, field and column); 4 the database (damaged, newer, full,
//! locked, no config); 5 a channel or a file.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::{Channel, Config, Error, Smtp, Store};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use patron::model::Timestamp;

#[derive(Parser)]
#[command(
    name = "patron",
    version,
    about = "Run a shop on patron: ingest events, wake contacts, send letters."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set the store's config (rules, templates, coupon pools, sender) from a JSON file.
    Config {
        /// The store file (created when missing).
        #[arg(long)]
        db: PathBuf,
        /// The config, as JSON.
        file: PathBuf,
    },
    /// Write contact records from a JSON array or JSON lines.
    Contacts {
        /// The store file.
        #[arg(long)]
        db: PathBuf,
        /// The contacts (`-` for standard input).
        file: PathBuf,
        /// The time to act at (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Store events from JSON lines and act on them, one transaction a batch.
    Ingest {
        /// The store file.
        #[arg(long)]
        db: PathBuf,
        /// The events, one per line (`-` for standard input).
        file: PathBuf,
        /// Events per transaction.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// The time to act at (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Wake the contacts that are due and send the letters queued.
    Run {
        /// The store file.
        #[arg(long)]
        db: PathBuf,
        /// Send email through this SMTP server: `HOST:PORT` (plain), or a URL
        /// (`smtp://user:pass@host:587?tls=required`, `smtps://host`; `&ca=FILE` trusts a private CA).
        #[arg(long)]
        smtp: Option<String>,
        /// Seconds to wait for the SMTP server before an attempt fails.
        #[arg(long, default_value_t = 30.0)]
        smtp_timeout: f64,
        /// One pass at this time (RFC 3339), then stop.
        #[arg(long, conflicts_with_all = ["until", "replay"])]
        now: Option<String>,
        /// Stop when the clock reaches this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Move a virtual clock from wake-up to wake-up instead of waiting for
        /// the real one (replaying a history); needs --until.
        #[arg(long, requires = "until")]
        replay: bool,
        /// Seconds between passes on the real clock.
        #[arg(long, default_value_t = 1.0)]
        poll: f64,
    },
    /// A local SMTP sink on 127.0.0.1 for demos and staging: takes every
    /// letter, prints one line per letter (Message-ID, recipients, subject).
    Sink {
        /// The port (0: a free one); the first line printed names it.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Counts: contacts, events, states, outbox by status, sent, failed.
    Stats {
        /// The store file.
        #[arg(long)]
        db: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line `args` (the program name first) and returns the
/// exit code.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code().clamp(0, 255) as u8;
        }
    };
    match run(cli.command) {
        Ok(()) | Err(Stop::Closed) => 0,
        Err(Stop::Error(e)) => {
            let _ = writeln!(std::io::stderr(), "patron: {e}");
            exit_code(&e)
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Core(_) | Error::Line { .. } => 3,
        Error::Corrupt { .. }
        | Error::NewerSchema { .. }
        | Error::Full { .. }
        | Error::Busy { .. }
        | Error::Database { .. }
        | Error::NoConfig { .. } => 4,
        _ => 5,
    }
}

fn now_wall() -> Timestamp {
    Timestamp::from(DateTime::<Utc>::from(std::time::SystemTime::now()))
}

fn time(text: Option<&str>) -> Result<Timestamp, Error> {
    match text {
        Some(t) => Ok(Timestamp::parse(t).map_err(|e| e.within("--now"))?),
        None => Ok(now_wall()),
    }
}

fn read(path: &PathBuf) -> Result<String, Error> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(io)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(io)
    }
}

/// Why a command stopped early: an error, or standard output closed by its
/// reader (`patron stats | head`), which ends the command quietly.
enum Stop {
    Error(Error),
    Closed,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

impl From<patron::Error> for Stop {
    fn from(e: patron::Error) -> Self {
        Stop::Error(e.into())
    }
}

/// `println!` that stops the command when standard output is closed, and
/// reports any other failure to write it.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        match writeln!(out, $($arg)*).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Stop::Closed),
            Err(e) => {
                return Err(Stop::Error(Error::Io {
                    path: "standard output".into(),
                    message: e.to_string(),
                }))
            }
        }
    }};
}

fn run(command: Command) -> Result<(), Stop> {
    match command {
        Command::Config { db, file } => {
            let text = read(&file)?;
            let config: Config = serde_json::from_str(&text)
                .map_err(|e| patron::Error::invalid("config", e.to_string()))?;
            Store::open(&db, Some(config))?;
            say!("config set in {}", db.display());
            Ok(())
        }
        Command::Contacts { db, file, now } => {
            let text = read(&file)?;
            let contacts: Vec<patron::Contact> = if text.trim_start().starts_with('[') {
                patron::parse::list_from_json(&text)?
            } else {
                let mut list = Vec::new();
                for (i, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    list.push(
                        patron::parse::from_json(line).map_err(|source| Error::Line {
                            line: i + 1,
                            source,
                        })?,
                    );
                }
                list
            };
            let mut store = open_existing(&db)?;
            let done = store.upsert_contacts(&contacts, time(now.as_deref())?)?;
            say!(
                "{} contacts written, {} actions, {} queued",
                contacts.len(),
                done.actions,
                done.queued
            );
            Ok(())
        }
        Command::Ingest {
            db,
            file,
            batch,
            now,
        } => {
            let text = read(&file)?;
            let mut store = open_existing(&db)?;
            let now = time(now.as_deref())?;
            let lines: Vec<&str> = text.lines().collect();
            let batch = batch.max(1);
            let (mut stored, mut duplicates, mut queued) = (0, 0, 0);
            let progress = std::io::stderr().is_terminal();
            for (i, chunk) in lines.chunks(batch).enumerate() {
                // Errors name the file's lines, not the batch's.
                let done =
                    store
                        .ingest_json_lines(&chunk.join("\n"), now)
                        .map_err(|e| match e {
                            Error::Line { line, source } => Error::Line {
                                line: line + i * batch,
                                source,
                            },
                            other => other,
                        })?;
                stored += done.stored;
                duplicates += done.duplicates.len();
                queued += done.queued;
                if progress {
                    eprint!("\r{} of {} lines", (i * batch + chunk.len()), lines.len());
                }
            }
            if progress {
                eprintln!();
            }
            say!("{stored} events stored, {duplicates} repeats dropped, {queued} queued");
            Ok(())
        }
        Command::Run {
            db,
            smtp,
            smtp_timeout,
            now,
            until,
            replay,
            poll,
        } => {
            let mut store = open_existing(&db)?;
            let mut email = match smtp.as_deref() {
                None => None,
                Some(address) => Some(smtp_channel(
                    address,
                    Duration::from_secs_f64(smtp_timeout.max(0.001)),
                    &store,
                )?),
            };
            let until = until
                .as_deref()
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| e.within("--until"))?;
            let mut pass = |store: &mut Store, at: Timestamp| -> Result<(), Stop> {
                let ran = store.run_due(at)?;
                let mut channels: Vec<&mut dyn Channel> = Vec::new();
                if let Some(e) = email.as_mut() {
                    channels.push(e);
                }
                let sent = store.send(at, &mut channels)?;
                if ran.contacts + sent.sent + sent.failed + sent.retried + sent.cancelled > 0 {
                    say!(
                        "{at}: {} contacts woken, {} queued, {} sent, {} retried, {} failed, {} cancelled",
                        ran.contacts,
                        ran.queued,
                        sent.sent,
                        sent.retried,
                        sent.failed,
                        sent.cancelled
                    );
                    std::io::stdout().flush().ok();
                }
                for (contact, error) in &ran.failed {
                    eprintln!("patron: contact `{contact}` left as it was: {error}");
                }
                Ok(())
            };
            if let Some(at) = now {
                return pass(&mut store, time(Some(&at))?);
            }
            if replay {
                let until = until.expect("clap requires --until with --replay");
                let mut at = store.next_wakeup(until)?.map_or(until, |n| n.min(until));
                loop {
                    pass(&mut store, at)?;
                    match store.next_wakeup(until)? {
                        Some(next) if next <= until && next > at => at = next,
                        _ => break,
                    }
                }
                return pass(&mut store, until);
            }
            loop {
                let at = now_wall();
                pass(&mut store, at)?;
                if until.is_some_and(|u| at >= u) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_secs_f64(poll.max(0.01)));
            }
        }
        Command::Sink { port } => {
            let io = |e: std::io::Error| Error::Io {
                path: format!("127.0.0.1:{port}"),
                message: e.to_string(),
            };
            let sink = crate::sink::SmtpSink::start_on(port).map_err(io)?;
            say!("listening on {}", sink.address());
            std::io::stdout().flush().ok();
            let mut shown = 0;
            loop {
                let letters = sink.letters_since(shown);
                for letter in &letters {
                    say!(
                        "{} {} {}",
                        letter.message_id,
                        letter.to.join(","),
                        letter.subject
                    );
                }
                if !letters.is_empty() {
                    std::io::stdout().flush().ok();
                }
                shown += letters.len();
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Command::Stats { db, json } => {
            let mut store = open_existing(&db)?;
            let stats = store.stats()?;
            if json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&stats).unwrap_or_default()
                );
                return Ok(());
            }
            say!("contacts      {}", stats.contacts);
            say!("events        {}", stats.events);
            say!(
                "states        {} ({} scheduled)",
                stats.states,
                stats.scheduled
            );
            if let Some(next) = stats.next_wakeup {
                say!("next wake-up  {next}");
            }
            say!("decisions     {}", stats.actions);
            for status in ["queued", "sending", "sent", "failed", "cancelled"] {
                say!(
                    "outbox {status:<9} {}",
                    stats.outbox.get(status).copied().unwrap_or(0)
                );
            }
            for (kind, n) in &stats.message_events {
                say!("{kind:<20} {n}");
            }
            say!("segment moves {}", stats.membership_changes);
            say!("coupons       {}", stats.coupons);
            if stats.pending > 0 {
                say!("not folded    {} (the next call folds them)", stats.pending);
            }
            Ok(())
        }
    }
}

/// The store at `db`; a missing file is not created (only `patron config`
/// makes a store), so a mistyped path leaves nothing behind.
fn open_existing(db: &std::path::Path) -> Result<Store, Error> {
    if !db.exists() {
        return Err(Error::NoConfig {
            path: db.display().to_string(),
        });
    }
    Store::open(db, None)
}

fn smtp_channel(address: &str, timeout: Duration, store: &Store) -> Result<Smtp, Error> {
    let mut smtp = Smtp::connect(address, timeout)?;
    smtp.set_domain(store.config().sender.domain());
    Ok(smtp)
}
