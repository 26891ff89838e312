//! The chain client: balances, signed transfers and contract transactions with nonces
//! kept per account, receipts, `eth_call`.

use std::sync::Arc;
use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use serde_json::{json, Value};
use swarm_core::Sample;
use swarm_http::jsonrpc::RpcClient;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::{Account, EthError};

/// The kind receipts are recorded under (the JSON-RPC calls go under `JSONRPC`).
pub const KIND: &str = "ETH";

/// Gas for a plain value transfer.
pub const TRANSFER_GAS: u64 = 21_000;

/// An account with its next nonce. Clones share the nonce, so users that send from one
/// account never reuse or skip a nonce; sends from one wallet are serialised.
///
/// The nonce is read from the node (`eth_getTransactionCount`, `pending`) before the
/// first send and again after any failed send, so a failure (a rejected transaction, a
/// time-out that may or may not have landed) never leaves a gap or a reuse behind.
#[derive(Debug, Clone)]
pub struct Wallet {
    account: Arc<Account>,
    nonce: Arc<Mutex<Option<u64>>>,
}

impl Wallet {
    /// A wallet for an account; its nonce is read from the node on first use.
    pub fn new(account: Account) -> Self {
        Wallet {
            account: Arc::new(account),
            nonce: Arc::new(Mutex::new(None)),
        }
    }

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The address.
    pub fn address(&self) -> Address {
        self.account.address()
    }

    /// Use this nonce for the next send (an account whose nonce is tracked elsewhere,
    /// or a test of a gap). After any failed send it is read from the node again.
    pub async fn set_next_nonce(&self, nonce: u64) {
        *self.nonce.lock().await = Some(nonce);
    }

    /// The nonce the next send will use, if it is known (not after a failure).
    pub async fn next_nonce(&self) -> Option<u64> {
        *self.nonce.lock().await
    }
}

/// The fee model of a transaction; `None` fields come from the node's `eth_gasPrice`
/// (asked at most once per 5 s per [`Eth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fees {
    /// A legacy (type 0, EIP-155) transaction.
    Legacy {
        /// Wei per gas.
        gas_price: Option<u128>,
    },
    /// An EIP-1559 (type 2) transaction.
    Eip1559 {
        /// The most it pays per gas, base fee included.
        max_fee_per_gas: Option<u128>,
        /// The tip per gas.
        max_priority_fee_per_gas: Option<u128>,
    },
}

impl Fees {
    /// Legacy, the node's gas price.
    pub const LEGACY: Fees = Fees::Legacy { gas_price: None };
    /// EIP-1559, fees from the node's gas price (twice it as the cap, half as the tip).
    pub const EIP1559: Fees = Fees::Eip1559 {
        max_fee_per_gas: None,
        max_priority_fee_per_gas: None,
    };
}

/// What to send.
#[derive(Debug, Clone)]
pub struct TxRequest {
    /// The recipient; `None` deploys a contract.
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Call data (or init code for a deployment).
    pub input: Bytes,
    /// The gas limit; `None` asks the node (`eth_estimateGas`).
    pub gas: Option<u64>,
    /// The fee model.
    pub fees: Fees,
}

impl TxRequest {
    /// A value transfer of `value` wei.
    pub fn transfer(to: Address, value: U256, fees: Fees) -> Self {
        TxRequest {
            to: Some(to),
            value,
            input: Bytes::new(),
            gas: Some(TRANSFER_GAS),
            fees,
        }
    }
}

/// A mined transaction's receipt, the parts a load test reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction hash.
    pub hash: B256,
    /// The block it was mined in.
    pub block_number: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// The created contract, for a deployment.
    pub contract_address: Option<Address>,
    /// The whole receipt as the node sent it.
    pub raw: Value,
}

/// Parse a hex quantity (`0x1a`).
pub(crate) fn quantity(method: &str, v: &Value) -> Result<u128, EthError> {
    let bad = || EthError::Unexpected {
        method: method.to_owned(),
        message: format!("not a hex quantity: {v}"),
    };
    let s = v.as_str().ok_or_else(bad)?;
    u128::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| bad())
}

fn hex_u64(method: &str, v: &Value) -> Result<u64, EthError> {
    let q = quantity(method, v)?;
    u64::try_from(q).map_err(|_| EthError::Unexpected {
        method: method.to_owned(),
        message: format!("{q} does not fit 64 bits"),
    })
}

/// A chain reached through a JSON-RPC client: one per user (it holds the user's
/// connection); the chain id is checked once, when it is made.
#[derive(Debug)]
pub struct Eth {
    rpc: RpcClient,
    chain_id: u64,
    receipt_timeout: Duration,
    /// The node's gas price and when it was asked.
    gas_price: Option<(Instant, u128)>,
}

/// How long a gas price read from the node is used before it is asked again.
const GAS_PRICE_TTL: Duration = Duration::from_secs(5);

impl Eth {
    /// Ask the node its chain id; with `expected`, a different one is an error.
    pub async fn connect(mut rpc: RpcClient, expected: Option<u64>) -> Result<Self, EthError> {
        let got = hex_u64("eth_chainId", &rpc.call("eth_chainId", ()).await?)?;
        if let Some(expected) = expected {
            if expected != got {
                return Err(EthError::ChainMismatch { expected, got });
            }
        }
        Ok(Eth {
            rpc,
            chain_id: got,
            receipt_timeout: Duration::from_secs(30),
            gas_price: None,
        })
    }

    /// Wait at most this long for a receipt (default 30 s).
    #[must_use]
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout = timeout;
        self
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The JSON-RPC client, for any other call.
    pub fn rpc(&mut self) -> &mut RpcClient {
        &mut self.rpc
    }

    /// An address's balance in wei (`latest`).
    pub async fn balance(&mut self, address: Address) -> Result<U256, EthError> {
        let v = self.rpc.call("eth_getBalance", (address, "latest")).await?;
        let s = v.as_str().unwrap_or_default();
        U256::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| EthError::Unexpected {
            method: "eth_getBalance".to_owned(),
            message: format!("not a hex quantity: {v}"),
        })
    }

    /// The node's count of an address's transactions (`pending`): its next nonce.
    pub async fn transaction_count(&mut self, address: Address) -> Result<u64, EthError> {
        let v = self
            .rpc
            .call("eth_getTransactionCount", (address, "pending"))
            .await?;
        hex_u64("eth_getTransactionCount", &v)
    }

    /// Send `value` wei from `from` to `to`; returns the transaction hash.
    pub async fn transfer(
        &mut self,
        from: &Wallet,
        to: Address,
        value: U256,
        fees: Fees,
    ) -> Result<B256, EthError> {
        self.send(from, &TxRequest::transfer(to, value, fees)).await
    }

    /// Sign and send a transaction with the wallet's next nonce
    /// (`eth_sendRawTransaction`); returns its hash. On any failure the wallet's nonce
    /// is read from the node again before its next send.
    pub async fn send(&mut self, from: &Wallet, tx: &TxRequest) -> Result<B256, EthError> {
        let mut nonce = from.nonce.lock().await;
        let n = match *nonce {
            Some(n) => n,
            None => self.transaction_count(from.address()).await?,
        };
        let outcome = self.sign_and_send(from.account(), tx, n).await;
        *nonce = match outcome {
            Ok(_) => Some(n + 1),
            Err(_) => None,
        };
        outcome
    }

    async fn sign_and_send(
        &mut self,
        from: &Account,
        tx: &TxRequest,
        nonce: u64,
    ) -> Result<B256, EthError> {
        let to = tx.to.map_or(TxKind::Create, TxKind::Call);
        let gas = match tx.gas {
            Some(g) => g,
            None => self.estimate_gas(from.address(), tx).await?,
        };
        let raw = match tx.fees {
            Fees::Legacy { gas_price } => {
                let gas_price = match gas_price {
                    Some(p) => p,
                    None => self.gas_price().await?,
                };
                let t = TxLegacy {
                    chain_id: Some(self.chain_id),
                    nonce,
                    gas_price,
                    gas_limit: gas,
                    to,
                    value: tx.value,
                    input: tx.input.clone(),
                };
                let sig = from.sign_hash(&t.signature_hash())?;
                TxEnvelope::from(t.into_signed(sig)).encoded_2718()
            }
            Fees::Eip1559 {
                max_fee_per_gas,
                max_priority_fee_per_gas,
            } => {
                let (max_fee, tip) = match (max_fee_per_gas, max_priority_fee_per_gas) {
                    (Some(f), Some(t)) => (f, t),
                    (f, t) => {
                        let p = self.gas_price().await?;
                        (f.unwrap_or(p * 2), t.unwrap_or(p / 2))
                    }
                };
                let t = TxEip1559 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit: gas,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: tip.min(max_fee),
                    to,
                    value: tx.value,
                    access_list: Default::default(),
                    input: tx.input.clone(),
                };
                let sig = from.sign_hash(&t.signature_hash())?;
                TxEnvelope::from(t.into_signed(sig)).encoded_2718()
            }
        };
        let raw = format!("0x{}", alloy_primitives::hex::encode(raw));
        let hash: B256 = self.rpc.call_as("eth_sendRawTransaction", [raw]).await?;
        Ok(hash)
    }

    /// The node's gas price (`eth_gasPrice`), asked at most once per 5 s.
    async fn gas_price(&mut self) -> Result<u128, EthError> {
        if let Some((at, p)) = self.gas_price {
            if at.elapsed() < GAS_PRICE_TTL {
                return Ok(p);
            }
        }
        let v = self.rpc.call("eth_gasPrice", ()).await?;
        let p = quantity("eth_gasPrice", &v)?;
        self.gas_price = Some((Instant::now(), p));
        Ok(p)
    }

    async fn estimate_gas(&mut self, from: Address, tx: &TxRequest) -> Result<u64, EthError> {
        let mut call = json!({ "from": from, "value": tx.value, "data": tx.input });
        if let Some(to) = tx.to {
            call["to"] = json!(to);
        }
        let v = self.rpc.call("eth_estimateGas", [call]).await?;
        // A margin: estimates are exact for the state they ran on, which may move.
        hex_u64("eth_estimateGas", &v).map(|g| g + g / 5)
    }

    /// Wait for a transaction's receipt, polling (50 ms, growing to 500 ms) up to the
    /// receipt time-out; recorded under kind [`KIND`], `receipt`, from the call. A
    /// reverted transaction (status 0) is a failure.
    pub async fn wait_receipt(&mut self, hash: B256) -> Result<Receipt, EthError> {
        let start = Instant::now();
        let deadline = start + self.receipt_timeout;
        let mut pause = Duration::from_millis(50);
        let shown = format!("{hash}");
        let recorder = self.rpc.recorder().clone();
        loop {
            let v = self.rpc.call("eth_getTransactionReceipt", [hash]).await?;
            if !v.is_null() {
                let receipt = Receipt {
                    hash,
                    block_number: hex_u64("eth_getTransactionReceipt", &v["blockNumber"])?,
                    gas_used: hex_u64("eth_getTransactionReceipt", &v["gasUsed"])?,
                    contract_address: v
                        .get("contractAddress")
                        .and_then(|a| serde_json::from_value(a.clone()).ok()),
                    raw: v,
                };
                let ok = receipt.raw.get("status").and_then(Value::as_str) != Some("0x0");
                let s = Sample::new(KIND, "receipt", start.elapsed());
                if ok {
                    recorder.record(&s);
                    return Ok(receipt);
                }
                recorder.record(&s.failure("transaction reverted"));
                return Err(EthError::Reverted { hash: shown });
            }
            let now = Instant::now();
            if now >= deadline {
                let after = self.receipt_timeout;
                recorder.record(
                    &Sample::new(KIND, "receipt", start.elapsed())
                        .failure(&format!("no receipt within {after:?}")),
                );
                return Err(EthError::ReceiptTimeout { hash: shown, after });
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Deploy a contract from its init code; waits for the receipt and returns the
    /// contract's address.
    pub async fn deploy(
        &mut self,
        from: &Wallet,
        init_code: Bytes,
        fees: Fees,
    ) -> Result<Address, EthError> {
        let tx = TxRequest {
            to: None,
            value: U256::ZERO,
            input: init_code,
            gas: None,
            fees,
        };
        let hash = self.send(from, &tx).await?;
        let receipt = self.wait_receipt(hash).await?;
        receipt
            .contract_address
            .ok_or_else(|| EthError::Unexpected {
                method: "eth_getTransactionReceipt".to_owned(),
                message: "a deployment receipt without contractAddress".to_owned(),
            })
    }

    /// `eth_call` (`latest`), recorded under `name`; returns the output bytes.
    pub async fn call(&mut self, name: &str, to: Address, data: Bytes) -> Result<Bytes, EthError> {
        let call = json!({ "to": to, "data": data });
        let v = self
            .rpc
            .call_named(name, "eth_call", (call, "latest"))
            .await?;
        serde_json::from_value(v.clone()).map_err(|_| EthError::Unexpected {
            method: "eth_call".to_owned(),
            message: format!("not hex data: {v}"),
        })
    }

    /// Send a transaction calling a contract (no value, the gas estimated).
    pub async fn transact(
        &mut self,
        from: &Wallet,
        to: Address,
        data: Bytes,
        fees: Fees,
    ) -> Result<B256, EthError> {
        let tx = TxRequest {
            to: Some(to),
            value: U256::ZERO,
            input: data,
            gas: None,
            fees,
        };
        self.send(from, &tx).await
    }

    /// Fund `count` test accounts derived from `main` ([`Account::derive`]) with
    /// `amount` wei each, waiting for every receipt: the set-up of a load test whose
    /// users each send from their own account (as the Go worker's `--numMcUser`).
    /// Accounts already holding `amount` or more are not sent anything.
    pub async fn fund_accounts(
        &mut self,
        main: &Wallet,
        count: u64,
        amount: U256,
        fees: Fees,
    ) -> Result<Vec<Wallet>, EthError> {
        let mut wallets = Vec::new();
        let mut pending = Vec::new();
        for i in 0..count {
            let account = main.account().derive(i);
            if self.balance(account.address()).await? < amount {
                pending.push(self.transfer(main, account.address(), amount, fees).await?);
            }
            wallets.push(Wallet::new(account));
        }
        for hash in pending {
            self.wait_receipt(hash).await?;
        }
        Ok(wallets)
    }
}
