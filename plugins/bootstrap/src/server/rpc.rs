//! The two RPCs of `ietf-sztp-bootstrap-server`: who is asking (certificate and/or
//! Basic), the body (bounded), then `get-bootstrapping-data` (choose the response,
//! sign it when the device wants or the operator says so) or `report-progress` (store,
//! hand to other plugins, 204).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{HeaderMap, Request, Response, StatusCode};
use tracing::{error, info};
use zerotouch_plugin::{BootstrapProgress, ServiceEvent};

use super::body::{Body, empty, with_body};
use super::routes::{error_encoding, error_response};
use super::{Active, Peer, Shared};
use crate::cms;
use crate::conveyed::{Conveyed, Onboarding};
use crate::identity::{self, Presented};
use crate::pki::{date_and_time, voucher_claims};
use crate::reports::StoredRequest;
use crate::responses::{Device, ReportingLevel, choose};
use crate::restconf::input::{BootstrapInput, CsrInput, ProgressInput};
use crate::restconf::output::BootstrapOutput;
use crate::restconf::{Encoding, ErrorInfo, RestconfError, media};
use crate::settings::{BootstrapConfig, Ldevid, SignPolicy, file_safe_serial, read_device_file};
use zerotouch_sztp::csr::{CsrRequest, check_p10, issue_ldevid};
use zerotouch_sztp::keystore::{carry, keystore_xml};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rpc {
    GetBootstrappingData,
    ReportProgress,
}

impl Rpc {
    fn name(self) -> &'static str {
        match self {
            Rpc::GetBootstrappingData => "get-bootstrapping-data",
            Rpc::ReportProgress => "report-progress",
        }
    }
}

/// What the connection and the headers present.
fn presented(
    active: &Active,
    peer: &Peer,
    headers: &HeaderMap,
) -> Result<Presented, RestconfError> {
    let certificate = peer.certificates.as_ref().map(|chain| {
        peer.checked
            .get_or_init(|| {
                active.tls.check_device(chain)?;
                identity::certificate_serial(&chain[0], &active.config.serial_fallback)
            })
            .clone()
    });
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(v) => Some(identity::basic_credentials(v.to_str().map_err(|_| {
            RestconfError::access_denied("malformed Authorization header")
        })?)?),
    };
    Ok(Presented { certificate, basic })
}

/// The operator's entry for a device: its record file, else its `[[device]]` entry.
pub(super) fn lookup(
    config: &BootstrapConfig,
    serial: &str,
) -> Result<Option<Device>, RestconfError> {
    if let Some(dir) = &config.devices_dir
        && file_safe_serial(serial)
    {
        let path = dir.join(format!("{serial}.toml"));
        if path.exists() {
            return read_device_file(&path, serial).map(Some).map_err(|e| {
                error!("bootstrap: device record unusable: {e}");
                RestconfError::failed(
                    "this device's record cannot be read; the server's log says why",
                )
            });
        }
    }
    Ok(config.devices.get(serial).cloned())
}

/// Who the device is: what it presented, checked against the operator's devices. The
/// lookup reads record files and a first Basic check runs PBKDF2, so it runs off the
/// reactor. An address that failed too often in the last minute is refused (429)
/// before any of that; a 401 counts as a failure.
async fn authenticate(
    shared: &Arc<Shared>,
    active: Arc<Active>,
    source: std::net::IpAddr,
    presented: Presented,
) -> Result<(String, Option<Device>), RestconfError> {
    let per_minute = active.config.auth_failures_per_minute;
    if let Some(wait) = shared.failed_logins.blocked(source, per_minute) {
        return Err(RestconfError::too_many_failures(wait));
    }
    let verifier = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let c = &active.config;
        identity::authenticate(
            &presented,
            c.client_certificate,
            c.accept_unlisted_devices,
            |s| lookup(c, s),
            |hash, password| verifier.secrets.verify(hash, password, &verifier.counters),
        )
    })
    .await
    .map_err(|_| RestconfError::failed("authentication failed to run"))?;
    if let Err(e) = &result
        && e.status == StatusCode::UNAUTHORIZED
    {
        shared.failed_logins.failed(source, per_minute);
    }
    result
}

/// Authentication alone (boot images): the device's serial number.
pub(super) async fn authenticate_only(
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    headers: &HeaderMap,
) -> Result<String, RestconfError> {
    let active = shared.active();
    let presented = presented(&active, peer, headers)?;
    authenticate(shared, active, peer.address.ip(), presented)
        .await
        .map(|(serial, _)| serial)
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Vec<u8>, RestconfError> {
    let too_big = || RestconfError::too_big(format!("the request body exceeds {limit} octets"));
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => Ok(b.to_bytes().to_vec()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_big())
        }
        Err(e) => Err(RestconfError::malformed(format!("reading the body: {e}"))),
    }
}

pub(super) async fn call(
    rpc: Rpc,
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
) -> Response<Body> {
    let mut encoding = error_encoding(req.headers());
    let mut serial = None;
    let (response, outcome) = match exchange(rpc, req, shared, peer, &mut encoding, &mut serial)
        .await
    {
        Ok((response, detail)) => {
            let serial = serial.as_deref().unwrap_or("-");
            info!(peer = %peer.address, serial, rpc = rpc.name(), status = response.status().as_u16(), "bootstrap: {detail}");
            (response, detail)
        }
        Err(e) => {
            log_refusal(shared, peer, serial.as_deref().unwrap_or("-"), rpc, &e);
            (error_response(shared, &e, encoding), e.message)
        }
    };
    if let Some(serial) = serial {
        record_request(
            shared,
            serial,
            peer,
            rpc,
            response.status().as_u16(),
            outcome,
        );
    }
    response
}

/// Keeps the request in the device's log (`zerotouchctl reports SERIAL`), refusals
/// included, off the reactor; a failure to store is logged, rate-limited.
fn record_request(
    shared: &Arc<Shared>,
    serial: String,
    peer: &Peer,
    rpc: Rpc,
    status: u16,
    outcome: String,
) {
    let request = StoredRequest {
        received: date_and_time(SystemTime::now()).unwrap_or_default(),
        peer: peer.address.to_string(),
        rpc: rpc.name().to_string(),
        status,
        outcome,
    };
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = shared.reports.add_request(&serial, &request)
            && let Some(held) = shared.refusals.allow()
        {
            error!(
                serial,
                suppressed = held,
                "bootstrap: cannot keep the request: {e}"
            );
        }
    });
}

/// The serial number a request claims before it is authenticated: its certificate's
/// (checked or not), else its Basic user. Refusals are kept under it.
fn claimed_serial(active: &Active, peer: &Peer, presented: &Presented) -> Option<String> {
    match &presented.certificate {
        Some(Ok(serial)) => Some(serial.clone()),
        _ => presented
            .basic
            .as_ref()
            .map(|(user, _)| user.clone())
            .or_else(|| {
                let chain = peer.certificates.as_ref()?;
                identity::certificate_serial(chain.first()?, &active.config.serial_fallback).ok()
            }),
    }
    .filter(|s| !s.is_empty() && s.len() <= 128)
}

/// One RPC exchange; sets the reply's `encoding` and the device's `serial` as soon as
/// they are known, for the error reply and the log line.
async fn exchange(
    rpc: Rpc,
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    encoding: &mut Encoding,
    serial_out: &mut Option<String>,
) -> Result<(Response<Body>, String), RestconfError> {
    let active = shared.active();
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, accept) = (header(CONTENT_TYPE), header(ACCEPT));
    let presented = presented(&active, peer, req.headers())?;
    *serial_out = claimed_serial(&active, peer, &presented);
    let body = read_body(req, active.config.max_body_bytes).await?;
    // Who is asking comes first: an unauthenticated device learns nothing more.
    let (serial, device) =
        authenticate(shared, active.clone(), peer.address.ip(), presented).await?;
    *serial_out = Some(serial.clone());
    let request_encoding = media::of_request(content_type.as_deref(), &body)?;
    let reply_encoding = media::for_reply(accept.as_deref(), request_encoding)?;
    *encoding = reply_encoding;
    let (shared, address) = (shared.clone(), peer.address);
    tokio::task::spawn_blocking(move || match rpc {
        Rpc::GetBootstrappingData => BootstrapInput::parse(&body, request_encoding)
            .and_then(|input| {
                build(
                    &active,
                    &shared,
                    &serial,
                    device.as_ref(),
                    &input,
                    reply_encoding,
                )
            })
            .map(|built| bootstrapping_data(&shared, built, reply_encoding)),
        Rpc::ReportProgress => ProgressInput::parse(&body, request_encoding)
            .and_then(|input| progress(&shared, &serial, address, input)),
    })
    .await
    .map_err(|_| RestconfError::failed("the request handler failed"))?
}

fn log_refusal(shared: &Shared, peer: &Peer, serial: &str, rpc: Rpc, e: &RestconfError) {
    if e.tag == crate::restconf::error::ErrorTag::MissingAttribute {
        info!(peer = %peer.address, serial, rpc = rpc.name(), status = e.status.as_u16(), "bootstrap: asked the device for a certificate request (RFC 9646)");
    } else if e.status.is_server_error() {
        error!(peer = %peer.address, serial, rpc = rpc.name(), status = e.status.as_u16(), "bootstrap: {}", e.message);
    } else if let Some(held) = shared.refusals.allow() {
        info!(peer = %peer.address, serial, rpc = rpc.name(), status = e.status.as_u16(), suppressed = held, "bootstrap: refused: {}", e.message);
    }
}

/// What `get-bootstrapping-data` sends a device: its artifacts, and what they are.
pub(super) struct Built {
    pub(super) output: BootstrapOutput,
    pub(super) signed: bool,
    pub(super) onboarding: bool,
    /// The operator's response they come from.
    pub(super) response: String,
}

/// The response for the device, as CMS, signed when the device prefers signed data or
/// the operator signs always. Onboarding information is never unsigned to a device that
/// prefers signed data.
pub(super) fn build(
    active: &Active,
    shared: &Shared,
    serial: &str,
    device: Option<&Device>,
    input: &BootstrapInput,
    encoding: Encoding,
) -> Result<Built, RestconfError> {
    let config = &active.config;
    let chosen = choose(device, &config.responses, serial, input)
        .map_err(|e| {
            error!("bootstrap: {e}");
            RestconfError::failed(
                "this device's response is misconfigured; the server's log says why",
            )
        })?
        .ok_or_else(|| {
            RestconfError::data_missing(format!("no response is configured for device {serial:?}"))
        })?;
    let conveyed = chosen.content.conveyed(&shared.images).map_err(|e| {
        error!(serial, response = %chosen.name, "bootstrap: building the response: {e}");
        RestconfError::failed("building the response failed; the server's log says why")
    })?;
    let (conveyed, issued) = match (&config.ldevid, conveyed) {
        (Some(ldevid), Conveyed::Onboarding(o)) => {
            let (o, issued) = with_ldevid(ldevid, shared, serial, &chosen.name, input, o)?;
            (Conveyed::Onboarding(o), issued)
        }
        (_, c) => (c, false),
    };
    let wants_signed = input.signed_data_preferred
        || config
            .signing
            .as_ref()
            .is_some_and(|s| s.policy == SignPolicy::Always);
    let signing = config.signing.as_ref().filter(|_| wants_signed);
    let voucher = match signing {
        Some(s) if file_safe_serial(serial) => {
            let path = s.vouchers_dir.join(format!("{serial}.vcj"));
            std::fs::read(&path).ok()
        }
        _ => None,
    };
    let document = conveyed.render(encoding);
    let content_type = cms::conveyed_content_type(encoding);
    let (conveyed_information, pair) = match (signing, voucher) {
        (Some(s), Some(voucher)) => {
            check_voucher(&voucher, serial, &s.signer.chain)?;
            let sign = || {
                let signed = s.signer.sign(content_type, &document).map_err(|e| {
                    error!(serial, "bootstrap: signing failed: {e}");
                    RestconfError::failed("signing failed")
                })?;
                // What is signed here is verified here before it leaves.
                cms::open_signed(&signed)
                    .and_then(|o| o.verify(&s.signer.chain[0]))
                    .map_err(|e| {
                        error!(serial, "bootstrap: the signed data does not verify: {e}");
                        RestconfError::failed("signing failed")
                    })?;
                Ok(signed)
            };
            // A document with a certificate of its own is never sent twice.
            let signed = match issued {
                true => sign()?,
                false => active
                    .signed
                    .get_or_sign(content_type, &document, sign)?
                    .to_vec(),
            };
            (
                signed,
                Some((
                    active.owner_certificate.clone().unwrap_or_default(),
                    voucher,
                )),
            )
        }
        _ => {
            if input.signed_data_preferred && conveyed.is_onboarding() {
                return Err(RestconfError::data_missing(format!(
                    "device {serial:?} prefers signed data, and {}: onboarding information is never sent unsigned to it",
                    if config.signing.is_none() {
                        "no owner signing key is configured"
                    } else {
                        "it has no ownership voucher"
                    }
                )));
            }
            let unsigned = cms::unsigned(content_type, &document)
                .map_err(|e| RestconfError::failed(format!("encoding failed: {e}")))?;
            (unsigned, None)
        }
    };
    let signed = pair.is_some();
    let level = chosen.reporting_level.unwrap_or(config.reporting_level);
    let (owner_certificate, ownership_voucher) = pair.unzip();
    Ok(Built {
        output: BootstrapOutput {
            reporting_level: (conveyed.is_onboarding() && level == ReportingLevel::Verbose)
                .then_some(level.name()),
            conveyed_information,
            owner_certificate,
            ownership_voucher,
        },
        signed,
        onboarding: conveyed.is_onboarding(),
        response: chosen.name.clone(),
    })
}

/// RFC 9646 on onboarding information, with this server issuing LDevIDs: a device
/// offering `csr-support` is asked for a CSR (400 `missing-attribute`); a `p10-csr`
/// is checked and signed, and the certificate goes into the configuration as an
/// ietf-keystore key (`keystore`). Whether a certificate was issued comes back.
fn with_ldevid(
    ldevid: &Ldevid,
    shared: &Shared,
    serial: &str,
    response: &str,
    input: &BootstrapInput,
    mut onboarding: Onboarding,
) -> Result<(Onboarding, bool), RestconfError> {
    let refused = |e: RestconfError| {
        shared.counters.csr_refused.fetch_add(1, Ordering::Relaxed);
        e
    };
    match &input.csr {
        // A device that does not speak RFC 9646 bootstraps without a certificate.
        None => Ok((onboarding, false)),
        Some(CsrInput::Support(support)) => match CsrRequest::for_support(support) {
            Some(request) => {
                shared
                    .counters
                    .csr_requested
                    .fetch_add(1, Ordering::Relaxed);
                Err(RestconfError::missing_attribute(
                    "this server issues the device a certificate: send get-bootstrapping-data again with a CSR as the csr-request says",
                    ErrorInfo {
                        json: request.to_json(),
                        xml: request.to_xml(),
                    },
                ))
            }
            None => {
                info!(
                    serial,
                    "bootstrap: the device makes no CSR this server takes (p10-csr for an ECDSA P-256 key): onboarding without a certificate"
                );
                Ok((onboarding, false))
            }
        },
        Some(CsrInput::Unsupported(format)) => Err(refused(RestconfError::invalid_value(format!(
            "{format} is not taken here: send p10-csr"
        )))),
        Some(CsrInput::P10(der)) => {
            let key = check_p10(der, serial)
                .map_err(|e| refused(RestconfError::invalid_value(e.to_string())))?;
            let failed = |e: String| {
                error!(
                    serial,
                    response, "bootstrap: issuing the device's certificate: {e}"
                );
                RestconfError::failed(
                    "issuing the device's certificate failed; the server's log says why",
                )
            };
            let chain = issue_ldevid(&ldevid.ca, key.clone(), serial, ldevid.validity_days)
                .map_err(|e| failed(e.to_string()))?;
            let keystore = keystore_xml(&ldevid.key_name, &key, &chain)
                .and_then(|ks| carry(onboarding.configuration.as_deref(), &ks))
                .map_err(|e| failed(e.to_string()))?;
            onboarding.configuration = Some(keystore);
            shared
                .counters
                .ldevid_issued
                .fetch_add(1, Ordering::Relaxed);
            info!(serial, subject = %chain[0].tbs_certificate.subject, "bootstrap: issued the device a certificate");
            Ok((onboarding, true))
        }
    }
}

/// `get-bootstrapping-data`: the device's artifacts as a RESTCONF reply, counted.
fn bootstrapping_data(
    shared: &Shared,
    built: Built,
    encoding: Encoding,
) -> (Response<Body>, String) {
    shared
        .counters
        .bootstrapping_data_sent
        .fetch_add(1, Ordering::Relaxed);
    if built.signed {
        shared
            .counters
            .signed_data_sent
            .fetch_add(1, Ordering::Relaxed);
    }
    let kind = if built.onboarding {
        "onboarding"
    } else {
        "redirect"
    };
    (
        with_body(
            StatusCode::OK,
            encoding.content_type(),
            built.output.render(encoding),
        ),
        format!(
            "sent {} {kind} information from response {:?}",
            if built.signed { "signed" } else { "unsigned" },
            built.response
        ),
    )
}

/// A voucher must name the device and pin a certificate of the owner's chain.
fn check_voucher(
    voucher: &[u8],
    serial: &str,
    owner_chain: &[x509_cert::Certificate],
) -> Result<(), RestconfError> {
    let bad = |why: String| {
        error!(
            serial,
            "bootstrap: the ownership voucher is unusable: {why}"
        );
        RestconfError::failed(
            "the device's ownership voucher is unusable; the server's log says why",
        )
    };
    let opened = cms::open_signed(voucher).map_err(|e| bad(e.to_string()))?;
    if opened.content_type != cms::VOUCHER_JSON {
        return Err(bad(format!(
            "content type {} is not a JSON voucher",
            opened.content_type
        )));
    }
    let (named, pinned) = voucher_claims(&opened.content).map_err(bad)?;
    if named != serial {
        return Err(bad(format!("it is for serial number {named:?}")));
    }
    let pinned_in_chain = owner_chain
        .iter()
        .any(|c| der::Encode::to_der(c).is_ok_and(|d| d == pinned));
    if !pinned_in_chain {
        return Err(bad(
            "its pinned-domain-cert is not in the owner certificate's chain".into(),
        ));
    }
    Ok(())
}

/// `report-progress`: stored, handed to other plugins, 204.
fn progress(
    shared: &Shared,
    serial: &str,
    peer: std::net::SocketAddr,
    input: ProgressInput,
) -> Result<(Response<Body>, String), RestconfError> {
    let report = BootstrapProgress {
        serial: serial.to_string(),
        progress_type: input.progress_type.to_string(),
        message: input.message,
        ssh_host_keys: input
            .ssh_host_keys
            .into_iter()
            .map(|k| (k.algorithm, k.key_data))
            .collect(),
        peer,
        received: SystemTime::now(),
    };
    shared
        .reports
        .add(&report, &input.trust_anchor_certs)
        .map_err(|e| {
            error!("bootstrap: {e}");
            RestconfError::failed("the report could not be stored")
        })?;
    shared
        .counters
        .progress_reports_stored
        .fetch_add(1, Ordering::Relaxed);
    let detail = format!(
        "progress {}{}",
        report.progress_type,
        report
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    );
    shared
        .events
        .publish(ServiceEvent::BootstrapProgress(Arc::new(report)));
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok((r, detail))
}
