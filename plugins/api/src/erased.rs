//! The plugin as the host holds it: one object-safe interface for built-in plugins
//! ([`Plugin`] behind [`Typed`]) and plugins in shared objects alike. Plugin authors
//! implement [`Plugin`]; this is what the server calls.

use std::any::{Any, TypeId};
use std::sync::Arc;

use crate::plugin::NoScope;
use crate::{
    Action, ClassSet, Context, Cx, HookResult, HookSet, HostChoice, LeaseEvent, LeaseInfo,
    LeaseOffer, Packet4, Packet6, Plugin, PluginError, Reply4, Reply6, ServiceHost, Settings,
    SettingsError, SubnetChoice,
};

/// One instance's parsed settings for one configuration scope.
pub type ScopeData = Arc<dyn Any + Send + Sync>;

/// The answer of a future a hook parked its packet on, until the hook reads it.
pub type Answer = Result<Box<dyn Any + Send>, PluginError>;

/// Calls `$m!` with every packet hook: its name, packet type, the argument it may
/// change (if any) and its reply type. The one list `DynPlugin` and `Typed` are made from.
macro_rules! packet_hooks {
    ($m:ident) => {
        $m! {
            packet_received4(Packet4) -> Reply4;
            classes_assigned4(Packet4, classes: ClassSet<'_>) -> Reply4;
            subnet_selected4(Packet4, subnet: SubnetChoice<'_>) -> Reply4;
            host_looked_up4(Packet4, host: HostChoice<'_>) -> Reply4;
            lease_chosen4(Packet4, lease: LeaseOffer) -> Reply4;
            reply_ready4(Packet4, reply: Reply4) -> Reply4;
            packet_received6(Packet6) -> Reply6;
            classes_assigned6(Packet6, classes: ClassSet<'_>) -> Reply6;
            subnet_selected6(Packet6, subnet: SubnetChoice<'_>) -> Reply6;
            host_looked_up6(Packet6, host: HostChoice<'_>) -> Reply6;
            lease_chosen6(Packet6, lease: LeaseOffer) -> Reply6;
            reply_ready6(Packet6, reply: Reply6) -> Reply6;
        }
    };
}

/// The hooks of `DynPlugin`, each doing nothing.
macro_rules! continue_by_default {
    ($($hook:ident($packet:ident $(, $arg:ident: $ty:ty)?) -> $reply:ident;)*) => {
        $(
            fn $hook(
                &self,
                _ctx: &mut Context,
                _packet: &$packet<'_>,
                $($arg: &mut $ty,)?
            ) -> HookResult<$reply> {
                $(let _ = $arg;)?
                Ok(Action::Continue)
            }
        )*
    };
}

/// The hooks of `Typed<P>`: each hands its `Context` to `P`'s hook as a `Cx`.
macro_rules! forward_to_plugin {
    ($($hook:ident($packet:ident $(, $arg:ident: $ty:ty)?) -> $reply:ident;)*) => {
        $(
            fn $hook(
                &self,
                ctx: &mut Context,
                packet: &$packet<'_>,
                $($arg: &mut $ty,)?
            ) -> HookResult<$reply> {
                self.0.$hook(&mut Cx::new(ctx), packet $(, $arg)?)
            }
        )*
    };
}

/// A plugin instance as the host calls it. Every hook defaults to doing nothing; the
/// host calls only those in [`DynPlugin::hooks`]. The hooks are those of [`Plugin`].
#[allow(missing_docs)] // the hooks are those of `Plugin`, documented there
pub trait DynPlugin: Send + Sync {
    /// The hook points the instance serves.
    fn hooks(&self) -> HookSet;
    /// Reads the instance's settings for one scope.
    fn scope(&self, settings: &Settings) -> Result<ScopeData, SettingsError> {
        let _ = settings;
        Err(SettingsError::new("", NoScope::REFUSAL))
    }
    packet_hooks!(continue_by_default);
    fn lease_event(&self, _: LeaseEvent, _: &LeaseInfo) -> Result<(), PluginError> {
        Ok(())
    }
    fn start(&self, _: &ServiceHost) -> Result<(), PluginError> {
        Ok(())
    }
    fn reload(&self, _: &Settings) -> Result<(), SettingsError> {
        Err(SettingsError::new(
            "",
            "this plugin cannot apply new settings while running; restart the server",
        ))
    }
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    fn stop(&self) {}
}

/// A [`Plugin`] as the host calls it.
pub struct Typed<P>(pub P);

/// Creates plugin `P` from `settings`, ready for the host.
pub(crate) fn create<P: Plugin>(settings: &Settings) -> Result<Box<dyn DynPlugin>, SettingsError> {
    Ok(Box::new(Typed(P::create(settings)?)))
}

impl<P: Plugin> DynPlugin for Typed<P> {
    fn hooks(&self) -> HookSet {
        self.0.serves().intersection(P::HOOKS)
    }

    fn scope(&self, settings: &Settings) -> Result<ScopeData, SettingsError> {
        if TypeId::of::<P::Scope>() == TypeId::of::<NoScope>() {
            return Err(SettingsError::new("", NoScope::REFUSAL));
        }
        let scope: P::Scope = settings.parse()?;
        self.0.check_scope(&scope, settings)?;
        Ok(Arc::new(scope))
    }

    packet_hooks!(forward_to_plugin);

    fn lease_event(&self, event: LeaseEvent, lease: &LeaseInfo) -> Result<(), PluginError> {
        self.0.lease_event(event, lease)
    }
    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        self.0.start(host)
    }
    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        self.0.reload(settings)
    }
    fn counters(&self) -> Vec<(&'static str, u64)> {
        self.0.counters()
    }
    fn stop(&self) {
        self.0.stop()
    }
}
