//! Running hooks: in configuration order, each call isolated (a panic is caught), each
//! failure counted and logged with the instance's name, and handled as the instance's
//! `on_error` says.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::{debug, warn};
use zerotouch_plugin::erased::{DynPlugin, ScopeData};
use zerotouch_plugin::{
    Action, Context, Family, HookPoint, HookResult, HookSet, LeaseEvent, LeaseInfo, Pending,
    PluginError,
};

use zerotouch_config::{OnError, PluginEntry, ScopeId};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};

/// One plugin instance and its counters.
pub struct Instance {
    pub entry: PluginEntry,
    pub plugin: Box<dyn DynPlugin>,
    pub hooks: HookSet,
    /// The instance's settings per configuration scope (`plugin.<instance>` tables).
    pub scopes: HashMap<ScopeId, ScopeData>,
    pub stats: InstanceStats,
}

#[derive(Debug, Default)]
pub struct InstanceStats {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub panics: AtomicU64,
    pub drops: AtomicU64,
    pub responses: AtomicU64,
    /// Packets parked on the instance's futures.
    pub waits: AtomicU64,
}

/// What the packet path does after a hook point; `R` is the family's reply.
#[derive(Debug)]
pub enum Flow<R> {
    Continue,
    /// No reply; the server counts it under the reason.
    Drop(DropReason),
    /// Send this reply now.
    Respond(Box<R>),
    /// Park the packet until the hook's future completes, then handle it again.
    Park(Parked),
}

/// A hook's wait ([`Action::Wait`]): the packet loop runs the future on the service
/// runtime, at most `limit`, and hands its answer to the hook (`key`) when it handles
/// the packet again.
#[derive(Debug)]
pub struct Parked {
    /// The calling instance and hook ([`Context::caller_key`]).
    pub key: u32,
    pub pending: Pending,
    /// The instance's `hook_timeout_ms`.
    pub limit: std::time::Duration,
    /// The instance's name, for logs.
    pub instance: Arc<str>,
    pub runtime: tokio::runtime::Handle,
}

/// Why the plugins left a packet without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A hook answered `Drop`.
    Asked,
    /// A hook failed and its instance is configured `on_error = "drop"`.
    Failed,
}

pub struct Pipeline {
    instances: Vec<Instance>,
    /// Indices into `instances` per family and hook point, in configuration order.
    by_hook: [[Vec<usize>; HookPoint::COUNT]; 2],
    runtime: Option<tokio::runtime::Handle>,
    limiter: Mutex<LogLimiter>,
    /// What plugins found questionable in their settings, located in the file.
    warnings: Vec<zerotouch_config::ConfigError>,
    /// The server's event bus, handed to services; lease changes are published here.
    events: zerotouch_plugin::EventBus,
}

impl Pipeline {
    pub fn empty() -> Self {
        Pipeline::new(Vec::new(), None)
    }

    pub fn new(instances: Vec<Instance>, runtime: Option<tokio::runtime::Handle>) -> Self {
        let mut by_hook: [[Vec<usize>; HookPoint::COUNT]; 2] = Default::default();
        for (i, inst) in instances.iter().enumerate() {
            for (family, hook) in inst.hooks.iter() {
                by_hook[slot(family)][hook as usize].push(i);
            }
        }
        Pipeline {
            instances,
            by_hook,
            runtime,
            limiter: Mutex::new(LogLimiter::new(10, std::time::Duration::from_secs(60))),
            warnings: Vec::new(),
            events: Default::default(),
        }
    }

    /// The server's event bus.
    pub fn events(&self) -> &zerotouch_plugin::EventBus {
        &self.events
    }

    pub fn with_warnings(mut self, warnings: Vec<zerotouch_config::ConfigError>) -> Self {
        self.warnings = warnings;
        self
    }

    pub fn warnings(&self) -> &[zerotouch_config::ConfigError] {
        &self.warnings
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// Whether any instance serves `hook` of `family`: the packet path builds a hook's
    /// arguments only then, so plugins cost nothing where none listens.
    #[inline]
    pub fn wants(&self, family: Family, hook: HookPoint) -> bool {
        !self.by_hook[slot(family)][hook as usize].is_empty()
    }

    pub fn wants_lease_events(&self) -> bool {
        HookPoint::all().any(|h| h.is_lease_event() && self.wants(Family::V4, h))
    }

    /// Whether any instance has settings in configuration scopes: only then does the
    /// packet path work out which scopes apply.
    pub fn has_scoped(&self) -> bool {
        self.instances.iter().any(|i| !i.scopes.is_empty())
    }

    /// Runs `hook` of `family` on every instance that serves it. `scopes` are the
    /// configuration scopes that apply to the packet so far, most specific first.
    #[inline]
    pub fn run<R>(
        &self,
        family: Family,
        hook: HookPoint,
        ctx: &mut Context,
        scopes: &[ScopeId],
        mut call: impl FnMut(&dyn DynPlugin, &mut Context) -> HookResult<R>,
    ) -> Flow<R> {
        for &i in &self.by_hook[slot(family)][hook as usize] {
            let inst = &self.instances[i];
            ctx.set_caller(Context::caller_key(i, hook));
            if !inst.scopes.is_empty() {
                ctx.set_scoped(scopes.iter().filter_map(|s| inst.scopes.get(s)).cloned());
            } else if ctx.has_scoped() {
                ctx.set_scoped(None);
            }
            let failure = match isolated(inst, || call(&*inst.plugin, ctx)) {
                Ok(Action::Continue) => continue,
                Ok(Action::SkipRest) => break,
                Ok(Action::Drop) => {
                    inst.stats.drops.fetch_add(1, Ordering::Relaxed);
                    debug!(plugin = %inst.entry.instance, hook = hook.name(), "plugin dropped the packet");
                    return Flow::Drop(DropReason::Asked);
                }
                Ok(Action::Respond(reply)) => {
                    inst.stats.responses.fetch_add(1, Ordering::Relaxed);
                    return Flow::Respond(reply);
                }
                Ok(Action::Wait(pending)) => match self.park(i, hook, pending, ctx) {
                    Ok(parked) => return Flow::Park(parked),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            if let Some(flow) = self.failed(inst, hook, &failure) {
                return flow;
            }
        }
        if ctx.has_scoped() {
            ctx.set_scoped(None);
        }
        Flow::Continue
    }

    /// Instance `i`'s wait at `hook`, to hand to the packet loop; `Err` when there is no
    /// runtime to wait on.
    #[cold]
    fn park(
        &self,
        i: usize,
        hook: HookPoint,
        pending: Pending,
        ctx: &mut Context,
    ) -> Result<Parked, String> {
        let Some(runtime) = &self.runtime else {
            return Err("asked to wait, and this program has no runtime to wait on".into());
        };
        let inst = &self.instances[i];
        inst.stats.waits.fetch_add(1, Ordering::Relaxed);
        if ctx.has_scoped() {
            ctx.set_scoped(None);
        }
        Ok(Parked {
            key: Context::caller_key(i, hook),
            pending,
            limit: inst.entry.hook_timeout,
            instance: Arc::from(inst.entry.instance.as_str()),
            runtime: runtime.clone(),
        })
    }

    /// Tells the instances that serve it about a durable lease change.
    pub fn lease_event(&self, event: LeaseEvent, lease: &LeaseInfo) {
        let hook = event.hook();
        let family = match lease.address {
            std::net::IpAddr::V4(_) => Family::V4,
            std::net::IpAddr::V6(_) => Family::V6,
        };
        for &i in &self.by_hook[slot(family)][hook as usize] {
            let inst = &self.instances[i];
            if let Err(failure) = isolated(inst, || inst.plugin.lease_event(event, lease)) {
                // There is no packet to drop: the failure is counted and logged.
                self.failed::<()>(inst, hook, &failure);
            }
        }
    }

    /// Counts and logs a failed hook; `Some` when the packet is to be dropped.
    fn failed<R>(&self, inst: &Instance, hook: HookPoint, message: &str) -> Option<Flow<R>> {
        inst.stats.errors.fetch_add(1, Ordering::Relaxed);
        let verdict = self
            .limiter
            .lock()
            .map(|mut l| l.check(&inst.entry.instance, Instant::now()))
            .unwrap_or(Verdict::Suppress);
        let drop = inst.entry.on_error == OnError::Drop && !hook.is_lease_event();
        if let Verdict::Log { suppressed } = verdict {
            let then = if drop { "packet dropped" } else { "continuing" };
            warn!(plugin = %inst.entry.instance, hook = hook.name(), suppressed, "plugin failed ({then}): {message}");
        }
        drop.then_some(Flow::Drop(DropReason::Failed))
    }

    /// `name=value` counters of every instance that did something.
    pub fn summary(&self) -> String {
        self.counters()
            .into_iter()
            .filter(|(_, v)| *v > 0)
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Counters as `plugin_<instance>_<what>`.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for inst in &self.instances {
            let s = &inst.stats;
            for (what, v) in [
                ("calls", &s.calls),
                ("errors", &s.errors),
                ("panics", &s.panics),
                ("drops", &s.drops),
                ("responses", &s.responses),
                ("waits", &s.waits),
            ] {
                out.push((
                    format!("plugin_{}_{what}", inst.entry.instance),
                    v.load(Ordering::Relaxed),
                ));
            }
            for (what, v) in inst.plugin.counters() {
                out.push((format!("plugin_{}_{what}", inst.entry.instance), v));
            }
        }
        out
    }

    /// Stops every instance's services, in reverse order of start.
    pub fn stop(&self) {
        for inst in self.instances.iter().rev() {
            if catch_unwind(AssertUnwindSafe(|| inst.plugin.stop())).is_err() {
                warn!(plugin = %inst.entry.instance, "plugin panicked while stopping");
            }
        }
    }
}

/// Where `family`'s hooks are in `by_hook`.
#[inline]
fn slot(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// One call of an instance, counted, with a panic caught and counted: the failure's
/// message when it returned an error or panicked.
fn isolated<T>(
    inst: &Instance,
    call: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, String> {
    inst.stats.calls.fetch_add(1, Ordering::Relaxed);
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            inst.stats.panics.fetch_add(1, Ordering::Relaxed);
            Err(PluginError::panicked(&*panic).message().to_string())
        }
    }
}
