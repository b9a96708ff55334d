//! What a hook answers.

use crate::{PluginError, Reply};

/// The outcome of one hook call.
#[derive(Debug)]
pub enum Action {
    /// Go on: the next plugin at this hook point, then the rest of the packet path.
    Continue,
    /// Skip the remaining plugins at this hook point; the packet path goes on.
    SkipRest,
    /// Drop the packet: no reply, no lease change. Counted as `plugin_drop`.
    Drop,
    /// Answer now with this reply; the rest of the packet path, including lease
    /// changes, is skipped. At `reply_ready` it replaces the reply.
    Respond(Box<Reply>),
}

/// What a hook returns: what the server does next, or why the hook failed.
pub type HookResult = Result<Action, PluginError>;
