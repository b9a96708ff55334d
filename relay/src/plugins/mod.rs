//! zerotouch plugins on relayed packets: the same `[[plugin]]` tables as the server's,
//! run at the hook points that exist on a relay — `packet_received` when a request
//! arrives (drop it, or answer it here), `classes_assigned` once the relay's classes
//! of the request are known, `reply_ready` on each reply from a server, with the
//! request it answers — so a segment router can, say, add the SZTP redirect option for
//! a class of devices where the upstream server (someone else's) cannot.

mod family;
mod host;
pub(crate) mod pending;

use std::net::SocketAddr;
use std::sync::Arc;

use tracing::warn;
use zerotouch_config::{ConfigError, ConfigErrors, ScopeId, SourceMap};
use zerotouch_net::IpFamily;
use zerotouch_plugin::{ClassSet, Context, HookPoint, HookSet, Ingress, ServiceHost, WireReply};
use zerotouch_plugin_host::{Flow, Pipeline, builtins, load_plugin_tables};

use crate::action::{Action, dropped};
use crate::config::{RelayClass, RelayConfig, SectionIds};
use crate::counters::Counters;

pub(crate) use family::{HookFamily, V4, V6};
pub(crate) use host::RelayView;

/// The hook points a relay calls, of both families.
pub(crate) fn relay_hooks() -> HookSet {
    HookSet::both(HookPoint::PacketReceived)
        .union(HookSet::both(HookPoint::ClassesAssigned))
        .union(HookSet::both(HookPoint::ReplyReady))
}

/// Creates the plugin instances `cfg` names (none for a configuration from flags). An
/// instance that serves none of the relay's hook points is an error: it would never
/// run.
pub(crate) fn load(
    cfg: &RelayConfig,
    runtime: Option<tokio::runtime::Handle>,
) -> Result<Arc<Pipeline>, ConfigErrors> {
    if cfg.plugins.entries.is_empty() {
        return Ok(Arc::new(Pipeline::empty()));
    }
    let src = SourceMap {
        file: &cfg.file,
        text: &cfg.text,
    };
    let pipeline = load_plugin_tables(&src, &cfg.plugins, &builtins(), runtime)?;
    let idle: Vec<ConfigError> = pipeline
        .instances()
        .iter()
        .filter(|i| i.hooks.intersection(relay_hooks()).is_empty())
        .map(|i| {
            let serves = i.hooks.names();
            src.error(
                Some(i.entry.span.clone()),
                format!("plugin[{}].name", i.entry.index),
                format!(
                    "{} serves only {} here, and a relay calls only packet_received, classes_assigned and reply_ready (4 and 6)",
                    i.entry.instance,
                    if serves.is_empty() { "no hook point".to_string() } else { serves.join(", ") }
                ),
            )
        })
        .collect();
    if !idle.is_empty() {
        return Err(ConfigErrors(idle));
    }
    Ok(pipeline)
}

/// Starts the instances' services: a relay holds no leases, and its view shows its own
/// counters.
pub(crate) fn start(
    pipeline: &Pipeline,
    runtime: &tokio::runtime::Handle,
    file: &std::path::Path,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    let host = ServiceHost {
        runtime: runtime.clone(),
        leases: Arc::new(host::NoLeases),
        server: Arc::new(RelayView::new(file, counters)),
        events: Default::default(),
        artifacts: Default::default(),
    };
    for inst in pipeline.instances() {
        inst.plugin
            .start(&host)
            .map_err(|e| anyhow::anyhow!("plugin {}: {e}", inst.entry.instance))?;
    }
    for w in pipeline.warnings() {
        warn!("{w}");
    }
    Ok(())
}

/// The scopes whose `plugin.<instance>` settings apply to a request, most specific
/// first: its classes, its downstream interface, the family's section.
pub(crate) fn scopes(
    classes: &[usize],
    class: fn(usize) -> ScopeId,
    downstream: ScopeId,
    section: ScopeId,
) -> Vec<ScopeId> {
    let mut out: Vec<ScopeId> = classes.iter().map(|&i| class(i)).collect();
    out.push(downstream);
    out.push(section);
    out
}

/// Indices of the classes whose match holds; `value` reads what a class looks at.
pub(crate) fn classify<'v, S>(
    classes: &[RelayClass<S>],
    value: impl Fn(&S) -> Option<&'v [u8]>,
) -> Vec<usize> {
    classes
        .iter()
        .enumerate()
        .filter(|(_, c)| value(&c.source).is_some_and(|v| c.test.matches(v)))
        .map(|(i, _)| i)
        .collect()
}

/// A request as remembered for the plugins that see its replies.
pub(crate) struct Remembered<H: HookFamily> {
    /// The decoded request (a DHCPv4 message, or a DHCPv6 message with the relays
    /// below).
    pub request: H::Request,
    pub wire: Vec<u8>,
    pub interface: String,
    pub source: SocketAddr,
    /// The scopes that applied to it, most specific first.
    pub scopes: Vec<ScopeId>,
    /// Its context since `packet_received`.
    pub ctx: Context,
}

/// The plugin side of a request from downstream interface `downstream`, either family:
/// `packet_received`, then `forward`, then classes (`classify` reads the first
/// datagram forwarded) and `classes_assigned`. A `Drop` drops the request, a `Respond`
/// is sent by `answer`. With the action, the context and scopes to remember the
/// request by when plugins will see its replies.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_request<H: HookFamily, F: IpFamily, S>(
    plugins: &Pipeline,
    request: &H::Request,
    ingress: Ingress<'_>,
    ids: SectionIds,
    downstream: usize,
    defined: &[RelayClass<S>],
    forward: impl FnOnce() -> Action<F>,
    classify: impl FnOnce(&[u8]) -> Vec<usize>,
    answer: impl Fn(H::Reply) -> Action<F>,
) -> (Action<F>, Option<(Context, Vec<ScopeId>)>) {
    let (section, downstream_id, class_id) = ids;
    let mut ctx = Context::new();
    let verdict = |flow: Flow<H::Reply>| match flow {
        Flow::Continue => None,
        Flow::Drop(_) => Some(dropped(ingress.interface, "plugin_drop")),
        // The relay handles each datagram at once: a plugin's wait is not kept.
        Flow::Park(_) => Some(dropped(ingress.interface, "plugin_wait_on_relay")),
        Flow::Respond(reply) => Some(answer(*reply)),
    };
    if plugins.wants(H::FAMILY, HookPoint::PacketReceived) {
        let at = scopes(&[], class_id, downstream_id(downstream), section);
        let flow = plugins.run(
            H::FAMILY,
            HookPoint::PacketReceived,
            &mut ctx,
            &at,
            |p, ctx| H::packet_received(p, ctx, request, ingress),
        );
        if let Some(action) = verdict(flow) {
            return (action, None);
        }
    }
    let action = forward();
    let mut classes = match &action {
        Action::Send { out, .. } if !out.is_empty() => classify(&out[0].data),
        _ => return (action, None),
    };
    if plugins.wants(H::FAMILY, HookPoint::ClassesAssigned) {
        let names: Vec<Arc<str>> = defined.iter().map(|c| c.name.clone()).collect();
        let at = scopes(&classes, class_id, downstream_id(downstream), section);
        let flow = plugins.run(
            H::FAMILY,
            HookPoint::ClassesAssigned,
            &mut ctx,
            &at,
            |p, ctx| {
                H::classes_assigned(
                    p,
                    ctx,
                    request,
                    ingress,
                    &mut ClassSet::new(&names, &mut classes),
                )
            },
        );
        if let Some(action) = verdict(flow) {
            return (action, None);
        }
    }
    let remember = plugins.wants(H::FAMILY, HookPoint::ReplyReady).then(|| {
        let at = scopes(&classes, class_id, downstream_id(downstream), section);
        (ctx, at)
    });
    (action, remember)
}

/// What `reply_ready` made of a reply.
pub(crate) enum Edit<R> {
    /// Deliver the server's reply as it came.
    Unchanged,
    /// Deliver this one instead (edited, or a plugin's own).
    Changed(Box<R>),
    Drop,
}

/// `reply_ready` on a server's reply `draft`, with the remembered request as the packet.
pub(crate) fn reply_ready<H: HookFamily>(
    plugins: &Pipeline,
    r: &mut Remembered<H>,
    mut draft: H::Reply,
    now: u64,
) -> Edit<H::Reply> {
    let ingress = Ingress {
        wire: &r.wire,
        interface: &r.interface,
        source: r.source,
        now,
    };
    let request = &r.request;
    match plugins.run(
        H::FAMILY,
        HookPoint::ReplyReady,
        &mut r.ctx,
        &r.scopes,
        |p, ctx| H::reply_ready(p, ctx, request, ingress, &mut draft),
    ) {
        Flow::Continue if !draft.is_touched() => Edit::Unchanged,
        Flow::Continue => Edit::Changed(Box::new(draft)),
        // The relay does not keep replies for a plugin's wait.
        Flow::Drop(_) | Flow::Park(_) => Edit::Drop,
        Flow::Respond(reply) => Edit::Changed(reply),
    }
}

#[cfg(test)]
mod tests;
