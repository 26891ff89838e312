//! Ethereum helpers for Swarm load tests, apart from `swarm-http` so that a plain HTTP
//! scenario does not compile an Ethereum stack.
//!
//! - [`Account`]: a key from hex, the environment, a file (one key a line, or ganache's
//!   keys file) or a BIP-39 mnemonic; never printed (its `Debug` shows the address).
//! - [`Wallet`]: an account with its nonce, shared by clones, read again from the node
//!   after any failed send so that an error never leaves a gap or a reuse.
//! - [`Eth`]: a chain through a [`RpcClient`](swarm_http::jsonrpc::RpcClient) (HTTP or
//!   WebSocket): the chain id checked once, balances, signed legacy and EIP-1559
//!   transactions sent with `eth_sendRawTransaction`, receipts waited for with a bound,
//!   contracts deployed, called and transacted with, and test accounts funded from one
//!   main key ([`Eth::fund_accounts`]).
//! - [`abi`]: selectors, static-word call data, and a small storage contract.
//!
//! Every JSON-RPC call is recorded by the JSON-RPC client under its method; receipt
//! waits are recorded under kind [`KIND`], `receipt`.
//!
//! **Klaytn / Kaia.** The JSON-RPC client takes any method name, so `klay_` calls work.
//! The transactions built here are Ethereum's (legacy with EIP-155, and EIP-1559);
//! Klaytn's own transaction types (fee delegation, account update, the `TxType*` value
//! transfers with memos, ...) and its RLP-with-type signing are not covered. A Klaytn
//! node accepts Ethereum legacy and dynamic-fee transactions on `eth_sendRawTransaction`.
#![forbid(unsafe_code)]

pub mod abi;
mod account;
mod error;
mod eth;

pub use account::Account;
pub use alloy_primitives::{Address, Bytes, B256, U256};
pub use error::EthError;
pub use eth::{Eth, Fees, Receipt, TxRequest, Wallet, KIND, TRANSFER_GAS};

/// Wei in one ether.
pub const ETHER: u128 = 1_000_000_000_000_000_000;
/// Wei in one gwei.
pub const GWEI: u128 = 1_000_000_000;
