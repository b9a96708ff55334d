//! Processing bootstrap servers as RFC 8572 §5.3 and §5.5 say: zero or more
//! redirects, then onboarding information.
//!
//! - A server authenticated by TLS against a trust anchor is trusted; one reached
//!   provisionally is not, and is asked for signed data.
//! - Signed data that verifies (`verify.rs`) makes the source trusted; signed data that
//!   does not fails the source, whatever the connection.
//! - Redirect information is followed, its servers in order, the first that yields
//!   onboarding information winning: from a trusted source with a server's trust
//!   anchor, that server is authenticated against it; otherwise (no anchor, or an
//!   untrusted source, whose anchors are discarded) it is reached provisionally. At most
//!   [`MAX_REDIRECTS`] redirects are followed.
//! - Onboarding information is taken only from a trusted source.
//!
//! Every server asked leaves a [`Step`], so a failure says where and why.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use der::Encode;
use rustls_pki_types::CertificateDer;
use zerotouch_sztp::Encoding;
use zerotouch_sztp::cms::{self, CONVEYED_INFO_JSON, CONVEYED_INFO_XML};
use zerotouch_sztp::conveyed::{BootstrapServer, Conveyed, Onboarding};

use zerotouch_sztp::csr::{CsrRequest, p10_request};
use zerotouch_sztp::key::SigningKey;

use crate::client::{Client, ClientError, CsrOffer, Input, Server, ServerTrust};
use crate::dns::DeviceRecords;
use crate::verify::{self, Device, Format, SignedArtifacts};

/// Redirects followed at most (RFC 8572 §5.3: SHOULD be 10 or fewer).
pub const MAX_REDIRECTS: usize = 10;

/// What the device brings to every server.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The RESTCONF client with the device's IDevID.
    pub client: &'a Client,
    /// The manufacturer's trust anchors for ownership vouchers.
    pub voucher_anchors: &'a [CertificateDer<'static>],
    /// Who the device is, for the voucher.
    pub device: Device<'a>,
    /// What it tells the servers about itself.
    pub input: Input,
    /// Whether it offers trusted servers a certificate request (RFC 9646).
    pub offer_csr: bool,
}

/// One source asked (a server, or DNS records), and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The server (`host:port`) or the records (`DNS TXT <name>`).
    pub source: String,
    /// How many redirects led to it.
    pub depth: usize,
    /// Whether it was a server whose TLS certificate was checked against a trust
    /// anchor.
    pub authenticated: bool,
    /// What it gave, or why it failed.
    pub outcome: String,
}

/// Onboarding information from a trusted source, and where it came from.
#[derive(Debug, Clone)]
pub struct Found {
    /// The onboarding information.
    pub onboarding: Onboarding,
    /// The server that gave it, with how it was reached (none when it came from DNS):
    /// progress reports go there, and only when it was authenticated (RFC 8572 §5.6).
    pub server: Option<(Server, ServerTrust)>,
    /// The reporting level it asked for (`minimal` when absent).
    pub reporting_level: Option<&'static str>,
    /// Whether it came as signed data that verified.
    pub signed: bool,
    /// The key generated for the certificate request the server asked for (RFC 9646):
    /// its certificate must come in the onboarding information.
    pub ldevid_key: Option<SigningKey>,
}

/// Asks `server` (reached with `trust`) and follows its redirects; onboarding
/// information from a trusted source, or why none came. `steps` records every source
/// asked.
pub async fn process(
    cx: &Context<'_>,
    server: Server,
    trust: ServerTrust,
    steps: &mut Vec<Step>,
) -> Result<Found, String> {
    visit(cx, server, trust, 0, steps).await
}

/// The device's own DNS records (untrusted, as DNS is: only signed data or redirect
/// information is taken from them), and the redirects they give.
pub async fn process_records(
    cx: &Context<'_>,
    records: &DeviceRecords,
    steps: &mut Vec<Step>,
) -> Result<Found, String> {
    let step = Step {
        source: format!("DNS TXT {}", records.name),
        depth: 0,
        authenticated: false,
        outcome: String::new(),
    };
    let read = conveyed_of(
        cx,
        &records.conveyed_information,
        records.owner_certificate.as_deref(),
        records.ownership_voucher.as_deref(),
        false,
    );
    settle(cx, read.map(|got| (got, None)), None, 0, step, steps).await
}

/// What a source gave: the conveyed information, whether the source is trusted, and
/// whether it was signed.
struct Got {
    conveyed: Conveyed,
    trusted: bool,
    signed: bool,
    /// The key of a certificate request sent to the source.
    ldevid_key: Option<SigningKey>,
}

type Visit<'a> = Pin<Box<dyn Future<Output = Result<Found, String>> + Send + 'a>>;

fn visit<'a>(
    cx: &'a Context<'a>,
    server: Server,
    trust: ServerTrust,
    depth: usize,
    steps: &'a mut Vec<Step>,
) -> Visit<'a> {
    Box::pin(async move {
        let authenticated = matches!(trust, ServerTrust::Anchors(_));
        let step = Step {
            source: server.to_string(),
            depth,
            authenticated,
            outcome: String::new(),
        };
        let got = ask(cx, &server, &trust, authenticated).await;
        settle(cx, got, Some((server, trust)), depth, step, steps).await
    })
}

/// Takes what a source gave (`origin`, the server it came from): onboarding
/// information from a trusted source, or its redirects followed; `step` recorded.
fn settle<'a>(
    cx: &'a Context<'a>,
    got: Result<(Got, Option<&'static str>), String>,
    origin: Option<(Server, ServerTrust)>,
    depth: usize,
    mut step: Step,
    steps: &'a mut Vec<Step>,
) -> Visit<'a> {
    Box::pin(async move {
        let (
            Got {
                conveyed,
                trusted,
                signed,
                ldevid_key,
            },
            level,
        ) = match got {
            Ok(got) => got,
            Err(e) => {
                step.outcome = e.clone();
                steps.push(step);
                return Err(e);
            }
        };

        match conveyed {
            Conveyed::Onboarding(onboarding) => {
                if let Err(why) = admit_onboarding(trusted) {
                    step.outcome = why.clone();
                    steps.push(step);
                    return Err(why);
                }
                step.outcome = format!(
                    "{}{}",
                    described("onboarding information", signed),
                    match ldevid_key {
                        Some(_) => ", after a certificate request (RFC 9646) for a new key",
                        None => "",
                    }
                );
                steps.push(step);
                Ok(Found {
                    onboarding,
                    server: origin,
                    reporting_level: level,
                    signed,
                    ldevid_key,
                })
            }
            Conveyed::Redirect(servers) => {
                if depth >= MAX_REDIRECTS {
                    step.outcome = format!(
                        "redirect information past {MAX_REDIRECTS} redirects: a loop, given up"
                    );
                    let why = step.outcome.clone();
                    steps.push(step);
                    return Err(why);
                }
                step.outcome = format!(
                    "{} to {}",
                    described("redirect information", signed),
                    servers
                        .iter()
                        .map(|s| server_of(s).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                steps.push(step);
                let mut last = String::from("the redirect named no server");
                for s in &servers {
                    let next_trust = match (&s.trust_anchor, trusted) {
                        (Some(anchor), true) => match anchors_of(anchor) {
                            Ok(a) => ServerTrust::Anchors(a),
                            Err(e) => {
                                last = e;
                                continue;
                            }
                        },
                        // Untrusted: its anchors are discarded (§5.5).
                        _ => ServerTrust::Provisional,
                    };
                    match visit(cx, server_of(s), next_trust, depth + 1, steps).await {
                        Ok(found) => return Ok(found),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    })
}

/// What a source gave, for its step: `signed redirect information (voucher, owner
/// certificate and signature verified)`, `unsigned onboarding information`.
fn described(what: &str, signed: bool) -> String {
    match signed {
        true => format!("signed {what} (voucher, owner certificate and signature verified)"),
        false => format!("unsigned {what}"),
    }
}

/// Onboarding information is taken only from a trusted source (§5.3): a server
/// authenticated by TLS, or signed data that verified.
fn admit_onboarding(trusted: bool) -> Result<(), String> {
    match trusted {
        true => Ok(()),
        false => Err("unsigned onboarding information from an untrusted server: refused".into()),
    }
}

/// Asks one server: what it gave, and the reporting level it asked for. A trusted
/// server is offered a certificate request (RFC 9646; never an untrusted one, whose
/// request for it could not be signed): when it answers with a `csr-request`, a new key
/// is generated and the request sent.
async fn ask(
    cx: &Context<'_>,
    server: &Server,
    trust: &ServerTrust,
    authenticated: bool,
) -> Result<(Got, Option<&'static str>), String> {
    let mut input = Input {
        // A server that cannot be trusted must prove what it sends.
        signed_data_preferred: cx.input.signed_data_preferred || !authenticated,
        csr: (cx.offer_csr && authenticated).then_some(CsrOffer::Support),
        ..cx.input.clone()
    };
    let mut ldevid_key = None;
    let out = match cx
        .client
        .get_bootstrapping_data(server, trust, &input)
        .await
    {
        Err(ClientError::Status {
            status: 400, body, ..
        }) if input.csr.is_some()
            && let Some(request) = CsrRequest::from_errors(body.as_bytes())
                .map_err(|e| format!("{server}: {e}"))? =>
        {
            let key = csr_key(&request)?;
            let der = p10_request(&request, &key, cx.device.serial)
                .map_err(|e| format!("the certificate request {server} asks for: {e}"))?;
            input.csr = Some(CsrOffer::P10(der));
            ldevid_key = Some(key);
            cx.client
                .get_bootstrapping_data(server, trust, &input)
                .await
                .map_err(|e| format!("after a certificate request: {e}"))?
        }
        other => other.map_err(|e| e.to_string())?,
    };
    let got = conveyed_of(
        cx,
        &out.conveyed_information,
        out.owner_certificate.as_deref(),
        out.ownership_voucher.as_deref(),
        authenticated,
    )?;
    Ok((Got { ldevid_key, ..got }, out.reporting_level))
}

/// The key a `csr-request` asks for: a new one. A request for the IDevID's key is not
/// made here (the agent always offers to generate one).
fn csr_key(request: &CsrRequest) -> Result<SigningKey, String> {
    if request.key_algorithm.is_none() {
        return Err(
            "the server asks for a certificate request for the IDevID's key; this agent certifies new keys only".into(),
        );
    }
    SigningKey::generate().map_err(|e| format!("generating a key: {e}"))
}

/// Conveyed information with, for signed data, the owner certificate and voucher,
/// from a source that is `authenticated` or not: read, and signed data verified.
fn conveyed_of(
    cx: &Context<'_>,
    conveyed: &[u8],
    owner: Option<&[u8]>,
    voucher: Option<&[u8]>,
    authenticated: bool,
) -> Result<Got, String> {
    let (document, format, trusted, signed) = match (owner, voucher) {
        (Some(owner), Some(voucher)) => {
            let artifacts = SignedArtifacts {
                conveyed_information: conveyed,
                owner_certificate: owner,
                ownership_voucher: voucher,
            };
            let verified = verify::verify(
                &artifacts,
                cx.voucher_anchors,
                &cx.device,
                SystemTime::now(),
            )
            .map_err(|e| format!("signed data refused: {e}"))?;
            (verified.document, verified.format, true, true)
        }
        _ => {
            let (document, format) = unsigned(conveyed)?;
            (document, format, authenticated, false)
        }
    };
    let encoding = match format {
        Format::Json => Encoding::Json,
        Format::Xml => Encoding::Xml,
    };
    let conveyed = Conveyed::parse(&document, encoding).map_err(|e| e.to_string())?;
    Ok(Got {
        conveyed,
        trusted,
        signed,
        ldevid_key: None,
    })
}

/// The document of unsigned conveyed information (a CMS ContentInfo of its type).
fn unsigned(der: &[u8]) -> Result<(Vec<u8>, Format), String> {
    let (content_type, document) =
        cms::open_unsigned(der).map_err(|e| format!("conveyed information: {e}"))?;
    let format = match content_type {
        t if t == CONVEYED_INFO_JSON => Format::Json,
        t if t == CONVEYED_INFO_XML => Format::Xml,
        t => return Err(format!("conveyed information of content type {t}")),
    };
    Ok((document, format))
}

/// A redirect's trust anchor (a CMS of certificates) as trust anchors.
fn anchors_of(cms_der: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = cms::open_certificates(cms_der).map_err(|e| format!("a trust anchor: {e}"))?;
    certs
        .iter()
        .map(|c| {
            c.to_der()
                .map(CertificateDer::from)
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A redirect's server as the client addresses it.
fn server_of(s: &BootstrapServer) -> Server {
    Server {
        host: s.address.clone(),
        port: s.port.unwrap_or(443),
        address: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onboarding_comes_only_from_a_trusted_source() {
        assert!(admit_onboarding(true).is_ok());
        assert!(admit_onboarding(false).unwrap_err().contains("untrusted"));
    }
}
