//! The TLS side (rustls with the ring provider): the server's certificate, and client
//! certificates checked against the manufacturer CAs *after* the handshake, so that a
//! device with a wrong certificate gets a RESTCONF 401 that says why instead of a bare
//! TLS alert. The handshake still proves the device holds the certificate's key (the
//! CertificateVerify signature is checked by rustls as usual).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use tokio_rustls::TlsAcceptor;

use crate::settings::BootstrapConfig;

/// The TLS acceptor and the check of client certificates.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// Validates a device's chain against the manufacturer CAs; `None` when none are
    /// configured (client certificates are then not asked for).
    pub devices: Option<Arc<dyn ClientCertVerifier>>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

impl Tls {
    /// Loads the server's certificate and key and the manufacturer CAs.
    pub fn load(cfg: &BootstrapConfig) -> Result<Tls, (&'static str, String)> {
        let chain = certificates(&cfg.certificate).map_err(|e| ("certificate", e))?;
        let key = PrivateKeyDer::from_pem_file(&cfg.private_key)
            .map_err(|e| ("private_key", format!("{}: {e}", cfg.private_key.display())))?;
        let devices = if cfg.device_ca.is_empty() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            for path in &cfg.device_ca {
                for cert in certificates(path).map_err(|e| ("device_ca", e))? {
                    roots
                        .add(cert)
                        .map_err(|e| ("device_ca", format!("{}: {e}", path.display())))?;
                }
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .allow_unauthenticated()
                .build()
                .map_err(|e| ("device_ca", e.to_string()))?;
            Some(verifier)
        };
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ("certificate", e.to_string()))?;
        let builder = match &devices {
            Some(v) => builder.with_client_cert_verifier(Arc::new(Deferred(v.clone()))),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| ("private_key", format!("does not fit the certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            devices,
        })
    }

    /// Validates a presented chain (end entity first) against the manufacturer CAs.
    pub fn check_device(&self, chain: &[CertificateDer<'static>]) -> Result<(), String> {
        let (Some(v), Some((end, intermediates))) = (&self.devices, chain.split_first()) else {
            return Err("no manufacturer CA is configured".into());
        };
        v.verify_client_cert(end, intermediates, UnixTime::now())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Asks for a client certificate, checks the handshake signature, and leaves the chain
/// to [`Tls::check_device`].
#[derive(Debug)]
struct Deferred(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for Deferred {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
