//! The plugin trait, typed per family, and the registration of built-in plugins.

use serde::de::DeserializeOwned;

use crate::{
    Action, ClassSet, Cx, HookResult, HookSet, HostChoice, LeaseEvent, LeaseInfo, LeaseOffer,
    Packet4, Packet6, PluginError, Reply4, Reply6, ServiceHost, Settings, SettingsError,
    SubnetChoice,
};

/// A plugin: created from its `[[plugin]]` table's settings, called at the hook points
/// it implements, in the order the configuration gives (`after = [...]`).
///
/// Put `#[zerotouch_plugin::plugin]` on the `impl Plugin for ...` block: it writes
/// [`Plugin::HOOKS`] from the hook functions the block implements, so implementing a
/// hook is what makes the server call it, and it sets `type Scope = NoScope` when the
/// block does not say otherwise.
///
/// Hooks are typed per family: `*4` hooks get DHCPv4 requests and replies, `*6` hooks
/// DHCPv6 ones; a plugin that implements only `*4` hooks is never called for DHCPv6.
/// Hooks take `&self` and may be called from the DHCPv4 and DHCPv6 packet threads
/// alike, and from the plugin's own service tasks: state that changes goes behind a
/// lock or an atomic. A hook never blocks: one that must wait for something answers
/// [`Action::wait`], and the server parks the packet meanwhile.
///
/// ```
/// use zerotouch_plugin::{Action, Cx, HookResult, Packet4, Plugin, Reply4, Settings, SettingsError};
///
/// struct Motd(String);
///
/// #[zerotouch_plugin::plugin]
/// impl Plugin for Motd {
///     fn create(settings: &Settings) -> Result<Self, SettingsError> {
///         Ok(Motd(settings.parse()?))
///     }
///
///     fn reply_ready4(&self, _: &mut Cx<'_, Self>, _: &Packet4<'_>, reply: &mut Reply4) -> HookResult<Reply4> {
///         reply.set_option(224, self.0.as_bytes())?;
///         Ok(Action::Continue)
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The hook points this plugin implements, written by `#[zerotouch_plugin::plugin]`.
    const HOOKS: HookSet;

    /// The plugin's settings in one scope of the server's configuration (a
    /// `plugin.<instance>` table in `[dhcp4]` or `[dhcp6]`, a subnet, a pool, a class or
    /// a host reservation). Hooks read the scopes that apply to their packet with
    /// [`Cx::scope`] and [`Cx::scopes`]. [`NoScope`] refuses such tables.
    type Scope: DeserializeOwned + Send + Sync + 'static;

    /// Creates an instance from its `[[plugin]]` table's `settings`.
    fn create(settings: &Settings) -> Result<Self, SettingsError>;

    /// The hook points this instance serves: [`Plugin::HOOKS`] unless its settings
    /// narrow them. Hooks outside `HOOKS` are ignored. Asked once the instance's scope
    /// tables are read ([`Plugin::check_scope`]), so they may narrow it too.
    fn serves(&self) -> HookSet {
        Self::HOOKS
    }

    /// Checks one scope's settings beyond their type (values that depend on each
    /// other), and may warn about them with [`Settings::warn`].
    fn check_scope(&self, _scope: &Self::Scope, _settings: &Settings) -> Result<(), SettingsError> {
        Ok(())
    }

    /// A well-formed DHCPv4 request arrived, before anything is decided about it.
    fn packet_received4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// The DHCPv4 client's configured classes are known; plugins may add and remove them.
    fn classes_assigned4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
        _classes: &mut ClassSet<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// The DHCPv4 subnet (the client's network) is chosen; plugins may choose another or none.
    fn subnet_selected4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
        _subnet: &mut SubnetChoice<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// The DHCPv4 client's host reservation is looked up; plugins may replace or clear it.
    fn host_looked_up4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
        _host: &mut HostChoice<'_>,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// An address and lifetime are chosen for an OFFER or ACK; plugins may change the lifetime.
    fn lease_chosen4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
        _lease: &mut LeaseOffer,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// The DHCPv4 reply is built; plugins may edit it before it is fitted to the
    /// client's size budget and sent.
    fn reply_ready4(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet4<'_>,
        _reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        Ok(Action::Continue)
    }

    /// A well-formed DHCPv6 request arrived, before anything is decided about it.
    fn packet_received6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// The DHCPv6 client's configured classes are known; plugins may add and remove them.
    fn classes_assigned6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
        _classes: &mut ClassSet<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// The DHCPv6 subnet (the client's link) is chosen; plugins may choose another or none.
    fn subnet_selected6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
        _subnet: &mut SubnetChoice<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// The DHCPv6 client's host reservation is looked up; plugins may replace or clear it.
    fn host_looked_up6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
        _host: &mut HostChoice<'_>,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// An address or prefix and its lifetime are chosen for one IA; plugins may change
    /// the lifetime.
    fn lease_chosen6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
        _lease: &mut LeaseOffer,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// The DHCPv6 reply to the client is built (relay wrappers come after); plugins
    /// may edit it.
    fn reply_ready6(
        &self,
        _cx: &mut Cx<'_, Self>,
        _packet: &Packet6<'_>,
        _reply: &mut Reply6,
    ) -> HookResult<Reply6> {
        Ok(Action::Continue)
    }

    /// A lease change of either family is durable (committed, released, declined,
    /// expired). Called on the packet thread after the commit: keep it short, hand slow
    /// work to a task.
    fn lease_event(&self, _event: LeaseEvent, _lease: &LeaseInfo) -> Result<(), PluginError> {
        Ok(())
    }

    /// Starts the plugin's own listeners and tasks, before the server serves packets.
    /// An error stops the server's start, naming the plugin.
    fn start(&self, _host: &ServiceHost) -> Result<(), PluginError> {
        Ok(())
    }

    /// Applies new settings (SIGHUP). The default refuses, and the old settings stay.
    fn reload(&self, _settings: &Settings) -> Result<(), SettingsError> {
        Err(SettingsError::new(
            "",
            "this plugin cannot apply new settings while running; restart the server",
        ))
    }

    /// The plugin's own counters (`name`, value), read whenever the server's are: the
    /// host shows them as `plugin_<instance>_<name>` beside its own, to the `metrics`
    /// plugin and in the summary at stop. Names are `snake_case`.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Stops listeners and tasks; called once, at shutdown.
    fn stop(&self) {}
}

/// For a plugin whose packet hooks serve only where some scope turns them on (an
/// `advertise` setting): until a scope does, [`Plugin::serves`] offers none, so a server
/// that does not use them pays nothing on its packet path.
#[derive(Debug, Default)]
pub struct ScopeSwitch(std::sync::atomic::AtomicBool);

impl ScopeSwitch {
    /// Turns the hooks on when `on` (called from [`Plugin::check_scope`]).
    pub fn turn_on_if(&self, on: bool) {
        if on {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// `hooks` once a scope turned them on, else none.
    pub fn hooks(&self, hooks: HookSet) -> HookSet {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            hooks
        } else {
            HookSet::EMPTY
        }
    }
}

/// Counters as one log line's worth: `name=value` of those that are not zero.
pub fn counters_line(counters: &[(&'static str, u64)]) -> String {
    counters
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scope settings of a plugin that takes none: any `plugin.<instance>` table in the
/// server's scopes is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoScope;

impl<'de> serde::Deserialize<'de> for NoScope {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(NoScope::REFUSAL))
    }
}

impl NoScope {
    /// Why a scope table of a plugin without scope settings is refused.
    pub(crate) const REFUSAL: &'static str = "this plugin takes no settings in the server's scopes";
}

/// A built-in plugin: compiled in and enabled by `name` in `[[plugin]]`.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The name `[[plugin]] name = ...` enables it by.
    pub name: &'static str,
    /// One line for `zerotouch-dhcpd plugins`.
    pub summary: &'static str,
    /// Creates an instance from its `[[plugin]]` table's settings, as the host calls it.
    pub create: fn(&Settings) -> Result<Box<dyn crate::erased::DynPlugin>, SettingsError>,
}

impl Registration {
    /// The registration of plugin `P` under `name`.
    pub const fn of<P: Plugin>(name: &'static str, summary: &'static str) -> Registration {
        Registration {
            name,
            summary,
            create: crate::erased::create::<P>,
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .finish()
    }
}
