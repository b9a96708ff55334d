//! `sztp`: hands devices the bootstrap-server URIs of RFC 8572 §8 in DHCPv4 option 143.
//!
//! URIs, the `always` switch and the encoding are set in the plugin's settings and in
//! any scope of the server's configuration (`plugin.sztp` tables in `[dhcp4]`, subnets,
//! pools, classes, host reservations); each key comes from the most specific scope that
//! sets it. The option goes into OFFERs and ACKs of clients that ask for it (option 55),
//! or of every client where `always = true`; the server splits it per RFC 3396 only
//! above 255 octets and leaves it out, counted, when the reply would exceed the
//! client's maximum message size.

pub mod codec;
mod settings;
pub mod tool;
pub mod uri;

use zerotouch_plugin::proto::v4::MessageType;
use zerotouch_plugin::{
    Action, Context, Family, HookPoint, HookResult, HookSet, Packet, Plugin, Registration, Reply,
    ScopeData, Settings, SettingsError,
};

pub use codec::{DecodeError, Encoding, decode, encode};
use settings::SztpSettings;
pub use uri::{BootstrapUri, UriError};

/// DHCPv4 option code of the bootstrap-server list (RFC 8572 §8.1).
pub const OPTION_V4_SZTP_REDIRECT: u8 = 143;
/// DHCPv6 option code of the bootstrap-server list (RFC 8572 §8.2).
pub const OPTION_V6_SZTP_REDIRECT: u16 = 136;

pub const REGISTRATION: Registration = Registration {
    name: "sztp",
    summary: "SZTP bootstrap-server URIs in DHCPv4 option 143 (RFC 8572)",
    create: Sztp::create,
};

pub struct Sztp {
    /// The plugin's own settings: the fallback after every scope.
    base: SztpSettings,
}

impl Sztp {
    pub fn create(settings: &Settings) -> Result<Box<dyn Plugin>, SettingsError> {
        Ok(Box::new(Sztp {
            base: SztpSettings::read(settings)?,
        }))
    }

    /// Each key from the most specific scope that sets it, then the plugin's own.
    fn resolve<'a>(&'a self, ctx: &'a Context) -> (Option<&'a [BootstrapUri]>, bool, Encoding) {
        let chain = || {
            ctx.scoped_all::<SztpSettings>()
                .chain(std::iter::once(&self.base))
        };
        (
            chain().find_map(|s| s.uris.as_deref()),
            chain().find_map(|s| s.always).unwrap_or(false),
            chain().find_map(|s| s.encoding).unwrap_or_default(),
        )
    }
}

impl Plugin for Sztp {
    fn hooks(&self) -> HookSet {
        HookSet::EMPTY.with(HookPoint::ReplyReady)
    }

    fn scope(&self, settings: &Settings) -> Result<ScopeData, SettingsError> {
        let s = SztpSettings::read(settings)?;
        if s.uris.is_some()
            && ["options.bootfile-name", "options.67", "boot_file_name"]
                .iter()
                .any(|k| settings.scope_has(k))
        {
            settings.warn(
                "",
                "this scope also sets a boot file name (option 67 or the BOOTP file field): some devices (Cisco IOS-XE) then run classic ZTP and ignore option 143",
            );
        }
        Ok(std::sync::Arc::new(s))
    }

    fn reply_ready(&self, ctx: &mut Context, packet: &Packet<'_>, reply: &mut Reply) -> HookResult {
        // Option 136 of DHCPv6 replies comes with the DHCPv6 server.
        if reply.family() != Family::V4 {
            return Ok(Action::Continue);
        }
        let t = reply.message_type();
        if t != MessageType::Offer.to_u8() && t != MessageType::Ack.to_u8() {
            return Ok(Action::Continue);
        }
        let (uris, always, encoding) = self.resolve(ctx);
        let Some(uris) = uris.filter(|u| !u.is_empty()) else {
            return Ok(Action::Continue);
        };
        let asked = packet.v4().is_some_and(|m| {
            m.parameter_request_list()
                .contains(&OPTION_V4_SZTP_REDIRECT)
        });
        if asked || always {
            reply.set_option(u16::from(OPTION_V4_SZTP_REDIRECT), &encode(uris, encoding))?;
        }
        Ok(Action::Continue)
    }
}
