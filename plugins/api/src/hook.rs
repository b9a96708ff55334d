//! The named hook points on the packet path, and sets of them.

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
    /// How many hook points there are.
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

/// The hook points a plugin serves: the server calls a plugin only where it asked to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookSet(u32);

impl HookSet {
    /// No hook point.
    pub const EMPTY: HookSet = HookSet(0);

    /// Every hook point.
    pub fn all() -> HookSet {
        HookPoint::all().fold(HookSet::EMPTY, HookSet::with)
    }

    /// All four lease events.
    pub fn lease_events() -> HookSet {
        HookSet::EMPTY
            .with(HookPoint::LeaseCommitted)
            .with(HookPoint::LeaseReleased)
            .with(HookPoint::LeaseDeclined)
            .with(HookPoint::LeaseExpired)
    }

    /// This set and `hook`.
    pub const fn with(self, hook: HookPoint) -> HookSet {
        HookSet(self.0 | hook.bit())
    }

    /// Whether `hook` is in the set.
    pub const fn contains(self, hook: HookPoint) -> bool {
        self.0 & hook.bit() != 0
    }

    /// The hook points in either set.
    pub fn union(self, other: HookSet) -> HookSet {
        HookSet(self.0 | other.0)
    }

    /// The hook points in both sets.
    pub fn intersection(self, other: HookSet) -> HookSet {
        HookSet(self.0 & other.0)
    }

    /// The hook points of `self` that are not in `other`.
    pub fn difference(self, other: HookSet) -> HookSet {
        HookSet(self.0 & !other.0)
    }

    /// Whether the set has no hook point.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as bits (bit `n` is hook point `n`), as it crosses the C ABI.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Bits for hook points this version does not know are ignored.
    pub fn from_bits(bits: u32) -> HookSet {
        HookSet(bits & HookSet::all().0)
    }

    /// The hook points of the set, in the order a packet meets them.
    pub fn iter(self) -> impl Iterator<Item = HookPoint> {
        HookPoint::all().filter(move |h| self.contains(*h))
    }
}

impl FromIterator<HookPoint> for HookSet {
    fn from_iter<I: IntoIterator<Item = HookPoint>>(iter: I) -> Self {
        iter.into_iter().fold(HookSet::EMPTY, HookSet::with)
    }
}
