//! The live view of a command-line run on a terminal: a progress bar of the run time,
//! the users and rates, and the busiest entries, redrawn in place every second
//! (indicatif). When stderr is not a terminal the run prints a progress line every
//! five seconds instead (see `run_cli`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use crate::runner::{RunState, RunnerHandle};
use crate::stats::{EntrySnapshot, Snapshot};

/// How many entries the view lists, the busiest first.
const TOP: usize = 8;

/// Start drawing; the task ends (and clears the view) when the run begins to stop.
pub(crate) fn spawn(handle: RunnerHandle, run_time: Option<Duration>) -> JoinHandle<()> {
    let bar = match run_time {
        Some(t) => ProgressBar::new(t.as_secs().max(1)),
        None => ProgressBar::new_spinner(),
    };
    let template = match run_time {
        Some(_) => "[{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len}s\n{msg}",
        None => "[{elapsed_precise}] {spinner} running until stopped (Ctrl-C)\n{msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last: HashMap<(String, String), u64> = HashMap::new();
        let mut status = handle.status();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = status.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            if matches!(
                status.borrow().state,
                RunState::Stopping | RunState::Stopped
            ) {
                break;
            }
            let Some(snap) = handle.snapshot().await else {
                break;
            };
            let (users, target) = {
                let s = status.borrow();
                (s.users, s.target_users)
            };
            bar.set_position(snap.duration_secs as u64);
            bar.set_message(render(&snap, users, target, &mut last));
            bar.tick();
        }
        bar.finish_and_clear();
    })
}

/// The lines under the bar. `last` holds each entry's request count at the previous
/// draw, for the current rate.
fn render(
    snap: &Snapshot,
    users: u32,
    target: u32,
    last: &mut HashMap<(String, String), u64>,
) -> String {
    let total = snap.aggregated();
    let mut now_rps = 0;
    let mut rows: Vec<(&EntrySnapshot, u64)> = snap
        .entries
        .iter()
        .map(|e| {
            let key = (e.kind.clone(), e.name.clone());
            let before = last.insert(key, e.requests).unwrap_or(0);
            let rate = e.requests.saturating_sub(before);
            now_rps += rate;
            (e, rate)
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0.requests));
    let mut out = format!(
        "users {users}/{target} | now {now_rps} req/s | total {} req, {} fail ({:.2}%) | avg {:.1} req/s",
        total.requests,
        total.failures,
        total.fail_ratio() * 100.0,
        snap.total_rps()
    );
    let _ = write!(
        out,
        "\n{:<8} {:<44} {:>9} {:>7} {:>7} {:>8} {:>8}",
        "Type", "Name", "# reqs", "# fails", "req/s", "p50 ms", "p95 ms"
    );
    let ms = |v: Option<f64>| v.map_or("N/A".to_owned(), |v| format!("{v:.1}"));
    for (e, rate) in rows.iter().take(TOP) {
        let mut name = e.name.clone();
        if name.chars().count() > 44 {
            name = name.chars().take(41).collect::<String>() + "...";
        }
        let _ = write!(
            out,
            "\n{:<8} {:<44} {:>9} {:>7} {:>7} {:>8} {:>8}",
            e.kind,
            name,
            e.requests,
            e.failures,
            rate,
            ms(e.percentile_ms(0.5)),
            ms(e.percentile_ms(0.95)),
        );
    }
    if rows.len() > TOP {
        let _ = write!(out, "\n... and {} more entries", rows.len() - TOP);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, requests: u64) -> EntrySnapshot {
        let mut e = EntrySnapshot::empty("GET", name);
        for _ in 0..requests {
            e.histogram.record(2_000).unwrap();
        }
        e.requests = requests;
        e.total_us = 2_000 * requests;
        e.min_us = 2_000;
        e.max_us = 2_000;
        e
    }

    #[test]
    fn lists_the_busiest_entries_with_their_current_rate() {
        let mut snap = Snapshot::empty();
        snap.duration_secs = 2.0;
        snap.entries = (0..10).map(|i| entry(&format!("/e{i}"), 10 + i)).collect();
        let mut last = HashMap::new();
        render(&snap, 3, 5, &mut last);
        for e in &mut snap.entries {
            e.requests += 4;
        }
        let text = render(&snap, 3, 5, &mut last);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("users 3/5 | now 40 req/s | total 185 req"),
            "{text}"
        );
        assert!(
            lines[2].contains("/e9") && lines[2].contains("23"),
            "{text}"
        );
        assert_eq!(lines.len(), 2 + TOP + 1, "{text}");
        assert_eq!(lines.last(), Some(&"... and 2 more entries"));
        assert!(lines[2].ends_with("2.0"), "p95 of 2 ms: {text}");
    }
}
