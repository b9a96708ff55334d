//! Answering queries: each one is looked up in the zones as they are now (a reload
//! swaps them whole), answered authoritatively, and refused outside them.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tracing::debug;

use crate::leased::SharedLeased;
use crate::rrl::{Limiter, Verdict};
use crate::zone::{Answer, Zones};

/// The zones served, swapped whole when the settings are reloaded.
pub(crate) type Shared = Arc<RwLock<Arc<Zones>>>;

/// hickory's request handler over the zones.
pub(crate) struct Handler {
    pub(crate) zones: Shared,
    pub(crate) leased: SharedLeased,
    pub(crate) limiter: Arc<Limiter>,
}

impl Handler {
    fn zones(&self) -> Arc<Zones> {
        self.zones
            .read()
            .map(|z| z.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// What hickory is told of an answer that did not go out (dropped, or failed to send).
fn unsent(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = false;
        if request.protocol() == Protocol::Udp {
            match self.limiter.check(request.src().ip(), Instant::now()) {
                Verdict::Answer => {}
                Verdict::Drop => return unsent(metadata),
                Verdict::Slip => {
                    // Empty and truncated: a real client asks again over TCP.
                    metadata.truncation = true;
                    let builder = MessageResponseBuilder::from_message_request(request);
                    return response
                        .send_response(builder.build_no_records(metadata))
                        .await
                        .unwrap_or_else(|_| unsent(metadata));
                }
            }
        }
        let mut builder = MessageResponseBuilder::from_message_request(request);
        // RFC 6891: a query with OPT gets OPT back, with this server's payload size.
        let edns = request.edns.as_ref().map(|e| {
            let mut ours = Edns::new();
            ours.set_max_payload(e.max_payload().max(512));
            ours
        });
        if let Some(e) = &edns {
            builder.edns(e);
        }
        let zones = self.zones();
        let query = match request.request_info() {
            Ok(info)
                if request.metadata.message_type == MessageType::Query
                    && request.metadata.op_code == OpCode::Query =>
            {
                Some(info.query)
            }
            Ok(_) => {
                metadata.response_code = ResponseCode::NotImp;
                None
            }
            // No question, or several.
            Err(_) => {
                metadata.response_code = ResponseCode::FormErr;
                None
            }
        };
        let answer = query.map(|q| {
            // The lock is held for the lookup only, never across the send below.
            let leased = self.leased.read().unwrap_or_else(|p| p.into_inner());
            (q, zones.answer(q.name(), q.query_type(), &leased))
        });
        let sent = match answer {
            None => {
                response
                    .send_response(builder.build_no_records(metadata))
                    .await
            }
            Some((q, Answer::Refused)) => {
                debug!(name = %q.name(), "refused: in no zone of this server");
                metadata.response_code = ResponseCode::Refused;
                response
                    .send_response(builder.build_no_records(metadata))
                    .await
            }
            Some((
                _,
                Answer::Found {
                    answers,
                    additionals,
                },
            )) => {
                metadata.authoritative = true;
                let none: [&_; 0] = [];
                let answers = answers.iter().map(|r| r.as_ref());
                let additionals = additionals.iter().map(|r| r.as_ref());
                response
                    .send_response(builder.build(metadata, answers, none, none, additionals))
                    .await
            }
            Some((_, Answer::NoData { soa })) => {
                metadata.authoritative = true;
                let none: [&_; 0] = [];
                response
                    .send_response(builder.build(metadata, none, none, [soa], none))
                    .await
            }
            Some((_, Answer::NxDomain { soa })) => {
                metadata.authoritative = true;
                metadata.response_code = ResponseCode::NXDomain;
                let none: [&_; 0] = [];
                response
                    .send_response(builder.build(metadata, none, none, [soa], none))
                    .await
            }
        };
        sent.unwrap_or_else(|e| {
            debug!("cannot send a DNS answer: {e}");
            let mut failed = Metadata::response_from_request(&request.metadata);
            failed.response_code = ResponseCode::ServFail;
            unsent(failed)
        })
    }
}
