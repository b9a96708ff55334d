//! What handling one request comes to, in either family: a reply (sent at once, or
//! when the lease changes it depends on are durable), no reply by design, a drop with
//! its reason, or a wait on a plugin.

use crate::plugin::Parked;
use crate::stats::Reason;

/// The outcome of one request. `R` is the family's reply; `C` holds the lease changes to
/// store (DHCPv4: at most one, an `Option`; DHCPv6: one per binding, a `Vec`).
#[derive(Debug)]
pub enum Outcome<R, C> {
    /// Send `reply`; when `commit` holds lease changes, only after they are durable.
    Reply { reply: R, commit: C },
    /// No reply, by design (RELEASE, DECLINE, a client that chose another server ...);
    /// `commit` holds the lease changes to store.
    NoReply { reason: Option<Reason>, commit: C },
    /// Dropped: malformed, or a request the server cannot or must not answer.
    Drop {
        reason: Reason,
        detail: Option<String>,
    },
    /// A plugin parked the request on a future: handle it again when that completes.
    Park(Parked),
}

impl<R, C: Default> Outcome<R, C> {
    /// Dropped for `reason`, with nothing more to say.
    pub(crate) fn drop(reason: Reason) -> Self {
        Outcome::Drop {
            reason,
            detail: None,
        }
    }

    /// No reply, counted under `reason`, nothing to store.
    pub(crate) fn silent(reason: Reason) -> Self {
        Outcome::NoReply {
            reason: Some(reason),
            commit: C::default(),
        }
    }
}

/// The lease changes of one outcome.
pub trait Commit<L>: IntoIterator<Item = L> + Default {
    /// Whether there is nothing to store (the reply may leave at once).
    fn is_empty(&self) -> bool;
}

impl<L> Commit<L> for Option<L> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

impl<L> Commit<L> for Vec<L> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}
