//! Any text given to `Invitation::parse` yields an invitation or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = swarm_aries::Invitation::parse(text);
    }
});
