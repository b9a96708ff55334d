//! What the responder sends for a query (RFC 6762 §6): the records asked for, with the
//! DNS-SD additional records, minus those the querier says it knows (known-answer
//! suppression, §7.1); to the group, to the querier when it set the QU bit (§5.4), or as
//! a plain DNS answer when it asked from a port other than 5353 (a "legacy" querier
//! such as `dig -p 5353 @224.0.0.251`, §6.7: its ID and question, no cache-flush bit,
//! TTLs of at most 10 s). Unique records (all but PTR and the shared
//! `_sztp._tcp.local` SRV) carry the cache-flush bit. A message is at most 9000 octets
//! (§17): answers that do not fit one go in several.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, emit_message_parts};
use hickory_proto::rr::{DNSClass, LowerName, Name, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;

use super::link::PORT;
use crate::devices::Devices;
use crate::leased::Leased;
use crate::zone::{Answer, Dynamic, Zone};

/// The largest mDNS message (RFC 6762 §17).
pub(crate) const MAX_MESSAGE: u16 = 9000;
/// The longest TTL a legacy querier gets (RFC 6762 §6.7).
const LEGACY_TTL: u32 = 10;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    /// The mDNS group of the link it came from.
    Group,
    /// One address.
    To(SocketAddr),
}

/// A message to send.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub dest: Dest,
    pub bytes: Vec<u8>,
    /// Shared records answer after 20–120 ms (§6), so the answers of several
    /// responders aggregate; unique ones at once.
    pub delayed: bool,
}

/// What the responder knows when a query comes.
pub(crate) struct View<'a> {
    pub zone: &'a Zone,
    pub devices: &'a Devices,
    /// Unique names not (yet) answered for: being probed, or in conflict.
    pub blocked: &'a HashSet<LowerName>,
    pub now: Instant,
}

/// Whether `r` is unique to this responder (cache-flush, probed) or shared.
pub(crate) fn unique(r: &Record) -> bool {
    r.record_type() != RecordType::PTR && !is_service(&r.name)
}

/// `_sztp._tcp.local.`: RFC 8572's device-independent SRV lives there, and several
/// bootstrap networks' responders may each publish one.
fn is_service(name: &Name) -> bool {
    let mut labels = name.iter();
    matches!((labels.next(), labels.next(), labels.next(), labels.next()),
        (Some(a), Some(b), Some(c), None) if a.eq_ignore_ascii_case(b"_sztp") && b.eq_ignore_ascii_case(b"_tcp") && c.eq_ignore_ascii_case(b"local"))
}

/// The answers to `query` from `src`; none when there is nothing to say.
pub(crate) fn respond(view: &View<'_>, query: &Message, src: SocketAddr) -> Vec<Outgoing> {
    if query.metadata.message_type != MessageType::Query || query.metadata.op_code != OpCode::Query
    {
        return Vec::new();
    }
    let legacy = src.port() != PORT;
    let leased = Leased::default();
    let (mut answers, mut additionals): (Vec<Record>, Vec<Record>) = (Vec::new(), Vec::new());
    let mut all_qu = true;
    for q in &query.queries {
        if !matches!(q.query_class(), DNSClass::IN | DNSClass::ANY) {
            continue;
        }
        all_qu &= q.mdns_unicast_response();
        let dynamic = Dynamic {
            asked: q.name(),
            leased: &leased,
            devices: view.devices,
            now: view.now,
        };
        let name = LowerName::from(q.name());
        if view.blocked.contains(&name) {
            continue;
        }
        if let Answer::Found {
            answers: a,
            additionals: d,
        } = view.zone.answer(&name, q.query_type(), &dynamic)
        {
            for r in a {
                if !answers.contains(&r) {
                    answers.push(r.into_owned());
                }
            }
            for r in d {
                if !view.blocked.contains(&LowerName::from(&r.name)) && !additionals.contains(&r) {
                    additionals.push(r.into_owned());
                }
            }
        }
    }
    if !legacy {
        // Known answers: what the querier holds with at least half our TTL (§7.1).
        answers.retain(|r| {
            !query
                .answers
                .iter()
                .any(|k| k.name == r.name && k.data == r.data && k.ttl >= r.ttl / 2)
        });
    }
    additionals.retain(|r| !answers.contains(r));
    if answers.is_empty() {
        return Vec::new();
    }
    if legacy {
        // A plain DNS answer: the querier's ID and question, short TTLs, no bits.
        let cap = |r: &mut Record| {
            r.ttl = r.ttl.min(LEGACY_TTL);
            r.mdns_cache_flush = false;
        };
        answers.iter_mut().for_each(cap);
        additionals.iter_mut().for_each(cap);
        let limit = query
            .edns
            .as_ref()
            .map_or(512, |e| e.max_payload().clamp(512, MAX_MESSAGE));
        let edns = query.edns.as_ref().map(|_| {
            let mut ours = Edns::new();
            ours.set_max_payload(MAX_MESSAGE);
            ours
        });
        let mut metadata = Metadata::response_from_request(&query.metadata);
        metadata.authoritative = true;
        metadata.recursion_available = false;
        let bytes = encode(
            &metadata,
            &query.queries,
            &answers,
            &additionals,
            edns.as_ref(),
            limit,
        )
        .0;
        return vec![Outgoing {
            dest: Dest::To(src),
            bytes,
            delayed: false,
        }];
    }
    let dest = if all_qu { Dest::To(src) } else { Dest::Group };
    let delayed = dest == Dest::Group && answers.iter().any(|r| !unique(r));
    response(&answers, &additionals)
        .into_iter()
        .map(|bytes| Outgoing {
            dest,
            bytes,
            delayed,
        })
        .collect()
}

/// An mDNS response (ID 0, no question, authoritative) carrying `answers`, with the
/// cache-flush bit on the unique ones: one message when they fit 9000 octets with the
/// additional records, else the answers alone, as many to a message as fit.
pub(crate) fn response(answers: &[Record], additionals: &[Record]) -> Vec<Vec<u8>> {
    let flagged = |rs: &[Record]| -> Vec<Record> {
        rs.iter()
            .map(|r| {
                let mut r = r.clone();
                r.mdns_cache_flush = unique(&r);
                r
            })
            .collect()
    };
    let (answers, additionals) = (flagged(answers), flagged(additionals));
    let mut metadata = Metadata::new(0, MessageType::Response, OpCode::Query);
    metadata.authoritative = true;
    let (whole, truncated) = encode(&metadata, &[], &answers, &additionals, None, MAX_MESSAGE);
    if !truncated {
        return vec![whole];
    }
    let mut out = Vec::new();
    let mut rest: &[Record] = &answers;
    while !rest.is_empty() {
        let (mut bytes, truncated) = encode(&metadata, &[], rest, &[], None, MAX_MESSAGE);
        // The rest follows in the next message: not a truncation to the receiver.
        bytes[2] &= !0x02;
        let written = usize::from(u16::from_be_bytes([bytes[6], bytes[7]]));
        if written == 0 {
            // One record larger than a message: it cannot go by mDNS at all.
            tracing::debug!(name = %rest[0].name, "dns: an mDNS record over 9000 octets is left out");
            rest = &rest[1..];
            continue;
        }
        out.push(bytes);
        rest = if truncated { &rest[written..] } else { &[] };
    }
    out
}

/// `records` with TTL 0: their goodbye (§10.1).
pub(crate) fn goodbye(records: &[Record]) -> Vec<Vec<u8>> {
    let gone: Vec<Record> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.ttl = 0;
            r
        })
        .collect();
    response(&gone, &[])
}

/// A probe (§8.1) for `names`: a query for each, type ANY, asking for a unicast answer
/// when `first`, with the records this responder means to publish in the authority
/// section.
pub(crate) fn probe(names: &[Name], records: &[Record], first: bool) -> Vec<u8> {
    let queries: Vec<Query> = names
        .iter()
        .map(|n| {
            let mut q = Query::query(n.clone(), RecordType::ANY);
            q.set_mdns_unicast_response(first);
            q
        })
        .collect();
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.queries = queries;
    message.authorities = records.to_vec();
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_max_size(MAX_MESSAGE);
    // A probe's records fit: they are the ones that fit a response.
    let _ = hickory_proto::serialize::binary::BinEncodable::emit(&message, &mut encoder);
    out
}

/// Encodes a message within `limit` octets: the bytes, and whether records were left
/// out.
fn encode(
    metadata: &Metadata,
    queries: &[Query],
    answers: &[Record],
    additionals: &[Record],
    edns: Option<&Edns>,
    limit: u16,
) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_max_size(limit);
    let none: [Record; 0] = [];
    match emit_message_parts(
        metadata,
        &mut queries.iter(),
        &mut answers.iter(),
        &mut none.iter(),
        &mut additionals.iter(),
        edns,
        None,
        &mut encoder,
    ) {
        Ok(header) => (out, header.metadata.truncation),
        Err(e) => {
            tracing::debug!("dns: cannot encode an mDNS message: {e}");
            let mut header = Vec::new();
            let _ = emit_message_parts(
                metadata,
                &mut none.iter(),
                &mut none.iter(),
                &mut none.iter(),
                &mut none.iter(),
                None,
                None,
                &mut BinEncoder::new(&mut header),
            );
            (header, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::RData;
    use hickory_proto::serialize::binary::BinDecodable;
    use zerotouch_plugin::Settings;

    use super::*;
    use crate::settings::DnsSettings;

    /// The `local.` zone of a zone with one bootstrap server and one device whose
    /// conveyed information is `ci` octets long.
    fn local(ci: usize) -> (Zone, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ci.cms"), vec![b'x'; ci]).unwrap();
        let text = format!(
            "listen = [\"127.0.0.1:5300\"]\nmdns = {{ interfaces = [\"lo\"] }}\n[[zone]]\nname = \"sztp.example\"\nnameservers = [{{ name = \"ns1.sztp.example\" }}]\nbootstrap_server = [{{ target = \"bs1.sztp.example\", port = 8443, addresses = [\"198.18.0.1\"] }}]\ndevice = [{{ serial = \"SN-1\", conveyed_information = \"{}\" }}]\n",
            dir.path().join("ci.cms").display()
        );
        let settings = Settings::standalone(&text, "dns");
        let s = DnsSettings::read(&settings).unwrap();
        let (_, z) = s.mdns_zone().unwrap();
        (Zone::local(z, "zone[0]", 120, &settings).unwrap(), dir)
    }

    fn ask(name: &str, rtype: RecordType, qu: bool) -> Message {
        let mut q = Query::query(Name::from_ascii(name).unwrap(), rtype);
        q.set_mdns_unicast_response(qu);
        let mut m = Message::new(7, MessageType::Query, OpCode::Query);
        m.queries.push(q);
        m
    }

    fn answer(zone: &Zone, query: &Message, src: &str) -> Vec<(Dest, Message)> {
        let devices = Devices::default();
        let blocked = HashSet::new();
        let view = View {
            zone,
            devices: &devices,
            blocked: &blocked,
            now: Instant::now(),
        };
        respond(&view, query, src.parse().unwrap())
            .into_iter()
            .map(|o| (o.dest, Message::from_bytes(&o.bytes).unwrap()))
            .collect()
    }

    #[test]
    fn a_browse_goes_to_the_group_with_the_instance_and_its_address() {
        let (zone, _dir) = local(10);
        let got = answer(
            &zone,
            &ask("_sztp._tcp.local.", RecordType::PTR, false),
            "198.18.0.2:5353",
        );
        assert_eq!(got.len(), 1);
        let (dest, m) = &got[0];
        assert_eq!(*dest, Dest::Group);
        assert_eq!(m.metadata.id, 0);
        assert!(m.queries.is_empty());
        assert!(m.metadata.authoritative);
        let RData::PTR(ptr) = &m.answers[0].data else {
            panic!("{m:?}")
        };
        assert_eq!(ptr.0.to_string(), "bs1._sztp._tcp.local.");
        assert!(!m.answers[0].mdns_cache_flush, "a PTR is shared");
        let srv = m
            .additionals
            .iter()
            .find(|r| r.record_type() == RecordType::SRV)
            .unwrap();
        assert!(srv.mdns_cache_flush, "an instance's SRV is unique");
        let RData::SRV(s) = &srv.data else { panic!() };
        assert_eq!(s.target.to_string(), "bs1.local.");
        assert!(
            m.additionals
                .iter()
                .any(|r| r.name.to_string() == "bs1.local." && r.record_type() == RecordType::A)
        );
    }

    #[test]
    fn a_legacy_querier_gets_a_plain_answer_to_its_port_and_a_qu_querier_a_unicast_one() {
        let (zone, _dir) = local(10);
        let query = ask("SN-1._sztp.local.", RecordType::TXT, false);
        let got = answer(&zone, &query, "198.18.0.2:40000");
        let (dest, m) = &got[0];
        assert_eq!(*dest, Dest::To("198.18.0.2:40000".parse().unwrap()));
        assert_eq!(m.metadata.id, 7, "the querier's ID");
        assert_eq!(m.queries.len(), 1, "its question");
        assert!(m.answers[0].ttl <= 10);
        assert!(!m.answers[0].mdns_cache_flush);
        let qu = answer(
            &zone,
            &ask("SN-1._sztp.local.", RecordType::TXT, true),
            "198.18.0.2:5353",
        );
        assert_eq!(qu[0].0, Dest::To("198.18.0.2:5353".parse().unwrap()));
        assert!(qu[0].1.answers[0].mdns_cache_flush);
        assert!(
            answer(
                &zone,
                &ask("other.local.", RecordType::A, false),
                "198.18.0.2:5353"
            )
            .is_empty()
        );
    }

    #[test]
    fn what_the_querier_knows_is_not_answered_again() {
        let (zone, _dir) = local(10);
        let mut query = ask("_sztp._tcp.local.", RecordType::PTR, false);
        let first = answer(&zone, &query, "198.18.0.2:5353");
        query.answers = first[0].1.answers.clone();
        assert!(answer(&zone, &query, "198.18.0.2:5353").is_empty());
        // With under half the TTL left, it is answered.
        query.answers.iter_mut().for_each(|r| r.ttl = 10);
        assert_eq!(answer(&zone, &query, "198.18.0.2:5353").len(), 1);
    }

    #[test]
    fn records_past_9000_octets_go_in_more_messages_and_one_too_large_in_none() {
        let (zone, _dir) = local(5000);
        let mut records: Vec<Record> = zone.records().cloned().collect();
        let txt = records
            .iter()
            .find(|r| r.record_type() == RecordType::TXT && r.name.to_string().starts_with("SN-1"))
            .unwrap()
            .clone();
        records.push({
            let mut r = txt.clone();
            r.name = Name::from_ascii("SN-2._sztp.local.").unwrap();
            r
        });
        let messages = response(&records, &[]);
        assert_eq!(messages.len(), 2, "two 5 KB records do not fit one message");
        let total: usize = messages
            .iter()
            .map(|m| Message::from_bytes(m).unwrap().answers.len())
            .sum();
        assert_eq!(total, records.len());
        assert!(messages.iter().all(|m| m.len() <= 9000 && m[2] & 0x02 == 0));
        let (big, _dir) = local(9500);
        let all: Vec<Record> = big.records().cloned().collect();
        let sent: usize = response(&all, &[])
            .iter()
            .map(|m| Message::from_bytes(m).unwrap().answers.len())
            .sum();
        assert_eq!(sent, all.len() - 1, "the 9.5 KB record cannot go");
    }

    #[test]
    fn a_probe_asks_for_any_with_our_records_in_the_authority_section() {
        let (zone, _dir) = local(10);
        let name = Name::from_ascii("bs1.local.").unwrap();
        let records: Vec<Record> = zone.at(&LowerName::from(&name)).to_vec();
        let m = Message::from_bytes(&probe(&[name], &records, true)).unwrap();
        assert_eq!(m.queries[0].query_type(), RecordType::ANY);
        assert!(m.queries[0].mdns_unicast_response());
        assert_eq!(m.authorities, records);
        let goodbye = Message::from_bytes(&goodbye(&records)[0]).unwrap();
        assert!(goodbye.answers.iter().all(|r| r.ttl == 0));
    }
}
