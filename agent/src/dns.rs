//! DNS as a source (RFC 8572 §4.2), unicast: first the device's own TXT records at
//! `<serial>._sztp.<domain>` (`ci=`, `oc=`, `ov=`: the artifacts as raw binary, each
//! record's character-strings joined, then split at the first `=`; other keys
//! ignored), then the device-independent `_sztp._tcp.<domain>` SRV records (bootstrap
//! servers, lowest priority first). A truncated answer is asked again over TCP, as
//! signed data rarely fits a datagram. The same lookups go to multicast DNS in
//! `local.` (RFC 6762, asked as a legacy querier), which the device tries first.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::client::Server;

/// The largest answer asked for over unicast UDP (DNS Flag Day 2020's size).
const UDP_PAYLOAD: u16 = 1232;
/// The largest answer asked for over mDNS: its largest message (RFC 6762 §17).
const MDNS_PAYLOAD: u16 = 9000;

/// How long one query may take, over each transport.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a lookup failed (a name that does not exist is no failure: nothing found).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name cannot be written.
    #[error("{0:?} is not a DNS name")]
    Name(String),
    /// Sending, receiving or the message itself failed.
    #[error("DNS {name} {rtype} at {server}: {reason}")]
    Query {
        /// The name asked.
        name: String,
        /// The type asked.
        rtype: RecordType,
        /// The nameserver.
        server: SocketAddr,
        /// What failed.
        reason: String,
    },
}

/// The device's artifacts found in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecords {
    /// The name they were found at.
    pub name: String,
    /// Conveyed information (`ci`).
    pub conveyed_information: Vec<u8>,
    /// The owner certificate (`oc`), with signed data.
    pub owner_certificate: Option<Vec<u8>>,
    /// The ownership voucher (`ov`), with signed data.
    pub ownership_voucher: Option<Vec<u8>>,
}

/// A nameserver and the domain the device looks in.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The nameserver, or the mDNS group.
    pub server: SocketAddr,
    /// The domain (`example.com`, `local` for mDNS).
    pub domain: String,
}

/// The mDNS group (RFC 6762).
const MDNS: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 251)), 5353);

/// An address record's address.
fn ip_of(data: &RData) -> Option<IpAddr> {
    match data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

/// The address `target` has in `answer`'s additional records.
fn address_in(answer: &Message, target: &Name) -> Option<IpAddr> {
    answer
        .additionals
        .iter()
        .filter(|r| r.name == *target)
        .find_map(|r| ip_of(&r.data))
}

impl Lookup {
    /// Multicast DNS in `local.` (RFC 6762), asked as a legacy querier (§6.7): from a
    /// port of its own, so a responder answers it directly, as plain DNS.
    pub fn mdns() -> Lookup {
        Lookup {
            server: MDNS,
            domain: "local".into(),
        }
    }

    /// Whether this asks the mDNS group.
    pub fn is_mdns(&self) -> bool {
        self.server == MDNS
    }

    /// `<serial>._sztp.<domain>` TXT: the device's artifacts, if it has a `ci`.
    pub async fn device(&self, serial: &str) -> Result<Option<DeviceRecords>, DnsError> {
        let name = format!("{serial}._sztp.{}.", self.domain.trim_end_matches('.'));
        let answer = self.query(&name, RecordType::TXT).await?;
        let mut found = DeviceRecords {
            name: name.clone(),
            conveyed_information: Vec::new(),
            owner_certificate: None,
            ownership_voucher: None,
        };
        for record in &answer.answers {
            let RData::TXT(txt) = &record.data else {
                continue;
            };
            let joined: Vec<u8> = txt
                .txt_data
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            let Some(eq) = joined.iter().position(|&b| b == b'=') else {
                continue;
            };
            let value = joined[eq + 1..].to_vec();
            match &joined[..eq] {
                b"ci" => found.conveyed_information = value,
                b"oc" => found.owner_certificate = Some(value),
                b"ov" => found.ownership_voucher = Some(value),
                _ => {}
            }
        }
        Ok(Some(found).filter(|f| !f.conveyed_information.is_empty()))
    }

    /// `_sztp._tcp.<domain>` SRV: the bootstrap servers, lowest priority first, each
    /// with the address of its target (from the answer's additional records, else
    /// asked for here: A, then AAAA).
    pub async fn servers(&self) -> Result<Vec<Server>, DnsError> {
        let name = format!("_sztp._tcp.{}.", self.domain.trim_end_matches('.'));
        let answer = self.query(&name, RecordType::SRV).await?;
        let mut found: Vec<(u16, Server)> = Vec::new();
        for r in &answer.answers {
            let RData::SRV(srv) = &r.data else { continue };
            let address = match address_in(&answer, &srv.target) {
                Some(a) => Some(a),
                None => self.address_of(&srv.target.to_ascii()).await?,
            };
            found.push((
                srv.priority,
                Server {
                    host: srv.target.to_ascii().trim_end_matches('.').to_string(),
                    port: srv.port,
                    address,
                },
            ));
        }
        found.sort_by_key(|(priority, _)| *priority);
        Ok(found.into_iter().map(|(_, s)| s).collect())
    }

    /// The first address of `name`: A, then AAAA.
    async fn address_of(&self, name: &str) -> Result<Option<IpAddr>, DnsError> {
        for rtype in [RecordType::A, RecordType::AAAA] {
            let answer = self.query(name, rtype).await?;
            if let Some(a) = answer.answers.iter().find_map(|r| ip_of(&r.data)) {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// One query over UDP, again over TCP when the answer was truncated; an answer with
    /// no records for a name that does not exist.
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Message, DnsError> {
        let fail = |reason: String| DnsError::Query {
            name: name.to_string(),
            rtype,
            server: self.server,
            reason,
        };
        let parsed = Name::from_ascii(name).map_err(|_| DnsError::Name(name.to_string()))?;
        let id = u16::from_le_bytes(*b"zt") ^ (std::process::id() as u16);
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = true;
        query.queries.push(Query::query(parsed, rtype));
        // EDNS (RFC 6891): unicast answers up to 1232 octets over UDP (larger ones over
        // TCP), mDNS ones up to its largest message, as there is no TCP there (a legacy
        // mDNS querier gets 512 octets without it).
        let mut edns = Edns::new();
        edns.set_max_payload(if self.is_mdns() {
            MDNS_PAYLOAD
        } else {
            UDP_PAYLOAD
        });
        query.edns = Some(edns);
        let bytes = query.to_bytes().map_err(|e| fail(e.to_string()))?;
        let answer = tokio::time::timeout(TIMEOUT, self.udp(&bytes))
            .await
            .map_err(|_| fail(format!("no answer over UDP within {TIMEOUT:?}")))?
            .map_err(|e| fail(e.to_string()))?;
        // mDNS has no TCP: what fits is what there is.
        let answer = if answer.metadata.truncation && !self.is_mdns() {
            tokio::time::timeout(TIMEOUT, self.tcp(&bytes))
                .await
                .map_err(|_| fail(format!("no answer over TCP within {TIMEOUT:?}")))?
                .map_err(|e| fail(e.to_string()))?
        } else {
            answer
        };
        if answer.metadata.id != id {
            return Err(fail("the answer is to another query".into()));
        }
        match answer.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(answer),
            other => Err(fail(format!("the server answered {other}"))),
        }
    }

    async fn udp(&self, query: &[u8]) -> std::io::Result<Message> {
        let any: SocketAddr = if self.server.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let socket = UdpSocket::bind(any).await?;
        let mut buf = vec![0u8; 65_535];
        if self.is_mdns() {
            // The answer comes from the responder's own address: the socket takes any.
            socket.send_to(query, self.server).await?;
            let id = u16::from_be_bytes([query[0], query[1]]);
            loop {
                let (n, _) = socket.recv_from(&mut buf).await?;
                if let Ok(m) = Message::from_bytes(&buf[..n])
                    && m.metadata.id == id
                    && m.metadata.message_type == MessageType::Response
                {
                    return Ok(m);
                }
            }
        }
        socket.connect(self.server).await?;
        socket.send(query).await?;
        let n = socket.recv(&mut buf).await?;
        Message::from_bytes(&buf[..n]).map_err(std::io::Error::other)
    }

    async fn tcp(&self, query: &[u8]) -> std::io::Result<Message> {
        let mut stream = TcpStream::connect(self.server).await?;
        let len = u16::try_from(query.len()).map_err(std::io::Error::other)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed).await?;
        let n = stream.read_u16().await? as usize;
        let mut buf = vec![0u8; n];
        stream.read_exact(&mut buf).await?;
        Message::from_bytes(&buf).map_err(std::io::Error::other)
    }
}
