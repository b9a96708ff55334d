//! The operator endpoints' HTTP: plain HTTP/1.1 with keep-alive, meant for loopback.
//! [`serve`] answers every request on a listener with one function, bounding the
//! connections and the time a request head may take; [`json`] and [`text`] build the
//! answers; [`get`] is the client `zerotouchctl` reads the endpoints with.
//!
//! The metrics plugin (`/metrics`), the bootstrap plugin's status endpoint and the
//! syslog plugin's recent lines are served by it.

#![warn(missing_docs)]

mod client;
mod server;

pub use client::{ClientError, get};
pub use hyper::body::Incoming;
pub use hyper::{Method, Request, StatusCode};
pub use server::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS, Response, json, read_only, serve, text};
