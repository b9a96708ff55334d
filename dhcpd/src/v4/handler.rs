//! The DHCPv4 message handlers (RFC 2131 §4.3): one request in, at most one reply and
//! one lease write out. The handler owns the lease index; it does no I/O.

use std::net::Ipv4Addr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::{debug, info, info_span};
use zerotouch_proto::v4::{self, BROADCAST_FLAG, Message, MessageType, Op};

use super::addressing::{Destination, destination};
use super::allocate;
use super::classify::{classify, find_host};
use super::context::{Exchange, Ingress};
use super::reply::{ReplySpec, build, draft};
use super::select::select_subnet;
use crate::plugin::encode_draft;
use zerotouch_plugin::{
    ClassSet, Family, HookPoint, HostChoice, Packet4, Reply4 as PluginReply, SubnetChoice,
    SubnetInfo,
};

use crate::config::{Dhcp4, Subnet};
use crate::lease::{Binding, ClientKey, Lease4, LeaseIndex, LeaseState};
use crate::plugin::{Flow, Parked, Pipeline};
use crate::plugin_context::PluginContext;
use crate::services::subnet_infos;
use crate::stats::{Counters, Reason};

use super::hooks::{host_from_plugin, host_info};

/// A reply ready for the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub dest: Destination,
    pub msg_type: MessageType,
    /// Options left out so the reply fits the client's maximum message size.
    pub dropped_options: Vec<u8>,
}

/// What handling a DHCPv4 request comes to: at most one lease change.
pub type Outcome = crate::outcome::Outcome<Reply, Option<Lease4>>;

/// Whether a REQUEST answers an offer, confirms a remembered lease, or extends one
/// (RFC 2131 §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestState {
    Selecting,
    InitReboot,
    RenewingOrRebinding,
}

pub struct Dhcp4Handler {
    cfg: Arc<Dhcp4>,
    leases: LeaseIndex,
    /// Received message types are counted here, where the message is decoded.
    counters: Arc<Counters>,
    pub(super) plugins: Arc<Pipeline>,
    /// Class names and subnets as plugins see them, built once.
    /// Shared with the hooks that read them (a clone per packet costs an increment).
    class_names: Arc<[Arc<str>]>,
    subnet_infos: Arc<[SubnetInfo]>,
    /// The current packet's plugin context.
    pub(super) plugin: PluginContext,
    /// Whether a plugin has per-scope settings (then hooks learn which scopes apply).
    pub(super) scoped: bool,
}

impl Dhcp4Handler {
    pub fn new(cfg: Arc<Dhcp4>, leases: LeaseIndex, counters: Arc<Counters>) -> Self {
        Dhcp4Handler {
            class_names: cfg
                .classes
                .iter()
                .map(|c| Arc::from(c.name.as_str()))
                .collect(),
            subnet_infos: subnet_infos(&cfg).into(),
            cfg,
            leases,
            counters,
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

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn plugins(&self) -> &Arc<Pipeline> {
        &self.plugins
    }

    pub fn leases(&self) -> &LeaseIndex {
        &self.leases
    }

    pub fn config(&self) -> &Dhcp4 {
        &self.cfg
    }

    /// The plugins' context of the packet at hand, and of a parked one handled again.
    pub fn plugin_context(&mut self) -> &mut PluginContext {
        &mut self.plugin
    }

    /// Ends leases, offers and probations that ran out; returns the changes to store.
    pub fn reclaim(&mut self, now: u64) -> Vec<Lease4> {
        self.leases.reclaim(now)
    }

    /// Pauses new leases while the lease store cannot be written, or lets them go on.
    pub fn pause_new(&mut self, paused: bool) {
        self.leases.pause_new(paused);
    }

    /// `leases` are stored as they are (their commit succeeded).
    pub fn stored(&mut self, leases: &[Lease4]) {
        self.leases.stored_now(leases);
    }

    /// Takes in leases as the shared store has them (another server wrote them).
    pub fn learn(&mut self, leases: Vec<Lease4>) {
        self.leases.stored_now(&leases);
        for lease in leases {
            self.leases.upsert(lease);
        }
    }

    pub fn handle(&mut self, packet: &[u8], ingress: &Ingress, now: u64) -> Outcome {
        let resumed = self.plugin.begin();
        match self.stages(packet, ingress, now, resumed) {
            ControlFlow::Continue(outcome) | ControlFlow::Break(outcome) => outcome,
        }
    }

    /// The request's way through the server, a stage at a time with the plugins' hook
    /// points between them: decode, classes, subnet, host reservation, then the message
    /// type's own handling. `Break` ends the exchange early: a drop, or a plugin's answer.
    /// `resumed`: the packet was parked on a plugin's wait and is handled again.
    fn stages(
        &mut self,
        packet: &[u8],
        ingress: &Ingress,
        now: u64,
        resumed: bool,
    ) -> ControlFlow<Outcome, Outcome> {
        let request = match v4::decode(packet) {
            Ok(m) => m,
            Err(e) => {
                return ControlFlow::Break(Outcome::Drop {
                    reason: Reason::from(&e),
                    detail: Some(e.to_string()),
                });
            }
        };
        if request.op != Op::BootRequest {
            return ControlFlow::Break(Outcome::drop(Reason::NotBootRequest));
        }
        let Some(msg_type) = request.message_type() else {
            // Plain BOOTP is not served.
            return ControlFlow::Break(Outcome::drop(Reason::NoMessageType));
        };
        if !resumed {
            // A parked packet handled again was counted when it arrived.
            self.counters.count_received(msg_type.to_u8());
        }
        let client =
            ClientKey::from_request(request.client_identifier(), request.htype, request.hwaddr());
        // One span per exchange: every line it logs says which exchange, client and
        // interface (nothing is formatted while info is off).
        let span = info_span!(
            "dhcp4",
            xid = %format_args!("{:#010x}", request.xid),
            client = %client,
            interface = %ingress.ifname
        );
        let _exchange = span.enter();
        let cfg = self.cfg.clone();
        let plugins = self.plugins.clone();

        let relay_info = request.relay_agent_info();
        // What plugins see until the exchange is complete.
        let early = Packet4::new(&request, msg_type, ingress.for_plugins(packet, now));
        let at = (&request, ingress);
        if plugins.wants(Family::V4, HookPoint::PacketReceived) {
            let scopes = self.scopes(&cfg, &[], None, None, None);
            self.early_hook(&cfg, HookPoint::PacketReceived, &scopes, at, |p, c| {
                p.packet_received4(c, &early)
            })?;
        }

        let mut classes = classify(&cfg, &request, relay_info.as_ref());
        if plugins.wants(Family::V4, HookPoint::ClassesAssigned) {
            let scopes = self.scopes(&cfg, &classes, None, None, None);
            let names = self.class_names.clone();
            self.early_hook(&cfg, HookPoint::ClassesAssigned, &scopes, at, |p, c| {
                p.classes_assigned4(c, &early, &mut ClassSet::new(&names, &mut classes))
            })?;
        }

        let subnet = if msg_type == MessageType::Inform
            && request.giaddr.is_unspecified()
            && !request.ciaddr.is_unspecified()
        {
            // RFC 2131 §4.3.5: an INFORM is answered for the network of its ciaddr.
            cfg.subnet_containing(request.ciaddr)
                .or_else(|| select_subnet(&cfg, &request, relay_info.as_ref(), ingress))
        } else {
            select_subnet(&cfg, &request, relay_info.as_ref(), ingress)
        };
        let mut subnet_index = subnet.map(|s| s.index);
        if plugins.wants(Family::V4, HookPoint::SubnetSelected) {
            let scopes = self.scopes(&cfg, &classes, subnet_index, None, None);
            let infos = self.subnet_infos.clone();
            self.early_hook(&cfg, HookPoint::SubnetSelected, &scopes, at, |p, c| {
                p.subnet_selected4(c, &early, &mut SubnetChoice::new(&infos, &mut subnet_index))
            })?;
        }
        let subnet = subnet_index.map(|i| &cfg.subnets[i]);

        let mut host = find_host(&cfg, &request, relay_info.as_ref());
        let mut plugin_host = None;
        if plugins.wants(Family::V4, HookPoint::HostLookedUp) {
            // The reservation in effect, as each plugin leaves it for the next.
            let mut current = host.map(|h| host_info(&cfg.hosts.list[h]));
            let mut changed = false;
            let scopes = self.scopes(&cfg, &classes, subnet_index, None, host);
            self.early_hook(&cfg, HookPoint::HostLookedUp, &scopes, at, |p, c| {
                let mut choice = HostChoice::new(current.as_ref());
                let r = p.host_looked_up4(c, &early, &mut choice);
                if let Some(change) = choice.into_change() {
                    current = change;
                    changed = true;
                }
                r
            })?;
            if changed {
                host = None;
                plugin_host = current.map(|info| Box::new(host_from_plugin(&info, &request)));
            }
        }
        let server_id = relay_info
            .as_ref()
            .and_then(|r| r.server_id_override())
            .or_else(|| subnet.and_then(|s| s.server_id))
            .or(cfg.server_id)
            .or_else(|| {
                subnet.and_then(|s| {
                    ingress
                        .if_addrs
                        .iter()
                        .map(|a| a.addr())
                        .find(|a| s.net.contains(a))
                })
            })
            .unwrap_or(ingress.local);
        let ex = Exchange {
            request: &request,
            msg_type,
            ingress,
            client,
            classes,
            host,
            plugin_host,
            wire: packet,
            relay_info,
            subnet: subnet_index,
            server_id,
            now,
        };
        ControlFlow::Continue(match msg_type {
            MessageType::Discover => self.discover(&cfg, &ex),
            MessageType::Request => self.request(&cfg, &ex),
            MessageType::Decline => self.decline(&cfg, &ex),
            MessageType::Release => self.release(&cfg, &ex),
            MessageType::Inform => self.inform(&cfg, &ex),
            _ => Outcome::drop(Reason::UnexpectedMessageType),
        })
    }

    fn link<'c>(cfg: &'c Dhcp4, ex: &Exchange<'_>) -> Option<Vec<&'c Subnet>> {
        let subnet = &cfg.subnets[ex.subnet?];
        Some(cfg.link_subnets(subnet).collect())
    }

    fn discover(&mut self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Outcome {
        if self.leases.is_paused() {
            return Outcome::drop(Reason::StoreUnavailable);
        }
        let Some(link) = Self::link(cfg, ex) else {
            return Outcome::drop(Reason::NoSubnet);
        };
        let Some(addr) = allocate::choose(cfg, ex, &link, &mut self.leases) else {
            // Sharing a lease database, the pool may be full only of blocks other
            // servers hold, until this server's claim of more comes back.
            let reason = if self.leases.awaiting_claims() {
                Reason::AwaitingClaim
            } else {
                Reason::PoolExhausted
            };
            return Outcome::Drop {
                reason,
                detail: Some(format!(
                    "no free address for {} on {}",
                    ex.client, link[0].net
                )),
            };
        };
        let subnet = link.iter().copied().find(|s| s.net.contains(&addr));
        let mut valid = subnet
            .map_or(cfg.times, |s| s.times)
            .grant(ex.request.lease_time());
        if let Err(stop) = self.lease_chosen(cfg, ex, addr, false, &mut valid) {
            return *stop;
        }
        let holds_active = self.leases.get(addr).is_some_and(|l| {
            l.state == LeaseState::Active
                && l.client.as_ref() == Some(&ex.client)
                && l.in_use(ex.now)
        });
        // Hold the address for the client so no one else is offered it meanwhile, unless
        // the client already holds it by an active lease, which must not be downgraded.
        if !holds_active {
            self.leases.upsert(lease_for(
                cfg,
                ex,
                addr,
                LeaseState::Offered,
                ex.now + cfg.offer_hold as u64,
            ));
        }
        let spec = ReplySpec {
            msg_type: MessageType::Offer,
            yiaddr: addr,
            subnet,
            lease_time: Some(valid),
            message: None,
        };
        let reply = match self.reply(cfg, ex, &spec) {
            Ok(r) => r,
            Err(parked) => return Outcome::Park(parked),
        };
        info!("DISCOVER -> OFFER {addr}");
        Outcome::Reply {
            reply,
            commit: None,
        }
    }

    fn request(&mut self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Outcome {
        let req = ex.request;
        let (addr, state) = match (req.server_identifier(), req.requested_address()) {
            (Some(sid), requested) => {
                if !self.is_ours(cfg, ex, sid) {
                    self.forget_offer(ex);
                    debug!("REQUEST for server {sid}: client chose another server");
                    return Outcome::NoReply {
                        reason: Some(Reason::OtherServerSelected),
                        commit: None,
                    };
                }
                match requested.or_else(|| (!req.ciaddr.is_unspecified()).then_some(req.ciaddr)) {
                    Some(a) => (a, RequestState::Selecting),
                    None => return Outcome::drop(Reason::RequestWithoutAddress),
                }
            }
            (None, Some(a)) if req.ciaddr.is_unspecified() => (a, RequestState::InitReboot),
            (None, _) if !req.ciaddr.is_unspecified() => {
                (req.ciaddr, RequestState::RenewingOrRebinding)
            }
            (None, _) => return Outcome::drop(Reason::RequestWithoutAddress),
        };
        let Some(link) = Self::link(cfg, ex) else {
            return Outcome::drop(Reason::NoSubnet);
        };
        let subnet = allocate::usable(cfg, ex, &link, addr);
        let available = self.leases.available_to(addr, &ex.client, ex.now);
        let known = self
            .leases
            .client_lease(&ex.client)
            .is_some_and(|l| l.address == addr);

        let verdict = match (state, subnet.is_some() && available) {
            (_, false) => Err("requested address is not available to this client on this network"),
            (RequestState::Selecting, true) => Ok(()),
            (_, true) if known || cfg.authoritative => Ok(()),
            // RFC 2131 §4.3.2: with no record of the client, stay silent.
            (_, true) => {
                return Outcome::NoReply {
                    reason: Some(Reason::NotAuthoritative),
                    commit: None,
                };
            }
        };
        match verdict {
            Ok(()) if self.leases.is_paused() => {
                let subnet = subnet.expect("verdict Ok implies a usable subnet");
                self.renew_from_store(cfg, ex, addr, subnet, state)
            }
            Ok(()) => {
                let subnet = subnet.expect("verdict Ok implies a usable subnet");
                let mut valid = subnet.times.grant(req.lease_time());
                if let Err(stop) = self.lease_chosen(cfg, ex, addr, true, &mut valid) {
                    return *stop;
                }
                let lease = lease_for(cfg, ex, addr, LeaseState::Active, ex.now + valid as u64);
                self.leases.upsert(lease.clone());
                let spec = ReplySpec {
                    msg_type: MessageType::Ack,
                    yiaddr: addr,
                    subnet: Some(subnet),
                    lease_time: Some(valid),
                    message: None,
                };
                let reply = match self.reply(cfg, ex, &spec) {
                    Ok(r) => r,
                    Err(parked) => return Outcome::Park(parked),
                };
                info!("REQUEST ({state:?}) -> ACK {addr} for {valid}s");
                Outcome::Reply {
                    reply,
                    commit: Some(lease),
                }
            }
            Err(why) if state == RequestState::Selecting || cfg.authoritative => {
                let spec = ReplySpec {
                    msg_type: MessageType::Nak,
                    yiaddr: Ipv4Addr::UNSPECIFIED,
                    subnet: None,
                    lease_time: None,
                    message: Some(why),
                };
                let reply = match self.reply(cfg, ex, &spec) {
                    Ok(r) => r,
                    Err(parked) => return Outcome::Park(parked),
                };
                info!("REQUEST ({state:?}) {addr} -> NAK: {why}");
                Outcome::Reply {
                    reply,
                    commit: None,
                }
            }
            Err(why) => {
                debug!("REQUEST ({state:?}) {addr}: {why}; silent (not authoritative)");
                Outcome::NoReply {
                    reason: Some(Reason::NotAuthoritative),
                    commit: None,
                }
            }
        }
    }

    /// A REQUEST while the lease store cannot be written: a client renewing the lease
    /// it holds, stored as it is, gets an ACK for the time that lease has left, with
    /// nothing to write (`[leases] outage_renewals = "remaining"`); anything else waits
    /// for the store.
    fn renew_from_store(
        &mut self,
        cfg: &Dhcp4,
        ex: &Exchange<'_>,
        addr: Ipv4Addr,
        subnet: &Subnet,
        state: RequestState,
    ) -> Outcome {
        let left = self.leases.stored_time_left(addr, &ex.client, ex.now);
        let Some(left) = left else {
            return Outcome::NoReply {
                reason: Some(Reason::StoreUnavailable),
                commit: None,
            };
        };
        let spec = ReplySpec {
            msg_type: MessageType::Ack,
            yiaddr: addr,
            subnet: Some(subnet),
            lease_time: Some(left),
            message: None,
        };
        let reply = match self.reply(cfg, ex, &spec) {
            Ok(r) => r,
            Err(parked) => return Outcome::Park(parked),
        };
        info!(
            "REQUEST ({state:?}) -> ACK {addr} for the {left}s its stored lease has left (lease database unwritable)"
        );
        Outcome::Reply {
            reply,
            commit: None,
        }
    }

    fn decline(&mut self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Outcome {
        if let Some(other) = self.for_another_server(cfg, ex) {
            return other;
        }
        let Some(addr) = ex.request.requested_address() else {
            return Outcome::drop(Reason::RequestWithoutAddress);
        };
        if !self
            .leases
            .get(addr)
            .is_some_and(|l| l.client.as_ref() == Some(&ex.client))
        {
            return Outcome::NoReply {
                reason: Some(Reason::UnknownLease),
                commit: None,
            };
        }
        let mut lease = lease_for(
            cfg,
            ex,
            addr,
            LeaseState::Declined,
            ex.now + cfg.decline_probation as u64,
        );
        lease.client = None;
        self.leases.upsert(lease.clone());
        info!(
            "DECLINE {addr}: in use by another host, out of use for {}s",
            cfg.decline_probation
        );
        Outcome::NoReply {
            reason: None,
            commit: Some(lease),
        }
    }

    fn release(&mut self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Outcome {
        if let Some(other) = self.for_another_server(cfg, ex) {
            return other;
        }
        let addr = ex.request.ciaddr;
        let Some(current) = self
            .leases
            .get(addr)
            .filter(|l| l.client.as_ref() == Some(&ex.client) && l.state == LeaseState::Active)
        else {
            return Outcome::NoReply {
                reason: Some(Reason::UnknownLease),
                commit: None,
            };
        };
        let lease = Lease4 {
            state: LeaseState::Released,
            expires: ex.now,
            ..current.clone()
        };
        self.leases.upsert(lease.clone());
        info!("RELEASE {addr}");
        Outcome::NoReply {
            reason: None,
            commit: Some(lease),
        }
    }

    fn inform(&mut self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Outcome {
        let subnet = ex.subnet.map(|i| &cfg.subnets[i]);
        let spec = ReplySpec {
            msg_type: MessageType::Ack,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            subnet,
            lease_time: None,
            message: None,
        };
        let reply = match self.reply(cfg, ex, &spec) {
            Ok(r) => r,
            Err(parked) => return Outcome::Park(parked),
        };
        info!("INFORM from {} -> ACK", ex.request.ciaddr);
        Outcome::Reply {
            reply,
            commit: None,
        }
    }

    /// A DECLINE or RELEASE naming another server is not ours to act on.
    fn for_another_server(&self, cfg: &Dhcp4, ex: &Exchange<'_>) -> Option<Outcome> {
        let sid = ex.request.server_identifier()?;
        (!self.is_ours(cfg, ex, sid)).then_some(Outcome::NoReply {
            reason: Some(Reason::OtherServerSelected),
            commit: None,
        })
    }

    /// Whether a server identifier a client sent names this server.
    fn is_ours(&self, cfg: &Dhcp4, ex: &Exchange<'_>, sid: Ipv4Addr) -> bool {
        sid == ex.server_id
            || cfg.server_id == Some(sid)
            || cfg.subnets.iter().any(|s| s.server_id == Some(sid))
            || ex.ingress.if_addrs.iter().any(|a| a.addr() == sid)
    }

    /// The client took another server's offer: free the address held for it.
    fn forget_offer(&mut self, ex: &Exchange<'_>) {
        if let Some(l) = self
            .leases
            .client_lease(&ex.client)
            .filter(|l| l.state == LeaseState::Offered)
        {
            let freed = Lease4 {
                state: LeaseState::Expired,
                expires: ex.now,
                ..l.clone()
            };
            self.leases.upsert(freed);
        }
    }

    /// The reply to send; `Err` when a plugin parked the exchange at `reply_ready4`.
    fn reply(
        &mut self,
        cfg: &Dhcp4,
        ex: &Exchange<'_>,
        spec: &ReplySpec<'_>,
    ) -> Result<Reply, Parked> {
        let mut bytes = Vec::with_capacity(576);
        let outcome = if self.plugins.wants(Family::V4, HookPoint::ReplyReady) {
            let plugins = self.plugins.clone();
            let packet = ex.packet();
            let mut reply = PluginReply::new(draft(cfg, ex, spec));
            let subnet = spec.subnet.map(|s| s.index).or(ex.subnet);
            let scopes = self.scopes(cfg, &ex.classes, subnet, Some(spec.yiaddr), ex.host);
            match plugins.run(
                Family::V4,
                HookPoint::ReplyReady,
                &mut self.plugin.ctx,
                &scopes,
                |p, c| p.reply_ready4(c, &packet, &mut reply),
            ) {
                Flow::Respond(r) => reply = *r,
                Flow::Park(parked) => return Err(parked),
                // A `Drop` at this point cannot unsend what is decided (an ACK's lease
                // is already chosen): plugins drop earlier, at `lease_chosen`.
                Flow::Continue | Flow::Drop(_) => {}
            }
            encode_draft(reply.draft(), ex.request, &mut bytes)
        } else {
            build(cfg, ex, spec, &mut bytes)
        };
        if spec.msg_type == MessageType::Nak && !ex.request.giaddr.is_unspecified() {
            // RFC 2131 §4.3.2: a NAK through a relay asks it to broadcast.
            let flags = u16::from_be_bytes([bytes[10], bytes[11]]) | BROADCAST_FLAG;
            bytes[10..12].copy_from_slice(&flags.to_be_bytes());
        }
        if !outcome.dropped.is_empty() || outcome.over_budget {
            // Options the operator configured did not reach the client: worth a line at
            // info (a misconfigured scope shows in every exchange, like the exchange line).
            self.counters
                .options_dropped_for_size
                .fetch_add(outcome.dropped.len() as u64, Ordering::Relaxed);
            info!(dropped = ?outcome.dropped, over_budget = outcome.over_budget, budget = ex.request.reply_budget(), "reply trimmed to the client's maximum message size: options left out");
        }
        let dest = destination(
            ex.request,
            spec.msg_type,
            spec.yiaddr,
            ex.ingress,
            (cfg.port, cfg.client_port),
        );
        Ok(Reply {
            bytes,
            dest,
            msg_type: spec.msg_type,
            dropped_options: outcome.dropped,
        })
    }
}

/// The lease of `address` for the exchange's client. Its host name is the one the client
/// gives (option 12, else option 81), else its reservation's.
fn lease_for(
    cfg: &Dhcp4,
    ex: &Exchange<'_>,
    address: Ipv4Addr,
    state: LeaseState,
    expires: u64,
) -> Lease4 {
    let req: &Message = ex.request;
    let hostname = req
        .client_name()
        .map(str::to_string)
        .or_else(|| ex.host_entry(cfg).and_then(|h| h.hostname.clone()));
    Lease4 {
        address,
        client: Some(ex.client.clone()),
        htype: req.htype,
        hwaddr: req.hwaddr().into(),
        state,
        starts: ex.now,
        expires,
        hostname,
    }
}
