//! Just enough of the contract ABI for load tests: calls whose arguments are static
//! 32-byte words (`uint256`, `address`, `bool`, `bytes32`), a `uint256` result, and a
//! small storage contract to deploy.
//!
//! For dynamic types (strings, arrays) build the call data yourself, or with
//! `alloy-dyn-abi`, and pass it to [`Eth::call`](crate::Eth::call) /
//! [`Eth::transact`](crate::Eth::transact).

use alloy_primitives::{keccak256, Address, Bytes, U256};

/// A static ABI argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// `uint256` (and the smaller `uintN`).
    Uint(U256),
    /// `address`.
    Address(Address),
    /// `bool`.
    Bool(bool),
    /// `bytes32`.
    Bytes32([u8; 32]),
}

impl Word {
    fn encode(&self) -> [u8; 32] {
        match self {
            Word::Uint(v) => v.to_be_bytes(),
            Word::Address(a) => {
                let mut w = [0u8; 32];
                w[12..].copy_from_slice(a.as_slice());
                w
            }
            Word::Bool(b) => U256::from(u8::from(*b)).to_be_bytes(),
            Word::Bytes32(b) => *b,
        }
    }
}

/// The 4-byte selector of a function signature such as `set(uint256)`.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// Call data: the selector of `signature` and the arguments as 32-byte words.
pub fn encode_call(signature: &str, args: &[Word]) -> Bytes {
    let mut data = Vec::with_capacity(4 + 32 * args.len());
    data.extend_from_slice(&selector(signature));
    for a in args {
        data.extend_from_slice(&a.encode());
    }
    Bytes::from(data)
}

/// The first 32-byte word of a call's output as a `uint256`; `None` when the output is
/// shorter.
pub fn decode_uint(output: &[u8]) -> Option<U256> {
    output.get(..32).map(U256::from_be_slice)
}

/// Init code of a storage contract with `set(uint256)` (stores the value) and `get()`
/// (returns it): the contract the examples and tests deploy, assembled here so no
/// compiler is needed.
///
/// Runtime code: read the selector; `set` stores calldata word 1 in slot 0; `get`
/// returns slot 0; anything else reverts.
pub fn storage_contract() -> Bytes {
    let set = selector("set(uint256)");
    let get = selector("get()");
    let mut runtime = vec![
        0x60, 0x00, 0x35, // CALLDATALOAD(0)
        0x60, 0xe0, 0x1c, // SHR 224: the selector
        0x80, // DUP1
        0x63, set[0], set[1], set[2], set[3], // PUSH4 set
        0x14,   // EQ
        0x60, 0x1d, 0x57, // JUMPI to 0x1d
        0x63, get[0], get[1], get[2], get[3], // PUSH4 get
        0x14,   // EQ
        0x60, 0x25, 0x57, // JUMPI to 0x25
        0x60, 0x00, 0x80, 0xfd, // REVERT(0, 0)
    ];
    // 0x1d: set
    runtime.extend_from_slice(&[0x5b, 0x60, 0x04, 0x35, 0x60, 0x00, 0x55, 0x00]);
    // 0x25: get
    runtime.extend_from_slice(&[
        0x5b, 0x60, 0x00, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ]);
    debug_assert_eq!(runtime[0x1d], 0x5b);
    debug_assert_eq!(runtime[0x25], 0x5b);
    let len = u8::try_from(runtime.len()).unwrap_or(u8::MAX);
    // Init code (12 bytes): CODECOPY(0, 12, len); RETURN(0, len).
    let mut code = vec![
        0x60, len, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(&runtime);
    Bytes::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_words() {
        assert_eq!(selector("set(uint256)"), [0x60, 0xfe, 0x47, 0xb1]);
        assert_eq!(selector("get()"), [0x6d, 0x4c, 0xe6, 0x3c]);
        assert_eq!(
            selector("transfer(address,uint256)"),
            [0xa9, 0x05, 0x9c, 0xbb]
        );
        let data = encode_call("set(uint256)", &[Word::Uint(U256::from(42))]);
        assert_eq!(data.len(), 36);
        assert_eq!(decode_uint(&data[4..]), Some(U256::from(42)));
        assert_eq!(decode_uint(&[0u8; 31]), None);
        let a = Address::repeat_byte(0xab);
        let w = Word::Address(a).encode();
        assert_eq!(&w[..12], &[0u8; 12]);
        assert_eq!(&w[12..], a.as_slice());
    }

    #[test]
    fn the_storage_contract_is_well_formed() {
        let code = storage_contract();
        assert_eq!(
            code[1] as usize,
            code.len() - 12,
            "init code copies the whole runtime"
        );
        assert_eq!(code[12 + 0x1d], 0x5b);
        assert_eq!(code[12 + 0x25], 0x5b);
    }
}
