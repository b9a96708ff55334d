//! The DHCPv6 service: its lease store, server DUID, socket (on [::]:547, joined to
//! ff02::1:2 on every served interface) and handler, started as the shared packet loop
//! (`packet_loop.rs`) with what is DHCPv6's in it.

use crate::plugin_context::PluginContext;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::info;
use zerotouch_plugin::LeaseInfo;

use super::sender::ReplySender6;
use crate::config::{Dhcp6, LeaseStoreConfig, OutageRenewals};
use crate::lease::{GroupCommit, Lease6, LeaseIndex6, LeaseState, start_capacity};
use crate::plugin::Pipeline;
use crate::server::ServerError;
use crate::server::commits::IDLE_TICK;
use crate::server::packet_loop::{Family, INTERFACE_REFRESH, PacketLoop};
use crate::server::startup::{CLAIM_AT_START, Service, load_leases, warn_unmatched_interfaces};
use crate::services::lease_info6;
use crate::stats::Counters;
use crate::v6::{Dhcp6Handler, Ingress6, Outcome6, Reply6, server_duid};
use zerotouch_net::{BatchSocket, Datagram, Interface, ServedInterfaces};

/// The DHCPv6 service.
pub struct Dhcp6Service;

impl Dhcp6Service {
    /// Opens the lease store, makes or reads the server DUID, binds the socket and
    /// starts the packet thread; errors in any of these come back here.
    pub fn start(
        cfg: Arc<Dhcp6>,
        store_cfg: &LeaseStoreConfig,
        counters: Arc<Counters>,
        plugins: Arc<Pipeline>,
        stop: Arc<AtomicBool>,
    ) -> Result<Service, ServerError> {
        // The port first: a server refused it (another holds it) touches no database.
        let socket =
            Arc::new(
                BatchSocket::bind_v6(cfg.port, IDLE_TICK).map_err(|e| ServerError::Bind {
                    port: cfg.port,
                    source: e,
                })?,
            );
        let mut store = crate::store::open(store_cfg)?;
        // Following other servers' changes starts before the leases are read: none
        // made in between is missed.
        let following = store.follow6()?;
        let loaded = load_leases(&*store, |s| s.load6())?;
        let duid = server_duid(&cfg.server_duid, &cfg.interfaces, &mut *store)?;
        // Sized like the DHCPv4 index: both bindings of every exchange are new entries
        // under load, and a rehash of a table of 100 000 of them stalls the packet loop.
        let pool_sizes = cfg.subnets.iter().flat_map(|s| {
            let addresses = s.pools.iter().map(|p| p.size());
            addresses.chain(s.pd_pools.iter().map(|p| p.size()))
        });
        let mut index = LeaseIndex6::from_leases(start_capacity(pool_sizes, loaded.len()), loaded);
        index.renew_from_store(store_cfg.outage_renewals == OutageRenewals::Remaining);
        if let Some(mut claims) = store.claims6()? {
            claims.prime(super::allocate::spans(&cfg), CLAIM_AT_START);
            index.set_claims(claims);
        }
        info!(leases = index.len(), store = %store.describe(), "DHCPv6 leases loaded");
        let handler =
            Dhcp6Handler::new(cfg.clone(), index, duid, counters.clone()).with_plugins(plugins);
        let interfaces = ServedInterfaces::new(&cfg.interfaces, INTERFACE_REFRESH);
        warn_unmatched_interfaces(&interfaces, &cfg.relayed_only, "DHCPv6", |i| {
            cfg.interface_subnet(&i.name, &i.addrs6).is_some()
        });
        info!(port = cfg.port, interfaces = ?cfg.interfaces, duid = %crate::lease::hex_colon(handler.server_duid()), "DHCPv6 serving");
        let sender = ReplySender6::new(socket.clone(), counters.clone());
        let commit = GroupCommit::start(store, store_cfg.commit_window)?;
        PacketLoop::<V6>::new(
            handler, socket, sender, commit, following, interfaces, counters,
        )
        .spawn("dhcp6", stop, store_cfg.reclaim_interval)
    }
}

/// DHCPv6 in the packet loop.
pub(crate) enum V6 {}

impl Family for V6 {
    const NAME: &'static str = "DHCPv6";
    const DROPPED: &'static str = "DHCPv6 ";
    type Socket = zerotouch_net::V6;
    type Handler = Dhcp6Handler;
    type Lease = Lease6;
    type Commit = Vec<Lease6>;
    type Reply = Reply6;
    type Sender = ReplySender6;

    fn handle(
        h: &mut Dhcp6Handler,
        d: &Datagram<'_, zerotouch_net::V6>,
        iface: &Interface,
        now: u64,
    ) -> Outcome6 {
        let ingress = Ingress6 {
            ifindex: d.ifindex,
            ifname: iface.name.clone(),
            if_addrs: iface.addrs6.clone(),
            dst: d.dst,
            src: d.src,
        };
        h.handle(d.data, &ingress, now)
    }

    fn plugin_context(handler: &mut Self::Handler) -> &mut PluginContext {
        handler.plugin_context()
    }

    fn reclaim(h: &mut Dhcp6Handler, now: u64) -> Vec<Lease6> {
        h.reclaim(now)
    }

    fn learn(h: &mut Dhcp6Handler, leases: Vec<Lease6>) {
        h.learn(leases)
    }

    fn pause_new(h: &mut Dhcp6Handler, paused: bool) {
        h.pause_new(paused)
    }

    fn stored(h: &mut Dhcp6Handler, leases: &[Lease6]) {
        h.stored(leases)
    }

    fn plugins(h: &Dhcp6Handler) -> &Arc<Pipeline> {
        h.plugins()
    }

    fn describe(lease: &Lease6) -> (LeaseState, LeaseInfo) {
        (lease.state, lease_info6(lease))
    }

    fn count_received(counters: &Counters) {
        counters.received6.fetch_add(1, Ordering::Relaxed);
    }

    fn send(sender: &mut ReplySender6, replies: &mut Vec<Reply6>) {
        sender.send(replies);
    }

    /// Joins ff02::1:2 on every served interface, those that appeared too.
    fn interfaces_changed(
        socket: &BatchSocket<zerotouch_net::V6>,
        interfaces: &mut ServedInterfaces,
    ) {
        interfaces.join_dhcp_servers(socket);
    }
}
