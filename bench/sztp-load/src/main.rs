//! Drives `get-bootstrapping-data` at the embedded bootstrap server from C concurrent
//! clients for a fixed time, each request over a new mutual-TLS connection (a full
//! handshake: session resumption off, as each device connects once) or over kept-alive
//! connections, and prints requests per second and failures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    server: SocketAddr,
    #[arg(long)]
    ca: String,
    #[arg(long)]
    cert: String,
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// A new TLS connection for every request.
    #[arg(long)]
    new_connection: bool,
    /// Ask for signed data (the response is then signed with the owner's key).
    #[arg(long)]
    signed: bool,
    /// HTTP Basic credentials USER:PASSWORD sent with every request.
    #[arg(long, value_name = "USER:PASSWORD")]
    basic: Option<String>,
    /// The status code that counts as an answer (401 or 429 to measure refusals).
    #[arg(long, default_value_t = 200)]
    expect: u16,
}

/// Sends one request and reads its response; `Ok(true)` when its status is `expect`.
async fn exchange(
    tls: &mut TlsStream<TcpStream>,
    request: &[u8],
    buf: &mut Vec<u8>,
    expect: u16,
) -> anyhow::Result<bool> {
    tls.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = tls.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed in the body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(head.starts_with(&format!("http/1.1 {expect}")));
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&args.ca).context("ca")? {
        roots.add(c?)?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&args.cert)
        .context("cert")?
        .collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&args.key).context("key")?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    config.resumption = rustls::client::Resumption::disabled();
    let connector = TlsConnector::from(Arc::new(config));
    let name = ServerName::from(args.server.ip());
    let body = if args.signed {
        r#"{"ietf-sztp-bootstrap-server:input":{"signed-data-preferred":[null]}}"#
    } else {
        r#"{"ietf-sztp-bootstrap-server:input":{}}"#
    };
    let authorization = args
        .basic
        .as_ref()
        .map(|b| {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(b);
            format!("Authorization: Basic {b64}\r\n")
        })
        .unwrap_or_default();
    let request = format!(
        "POST /restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data HTTP/1.1\r\nHost: {}\r\n{authorization}Content-Type: application/yang-data+json\r\nContent-Length: {}\r\n\r\n{body}",
        args.server,
        body.len()
    );
    let expect = args.expect;
    let request = Arc::new(request.into_bytes());
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (connector, name, request) = (connector.clone(), name.clone(), request.clone());
        let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
        let (server, fresh) = (args.server, args.new_connection);
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(16384);
            let mut conn: Option<TlsStream<TcpStream>> = None;
            while !stop.load(Ordering::Relaxed) {
                if conn.is_none() {
                    let tcp = match TcpStream::connect(server).await {
                        Ok(t) => t,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    match connector.connect(name.clone(), tcp).await {
                        Ok(t) => conn = Some(t),
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                }
                let Some(tls) = conn.as_mut() else { continue };
                match exchange(tls, &request, &mut buf, expect).await {
                    Ok(true) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => {
                        conn = None;
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                if fresh {
                    conn = None;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let secs = started.elapsed().as_secs_f64();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "requests={ok} failed={failed} seconds={secs:.2} rate={:.0}",
        ok as f64 / secs
    );
    Ok(())
}
