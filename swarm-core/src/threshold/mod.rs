//! Thresholds: service-level objectives checked against a run's [`Snapshot`], in the
//! style of k6 (`p95 < 250ms`, `fail_ratio < 1%`).
//!
//! # Grammar
//!
//! ```text
//! threshold := [ scope ":" ] metric op value        (whitespace anywhere between the parts)
//! scope     := KIND NAME | NAME                     (e.g. `GET /status`, `/status`, `checkout`)
//! metric    := pNN | pNN.N | med | median | avg | min | max
//!            | fail_ratio | rps | requests | failures | fails_per_sec
//! op        := "<" | "<=" | ">" | ">=" | "==" | "!="
//! value     := NUMBER [ unit ]                      (NUMBER: 250, 0.5, .5; never negative)
//! ```
//!
//! **Scope.** Without a scope a threshold checks the run's total (the `Aggregated` row).
//! With one it checks the entries it selects, merged: `GET /status` selects the entry of
//! kind `GET` (the kind compares case-insensitively) and name `/status`; when no entry has
//! that kind and name, the whole scope is taken as a name and selects the entries of that
//! name whatever their kind (so `/status` merges `GET /status` and `POST /status`, and a
//! name with spaces such as `list items` works). Names may hold spaces and colons: the
//! scope ends at the last `:` that is followed by a valid metric expression, so
//! `GET /api/v1:item: p95 < 100ms` has the scope `GET /api/v1:item`. The scope
//! `Aggregated` names the total when no entry has that name. A scope that selects no entry
//! makes the threshold **fail**, so that a typo never passes silently.
//!
//! **Metrics**, units and what each measures:
//!
//! | metric | measures | value units |
//! |---|---|---|
//! | `p0` .. `p100`, `p99.9` | latency percentile | `us` (or `µs`), `ms` (the default), `s`, `m` |
//! | `med`, `median` | `p50` | as above |
//! | `avg`, `min`, `max` | mean, smallest, largest latency | as above |
//! | `fail_ratio` | failures / requests | a ratio `0.01` (0 ..= 1) or a percent `1%` |
//! | `rps` | requests per second over the run | a plain number |
//! | `fails_per_sec` | failures per second over the run | a plain number |
//! | `requests`, `failures` | counts | a plain number |
//!
//! Metric names and units are case-insensitive. A unit on a count or rate, a time unit on
//! `fail_ratio`, or a ratio above 1 (`fail_ratio < 5`: write `5%`) is an error.
//!
//! A latency metric or `fail_ratio` of an entry with no request has no value, and the
//! threshold fails ("no requests"); counts and rates are 0 then. `==` and `!=` (and the
//! boundary of the other operators) compare with a relative tolerance of 1e-9, so that
//! `p95 <= 0.25s` and `p95 <= 250ms` agree.
//!
//! # Examples
//!
//! ```text
//! p95 < 250ms                     the total's 95th percentile under 250 ms
//! p99.9<1s                        whitespace is optional
//! fail_ratio < 1%                 same as fail_ratio < 0.01
//! rps >= 100                      at least 100 requests per second over the run
//! GET /status: med <= 20          p50 of GET /status at most 20 ms
//! /status: failures == 0          every kind named /status, merged
//! GET /api/v1:item: max < 2s      scope "GET /api/v1:item"
//! ```
//!
//! Errors quote the whole expression and point at the bad part:
//!
//! ```text
//! invalid threshold "p95 < 2xx": "2xx" is not a duration (expected e.g. 250ms, 1s)
//! invalid threshold "p955 < 1s": unknown metric "p955" (expected p95, p99.9, med, avg, ...)
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::stats::{EntrySnapshot, Snapshot};

/// The list of metrics, for error messages.
const METRICS: &str =
    "p95, p99.9, med, avg, min, max, fail_ratio, rps, requests, failures, fails_per_sec";
/// The list of operators, for error messages.
const OPERATORS: &str = "<, <=, >, >=, ==, !=";
/// How many entry names a "no entry matched" message lists.
const LISTED_ENTRIES: usize = 10;

/// A service-level objective checked against a run's statistics, such as `p95 < 250ms`,
/// `fail_ratio < 1%` or `GET /status: p99 <= 1s`.
///
/// The grammar is `[SCOPE ":"] METRIC OP VALUE`:
///
/// - **SCOPE** (optional) selects entries: `KIND NAME` (`GET /status`) or `NAME` (every
///   kind of that name, merged). Without a scope the threshold checks the run's total.
///   A scope that matches no entry fails the threshold.
/// - **METRIC**: `pNN` / `pNN.N` (percentile, `p0` ..= `p100`), `med` / `median`, `avg`,
///   `min`, `max` (latencies); `fail_ratio`; `rps`, `fails_per_sec` (per second over the
///   run); `requests`, `failures` (counts).
/// - **OP**: `<`, `<=`, `>`, `>=`, `==`, `!=`.
/// - **VALUE**: latencies take `us`, `ms` (default), `s` or `m`; `fail_ratio` takes a ratio
///   (`0.01`) or a percent (`1%`); counts and rates take a plain number.
///
/// ```
/// use swarm_core::{Snapshot, Threshold};
///
/// let t: Threshold = "GET /status: p95 < 0.25s".parse()?;
/// assert_eq!(t.to_string(), "GET /status: p95 < 0.25s");
///
/// // An empty run has no entry called "GET /status": the threshold fails.
/// let result = t.evaluate(&Snapshot::empty());
/// assert!(!result.passed);
///
/// let err = Threshold::parse("p95 < 2xx").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid threshold "p95 < 2xx": "2xx" is not a duration (expected e.g. 250ms, 1s)"#
/// );
/// # Ok::<(), swarm_core::ThresholdError>(())
/// ```
///
/// It serialises as its expression (a string), or as `{ expr, abort_on_fail }` when
/// `abort_on_fail` is set; it deserialises from either form, parsing the expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct Threshold {
    /// The expression as written (without surrounding whitespace).
    pub expr: String,
    scope: Option<Scope>,
    metric: Metric,
    op: Op,
    /// In the metric's base unit: milliseconds for latencies, a ratio for `fail_ratio`.
    value: f64,
    /// Whether a failure of this threshold should stop the run early.
    pub abort_on_fail: bool,
}

impl Threshold {
    /// Parse a threshold expression (see the [grammar](Threshold)).
    pub fn parse(expr: &str) -> Result<Threshold, ThresholdError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(ThresholdError::Empty {
                expr: expr.to_owned(),
            });
        }
        // The scope ends at the last ':' followed by a valid metric expression. A metric
        // expression holds no ':', so only the last ':' can succeed; the other candidates
        // are tried only to report the most helpful error (the one that got furthest).
        let mut best: Option<ThresholdError> = None;
        let mut keep = |err: ThresholdError| {
            if best.as_ref().is_none_or(|b| err.stage() > b.stage()) {
                best = Some(err);
            }
        };
        for (at, _) in expr.char_indices().rev().filter(|&(_, c)| c == ':') {
            let (scope, rest) = (expr[..at].trim(), &expr[at + 1..]);
            match parse_condition(expr, rest) {
                Ok(_) if scope.is_empty() => keep(ThresholdError::EmptyScope {
                    expr: expr.to_owned(),
                }),
                Ok((metric, op, value)) => {
                    return Ok(Threshold {
                        expr: expr.to_owned(),
                        scope: Some(Scope(scope.to_owned())),
                        metric,
                        op,
                        value,
                        abort_on_fail: false,
                    })
                }
                Err(err) => keep(err),
            }
        }
        match parse_condition(expr, expr) {
            Ok((metric, op, value)) => Ok(Threshold {
                expr: expr.to_owned(),
                scope: None,
                metric,
                op,
                value,
                abort_on_fail: false,
            }),
            Err(err) => {
                keep(err);
                Err(best.unwrap_or(ThresholdError::Empty {
                    expr: expr.to_owned(),
                }))
            }
        }
    }

    /// Set whether a failure of this threshold should stop the run early.
    #[must_use]
    pub fn abort_on_fail(mut self, abort: bool) -> Self {
        self.abort_on_fail = abort;
        self
    }

    /// Check the threshold against a snapshot.
    ///
    /// Without a scope it measures [`Snapshot::aggregated`]; with one, the selected entries
    /// merged. It fails when the scope selects no entry, or when a latency metric or
    /// `fail_ratio` has no request to measure.
    pub fn evaluate(&self, snap: &Snapshot) -> ThresholdResult {
        let entry = match &self.scope {
            None => snap.aggregated(),
            Some(scope) => match scope.select(snap) {
                Some(entry) => entry,
                None => return self.result(None, scope.no_match(snap)),
            },
        };
        match self.metric.measure(&entry, snap.duration_secs) {
            Ok(measured) => self.result(Some(measured), self.metric.format(measured)),
            Err(why) => self.result(None, why.to_owned()),
        }
    }

    fn result(&self, measured: Option<f64>, message: String) -> ThresholdResult {
        ThresholdResult {
            expr: self.expr.clone(),
            passed: measured.is_some_and(|m| self.op.holds(m, self.value)),
            measured,
            unit: self.metric.unit().to_owned(),
            message,
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Threshold::parse(s)
    }
}

impl fmt::Display for Threshold {
    /// The expression as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Check every threshold against a snapshot, in order.
pub fn evaluate_all(thresholds: &[Threshold], snap: &Snapshot) -> Vec<ThresholdResult> {
    thresholds.iter().map(|t| t.evaluate(snap)).collect()
}

/// The outcome of one [`Threshold`] checked against a snapshot.
///
/// Displays as `PASS p95 < 200ms: 153.2ms` or `FAIL GET /x: p95 < 200ms: no entry matched
/// "GET /x" (entries: GET /y)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThresholdResult {
    /// The threshold's expression.
    pub expr: String,
    /// Whether the objective holds.
    pub passed: bool,
    /// The measured value, in [`unit`](Self::unit); `None` when the scope matched no
    /// entry, or a latency metric or `fail_ratio` had no request to measure.
    pub measured: Option<f64>,
    /// The unit of `measured`: `ms` (latencies), `ratio` (`fail_ratio`, 0 ..= 1), `req/s`
    /// (`rps`), `fails/s` (`fails_per_sec`) or empty (counts).
    pub unit: String,
    /// The measured value for people (`153.2ms`, `0.5%`, `12.5 req/s`), or why there is
    /// none (`no requests`, `no entry matched "GET /x" ...`).
    pub message: String,
}

impl fmt::Display for ThresholdResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict} {}: {}", self.expr, self.message)
    }
}

/// A threshold expression that does not parse. Every message quotes the whole expression
/// and then the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThresholdError {
    /// The expression is empty.
    #[error("invalid threshold {expr:?}: empty expression (expected e.g. \"p95 < 250ms\")")]
    Empty {
        /// The expression.
        expr: String,
    },
    /// Nothing stands before the `:` that ends a scope.
    #[error(
        "invalid threshold {expr:?}: nothing before ':' (expected an entry such as \
         \"GET /status: p95 < 250ms\", or no ':' for the whole run)"
    )]
    EmptyScope {
        /// The expression.
        expr: String,
    },
    /// There is no metric before the operator.
    #[error("invalid threshold {expr:?}: missing metric (expected one of {METRICS})")]
    MissingMetric {
        /// The expression.
        expr: String,
    },
    /// The metric is not one of the known metrics.
    #[error(
        "invalid threshold {expr:?}: unknown metric {metric:?} (expected one of {METRICS}){}",
        scope_hint(.metric)
    )]
    UnknownMetric {
        /// The expression.
        expr: String,
        /// The metric as written.
        metric: String,
    },
    /// There is no comparison operator.
    #[error("invalid threshold {expr:?}: missing operator (expected one of {OPERATORS})")]
    MissingOperator {
        /// The expression.
        expr: String,
    },
    /// The comparison operator is not one of the known operators.
    #[error(
        "invalid threshold {expr:?}: {op:?} is not an operator (expected one of {OPERATORS}){}",
        op_hint(.op)
    )]
    UnknownOperator {
        /// The expression.
        expr: String,
        /// The operator as written.
        op: String,
    },
    /// There is no value after the operator.
    #[error("invalid threshold {expr:?}: missing value after {op:?}")]
    MissingValue {
        /// The expression.
        expr: String,
        /// The operator.
        op: String,
    },
    /// The value does not fit the metric (not a number, wrong unit, out of range).
    #[error("invalid threshold {expr:?}: {value:?} {reason}")]
    InvalidValue {
        /// The expression.
        expr: String,
        /// The value as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
}

impl ThresholdError {
    /// The expression that failed to parse.
    pub fn expr(&self) -> &str {
        match self {
            ThresholdError::Empty { expr }
            | ThresholdError::EmptyScope { expr }
            | ThresholdError::MissingMetric { expr }
            | ThresholdError::UnknownMetric { expr, .. }
            | ThresholdError::MissingOperator { expr }
            | ThresholdError::UnknownOperator { expr, .. }
            | ThresholdError::MissingValue { expr, .. }
            | ThresholdError::InvalidValue { expr, .. } => expr,
        }
    }

    /// How far parsing got: of the ways to split a scope, the error of the one that got
    /// furthest is the most helpful.
    fn stage(&self) -> u8 {
        match self {
            ThresholdError::Empty { .. } => 0,
            ThresholdError::MissingOperator { .. } => 1,
            ThresholdError::MissingMetric { .. } | ThresholdError::UnknownMetric { .. } => 2,
            ThresholdError::UnknownOperator { .. } => 3,
            ThresholdError::MissingValue { .. } => 4,
            ThresholdError::InvalidValue { .. } => 5,
            ThresholdError::EmptyScope { .. } => 6,
        }
    }
}

fn scope_hint(metric: &str) -> String {
    match metric.rsplit_once(char::is_whitespace) {
        Some((scope, last)) if parse_metric(last).is_some() => format!(
            "; a scope ends with ':', as in \"{}: {} ...\"",
            scope.trim(),
            last
        ),
        _ => String::new(),
    }
}

fn op_hint(op: &str) -> &'static str {
    match op {
        "=" => "; did you mean \"==\"?",
        "=<" => "; did you mean \"<=\"?",
        "=>" => "; did you mean \">=\"?",
        "<>" | "=!" => "; did you mean \"!=\"?",
        _ => "",
    }
}

/// Parse `METRIC OP VALUE` (the part after the scope) of the expression `expr`.
fn parse_condition(expr: &str, text: &str) -> Result<(Metric, Op, f64), ThresholdError> {
    const OP_CHARS: [char; 4] = ['<', '>', '=', '!'];
    let Some(op_start) = text.find(OP_CHARS) else {
        return Err(ThresholdError::MissingOperator {
            expr: expr.to_owned(),
        });
    };
    let op_end = text[op_start..]
        .find(|c: char| !OP_CHARS.contains(&c))
        .map_or(text.len(), |n| op_start + n);
    let (metric_text, op_text, value_text) = (
        text[..op_start].trim(),
        &text[op_start..op_end],
        text[op_end..].trim(),
    );

    if metric_text.is_empty() {
        return Err(ThresholdError::MissingMetric {
            expr: expr.to_owned(),
        });
    }
    let metric = parse_metric(metric_text).ok_or_else(|| ThresholdError::UnknownMetric {
        expr: expr.to_owned(),
        metric: metric_text.to_owned(),
    })?;
    let op = Op::parse(op_text).ok_or_else(|| ThresholdError::UnknownOperator {
        expr: expr.to_owned(),
        op: op_text.to_owned(),
    })?;
    if value_text.is_empty() {
        return Err(ThresholdError::MissingValue {
            expr: expr.to_owned(),
            op: op_text.to_owned(),
        });
    }
    let value = parse_value(metric, value_text).map_err(|reason| ThresholdError::InvalidValue {
        expr: expr.to_owned(),
        value: value_text.to_owned(),
        reason,
    })?;
    Ok((metric, op, value))
}

fn parse_metric(text: &str) -> Option<Metric> {
    let lower = text.to_ascii_lowercase();
    Some(match lower.as_str() {
        "med" | "median" => Metric::Percentile(50.0),
        "avg" => Metric::Avg,
        "min" => Metric::Min,
        "max" => Metric::Max,
        "fail_ratio" => Metric::FailRatio,
        "rps" => Metric::Rps,
        "requests" => Metric::Requests,
        "failures" => Metric::Failures,
        "fails_per_sec" => Metric::FailsPerSec,
        other => {
            let digits = other.strip_prefix('p')?;
            let p = parse_number(digits)?;
            if p > 100.0 {
                return None;
            }
            Metric::Percentile(p)
        }
    })
}

/// A plain decimal number: digits with at most one '.', no sign, no exponent.
fn parse_number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1;
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The value in the metric's base unit, or why it is rejected (a phrase following the
/// quoted value).
fn parse_value(metric: Metric, text: &str) -> Result<f64, String> {
    let class = metric.class();
    let not_a = || {
        match class {
            Class::Time => "is not a duration (expected e.g. 250ms, 1s)",
            Class::Ratio => "is not a ratio (expected e.g. 0.01 or 1%)",
            Class::Count | Class::Rate => "is not a number (expected e.g. 100)",
        }
        .to_owned()
    };
    if text.starts_with('-') {
        return Err("is negative (a threshold value is at least 0)".to_owned());
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let number = parse_number(number).ok_or_else(not_a)?;
    let unit = unit.to_lowercase();
    match class {
        Class::Time => {
            let scale = match unit.as_str() {
                "us" | "µs" | "μs" => 0.001,
                "" | "ms" => 1.0,
                "s" => 1_000.0,
                "m" => 60_000.0,
                _ => return Err(not_a()),
            };
            let ms = number * scale;
            if ms.is_finite() {
                Ok(ms)
            } else {
                Err(not_a())
            }
        }
        Class::Ratio => match unit.as_str() {
            "" if number <= 1.0 => Ok(number),
            "" => Err(format!(
                "is not a ratio: a ratio goes from 0 to 1 (write {}% for a percent)",
                fmt_num(number)
            )),
            "%" if number <= 100.0 => Ok(number / 100.0),
            "%" => Err("is more than 100%".to_owned()),
            _ => Err(not_a()),
        },
        Class::Count | Class::Rate if unit.is_empty() => Ok(number),
        Class::Count | Class::Rate => Err(format!(
            "has a unit, but {} takes a plain number (e.g. 100)",
            metric.name()
        )),
    }
}

/// The entries a threshold checks.
#[derive(Debug, Clone, PartialEq)]
struct Scope(String);

impl Scope {
    /// The selected entries merged, or `None` when none is selected.
    fn select(&self, snap: &Snapshot) -> Option<EntrySnapshot> {
        let text = self.0.as_str();
        let by_kind: Vec<&EntrySnapshot> = match text.split_once(char::is_whitespace) {
            Some((kind, name)) => {
                let name = name.trim_start();
                snap.entries
                    .iter()
                    .filter(|e| e.kind.eq_ignore_ascii_case(kind) && e.name == name)
                    .collect()
            }
            None => Vec::new(),
        };
        let selected = if by_kind.is_empty() {
            snap.named(text).collect()
        } else {
            by_kind
        };
        if selected.is_empty() {
            return (text == "Aggregated").then(|| snap.aggregated());
        }
        let mut merged = EntrySnapshot::empty(selected[0].kind.clone(), text);
        for e in selected {
            merged.merge(e);
        }
        Some(merged)
    }

    fn no_match(&self, snap: &Snapshot) -> String {
        let mut msg = format!("no entry matched {:?}", self.0);
        if snap.entries.is_empty() {
            msg.push_str(" (the run recorded no entry)");
            return msg;
        }
        let names: Vec<String> = snap
            .entries
            .iter()
            .take(LISTED_ENTRIES)
            .map(|e| format!("{} {}", e.kind, e.name).trim().to_owned())
            .collect();
        msg.push_str(" (entries: ");
        msg.push_str(&names.join(", "));
        if snap.entries.len() > LISTED_ENTRIES {
            msg.push_str(", ...");
        }
        msg.push(')');
        msg
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    /// A latency percentile, 0 ..= 100.
    Percentile(f64),
    Avg,
    Min,
    Max,
    FailRatio,
    Rps,
    Requests,
    Failures,
    FailsPerSec,
}

/// The kinds of values, by their units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Time,
    Ratio,
    Count,
    Rate,
}

impl Metric {
    fn class(self) -> Class {
        match self {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => Class::Time,
            Metric::FailRatio => Class::Ratio,
            Metric::Requests | Metric::Failures => Class::Count,
            Metric::Rps | Metric::FailsPerSec => Class::Rate,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Metric::Percentile(_) => "a percentile",
            Metric::Avg => "avg",
            Metric::Min => "min",
            Metric::Max => "max",
            Metric::FailRatio => "fail_ratio",
            Metric::Rps => "rps",
            Metric::Requests => "requests",
            Metric::Failures => "failures",
            Metric::FailsPerSec => "fails_per_sec",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => "ms",
            Metric::FailRatio => "ratio",
            Metric::Rps => "req/s",
            Metric::FailsPerSec => "fails/s",
            Metric::Requests | Metric::Failures => "",
        }
    }

    /// The value of the metric for an entry, in its unit, or why there is none.
    fn measure(self, e: &EntrySnapshot, duration_secs: f64) -> Result<f64, &'static str> {
        let needs_requests = matches!(self.class(), Class::Time | Class::Ratio);
        if needs_requests && e.requests == 0 {
            return Err("no requests");
        }
        let per_sec = |n: u64| {
            if duration_secs > 0.0 {
                Ok(n as f64 / duration_secs)
            } else {
                Err("the run has no duration yet")
            }
        };
        match self {
            Metric::Percentile(p) => e.percentile_ms(p / 100.0).ok_or("no latency recorded"),
            Metric::Avg => Ok(e.avg_ms()),
            Metric::Min => Ok(e.min_us as f64 / 1000.0),
            Metric::Max => Ok(e.max_us as f64 / 1000.0),
            Metric::FailRatio => Ok(e.fail_ratio()),
            Metric::Rps => per_sec(e.requests),
            Metric::FailsPerSec => per_sec(e.failures),
            Metric::Requests => Ok(e.requests as f64),
            Metric::Failures => Ok(e.failures as f64),
        }
    }

    /// A measured value for people.
    fn format(self, v: f64) -> String {
        match self.class() {
            Class::Time => format!("{}ms", fmt_num(v)),
            Class::Ratio => format!("{}%", fmt_num(v * 100.0)),
            Class::Count => fmt_num(v),
            Class::Rate => format!("{} {}", fmt_num(v), self.unit()),
        }
    }
}

/// A number with at most three decimals, without trailing zeros.
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }

    /// Whether `measured OP limit` holds; values within a relative 1e-9 are equal, so that
    /// unit conversions (`0.25s` = `250ms`) do not tip a comparison.
    fn holds(self, measured: f64, limit: f64) -> bool {
        let eq = (measured - limit).abs() <= 1e-9 * measured.abs().max(limit.abs());
        match self {
            Op::Lt => !eq && measured < limit,
            Op::Le => eq || measured < limit,
            Op::Gt => !eq && measured > limit,
            Op::Ge => eq || measured > limit,
            Op::Eq => eq,
            Op::Ne => !eq,
        }
    }
}

/// How a [`Threshold`] is (de)serialised: its expression, re-parsed on the way in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Expr(String),
    Full(FullRepr),
}

/// The long form of a [`Threshold`]: `{ expr, abort_on_fail }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FullRepr {
    expr: String,
    #[serde(default)]
    abort_on_fail: bool,
}

impl TryFrom<Repr> for Threshold {
    type Error = ThresholdError;

    fn try_from(repr: Repr) -> Result<Self, Self::Error> {
        match repr {
            Repr::Expr(expr) => Threshold::parse(&expr),
            Repr::Full(full) => Ok(Threshold::parse(&full.expr)?.abort_on_fail(full.abort_on_fail)),
        }
    }
}

impl From<Threshold> for Repr {
    fn from(t: Threshold) -> Self {
        if t.abort_on_fail {
            Repr::Full(FullRepr {
                expr: t.expr,
                abort_on_fail: true,
            })
        } else {
            Repr::Expr(t.expr)
        }
    }
}

#[cfg(test)]
mod tests;
