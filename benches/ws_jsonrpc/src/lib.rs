//! Helpers shared by the programs of `benches/ws_jsonrpc.sh`.

/// The CPU time (user + system) this process has used so far, in clock ticks
/// (`getconf CLK_TCK` per second), from `/proc/self/stat`; 0 when it cannot be read.
pub fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces): utime is the 12th,
    // stime the 13th.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// Positional argument `i` (after the program name) parsed, or `default`.
pub fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Positional argument `i` as text, or exit with `usage`.
pub fn arg_str(i: usize, usage: &str) -> String {
    std::env::args().nth(i).unwrap_or_else(|| {
        eprintln!("usage: {usage}");
        std::process::exit(2)
    })
}
