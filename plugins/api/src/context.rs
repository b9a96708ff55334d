//! The per-packet context: data one plugin hands to the plugins after it, typed (Rust
//! plugins) or named (any plugin, also across the C ABI), and what the host keeps for
//! the hook it is calling (its instance's scope settings, the answers of its waits).

use std::any::{Any, TypeId};

use crate::erased::{Answer, ScopeData};

/// Lives for one packet, from `packet_received` to `reply_ready`. Empty until a plugin
/// stores something, so it costs nothing when unused.
#[derive(Default)]
pub struct Context {
    typed: Vec<(TypeId, Box<dyn Any + Send>)>,
    named: Vec<(Box<str>, Vec<u8>)>,
    /// The calling instance's settings for the scopes that apply to this packet, most
    /// specific first.
    scoped: Vec<ScopeData>,
    /// Which instance and hook is being called (see [`Context::caller_key`]).
    caller: u32,
    /// Answers of the futures this packet was parked on, by caller.
    answers: Vec<(u32, Answer)>,
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

    /// The calling instance's settings for the scopes that apply, most specific first.
    pub(crate) fn scoped(&self) -> &[ScopeData] {
        &self.scoped
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
        /// Set by the server before each hook call: who is called, as
        /// [`Context::caller_key`] makes it.
        fn set_caller(&mut self, key: u32) {
            self.caller = key;
        }
    }

    host_only! {
        /// The key of one instance's hook: `instance` is its place in the pipeline.
        fn caller_key(instance: usize, hook: crate::HookPoint) -> u32 {
            (instance as u32) << 8 | hook as u32
        }
    }

    host_only! {
        /// Hands the answers of the futures the packet was parked on to the hooks that
        /// asked, for this handling of the packet.
        fn set_answers(&mut self, answers: Vec<(u32, Answer)>) {
            self.answers = answers;
        }
    }

    host_only! {
        /// The answers, to keep while the packet is parked again.
        fn take_answers(&mut self) -> Vec<(u32, Answer)> {
            std::mem::take(&mut self.answers)
        }
    }

    /// The answer for the calling hook, if it has one, as type `T`. The answer stays:
    /// should a later hook park the packet, this hook runs again and reads it again.
    pub(crate) fn answer<T: Any + Clone>(&self) -> Option<Result<T, crate::PluginError>> {
        let (_, answer) = self.answers.iter().find(|(k, _)| *k == self.caller)?;
        Some(match answer {
            Ok(v) => v.downcast_ref::<T>().cloned().ok_or_else(|| {
                crate::PluginError::new(format!(
                    "the awaited answer is not a {}",
                    std::any::type_name::<T>()
                ))
            }),
            Err(e) => Err(e.clone()),
        })
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
}
