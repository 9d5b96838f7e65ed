//! One error type for the store.
//!
//! The core's errors (bad data, a bad config, a template that does not
//! render) pass through unchanged, so hosts match on the same codes as
//! everywhere in patron; the store adds what only a shell meets: the
//! database, the disk and the network.

/// The result type of every fallible store call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad data or config, from the core: the code, path and location say
    /// what and where.
    #[error(transparent)]
    Core(#[from] patron::Error),
    /// A bad line of JSON-lines input (1-based), with what was wrong in it.
    #[error("line {line}: {source}")]
    Line {
        /// The line, counted from 1.
        line: usize,
        /// What was wrong, with the field and column within the line.
        source: patron::Error,
    },
    /// The file is not a patron store, or it is damaged (truncated,
    /// overwritten): nothing was changed.
    #[error("{path}: {message}")]
    Corrupt {
        /// The database file.
        path: String,
        /// What SQLite found.
        message: String,
    },
    /// The database was written by a newer patron; this one does not know
    /// its schema and changes nothing.
    #[error(
        "{path}: the store has schema version {found}, newer than this patron's {supported}; upgrade patron"
    )]
    NewerSchema {
        /// The database file.
        path: String,
        /// The version in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// The disk or the database's size limit is full: the transaction was
    /// rolled back, nothing of it is stored.
    #[error("{path}: the disk is full ({message}); nothing of this call was stored")]
    Full {
        /// The database file.
        path: String,
        /// What SQLite said.
        message: String,
    },
    /// Another process held the database longer than the busy timeout.
    #[error("{path}: the database stayed locked ({message})")]
    Busy {
        /// The database file.
        path: String,
        /// What SQLite said.
        message: String,
    },
    /// Any other database failure.
    #[error("{path}: {message}")]
    Database {
        /// The database file.
        path: String,
        /// What the database said.
        message: String,
    },
    /// The store has no config yet.
    #[error(
        "{path}: the store has no config; give one when opening it (`patron config --db {path} shop.json`)"
    )]
    NoConfig {
        /// The database file.
        path: String,
    },
    /// A channel could not be set up (a bad SMTP address, TLS settings).
    #[error("{channel}: {message}")]
    Channel {
        /// The channel.
        channel: String,
        /// What was wrong.
        message: String,
    },
    /// Reading or writing a file the caller named.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

impl Error {
    /// The stable code of this error kind: the core's codes (`json`,
    /// `validation`, `template`, ...) for bad data, and `corrupt`,
    /// `newer_schema`, `full`, `busy`, `database`, `no_config`, `channel`
    /// and `io` for the store's own.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Core(e) | Error::Line { source: e, .. } => e.code(),
            Error::Corrupt { .. } => "corrupt",
            Error::NewerSchema { .. } => "newer_schema",
            Error::Full { .. } => "full",
            Error::Busy { .. } => "busy",
            Error::Database { .. } => "database",
            Error::NoConfig { .. } => "no_config",
            Error::Channel { .. } => "channel",
            Error::Io { .. } => "io",
        }
    }

    /// The field path the error is about, if any (within the line, for
    /// JSON-lines input).
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Core(e) | Error::Line { source: e, .. } => e.path(),
            _ => None,
        }
    }

    /// The line of JSON-lines input, if the error is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Line { line, .. } => Some(*line),
            Error::Core(e) => e.location().map(|l| l.line),
            _ => None,
        }
    }

    /// The column within the line, if known.
    pub fn column(&self) -> Option<usize> {
        match self {
            Error::Core(e) | Error::Line { source: e, .. } => e.location().map(|l| l.column),
            _ => None,
        }
    }

    /// The same error seen from one level up: `parent` (an argument's
    /// name) goes in front of the path of bad data.
    pub fn within(self, parent: &str) -> Error {
        match self {
            Error::Core(e) => Error::Core(e.within(parent)),
            other => other,
        }
    }

    pub(crate) fn sqlite(path: &str, e: rusqlite::Error) -> Error {
        use rusqlite::ErrorCode;
        let message = e.to_string();
        let path = path.to_string();
        // SQLITE_IOERR_WRITE: a write the file system refused, which is a
        // full disk or a file-size limit far more often than a failing disk.
        const IOERR_WRITE: std::ffi::c_int = 778;
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.extended_code == IOERR_WRITE
        {
            return Error::Full {
                path,
                message: format!(
                    "{message}: the file could not grow (no space, or a file-size limit)"
                ),
            };
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                Error::Corrupt { path, message }
            }
            Some(ErrorCode::DiskFull) => Error::Full { path, message },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::Busy { path, message }
            }
            _ => Error::Database { path, message },
        }
    }
}
