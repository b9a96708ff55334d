//! The metrics endpoint: `GET /metrics` (or `HEAD`) answers the exposition, any other
//! path 404, other methods 405 (the HTTP itself is `zerotouch-http`'s).

use std::sync::Arc;

use tokio::net::TcpListener;
use zerotouch_http::{Incoming, Request, Response, StatusCode};
use zerotouch_plugin::ServiceHost;

use crate::Seen;

/// The Prometheus text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4";

pub(crate) async fn serve(listener: TcpListener, host: ServiceHost, seen: Arc<Seen>) {
    zerotouch_http::serve(listener, move |req| answer(req, host.clone(), seen.clone())).await
}

async fn answer(req: Request<Incoming>, host: ServiceHost, seen: Arc<Seen>) -> Response {
    if let Some(refused) = zerotouch_http::read_only(&req) {
        return refused;
    }
    if req.uri().path() != "/metrics" {
        return zerotouch_http::text(StatusCode::NOT_FOUND, EXPOSITION, "try /metrics\n");
    }
    // Reading the lease table (the first time) is blocking I/O.
    match tokio::task::spawn_blocking(move || super::exposition::render(&host, &seen)).await {
        Ok(body) => zerotouch_http::text(StatusCode::OK, EXPOSITION, body),
        Err(_) => zerotouch_http::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            EXPOSITION,
            "rendering failed\n",
        ),
    }
}
