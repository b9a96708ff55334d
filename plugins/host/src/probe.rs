//! A plugin whose hooks are closures, and pipelines of them: what the hook tests of both
//! packet paths run.

use std::sync::Arc;
use std::time::Duration;

use zerotouch_plugin::erased::DynPlugin;
use zerotouch_plugin::{
    Action, ClassSet, Context, HookPoint, HookResult, HookSet, HostChoice, LeaseOffer, Packet4,
    Packet6, Reply4, Reply6, SubnetChoice,
};

use crate::{Instance, InstanceStats, Pipeline};
use zerotouch_config::{OnError, PluginEntry};

/// A probe of one family: `$probe` with the hooks `$received`/`$reply`/... of it.
macro_rules! probe {
    ($(#[$doc:meta])* $probe:ident, $packet:ident, $reply:ident,
     $received:ident, $classes:ident, $subnet:ident, $host:ident, $lease:ident, $ready:ident) => {
        $(#[$doc])*
        #[derive(Default)]
        #[allow(clippy::type_complexity)]
        pub struct $probe {
            /// The hook points it serves (of its family; see [`hook`]).
            pub hooks: HookSet,
            pub received:
                Option<Box<dyn Fn(&mut Context, &$packet<'_>) -> HookResult<$reply> + Send + Sync>>,
            pub classes: Option<Box<dyn Fn(&mut ClassSet<'_>) -> HookResult<$reply> + Send + Sync>>,
            pub subnet: Option<Box<dyn Fn(&mut SubnetChoice<'_>) -> HookResult<$reply> + Send + Sync>>,
            pub host: Option<Box<dyn Fn(&mut HostChoice<'_>) -> HookResult<$reply> + Send + Sync>>,
            pub lease: Option<Box<dyn Fn(&mut LeaseOffer) -> HookResult<$reply> + Send + Sync>>,
            pub reply:
                Option<Box<dyn Fn(&mut Context, &mut $reply) -> HookResult<$reply> + Send + Sync>>,
        }

        impl DynPlugin for $probe {
            fn hooks(&self) -> HookSet {
                self.hooks
            }
            fn $received(&self, c: &mut Context, p: &$packet<'_>) -> HookResult<$reply> {
                self.received.as_ref().map_or(Ok(Action::Continue), |f| f(c, p))
            }
            fn $classes(&self, _: &mut Context, _: &$packet<'_>, s: &mut ClassSet<'_>) -> HookResult<$reply> {
                self.classes.as_ref().map_or(Ok(Action::Continue), |f| f(s))
            }
            fn $subnet(&self, _: &mut Context, _: &$packet<'_>, s: &mut SubnetChoice<'_>) -> HookResult<$reply> {
                self.subnet.as_ref().map_or(Ok(Action::Continue), |f| f(s))
            }
            fn $host(&self, _: &mut Context, _: &$packet<'_>, h: &mut HostChoice<'_>) -> HookResult<$reply> {
                self.host.as_ref().map_or(Ok(Action::Continue), |f| f(h))
            }
            fn $lease(&self, _: &mut Context, _: &$packet<'_>, l: &mut LeaseOffer) -> HookResult<$reply> {
                self.lease.as_ref().map_or(Ok(Action::Continue), |f| f(l))
            }
            fn $ready(&self, c: &mut Context, _: &$packet<'_>, r: &mut $reply) -> HookResult<$reply> {
                self.reply.as_ref().map_or(Ok(Action::Continue), |f| f(c, r))
            }
        }

        impl From<$probe> for Box<dyn DynPlugin> {
            fn from(p: $probe) -> Self {
                Box::new(p)
            }
        }
    };
}

probe!(
    /// A DHCPv4 plugin whose hooks are closures.
    Probe, Packet4, Reply4,
    packet_received4, classes_assigned4, subnet_selected4, host_looked_up4, lease_chosen4, reply_ready4
);
probe!(
    /// A DHCPv6 plugin whose hooks are closures.
    Probe6, Packet6, Reply6,
    packet_received6, classes_assigned6, subnet_selected6, host_looked_up6, lease_chosen6, reply_ready6
);

pub fn entry(name: &str, on_error: OnError) -> PluginEntry {
    PluginEntry {
        index: 0,
        name: name.into(),
        instance: name.into(),
        path: None,
        on_error,
        hook_timeout: Duration::from_millis(50),
        span: 0..0,
    }
}

/// A pipeline of probes (of either family), with a runtime to park packets on.
pub fn pipeline<P: Into<Box<dyn DynPlugin>>>(probes: Vec<(P, OnError)>) -> Arc<Pipeline> {
    pipeline_on(probes, None)
}

/// A pipeline of probes whose waits run on `runtime`.
pub fn pipeline_on<P: Into<Box<dyn DynPlugin>>>(
    probes: Vec<(P, OnError)>,
    runtime: Option<tokio::runtime::Handle>,
) -> Arc<Pipeline> {
    let instances = probes
        .into_iter()
        .enumerate()
        .map(|(i, (p, on_error))| {
            let plugin: Box<dyn DynPlugin> = p.into();
            Instance {
                entry: entry(&format!("probe{i}"), on_error),
                hooks: plugin.hooks(),
                plugin,
                scopes: Default::default(),
                stats: InstanceStats::default(),
            }
        })
        .collect();
    Arc::new(Pipeline::new(instances, runtime))
}

/// Hook point `h`, for a probe (of either family: a probe is called only by its own).
pub fn hook(h: HookPoint) -> HookSet {
    HookSet::both(h)
}

/// Hook points `hs`, for a probe.
pub fn hooks(hs: &[HookPoint]) -> HookSet {
    hs.iter()
        .fold(HookSet::EMPTY, |s, h| s.union(HookSet::both(*h)))
}
