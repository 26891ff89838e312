//! A feeder's rows in memory, compact: CSV fields and JSON lines are kept as the text of
//! the file with a `u32` index per field or line (about 1.2x the file for short rows),
//! and turned into the scenario's row type when a user draws one.

use std::any::Any;
use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::error::{redact, FeedError};

/// Checks every row as the declared row type while a file loads (see
/// [`Feed::typed`](super::Feed::typed)).
#[derive(Clone, Copy)]
pub(crate) struct Check {
    pub(crate) type_name: &'static str,
    csv: fn(&csv::StringRecord, &csv::StringRecord) -> Result<(), csv::Error>,
    json: fn(&str) -> Result<(), serde_json::Error>,
}

impl Check {
    pub(crate) fn of<T: DeserializeOwned>() -> Self {
        Check {
            type_name: std::any::type_name::<T>(),
            csv: |rec, headers| rec.deserialize::<T>(Some(headers)).map(drop),
            json: |line| serde_json::from_str::<T>(line).map(drop),
        }
    }
}

/// The rows of one feeder.
pub(crate) enum Store {
    Csv(CsvRows),
    Json(JsonRows),
    /// An in-memory `Vec<T>` (as `Vec<T>`), with its element type's name.
    Values {
        rows: Box<dyn Any + Send + Sync>,
        len: u64,
        holds: &'static str,
    },
    /// A generator (as [`GenFn<T>`]): row `i` is `f(i)`, without end.
    Generator {
        f: Box<dyn Any + Send + Sync>,
        holds: &'static str,
    },
}

/// A generator of rows.
pub(crate) type GenFn<T> = Arc<dyn Fn(u64) -> T + Send + Sync>;

pub(crate) struct CsvRows {
    headers: csv::StringRecord,
    /// Every field; row `r` has fields `r * cols .. (r + 1) * cols`.
    fields: Packed,
    cols: usize,
}

pub(crate) struct JsonRows {
    /// Every line.
    lines: Packed,
}

/// Pieces of text one after another, with the end of each (4 bytes a piece).
struct Packed {
    text: String,
    ends: Vec<u32>,
}

impl Packed {
    fn with_capacity(bytes: usize) -> Self {
        Packed {
            text: String::with_capacity(bytes),
            ends: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Piece `i`.
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn push(&mut self, piece: &str, name: &str, path: &Path) -> Result<(), FeedError> {
        self.text.push_str(piece);
        let end = u32::try_from(self.text.len()).map_err(|_| FeedError::TooLarge {
            name: name.to_owned(),
            path: path.to_owned(),
        })?;
        self.ends.push(end);
        Ok(())
    }

    /// The pieces, or [`FeedError::Empty`] (with `what` said of the file) when none.
    fn finish(mut self, name: &str, path: &Path, what: &str) -> Result<Self, FeedError> {
        if self.ends.is_empty() {
            return Err(FeedError::Empty {
                name: name.to_owned(),
                source_desc: format!("{} {what}", path.display()),
            });
        }
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        Ok(self)
    }
}

thread_local! {
    /// One record per thread, reused by every CSV draw (no allocation per row).
    static RECORD: RefCell<csv::StringRecord> = RefCell::new(csv::StringRecord::new());
}

impl Store {
    /// How many rows; `None` for a generator (no end).
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Store::Csv(c) => Some((c.fields.len() / c.cols.max(1)) as u64),
            Store::Json(j) => Some(j.lines.len() as u64),
            Store::Values { len, .. } => Some(*len),
            Store::Generator { .. } => None,
        }
    }

    /// Row `i` as a `T`.
    pub(crate) fn row<T: DeserializeOwned + Clone + 'static>(
        &self,
        name: &str,
        i: u64,
    ) -> Result<T, FeedError> {
        let bad = |message: String| FeedError::BadRow {
            name: name.to_owned(),
            row: i,
            row_type: std::any::type_name::<T>(),
            message: redact(&message),
        };
        let wrong = |holds: &'static str| FeedError::WrongType {
            name: name.to_owned(),
            asked: std::any::type_name::<T>(),
            holds,
        };
        // `i` is below `len()`, which fits in memory.
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        match self {
            Store::Csv(c) => RECORD.with_borrow_mut(|rec| {
                rec.clear();
                for f in i * c.cols..(i + 1) * c.cols {
                    rec.push_field(c.fields.get(f));
                }
                rec.deserialize::<T>(Some(&c.headers))
                    .map_err(|e| bad(e.to_string()))
            }),
            Store::Json(j) => serde_json::from_str(j.lines.get(i)).map_err(|e| bad(e.to_string())),
            Store::Values { rows, holds, .. } => rows
                .downcast_ref::<Vec<T>>()
                .map(|v| v[i].clone())
                .ok_or_else(|| wrong(holds)),
            Store::Generator { f, holds } => f
                .downcast_ref::<GenFn<T>>()
                .map(|f| f(i as u64))
                .ok_or_else(|| wrong(holds)),
        }
    }

    /// Read a CSV file with a header, checking every row (as `check`'s type, if any).
    pub(crate) fn load_csv(
        name: &str,
        path: &Path,
        check: Option<Check>,
    ) -> Result<Store, FeedError> {
        let file = std::fs::File::open(path).map_err(|source| FeedError::Read {
            name: name.to_owned(),
            path: path.to_owned(),
            source,
        })?;
        let size = file.metadata().map_or(0, |m| m.len());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(std::io::BufReader::new(file));
        let malformed =
            |e: &csv::Error, headers: Option<&csv::StringRecord>| csv_error(name, path, e, headers);
        let headers = reader.headers().map_err(|e| malformed(&e, None))?.clone();
        let cols = headers.len();
        let mut fields = Packed::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut rec = csv::StringRecord::new();
        let mut first = true;
        loop {
            match reader.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(malformed(&e, Some(&headers))),
            }
            if let Some(check) = check {
                if let Err(e) = (check.csv)(&rec, &headers) {
                    let err = malformed(&e, Some(&headers));
                    return Err(match err {
                        FeedError::Malformed {
                            column: None,
                            message,
                            ..
                        } if first && message.starts_with("missing field") => {
                            FeedError::HeaderMismatch {
                                name: name.to_owned(),
                                path: path.to_owned(),
                                header: headers.iter().collect::<Vec<_>>().join(","),
                                row_type: check.type_name,
                                message,
                            }
                        }
                        other => other,
                    });
                }
            }
            first = false;
            for field in &rec {
                fields.push(field, name, path)?;
            }
        }
        Ok(Store::Csv(CsvRows {
            headers,
            fields: fields.finish(name, path, "has a header and no data rows")?,
            cols,
        }))
    }

    /// Read a JSON lines file (one JSON value a line; blank lines skipped), checking
    /// every line (as `check`'s type, if any).
    pub(crate) fn load_json_lines(
        name: &str,
        path: &Path,
        check: Option<Check>,
    ) -> Result<Store, FeedError> {
        let read = |source| FeedError::Read {
            name: name.to_owned(),
            path: path.to_owned(),
            source,
        };
        let file = std::fs::read_to_string(path).map_err(read)?;
        let mut lines = Packed::with_capacity(file.len());
        for (n, line) in file.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parsed = match check {
                Some(c) => (c.json)(line),
                None => serde_json::from_str::<serde::de::IgnoredAny>(line).map(drop),
            };
            if let Err(e) = parsed {
                let message = redact(&e.to_string());
                // serde_json ends its message with its own " at line 1 column N".
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m)
                    .to_owned();
                return Err(FeedError::Malformed {
                    name: name.to_owned(),
                    path: path.to_owned(),
                    line: n as u64 + 1,
                    column: Some(e.column().to_string()),
                    message,
                });
            }
            lines.push(line, name, path)?;
        }
        Ok(Store::Json(JsonRows {
            lines: lines.finish(name, path, "has no lines")?,
        }))
    }
}

/// A CSV error as a [`FeedError`] naming the line and, where known, the column.
fn csv_error(
    name: &str,
    path: &Path,
    e: &csv::Error,
    headers: Option<&csv::StringRecord>,
) -> FeedError {
    let column_name = |field: Option<u64>| {
        field.map(|f| {
            headers
                .and_then(|h| h.get(usize::try_from(f).unwrap_or(usize::MAX)))
                .map_or_else(|| format!("#{}", f + 1), ToOwned::to_owned)
        })
    };
    let (line, column, message) = match e.kind() {
        csv::ErrorKind::Io(io) => {
            return FeedError::Read {
                name: name.to_owned(),
                path: path.to_owned(),
                source: std::io::Error::new(io.kind(), io.to_string()),
            }
        }
        csv::ErrorKind::Utf8 { pos, err } => (
            pos.as_ref().map_or(0, csv::Position::line),
            column_name(Some(err.field() as u64)),
            "not valid UTF-8".to_owned(),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            pos.as_ref().map_or(0, csv::Position::line),
            None,
            format!("{len} fields where the header has {expected_len}"),
        ),
        csv::ErrorKind::Deserialize { pos, err } => (
            pos.as_ref().map_or(0, csv::Position::line),
            column_name(err.field()),
            redact(&err.kind().to_string()),
        ),
        _ => (0, None, redact(&e.to_string())),
    };
    FeedError::Malformed {
        name: name.to_owned(),
        path: path.to_owned(),
        line,
        column,
        message,
    }
}
