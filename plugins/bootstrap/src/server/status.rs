//! The operator's JSON endpoint (plain HTTP, meant for loopback): `GET /devices` lists
//! each device that reported progress with where it stands, `GET /devices/<serial>`
//! adds its reports, `GET /counters` the bootstrap server's counters.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use super::Shared;
use super::body::{Body, with_body};

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    with_body(status, "application/json", value.to_string())
}

async fn answer(req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    if req.method() != Method::GET {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "GET only"}));
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
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(req, shared).await) }
            });
            let _ = super::http1_builder()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}
