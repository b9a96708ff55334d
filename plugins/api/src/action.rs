//! What a hook answers.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::PluginError;
use crate::erased::Answer;

/// The outcome of one hook call; `R` is the family's reply ([`crate::Reply4`] or
/// [`crate::Reply6`]), so a DHCPv4 hook cannot answer with a DHCPv6 message.
#[derive(Debug)]
pub enum Action<R> {
    /// Go on: the next plugin at this hook point, then the rest of the packet path.
    Continue,
    /// Skip the remaining plugins at this hook point; the packet path goes on.
    SkipRest,
    /// Drop the packet: no reply, no lease change. Counted as `plugin_drop`.
    Drop,
    /// Answer now with this reply; the rest of the packet path, including lease
    /// changes, is skipped. At `reply_ready` it replaces the reply.
    Respond(Box<R>),
    /// Park the packet until the future completes, within the instance's
    /// `hook_timeout_ms`, while the server goes on serving other clients; then the
    /// packet is handled again from the start (the hooks before this one run again:
    /// they must give the same answers for the same packet) and this hook finds the
    /// future's answer in [`crate::Cx::awaited`]. See [`Action::wait`].
    Wait(Pending),
}

impl<R> Action<R> {
    /// Parks the packet until `future` completes (see [`Action::Wait`]). The future runs
    /// on the server's service runtime: create Tokio resources inside it (an `async
    /// move` block does). The hook then answers from [`crate::Cx::awaited`]:
    ///
    /// ```ignore
    /// let record = match cx.awaited::<Record>() {
    ///     Some(answer) => answer?,
    ///     None => return Ok(Action::wait(async move { lookup(serial).await })),
    /// };
    /// ```
    pub fn wait<T, F>(future: F) -> Self
    where
        T: Any + Send + Clone,
        F: Future<Output = Result<T, PluginError>> + Send + 'static,
    {
        Action::Wait(Pending::new(future))
    }
}

/// What a hook returns: what the server does next, or why the hook failed.
pub type HookResult<R> = Result<Action<R>, PluginError>;

/// A future a hook parks its packet on ([`Action::Wait`]).
pub struct Pending(Pin<Box<dyn Future<Output = Answer> + Send>>);

impl Pending {
    /// Wraps `future`; its value reaches the hook through [`crate::Cx::awaited`].
    pub fn new<T, F>(future: F) -> Self
    where
        T: Any + Send + Clone,
        F: Future<Output = Result<T, PluginError>> + Send + 'static,
    {
        Pending(Box::pin(async move {
            future.await.map(|v| Box::new(v) as Box<dyn Any + Send>)
        }))
    }

    host_only! {
        /// The future, for the server to run.
        fn into_future(self) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
            self.0
        }
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pending")
    }
}
