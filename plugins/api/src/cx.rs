//! What a hook gets besides its packet: the per-packet [`Context`], and its plugin's
//! own settings for the scopes that apply, typed.

use std::any::Any;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use crate::{Context, Plugin, PluginError};

/// The per-packet context as one plugin's hook sees it: the shared [`Context`] (it
/// dereferences to it) and the plugin's [`Plugin::Scope`] settings for this packet.
pub struct Cx<'a, P: Plugin> {
    ctx: &'a mut Context,
    plugin: PhantomData<fn(&P)>,
}

impl<'a, P: Plugin> Cx<'a, P> {
    pub(crate) fn new(ctx: &'a mut Context) -> Self {
        Cx {
            ctx,
            plugin: PhantomData,
        }
    }

    /// The plugin's settings for the most specific configuration scope that applies to
    /// this packet so far (host reservation, then classes, pool, subnet, `[dhcp4]` or
    /// `[dhcp6]`).
    pub fn scope(&self) -> Option<&P::Scope> {
        self.scopes().next()
    }

    /// The plugin's settings for every scope that applies, most specific first: for
    /// settings merged key by key (a class sets one key, the subnet another).
    pub fn scopes(&self) -> impl Iterator<Item = &P::Scope> {
        // The host made every value from this plugin's own `P::Scope`: the downcast
        // cannot miss.
        self.ctx.scoped().iter().filter_map(|s| s.downcast_ref())
    }

    /// The answer of the future this hook parked the packet on ([`crate::Action::wait`])
    /// — its value, or why it failed (its error, or the `hook_timeout_ms` that ran
    /// out): `None` when the hook has not waited for this packet yet.
    pub fn awaited<T: Any + Clone>(&self) -> Option<Result<T, PluginError>> {
        self.ctx.answer()
    }
}

impl<P: Plugin> Deref for Cx<'_, P> {
    type Target = Context;
    fn deref(&self) -> &Context {
        self.ctx
    }
}

impl<P: Plugin> DerefMut for Cx<'_, P> {
    fn deref_mut(&mut self) -> &mut Context {
        self.ctx
    }
}

impl<P: Plugin> std::fmt::Debug for Cx<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.ctx.fmt(f)
    }
}
