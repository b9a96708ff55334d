//! Plugins on relayed DHCPv4: `packet_received` and `classes_assigned` on a client's
//! request, `reply_ready` on each reply to it. The relay remembers the request until
//! its replies come back (a reply says nothing of what the client asked for), keyed by
//! transaction id and client hardware address.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Instant;

use zerotouch_net::{Datagram, V4};
use zerotouch_plugin::{Draft4, Family, HookPoint, Ingress, Reply4};
use zerotouch_plugin_host::Pipeline;
use zerotouch_plugin_host::encode_draft;
use zerotouch_proto::v4::{self, Message, OptionCode, RelayAgentInfo};

use super::agent_info::agent_info;
use super::{Action, Link, deliver, forward, forward_decoded};
use crate::action::dropped;
use crate::config::{Relay4, SCOPES4};
use crate::counters::Counters;
use crate::plugins::pending::Pending;
use crate::plugins::{Edit, Remembered, V4 as Hooks, classify, on_request, reply_ready};

/// What a reply shares with its request: transaction id and client hardware address.
type Key = (u32, [u8; 16]);

fn key(m: &Message) -> Key {
    (m.xid, m.chaddr)
}

#[derive(Default)]
pub(crate) struct Hooks4 {
    pending: Pending<Key, Remembered<Hooks>>,
}

impl Hooks4 {
    /// A request from `link`: `packet_received` (which may drop it or answer it here),
    /// then forwarding, then `classes_assigned` on the request as forwarded (the
    /// client's options and the option 82 this relay adds); remembered when a plugin
    /// will see its replies.
    pub(crate) fn request(
        &mut self,
        plugins: &Pipeline,
        relay: &Relay4,
        link: &Link<'_>,
        hostname: &str,
        d: &Datagram<'_, V4>,
        now: u64,
    ) -> Action {
        let name = &*link.interface.name;
        let Ok(request) = v4::decode(d.data) else {
            // Counted as malformed there.
            return forward(relay, link, hostname, d);
        };
        let source = SocketAddr::V4(d.src);
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
            SCOPES4,
            link.index,
            &relay.classes,
            || forward_decoded(relay, link, hostname, d, &request),
            |sent| {
                let info = agent_info(sent).and_then(|v| RelayAgentInfo::parse(&v));
                classify(&relay.classes, |s| s.value(&request, info.as_ref()))
            },
            |reply| answer(link, &request, reply),
        );
        if let Some((ctx, scopes)) = remember {
            let r = Remembered {
                wire: d.data.to_vec(),
                interface: name.to_string(),
                source,
                scopes,
                ctx,
                request,
            };
            self.pending.insert(key(&r.request), r, Instant::now());
        }
        action
    }

    /// A server's reply for `link`, edited by `reply_ready` with the request it
    /// answers; unchanged when no plugin changed it or the request is not remembered.
    pub(crate) fn reply<'d>(
        &mut self,
        plugins: &Pipeline,
        link: &Link<'_>,
        data: &'d [u8],
        counters: &Counters,
        now: u64,
    ) -> Result<Cow<'d, [u8]>, Action> {
        let name = &*link.interface.name;
        if !plugins.wants(Family::V4, HookPoint::ReplyReady) {
            return Ok(Cow::Borrowed(data));
        }
        let Ok(mut message) = v4::decode(data) else {
            return Ok(Cow::Borrowed(data)); // delivery drops it as malformed
        };
        let Some(r) = self.pending.get_mut(&key(&message), Instant::now()) else {
            counters.count(name, "reply_without_remembered_request");
            return Ok(Cow::Borrowed(data));
        };
        // The server's options all stay; only what plugins add may give way to the
        // client's size limit. Option 82 is the relay's to remove.
        message.options.remove(OptionCode::RELAY_AGENT_INFORMATION);
        let required = message.options.iter().map(|(c, _)| c).collect();
        let draft = Reply4::new(Draft4 { message, required });
        let edited = match reply_ready(plugins, r, draft, now) {
            Edit::Unchanged => return Ok(Cow::Borrowed(data)),
            Edit::Changed(reply) => *reply,
            Edit::Drop => return Err(dropped(name, "plugin_drop")),
        };
        let (bytes, outcome) = encode(edited, &r.request);
        if !outcome.dropped.is_empty() {
            counters.count(name, "plugin_option_over_size_limit");
        }
        Ok(Cow::Owned(bytes))
    }
}

/// A plugin's reply (or edited reply) in wire format, fitted to the client's size
/// limit.
fn encode(reply: Reply4, request: &Message) -> (Vec<u8>, v4::EncodeOutcome) {
    let mut out = Vec::with_capacity(576);
    let outcome = encode_draft(reply.draft(), request, &mut out);
    (out, outcome)
}

/// A plugin answered the request itself: its reply goes to the client as a server's
/// would.
fn answer(link: &Link<'_>, request: &Message, reply: Reply4) -> Action {
    deliver(link, &encode(reply, request).0)
}
