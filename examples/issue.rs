//! Aries issuer load test: each user is a native holder that an ACA-Py issuer, driven
//! through its admin API, issues ld_proof credentials to (issue-credential 2.0); one
//! iteration, offer to ack, is the recorded latency (`DIDCOMM issue_credential`).
//!
//! ```text
//! ISSUER_URL=http://127.0.0.1:8021 cargo run --release --example issue -- -u 50 -r 1 -t 5m
//! cargo run --release --example issue -- -u 10 -r 2 -t 1m          # starts a local ACA-Py issuer
//! cargo run --release --example issue -- MediatorIssue -u 10 -r 1 -t 1m   # and a local mediator
//! cargo run --release --example issue -- Verify -u 10 -r 2 -t 1m   # presentations verified
//! CRED_FORMAT=indy CRED_DEF=WgWxqztrNooG92RXvxSTWv:3:CL:20:tag ISSUER_URL=... \
//!   cargo run --release --example issue -- -u 10 -r 1 -t 1m      # an issuer with a ledger
//! ```
//!
//! The user types, one per Aries load test teams run today:
//! - `Issue` (the default): holders on one shared inbound listener, connected to the issuer
//!   directly.
//! - `MediatorIssue`: holders behind the mediator (`MEDIATION_URL`): offers and credentials
//!   arrive forwarded.
//! - `IssueMessage`, `MediatorIssueMessage`: the issuer's admin API sends each holder basic
//!   messages; the latency is from the admin call to the holder's receipt
//!   (`DIDCOMM issuer_message`).
//! - `Liveness`: the issuer's `GET /status`.
//! - `Verify`: the issuer as a verifier. Each holder (on the shared inbound listener) first
//!   gets one credential issued (`DIDCOMM issue_credential`), then each iteration the
//!   issuer's admin API sends it a present-proof 2.0 request in DIF Presentation Exchange
//!   (`POST /present-proof-2.0/send-request`: the credential subject's attributes
//!   `PROOF_ATTR`, default those of `CRED_ATTR`, a fresh challenge), the holder answers
//!   with a presentation signed by its did:key (Ed25519Signature2018), and the latency runs
//!   to the verifier's record read `done` with `verified == "true"`
//!   (`DIDCOMM present_proof`). The record is deleted afterwards unless `--keep-records`.
//!   A request the holder cannot answer (an attribute its credential lacks) is a counted
//!   failure naming why. Only ld_proof credentials: indy/anoncreds proofs need a ledger.
//!
//! Every admin call is an entry of its own (`POST /issue-credential-2.0/send-offer`, ...).
//! With no `ISSUER_URL` it starts a local issuer from `peers/` (`peers/install issuer`);
//! with a mediated user type and no `MEDIATION_URL`, a local mediator too; both are stopped
//! (by PID) at the end. `ISSUER_HEADERS` (a JSON object, e.g. `{"X-API-Key": "..."}` or a
//! tenant's `{"Authorization": "Bearer ..."}`) goes with every admin call and is never
//! printed.
//!
//! Credentials (`CRED_FORMAT`, `--cred-format`): `ld_proof` by default, which needs no
//! ledger (an issuer `did:key`: `ISSUER_DID`, or one created for the run), with `CRED_ATTR`
//! as the credential subject, written `[{"name": "score", "value": "test", "mime-type":
//! "text/plain"}]` or `{"score": "test"}`. `indy` and `anoncreds` offer a credential from
//! the credential definition `CRED_DEF` (`--cred-def`; indy:
//! `DID:3:CL:SEQ_NO_OR_SCHEMA_ID:TAG`) and optionally the schema `SCHEMA` (`--schema`;
//! indy: `DID:2:NAME:VERSION`), with `CRED_ATTR` as the credential preview (`filter.indy`
//! or `filter.anoncreds` and `credential_preview` in the send-offer). Those offers are
//! built but not tested end to end here: the issuer needs a ledger (or an AnonCreds
//! registry) for the schema and credential definition, and none runs on the test machines;
//! an issuer without one refuses each offer, a counted failure carrying its reason. The
//! native holders speak ld_proof only, so even an issuer with a ledger would get an
//! `issuance-abandoned` problem report for each indy/anoncreds offer (a counted failure
//! saying so), and `Verify` takes ld_proof only. `CRED_FORMAT` that is not one of the
//! three, indy/anoncreds without `CRED_DEF`, a malformed indy id, `CRED_DEF`/`SCHEMA` with
//! ld_proof, or an indy/anoncreds `CRED_ATTR` value that is not a string, number or
//! boolean is refused before any load (exit code 2, the message naming the setting).
use std::process::ExitCode;
use std::time::Duration;

use swarm_aries::issuer::{CredAttr, CredFormat, CredentialSpec, IssuerConfig, IssuerHeaders};
use swarm_aries::users::{
    parse_cred_attrs, parse_proof_attr, Issue, IssueMessage, IssuerSettings, Liveness,
    MediatorIssue, MediatorIssueMessage, Verify, VerifySettings,
};
use swarm_aries::Invitation;

#[path = "common/local_peer.rs"]
mod local_peer;
use local_peer::LocalPeer;

#[derive(Debug, clap::Parser)]
#[command(
    name = "issue",
    about = "Issue credentials from an ACA-Py issuer to many native holders"
)]
struct Cli {
    #[command(flatten)]
    swarm: swarm_core::cli::Args,

    /// The issuer's admin API; default: start a local ACA-Py issuer
    #[arg(long, env = "ISSUER_URL", value_name = "URL")]
    issuer_url: Option<String>,

    /// Headers of every admin call, a JSON object (e.g. {"X-API-Key": "..."}); never printed
    #[arg(
        long,
        env = "ISSUER_HEADERS",
        hide_env_values = true,
        value_name = "JSON"
    )]
    issuer_headers: Option<String>,

    /// The issuer's DID for ld_proof credentials; default: a did:key created for the run
    #[arg(long, env = "ISSUER_DID", value_name = "DID")]
    issuer_did: Option<String>,

    /// The credential's attributes: [{"name": "score", "value": "test"}] or {"score": "test"};
    /// the subject with ld_proof, the credential preview with indy/anoncreds
    #[arg(long, env = "CRED_ATTR", value_name = "JSON")]
    cred_attr: Option<String>,

    /// The credential format: ld_proof (default, no ledger), indy or anoncreds (need a
    /// ledger and CRED_DEF)
    #[arg(long, env = "CRED_FORMAT", value_name = "FORMAT")]
    cred_format: Option<String>,

    /// indy/anoncreds: the credential definition id (indy: DID:3:CL:SEQ_NO_OR_SCHEMA_ID:TAG)
    #[arg(long, env = "CRED_DEF", value_name = "ID")]
    cred_def: Option<String>,

    /// indy/anoncreds: the schema id, optional (indy: DID:2:NAME:VERSION)
    #[arg(long, env = "SCHEMA", value_name = "ID")]
    schema: Option<String>,

    /// Verify: the credential subject's attributes asked for, ["score"] or score,name;
    /// default: those of CRED_ATTR
    #[arg(long, env = "PROOF_ATTR", value_name = "NAMES")]
    proof_attr: Option<String>,

    /// The mediator's invitation URL, for MediatorIssue and MediatorIssueMessage; default:
    /// start a local ACA-Py mediator when one of them runs
    #[arg(long, env = "MEDIATION_URL", value_name = "URL")]
    mediation_url: Option<String>,

    /// Shortest wait between iterations, seconds
    #[arg(
        long,
        env = "LOCUST_MIN_WAIT",
        default_value_t = 1.0,
        value_name = "SECS"
    )]
    min_wait: f64,

    /// Longest wait between iterations, seconds
    #[arg(
        long,
        env = "LOCUST_MAX_WAIT",
        default_value_t = 2.0,
        value_name = "SECS"
    )]
    max_wait: f64,

    /// How long a holder waits for each message before counting a failure, seconds
    #[arg(
        long,
        env = "ISSUE_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECS"
    )]
    timeout: f64,

    /// Keep the issuer's exchange records once done (auto_remove: false)
    #[arg(long)]
    keep_records: bool,
}

swarm_core::register_user!(Issue);
swarm_core::register_user!(MediatorIssue);
swarm_core::register_user!(IssueMessage);
swarm_core::register_user!(MediatorIssueMessage);
swarm_core::register_user!(Liveness);
swarm_core::register_user!(Verify);

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("{name} {v} is not a number of seconds >= 0"))
}

fn main() -> ExitCode {
    run(
        "issue",
        "Issue credentials from an ACA-Py issuer to many native holders",
        "Issue",
    )
}

/// The whole example, with its command name, help line and the user type run when none is
/// named: `mediator_issue` and `issuer_messages` include this file and call it.
pub(crate) fn run(name: &'static str, about: &'static str, default_user: &str) -> ExitCode {
    let app = swarm_core::cli::App::new()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new());
    let matches = app
        .augment(
            <Cli as clap::CommandFactory>::command()
                .name(name)
                .about(about),
        )
        .get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let run = || -> Result<ExitCode, String> {
        let (min, max, timeout) = (
            secs("--min-wait", cli.min_wait)?,
            secs("--max-wait", cli.max_wait)?,
            secs("--timeout", cli.timeout)?,
        );
        if min > max {
            return Err(format!(
                "--min-wait ({min:?}) is above --max-wait ({max:?})"
            ));
        }
        // Settings that do not parse are refused before any peer starts.
        let headers = IssuerHeaders::parse(cli.issuer_headers.as_deref().unwrap_or(""))
            .map_err(|e| e.to_string())?;
        let attributes = cli
            .cred_attr
            .as_deref()
            .map(parse_cred_attrs)
            .transpose()
            .map_err(|e| e.to_string())?;
        let credential = CredentialSpec::parse(
            cli.cred_format.as_deref(),
            cli.cred_def.as_deref(),
            cli.schema.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        // An indy/anoncreds preview takes string values: CRED_ATTR is checked for it now.
        let default_attrs = [CredAttr::new("score", "test")];
        credential
            .cred_def_offer(attributes.as_deref().unwrap_or(&default_attrs))
            .map_err(|e| e.to_string())?;
        let proof_attributes = cli
            .proof_attr
            .as_deref()
            .map(parse_proof_attr)
            .transpose()
            .map_err(|e| e.to_string())?;
        let mut args = cli.swarm.clone();
        // Without user type names (command line, SWARM_* or the config file): Issue (or
        // the including example's default).
        if !args.list && args.to_config().is_ok_and(|c| c.user_types.is_empty()) {
            args.user_types = vec![default_user.to_owned()];
        }
        let mediated = args
            .to_config()
            .is_ok_and(|c| c.user_types.iter().any(|t| t.starts_with("Mediator")));
        let verify = args
            .to_config()
            .is_ok_and(|c| c.user_types.iter().any(|t| t == "Verify"));
        if verify && credential.format != CredFormat::LdProof {
            return Err(format!(
                "CRED_FORMAT: Verify presents ld_proof credentials only, not {}",
                credential.format
            ));
        }
        // The holders talk to the issuer's admin API and DIDComm endpoint, not to a --host.
        args.no_preflight = true;
        let mut app = app;
        let (mut _issuer, mut _mediator) = (None, None);
        if !args.list {
            let url = match &cli.issuer_url {
                Some(u) => u.clone(),
                None => {
                    let peer = LocalPeer::start("issuer", "no ISSUER_URL given")?;
                    let url = peer.var("ADMIN_URL")?;
                    _issuer = Some(peer);
                    url
                }
            };
            let config = IssuerConfig::new(&url)
                .map_err(|e| e.to_string())?
                .headers(headers);
            let mut settings = IssuerSettings::new(config)
                .wait(min, max)
                .timeout(timeout)
                .keep_records(cli.keep_records)
                .credential(credential);
            if let Some(a) = attributes {
                settings = settings.cred_attrs(a);
            }
            if let Some(did) = &cli.issuer_did {
                settings = settings.issuer_did(did);
            }
            let mediation = match &cli.mediation_url {
                Some(u) => Some(u.clone()),
                None if mediated => {
                    let peer = LocalPeer::start("mediator", "no MEDIATION_URL given")?;
                    let inv = peer.var("INVITATION")?;
                    _mediator = Some(peer);
                    Some(inv)
                }
                None => None,
            };
            if let Some(u) = mediation {
                let invitation =
                    Invitation::parse(&u).map_err(|e| format!("MEDIATION_URL: {e}"))?;
                settings = settings.mediation(invitation);
            }
            app = app.setting(settings);
            if let Some(names) = proof_attributes {
                app = app.setting(VerifySettings::default().attributes(names));
            }
        }
        Ok(app.run_matches(&args, &matches))
    };
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
