//! Number formats of Locust's reports.

/// Python's `repr` of a float: the shortest text that reads back exactly, `.0` on whole
/// numbers, exponent form below 1e-4 and from 1e16.
pub(crate) fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let a = x.abs();
    if !(1e-4..1e16).contains(&a) {
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

/// Python's `round(x)`: to the nearest integer, halves to even.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// Locust's `bucket_response_time`: two significant digits, in milliseconds.
pub(crate) fn bucket_ms(ms: f64) -> i64 {
    let step = if ms < 100.0 {
        1.0
    } else if ms < 1000.0 {
        10.0
    } else if ms < 10_000.0 {
        100.0
    } else {
        1000.0
    };
    (round_half_even(ms / step) * step) as i64
}

/// A bucketed percentile, or `N/A`.
pub(crate) fn percentile_cell(ms: Option<f64>) -> String {
    ms.map_or_else(|| "N/A".to_owned(), |v| bucket_ms(v).to_string())
}

/// Locust's median column: the bucketed median clamped to the raw min and max (then
/// shown as the raw float), `0` with no request.
pub(crate) fn median_cell(median_ms: Option<f64>, min_ms: f64, max_ms: f64) -> String {
    let Some(m) = median_ms else {
        return "0".to_owned();
    };
    let b = bucket_ms(m) as f64;
    if b > max_ms {
        py_float(max_ms)
    } else if b < min_ms {
        py_float(min_ms)
    } else {
        format!("{}", b as i64)
    }
}

/// A CSV field, quoted as Python's csv module does (excel dialect).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python() {
        assert_eq!(py_float(597.0), "597.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1.902829143590423), "1.902829143590423");
        assert_eq!(py_float(0.329), "0.329");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(1.5e16), "1.5e+16");
        assert_eq!(py_float(0.0001), "0.0001");
    }

    #[test]
    fn buckets_like_locust() {
        assert_eq!(bucket_ms(2.5), 2);
        assert_eq!(bucket_ms(3.5), 4);
        assert_eq!(bucket_ms(29.51), 30);
        assert_eq!(bucket_ms(145.0), 140);
        assert_eq!(bucket_ms(155.0), 160);
        assert_eq!(bucket_ms(1234.0), 1200);
        assert_eq!(bucket_ms(12_345.0), 12_000);
        assert_eq!(bucket_ms(0.3), 0);
    }

    #[test]
    fn median_clamps() {
        assert_eq!(median_cell(Some(0.3), 0.3, 0.3), "0.3");
        assert_eq!(median_cell(Some(1.2), 0.3, 29.5), "1");
        assert_eq!(median_cell(None, 0.0, 0.0), "0");
    }

    #[test]
    fn quoting() {
        assert_eq!(csv_field("/a"), "/a");
        assert_eq!(csv_field("/b,\"x\""), "\"/b,\"\"x\"\"\"");
    }
}
