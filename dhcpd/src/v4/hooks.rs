//! The plugin side of the DHCPv4 handler: which configuration scopes apply to a packet,
//! the `lease_chosen` hook, what a hook's answer does before the reply exists, replies a
//! plugin makes, and host reservations crossing to and from plugins.

use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use tracing::info;
use zerotouch_plugin::erased::DynPlugin;
use zerotouch_plugin::{Context, Family, HookPoint, HookResult, HostInfo, LeaseOffer, Reply4};
use zerotouch_proto::v4::{Message, MessageType, OptionCode};

use super::handler::*;
use super::{Exchange, Ingress};
use crate::config::{ConfiguredOption, Dhcp4, Host, HostIdentifier, OptionSet, ScopeId};
use crate::plugin::Flow;
use crate::plugin::encode_draft;
use crate::v4::addressing::destination;

impl Dhcp4Handler {
    /// The configuration scopes that apply so far, most specific first (host
    /// reservation, classes in definition order, the pool holding `addr`, subnet,
    /// `[dhcp4]`), for plugins with per-scope settings; empty when there are none.
    pub(super) fn scopes(
        &self,
        cfg: &Dhcp4,
        classes: &[usize],
        subnet: Option<usize>,
        addr: Option<Ipv4Addr>,
        host: Option<usize>,
    ) -> Vec<ScopeId> {
        if !self.scoped {
            return Vec::new();
        }
        let mut chain = Vec::with_capacity(classes.len() + 4);
        chain.extend(host.map(ScopeId::Host));
        chain.extend(classes.iter().map(|&c| ScopeId::Class(c)));
        if let (Some(s), Some(a)) = (subnet, addr)
            && let Some(p) = cfg.subnets[s]
                .pools
                .iter()
                .position(|p| p.contains(u32::from(a)))
        {
            chain.push(ScopeId::Pool(s, p));
        }
        chain.extend(subnet.map(ScopeId::Subnet));
        chain.push(ScopeId::Global);
        chain
    }

    /// The one runner of the hooks before the reply exists: runs `hook` over the
    /// instances that serve it with the `scopes` that apply; `Break` with the outcome
    /// when a plugin ends the exchange (a drop, or its own answer to `at`'s request).
    pub(super) fn early_hook(
        &mut self,
        cfg: &Dhcp4,
        hook: HookPoint,
        scopes: &[ScopeId],
        at: (&Message, &Ingress),
        call: impl FnMut(&dyn DynPlugin, &mut Context) -> HookResult<Reply4>,
    ) -> ControlFlow<Outcome> {
        let plugins = self.plugins.clone();
        let flow = plugins.run(Family::V4, hook, &mut self.plugin.ctx, scopes, call);
        match self.early_flow(cfg, flow, at.0, at.1) {
            None => ControlFlow::Continue(()),
            Some(outcome) => ControlFlow::Break(outcome),
        }
    }

    /// Runs `lease_chosen`; `Err` carries the outcome when a plugin ends the exchange.
    pub(super) fn lease_chosen(
        &mut self,
        cfg: &Dhcp4,
        ex: &Exchange<'_>,
        addr: Ipv4Addr,
        committing: bool,
        valid: &mut u32,
    ) -> Result<(), Box<Outcome>> {
        if !self.plugins.wants(Family::V4, HookPoint::LeaseChosen) {
            return Ok(());
        }
        let packet = ex.packet();
        let mut offer = LeaseOffer::new(addr.into(), committing, *valid);
        let scopes = if self.scoped {
            let subnet = cfg.subnet_containing(addr).map(|s| s.index).or(ex.subnet);
            self.scopes(cfg, &ex.classes, subnet, Some(addr), ex.host)
        } else {
            Vec::new()
        };
        let ran = self.early_hook(
            cfg,
            HookPoint::LeaseChosen,
            &scopes,
            (ex.request, ex.ingress),
            |p, c| p.lease_chosen4(c, &packet, &mut offer),
        );
        *valid = offer.lifetime();
        match ran {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(outcome) => Err(Box::new(outcome)),
        }
    }

    /// What the packet path does after a hook before the reply exists: `None` to go on.
    pub(super) fn early_flow(
        &mut self,
        cfg: &Dhcp4,
        flow: Flow<Reply4>,
        request: &Message,
        ingress: &Ingress,
    ) -> Option<Outcome> {
        match flow {
            Flow::Continue => None,
            Flow::Drop(reason) => Some(Outcome::drop(reason.into())),
            Flow::Respond(reply) => Some(self.respond(cfg, *reply, request, ingress)),
            Flow::Park(parked) => Some(Outcome::Park(parked)),
        }
    }

    /// Sends a reply a plugin made, addressed by its type like any other.
    pub(super) fn respond(
        &mut self,
        cfg: &Dhcp4,
        reply: Reply4,
        request: &Message,
        ingress: &Ingress,
    ) -> Outcome {
        let mut draft = reply.into_draft();
        if !draft
            .message
            .options
            .contains(OptionCode::SERVER_IDENTIFIER)
        {
            let sid = cfg.server_id.unwrap_or(ingress.local);
            draft
                .message
                .options
                .append(OptionCode::SERVER_IDENTIFIER, &sid.octets());
        }
        let msg_type = draft.message.message_type().unwrap_or(MessageType::Ack);
        let mut bytes = Vec::with_capacity(576);
        let outcome = encode_draft(&draft, request, &mut bytes);
        let dest = destination(
            request,
            msg_type,
            draft.message.yiaddr,
            ingress,
            (cfg.port, cfg.client_port),
        );
        info!(
            "{} answered by a plugin: {}",
            request.message_type().map_or("request", |t| t.name()),
            msg_type.name()
        );
        Outcome::Reply {
            reply: Reply {
                bytes,
                dest,
                msg_type,
                dropped_options: outcome.dropped,
            },
            commit: None,
        }
    }
}

/// A configured reservation as plugins see it.
pub(super) fn host_info(h: &Host) -> HostInfo {
    HostInfo {
        address: h.address.map(Into::into),
        hostname: h.hostname.clone(),
        options: h
            .options
            .0
            .iter()
            .map(|o| (u16::from(o.code), o.data.clone()))
            .collect(),
    }
}

/// A reservation a plugin supplied, in the configuration's form. IPv6 addresses and
/// codes above 254 cannot be DHCPv4 and are left out.
pub(super) fn host_from_plugin(info: &HostInfo, request: &Message) -> Host {
    Host {
        identifier: HostIdentifier::HwAddress(request.hwaddr().to_vec()),
        address: match info.address {
            Some(std::net::IpAddr::V4(a)) => Some(a),
            _ => None,
        },
        hostname: info.hostname.clone(),
        options: OptionSet(
            info.options
                .iter()
                .filter_map(|(code, data)| {
                    let code = u8::try_from(*code).ok().filter(|c| (1..=254).contains(c))?;
                    Some(ConfiguredOption {
                        code,
                        data: data.clone(),
                        always: false,
                    })
                })
                .collect(),
        ),
        boot: Default::default(),
    }
}
