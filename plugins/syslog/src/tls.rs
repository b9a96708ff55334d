//! TLS to collectors (RFC 5425): the collector's certificate checked against the
//! configured CA certificates and name, with rustls (ring); inside, the same octet
//! counting as over TCP.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use zerotouch_plugin::{Settings, SettingsError};

use crate::settings::{Collector, Transport};

/// What a TLS collector's connections need: the client configuration and the name its
/// certificate must hold.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// The receiver's TLS setup for `listen_tls`, when it has addresses there; errors
/// name the key.
pub(crate) fn acceptor(
    s: &crate::settings::SyslogSettings,
    settings: &Settings,
) -> Result<Option<tokio_rustls::TlsAcceptor>, SettingsError> {
    use rustls::pki_types::PrivateKeyDer;
    if s.listen_tls.is_empty() {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&s.certificate, &s.private_key) else {
        return Err(settings.error(
            "listen_tls",
            "needs certificate and private_key: this receiver's certificate and key (PEM)",
        ));
    };
    let cert_path = settings.resolve_path(cert);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|i| i.collect())
        .map_err(|e| {
            settings.error(
                "certificate",
                format!("cannot read {}: {e}", cert_path.display()),
            )
        })?;
    let key_path = settings.resolve_path(key);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        settings.error(
            "private_key",
            format!("cannot read {}: {e}", key_path.display()),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| settings.error("listen_tls", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| settings.error("certificate", format!("does not go with the key: {e}")))?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// The TLS setup of collector `i`, when it is reached over TLS; errors name the key.
pub(crate) fn for_collector(
    c: &Collector,
    i: usize,
    settings: &Settings,
) -> Result<Option<Tls>, SettingsError> {
    let key = |k: &str| format!("collector[{i}].{k}");
    if c.transport != Transport::Tls {
        if c.ca.is_some() || c.server_name.is_some() {
            return Err(settings.error(key("ca"), "ca and server_name are for transport = \"tls\""));
        }
        return Ok(None);
    }
    let Some(ca) = &c.ca else {
        return Err(settings.error(
            key("ca"),
            "is missing: a TLS collector's certificate is checked against these CA certificates",
        ));
    };
    let path = settings.resolve_path(ca);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .and_then(|i| i.collect())
        .map_err(|e| settings.error(key("ca"), format!("cannot read {}: {e}", path.display())))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(settings.error(
            key("ca"),
            format!("{} holds no usable certificate", path.display()),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| settings.error(key("transport"), e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = match &c.server_name {
        Some(n) => ServerName::try_from(n.clone())
            .map_err(|e| settings.error(key("server_name"), format!("{n:?}: {e}")))?,
        None => ServerName::IpAddress(c.address.ip().into()),
    };
    Ok(Some(Tls {
        config: Arc::new(config),
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SyslogSettings;

    fn collectors(text: &str) -> Result<Vec<Option<Tls>>, SettingsError> {
        let settings = Settings::standalone(text, "syslog");
        let s = SyslogSettings::read(&settings)?;
        s.collector
            .iter()
            .enumerate()
            .map(|(i, c)| for_collector(c, i, &settings))
            .collect()
    }

    #[test]
    fn a_tls_collector_needs_its_ca_and_others_take_none() {
        let listen = "listen = [\"198.18.0.1:514\"]\n";
        let missing = collectors(&format!(
            "{listen}collector = [{{ address = \"198.18.0.9:6514\", transport = \"tls\" }}]\n"
        ))
        .unwrap_err();
        assert_eq!(missing.key, "collector[0].ca");
        let stray = collectors(&format!("{listen}collector = [{{ address = \"198.18.0.9:514\", transport = \"tcp\", ca = \"ca.pem\" }}]\n")).unwrap_err();
        assert_eq!(stray.key, "collector[0].ca");
        let unreadable = collectors(&format!("{listen}collector = [{{ address = \"198.18.0.9:6514\", transport = \"tls\", ca = \"/nonexistent/ca.pem\" }}]\n")).unwrap_err();
        assert!(unreadable.message.contains("cannot read"), "{unreadable}");
        assert!(
            collectors(&format!(
                "{listen}collector = [{{ address = \"198.18.0.9:514\", transport = \"udp\" }}]\n"
            ))
            .unwrap()[0]
                .is_none()
        );
    }

    #[test]
    fn a_tls_listener_needs_its_certificate_and_key() {
        let text = "listen = [\"198.18.0.1:514\"]\nlisten_tls = [\"198.18.0.1:6514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"udp\" }]\n";
        let settings = Settings::standalone(text, "syslog");
        let s = SyslogSettings::read(&settings).unwrap();
        let err =
            |s: &SyslogSettings, settings: &Settings| acceptor(s, settings).err().map(|e| e.key);
        assert_eq!(err(&s, &settings).as_deref(), Some("listen_tls"));
        let text = format!(
            "{text}certificate = \"/nonexistent.pem\"\nprivate_key = \"/nonexistent.key\"\n"
        );
        let settings = Settings::standalone(&text, "syslog");
        let s = SyslogSettings::read(&settings).unwrap();
        assert_eq!(err(&s, &settings).as_deref(), Some("certificate"));
    }
}
