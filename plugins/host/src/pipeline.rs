//! Running hooks: in configuration order, each call isolated (a panic is caught), each
//! failure counted and logged with the instance's name, and handled as the instance's
//! `on_error` says.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::{debug, warn};
use zerotouch_plugin::{
    Action, Context, HookPoint, HookResult, HookSet, LeaseEvent, LeaseInfo, Plugin, PluginError,
    Reply, ScopeData,
};

use zerotouch_config::{OnError, PluginEntry, ScopeId};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};

/// One plugin instance and its counters.
pub struct Instance {
    pub entry: PluginEntry,
    pub plugin: Box<dyn Plugin>,
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
}

/// What the packet path does after a hook point.
#[derive(Debug)]
pub enum Flow {
    Continue,
    /// No reply; the server counts it under the reason.
    Drop(DropReason),
    /// Send this reply now.
    Respond(Box<Reply>),
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
    /// Indices into `instances` per hook point, in configuration order.
    by_hook: [Vec<usize>; HookPoint::COUNT],
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
        let mut by_hook: [Vec<usize>; HookPoint::COUNT] = Default::default();
        for (i, inst) in instances.iter().enumerate() {
            for hook in inst.hooks.iter() {
                by_hook[hook as usize].push(i);
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

    /// A context for a new packet, able to wait on the service runtime.
    pub fn new_context(&self) -> Context {
        let mut ctx = Context::new();
        if !self.instances.is_empty() && self.runtime.is_some() {
            ctx.set_wait_budget(self.runtime.clone(), std::time::Duration::ZERO);
        }
        ctx
    }

    /// Whether any instance serves `hook`: the packet path builds a hook's arguments
    /// only then, so plugins cost nothing where none listens.
    #[inline]
    pub fn wants(&self, hook: HookPoint) -> bool {
        !self.by_hook[hook as usize].is_empty()
    }

    pub fn wants_lease_events(&self) -> bool {
        HookPoint::all().any(|h| h.is_lease_event() && self.wants(h))
    }

    /// Whether any instance has settings in configuration scopes: only then does the
    /// packet path work out which scopes apply.
    pub fn has_scoped(&self) -> bool {
        self.instances.iter().any(|i| !i.scopes.is_empty())
    }

    /// Runs `hook` on every instance that serves it. `scopes` are the configuration
    /// scopes that apply to the packet so far, most specific first.
    pub fn run(
        &self,
        hook: HookPoint,
        ctx: &mut Context,
        scopes: &[ScopeId],
        mut call: impl FnMut(&dyn Plugin, &mut Context) -> HookResult,
    ) -> Flow {
        for &i in &self.by_hook[hook as usize] {
            let inst = &self.instances[i];
            ctx.set_wait_limit(inst.entry.hook_timeout);
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

    /// Tells the instances that serve it about a durable lease change.
    pub fn lease_event(&self, event: LeaseEvent, lease: &LeaseInfo) {
        let hook = event.hook();
        for &i in &self.by_hook[hook as usize] {
            let inst = &self.instances[i];
            if let Err(failure) = isolated(inst, || inst.plugin.lease_event(event, lease)) {
                // There is no packet to drop: the failure is counted and logged.
                self.failed(inst, hook, &failure);
            }
        }
    }

    /// Counts and logs a failed hook; `Some` when the packet is to be dropped.
    fn failed(&self, inst: &Instance, hook: HookPoint, message: &str) -> Option<Flow> {
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
            ] {
                out.push((
                    format!("plugin_{}_{what}", inst.entry.instance),
                    v.load(Ordering::Relaxed),
                ));
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

/// One call of an instance, counted, with a panic caught and counted: the failure's
/// message when it returned an error or panicked.
fn isolated<T>(
    inst: &Instance,
    call: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, String> {
    inst.stats.calls.fetch_add(1, Ordering::Relaxed);
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.message().to_string()),
        Err(panic) => {
            inst.stats.panics.fetch_add(1, Ordering::Relaxed);
            Err(PluginError::panicked(&*panic).message().to_string())
        }
    }
}
