//! The plugin side of the DHCPv6 handler: the same hook points as DHCPv4, with the
//! DHCPv6 packet (client message and relays) and reply (the client message; relay
//! wrappers are added after `reply_ready`).

use std::net::IpAddr;

use tracing::info;
use zerotouch_plugin::erased::DynPlugin;
use zerotouch_plugin::{
    ClassSet, Context, Family, HookPoint, HookResult, HostChoice, HostInfo, LeaseOffer, Packet6,
    Reply6 as PluginReply, SubnetChoice, SubnetInfo,
};

use super::context::{Exchange6, Ingress6};
use super::handler::*;
use crate::config::{ConfiguredOption6, Dhcp6, Host6, HostIdentifier6, OptionSet6, ScopeId};
use crate::lease::{IaKind, Resource};
use crate::plugin::{Flow, Parked};

/// The DHCPv6 subnets, in configuration order, as plugins see them.
pub fn subnet_infos6(cfg: &Dhcp6) -> Vec<SubnetInfo> {
    cfg.subnets
        .iter()
        .map(|s| SubnetInfo {
            prefix: s.net.into(),
            pool_size: s
                .pools
                .iter()
                .map(|p| p.size())
                .sum::<u128>()
                .min(u64::MAX as u128) as u64,
        })
        .collect()
}

/// A configured reservation as plugins see it (its first address).
fn host_info(h: &Host6) -> HostInfo {
    HostInfo {
        address: h.addresses.first().map(|&a| IpAddr::V6(a)),
        hostname: h.hostname.clone(),
        options: h
            .options
            .0
            .iter()
            .map(|o| (o.code, o.data.clone()))
            .collect(),
    }
}

/// A reservation a plugin supplied, in the configuration's form; an IPv4 address is
/// left out.
fn host_from_plugin(info: &HostInfo, duid: &[u8]) -> Host6 {
    Host6 {
        identifier: HostIdentifier6::Duid(duid.to_vec()),
        addresses: match info.address {
            Some(IpAddr::V6(a)) => vec![a],
            _ => Vec::new(),
        },
        prefixes: Vec::new(),
        hostname: info.hostname.clone(),
        options: OptionSet6(
            info.options
                .iter()
                .map(|(code, data)| ConfiguredOption6 {
                    code: *code,
                    data: data.clone(),
                    always: false,
                })
                .collect(),
        ),
    }
}

impl<'a> Exchange6<'a> {
    /// The message as plugins see it; it borrows the packet, not the exchange, so the
    /// exchange can change while plugins look at the packet.
    pub fn plugin_packet(&self) -> Packet6<'a> {
        let ingress: &'a Ingress6 = self.ingress;
        Packet6::new(
            self.packet,
            zerotouch_plugin::Ingress {
                wire: self.wire,
                interface: &ingress.ifname,
                source: ingress.src.into(),
                now: self.now,
            },
        )
    }
}

impl Dhcp6Handler {
    /// The configuration scopes that apply, most specific first, for plugins with
    /// per-scope settings; empty when there are none.
    fn scopes6(
        &self,
        cfg: &Dhcp6,
        ex: &Exchange6<'_>,
        bound: &[(IaKind, Resource)],
    ) -> Vec<ScopeId> {
        if !self.scoped {
            return Vec::new();
        }
        let mut chain = Vec::with_capacity(ex.classes.len() + 4);
        chain.extend(ex.host.map(ScopeId::Host6));
        chain.extend(ex.classes.iter().map(|&c| ScopeId::Class6(c)));
        if let Some(s) = ex.subnet {
            let subnet = &cfg.subnets[s];
            for &(kind, r) in bound {
                let pool = match kind {
                    IaKind::Na => subnet
                        .pools
                        .iter()
                        .position(|p| p.contains(r.address))
                        .map(|j| ScopeId::Pool6(s, j)),
                    IaKind::Pd => subnet
                        .pd_pools
                        .iter()
                        .position(|p| p.contains(r.address, r.prefix_len))
                        .map(|j| ScopeId::PdPool(s, j)),
                };
                if let Some(p) = pool.filter(|p| !chain.contains(p)) {
                    chain.push(p);
                }
            }
            chain.push(ScopeId::Subnet6(s));
        }
        chain.push(ScopeId::Global6);
        chain
    }

    /// Runs the hooks before the message is answered (packet received, classes
    /// assigned, subnet selected, host looked up), each seeing what the previous
    /// decided; `Err` when a plugin ends the exchange.
    pub(super) fn early_hooks(
        &mut self,
        cfg: &Dhcp6,
        ex: &mut Exchange6<'_>,
    ) -> Result<(), Outcome6> {
        let plugins = self.plugins.clone();
        let early = ex.plugin_packet();
        if plugins.wants(Family::V6, HookPoint::PacketReceived) {
            let scopes = self.scopes6(cfg, ex, &[]);
            self.early_hook(HookPoint::PacketReceived, &scopes, ex, |p, c| {
                p.packet_received6(c, &early)
            })?;
        }
        if plugins.wants(Family::V6, HookPoint::ClassesAssigned) {
            let scopes = self.scopes6(cfg, ex, &[]);
            let names = self.class_names.clone();
            let mut classes = std::mem::take(&mut ex.classes);
            let ran = self.early_hook(HookPoint::ClassesAssigned, &scopes, ex, |p, c| {
                p.classes_assigned6(c, &early, &mut ClassSet::new(&names, &mut classes))
            });
            ex.classes = classes;
            ran?;
        }
        if plugins.wants(Family::V6, HookPoint::SubnetSelected) {
            let scopes = self.scopes6(cfg, ex, &[]);
            let infos = self.subnet_infos.clone();
            let mut subnet = ex.subnet;
            let ran = self.early_hook(HookPoint::SubnetSelected, &scopes, ex, |p, c| {
                p.subnet_selected6(c, &early, &mut SubnetChoice::new(&infos, &mut subnet))
            });
            ex.subnet = subnet;
            ran?;
        }
        if plugins.wants(Family::V6, HookPoint::HostLookedUp) {
            let mut current = ex.host_entry(cfg).map(host_info);
            let mut changed = false;
            let scopes = self.scopes6(cfg, ex, &[]);
            self.early_hook(HookPoint::HostLookedUp, &scopes, ex, |p, c| {
                let mut choice = HostChoice::new(current.as_ref());
                let r = p.host_looked_up6(c, &early, &mut choice);
                if let Some(change) = choice.into_change() {
                    current = change;
                    changed = true;
                }
                r
            })?;
            if changed {
                ex.host = None;
                ex.plugin_host = current.map(|info| Box::new(host_from_plugin(&info, ex.duid)));
            }
        }
        Ok(())
    }

    /// Runs `lease_chosen` for one address or prefix; the plugin may shorten or
    /// lengthen its valid lifetime (the preferred one stays within it).
    pub(super) fn lease_chosen(
        &mut self,
        cfg: &Dhcp6,
        ex: &Exchange6<'_>,
        unit: (IaKind, Resource),
        committing: bool,
        lifetimes: &mut (u32, u32),
    ) -> Result<(), Outcome6> {
        if !self.plugins.wants(Family::V6, HookPoint::LeaseChosen) {
            return Ok(());
        }
        let packet = ex.plugin_packet();
        let mut offer = LeaseOffer::new(IpAddr::V6(unit.1.address), committing, lifetimes.1);
        let scopes = self.scopes6(cfg, ex, &[unit]);
        let ran = self.early_hook(HookPoint::LeaseChosen, &scopes, ex, |p, c| {
            p.lease_chosen6(c, &packet, &mut offer)
        });
        lifetimes.1 = offer.lifetime();
        lifetimes.0 = lifetimes.0.min(lifetimes.1);
        ran
    }

    /// Runs `reply_ready6` on the reply about to be sent; a plugin's `Respond` replaces
    /// it. `Err` when a plugin parked the exchange.
    pub(super) fn reply_ready(
        &mut self,
        cfg: &Dhcp6,
        ex: &Exchange6<'_>,
        bound: &[(IaKind, Resource)],
        message: Message6,
    ) -> Result<Message6, Parked> {
        if !self.plugins.wants(Family::V6, HookPoint::ReplyReady) {
            return Ok(message);
        }
        let plugins = self.plugins.clone();
        let packet = ex.plugin_packet();
        let mut reply = PluginReply::new(message);
        let scopes = self.scopes6(cfg, ex, bound);
        match plugins.run(
            Family::V6,
            HookPoint::ReplyReady,
            &mut self.plugin.ctx,
            &scopes,
            |p, c| p.reply_ready6(c, &packet, &mut reply),
        ) {
            Flow::Respond(r) => reply = *r,
            Flow::Park(parked) => return Err(parked),
            // A `Drop` here cannot unsend what is decided: plugins drop at `lease_chosen`.
            Flow::Continue | Flow::Drop(_) => {}
        }
        Ok(reply.into_message())
    }

    /// The one runner of the hooks before the reply exists: runs `hook` over the
    /// instances that serve it with the `scopes` that apply; `Err` with the outcome when
    /// a plugin ends the exchange (a drop, or its own answer).
    fn early_hook(
        &mut self,
        hook: HookPoint,
        scopes: &[ScopeId],
        ex: &Exchange6<'_>,
        call: impl FnMut(&dyn DynPlugin, &mut Context) -> HookResult<PluginReply>,
    ) -> Result<(), Outcome6> {
        let plugins = self.plugins.clone();
        let flow = plugins.run(Family::V6, hook, &mut self.plugin.ctx, scopes, call);
        self.early_flow(flow, ex)
    }

    /// What the packet path does after a hook before the reply exists.
    fn early_flow(&mut self, flow: Flow<PluginReply>, ex: &Exchange6<'_>) -> Result<(), Outcome6> {
        match flow {
            Flow::Continue => Ok(()),
            Flow::Drop(reason) => Err(Outcome6::drop(reason.into())),
            Flow::Park(parked) => Err(Outcome6::Park(parked)),
            Flow::Respond(reply) => {
                let message = reply.into_message();
                info!(
                    "{} answered by a plugin: {}",
                    ex.msg_type.name(),
                    message.msg_type.name()
                );
                Err(Outcome6::Reply {
                    reply: Reply6 {
                        bytes: ex.packet.encode_reply(&message),
                        dst: ex.ingress.src,
                        ifindex: reply_ifindex(ex),
                        msg_type: message.msg_type,
                    },
                    commit: Vec::new(),
                })
            }
        }
    }
}
