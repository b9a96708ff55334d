//! Answering one message: it is read (bad input counted by reason: FORMERR or dropped),
//! rate-limited over UDP, looked up in the zones as they are now (a reload swaps them
//! whole), and the answer encoded within what the transport carries: truncated (TC) on
//! UDP past the client's EDNS payload size, or 512 octets without EDNS.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, Query, ResponseCode,
    emit_message_parts,
};
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder,
};
use hickory_server::server::Request;
use tracing::debug;

use crate::counts::{Bad, Counts};
use crate::devices::Devices;
use crate::forward::{Forwarder, Slot};
use crate::leased::SharedLeased;
use crate::rrl::{Limiter, Verdict};
use crate::zone::{Answer, Dynamic, Zones};

/// The zones served, swapped whole when the settings are reloaded.
pub(crate) type Shared = Arc<RwLock<Arc<Zones>>>;

/// The EDNS payload size this server offers, and the largest answer it sends over UDP:
/// 1232 octets fit an IPv6 packet without fragments (DNS flag day 2020). A larger
/// answer is truncated, and the client asks again over TCP.
pub(crate) const UDP_PAYLOAD: u16 = 1232;

/// Where names outside the zones go, when anywhere; swapped whole on a reload.
pub(crate) type SharedForwarder = Arc<RwLock<Option<Arc<Forwarder>>>>;

/// What to send back for a message.
pub(crate) enum Reply {
    /// This answer, now.
    Now(Vec<u8>),
    /// The upstream's answer to this query, or `failed` when none comes.
    Forward {
        query: Vec<u8>,
        forwarder: Arc<Forwarder>,
        slot: Slot,
        failed: Vec<u8>,
    },
}

impl Reply {
    /// The answer to send: this one, or the upstream's (`tcp`: the client asked over
    /// TCP), or SERVFAIL when no upstream answers.
    pub(crate) async fn resolve(self, tcp: bool) -> Vec<u8> {
        match self {
            Reply::Now(answer) => answer,
            Reply::Forward {
                query,
                forwarder,
                slot,
                failed,
            } => forwarder.forward(&query, tcp, slot).await.unwrap_or(failed),
        }
    }
}

/// Answers queries from the zones; shared by every listener.
pub(crate) struct Handler {
    pub(crate) zones: Shared,
    pub(crate) leased: SharedLeased,
    pub(crate) devices: Arc<Devices>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) counts: Arc<Counts>,
    pub(crate) forwarder: SharedForwarder,
}

impl Handler {
    fn zones(&self) -> Arc<Zones> {
        self.zones
            .read()
            .map(|z| z.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The answer to message `raw` from `src`, or `None` when nothing is sent back.
    pub(crate) fn handle(&self, raw: &[u8], src: SocketAddr, protocol: Protocol) -> Option<Reply> {
        let Ok(header) = Header::read(&mut BinDecoder::new(raw)) else {
            self.counts.bad(Bad::ShortHeader);
            return None;
        };
        if header.metadata.message_type == MessageType::Response {
            self.counts.bad(Bad::NotAQuery);
            return None;
        }
        let mut metadata = Metadata::response_from_request(&header.metadata);
        // One clock reading per message: the rate limit and the devices' records use it.
        let now = Instant::now();
        metadata.recursion_available = false;
        if protocol == Protocol::Udp {
            match self.limiter.check(src.ip(), now) {
                Verdict::Answer => {}
                Verdict::Drop => return None,
                Verdict::Slip => {
                    // Empty and truncated: a real client asks again over TCP.
                    metadata.truncation = true;
                    return Some(Reply::Now(bare(metadata)));
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
                return Some(Reply::Now(bare(metadata)));
            }
        };
        Some(self.answer(&request, raw, metadata, now))
    }

    /// The answer to a query that was read.
    fn answer(&self, request: &Request, raw: &[u8], mut metadata: Metadata, now: Instant) -> Reply {
        // RFC 6891: a query with OPT gets OPT back, with this server's payload size.
        let edns = request.edns.as_ref().map(|_| {
            let mut ours = Edns::new();
            ours.set_max_payload(UDP_PAYLOAD);
            ours
        });
        let limit = match request.protocol() {
            Protocol::Udp => request
                .edns
                .as_ref()
                .map_or(512, |e| e.max_payload().clamp(512, UDP_PAYLOAD)),
            _ => u16::MAX,
        };
        let out = Out {
            edns: edns.as_ref(),
            limit,
        };
        let query = match request.request_info() {
            Ok(info)
                if request.metadata.message_type == MessageType::Query
                    && request.metadata.op_code == OpCode::Query =>
            {
                info.query
            }
            Ok(info) => {
                metadata.response_code = ResponseCode::NotImp;
                return Reply::Now(out.encode(
                    &metadata,
                    Some(info.query.original()),
                    &[],
                    &[],
                    &[],
                ));
            }
            Err(_) => {
                self.counts.bad(Bad::QuestionCount);
                metadata.response_code = ResponseCode::FormErr;
                return Reply::Now(out.encode(&metadata, None, &[], &[], &[]));
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
            now,
        };
        let asked = Some(query.original());
        Reply::Now(
            match zones.answer(query.name(), query.query_type(), &dynamic) {
                Answer::Refused => {
                    let forwarder = self
                        .forwarder
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    if let Some(f) = forwarder.filter(|f| f.allows(request.src().ip())) {
                        let mut failed = metadata;
                        failed.response_code = ResponseCode::ServFail;
                        let failed = out.encode(&failed, asked, &[], &[], &[]);
                        return match f.slot() {
                            Some(slot) => Reply::Forward {
                                query: raw.to_vec(),
                                forwarder: f,
                                slot,
                                failed,
                            },
                            None => Reply::Now(failed),
                        };
                    }
                    debug!(name = %query.name(), "dns: refused: in no zone of this server");
                    metadata.response_code = ResponseCode::Refused;
                    out.encode(&metadata, asked, &[], &[], &[])
                }
                Answer::Found {
                    answers,
                    additionals,
                } => {
                    metadata.authoritative = true;
                    let answers: Vec<&Record> = answers.iter().map(|r| r.as_ref()).collect();
                    let additionals: Vec<&Record> =
                        additionals.iter().map(|r| r.as_ref()).collect();
                    out.encode(&metadata, asked, &answers, &[], &additionals)
                }
                Answer::NoData { soa } => {
                    metadata.authoritative = true;
                    out.encode(&metadata, asked, &[], &[soa], &[])
                }
                Answer::NxDomain { soa } => {
                    metadata.authoritative = true;
                    metadata.response_code = ResponseCode::NXDomain;
                    out.encode(&metadata, asked, &[], &[soa], &[])
                }
            },
        )
    }
}

/// How an answer goes out: with this OPT record, in at most `limit` octets.
struct Out<'e> {
    edns: Option<&'e Edns>,
    limit: u16,
}

impl Out<'_> {
    /// The answer in wire format: the question as it came (its name then compresses the
    /// records' names), then each section. Records past the limit are left out and the
    /// TC bit set; an answer that cannot be encoded is SERVFAIL.
    fn encode(
        &self,
        metadata: &Metadata,
        query: Option<&Query>,
        answers: &[&Record],
        authorities: &[&Record],
        additionals: &[&Record],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut out);
        encoder.set_max_size(self.limit);
        let emitted = emit_message_parts(
            metadata,
            &mut query.into_iter(),
            &mut answers.iter().copied(),
            &mut authorities.iter().copied(),
            &mut additionals.iter().copied(),
            self.edns,
            None,
            &mut encoder,
        );
        match emitted {
            Ok(_) => out,
            Err(e) => {
                tracing::warn!("dns: cannot encode an answer: {e}");
                let mut failed = *metadata;
                failed.response_code = ResponseCode::ServFail;
                failed.authoritative = false;
                bare(failed)
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

#[cfg(test)]
mod tests {
    use zerotouch_plugin::Settings;

    use super::*;
    use crate::rrl::RateLimit;
    use crate::settings::DnsSettings;

    fn handler() -> Handler {
        let text = "listen = [\"127.0.0.1:5300\"]\n[[zone]]\nname = \"sztp.example\"\nnameservers = [{ name = \"ns1.sztp.example\", addresses = [\"198.18.0.1\"] }]\n";
        let settings = Settings::standalone(text, "dns");
        let zones = Zones::build(&DnsSettings::read(&settings).unwrap(), &settings).unwrap();
        Handler {
            zones: Arc::new(RwLock::new(Arc::new(zones))),
            leased: Default::default(),
            devices: Default::default(),
            limiter: Arc::new(Limiter::new(RateLimit::default())),
            counts: Default::default(),
            forwarder: Default::default(),
        }
    }

    /// A query for `name` type A with an OPT record of payload 1232 (as dig sends).
    fn query(name: &str) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        q
    }

    #[test]
    fn an_answers_name_points_at_the_question() {
        let h = handler();
        let src = "198.18.0.2:4000".parse().unwrap();
        let q = query("ns1.sztp.example");
        let Some(Reply::Now(a)) = h.handle(&q, src, Protocol::Udp) else {
            panic!("no answer")
        };
        // Header, the question as asked, the A record with its name as a pointer to
        // the question's (2 octets), then the OPT record (11).
        let question = q.len() - 12 - 11;
        assert_eq!(a.len(), 12 + question + (2 + 10 + 4) + 11, "{a:02x?}");
        assert_eq!(&a[12 + question..12 + question + 2], &[0xc0, 12]);
        assert_eq!(a[3] & 0x0f, 0, "NOERROR");
        assert_ne!(a[2] & 0x04, 0, "authoritative");
    }
}
