//! The console during a run: on a terminal (a pseudo-terminal from `script`), a live view
//! redrawn in place with the users, rates and busiest entries; without one, plain
//! progress lines every five seconds and no escape sequences.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{code, example, run_bounded};

#[test]
fn on_a_terminal_the_view_is_redrawn_in_place_with_the_busiest_entries() {
    let exe = example("http_basic").get_program().to_owned();
    let line = format!("{} -u 3 -r 3 -t 4s", exe.to_string_lossy());
    let mut cmd = Command::new("script");
    // -q quiet, -f flush, -e the child's exit code, -c the command; the typescript is
    // discarded: what the terminal showed comes on script's stdout.
    cmd.args(["-qfec", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = run_bounded(&mut cmd, Duration::from_secs(60));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(out.status), 0, "{shown}");
    assert!(
        shown.contains("users 3/3 | now "),
        "the users and rates:\n{shown}"
    );
    assert!(shown.contains("# reqs"), "the entries table:\n{shown}");
    assert!(
        shown.contains("/index.html?ok=[random]"),
        "an entry:\n{shown}"
    );
    assert!(
        shown.contains("\x1b["),
        "drawn with escape sequences:\n{shown}"
    );
    // The final summary follows the view.
    let summary = shown
        .rfind("Response time percentiles")
        .expect("the summary");
    assert!(shown.rfind("users 3/3 | now ").unwrap() < summary);
}

#[test]
fn without_a_terminal_progress_comes_as_plain_lines() {
    let mut cmd = example("http_basic");
    cmd.args(["-u", "2", "-r", "2", "-t", "6s"]);
    let out = run_bounded(&mut cmd, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), 0, "{err}");
    assert!(!err.contains('\x1b'), "no escape sequences:\n{err}");
    assert!(
        err.contains("[    5s] users 2/2"),
        "a progress line:\n{err}"
    );
}
