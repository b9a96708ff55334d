//! The DHCPv6 message handlers (RFC 8415 §18.3): one client message in, at most one
//! reply and the lease changes it depends on out. The handler owns the DHCPv6 lease
//! index; it does no I/O.

use crate::plugin_context::PluginContext;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

use tracing::{debug, info, info_span};
use zerotouch_proto::v6::ia::{self, DUID_LENGTH, Ia, IaAddr, IaPrefix};
use zerotouch_proto::v6::{MessageType6, OptionCode6, Packet6, StatusCode};

use super::allocate::{self, prefix_hint};
use super::context::{Exchange6, Ingress6};
use super::reply::{add_options, scopes};
use super::select::{classify, find_host, hardware_address, select_subnet};
use crate::config::{Dhcp6, Subnet6};
use crate::lease::{Binding, IaKey, IaKind, Lease6, LeaseIndex6, LeaseState, Resource};
use crate::plugin::Pipeline;
use crate::stats::{Counters, Reason};

pub use super::hooks::subnet_infos6;

pub(super) type Message6 = zerotouch_proto::v6::Message6;

/// A reply ready for the wire (relay wrappers included).
#[derive(Debug, Clone)]
pub struct Reply6 {
    pub bytes: Vec<u8>,
    pub dst: SocketAddrV6,
    pub ifindex: u32,
    pub msg_type: MessageType6,
}

/// What handling a DHCPv6 request comes to: one lease change per binding.
pub type Outcome6 = crate::outcome::Outcome<Reply6, Vec<Lease6>>;

/// The identity associations of a message, decoded.
struct Ias {
    list: Vec<Ia>,
}

impl Ias {
    fn decode(message: &Message6) -> Result<Self, String> {
        let mut list = Vec::new();
        for code in [OptionCode6::IA_NA, OptionCode6::IA_PD] {
            for data in message.options.get_all(code) {
                let ia = Ia::decode(code, data).map_err(|e| e.to_string())?;
                // Addresses and prefixes are read below; a malformed one is the
                // message's fault, found here once.
                for a in ia.addresses() {
                    a.map_err(|e| e.to_string())?;
                }
                for p in ia.prefixes() {
                    p.map_err(|e| e.to_string())?;
                }
                list.push(ia);
            }
        }
        Ok(Ias { list })
    }

    /// Each IA with its kind and its position among the IAs of that kind.
    fn each(&self) -> impl Iterator<Item = (IaKind, usize, &Ia)> {
        let mut na = 0;
        let mut pd = 0;
        self.list.iter().map(move |ia| {
            if ia.code == OptionCode6::IA_NA {
                na += 1;
                (IaKind::Na, na - 1, ia)
            } else {
                pd += 1;
                (IaKind::Pd, pd - 1, ia)
            }
        })
    }
}

/// The addresses or prefixes an IA names.
fn requested(kind: IaKind, ia: &Ia) -> Vec<Resource> {
    match kind {
        IaKind::Na => ia
            .addresses()
            .filter_map(Result::ok)
            .map(|a| Resource {
                address: a.address,
                prefix_len: 128,
            })
            .collect(),
        IaKind::Pd => ia
            .prefixes()
            .filter_map(Result::ok)
            .filter_map(|p| prefix_hint(p.prefix, p.prefix_len))
            .collect(),
    }
}

fn no_units_status(kind: IaKind) -> (StatusCode, &'static str) {
    match kind {
        IaKind::Na => (StatusCode::NoAddrsAvail, "no addresses available"),
        IaKind::Pd => (StatusCode::NoPrefixAvail, "no prefixes available"),
    }
}

/// Adds `r` with its lifetimes to the reply's IA.
fn put_unit(out: &mut Ia, kind: IaKind, r: Resource, preferred: u32, valid: u32) {
    match kind {
        IaKind::Na => out.options.push(
            OptionCode6::IAADDR,
            &IaAddr {
                address: r.address,
                preferred,
                valid,
            }
            .encode(),
        ),
        IaKind::Pd => out.options.push(
            OptionCode6::IAPREFIX,
            &IaPrefix {
                preferred,
                valid,
                prefix_len: r.prefix_len,
                prefix: r.address,
            }
            .encode(),
        ),
    }
}

/// Adds a status code option and notes it for the exchange's log line.
fn put_status(
    options: &mut zerotouch_proto::v6::Options6,
    code: StatusCode,
    text: &str,
    notes: &mut Vec<StatusCode>,
) {
    options.push(OptionCode6::STATUS_CODE, &ia::status(code, text));
    notes.push(code);
}

/// What a reply is being built from.
struct Draft {
    message: Message6,
    /// Addresses and prefixes bound by the reply, for option scopes and the log line.
    bound: Vec<(IaKind, Resource)>,
    commit: Vec<Lease6>,
    /// Status codes the reply carries, for the log line.
    notes: Vec<StatusCode>,
}

impl Draft {
    /// `ia` in the reply, with status NoBinding (RFC 8415 §18.3.4, §18.3.7).
    fn no_binding(&mut self, code: u16, mut ia: Ia) {
        put_status(
            &mut ia.options,
            StatusCode::NoBinding,
            "no binding for this IA",
            &mut self.notes,
        );
        self.message.options.push(code, &ia.encode());
    }
}

pub struct Dhcp6Handler {
    cfg: Arc<Dhcp6>,
    leases: LeaseIndex6,
    counters: Arc<Counters>,
    server_duid: Vec<u8>,
    pub(super) plugins: Arc<Pipeline>,
    /// Class names and subnets as plugins see them, built once.
    pub(super) class_names: Arc<[Arc<str>]>,
    pub(super) subnet_infos: Arc<[zerotouch_plugin::SubnetInfo]>,
    /// The current packet's plugin context.
    pub(super) plugin: PluginContext,
    /// Whether a plugin has per-scope settings (then hooks learn which scopes apply).
    pub(super) scoped: bool,
}

/// The interface a reply leaves by: the ingress one for a client or relay on the link;
/// routing decides for a relay further away.
pub(super) fn reply_ifindex(ex: &Exchange6<'_>) -> u32 {
    if ex.ingress.src.ip().is_unicast_link_local() || ex.is_direct() {
        ex.ingress.ifindex
    } else {
        0
    }
}

impl Dhcp6Handler {
    pub fn new(
        cfg: Arc<Dhcp6>,
        leases: LeaseIndex6,
        server_duid: Vec<u8>,
        counters: Arc<Counters>,
    ) -> Self {
        Dhcp6Handler {
            class_names: cfg
                .classes
                .iter()
                .map(|c| Arc::from(c.name.as_str()))
                .collect(),
            subnet_infos: subnet_infos6(&cfg).into(),
            cfg,
            leases,
            counters,
            server_duid,
            plugins: Arc::new(Pipeline::empty()),
            plugin: PluginContext::default(),
            scoped: false,
        }
    }

    /// Runs `plugins`' hooks on every packet.
    pub fn with_plugins(mut self, plugins: Arc<Pipeline>) -> Self {
        self.scoped = plugins.has_scoped();
        self.plugins = plugins;
        self
    }

    pub fn plugins(&self) -> &Arc<Pipeline> {
        &self.plugins
    }

    pub fn leases(&self) -> &LeaseIndex6 {
        &self.leases
    }

    pub fn server_duid(&self) -> &[u8] {
        &self.server_duid
    }

    /// The plugins' context of the packet at hand, and of a parked one handled again.
    pub fn plugin_context(&mut self) -> &mut PluginContext {
        &mut self.plugin
    }

    /// Ends bindings, holds and probations that ran out; returns the changes to store.
    pub fn reclaim(&mut self, now: u64) -> Vec<Lease6> {
        self.leases.reclaim(now)
    }

    /// Pauses new leases while the lease store cannot be written, or lets them go on.
    pub fn pause_new(&mut self, paused: bool) {
        self.leases.pause_new(paused);
    }

    /// `leases` are stored as they are (their commit succeeded).
    pub fn stored(&mut self, leases: &[Lease6]) {
        self.leases.stored_now(leases);
    }

    /// Takes in leases as the shared store has them (another server wrote them).
    pub fn learn(&mut self, leases: Vec<Lease6>) {
        self.leases.stored_now(&leases);
        for lease in leases {
            self.leases.upsert(lease);
        }
    }

    pub fn handle(&mut self, wire: &[u8], ingress: &Ingress6, now: u64) -> Outcome6 {
        let resumed = self.plugin.begin();
        let packet = match Packet6::decode(wire) {
            Ok(p) => p,
            Err(e) => {
                return Outcome6::Drop {
                    reason: Reason::from(&e),
                    detail: Some(e.to_string()),
                };
            }
        };
        let msg = &packet.message;
        let msg_type = msg.msg_type;
        if !resumed {
            // A parked packet handled again was counted when it arrived.
            self.counters.count_received6(msg_type.to_u8());
        }
        use MessageType6::*;
        if !matches!(
            msg_type,
            Solicit | Request | Confirm | Renew | Rebind | Release | Decline | InformationRequest
        ) {
            // ADVERTISE, REPLY, RECONFIGURE … are for clients (RFC 8415 §15).
            return Outcome6::Drop {
                reason: Reason::UnexpectedMessageType,
                detail: Some(format!(
                    "{} is not a message a server answers",
                    msg_type.name()
                )),
            };
        }
        // RFC 8415 §16: which messages carry which identifiers.
        // An INFORMATION-REQUEST may leave the client identifier out; one that is
        // there, in any message, is a DUID of 3 to 130 octets (RFC 8415 §11.1).
        let duid = match msg.client_id() {
            None if msg_type == InformationRequest => &[][..],
            None => return Outcome6::drop(Reason::MissingClientId),
            Some(d) if !DUID_LENGTH.contains(&d.len()) => {
                return Outcome6::Drop {
                    reason: Reason::BadClientId,
                    detail: Some(format!(
                        "client identifier of {} octets (a DUID has 3 to 130)",
                        d.len()
                    )),
                };
            }
            Some(d) => d,
        };
        // One span per exchange: every line it logs says which exchange, client and
        // interface (nothing is formatted while info is off).
        let span = info_span!(
            "dhcp6",
            xid = %format_args!("{:#08x}", msg.xid),
            client = %crate::lease::hex_colon(duid),
            interface = %ingress.ifname,
            relays = packet.relays.len()
        );
        let _exchange = span.enter();
        match (msg_type, msg.server_id()) {
            (Solicit | Confirm | Rebind, Some(_)) => {
                return Outcome6::Drop {
                    reason: Reason::BadServerId,
                    detail: Some(format!("{} with a server identifier", msg_type.name())),
                };
            }
            (Request | Renew | Release | Decline, None) => {
                return Outcome6::Drop {
                    reason: Reason::BadServerId,
                    detail: Some(format!("{} without a server identifier", msg_type.name())),
                };
            }
            (_, Some(sid)) if sid != self.server_duid.as_slice() => {
                debug!(msg = msg_type.name(), "for another server");
                return Outcome6::silent(Reason::OtherServerSelected);
            }
            _ => {}
        }
        let ias = match Ias::decode(msg) {
            Ok(i) => i,
            Err(e) => {
                return Outcome6::Drop {
                    reason: Reason::BadOption,
                    detail: Some(e),
                };
            }
        };
        let cfg = self.cfg.clone();
        let hw_address = hardware_address(&packet, duid);
        let mut ex = Exchange6 {
            packet: &packet,
            wire,
            msg_type,
            ingress,
            duid,
            subnet: select_subnet(&cfg, &packet, ingress),
            classes: classify(&cfg, &packet),
            host: find_host(&cfg, duid, hw_address.as_deref()),
            hw_address,
            plugin_host: None,
            reserved_name: None,
            now,
        };
        ex.reserved_name = ex.host.and_then(|h| cfg.hosts.list[h].hostname.clone());
        if ex.is_direct() && !ingress.was_multicast() {
            // No Server Unicast option is ever sent, so clients must multicast.
            match msg_type {
                Request | Renew | Release | Decline => {
                    let mut d = self.draft(&ex, Reply);
                    put_status(
                        &mut d.message.options,
                        StatusCode::UseMulticast,
                        "send to ff02::1:2",
                        &mut d.notes,
                    );
                    return self.finish(&cfg, &ex, d);
                }
                _ => return Outcome6::drop(Reason::Unicast),
            }
        }
        if !self.plugins.instances().is_empty()
            && let Err(outcome) = self.early_hooks(&cfg, &mut ex)
        {
            return outcome;
        }
        match msg_type {
            Solicit => self.solicit(&cfg, &ex, &ias),
            Request => self.request(&cfg, &ex, &ias),
            Renew | Rebind => self.extend(&cfg, &ex, &ias),
            Release => self.release(&cfg, &ex, &ias),
            Decline => self.decline(&cfg, &ex, &ias),
            Confirm => self.confirm(&cfg, &ex, &ias),
            _ => self.information(&cfg, &ex),
        }
    }

    fn draft(&self, ex: &Exchange6<'_>, msg_type: MessageType6) -> Draft {
        let mut message = Message6::new(msg_type, ex.packet.message.xid);
        if !ex.duid.is_empty() {
            message.options.push(OptionCode6::CLIENTID, ex.duid);
        }
        message
            .options
            .push(OptionCode6::SERVERID, &self.server_duid);
        Draft {
            message,
            bound: Vec::new(),
            commit: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn ia_key(ex: &Exchange6<'_>, kind: IaKind, ia: &Ia) -> IaKey {
        IaKey {
            kind,
            duid: ex.duid.into(),
            iaid: ia.iaid,
        }
    }

    fn lease(
        ex: &Exchange6<'_>,
        key: &IaKey,
        r: Resource,
        state: LeaseState,
        preferred: u32,
        expires: u64,
    ) -> Lease6 {
        Lease6 {
            resource: r,
            ia: Some(key.clone()),
            kind: key.kind,
            state,
            starts: ex.now,
            preferred,
            expires,
            hw_address: ex.hw_address.clone(),
            hostname: ex.client_name(),
        }
    }

    fn solicit(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        if self.leases.is_paused() {
            return Outcome6::Drop {
                reason: Reason::StoreUnavailable,
                detail: None,
            };
        }
        let Some(subnet) = ex.subnet.map(|i| &cfg.subnets[i]) else {
            return Outcome6::Drop {
                reason: Reason::NoSubnet,
                detail: Some(format!("no subnet for the link of {}", ex.ingress.src.ip())),
            };
        };
        let rapid = cfg.rapid_commit
            && ex
                .packet
                .message
                .options
                .contains(OptionCode6::RAPID_COMMIT);
        let mut d = self.draft(
            ex,
            if rapid {
                MessageType6::Reply
            } else {
                MessageType6::Advertise
            },
        );
        if let Err(stop) = self.assign(cfg, ex, subnet, ias, rapid, &mut d) {
            return stop;
        }
        if rapid {
            d.message.options.push(OptionCode6::RAPID_COMMIT, &[]);
        }
        self.finish(cfg, ex, d)
    }

    fn request(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        let Some(subnet) = ex.subnet.map(|i| &cfg.subnets[i]) else {
            return Outcome6::Drop {
                reason: Reason::NoSubnet,
                detail: Some(format!("no subnet for the link of {}", ex.ingress.src.ip())),
            };
        };
        let mut d = self.draft(ex, MessageType6::Reply);
        if let Err(stop) = self.assign(cfg, ex, subnet, ias, true, &mut d) {
            return stop;
        }
        self.finish(cfg, ex, d)
    }

    /// Binds something to every IA (SOLICIT, REQUEST): held for the advertise hold, or
    /// committed when `commit` (REQUEST, Rapid Commit). `Err` when a plugin ends the
    /// exchange.
    fn assign(
        &mut self,
        cfg: &Dhcp6,
        ex: &Exchange6<'_>,
        subnet: &Subnet6,
        ias: &Ias,
        commit: bool,
        d: &mut Draft,
    ) -> Result<(), Outcome6> {
        let times = subnet.lifetimes;
        let (t1, t2) = times.t1_t2(times.preferred);
        for (kind, nth, ia) in ias.each() {
            let key = Self::ia_key(ex, kind, ia);
            let hints = requested(kind, ia);
            let chosen = allocate::choose(cfg, ex, subnet, &key, nth, &hints, &mut self.leases);
            if chosen.is_none() && self.leases.awaiting_claims() {
                // The client asks again, by when this server's claim of more of the
                // shared pools has come back.
                return Err(Outcome6::Drop {
                    reason: Reason::AwaitingClaim,
                    detail: Some(
                        "claiming a block of the pools in the shared lease database".into(),
                    ),
                });
            }
            let Some(r) = chosen else {
                let mut out = Ia::new(ia.code, ia.iaid, 0, 0);
                let (code, text) = no_units_status(kind);
                put_status(&mut out.options, code, text, &mut d.notes);
                d.message.options.push(ia.code, &out.encode());
                continue;
            };
            let mut lifetimes = (times.preferred, times.valid);
            self.lease_chosen(cfg, ex, (kind, r), commit, &mut lifetimes)?;
            let (preferred, valid) = lifetimes;
            let mut out = Ia::new(ia.code, ia.iaid, t1.min(preferred), t2.min(preferred));
            put_unit(&mut out, kind, r, preferred, valid);
            if commit {
                // What the client asked for and did not get is not its to use.
                for &h in hints.iter().filter(|&&h| h != r) {
                    if !allocate::usable(cfg, ex, subnet, &key, h, &self.leases) {
                        put_unit(&mut out, kind, h, 0, 0);
                    }
                }
                self.bind(ex, &key, r, (preferred, valid), d);
            } else {
                let holds_active = self.leases.get(r).is_some_and(|l| {
                    l.state == LeaseState::Active && l.ia.as_ref() == Some(&key) && l.in_use(ex.now)
                });
                if !holds_active {
                    let hold = Self::lease(
                        ex,
                        &key,
                        r,
                        LeaseState::Offered,
                        preferred,
                        ex.now + cfg.advertise_hold as u64,
                    );
                    self.leases.upsert(hold);
                }
            }
            d.message.options.push(ia.code, &out.encode());
            d.bound.push((kind, r));
        }
        Ok(())
    }

    /// Binds `r` to `key` for (preferred, valid) seconds: recorded now, committed
    /// before the reply leaves.
    fn bind(
        &mut self,
        ex: &Exchange6<'_>,
        key: &IaKey,
        r: Resource,
        (preferred, valid): (u32, u32),
        d: &mut Draft,
    ) {
        let lease = Self::lease(
            ex,
            key,
            r,
            LeaseState::Active,
            preferred,
            ex.now + valid as u64,
        );
        self.leases.upsert(lease.clone());
        d.commit.push(lease);
    }

    /// RENEW and REBIND: extend what the client still may have; what it may not have is
    /// returned with lifetimes of zero (RFC 8415 §18.3.4, §18.3.5).
    fn extend(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        if self.leases.is_paused() {
            return self.extend_from_store(cfg, ex, ias);
        }
        let subnet = ex.subnet.map(|i| &cfg.subnets[i]);
        let mut d = self.draft(ex, MessageType6::Reply);
        for (kind, _, ia) in ias.each() {
            let key = Self::ia_key(ex, kind, ia);
            let mut wanted = requested(kind, ia);
            if let Some(b) = self.leases.ia_lease(&key)
                && b.in_use(ex.now)
                && !wanted.contains(&b.resource)
            {
                wanted.push(b.resource);
            }
            let times = subnet.map_or(cfg.lifetimes, |s| s.lifetimes);
            let (t1, t2) = times.t1_t2(times.preferred);
            let mut out = Ia::new(ia.code, ia.iaid, t1, t2);
            let mut kept = 0;
            for r in wanted.iter().copied() {
                let ok =
                    subnet.is_some_and(|s| allocate::usable(cfg, ex, s, &key, r, &self.leases));
                if ok {
                    let mut lifetimes = (times.preferred, times.valid);
                    if let Err(stop) = self.lease_chosen(cfg, ex, (kind, r), true, &mut lifetimes) {
                        return stop;
                    }
                    let (preferred, valid) = lifetimes;
                    self.bind(ex, &key, r, lifetimes, &mut d);
                    put_unit(&mut out, kind, r, preferred, valid);
                    d.bound.push((kind, r));
                    kept += 1;
                } else {
                    put_unit(&mut out, kind, r, 0, 0);
                }
            }
            if kept == 0 {
                out.t1 = 0;
                out.t2 = 0;
            }
            if wanted.is_empty() {
                d.no_binding(ia.code, out);
            } else {
                d.message.options.push(ia.code, &out.encode());
            }
        }
        self.finish(cfg, ex, d)
    }

    /// RENEW and REBIND while the lease store cannot be written: when every IA's
    /// binding is stored as it is and in use, a REPLY gives each the lifetimes it has
    /// left, with nothing to write (`[leases] outage_renewals = "remaining"`);
    /// otherwise the client waits for the store.
    fn extend_from_store(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        let mut d = self.draft(ex, MessageType6::Reply);
        for (kind, _, ia) in ias.each() {
            let key = Self::ia_key(ex, kind, ia);
            let stored = self.leases.ia_lease(&key).and_then(|b| {
                let left = self.leases.stored_time_left(b.resource, &key, ex.now)?;
                // The preferred lifetime ends as long before the valid one as granted.
                let gap =
                    (b.expires.saturating_sub(b.starts)).saturating_sub(u64::from(b.preferred));
                Some((
                    b.resource,
                    (u64::from(left).saturating_sub(gap)) as u32,
                    left,
                ))
            });
            let Some((r, preferred, valid)) = stored else {
                return Outcome6::NoReply {
                    reason: Some(Reason::StoreUnavailable),
                    commit: Vec::new(),
                };
            };
            let times = ex
                .subnet
                .map_or(cfg.lifetimes, |i| cfg.subnets[i].lifetimes);
            let (t1, t2) = times.t1_t2(preferred);
            let mut out = Ia::new(ia.code, ia.iaid, t1, t2);
            put_unit(&mut out, kind, r, preferred, valid);
            d.message.options.push(ia.code, &out.encode());
            d.bound.push((kind, r));
        }
        info!("RENEW/REBIND answered from the stored bindings (lease database unwritable)");
        self.finish(cfg, ex, d)
    }

    fn release(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        let mut d = self.draft(ex, MessageType6::Reply);
        for (kind, _, ia) in ias.each() {
            self.give_back(ex, kind, ia, &mut d, |_, l| {
                (l.state == LeaseState::Active).then(|| Lease6 {
                    state: LeaseState::Released,
                    expires: ex.now,
                    ..l.clone()
                })
            });
        }
        put_status(
            &mut d.message.options,
            StatusCode::Success,
            "released",
            &mut d.notes,
        );
        self.finish(cfg, ex, d)
    }

    fn decline(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        let mut d = self.draft(ex, MessageType6::Reply);
        let mut named = 0;
        for (kind, _, ia) in ias.each().filter(|(k, _, _)| *k == IaKind::Na) {
            named += self.give_back(ex, kind, ia, &mut d, |key, l| {
                info!(ia = %key, "DECLINE {}: in use by another host, out of use for {}s", l.resource, cfg.decline_probation);
                Some(Lease6 {
                    ia: None,
                    state: LeaseState::Declined,
                    expires: ex.now + cfg.decline_probation as u64,
                    ..l.clone()
                })
            });
        }
        if named == 0 {
            return Outcome6::drop(Reason::NoAddresses);
        }
        put_status(
            &mut d.message.options,
            StatusCode::Success,
            "declined",
            &mut d.notes,
        );
        self.finish(cfg, ex, d)
    }

    /// RELEASE and DECLINE: each address or prefix the IA names that is the IA's own
    /// and that `change` turns into a new lease is recorded so and committed; an IA
    /// with none gets NoBinding. Returns how many the IA named.
    fn give_back(
        &mut self,
        ex: &Exchange6<'_>,
        kind: IaKind,
        ia: &Ia,
        d: &mut Draft,
        change: impl Fn(&IaKey, &Lease6) -> Option<Lease6>,
    ) -> usize {
        let key = Self::ia_key(ex, kind, ia);
        let named = requested(kind, ia);
        let mut changed = 0;
        for &r in &named {
            let Some(lease) = self
                .leases
                .get(r)
                .filter(|l| l.ia.as_ref() == Some(&key))
                .and_then(|l| change(&key, l))
            else {
                continue;
            };
            self.leases.upsert(lease.clone());
            d.commit.push(lease);
            changed += 1;
        }
        if changed == 0 {
            d.no_binding(ia.code, Ia::new(ia.code, ia.iaid, 0, 0));
        }
        named.len()
    }

    /// CONFIRM: are the client's addresses still on its link (RFC 8415 §18.3.3)?
    fn confirm(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, ias: &Ias) -> Outcome6 {
        let addresses: Vec<Ipv6Addr> = ias
            .each()
            .filter(|(k, _, _)| *k == IaKind::Na)
            .flat_map(|(k, _, ia)| requested(k, ia))
            .map(|r| r.address)
            .collect();
        if addresses.is_empty() {
            return Outcome6::drop(Reason::NoAddresses);
        }
        let Some(subnet) = ex.subnet.map(|i| &cfg.subnets[i]) else {
            // Without knowing the link, the server cannot say: it stays silent.
            return Outcome6::silent(Reason::NoSubnet);
        };
        let mut d = self.draft(ex, MessageType6::Reply);
        if addresses.iter().all(|a| subnet.net.contains(a)) {
            put_status(
                &mut d.message.options,
                StatusCode::Success,
                "all addresses on link",
                &mut d.notes,
            );
        } else {
            put_status(
                &mut d.message.options,
                StatusCode::NotOnLink,
                "not on this link",
                &mut d.notes,
            );
        }
        self.finish(cfg, ex, d)
    }

    fn information(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>) -> Outcome6 {
        let d = self.draft(ex, MessageType6::Reply);
        self.finish(cfg, ex, d)
    }

    /// Adds the configured options, wraps the reply for the relays and logs the
    /// exchange.
    fn finish(&mut self, cfg: &Dhcp6, ex: &Exchange6<'_>, mut d: Draft) -> Outcome6 {
        let chain = scopes(cfg, ex, &d.bound);
        add_options(&chain, &ex.packet.message, &mut d.message);
        d.message = match self.reply_ready(cfg, ex, &d.bound, d.message) {
            Ok(m) => m,
            Err(parked) => return Outcome6::Park(parked),
        };
        let bytes = ex.packet.encode_reply(&d.message);
        // The summary is built only when the line is logged: with the level above
        // info a busy server spends nothing on it.
        if tracing::enabled!(tracing::Level::INFO) {
            let mut summary: Vec<String> = d.bound.iter().map(|(_, r)| r.to_string()).collect();
            summary.extend(d.notes.iter().map(|n| format!("{n:?}")));
            info!(
                "{} -> {} {}",
                ex.msg_type.name(),
                d.message.msg_type.name(),
                summary.join(" ")
            );
        }
        Outcome6::Reply {
            reply: Reply6 {
                bytes,
                dst: ex.ingress.src,
                ifindex: reply_ifindex(ex),
                msg_type: d.message.msg_type,
            },
            commit: d.commit,
        }
    }
}
