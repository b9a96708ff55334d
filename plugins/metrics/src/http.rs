//! A minimal HTTP/1.1 responder: `GET /metrics` answers the exposition, anything else
//! 404; one request per connection, bounded in size and time.

use std::time::Duration;

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zerotouch_plugin::ServiceHost;

use crate::ProgressCounts;

const MAX_REQUEST: usize = 8192;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn serve(listener: TcpListener, host: ServiceHost, progress: Arc<ProgressCounts>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (host, progress) = (host.clone(), progress.clone());
        tokio::spawn(async move {
            let _ = tokio::time::timeout(READ_TIMEOUT, answer(stream, host, progress)).await;
        });
    }
}

async fn answer(
    mut stream: TcpStream,
    host: ServiceHost,
    progress: Arc<ProgressCounts>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let (status, body) = match (method, path) {
        (b"GET", b"/metrics") => {
            // Reading the lease table is blocking I/O.
            let h = host.clone();
            match tokio::task::spawn_blocking(move || super::exposition::render(&h, &progress))
                .await
            {
                Ok(body) => ("200 OK", body),
                Err(_) => ("500 Internal Server Error", "rendering failed\n".into()),
            }
        }
        (b"GET", _) => ("404 Not Found", "try /metrics\n".into()),
        _ => ("405 Method Not Allowed", "GET only\n".into()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
