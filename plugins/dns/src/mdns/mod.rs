//! `mdns`: a multicast DNS responder (RFC 6762) on the configured interfaces for one
//! zone's records under `local.` (`Zone::local`): RFC 8572's `<serial>._sztp.local`
//! TXT and `_sztp._tcp.local` SRV, the targets' A and AAAA, and DNS-SD's browse
//! records. Before it answers for a unique name it probes for it (§8.1: three probes
//! 250 ms apart; a conflicting answer, or a simultaneous probe whose records sort after
//! ours (§8.2), and the name is not published, with a warning); then it announces every
//! record twice, a second apart (§8.3), and says goodbye (TTL 0, §10.1) at stop and for
//! records a reload removes. [`respond`] decides each answer; [`link`] holds the
//! sockets, which share port 5353 with another responder on the host (avahi).

mod link;
mod respond;

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{LowerName, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use zerotouch_plugin::{PluginError, ServiceHost};

use crate::devices::Devices;
use crate::zone::Zone;
use link::Link;
use respond::{Dest, View};

/// Probes sent for each name, and the time between them (§8.1).
const PROBES: u32 = 3;
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// Announcements, and the time between them (§8.3).
const ANNOUNCEMENTS: u32 = 2;
const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(1);
/// A record is multicast at most once a second on a link (§6).
const MULTICAST_INTERVAL: Duration = Duration::from_secs(1);

/// The responder's counts, shown with the plugin's counters as `mdns_…`.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    queries: AtomicU64,
    answered_multicast: AtomicU64,
    answered_unicast: AtomicU64,
    answered_legacy: AtomicU64,
    conflicts: AtomicU64,
    malformed: AtomicU64,
}

impl Counts {
    pub(crate) fn all(&self) -> Vec<(&'static str, u64)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("mdns_queries", v(&self.queries)),
            ("mdns_answered_multicast", v(&self.answered_multicast)),
            ("mdns_answered_unicast", v(&self.answered_unicast)),
            ("mdns_answered_legacy", v(&self.answered_legacy)),
            ("mdns_conflicts", v(&self.conflicts)),
            ("mdns_malformed", v(&self.malformed)),
        ]
    }
}

/// What the responder's tasks share.
struct State {
    zone: RwLock<Arc<Zone>>,
    devices: Arc<Devices>,
    /// Unique names not answered for: being probed, or lost to another responder.
    blocked: RwLock<HashSet<LowerName>>,
    /// Names being probed now, and those a conflict was seen for meanwhile.
    probing: Mutex<(HashSet<LowerName>, HashSet<LowerName>)>,
    /// When each (link, name, type) was last answered to the group.
    recent: Mutex<HashMap<(usize, LowerName, RecordType), Instant>>,
    counts: Arc<Counts>,
}

/// A running responder.
pub(crate) struct Responder {
    state: Arc<State>,
    links: Arc<Vec<Link>>,
    interfaces: Vec<String>,
    tasks: Vec<JoinHandle<()>>,
}

/// The records a zone publishes: all of them (a `local.` zone has no SOA or NS).
fn published(zone: &Zone) -> Vec<Record> {
    zone.records().cloned().collect()
}

/// The names of a zone's unique records, which are probed.
fn unique_names(zone: &Zone) -> Vec<Name> {
    let mut names: Vec<Name> = zone
        .records()
        .filter(|r| respond::unique(r))
        .map(|r| r.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A random duration below `max`.
fn jitter(max: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    max.mul_f64((r % 1000) as f64 / 1000.0)
}

impl Responder {
    /// Opens every interface of `interfaces` and starts answering for `zone`, probing
    /// its unique names first.
    pub(crate) fn start(
        host: &ServiceHost,
        interfaces: &[String],
        zone: Zone,
        devices: Arc<Devices>,
        counts: Arc<Counts>,
    ) -> Result<Responder, PluginError> {
        let _guard = host.runtime.enter();
        let mut links = Vec::with_capacity(interfaces.len());
        for name in interfaces {
            links.push(Link::open(name).map_err(|e| PluginError::new(format!("mdns: {e}")))?);
        }
        let links = Arc::new(links);
        let names = unique_names(&zone);
        let state = Arc::new(State {
            zone: RwLock::new(Arc::new(zone)),
            devices,
            blocked: RwLock::new(names.iter().map(LowerName::from).collect()),
            probing: Mutex::default(),
            recent: Mutex::default(),
            counts,
        });
        let mut tasks = Vec::new();
        for (i, link) in links.iter().enumerate() {
            for (socket, v6) in link.sockets() {
                tasks.push(
                    host.runtime
                        .spawn(serve(state.clone(), i, socket.clone(), v6)),
                );
            }
        }
        tasks.push(
            host.runtime
                .spawn(publish(state.clone(), links.clone(), names)),
        );
        info!(interfaces = ?interfaces, "dns: mDNS responding");
        Ok(Responder {
            state,
            links,
            interfaces: interfaces.to_vec(),
            tasks,
        })
    }

    /// The interfaces it answers on.
    pub(crate) fn interfaces(&self) -> &[String] {
        &self.interfaces
    }

    /// Publishes `zone` instead: goodbye for records it no longer has, probing for the
    /// unique names it adds, then an announcement of all.
    pub(crate) fn reload(&mut self, host: &ServiceHost, zone: Zone) {
        let old = self.state.zone();
        let gone: Vec<Record> = published(&old)
            .into_iter()
            .filter(|r| !zone.records().any(|n| n == r))
            .collect();
        send_now(&self.links, &respond::goodbye(&gone));
        let known: HashSet<Name> = unique_names(&old).into_iter().collect();
        let added: Vec<Name> = unique_names(&zone)
            .into_iter()
            .filter(|n| !known.contains(n))
            .collect();
        self.state
            .blocked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(added.iter().map(LowerName::from));
        *self.state.zone.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(zone);
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(
            host.runtime
                .spawn(publish(self.state.clone(), self.links.clone(), added)),
        );
    }

    /// Says goodbye for every published record and stops.
    pub(crate) fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        let zone = self.state.zone();
        let blocked = self.state.blocked();
        let records: Vec<Record> = published(&zone)
            .into_iter()
            .filter(|r| !blocked.contains(&LowerName::from(&r.name)))
            .collect();
        send_now(&self.links, &respond::goodbye(&records));
    }
}

impl State {
    fn zone(&self) -> Arc<Zone> {
        self.zone.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn blocked(&self) -> HashSet<LowerName> {
        self.blocked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Another responder's answer: a record at a name of ours that is not ours is a
    /// conflict (§9). Our own announcements, looped back, hold only our records.
    fn check_answer(&self, message: &Message) {
        let zone = self.zone();
        for r in message.answers.iter().chain(&message.additionals) {
            if r.ttl == 0 || !respond::unique(r) {
                continue;
            }
            let name = LowerName::from(&r.name);
            let ours = zone.at(&name);
            if ours.is_empty() || ours.iter().any(|o| o.data == r.data) {
                continue;
            }
            self.conflict(&name, "another responder answers for it");
        }
    }

    /// Another responder's probe for a name we probe (§8.2): its records against ours,
    /// compared as RFC 6762 says (class, type, then data octets); the later wins.
    fn check_probe(&self, message: &Message) {
        let probing = self
            .probing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone();
        if probing.is_empty() {
            return;
        }
        let zone = self.zone();
        for q in &message.queries {
            let name = LowerName::from(q.name());
            if !probing.contains(&name) {
                continue;
            }
            let sorted = |rs: Vec<&Record>| -> Vec<(u16, Vec<u8>)> {
                let mut v: Vec<(u16, Vec<u8>)> = rs
                    .into_iter()
                    .map(|r| {
                        (
                            u16::from(r.record_type()),
                            r.data.to_bytes().unwrap_or_default(),
                        )
                    })
                    .collect();
                v.sort();
                v
            };
            let theirs = sorted(
                message
                    .authorities
                    .iter()
                    .filter(|r| LowerName::from(&r.name) == name)
                    .collect(),
            );
            let ours = sorted(zone.at(&name).iter().collect());
            if !theirs.is_empty() && theirs > ours {
                self.conflict(&name, "another responder probes for it with data that wins");
            }
        }
    }

    fn conflict(&self, name: &LowerName, why: &str) {
        // While probing the name is then not published; once published, it is kept
        // (the other responder should have probed) and the conflict said once.
        let fresh = self
            .probing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .insert(name.clone());
        if fresh {
            self.counts.conflicts.fetch_add(1, Ordering::Relaxed);
            warn!(name = %name, "dns: mDNS name conflict: {why}");
        }
    }

    /// Whether `name`/`rtype` may be answered to the group on link `link` now, and if
    /// so notes it.
    fn may_multicast(&self, link: usize, name: &Name, rtype: RecordType, now: Instant) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() > 4096 {
            recent.retain(|_, at| now.duration_since(*at) < MULTICAST_INTERVAL);
        }
        let key = (link, LowerName::from(name), rtype);
        match recent.get(&key) {
            Some(at) if now.duration_since(*at) < MULTICAST_INTERVAL => false,
            _ => {
                recent.insert(key, now);
                true
            }
        }
    }
}

/// Sends `messages` to the group on every link at once, without waiting (at stop).
fn send_now(links: &[Link], messages: &[Vec<u8>]) {
    for link in links {
        for (socket, v6) in link.sockets() {
            for m in messages {
                let _ = socket.try_send_to(m, Link::group(v6));
            }
        }
    }
}

/// Sends `messages` to the group on every link.
async fn send_all(links: &[Link], messages: &[Vec<u8>]) {
    for link in links {
        for (socket, v6) in link.sockets() {
            for m in messages {
                if let Err(e) = socket.send_to(m, Link::group(v6)).await {
                    tracing::debug!(interface = %link.name, "dns: mDNS send failed: {e}");
                }
            }
        }
    }
}

/// Probes `names`, keeps those nobody else holds, then announces every record.
async fn publish(state: Arc<State>, links: Arc<Vec<Link>>, names: Vec<Name>) {
    if !names.is_empty() {
        let lower: HashSet<LowerName> = names.iter().map(LowerName::from).collect();
        *state.probing.lock().unwrap_or_else(|p| p.into_inner()) = (lower.clone(), HashSet::new());
        tokio::time::sleep(jitter(PROBE_INTERVAL)).await;
        let zone = state.zone();
        let records: Vec<Record> = names
            .iter()
            .flat_map(|n| zone.at(&LowerName::from(n)).iter().cloned())
            .collect();
        for i in 0..PROBES {
            send_all(&links, &[respond::probe(&names, &records, i == 0)]).await;
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        let lost = std::mem::take(&mut *state.probing.lock().unwrap_or_else(|p| p.into_inner())).1;
        let mut blocked = state.blocked.write().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|n| !lower.contains(n) || lost.contains(n));
        for n in &lost {
            warn!(name = %n, "dns: mDNS name not published: another responder holds it");
        }
    }
    for i in 0..ANNOUNCEMENTS {
        if i > 0 {
            tokio::time::sleep(ANNOUNCE_INTERVAL).await;
        }
        let zone = state.zone();
        let blocked = state.blocked();
        let records: Vec<Record> = published(&zone)
            .into_iter()
            .filter(|r| !blocked.contains(&LowerName::from(&r.name)))
            .collect();
        send_all(&links, &respond::response(&records, &[])).await;
    }
}

/// Receives on one socket of link `link` and answers, until the task is aborted.
async fn serve(state: Arc<State>, link: usize, socket: Arc<UdpSocket>, v6: bool) {
    let mut buf = vec![0u8; usize::from(respond::MAX_MESSAGE)];
    loop {
        let (n, src) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("dns: mDNS receive failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(mut message) = Message::from_bytes(&buf[..n]) else {
            state.counts.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if message.metadata.message_type == MessageType::Response {
            state.check_answer(&message);
            continue;
        }
        state.counts.queries.fetch_add(1, Ordering::Relaxed);
        if !message.authorities.is_empty() {
            state.check_probe(&message);
        }
        let now = Instant::now();
        let to_group =
            src.port() == link::PORT && !message.queries.iter().all(|q| q.mdns_unicast_response());
        if to_group {
            // What was answered to the group in the last second is not again (§6).
            message
                .queries
                .retain(|q| state.may_multicast(link, q.name(), q.query_type(), now));
        }
        let outgoing = {
            let zone = state.zone();
            let blocked = state.blocked();
            let view = View {
                zone: &zone,
                devices: &state.devices,
                blocked: &blocked,
                now,
            };
            respond::respond(&view, &message, src)
        };
        for out in outgoing {
            let (dest, counter): (SocketAddr, _) = match out.dest {
                Dest::Group => (Link::group(v6), &state.counts.answered_multicast),
                Dest::To(a) if a.port() == link::PORT => (a, &state.counts.answered_unicast),
                Dest::To(a) => (a, &state.counts.answered_legacy),
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if out.delayed {
                let socket = socket.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(
                        Duration::from_millis(20) + jitter(Duration::from_millis(100)),
                    )
                    .await;
                    let _ = socket.send_to(&out.bytes, dest).await;
                });
            } else if let Err(e) = socket.send_to(&out.bytes, dest).await {
                tracing::debug!(%dest, "dns: mDNS send failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{OpCode, Query};
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::A;
    use zerotouch_plugin::Settings;

    use super::*;
    use crate::settings::DnsSettings;

    fn state() -> State {
        let text = "listen = [\"127.0.0.1:5300\"]\nmdns = { interfaces = [\"lo\"] }\n[[zone]]\nname = \"sztp.example\"\nnameservers = [{ name = \"ns1.sztp.example\" }]\nbootstrap_server = [{ target = \"bs1.sztp.example\", port = 8443, addresses = [\"198.18.0.1\"] }]\n";
        let settings = Settings::standalone(text, "dns");
        let s = DnsSettings::read(&settings).unwrap();
        let zone = Zone::local(s.mdns_zone().unwrap().1, "zone[0]", 120, &settings).unwrap();
        State {
            zone: RwLock::new(Arc::new(zone)),
            devices: Arc::default(),
            blocked: RwLock::default(),
            probing: Mutex::default(),
            recent: Mutex::default(),
            counts: Arc::default(),
        }
    }

    fn host(address: [u8; 4]) -> Record {
        let name = Name::from_ascii("bs1.local.").unwrap();
        Record::from_rdata(
            name,
            120,
            RData::A(A::from(std::net::Ipv4Addr::from(address))),
        )
    }

    fn lost(state: &State) -> bool {
        let name = LowerName::from(Name::from_ascii("bs1.local.").unwrap());
        state.probing.lock().unwrap().1.contains(&name)
    }

    #[test]
    fn another_responders_answer_for_our_name_is_a_conflict_and_our_own_is_not() {
        let state = state();
        assert_eq!(
            unique_names(&state.zone()).len(),
            2,
            "bs1.local and its instance"
        );
        let mut ours = Message::new(0, MessageType::Response, OpCode::Query);
        ours.answers.push(host([198, 18, 0, 1]));
        state.check_answer(&ours);
        assert!(!lost(&state), "our own announcement, looped back");
        let mut theirs = ours.clone();
        theirs.answers[0] = host([198, 18, 0, 9]);
        state.check_answer(&theirs);
        assert!(lost(&state));
        state.check_answer(&theirs);
        assert_eq!(
            state.counts.conflicts.load(Ordering::Relaxed),
            1,
            "said once"
        );
    }

    #[test]
    fn a_simultaneous_probe_wins_when_its_data_sorts_later() {
        let probe = |address: [u8; 4]| {
            let mut m = Message::new(0, MessageType::Query, OpCode::Query);
            m.queries.push(Query::query(
                Name::from_ascii("bs1.local.").unwrap(),
                RecordType::ANY,
            ));
            m.authorities.push(host(address));
            m
        };
        let state = state();
        let name = LowerName::from(Name::from_ascii("bs1.local.").unwrap());
        state.probing.lock().unwrap().0.insert(name);
        state.check_probe(&probe([198, 18, 0, 0]));
        assert!(!lost(&state), "ours (198.18.0.1) sorts later");
        state.check_probe(&probe([198, 18, 0, 1]));
        assert!(!lost(&state), "our own probe, looped back");
        state.check_probe(&probe([198, 18, 0, 2]));
        assert!(lost(&state));
    }
}
