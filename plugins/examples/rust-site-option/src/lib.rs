//! Example plugin built as a shared object (`cdylib`) and loaded through the C ABI.
//!
//! It puts a site name into every OFFER and ACK (DHCPv6: ADVERTISE and REPLY) under an
//! option code of the operator's choice, and stores the site in the per-packet context as `site`, where later
//! plugins (in any language) can read it. `panic_for_hostname` makes it panic for a
//! client sending that host name: a demonstration that a failing plugin does not take
//! the server down.
//!
//! ```toml
//! [[plugin]]
//! name = "site-option"
//! path = "/usr/lib/zerotouch/plugins/libzerotouch_example_site_option.so"
//! [plugin.settings]
//! code = 224
//! site = "lab-1"
//! ```

use serde::Deserialize;
use zerotouch_plugin::proto::v4::{MessageType, OptionCode};
use zerotouch_plugin::proto::v6::MessageType6;
use zerotouch_plugin::{
    Action, Context, Family, HookPoint, HookResult, HookSet, Packet, Plugin, Reply, Settings,
    SettingsError, export_plugin,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteSettings {
    /// DHCPv4 option code to carry the site name (site-specific codes are 224-254).
    code: u8,
    site: String,
    #[serde(default)]
    panic_for_hostname: Option<String>,
}

pub struct SiteOption {
    code: u8,
    site: String,
    panic_for_hostname: Option<String>,
}

impl SiteOption {
    pub fn create(settings: &Settings) -> Result<Box<dyn Plugin>, SettingsError> {
        let s: SiteSettings = settings.parse()?;
        if !(1..=254).contains(&s.code) || [53, 54, 82].contains(&s.code) {
            return Err(settings.error(
                "code",
                format!("got {}, expected an option code from 1 to 254 other than 53, 54 and 82 (224-254 are for site use)", s.code),
            ));
        }
        if s.site.is_empty() || s.site.len() > 255 {
            return Err(settings.error("site", "expected 1 to 255 characters"));
        }
        Ok(Box::new(SiteOption {
            code: s.code,
            site: s.site,
            panic_for_hostname: s.panic_for_hostname,
        }))
    }
}

impl Plugin for SiteOption {
    fn hooks(&self) -> HookSet {
        HookSet::EMPTY
            .with(HookPoint::PacketReceived)
            .with(HookPoint::ReplyReady)
    }

    fn packet_received(&self, ctx: &mut Context, packet: &Packet<'_>) -> HookResult {
        if let Some(bad) = &self.panic_for_hostname
            && packet.option(u16::from(OptionCode::HOST_NAME)) == Some(bad.as_bytes())
        {
            panic!("asked to panic for host name {bad:?}");
        }
        ctx.set_value("site", self.site.as_bytes());
        Ok(Action::Continue)
    }

    fn reply_ready(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        reply: &mut Reply,
    ) -> HookResult {
        let t = reply.message_type();
        let answers = match reply.family() {
            Family::V4 => [MessageType::Offer.to_u8(), MessageType::Ack.to_u8()],
            Family::V6 => [MessageType6::Advertise.to_u8(), MessageType6::Reply.to_u8()],
        };
        if answers.contains(&t) {
            reply.set_option(u16::from(self.code), self.site.as_bytes())?;
        }
        Ok(Action::Continue)
    }
}

export_plugin!("site-option", SiteOption::create);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let Err(e) = SiteOption::create(&Settings::standalone("code = 53\nsite = \"x\"", "s"))
        else {
            panic!("accepted option 53");
        };
        assert_eq!(e.key, "code");
        assert!(SiteOption::create(&Settings::standalone("code = 224\nsite = \"x\"", "s")).is_ok());
    }
}
