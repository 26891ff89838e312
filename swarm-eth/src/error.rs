//! Errors of the Ethereum helpers. None carries key material.

use std::time::Duration;

use swarm_http::jsonrpc::RpcError;

/// What went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EthError {
    /// A private key that is not 32 bytes of hex, or not a valid secp256k1 key.
    #[error("invalid private key: {0}")]
    InvalidKey(String),
    /// A mnemonic that does not parse or derive.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// A key or mnemonic could not be read (a missing variable, an unreadable file).
    #[error("cannot read the key: {0}")]
    KeySource(String),
    /// The node's chain id is not the one expected.
    #[error("chain id mismatch: expected {expected}, the node says {got}")]
    ChainMismatch {
        /// The chain id asked for.
        expected: u64,
        /// The node's.
        got: u64,
    },
    /// A JSON-RPC call failed (already recorded under its method).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A node answer that cannot be used (a hex quantity that does not parse).
    #[error("unexpected answer to {method}: {message}")]
    Unexpected {
        /// The method.
        method: String,
        /// What is wrong.
        message: String,
    },
    /// No receipt within the time allowed.
    #[error("no receipt for {hash} within {after:?}")]
    ReceiptTimeout {
        /// The transaction hash.
        hash: String,
        /// How long it waited.
        after: Duration,
    },
    /// The transaction was mined and reverted (status 0).
    #[error("transaction {hash} reverted")]
    Reverted {
        /// The transaction hash.
        hash: String,
    },
}
