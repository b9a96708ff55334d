//! Where a request goes: host-meta, the two RPCs, boot images; anything else is a
//! RESTCONF 404 or 405.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};

use super::body::{Body, with_body};
use super::rpc::{self, Rpc};
use super::{Peer, Shared, images};
use crate::restconf::{Encoding, RestconfError, media};

const OPERATIONS: &str = "/restconf/operations/";
const GET_BOOTSTRAPPING_DATA: &str =
    "/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data";
const REPORT_PROGRESS: &str = "/restconf/operations/ietf-sztp-bootstrap-server:report-progress";

/// RFC 6415 host-meta naming the RESTCONF root (RFC 8040 §3.1).
const HOST_META: &str = "<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\"><Link rel=\"restconf\" href=\"/restconf\"/></XRD>";

/// The encoding errors go out in: what `Accept` asks for, else JSON.
pub(super) fn error_encoding(req_headers: &hyper::HeaderMap) -> Encoding {
    let accept = req_headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let content_type = req_headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let fallback = media::of_request(content_type, b"").unwrap_or(Encoding::Json);
    media::for_reply(accept, fallback).unwrap_or(Encoding::Json)
}

/// An error response, counted.
pub(super) fn error_response(
    shared: &Shared,
    e: &RestconfError,
    encoding: Encoding,
) -> Response<Body> {
    let c = &shared.counters;
    match e.status.as_u16() {
        401 => c.refused_unauthenticated.fetch_add(1, Ordering::Relaxed),
        429 => c.refused_too_many_failures.fetch_add(1, Ordering::Relaxed),
        404 if e.tag == crate::restconf::error::ErrorTag::DataMissing => {
            c.no_response_configured.fetch_add(1, Ordering::Relaxed)
        }
        500.. => c.server_errors.fetch_add(1, Ordering::Relaxed),
        // RFC 9646's request for a CSR is counted as `csr_requested`.
        400 if e.tag == crate::restconf::error::ErrorTag::MissingAttribute => 0,
        _ => c.refused_bad_request.fetch_add(1, Ordering::Relaxed),
    };
    let mut response = with_body(e.status, encoding.content_type(), e.body(encoding));
    let headers = response.headers_mut();
    match e.status.as_u16() {
        // The challenge a device may wait for before it sends Basic (RFC 9110 §11.6.1).
        401 => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        429 => {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("60"));
        }
        _ => {}
    }
    response
}

/// The HTTP Basic challenge of every 401.
const CHALLENGE: &str = "Basic realm=\"sztp-bootstrap\", charset=\"UTF-8\"";

pub(super) async fn handle(
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET | &Method::HEAD, "/.well-known/host-meta") => {
            with_body(StatusCode::OK, "application/xrd+xml", HOST_META)
        }
        (&Method::POST, GET_BOOTSTRAPPING_DATA) => {
            rpc::call(Rpc::GetBootstrappingData, req, shared, peer).await
        }
        (&Method::POST, REPORT_PROGRESS) => rpc::call(Rpc::ReportProgress, req, shared, peer).await,
        (_, GET_BOOTSTRAPPING_DATA | REPORT_PROGRESS) => {
            let e = RestconfError::method_not_allowed(format!(
                "{method} is not allowed: RPCs are invoked with POST"
            ));
            let mut r = error_response(shared, &e, error_encoding(req.headers()));
            r.headers_mut()
                .insert(ALLOW, hyper::header::HeaderValue::from_static("POST"));
            r
        }
        (_, p) if p.starts_with(OPERATIONS) => {
            let e = RestconfError::not_found(format!(
                "unknown RPC {:?}: this server has ietf-sztp-bootstrap-server:get-bootstrapping-data and :report-progress",
                &p[OPERATIONS.len()..]
            ));
            error_response(shared, &e, error_encoding(req.headers()))
        }
        (&Method::GET | &Method::HEAD, p) if p.starts_with("/images/") => {
            let active = shared.active();
            let encoding = error_encoding(req.headers());
            let Some(root) = active.config.images_dir.clone() else {
                return error_response(
                    shared,
                    &RestconfError::not_found("no images are served here"),
                    encoding,
                );
            };
            if let Err(e) = rpc::authenticate_only(shared, peer, req.headers()).await {
                return error_response(shared, &e, encoding);
            }
            match images::serve(&root, &p["/images/".len()..], &method, req.headers()).await {
                Some(r) => {
                    shared.counters.images_sent.fetch_add(1, Ordering::Relaxed);
                    r
                }
                None => error_response(
                    shared,
                    &RestconfError::not_found(format!("no image {p:?}")),
                    encoding,
                ),
            }
        }
        _ => error_response(
            shared,
            &RestconfError::not_found(format!("no resource {path:?}")),
            error_encoding(req.headers()),
        ),
    }
}
