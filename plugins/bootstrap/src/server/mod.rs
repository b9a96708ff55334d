//! The device-facing listener: TCP accept, TLS handshake in a task per connection, then
//! HTTP/1.1 with keep-alive; each request goes through [`routes`].

pub(crate) mod artifacts;
mod body;
mod credentials;
pub mod images;
mod routes;
mod rpc;
mod signed_cache;
pub mod status;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};
use zerotouch_plugin::EventBus;

use crate::reports::Reports;
use crate::responses::ImageHashes;
use crate::settings::BootstrapConfig;
use crate::tls::Tls;

/// A handshake or a request head that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 4096;

/// The configuration in force; SIGHUP replaces it whole.
pub struct Active {
    pub config: BootstrapConfig,
    pub tls: Tls,
    /// The owner-certificate artifact, built once.
    pub owner_certificate: Option<Vec<u8>>,
    pub signed: signed_cache::SignedCache,
}

/// Counters of the bootstrap server, shown by the status endpoint and logged at stop.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub tls_handshake_failed: AtomicU64,
    pub bootstrapping_data_sent: AtomicU64,
    pub signed_data_sent: AtomicU64,
    pub progress_reports_stored: AtomicU64,
    pub refused_unauthenticated: AtomicU64,
    /// Requests from an address that failed to authenticate too often (429).
    pub refused_too_many_failures: AtomicU64,
    /// Basic secrets checked with PBKDF2 (first use, or a wrong secret).
    pub secrets_checked: AtomicU64,
    /// Basic secrets found among the ones that verified before.
    pub secrets_remembered: AtomicU64,
    pub refused_bad_request: AtomicU64,
    pub no_response_configured: AtomicU64,
    pub server_errors: AtomicU64,
    pub images_sent: AtomicU64,
    /// Devices asked for a certificate request (RFC 9646).
    pub csr_requested: AtomicU64,
    /// Certificate requests refused.
    pub csr_refused: AtomicU64,
    /// LDevIDs issued.
    pub ldevid_issued: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connections", v(&self.connections)),
            ("tls_handshake_failed", v(&self.tls_handshake_failed)),
            ("bootstrapping_data_sent", v(&self.bootstrapping_data_sent)),
            ("signed_data_sent", v(&self.signed_data_sent)),
            ("progress_reports_stored", v(&self.progress_reports_stored)),
            ("refused_unauthenticated", v(&self.refused_unauthenticated)),
            (
                "refused_too_many_failures",
                v(&self.refused_too_many_failures),
            ),
            ("secrets_checked", v(&self.secrets_checked)),
            ("secrets_remembered", v(&self.secrets_remembered)),
            ("refused_bad_request", v(&self.refused_bad_request)),
            ("no_response_configured", v(&self.no_response_configured)),
            ("server_errors", v(&self.server_errors)),
            ("images_sent", v(&self.images_sent)),
            ("csr_requested", v(&self.csr_requested)),
            ("csr_refused", v(&self.csr_refused)),
            ("ldevid_issued", v(&self.ldevid_issued)),
        ]
    }
}

/// Lets through a few lines a second of what a flood could trigger, and says how many
/// were held back.
#[derive(Debug)]
pub struct LogLimit {
    state: Mutex<(Instant, u32, u64)>,
    per_second: u32,
}

impl LogLimit {
    pub fn new(per_second: u32) -> Self {
        LogLimit {
            state: Mutex::new((Instant::now(), 0, 0)),
            per_second,
        }
    }

    /// `Some(suppressed since the last line)` when a line may be written.
    pub fn allow(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.0.elapsed() >= Duration::from_secs(1) {
            *s = (Instant::now(), 0, s.2);
        }
        if s.1 < self.per_second {
            s.1 += 1;
            Some(std::mem::take(&mut s.2))
        } else {
            s.2 += 1;
            None
        }
    }
}

/// What every connection shares.
pub struct Shared {
    pub active: RwLock<Arc<Active>>,
    pub reports: Arc<Reports>,
    pub events: EventBus,
    pub images: ImageHashes,
    pub counters: Counters,
    pub refusals: LogLimit,
    /// Basic secrets that verified, remembered (bounded) so PBKDF2 runs once.
    pub secrets: credentials::VerifiedSecrets,
    /// Authentication failures per source address.
    pub failed_logins: credentials::FailedLogins,
    connections: Arc<Semaphore>,
}

impl Shared {
    pub fn new(active: Active, reports: Arc<Reports>, events: EventBus) -> Self {
        Shared {
            active: RwLock::new(Arc::new(active)),
            reports,
            events,
            images: ImageHashes::default(),
            counters: Counters::default(),
            refusals: LogLimit::new(10),
            secrets: Default::default(),
            failed_logins: Default::default(),
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }

    pub fn active(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// One TLS connection: who is on the other end.
pub struct Peer {
    pub address: SocketAddr,
    pub certificates: Option<Vec<CertificateDer<'static>>>,
    /// The certificate's check, done at the first request that needs it.
    pub checked: OnceLock<Result<String, String>>,
}

/// HTTP/1.1 with keep-alive for both listeners; a connection whose request head takes
/// longer than [`HANDSHAKE_TIMEOUT`] is dropped.
fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .keep_alive(true);
    builder
}

/// Accepts connections on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok(permit) = shared.connections.clone().acquire_owned().await else {
            return;
        };
        let (tcp, address) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                debug!(error = %e, "bootstrap: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            shared.counters.connections.fetch_add(1, Ordering::Relaxed);
            let acceptor = shared.active().tls.acceptor.clone();
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    shared
                        .counters
                        .tls_handshake_failed
                        .fetch_add(1, Ordering::Relaxed);
                    if let Some(held) = shared.refusals.allow() {
                        warn!(peer = %address, error = %e, suppressed = held, "bootstrap: TLS handshake failed");
                    }
                    return;
                }
                Err(_) => {
                    shared
                        .counters
                        .tls_handshake_failed
                        .fetch_add(1, Ordering::Relaxed);
                    debug!(peer = %address, "bootstrap: TLS handshake timed out");
                    return;
                }
            };
            let certificates = tls
                .get_ref()
                .1
                .peer_certificates()
                .filter(|c| !c.is_empty())
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect());
            let peer = Arc::new(Peer {
                address,
                certificates,
                checked: OnceLock::new(),
            });
            let service = service_fn(move |req| {
                let (shared, peer) = (shared.clone(), peer.clone());
                async move {
                    Ok::<_, std::convert::Infallible>(routes::handle(req, &shared, &peer).await)
                }
            });
            let conn = http1_builder().serve_connection(TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                debug!(peer = %address, error = %e, "bootstrap: connection ended with an error");
            }
        });
    }
}
