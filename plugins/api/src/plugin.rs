//! The plugin trait and the registration of built-in plugins.

/// A plugin's parsed settings for one scope; hooks get them back with
/// [`Context::scoped`].
pub type ScopeData = std::sync::Arc<dyn std::any::Any + Send + Sync>;

use crate::{
    Action, ClassSet, Context, HookResult, HookSet, HostChoice, LeaseEvent, LeaseInfo, LeaseOffer,
    Packet, PluginError, Reply, ServiceHost, Settings, SettingsError, SubnetChoice,
};

/// One instance of a plugin, created from its settings. The server calls only the hooks
/// in [`Plugin::hooks`]; the others keep their defaults (continue, do nothing).
///
/// Hooks take `&self` and may be called from the DHCPv4 and DHCPv6 packet threads
/// alike, and from the plugin's own service tasks: state that changes goes behind a
/// lock or an atomic.
pub trait Plugin: Send + Sync + 'static {
    /// The hook points the server calls this instance at; the others are never called.
    fn hooks(&self) -> HookSet;

    /// A well-formed request arrived, before anything is decided about it.
    fn packet_received(&self, _ctx: &mut Context, _packet: &Packet<'_>) -> HookResult {
        Ok(Action::Continue)
    }

    /// The client's configured classes are known; plugins may add and remove classes.
    fn classes_assigned(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        _classes: &mut ClassSet<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }

    /// The subnet (the client's network) is chosen; plugins may choose another or none.
    fn subnet_selected(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        _subnet: &mut SubnetChoice<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }

    /// The client's host reservation is looked up; plugins may replace or clear it.
    fn host_looked_up(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        _host: &mut HostChoice<'_>,
    ) -> HookResult {
        Ok(Action::Continue)
    }

    /// An address (or prefix) and lifetime are chosen; plugins may change the lifetime.
    fn lease_chosen(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        _lease: &mut LeaseOffer,
    ) -> HookResult {
        Ok(Action::Continue)
    }

    /// The reply is built; plugins may edit it before it is fitted to the client's size budget and sent.
    fn reply_ready(
        &self,
        _ctx: &mut Context,
        _packet: &Packet<'_>,
        _reply: &mut Reply,
    ) -> HookResult {
        Ok(Action::Continue)
    }

    /// A lease change is durable (committed, released, declined, expired). Called on the
    /// packet thread after the commit: keep it short, hand slow work to a task.
    fn lease_event(&self, _event: LeaseEvent, _lease: &LeaseInfo) -> Result<(), PluginError> {
        Ok(())
    }

    /// Reads the instance's settings for one scope of the server's configuration (a
    /// `plugin.<instance>` table in `[dhcp4]`, a subnet, a pool, a class or a host
    /// reservation). Hooks find the value of the most specific scope that applies to
    /// their packet through [`Context::scoped`]. The default refuses such tables.
    fn scope(&self, _settings: &Settings) -> Result<ScopeData, SettingsError> {
        Err(SettingsError::new(
            "",
            "this plugin takes no settings in the server's scopes",
        ))
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

    /// Stops listeners and tasks; called once, at shutdown.
    fn stop(&self) {}
}

/// A built-in plugin: compiled in and enabled by `name` in `[[plugin]]`.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The name `[[plugin]] name = ...` enables it by.
    pub name: &'static str,
    /// One line for `zerotouch-dhcpd plugins`.
    pub summary: &'static str,
    /// Creates an instance from its `[[plugin]]` table's settings.
    pub create: fn(&Settings) -> Result<Box<dyn Plugin>, SettingsError>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .finish()
    }
}
