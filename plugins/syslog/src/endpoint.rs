//! The operator's JSON endpoint (`status_listen`, plain HTTP: keep it on loopback):
//! `GET /devices` lists the devices whose lines are kept, the one that logged last
//! first; `GET /devices/<serial|mac|address>` one device's last lines, oldest first;
//! `GET /counters` the plugin's counters.

use std::sync::{Arc, Mutex};

use percent_encoding::percent_decode_str;
use serde_json::json;
use tokio::net::TcpListener;
use zerotouch_http::{Incoming, Request, Response, StatusCode};

use crate::recent::Recent;

/// What the endpoint reads.
pub(crate) struct Shared {
    pub recent: Arc<Mutex<Recent>>,
    /// The plugin's counters, as `counters()` gives them.
    pub counters: Box<dyn Fn() -> Vec<(&'static str, u64)> + Send + Sync>,
}

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    zerotouch_http::serve(listener, move |req| {
        let shared = shared.clone();
        async move { answer(&req, &shared) }
    })
    .await
}

fn answer(req: &Request<Incoming>, shared: &Shared) -> Response {
    if let Some(refused) = zerotouch_http::read_only(req) {
        return refused;
    }
    let path = req.uri().path();
    let error = |status, text: &str| zerotouch_http::json(status, &json!({ "error": text }));
    if path == "/counters" {
        let counters: serde_json::Map<String, serde_json::Value> = (shared.counters)()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        return zerotouch_http::json(StatusCode::OK, &counters);
    }
    let Ok(recent) = shared.recent.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "a lock was poisoned");
    };
    if path == "/devices" {
        return zerotouch_http::json(StatusCode::OK, &json!({ "devices": recent.devices() }));
    }
    let Some(query) = path.strip_prefix("/devices/") else {
        return error(
            StatusCode::NOT_FOUND,
            "try /devices, /devices/<serial|mac|address> or /counters",
        );
    };
    let query = percent_decode_str(query).decode_utf8_lossy();
    match recent.lines(&query) {
        Some((device, lines)) => {
            zerotouch_http::json(StatusCode::OK, &json!({ "device": device, "lines": lines }))
        }
        None => error(
            StatusCode::NOT_FOUND,
            "no lines kept from this device (not known by that serial, MAC or address, or it has not logged)",
        ),
    }
}
