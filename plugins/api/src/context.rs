//! The per-packet context: data one plugin hands to the plugins after it, typed (Rust
//! plugins) or named (any plugin, also across the C ABI), and the bounded wait for
//! hooks that need to await something.

use std::any::{Any, TypeId};
use std::future::Future;
use std::time::{Duration, Instant};

use crate::{PluginError, ScopeData};

/// Lives for one packet, from `packet_received` to `reply_ready`. Empty until a plugin
/// stores something, so it costs nothing when unused.
#[derive(Default)]
pub struct Context {
    typed: Vec<(TypeId, Box<dyn Any + Send>)>,
    named: Vec<(Box<str>, Vec<u8>)>,
    wait: Option<WaitBudget>,
    /// The calling instance's settings for the scopes that apply to this packet, most
    /// specific first.
    scoped: Vec<ScopeData>,
}

/// How long the current hook may wait, and on which runtime.
struct WaitBudget {
    runtime: tokio::runtime::Handle,
    limit: Duration,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("typed", &self.typed.len())
            .field(
                "named",
                &self.named.iter().map(|(k, _)| &**k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Stores a value for the plugins after this one; returns the value it replaces.
    pub fn insert<T: Any + Send>(&mut self, value: T) -> Option<T> {
        let id = TypeId::of::<T>();
        let boxed: Box<dyn Any + Send> = Box::new(value);
        match self.typed.iter_mut().find(|(t, _)| *t == id) {
            Some(slot) => {
                let old = std::mem::replace(&mut slot.1, boxed);
                old.downcast::<T>().ok().map(|b| *b)
            }
            None => {
                self.typed.push((id, boxed));
                None
            }
        }
    }

    /// The value of type `T` a plugin stored, if any.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.typed
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// The value of type `T` a plugin stored, to change in place.
    pub fn get_mut<T: Any + Send>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.typed
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_mut())
    }

    /// Takes out the value of type `T`.
    pub fn remove<T: Any + Send>(&mut self) -> Option<T> {
        let id = TypeId::of::<T>();
        let i = self.typed.iter().position(|(t, _)| *t == id)?;
        self.typed.swap_remove(i).1.downcast().ok().map(|b| *b)
    }

    /// Stores octets under a name: the form of context that crosses the C ABI.
    pub fn set_value(&mut self, name: &str, value: &[u8]) {
        match self.named.iter_mut().find(|(k, _)| &**k == name) {
            Some(slot) => {
                slot.1.clear();
                slot.1.extend_from_slice(value);
            }
            None => self.named.push((name.into(), value.to_vec())),
        }
    }

    /// The octets stored under `name`, if any.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.named
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Every named value, in the order first stored.
    pub fn values(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.named.iter().map(|(k, v)| (&**k, v.as_slice()))
    }

    /// Awaits `future` for at most the instance's `hook_timeout_ms`, on the server's
    /// service runtime. The packet thread waits meanwhile, so the bound keeps one slow
    /// backend from stalling every client; past it the hook fails with a timeout and
    /// the instance's `on_error` applies. Tokio futures need the runtime when they are
    /// created: pass an `async` block, which creates them inside it.
    pub fn wait<F: Future>(&self, future: F) -> Result<F::Output, PluginError> {
        let Some(budget) = &self.wait else {
            return Err(PluginError::new(
                "Context::wait called outside a hook (no runtime to wait on)",
            ));
        };
        let deadline = Instant::now() + budget.limit;
        budget.runtime.block_on(async move {
            tokio::time::timeout_at(deadline.into(), future)
                .await
                .map_err(|_| {
                    PluginError::new(format!(
                        "timed out after {} ms (hook_timeout_ms)",
                        budget.limit.as_millis()
                    ))
                })
        })
    }

    host_only! {
        /// Set by the server when the packet arrives: the runtime and the bound for
        /// [`Context::wait`].
        fn set_wait_budget(&mut self, runtime: Option<tokio::runtime::Handle>, limit: Duration) {
            self.wait = runtime.map(|runtime| WaitBudget { runtime, limit });
        }
    }

    /// The calling instance's settings for the most specific configuration scope that
    /// applies to this packet so far (host reservation, then classes, pool, subnet,
    /// `[dhcp4]`), as its [`crate::Plugin::scope`] parsed them.
    pub fn scoped<T: Any>(&self) -> Option<&T> {
        self.scoped.first().and_then(|s| s.downcast_ref())
    }

    /// The calling instance's settings for every scope that applies, most specific
    /// first: for settings merged key by key (a class sets one key, the subnet another).
    pub fn scoped_all<T: Any>(&self) -> impl Iterator<Item = &T> {
        self.scoped.iter().filter_map(|s| s.downcast_ref())
    }

    host_only! {
        /// Whether the calling instance's scoped settings are set.
        fn has_scoped(&self) -> bool {
            !self.scoped.is_empty()
        }
    }

    host_only! {
        /// Set by the server before each hook call of an instance with scoped settings.
        fn set_scoped(&mut self, data: impl IntoIterator<Item = ScopeData>) {
            self.scoped.clear();
            self.scoped.extend(data);
        }
    }

    host_only! {
        /// Set by the server before each hook call: the calling instance's bound.
        fn set_wait_limit(&mut self, limit: Duration) {
            if let Some(w) = &mut self.wait {
                w.limit = limit;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Tag(u32);

    #[test]
    fn typed_values_by_type() {
        let mut c = Context::new();
        assert!(c.get::<Tag>().is_none());
        assert_eq!(c.insert(Tag(1)), None);
        assert_eq!(c.insert(Tag(2)), Some(Tag(1)));
        c.get_mut::<Tag>().unwrap().0 += 1;
        assert_eq!(c.get::<Tag>(), Some(&Tag(3)));
        assert_eq!(c.remove::<Tag>(), Some(Tag(3)));
        assert!(c.get::<Tag>().is_none());
    }

    #[test]
    fn named_values_replace() {
        let mut c = Context::new();
        c.set_value("site", b"lab-1");
        c.set_value("site", b"lab-2");
        assert_eq!(c.value("site"), Some(&b"lab-2"[..]));
        assert_eq!(c.values().count(), 1);
    }

    #[test]
    fn wait_is_bounded() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let mut c = Context::new();
        c.set_wait_budget(Some(rt.handle().clone()), Duration::from_millis(20));
        assert_eq!(c.wait(async { 7 }), Ok(7));
        let slow = c.wait(async { tokio::time::sleep(Duration::from_secs(5)).await });
        assert!(
            slow.unwrap_err()
                .message()
                .contains("timed out after 20 ms")
        );
    }
}
