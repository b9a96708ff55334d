//! Plugins on relayed DHCPv6: `packet_received` and `classes_assigned` on a message from
//! downstream, `reply_ready` on the client message inside each RELAY-REPL for it. The
//! relay remembers the request until its replies come back, keyed by link, peer and the
//! client message's transaction id.

use std::borrow::Cow;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Instant;

use zerotouch_net::{Datagram, Outgoing, V6};
use zerotouch_plugin::{Family, HookPoint, Ingress, Reply6};
use zerotouch_plugin_host::Pipeline;
use zerotouch_proto::v6::{Packet6, RelayHeader};

use super::{Action, Link6, forward};
use crate::action::dropped;
use crate::config::{Relay6, SCOPES6};
use crate::counters::Counters;
use crate::plugins::pending::Pending;
use crate::plugins::{Edit, Remembered, V6 as Hooks, classify, on_request, reply_ready};

/// Downstream interface, the peer the message came from, the client's transaction id.
type Key = (usize, Ipv6Addr, u32);

#[derive(Default)]
pub(crate) struct Hooks6 {
    /// Requests as they arrived: a client's message, or a relay's below with the
    /// client's inside.
    pending: Pending<Key, Remembered<Hooks>>,
}

impl Hooks6 {
    /// A message from `link`: `packet_received` (which may drop it or answer it here),
    /// forwarding, then `classes_assigned` (the client's options and the relay options
    /// this relay adds); remembered when a plugin will see its replies.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request(
        &mut self,
        plugins: &Pipeline,
        relay: &Relay6,
        link: &Link6<'_>,
        hostname: &str,
        d: &Datagram<'_, V6>,
        now: u64,
        ifindex_of: impl Fn(&str) -> Option<u32>,
    ) -> Action {
        let name = &*link.interface.name;
        let Ok(request) = Packet6::decode(d.data) else {
            // Counted as malformed there.
            return forward(relay, link, hostname, d, ifindex_of);
        };
        let source = SocketAddr::V6(d.src);
        let ingress = Ingress {
            wire: d.data,
            interface: name,
            source,
            now,
        };
        let (action, remember) = on_request::<Hooks, _, _>(
            plugins,
            &request,
            ingress,
            SCOPES6,
            link.index,
            &relay.classes,
            || forward(relay, link, hostname, d, ifindex_of),
            |sent| {
                let ours = RelayHeader::decode_level(sent).ok().map(|(h, _)| h);
                classify(&relay.classes, |s| s.value(&request.message, ours.as_ref()))
            },
            |reply| answer(link, &request, d, reply),
        );
        if let Some((ctx, scopes)) = remember {
            let key = (link.index, *d.src.ip(), request.message.xid);
            let r = Remembered {
                request,
                wire: d.data.to_vec(),
                interface: name.to_string(),
                source,
                scopes,
                ctx,
            };
            self.pending.insert(key, r, Instant::now());
        }
        action
    }

    /// The message inside a RELAY-REPL for `link`'s `peer`, edited by `reply_ready` with
    /// the request it answers; unchanged when no plugin changed it or the request is
    /// not remembered.
    pub(crate) fn reply<'d>(
        &mut self,
        plugins: &Pipeline,
        link: &Link6<'_>,
        peer: Ipv6Addr,
        inner: &'d [u8],
        counters: &Counters,
        now: u64,
    ) -> Result<Cow<'d, [u8]>, Action> {
        let name = &*link.interface.name;
        if !plugins.wants(Family::V6, HookPoint::ReplyReady) {
            return Ok(Cow::Borrowed(inner));
        }
        let Ok(reply6) = Packet6::decode(inner) else {
            return Ok(Cow::Borrowed(inner)); // passed on as the server sent it
        };
        let key = (link.index, peer, reply6.message.xid);
        let Some(r) = self.pending.get_mut(&key, Instant::now()) else {
            counters.count(name, "reply_without_remembered_request");
            return Ok(Cow::Borrowed(inner));
        };
        let Packet6 { relays, message } = reply6;
        let draft = Reply6::new(message);
        let message = match reply_ready(plugins, r, draft, now) {
            Edit::Unchanged => return Ok(Cow::Borrowed(inner)),
            Edit::Changed(reply) => reply.into_message(),
            Edit::Drop => return Err(dropped(name, "plugin_drop")),
        };
        // Back inside the relays below, as the server wrapped it.
        Ok(Cow::Owned(Packet6 { relays, message }.to_bytes()))
    }
}

/// A plugin answered the request itself: its reply goes back the way the request came,
/// through the relays below if any.
fn answer(link: &Link6<'_>, request: &Packet6, d: &Datagram<'_, V6>, reply: Reply6) -> Action {
    let message = reply.into_message();
    let ifindex = link.interface.index;
    Action::Send {
        interface: link.interface.name.to_string(),
        event: "answered_by_plugin",
        out: vec![Outgoing {
            data: request.encode_reply(&message),
            dst: SocketAddrV6::new(*d.src.ip(), d.src.port(), 0, ifindex),
            ifindex,
            src: Ipv6Addr::UNSPECIFIED,
        }],
    }
}
