//! The operator's JSON endpoint (plain HTTP, meant for loopback): `GET /devices` lists
//! each device that reported progress with where it stands, `GET /devices/<serial>`
//! adds its reports, `GET /counters` the bootstrap server's counters.

use std::sync::Arc;

use serde_json::json;
use tokio::net::TcpListener;
use zerotouch_http::{Incoming, Request, Response, StatusCode};

use super::Shared;

fn json_response(status: StatusCode, value: serde_json::Value) -> Response {
    zerotouch_http::json(status, &value)
}

async fn answer(req: Request<Incoming>, shared: Arc<Shared>) -> Response {
    if let Some(refused) = zerotouch_http::read_only(&req) {
        return refused;
    }
    let path = req.uri().path().to_string();
    if path == "/counters" {
        let counters: serde_json::Map<_, _> = shared
            .counters
            .snapshot()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        return json_response(StatusCode::OK, serde_json::Value::Object(counters));
    }
    let reports = shared.reports.clone();
    let serial = path.strip_prefix("/devices/").map(str::to_string);
    if path != "/devices" && serial.is_none() {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "try /devices, /devices/<serial> or /counters"}),
        );
    }
    let result = tokio::task::spawn_blocking(move || match serial {
        None => reports.devices().map(|d| Some(json!({ "devices": d }))),
        Some(serial) => Ok(match reports.status(&serial)? {
            None => None,
            Some(status) => Some(json!({
                "device": status,
                "reports": reports.reports(&serial)?,
                "requests": reports.requests(&serial)?,
            })),
        }),
    })
    .await;
    match result {
        Ok(Ok(Some(v))) => json_response(StatusCode::OK, v),
        Ok(Ok(None)) => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "no reports or requests from this device"}),
        ),
        Ok(Err(e)) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "failed"}),
        ),
    }
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    zerotouch_http::serve(listener, move |req| answer(req, shared.clone())).await
}
