//! The device's RESTCONF client (RFC 8572 §7 over RFC 8040): one bootstrap server over
//! TLS, the device's IDevID as its client certificate (and HTTP Basic where
//! configured). The server is authenticated against trust anchors the device has for
//! it, or, where it has none, provisionally (§5.5: any certificate; the handshake's
//! signatures are still checked): then only signed data or redirect information may be
//! taken from it, which the caller enforces.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use zerotouch_sztp::Encoding;
use zerotouch_sztp::csr::{self, CsrSupport};
use zerotouch_sztp::output::BootstrapOutput;

/// How long one exchange (connect, handshake, request, answer) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a download (a boot image) may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// The largest answer taken: conveyed information with its artifacts is far smaller.
const MAX_ANSWER: usize = 16 << 20;
const YANG_JSON: &str = "application/yang-data+json";
const GET_BOOTSTRAPPING_DATA: &str =
    "/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data";
const REPORT_PROGRESS: &str = "/restconf/operations/ietf-sztp-bootstrap-server:report-progress";

/// Why an exchange with a bootstrap server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The device's certificate or key cannot be used.
    #[error("the device's identity: {0}")]
    Identity(String),
    /// Connecting failed.
    #[error("connecting to {server}: {source}")]
    Connect {
        /// `host:port`.
        server: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The TLS handshake failed (the server's certificate not trusted, among others).
    #[error("TLS with {server}: {reason}")]
    Tls {
        /// `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The HTTP exchange broke.
    #[error("HTTP with {server}: {reason}")]
    Http {
        /// `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{server} answered {status}: {body}")]
    Status {
        /// `host:port`.
        server: String,
        /// The status code.
        status: u16,
        /// The error document (RFC 8040 §7.1), as it came.
        body: String,
    },
    /// The answer is not a `get-bootstrapping-data` output.
    #[error("{server} answered something that is not bootstrapping data: {reason}")]
    Output {
        /// `host:port`.
        server: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No answer in time.
    #[error("{0} did not answer within {TIMEOUT:?}")]
    Timeout(String),
}

/// A bootstrap server: a host name or address and a port (443 when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// A DNS name or an IP address: what its certificate names.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The address to connect to, when it was found with the name (SRV targets and
    /// their A records); else `host` is resolved by the system.
    pub address: Option<std::net::IpAddr>,
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => write!(f, "[{}]:{}", self.host, self.port),
            Err(_) => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone)]
pub enum ServerTrust {
    /// Against these trust anchors (DER certificates), and for the server's name.
    Anchors(Vec<CertificateDer<'static>>),
    /// Not at all (RFC 8572 §5.5): what the server sends must prove itself.
    Provisional,
}

/// What the device sends with `get-bootstrapping-data` (RFC 8572 §7.2).
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Its hardware model.
    pub hw_model: Option<String>,
    /// Its OS's name and version.
    pub os_name: Option<String>,
    /// Its OS's version.
    pub os_version: Option<String>,
    /// Signed data asked for even from a trusted server.
    pub signed_data_preferred: bool,
    /// What is said of certificate requests (RFC 9646).
    pub csr: Option<CsrOffer>,
}

/// The RFC 9646 node sent with `get-bootstrapping-data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrOffer {
    /// `csr-support`: a new ECDSA P-256 key in a PKCS#10 request.
    Support,
    /// `p10-csr`: the request (DER).
    P10(Vec<u8>),
}

/// One progress report (RFC 8572 §7.3).
#[derive(Debug, Clone)]
pub struct Report {
    /// One of RFC 8572's `progress-type` values.
    pub progress_type: String,
    /// Free text.
    pub message: Option<String>,
    /// With `bootstrap-complete`: the device's SSH host keys (algorithm, key data).
    pub ssh_host_keys: Vec<(String, Vec<u8>)>,
}

/// The device's side of the exchanges.
#[derive(Debug, Clone)]
pub struct Client {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    /// HTTP Basic `user:password`, where the server asks for it.
    basic: Option<String>,
}

impl Client {
    /// A client with the IDevID in `cert_pem` (its chain) and `key_pem`.
    pub fn new(
        cert_pem: &[u8],
        key_pem: &[u8],
        basic: Option<String>,
    ) -> Result<Client, ClientError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClientError::Identity(format!("the certificate file: {e}")))?;
        if chain.is_empty() {
            return Err(ClientError::Identity(
                "the certificate file holds no certificate".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| ClientError::Identity(format!("the key file: {e}")))?;
        let client = Client {
            chain,
            key: Arc::new(key),
            basic,
        };
        // The key must go with the certificate: found now, not at the first server.
        client.tls_config(&ServerTrust::Provisional)?;
        Ok(client)
    }

    fn tls_config(&self, trust: &ServerTrust) -> Result<rustls::ClientConfig, ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Identity(e.to_string()))?;
        let builder = match trust {
            ServerTrust::Anchors(anchors) => {
                let mut roots = RootCertStore::empty();
                for a in anchors {
                    roots
                        .add(a.clone())
                        .map_err(|e| ClientError::Identity(format!("a trust anchor: {e}")))?;
                }
                builder.with_root_certificates(roots)
            }
            ServerTrust::Provisional => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Provisional(provider))),
        };
        builder
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| {
                ClientError::Identity(format!("the key does not go with the certificate: {e}"))
            })
    }

    /// `get-bootstrapping-data` from `server`.
    pub async fn get_bootstrapping_data(
        &self,
        server: &Server,
        trust: &ServerTrust,
        input: &Input,
    ) -> Result<BootstrapOutput, ClientError> {
        let mut members = serde_json::Map::new();
        let mut text = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                members.insert(k.into(), serde_json::json!(v));
            }
        };
        text("hw-model", &input.hw_model);
        text("os-name", &input.os_name);
        text("os-version", &input.os_version);
        if input.signed_data_preferred {
            members.insert("signed-data-preferred".into(), serde_json::json!([null]));
        }
        match &input.csr {
            None => {}
            Some(CsrOffer::Support) => {
                members.insert(
                    format!("{}:csr-support", csr::MODULE),
                    CsrSupport::p256_p10().to_json(),
                );
            }
            Some(CsrOffer::P10(der)) => {
                members.insert(
                    format!("{}:p10-csr", csr::MODULE),
                    BASE64.encode(der).into(),
                );
            }
        }
        let body = serde_json::json!({ "ietf-sztp-bootstrap-server:input": members });
        let (status, answer) = self
            .post(server, trust, GET_BOOTSTRAPPING_DATA, body.to_string())
            .await?;
        if status != StatusCode::OK {
            return Err(ClientError::Status {
                server: server.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&answer).into_owned(),
            });
        }
        BootstrapOutput::parse(&answer, Encoding::Json).map_err(|reason| ClientError::Output {
            server: server.to_string(),
            reason,
        })
    }

    /// `report-progress` to `server`; it must answer 204.
    pub async fn report_progress(
        &self,
        server: &Server,
        trust: &ServerTrust,
        report: &Report,
    ) -> Result<(), ClientError> {
        let mut input = serde_json::Map::new();
        input.insert(
            "progress-type".into(),
            serde_json::json!(report.progress_type),
        );
        if let Some(m) = &report.message {
            input.insert("message".into(), serde_json::json!(m));
        }
        if !report.ssh_host_keys.is_empty() {
            let keys: Vec<serde_json::Value> = report
                .ssh_host_keys
                .iter()
                .map(|(a, k)| serde_json::json!({ "algorithm": a, "key-data": BASE64.encode(k) }))
                .collect();
            input.insert(
                "ssh-host-keys".into(),
                serde_json::json!({ "ssh-host-key": keys }),
            );
        }
        let body = serde_json::json!({ "ietf-sztp-bootstrap-server:input": input });
        let (status, answer) = self
            .post(server, trust, REPORT_PROGRESS, body.to_string())
            .await?;
        if status != StatusCode::NO_CONTENT {
            return Err(ClientError::Status {
                server: server.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&answer).into_owned(),
            });
        }
        Ok(())
    }

    /// GETs `url` (`https://host[:port]/path`, such as a boot image's `download-uri`)
    /// with `trust`: the status and at most `limit` octets of the body.
    pub async fn download(
        &self,
        url: &str,
        trust: &ServerTrust,
        limit: usize,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let bad = || ClientError::Http {
            server: url.to_string(),
            reason: "not an https:// URL with a host".into(),
        };
        let uri: hyper::Uri = url.parse().map_err(|_| bad())?;
        let (Some("https"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(bad());
        };
        let server = Server {
            host: authority.host().trim_matches(['[', ']']).to_string(),
            port: authority.port_u16().unwrap_or(443),
            address: None,
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let name = server.to_string();
        tokio::time::timeout(
            DOWNLOAD_TIMEOUT,
            self.exchange(&server, trust, hyper::Method::GET, path, None, limit),
        )
        .await
        .map_err(|_| ClientError::Timeout(name))?
    }

    /// POSTs `body` (YANG JSON) to `path` on a connection of its own.
    async fn post(
        &self,
        server: &Server,
        trust: &ServerTrust,
        path: &str,
        body: String,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let name = server.to_string();
        let exchange = self.exchange(
            server,
            trust,
            hyper::Method::POST,
            path,
            Some(body),
            MAX_ANSWER,
        );
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| ClientError::Timeout(name))?
    }

    /// One request on a connection of its own: YANG JSON `body` when there is one.
    async fn exchange(
        &self,
        server: &Server,
        trust: &ServerTrust,
        method: hyper::Method,
        path: &str,
        body: Option<String>,
        limit: usize,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let name = server.to_string();
        let tls_err = |reason: String| ClientError::Tls {
            server: name.clone(),
            reason,
        };
        let http_err = |e: &dyn std::fmt::Display| ClientError::Http {
            server: name.clone(),
            reason: e.to_string(),
        };
        let tcp = match server.address {
            Some(address) => TcpStream::connect((address, server.port)).await,
            None => TcpStream::connect((server.host.as_str(), server.port)).await,
        }
        .map_err(|source| ClientError::Connect {
            server: name.clone(),
            source,
        })?;
        let server_name = ServerName::try_from(server.host.clone())
            .map_err(|e| tls_err(format!("{:?} is not a server name: {e}", server.host)))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.tls_config(trust)?));
        let tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| tls_err(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| http_err(&e))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, name.as_str());
        if body.is_some() {
            request = request
                .header(CONTENT_TYPE, YANG_JSON)
                .header(ACCEPT, YANG_JSON);
        }
        if let Some(basic) = &self.basic {
            request = request.header(AUTHORIZATION, format!("Basic {}", BASE64.encode(basic)));
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| http_err(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| http_err(&e))?;
        let status = response.status();
        let answer = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| http_err(&e))?
            .to_bytes();
        Ok((status, answer))
    }
}

/// Accepts any server certificate (RFC 8572 §5.5's provisional connection), still
/// checking that the server holds the key of the certificate it sent.
#[derive(Debug)]
struct Provisional(Arc<CryptoProvider>);

impl ServerCertVerifier for Provisional {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
