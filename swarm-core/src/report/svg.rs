//! Line charts as inline SVG, drawn when the report is written: the HTML report needs no
//! script and no network to show them.

use std::fmt::Write as _;

use super::junit::escape;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// One line of a chart: a name, a colour and its `(seconds since start, value)` points;
/// a `None` value breaks the line.
#[derive(Debug)]
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) color: &'a str,
    pub(crate) points: Vec<(f64, Option<f64>)>,
}

/// A chart with its title, the unit of its y axis and its lines. `id` names it in the
/// DOM (`data-chart`).
pub(crate) fn line_chart(id: &str, title: &str, unit: &str, series: &[Series<'_>]) -> String {
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1));
    let y_max = nice_ceiling(values.fold(0.0_f64, f64::max));
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |t: f64| LEFT + t / x_max * w;
    let y = |v: f64| TOP + h - v / y_max * h;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(id),
        escape(title)
    );
    let _ = write!(
        svg,
        "<text x=\"{LEFT}\" y=\"18\" class=\"title\">{} ({})</text>",
        escape(title),
        escape(unit)
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            LEFT + w,
            LEFT - 6.0,
            yy + 4.0,
            fmt_tick(v)
        );
    }
    let step = nice_ceiling(x_max / 5.0).max(1.0);
    for t in (0..=5)
        .map(|i| step * f64::from(i))
        .filter(|&t| t <= x_max + 1e-9)
    {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            x(t),
            TOP + h + 18.0,
            fmt_secs(t)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for &(t, v) in &s.points {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}",
                        if pen_down { " L" } else { " M" },
                        x(t),
                        y(v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            "<path class=\"series\" data-series=\"{}\" d=\"{}\" stroke=\"{}\" fill=\"none\" stroke-width=\"2\"/>",
            escape(s.name),
            d.trim_start(),
            escape(s.color)
        );
        let lx = LEFT + 10.0 + 150.0 * i as f64;
        let _ = write!(
            svg,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"legend\">{}</text>",
            HEIGHT - 8.0,
            escape(s.color),
            lx + 16.0,
            HEIGHT - 3.0,
            escape(s.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `v` (1 for nothing).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

/// A tick label: a quarter of a round axis end (3.75, 0.125, 62.5) is shown as it is,
/// not rounded to a value the grid line is not at.
fn fmt_tick(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn fmt_secs(t: f64) -> String {
    let s = t.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(0.21), 0.25);
        assert_eq!(nice_ceiling(2000.0), 2000.0);
    }

    #[test]
    fn ticks_are_where_their_grid_lines_are() {
        assert_eq!(fmt_tick(3.75), "3.75");
        assert_eq!(fmt_tick(1.25), "1.25");
        assert_eq!(fmt_tick(62.5), "62.5");
        assert_eq!(fmt_tick(0.125), "0.125");
        assert_eq!(fmt_tick(0.0625), "0.0625");
        assert_eq!(fmt_tick(250.0), "250");
        assert_eq!(fmt_tick(2.0), "2");
    }

    #[test]
    fn a_missing_value_breaks_the_line() {
        let svg = line_chart(
            "rps",
            "Requests",
            "req/s",
            &[Series {
                name: "rps",
                color: "#1f77b4",
                points: vec![
                    (0.0, Some(1.0)),
                    (1.0, None),
                    (2.0, Some(2.0)),
                    (3.0, Some(2.0)),
                ],
            }],
        );
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
    }
}
