//! Where the lease database is and how to reach it: a libpq connection string (URL or
//! `key=value`), so several hosts with `target_session_attrs=read-write` find whichever
//! is the primary after a failover; TLS through rustls (ring) when a CA is given.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_postgres::config::Host;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Notification};
use zerotouch_lease::StoreError;

/// The database and how to reach it.
#[derive(Clone)]
pub struct PgConfig {
    config: Config,
    /// PEM CA certificates for TLS to the database; none: no TLS.
    tls_ca: Option<PathBuf>,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Why a connection string is refused.
#[derive(Debug, thiserror::Error)]
#[error("not a PostgreSQL connection string: {0}")]
pub struct BadUrl(String);

impl PgConfig {
    /// From a connection string (`postgresql://user@host1,host2/db?target_session_attrs=read-write`
    /// or `host=... dbname=...`) and an optional CA file for TLS.
    pub fn new(url: &str, tls_ca: Option<PathBuf>) -> Result<Self, BadUrl> {
        let config: Config = url.parse().map_err(|e| BadUrl(format!("{e}")))?;
        if config.get_hosts().is_empty() {
            return Err(BadUrl("it names no host".into()));
        }
        Ok(PgConfig { config, tls_ca })
    }

    /// The same database, connecting as `name` (`application_name`): the servers
    /// sharing it tell their changes apart by it.
    pub fn named(&self, name: &str) -> Self {
        let mut named = self.clone();
        named.config.application_name(name);
        named
    }

    /// `postgresql host1,host2/db` (no password), for messages.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        format!(
            "postgresql {}/{}",
            hosts.join(","),
            self.config.get_dbname().unwrap_or("-")
        )
    }

    /// An error about this database.
    pub fn error(&self, message: impl Into<String>) -> StoreError {
        StoreError::Server {
            target: self.describe(),
            message: message.into(),
        }
    }

    /// An error the database returned, with its detail when it gave one.
    pub fn sql(&self, e: tokio_postgres::Error) -> StoreError {
        let message = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        self.error(message)
    }

    /// A connection, its background task spawned on the current runtime.
    pub async fn connect(&self) -> Result<Client, StoreError> {
        self.open(None).await
    }

    /// A connection and the notifications (`LISTEN`) it receives.
    pub(crate) async fn connect_listening(
        &self,
    ) -> Result<(Client, UnboundedReceiver<Notification>), StoreError> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Ok((self.open(Some(tx)).await?, rx))
    }

    async fn open(
        &self,
        notices: Option<UnboundedSender<Notification>>,
    ) -> Result<Client, StoreError> {
        match &self.tls_ca {
            None => {
                let (client, connection) = self
                    .config
                    .connect(NoTls)
                    .await
                    .map_err(|e| self.error(format!("cannot connect: {e}")))?;
                tokio::spawn(drive(connection, notices));
                Ok(client)
            }
            Some(ca) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls(ca)?);
                let (client, connection) = self
                    .config
                    .connect(tls)
                    .await
                    .map_err(|e| self.error(format!("cannot connect over TLS: {e}")))?;
                tokio::spawn(drive(connection, notices));
                Ok(client)
            }
        }
    }

    fn tls(&self, ca: &PathBuf) -> Result<rustls::ClientConfig, StoreError> {
        let bad = |why: String| self.error(format!("TLS CA {}: {why}", ca.display()));
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
            roots
                .add(cert.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in it".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// Runs a connection until it closes, handing its notifications to `notices`.
async fn drive<S, T>(
    mut connection: Connection<S, T>,
    notices: Option<UnboundedSender<Notification>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
        match message {
            Ok(AsyncMessage::Notification(n)) => {
                if let Some(tx) = &notices {
                    let _ = tx.send(n);
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
}
