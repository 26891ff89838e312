//! Any bytes given to `unpack` yield a message or an error, never a panic. The input is also
//! tried as the payload of a real envelope, so the decryption paths are reached too.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use swarm_aries::{pack_bytes, unpack, AgentKey};

fn keys() -> &'static (AgentKey, AgentKey) {
    static KEYS: OnceLock<(AgentKey, AgentKey)> = OnceLock::new();
    KEYS.get_or_init(|| (AgentKey::from_seed(&[1; 32]), AgentKey::from_seed(&[2; 32])))
}

fuzz_target!(|data: &[u8]| {
    let (ours, theirs) = keys();
    let _ = unpack(data, ours);
    if let Ok(envelope) = pack_bytes(data, &[ours.verkey()], Some(theirs)) {
        let _ = unpack(&envelope, ours);
    }
});
