//! A plugin whose hooks are closures, and pipelines of them: what the hook tests of both
//! packet paths run.

use std::sync::Arc;
use std::time::Duration;

use zerotouch_plugin::{
    Action, ClassSet, Context, HookPoint, HookResult, HookSet, HostChoice, LeaseOffer, Packet,
    Plugin, Reply, SubnetChoice,
};

use crate::{Instance, InstanceStats, Pipeline};
use zerotouch_config::{OnError, PluginEntry};

/// A plugin whose hooks are closures.
#[derive(Default)]
#[allow(clippy::type_complexity)]
pub struct Probe {
    pub hooks: HookSet,
    pub received: Option<Box<dyn Fn(&mut Context, &Packet<'_>) -> HookResult + Send + Sync>>,
    pub classes: Option<Box<dyn Fn(&mut ClassSet<'_>) -> HookResult + Send + Sync>>,
    pub subnet: Option<Box<dyn Fn(&mut SubnetChoice<'_>) -> HookResult + Send + Sync>>,
    pub host: Option<Box<dyn Fn(&mut HostChoice<'_>) -> HookResult + Send + Sync>>,
    pub lease: Option<Box<dyn Fn(&mut LeaseOffer) -> HookResult + Send + Sync>>,
    pub reply: Option<Box<dyn Fn(&mut Context, &mut Reply) -> HookResult + Send + Sync>>,
}

impl Plugin for Probe {
    fn hooks(&self) -> HookSet {
        self.hooks
    }
    fn packet_received(&self, c: &mut Context, p: &Packet<'_>) -> HookResult {
        self.received
            .as_ref()
            .map_or(Ok(Action::Continue), |f| f(c, p))
    }
    fn classes_assigned(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        s: &mut ClassSet<'_>,
    ) -> HookResult {
        self.classes.as_ref().map_or(Ok(Action::Continue), |f| f(s))
    }
    fn subnet_selected(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        s: &mut SubnetChoice<'_>,
    ) -> HookResult {
        self.subnet.as_ref().map_or(Ok(Action::Continue), |f| f(s))
    }
    fn host_looked_up(
        &self,
        _: &mut Context,
        _: &Packet<'_>,
        h: &mut HostChoice<'_>,
    ) -> HookResult {
        self.host.as_ref().map_or(Ok(Action::Continue), |f| f(h))
    }
    fn lease_chosen(&self, _: &mut Context, _: &Packet<'_>, l: &mut LeaseOffer) -> HookResult {
        self.lease.as_ref().map_or(Ok(Action::Continue), |f| f(l))
    }
    fn reply_ready(&self, c: &mut Context, _: &Packet<'_>, r: &mut Reply) -> HookResult {
        self.reply
            .as_ref()
            .map_or(Ok(Action::Continue), |f| f(c, r))
    }
}

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

pub fn pipeline(probes: Vec<(Probe, OnError)>) -> Arc<Pipeline> {
    let instances = probes
        .into_iter()
        .enumerate()
        .map(|(i, (p, on_error))| Instance {
            entry: entry(&format!("probe{i}"), on_error),
            hooks: p.hooks,
            plugin: Box::new(p),
            scopes: Default::default(),
            stats: InstanceStats::default(),
        })
        .collect();
    Arc::new(Pipeline::new(instances, None))
}

pub fn hook(h: HookPoint) -> HookSet {
    HookSet::EMPTY.with(h)
}
