//! Parsing a threshold expression, and the errors that point at its bad part.

use super::metric::{fmt_num, Class, Limit, Metric, Op};
use super::{METRICS, OPERATORS};

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
    /// A threshold relative to the baseline (`p95 < baseline * 1.1`) cannot be set:
    /// there is no baseline, or it has no value for the threshold's scope and metric.
    #[error("threshold {expr:?} is relative to the baseline, but {reason}")]
    Baseline {
        /// The expression.
        expr: String,
        /// Why it cannot be set.
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
            | ThresholdError::InvalidValue { expr, .. }
            | ThresholdError::Baseline { expr, .. } => expr,
        }
    }

    /// How far parsing got: of the ways to split a scope, the error of the one that got
    /// furthest is the most helpful.
    pub(super) fn stage(&self) -> u8 {
        match self {
            ThresholdError::Empty { .. } => 0,
            ThresholdError::MissingOperator { .. } => 1,
            ThresholdError::MissingMetric { .. } | ThresholdError::UnknownMetric { .. } => 2,
            ThresholdError::UnknownOperator { .. } => 3,
            ThresholdError::MissingValue { .. } => 4,
            ThresholdError::InvalidValue { .. } => 5,
            ThresholdError::EmptyScope { .. } => 6,
            ThresholdError::Baseline { .. } => 7,
        }
    }
}

pub(super) fn scope_hint(metric: &str) -> String {
    match metric.rsplit_once(char::is_whitespace) {
        Some((scope, last)) if parse_metric(last).is_some() => format!(
            "; a scope ends with ':', as in \"{}: {} ...\"",
            scope.trim(),
            last
        ),
        _ => String::new(),
    }
}

pub(super) fn op_hint(op: &str) -> &'static str {
    match op {
        "=" => "; did you mean \"==\"?",
        "=<" => "; did you mean \"<=\"?",
        "=>" => "; did you mean \">=\"?",
        "<>" | "=!" => "; did you mean \"!=\"?",
        _ => "",
    }
}

/// Parse `METRIC OP VALUE` (the part after the scope) of the expression `expr`.
pub(super) fn parse_condition(
    expr: &str,
    text: &str,
) -> Result<(Metric, Op, Limit), ThresholdError> {
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
    let value = parse_limit(metric, value_text).map_err(|reason| ThresholdError::InvalidValue {
        expr: expr.to_owned(),
        value: value_text.to_owned(),
        reason,
    })?;
    Ok((metric, op, value))
}

pub(super) fn parse_metric(text: &str) -> Option<Metric> {
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
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1;
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The limit: `baseline`, `baseline * FACTOR`, or a value (see [`parse_value`]).
pub(super) fn parse_limit(metric: Metric, text: &str) -> Result<Limit, String> {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("baseline") else {
        return parse_value(metric, text).map(Limit::Fixed);
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(Limit::Baseline { factor: 1.0 });
    }
    let bad = || "is not a baseline limit (expected baseline or baseline * 1.1)".to_owned();
    let factor = rest.strip_prefix('*').ok_or_else(bad)?.trim();
    match parse_number(factor) {
        Some(f) => Ok(Limit::Baseline { factor: f }),
        None => Err(bad()),
    }
}

/// The value in the metric's base unit, or why it is rejected (a phrase following the
/// quoted value).
pub(super) fn parse_value(metric: Metric, text: &str) -> Result<f64, String> {
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
