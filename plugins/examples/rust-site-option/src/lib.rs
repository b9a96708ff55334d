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
    Action, Cx, HookResult, Packet4, Packet6, Plugin, Reply4, Reply6, Settings, SettingsError,
    export_plugin,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteSettings {
    /// Option code to carry the site name: DHCPv4 (site-specific codes are 224-254),
    /// and the same code in DHCPv6.
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

#[zerotouch_plugin::plugin]
impl Plugin for SiteOption {
    fn create(settings: &Settings) -> Result<Self, SettingsError> {
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
        Ok(SiteOption {
            code: s.code,
            site: s.site,
            panic_for_hostname: s.panic_for_hostname,
        })
    }

    fn packet_received4(&self, cx: &mut Cx<'_, Self>, packet: &Packet4<'_>) -> HookResult<Reply4> {
        if let Some(bad) = &self.panic_for_hostname
            && packet.option(OptionCode::HOST_NAME) == Some(bad.as_bytes())
        {
            panic!("asked to panic for host name {bad:?}");
        }
        cx.set_value("site", self.site.as_bytes());
        Ok(Action::Continue)
    }

    fn reply_ready4(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet4<'_>,
        reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        if matches!(reply.message_type(), MessageType::Offer | MessageType::Ack) {
            reply.set_option(self.code, self.site.as_bytes())?;
        }
        Ok(Action::Continue)
    }

    fn packet_received6(&self, cx: &mut Cx<'_, Self>, _: &Packet6<'_>) -> HookResult<Reply6> {
        cx.set_value("site", self.site.as_bytes());
        Ok(Action::Continue)
    }

    fn reply_ready6(
        &self,
        _: &mut Cx<'_, Self>,
        _: &Packet6<'_>,
        reply: &mut Reply6,
    ) -> HookResult<Reply6> {
        if matches!(
            reply.message_type(),
            MessageType6::Advertise | MessageType6::Reply
        ) {
            reply.set_option(u16::from(self.code), self.site.as_bytes())?;
        }
        Ok(Action::Continue)
    }
}

export_plugin!("site-option", SiteOption);

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
