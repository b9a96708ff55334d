//! The DHCPv4 service: its lease store, socket and handler, started as the shared
//! packet loop (`packet_loop.rs`) with what is DHCPv4's in it.

use crate::plugin_context::PluginContext;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::info;
use zerotouch_plugin::LeaseInfo;

use super::sender::ReplySender;
use crate::config::{Dhcp4, LeaseStoreConfig, OutageRenewals};
use crate::lease::{GroupCommit, Lease4, LeaseIndex, LeaseState, PoolRef, Span, start_capacity};
use crate::plugin::Pipeline;
use crate::server::ServerError;
use crate::server::commits::IDLE_TICK;
use crate::server::packet_loop::{Family, INTERFACE_REFRESH, PacketLoop};
use crate::server::startup::{CLAIM_AT_START, Service, load_leases, warn_unmatched_interfaces};
use crate::services::lease_info;
use crate::stats::Counters;
use crate::v4::{Dhcp4Handler, Ingress, Outcome, Reply};
use zerotouch_net::{BatchSocket, Datagram, Interface, ServedInterfaces};

/// The DHCPv4 service.
pub struct Dhcp4Service;

impl Dhcp4Service {
    /// Opens the lease store, binds the socket and starts the packet thread; errors in
    /// any of these come back here, before anything is served.
    pub fn start(
        cfg: Arc<Dhcp4>,
        store_cfg: &LeaseStoreConfig,
        counters: Arc<Counters>,
        plugins: Arc<Pipeline>,
        stop: Arc<AtomicBool>,
    ) -> Result<Service, ServerError> {
        // The port first: a server refused it (another holds it) touches no database.
        let socket =
            Arc::new(
                BatchSocket::bind(cfg.port, IDLE_TICK).map_err(|e| ServerError::Bind {
                    port: cfg.port,
                    source: e,
                })?,
            );
        let mut store = crate::store::open(store_cfg)?;
        // Following other servers' changes starts before the leases are read: none
        // made in between is missed.
        let following = store.follow4()?;
        let loaded = load_leases(&*store, |s| s.load4())?;
        let pool_sizes = cfg
            .subnets
            .iter()
            .flat_map(|s| &s.pools)
            .map(|p| p.size().into());
        let capacity = start_capacity(pool_sizes, loaded.len());
        let mut index = LeaseIndex::from_leases(capacity, loaded);
        index.renew_from_store(store_cfg.outage_renewals == OutageRenewals::Remaining);
        if let Some(mut claims) = store.claims4()? {
            let pools = cfg.subnets.iter().flat_map(|s| {
                s.pools.iter().enumerate().map(|(i, p)| {
                    let at = PoolRef {
                        subnet: s.index,
                        pool: i,
                    };
                    (at, Span::addresses4(p.first, p.last))
                })
            });
            claims.prime(pools, CLAIM_AT_START);
            index.set_claims(claims);
        }
        info!(leases = index.len(), store = %store.describe(), "leases loaded");
        let handler = Dhcp4Handler::new(cfg.clone(), index, counters.clone()).with_plugins(plugins);

        let interfaces = ServedInterfaces::new(&cfg.interfaces, INTERFACE_REFRESH);
        warn_unmatched_interfaces(&interfaces, &cfg.relayed_only, "DHCPv4", |i| {
            cfg.interface_subnet(&i.name, &i.addrs).is_some()
        });
        info!(port = cfg.port, interfaces = ?cfg.interfaces, authoritative = cfg.authoritative, "DHCPv4 serving");
        let sender = ReplySender::new(socket.clone(), cfg.client_port, counters.clone());
        let commit = GroupCommit::start(store, store_cfg.commit_window)?;
        PacketLoop::<V4>::new(
            handler, socket, sender, commit, following, interfaces, counters,
        )
        .spawn("dhcp4", stop, store_cfg.reclaim_interval)
    }
}

/// DHCPv4 in the packet loop.
pub(crate) enum V4 {}

impl Family for V4 {
    const NAME: &'static str = "DHCPv4";
    const DROPPED: &'static str = "";
    type Socket = zerotouch_net::V4;
    type Handler = Dhcp4Handler;
    type Lease = Lease4;
    type Commit = Option<Lease4>;
    type Reply = Reply;
    type Sender = ReplySender;

    fn handle(h: &mut Dhcp4Handler, d: &Datagram<'_>, iface: &Interface, now: u64) -> Outcome {
        let ingress = Ingress {
            ifindex: d.ifindex,
            ifname: iface.name.clone(),
            if_addrs: iface.addrs.clone(),
            local: d.local,
            dst: d.dst,
            src: d.src,
        };
        h.handle(d.data, &ingress, now)
    }

    fn plugin_context(handler: &mut Self::Handler) -> &mut PluginContext {
        handler.plugin_context()
    }

    fn reclaim(h: &mut Dhcp4Handler, now: u64) -> Vec<Lease4> {
        h.reclaim(now)
    }

    fn learn(h: &mut Dhcp4Handler, leases: Vec<Lease4>) {
        h.learn(leases)
    }

    fn pause_new(h: &mut Dhcp4Handler, paused: bool) {
        h.pause_new(paused)
    }

    fn stored(h: &mut Dhcp4Handler, leases: &[Lease4]) {
        h.stored(leases)
    }

    fn plugins(h: &Dhcp4Handler) -> &Arc<Pipeline> {
        h.plugins()
    }

    fn describe(lease: &Lease4) -> (LeaseState, LeaseInfo) {
        (lease.state, lease_info(lease))
    }

    fn count_received(counters: &Counters) {
        counters.received.fetch_add(1, Ordering::Relaxed);
    }

    fn send(sender: &mut ReplySender, replies: &mut Vec<Reply>) {
        sender.send(replies);
    }
}
