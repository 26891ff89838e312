//! The README's command-line table is checked against the real command line: every flag
//! it lists exists, with the short flag and the `SWARM_*` variable it gives (or none when
//! it gives none), and every flag of the command is listed.

use std::collections::BTreeMap;
use std::path::Path;

use swarm_core::cli::Args;

/// One flag as the table documents it.
#[derive(Debug, Default, PartialEq)]
struct Documented {
    short: Option<char>,
    env: Option<String>,
}

/// The rows of the first table under `## Command line`, as (flag cell, env cell).
fn table_rows(readme: &str) -> Vec<(String, String)> {
    let section = readme
        .split_once("\n## Command line\n")
        .expect("the README has a `## Command line` section")
        .1;
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the |---| line
        .collect();
    assert!(rows.len() > 10, "the table has rows: {rows:?}");
    rows.iter()
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            assert!(cells.len() >= 4, "a row of three cells: {row}");
            (cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

fn words(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Long flag (or `USER_TYPE` for the positional) -> what the table says of it.
fn documented(readme: &str) -> BTreeMap<String, Documented> {
    let mut out = BTreeMap::new();
    for (flags, envs) in table_rows(readme) {
        let mut longs = Vec::new();
        let mut short = None;
        for w in words(&flags) {
            if let Some(long) = w.strip_prefix("--") {
                longs.push((long.to_owned(), short.take()));
            } else if let Some(s) = w.strip_prefix('-') {
                assert_eq!(s.len(), 1, "a short flag is one letter: {flags}");
                short = s.chars().next();
            } else if w == "USER_TYPE" {
                longs.push((w.to_owned(), None));
            }
        }
        assert!(
            short.is_none(),
            "a short flag without its long one: {flags}"
        );
        let envs: Vec<&str> = words(&envs).filter(|w| w.starts_with("SWARM_")).collect();
        assert!(
            envs.is_empty() || envs.len() == longs.len(),
            "a row gives one variable per flag, or none: {flags} | {envs:?}"
        );
        for (i, (long, short)) in longs.into_iter().enumerate() {
            let doc = Documented {
                short,
                env: envs.get(i).map(|e| (*e).to_owned()),
            };
            assert!(
                out.insert(long.clone(), doc).is_none(),
                "--{long} is in the table twice"
            );
        }
    }
    out
}

/// The same, from the command line's definition.
fn actual() -> BTreeMap<String, Documented> {
    let cmd = <Args as clap::Args>::augment_args(clap::Command::new("swarm"));
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .map(|a| {
            let name = match a.get_long() {
                Some(long) => long.to_owned(),
                None => a
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map(ToString::to_string)
                    .expect("a positional has a value name"),
            };
            let doc = Documented {
                short: a.get_short(),
                env: a.get_env().map(|e| e.to_string_lossy().into_owned()),
            };
            (name, doc)
        })
        .collect()
}

#[test]
fn the_readme_table_matches_the_command_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("the workspace README");
    let documented = documented(&readme);
    let actual = actual();
    for (flag, doc) in &documented {
        let Some(real) = actual.get(flag) else {
            panic!("the README lists --{flag}, which the command does not have");
        };
        assert_eq!(doc, real, "--{flag}: README (left) vs command (right)");
    }
    for flag in actual.keys() {
        assert!(
            documented.contains_key(flag),
            "--{flag} is missing from the README's command-line table"
        );
    }
}

#[test]
fn the_table_reader_sees_what_is_written() {
    let readme = "# x\n\n## Command line\n\n| flag | env | meaning |\n|---|---|---|\n\
                  | `-u, --users N` | `SWARM_USERS` | a |\n\
                  | `--a`, `--b T` | `SWARM_A`, `SWARM_B` | b |\n\
                  | `-l, --list` | | c |\n\
                  | `USER_TYPE...` | | d |\n\
                  | **group** | | e |\n| `--c` | | f |\n| `--d` | | g |\n| `--e` | | h |\n\
                  | `--f` | | i |\n| `--g` | | j |\n| `--h` | | k |\n\nafter\n| `--z` | | |\n";
    let doc = documented(readme);
    assert_eq!(doc.len(), 11, "{doc:?}");
    assert_eq!(
        doc["users"],
        Documented {
            short: Some('u'),
            env: Some("SWARM_USERS".into())
        }
    );
    assert_eq!(doc["b"].env.as_deref(), Some("SWARM_B"));
    assert_eq!(doc["list"].short, Some('l'));
    assert_eq!(doc["list"].env, None);
    assert!(doc.contains_key("USER_TYPE") && !doc.contains_key("z"));
}
