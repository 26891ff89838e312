//! Start and stop real peers through `peers/` (by PID), for the Aries tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A running peer; stopped by PID when dropped.
pub struct Peer {
    pub name: String,
    pub vars: HashMap<String, String>,
}

impl Peer {
    /// `peers/start NAME`: fails loudly when the peer is not installed or does not start.
    pub fn start(name: &str) -> Peer {
        Peer::start_with(name, &[])
    }

    /// `peers/start NAME` with extra environment (`PORT`, `WS_PORT`, `HANDSHAKE`, ...).
    ///
    /// Holds on a loaded machine: at most [`START_SLOTS`] peers start at once across every
    /// test process sharing `.peers` (file locks), the readiness time-out is
    /// [`START_TIMEOUT_SECS`] unless `PEER_TIMEOUT` is given, and a start that fails is
    /// retried once, with the first attempt's output shown.
    pub fn start_with(name: &str, env: &[(&str, &str)]) -> Peer {
        Peer::start_with_args(name, env, &[])
    }

    /// [`Peer::start_with`] with arguments after the name (for the ACA-Py peers, flags
    /// added to its command line, e.g. `--wallet-type askar-anoncreds`).
    pub fn start_with_args(name: &str, env: &[(&str, &str)], args: &[&str]) -> Peer {
        let first = match start_once(name, env, args) {
            Ok(peer) => return peer,
            Err(e) => e,
        };
        // Straight to stderr, past the test harness's capture: a retry is worth seeing
        // even when the test then passes.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("peer {name} did not start; retrying once. The first attempt said:\n{first}\n")
                .as_bytes(),
        );
        start_once(name, env, args).unwrap_or_else(|second| {
            panic!(
                "peer {name} did not start twice (run `peers/install {name}`):\n\
                 first attempt:\n{first}\nsecond attempt:\n{second}"
            )
        })
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("peers/start {} printed no {key}=", self.name))
    }
}

/// How many peers may start at once (all test processes on the machine that share
/// `.peers`): Credo's module load and ACA-Py's start-up each take a core for seconds.
pub const START_SLOTS: usize = 2;

/// The readiness time-out given to `peers/start` (unless `PEER_TIMEOUT` is set): generous,
/// since a peer may wait for CPU on a loaded machine.
pub const START_TIMEOUT_SECS: u64 = 90;

/// One `peers/start` run, inside a start slot: the peer, or what went wrong.
fn start_once(name: &str, env: &[(&str, &str)], args: &[&str]) -> Result<Peer, String> {
    let root = repo_root();
    let _slot = StartSlot::acquire(&root);
    let mut cmd = Command::new(root.join("peers/start"));
    cmd.arg(name).args(args).current_dir(&root);
    if std::env::var_os("PEER_TIMEOUT").is_none() && !env.iter().any(|(k, _)| *k == "PEER_TIMEOUT")
    {
        cmd.env("PEER_TIMEOUT", START_TIMEOUT_SECS.to_string());
    }
    // This helper retries once itself, in a start slot: peers/start's own retry would
    // double every attempt.
    if std::env::var_os("PEER_RETRIES").is_none() {
        cmd.env("PEER_RETRIES", "0");
    }
    let out = cmd
        .envs(env.iter().copied())
        .output()
        .map_err(|e| format!("peers/start does not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "peers/start {name} exited with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let vars = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Peer {
        name: name.to_owned(),
        vars,
    })
}

/// One of [`START_SLOTS`] exclusive file locks under `.peers/start-slots/`, held while
/// a peer starts; released when dropped (or when the process dies).
struct StartSlot(#[allow(dead_code)] std::fs::File);

impl StartSlot {
    /// Waits for a free slot: at most ten minutes, then goes on without one (and says so).
    fn acquire(root: &Path) -> Option<StartSlot> {
        let dir = root.join(".peers/start-slots");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!(
                "no start slots ({}: {e}); starting without one",
                dir.display()
            );
            return None;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
        while std::time::Instant::now() < deadline {
            for i in 0..START_SLOTS {
                let Ok(file) = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(dir.join(format!("slot-{i}")))
                else {
                    continue;
                };
                if fs4::FileExt::try_lock(&file).is_ok() {
                    return Some(StartSlot(file));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("no start slot came free in 10 minutes; starting without one");
        None
    }
}

impl Peer {
    /// The peer's process id.
    pub fn pid(&self) -> &str {
        self.var("PID")
    }

    /// The port of a printed URL (`URL`, `WS`, `ADMIN`).
    pub fn port_of(&self, key: &str) -> &str {
        let url = self.var(key);
        url.rsplit(':').next().unwrap_or(url).trim_end_matches('/')
    }

    /// Stop the peer now (by PID), waiting until it is gone.
    pub fn stop(self) {
        drop(self);
    }

    /// Send a signal to the peer's process (by PID), e.g. `STOP` or `CONT`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), self.pid()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }
}

/// Run `body`, failing the test if it takes longer than `limit`.
pub async fn bounded<F: std::future::Future>(limit: std::time::Duration, body: F) -> F::Output {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(pid) = self.vars.get("PID") {
            let _ = Command::new(repo_root().join("peers/stop"))
                .args([&self.name, pid])
                .status();
        }
    }
}

/// Agent options with this reply time-out.
pub fn options(timeout: std::time::Duration) -> swarm_aries::AgentOptions {
    let mut o = swarm_aries::AgentOptions::default();
    o.timeout = timeout;
    o
}

/// The next basic message `agent` receives (other messages are skipped).
pub async fn next_basic_message(agent: &mut swarm_aries::Agent) -> swarm_aries::Unpacked {
    loop {
        let m = agent.receive().await.expect("the agent receives");
        if swarm_aries::message::message_type(&m.message)
            .is_ok_and(|t| t.family() == "basicmessage")
        {
            return m;
        }
    }
}

/// A free TCP port on 127.0.0.1 (the kernel's pick; free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A test CA and a server certificate it issued for `127.0.0.1` and `localhost`, as PEM
/// files in a temporary folder (removed when dropped).
pub struct TestCerts {
    dir: tempfile::TempDir,
}

impl TestCerts {
    pub fn new() -> TestCerts {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Swarm test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("a server key");
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let cert = server
            .signed_by(&key, &issuer)
            .expect("the server certificate");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        TestCerts { dir }
    }

    /// The CA certificate (PEM): what an agent must trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server's private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// An ACA-Py mediator (`peers/start mediator`) reached only through a TLS-terminating
/// proxy (`peers/start tls-proxy`, nginx) on loopback: it publishes the proxy's https and
/// wss URLs, so its invitation and DID documents name only those. Dropped: the mediator
/// stops first, then the proxy.
pub struct TlsMediator {
    pub mediator: Peer,
    pub proxy: Peer,
    pub certs: TestCerts,
}

impl TlsMediator {
    /// `endpoints` picks what the mediator publishes, in order, from `https` and `wss`
    /// (the proxy's URLs), e.g. `&["https", "wss"]` or `&["wss"]`.
    pub fn start(endpoints: &[&str]) -> TlsMediator {
        let certs = TestCerts::new();
        let (http, ws) = (free_port(), free_port());
        let (http, ws) = (http.to_string(), ws.to_string());
        let (cert, key) = (certs.cert(), certs.key());
        let proxy = Peer::start_with(
            "tls-proxy",
            &[
                ("UPSTREAM_PORT", &http),
                ("UPSTREAM_WS_PORT", &ws),
                ("TLS_CERT", cert.to_str().unwrap()),
                ("TLS_KEY", key.to_str().unwrap()),
            ],
        );
        let published: Vec<&str> = endpoints
            .iter()
            .map(|e| match *e {
                "https" => proxy.var("URL"),
                "wss" => proxy.var("WS"),
                other => panic!("unknown endpoint kind {other} (https or wss)"),
            })
            .collect();
        let mediator = Peer::start_with(
            "mediator",
            &[
                ("PORT", &http),
                ("WS_PORT", &ws),
                ("ENDPOINTS", &published.join(" ")),
            ],
        );
        TlsMediator {
            mediator,
            proxy,
            certs,
        }
    }

    /// The mediator's invitation (its service endpoint is the proxy's first published URL).
    pub fn invitation(&self) -> swarm_aries::Invitation {
        swarm_aries::Invitation::parse(self.mediator.var("INVITATION")).expect("an invitation")
    }
}
