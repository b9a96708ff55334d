//! The named hook points on the packet path, and sets of them per family.

use crate::Family;

/// A point on the packet path (DHCPv4 and DHCPv6 alike) where plugins run, in the order
/// a packet meets them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter, strum::EnumCount, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
#[repr(u32)]
pub enum HookPoint {
    /// A well-formed request, before anything is decided about it.
    PacketReceived = 0,
    /// The client's classes are known (configured class matches).
    ClassesAssigned = 1,
    /// The subnet (the client's network) is chosen.
    SubnetSelected = 2,
    /// The client's host reservation is looked up (found or not).
    HostLookedUp = 3,
    /// An address and lifetime are chosen for an offer or an ACK, before the lease is
    /// held or committed.
    LeaseChosen = 4,
    /// The reply is built and may be edited before it is fitted to the client's size
    /// budget and sent.
    ReplyReady = 5,
    /// A lease is durable in the lease store (after an ACK's commit).
    LeaseCommitted = 6,
    /// A client released its lease.
    LeaseReleased = 7,
    /// A client declined its address (in use by another host).
    LeaseDeclined = 8,
    /// A lease ran out and was reclaimed.
    LeaseExpired = 9,
}

impl HookPoint {
    /// How many hook points there are (per family).
    pub const COUNT: usize = <HookPoint as strum::EnumCount>::COUNT;

    /// Every hook point, in the order a packet meets them.
    pub fn all() -> impl Iterator<Item = HookPoint> {
        <HookPoint as strum::IntoEnumIterator>::iter()
    }

    /// The name used in logs, counters and the documentation (`reply_ready`, ...).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The hook point's bit in a [`HookSet`].
    pub const fn bit(self) -> u32 {
        1 << self as u32
    }

    /// Whether the hook is about a lease change rather than a packet in flight.
    pub fn is_lease_event(self) -> bool {
        matches!(
            self,
            HookPoint::LeaseCommitted
                | HookPoint::LeaseReleased
                | HookPoint::LeaseDeclined
                | HookPoint::LeaseExpired
        )
    }
}

/// The hook points a plugin serves, per family: the server calls a plugin only where
/// it serves. `#[zerotouch_plugin::plugin]` writes a plugin's set from the hook
/// functions it implements. Lease events are served for both families or neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookSet(u32);

/// Where DHCPv6's bits start: DHCPv4's hook point `n` is bit `n`, DHCPv6's is bit `16 + n`.
const V6_SHIFT: u32 = 16;

const fn bit(family: Family, hook: HookPoint) -> u32 {
    match family {
        Family::V4 => hook.bit(),
        Family::V6 => hook.bit() << V6_SHIFT,
    }
}

impl HookSet {
    /// No hook point.
    pub const EMPTY: HookSet = HookSet(0);

    /// Every hook point of both families.
    pub fn all() -> HookSet {
        HookPoint::all().fold(HookSet::EMPTY, |s, h| {
            s.with(Family::V4, h).with(Family::V6, h)
        })
    }

    /// `hook` of both families.
    pub const fn both(hook: HookPoint) -> HookSet {
        HookSet(bit(Family::V4, hook) | bit(Family::V6, hook))
    }

    /// This set and `hook` of `family`.
    pub const fn with(self, family: Family, hook: HookPoint) -> HookSet {
        HookSet(self.0 | bit(family, hook))
    }

    /// This set and the four lease events, of both families.
    pub const fn with_lease_events(self) -> HookSet {
        self.union(HookSet::both(HookPoint::LeaseCommitted))
            .union(HookSet::both(HookPoint::LeaseReleased))
            .union(HookSet::both(HookPoint::LeaseDeclined))
            .union(HookSet::both(HookPoint::LeaseExpired))
    }

    /// Whether `hook` of `family` is in the set.
    pub const fn contains(self, family: Family, hook: HookPoint) -> bool {
        self.0 & bit(family, hook) != 0
    }

    /// The hook points in either set.
    pub const fn union(self, other: HookSet) -> HookSet {
        HookSet(self.0 | other.0)
    }

    /// The hook points in both sets.
    pub const fn intersection(self, other: HookSet) -> HookSet {
        HookSet(self.0 & other.0)
    }

    /// The hook points of `self` that are not in `other`.
    pub const fn difference(self, other: HookSet) -> HookSet {
        HookSet(self.0 & !other.0)
    }

    /// Whether the set has no hook point.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as bits (DHCPv4's hook point `n` is bit `n`, DHCPv6's bit `16 + n`).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Bits for hook points this version does not know are ignored.
    pub fn from_bits(bits: u32) -> HookSet {
        HookSet(bits & HookSet::all().0)
    }

    /// The hook points of the set, DHCPv4's then DHCPv6's, each in the order a packet
    /// meets them.
    pub fn iter(self) -> impl Iterator<Item = (Family, HookPoint)> {
        [Family::V4, Family::V6]
            .into_iter()
            .flat_map(|f| HookPoint::all().map(move |h| (f, h)))
            .filter(move |(f, h)| self.contains(*f, *h))
    }

    /// The names of the set's hook points as logs and errors write them
    /// (`reply_ready4`, `lease_event`).
    pub fn names(self) -> Vec<String> {
        let mut names: Vec<String> = self
            .iter()
            .filter(|(_, h)| !h.is_lease_event())
            .map(|(f, h)| format!("{}{}", h.name(), f as u8))
            .collect();
        if HookPoint::all().any(|h| h.is_lease_event() && self.contains(Family::V4, h)) {
            names.push("lease_event".into());
        }
        names
    }
}

impl FromIterator<(Family, HookPoint)> for HookSet {
    fn from_iter<I: IntoIterator<Item = (Family, HookPoint)>>(iter: I) -> Self {
        iter.into_iter()
            .fold(HookSet::EMPTY, |s, (f, h)| s.with(f, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_their_own_bits() {
        let s = HookSet::EMPTY.with(Family::V4, HookPoint::ReplyReady);
        assert!(s.contains(Family::V4, HookPoint::ReplyReady));
        assert!(!s.contains(Family::V6, HookPoint::ReplyReady));
        assert_eq!(s.names(), ["reply_ready4"]);
        let l = HookSet::EMPTY.with_lease_events();
        assert!(l.contains(Family::V6, HookPoint::LeaseExpired));
        assert_eq!(l.names(), ["lease_event"]);
        assert_eq!(HookSet::from_bits(u32::MAX), HookSet::all());
        assert_eq!(HookSet::all().iter().count(), 2 * HookPoint::COUNT);
    }
}
