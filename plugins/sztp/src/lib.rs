//! `sztp`: hands devices the bootstrap-server URIs of RFC 8572 §8 in DHCPv4 option 143
//! and DHCPv6 option 136.
//!
//! URIs, the `always` switch and the encoding are set in the plugin's settings and in
//! any scope of the server's configuration (`plugin.sztp` tables in `[dhcp4]` or
//! `[dhcp6]`, subnets, pools, classes, host reservations); each key comes from the most
//! specific scope that sets it.
//!
//! DHCPv4: the option goes into OFFERs and ACKs of clients that ask for it (option 55),
//! or of every client where `always = true`; the server splits it per RFC 3396 only
//! above 255 octets and leaves it out, counted, when the reply would exceed the
//! client's maximum message size.
//!
//! DHCPv6: one option 136 (a singleton) in the ADVERTISE or REPLY to the client itself,
//! inside any relay wrappers, when the client's own Option Request Option names it
//! (RFC 8572 §8.2, RFC 8415 §18.3), or where the operator set `always` for devices
//! that do not ask.

mod settings;
pub use zerotouch_sztp::{option as codec, uri};
pub mod tool;

use zerotouch_plugin::proto::v4::MessageType;
use zerotouch_plugin::proto::v6::MessageType6;
use zerotouch_plugin::{
    Action, Cx, HookResult, Packet4, Packet6, Plugin, Registration, Reply4, Reply6, Settings,
    SettingsError,
};

pub use codec::{DecodeError, Encoding, decode, encode};
pub use settings::SztpSettings;
pub use uri::{BootstrapUri, UriError};

/// DHCPv4 option code of the bootstrap-server list (RFC 8572 §8.1).
pub const OPTION_V4_SZTP_REDIRECT: u8 = 143;
/// DHCPv6 option code of the bootstrap-server list (RFC 8572 §8.2).
pub const OPTION_V6_SZTP_REDIRECT: u16 = 136;

pub const REGISTRATION: Registration = Registration::of::<Sztp>(
    "sztp",
    "SZTP bootstrap-server URIs in DHCPv4 option 143 and DHCPv6 option 136 (RFC 8572)",
);

pub struct Sztp {
    /// The plugin's own settings: the fallback after every scope.
    base: SztpSettings,
}

impl Sztp {
    /// Each key from the most specific scope that sets it, then the plugin's own.
    fn resolve<'a>(&'a self, cx: &'a Cx<'_, Self>) -> (Option<&'a [BootstrapUri]>, bool, Encoding) {
        let chain = || cx.scopes().chain(std::iter::once(&self.base));
        (
            chain().find_map(|s| s.uris.as_deref()),
            chain().find_map(|s| s.always).unwrap_or(false),
            chain().find_map(|s| s.encoding).unwrap_or_default(),
        )
    }
}

#[zerotouch_plugin::plugin]
impl Plugin for Sztp {
    type Scope = SztpSettings;

    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        Ok(Sztp {
            base: SztpSettings::read(settings)?,
        })
    }

    fn check_scope(&self, scope: &SztpSettings, settings: &Settings) -> Result<(), SettingsError> {
        scope.check(settings)?;
        if scope.uris.is_some()
            && ["options.bootfile-name", "options.67", "boot_file_name"]
                .iter()
                .any(|k| settings.scope_has(k))
        {
            settings.warn(
                "",
                "this scope also sets a boot file name (option 67 or the BOOTP file field): some devices (Cisco IOS-XE) then run classic ZTP and ignore option 143",
            );
        }
        Ok(())
    }

    /// Option 143 in OFFERs and ACKs of clients that ask for it (option 55), or of
    /// every client where `always` is set.
    fn reply_ready4(
        &self,
        cx: &mut Cx<'_, Self>,
        packet: &Packet4<'_>,
        reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        if !matches!(reply.message_type(), MessageType::Offer | MessageType::Ack) {
            return Ok(Action::Continue);
        }
        let (uris, always, encoding) = self.resolve(cx);
        let Some(uris) = uris.filter(|u| !u.is_empty()) else {
            return Ok(Action::Continue);
        };
        if always || packet.requested(OPTION_V4_SZTP_REDIRECT) {
            reply.set_option(OPTION_V4_SZTP_REDIRECT, &encode(uris, encoding))?;
        }
        Ok(Action::Continue)
    }

    /// Option 136 in an ADVERTISE or REPLY, when the client message asks for it. The
    /// reply a plugin sees is the client's own message (relay wrappers come after), and
    /// the packet's message is the innermost one: its ORO is the client's.
    fn reply_ready6(
        &self,
        cx: &mut Cx<'_, Self>,
        packet: &Packet6<'_>,
        reply: &mut Reply6,
    ) -> HookResult<Reply6> {
        if !matches!(
            reply.message_type(),
            MessageType6::Advertise | MessageType6::Reply
        ) {
            return Ok(Action::Continue);
        }
        let (uris, always, encoding) = self.resolve(cx);
        if !always && !packet.requested(OPTION_V6_SZTP_REDIRECT) {
            return Ok(Action::Continue);
        }
        if let Some(uris) = uris.filter(|u| !u.is_empty()) {
            // set_option replaces every instance: 136 is a singleton.
            reply.set_option(OPTION_V6_SZTP_REDIRECT, &encode(uris, encoding))?;
        }
        Ok(Action::Continue)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use zerotouch_plugin::erased::DynPlugin;
    use zerotouch_plugin::proto::v6::{Message6, OptionCode6, Packet6 as Wire6, RelayHeader};
    use zerotouch_plugin::{Context, Ingress, Settings};

    use super::*;

    fn plugin() -> Box<dyn DynPlugin> {
        plugin_with("")
    }

    fn plugin_with(extra: &str) -> Box<dyn DynPlugin> {
        let text = format!(
            "[[plugin]]\nname = \"sztp\"\nsettings = {{ uris = [\"https://sztp1.example.com\"]{extra} }}\n",
        );
        let doc = zerotouch_plugin::Document::parse(&text);
        let settings = Settings::for_entry(std::path::Path::new("t.toml"), &doc, 0, "sztp");
        (REGISTRATION.create)(&settings).unwrap()
    }

    /// A relayed SOLICIT; `inner_oro`/`relay_oro` put 136 in the client's or the
    /// relay's ORO.
    fn packet(inner_oro: bool, relay_oro: bool) -> Wire6 {
        let mut message = Message6::new(MessageType6::Solicit, 1);
        if inner_oro {
            message.options.push(OptionCode6::ORO, &[0, 23, 0, 136]);
        }
        let mut relay_opts = zerotouch_plugin::proto::v6::Options6::default();
        if relay_oro {
            relay_opts.push(OptionCode6::ORO, &[0, 136]);
        }
        Wire6 {
            relays: vec![RelayHeader {
                msg_type: MessageType6::RelayForw,
                hop_count: 0,
                link_address: "2001:db8:1::1".parse().unwrap(),
                peer_address: "fe80::2".parse().unwrap(),
                options: relay_opts,
            }],
            message,
        }
    }

    fn run(p: &Wire6, reply_type: MessageType6, existing: usize) -> Message6 {
        run_with(plugin(), p, reply_type, existing)
    }

    fn run_with(
        plugin: Box<dyn DynPlugin>,
        p: &Wire6,
        reply_type: MessageType6,
        existing: usize,
    ) -> Message6 {
        let wire = p.to_bytes();
        let src: SocketAddr = "[fe80::2]:547".parse().unwrap();
        let ingress = Ingress {
            wire: &wire,
            interface: "eth0",
            source: src,
            now: 0,
        };
        let packet = Packet6::new(p, ingress);
        let mut m = Message6::new(reply_type, 1);
        for _ in 0..existing {
            m.options.push(OPTION_V6_SZTP_REDIRECT, b"stale");
        }
        let mut reply = Reply6::new(m);
        plugin
            .reply_ready6(&mut Context::new(), &packet, &mut reply)
            .unwrap();
        reply.into_message()
    }

    #[test]
    fn option_136_goes_in_the_inner_reply_once_when_the_client_oro_asks() {
        let asked = run(&packet(true, false), MessageType6::Advertise, 2);
        let all: Vec<&[u8]> = asked.options.get_all(OPTION_V6_SZTP_REDIRECT).collect();
        assert_eq!(all.len(), 1, "a singleton, stale copies replaced");
        assert_eq!(
            all[0],
            [&[0u8, 25][..], b"https://sztp1.example.com"].concat()
        );
        // Only the relay asked: not the client's ORO, so no option.
        let relay_only = run(&packet(false, true), MessageType6::Reply, 0);
        assert!(!relay_only.options.contains(OPTION_V6_SZTP_REDIRECT));
        // `always`: for devices that do not ask.
        let always = run_with(
            plugin_with(", always = true"),
            &packet(false, false),
            MessageType6::Reply,
            0,
        );
        assert_eq!(always.options.get_all(OPTION_V6_SZTP_REDIRECT).count(), 1);
        // Not in a RECONFIGURE or other message types.
        let other = run(&packet(true, false), MessageType6::Reconfigure, 0);
        assert!(!other.options.contains(OPTION_V6_SZTP_REDIRECT));
    }
}
