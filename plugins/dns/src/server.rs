//! Answering one message: it is read (bad input counted by reason: FORMERR or dropped),
//! rate-limited over UDP, looked up in the zones as they are now (a reload swaps them
//! whole), and the answer encoded within what the transport carries: truncated (TC) on
//! UDP past the client's EDNS payload size, or 512 octets without EDNS.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder,
};
use hickory_server::server::Request;
use hickory_server::zone_handler::{MessageResponse, MessageResponseBuilder};
use tracing::debug;

use crate::counts::{Bad, Counts};
use crate::devices::Devices;
use crate::leased::SharedLeased;
use crate::rrl::{Limiter, Verdict};
use crate::zone::{Answer, Dynamic, Zones};

/// The zones served, swapped whole when the settings are reloaded.
pub(crate) type Shared = Arc<RwLock<Arc<Zones>>>;

/// The EDNS payload size this server offers, and the largest answer it sends over UDP:
/// 1232 octets fit an IPv6 packet without fragments (DNS flag day 2020). A larger
/// answer is truncated, and the client asks again over TCP.
pub(crate) const UDP_PAYLOAD: u16 = 1232;

/// Answers queries from the zones; shared by every listener.
pub(crate) struct Handler {
    pub(crate) zones: Shared,
    pub(crate) leased: SharedLeased,
    pub(crate) devices: Arc<Devices>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) counts: Arc<Counts>,
}

impl Handler {
    fn zones(&self) -> Arc<Zones> {
        self.zones
            .read()
            .map(|z| z.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The answer to message `raw` from `src`, or `None` when nothing is sent back.
    pub(crate) fn handle(
        &self,
        raw: &[u8],
        src: SocketAddr,
        protocol: Protocol,
    ) -> Option<Vec<u8>> {
        let Ok(header) = Header::read(&mut BinDecoder::new(raw)) else {
            self.counts.bad(Bad::ShortHeader);
            return None;
        };
        if header.metadata.message_type == MessageType::Response {
            self.counts.bad(Bad::NotAQuery);
            return None;
        }
        let mut metadata = Metadata::response_from_request(&header.metadata);
        metadata.recursion_available = false;
        if protocol == Protocol::Udp {
            match self.limiter.check(src.ip(), Instant::now()) {
                Verdict::Answer => {}
                Verdict::Drop => return None,
                Verdict::Slip => {
                    // Empty and truncated: a real client asks again over TCP.
                    metadata.truncation = true;
                    return Some(bare(metadata));
                }
            }
        }
        let request = match Request::from_bytes(raw.to_vec(), src, protocol) {
            Ok(r) => r,
            Err(e) => {
                let why = Bad::of(&e);
                debug!(%src, reason = why.name(), "dns: FORMERR: {e}");
                self.counts.bad(why);
                metadata.response_code = ResponseCode::FormErr;
                return Some(bare(metadata));
            }
        };
        Some(self.answer(&request, metadata))
    }

    /// The answer to a query that was read.
    fn answer(&self, request: &Request, mut metadata: Metadata) -> Vec<u8> {
        let mut builder = MessageResponseBuilder::from_message_request(request);
        // RFC 6891: a query with OPT gets OPT back, with this server's payload size.
        let edns = request.edns.as_ref().map(|_| {
            let mut ours = Edns::new();
            ours.set_max_payload(UDP_PAYLOAD);
            ours
        });
        if let Some(e) = &edns {
            builder.edns(e);
        }
        let limit = match request.protocol() {
            Protocol::Udp => request
                .edns
                .as_ref()
                .map_or(512, |e| e.max_payload().clamp(512, UDP_PAYLOAD)),
            _ => u16::MAX,
        };
        let query = match request.request_info() {
            Ok(info)
                if request.metadata.message_type == MessageType::Query
                    && request.metadata.op_code == OpCode::Query =>
            {
                info.query
            }
            Ok(_) => {
                metadata.response_code = ResponseCode::NotImp;
                return encode(builder.build_no_records(metadata), limit);
            }
            Err(_) => {
                self.counts.bad(Bad::QuestionCount);
                metadata.response_code = ResponseCode::FormErr;
                return encode(builder.build_no_records(metadata), limit);
            }
        };
        let zones = self.zones();
        // The lock is held for the lookup and the encoding, which never wait (a
        // device's artifacts may be built: a file read, kept a few seconds).
        let leased = self.leased.read().unwrap_or_else(|p| p.into_inner());
        let dynamic = Dynamic {
            asked: query.original().name(),
            leased: &leased,
            devices: &self.devices,
            now: Instant::now(),
        };
        let none: [&Record; 0] = [];
        match zones.answer(query.name(), query.query_type(), &dynamic) {
            Answer::Refused => {
                debug!(name = %query.name(), "dns: refused: in no zone of this server");
                metadata.response_code = ResponseCode::Refused;
                encode(builder.build_no_records(metadata), limit)
            }
            Answer::Found {
                answers,
                additionals,
            } => {
                metadata.authoritative = true;
                let answers = answers.iter().map(|r| r.as_ref());
                let additionals = additionals.iter().map(|r| r.as_ref());
                encode(
                    builder.build(metadata, answers, none, none, additionals),
                    limit,
                )
            }
            Answer::NoData { soa } => {
                metadata.authoritative = true;
                encode(builder.build(metadata, none, none, [soa], none), limit)
            }
            Answer::NxDomain { soa } => {
                metadata.authoritative = true;
                metadata.response_code = ResponseCode::NXDomain;
                encode(builder.build(metadata, none, none, [soa], none), limit)
            }
        }
    }
}

/// A header alone: the answer to what has no question to repeat.
fn bare(metadata: Metadata) -> Vec<u8> {
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut out = Vec::with_capacity(12);
    // Twelve octets into a vector: this cannot fail.
    let _ = header.emit(&mut BinEncoder::new(&mut out));
    out
}

/// `response` in wire format within `limit` octets: records that do not fit are left
/// out and the TC bit set. An answer that cannot be encoded is SERVFAIL.
fn encode<'q, 'a>(
    response: MessageResponse<
        'q,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    limit: u16,
) -> Vec<u8> {
    let mut metadata = *response.metadata();
    let mut out = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_max_size(limit);
    match response.destructive_emit(&mut encoder) {
        Ok(_) => out,
        Err(e) => {
            tracing::warn!("dns: cannot encode an answer: {e}");
            metadata.response_code = ResponseCode::ServFail;
            metadata.authoritative = false;
            bare(metadata)
        }
    }
}
