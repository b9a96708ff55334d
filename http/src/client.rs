//! The client side: one `GET` of an `http://` URL, for `zerotouchctl`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::HOST;
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a whole `GET` may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a `GET` failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://host:port/path`.
    #[error("{0:?} is not an http:// URL with a host")]
    Url(String),
    /// Connecting, sending or receiving failed.
    #[error("{url}: {source}")]
    Io {
        /// The URL asked.
        url: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The exchange broke HTTP.
    #[error("{url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// What hyper said.
        source: hyper::Error,
    },
    /// No whole answer within the time allowed.
    #[error("{0}: no answer within {TIMEOUT:?}")]
    Timeout(String),
}

/// `GET url` (plain `http://` only): the status and the whole body.
pub async fn get(url: &str) -> Result<(StatusCode, Bytes), ClientError> {
    tokio::time::timeout(TIMEOUT, exchange(url))
        .await
        .map_err(|_| ClientError::Timeout(url.to_string()))?
}

async fn exchange(url: &str) -> Result<(StatusCode, Bytes), ClientError> {
    let uri: Uri = url.parse().map_err(|_| ClientError::Url(url.into()))?;
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority().cloned()) else {
        return Err(ClientError::Url(url.into()));
    };
    let address = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let io = |source| ClientError::Io {
        url: url.into(),
        source,
    };
    let http = |source| ClientError::Http {
        url: url.into(),
        source,
    };
    let stream = TcpStream::connect(address).await.map_err(io)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|_| ClientError::Url(url.into()))?;
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(http)?;
    Ok((status, body.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{json, serve};

    #[tokio::test]
    async fn a_get_reads_what_the_server_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(serve(listener, |req: hyper::Request<_>| async move {
            match crate::read_only(&req) {
                Some(refused) => refused,
                None => json(
                    StatusCode::OK,
                    &serde_json::json!({ "path": req.uri().path() }),
                ),
            }
        }));
        let (status, body) = get(&format!("http://127.0.0.1:{port}/devices/SN-1"))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..], br#"{"path":"/devices/SN-1"}"#);
        assert!(matches!(
            get("ftp://127.0.0.1/").await,
            Err(ClientError::Url(_))
        ));
        server.abort();
        let refused = get(&format!("http://127.0.0.1:{}/", free_port())).await;
        assert!(
            matches!(refused, Err(ClientError::Io { .. })),
            "{refused:?}"
        );
    }

    /// A port nothing listens on.
    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }
}
