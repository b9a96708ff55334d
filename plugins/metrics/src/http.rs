//! The metrics listener: HTTP/1.1 (hyper, keep-alive), `GET /metrics` (or `HEAD`)
//! answers the exposition, any other path 404, other methods 405; a connection whose
//! request head takes longer than [`READ_TIMEOUT`] is dropped.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use zerotouch_plugin::ServiceHost;

use crate::Seen;

const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The Prometheus text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4";

pub(crate) async fn serve(listener: TcpListener, host: ServiceHost, seen: Arc<Seen>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (host, seen) = (host.clone(), seen.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (host, seen) = (host.clone(), seen.clone());
                async move { Ok::<_, Infallible>(answer(req, host, seen).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(EXPOSITION));
    r
}

async fn answer(
    req: Request<Incoming>,
    host: ServiceHost,
    seen: Arc<Seen>,
) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            // Reading the lease table (the first time) is blocking I/O.
            match tokio::task::spawn_blocking(move || super::exposition::render(&host, &seen)).await
            {
                Ok(body) => text(StatusCode::OK, body),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
            }
        }
        (&Method::GET | &Method::HEAD, _) => text(StatusCode::NOT_FOUND, "try /metrics\n"),
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
    }
}
