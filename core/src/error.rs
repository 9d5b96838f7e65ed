//! One error type for the whole crate.
//!
//! Every variant says *what* was wrong and *where*: a field path such as
//! `lines[2].quantity` for data, a line and column for text. Each variant has a
//! stable [`Error::code`] that the Python and Node bindings expose unchanged, so
//! hosts match on codes, never on messages.

use std::fmt;

/// The result type of every fallible patron call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in patron.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed JSON text.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the offending character.
        line: usize,
        /// 1-based column of the offending character.
        column: usize,
        /// What the JSON reader expected.
        message: String,
    },
    /// A value is missing, of the wrong type, or outside its allowed range.
    #[error("{}: {message}", PathDisplay(path))]
    Validation {
        /// Where the value sits, e.g. `lines[2].quantity`; empty for the whole input.
        path: String,
        /// What was expected, and what came instead.
        message: String,
        /// Position in JSON text, when the input was text.
        location: Option<Location>,
    },
    /// A model fit or a series that did not converge.
    #[error("{message}")]
    Convergence {
        /// What did not converge, and how far it got.
        message: String,
    },
    /// A consent change that the current consent state does not allow.
    #[error("{}: {message}", PathDisplay(path))]
    ConsentTransition {
        /// The consent entry, e.g. `consent.email.marketing`.
        path: String,
        /// Which change was refused and why.
        message: String,
    },
    /// Reading the input or writing the output failed (a full disk, a closed
    /// pipe, a file that cannot be opened); the message says which and why.
    #[error("{message}")]
    Io {
        /// What was being read or written, and the system's reason.
        message: String,
    },
    /// A message template that does not compile, or that fails to render for
    /// one contact (an unknown variable, a filter given the wrong type).
    #[error("{}: {message}{}", PathDisplay(path), LocationDisplay(location))]
    Template {
        /// The template part: `subject`, `html`, `text` or `partials.<name>`.
        path: String,
        /// What was wrong.
        message: String,
        /// 1-based line and column in that part's source, when known.
        location: Option<Location>,
    },
    /// A coupon pool with no code left to issue.
    #[error("{}: {message}", PathDisplay(path))]
    Exhausted {
        /// The pool.
        path: String,
        /// How many codes it held and how many were issued.
        message: String,
    },
    /// A call reached one of the limits that keep it bounded (docs/limits.md)
    /// and stopped, instead of running on or filling memory.
    #[error("{}: {message}", PathDisplay(path))]
    Limit {
        /// The limit, by its name in docs/limits.md (`output_bytes`).
        limit: &'static str,
        /// Where it was reached (a template part, a field).
        path: String,
        /// The limit's value, and what would have passed it.
        message: String,
    },
}

/// A position in JSON text: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Error {
    /// The stable code of this error kind: `json`, `validation`,
    /// `consent_transition`, `convergence`, `io`, `template`, `exhausted` or
    /// `limit`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Json { .. } => "json",
            Error::Validation { .. } => "validation",
            Error::ConsentTransition { .. } => "consent_transition",
            Error::Convergence { .. } => "convergence",
            Error::Io { .. } => "io",
            Error::Template { .. } => "template",
            Error::Exhausted { .. } => "exhausted",
            Error::Limit { .. } => "limit",
        }
    }

    /// The field path this error is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Json { .. } | Error::Convergence { .. } | Error::Io { .. } => None,
            Error::Validation { path, .. } | Error::ConsentTransition { path, .. } => Some(path),
            Error::Template { path, .. }
            | Error::Exhausted { path, .. }
            | Error::Limit { path, .. } => Some(path),
        }
    }

    /// Line and column in JSON text, if the input was text and the place is known.
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Json { line, column, .. } => Some(Location {
                line: *line,
                column: *column,
            }),
            Error::Validation { location, .. } => *location,
            Error::ConsentTransition { .. } | Error::Convergence { .. } | Error::Io { .. } => None,
            Error::Template { location, .. } => *location,
            Error::Exhausted { .. } | Error::Limit { .. } => None,
        }
    }

    /// The message without the path prefix.
    pub fn reason(&self) -> &str {
        match self {
            Error::Json { message, .. }
            | Error::Validation { message, .. }
            | Error::ConsentTransition { message, .. }
            | Error::Convergence { message }
            | Error::Io { message }
            | Error::Template { message, .. }
            | Error::Exhausted { message, .. }
            | Error::Limit { message, .. } => message,
        }
    }

    /// A limit reached at `path` ([`Error::Limit`]).
    pub fn limit(limit: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Limit {
            limit,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A validation error at `path` (bindings use it for input they cannot convert).
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            path: path.into(),
            message: message.into(),
            location: None,
        }
    }

    /// An input or output failure: `doing` says what was being done
    /// (`writing the export`), `e` why it failed.
    pub fn io(doing: &str, e: &std::io::Error) -> Self {
        Error::Io {
            message: format!("{doing} failed: {e}"),
        }
    }

    /// The same error, seen from one level up: `parent` (a field, or `[i]`) goes
    /// in front of the path.
    pub fn within(self, parent: &str) -> Self {
        match self {
            Error::Validation {
                path,
                message,
                location,
            } => Error::Validation {
                path: join_path(parent, &path),
                message,
                location,
            },
            Error::ConsentTransition { path, message } => Error::ConsentTransition {
                path: join_path(parent, &path),
                message,
            },
            Error::Template {
                path,
                message,
                location,
            } => Error::Template {
                path: join_path(parent, &path),
                message,
                location,
            },
            Error::Exhausted { path, message } => Error::Exhausted {
                path: join_path(parent, &path),
                message,
            },
            Error::Limit {
                limit,
                path,
                message,
            } => Error::Limit {
                limit,
                path: join_path(parent, &path),
                message,
            },
            other => other,
        }
    }
}

/// Joins a parent path and a child path: `lines` + `[2].quantity`, `contact` + `email`.
pub(crate) fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else if child.is_empty() {
        parent.to_string()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

struct PathDisplay<'a>(&'a str);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(root)")
        } else {
            f.write_str(self.0)
        }
    }
}

struct LocationDisplay<'a>(&'a Option<Location>);

impl fmt::Display for LocationDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(l) => write!(f, " at line {}, column {}", l.line, l.column),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_field_accessors() {
        assert_eq!(join_path("", "id"), "id");
        assert_eq!(join_path("lines", "[2].quantity"), "lines[2].quantity");
        assert_eq!(join_path("[3]", "lines"), "[3].lines");
        assert_eq!(join_path("contact", ""), "contact");
    }

    #[test]
    fn messages_name_the_place() {
        let e = Error::invalid("lines[2].quantity", "expected a positive quantity, got 0");
        assert_eq!(
            e.to_string(),
            "lines[2].quantity: expected a positive quantity, got 0"
        );
        assert_eq!(e.code(), "validation");
        assert_eq!(
            Error::invalid("", "expected an object").to_string(),
            "(root): expected an object"
        );
    }
}
