//! What can go wrong with a feeder: bad input found before any load, and the outcomes
//! of a draw during the run.

use std::path::PathBuf;

/// A feeder that cannot be used, or a draw that got no row.
///
/// Messages name the feeder, the file, the line and the column, never a row's values
/// (a quoted value in a parser's message is replaced by `"…"`): rows hold passwords and
/// keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The file could not be read (missing, unreadable).
    #[error("feeder {name:?}: cannot read {}: {source}", path.display())]
    Read {
        /// The feeder.
        name: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file's header does not match the row type the scenario reads.
    #[error("feeder {name:?}: the header of {} ({header}) does not match the row type {row_type}: {message}", path.display())]
    HeaderMismatch {
        /// The feeder.
        name: String,
        /// The file.
        path: PathBuf,
        /// The header as found, comma-separated.
        header: String,
        /// The row type.
        row_type: &'static str,
        /// What is missing or wrong (`missing field `password``).
        message: String,
    },
    /// A row that does not parse.
    #[error("feeder {name:?}: {}, line {line}{}: {message}", path.display(), column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    Malformed {
        /// The feeder.
        name: String,
        /// The file.
        path: PathBuf,
        /// The line in the file, from 1.
        line: u64,
        /// The column: a CSV column's header name, or a JSON character position.
        column: Option<String>,
        /// What is wrong (values redacted).
        message: String,
    },
    /// A feeder with no row at all.
    #[error("feeder {name:?} has no rows ({source_desc})")]
    Empty {
        /// The feeder.
        name: String,
        /// Where the rows were to come from.
        source_desc: String,
    },
    /// A file too large for the compact row index (4 GiB of field text).
    #[error("feeder {name:?}: {} is too large (more than 4 GiB of row text)", path.display())]
    TooLarge {
        /// The feeder.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// A file whose kind is not known from its name.
    #[error("feeder {name:?}: cannot tell the format of {} from its name: use .csv, or .jsonl / .ndjson for JSON lines", path.display())]
    UnknownFormat {
        /// The feeder.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// A `--feed` value, mode or exhaustion policy that does not parse, or a mode and
    /// policy that contradict each other.
    #[error("invalid feeder {value:?}: {reason}")]
    Invalid {
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A unique or per-user feeder that cannot be split over the workers.
    #[error("feeder {name:?} ({mode}) cannot be split into {partitions} partitions: {reason}")]
    Unpartitionable {
        /// The feeder.
        name: String,
        /// Its mode.
        mode: super::FeedMode,
        /// The number of partitions asked for.
        partitions: u32,
        /// Why not.
        reason: String,
    },
    /// The run has no feeder of this name.
    #[error("no feeder named {name:?}; this run has: {}", if known.is_empty() { "none (add one with --feed or Swarm::feed)".to_owned() } else { known.join(", ") })]
    Unknown {
        /// The name asked for.
        name: String,
        /// The feeders of the run.
        known: Vec<String>,
    },
    /// The scenario asked for rows of another type than the feeder holds (in-memory
    /// rows and generators are typed).
    #[error("feeder {name:?} holds {holds} rows, not {asked}")]
    WrongType {
        /// The feeder.
        name: String,
        /// The type asked for.
        asked: &'static str,
        /// The type it holds.
        holds: &'static str,
    },
    /// A row that did not convert to the type asked for during the run (a feeder whose
    /// row type was not declared, so not checked before the run).
    #[error("feeder {name:?}: row {row} does not fit {row_type}: {message}")]
    BadRow {
        /// The feeder.
        name: String,
        /// The row's number in the file's data rows, from 0.
        row: u64,
        /// The type asked for.
        row_type: &'static str,
        /// What is wrong (values redacted).
        message: String,
    },
    /// The feeder ran out of rows and its policy is to stop the user or end the run:
    /// return this error from the task (`?`); it is not counted as a failure.
    #[error("feeder {name:?} ran out of rows")]
    Exhausted {
        /// The feeder.
        name: String,
    },
}

/// A parser's message without the values it quotes (`invalid type: string "hunter2"`
/// becomes `invalid type: string "…"`).
pub(crate) fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if quoted {
                out.push('…');
            }
            quoted = !quoted;
            out.push(c);
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(
            super::redact(r#"invalid type: string "hunter2", expected u32"#),
            r#"invalid type: string "…", expected u32"#
        );
        assert_eq!(
            super::redact("missing field `password`"),
            "missing field `password`"
        );
    }
}
