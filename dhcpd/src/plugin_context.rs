//! The plugins' context for the packet a handler is working on, and the answers a
//! parked packet brings back when the packet loop hands it over again.

use zerotouch_plugin::Context;
use zerotouch_plugin::erased::Answer;

/// A handler's per-packet plugin context.
#[derive(Debug, Default)]
pub struct PluginContext {
    /// The current packet's context, handed to every hook.
    pub(crate) ctx: Context,
    /// The answers of the waits of the packet handled next (a parked one).
    resumed: Vec<(u32, Answer)>,
}

impl PluginContext {
    /// The next packet is one a plugin parked: these are its answers so far.
    pub fn resume(&mut self, answers: Vec<(u32, Answer)>) {
        self.resumed = answers;
    }

    /// The answers of the packet just parked, to keep with it.
    pub fn take_answers(&mut self) -> Vec<(u32, Answer)> {
        self.ctx.take_answers()
    }

    /// A fresh context for a new packet, with its answers if it was parked; whether it
    /// was (a packet handled again was counted when it arrived).
    pub(crate) fn begin(&mut self) -> bool {
        self.ctx = Context::new();
        let resumed = !self.resumed.is_empty();
        if resumed {
            self.ctx.set_answers(std::mem::take(&mut self.resumed));
        }
        resumed
    }
}
