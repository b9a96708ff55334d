//! Leases as plugins see them.

use std::net::IpAddr;

use crate::HookPoint;

/// Where a lease is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
#[repr(u8)]
pub enum LeaseState {
    /// Offered (DHCPOFFER, ADVERTISE), not yet requested; held in memory only.
    Offered = 1,
    /// Bound to its client.
    Active = 2,
    /// Given back by its client; remembered for it.
    Released = 3,
    /// Reported in use by another host; out of use until it expires.
    Declined = 4,
    /// Ran out; free, and remembered for its last client.
    Expired = 5,
}

impl LeaseState {
    /// The state's name (`active`, ...).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// A lease: address, holder, state and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The leased address (for a delegated prefix, its first address).
    pub address: IpAddr,
    /// Where the lease is in its life.
    pub state: LeaseState,
    /// The client identifier (option 61), when the client sent one.
    pub client_id: Option<Vec<u8>>,
    /// Hardware type (ARP hardware type; 1 is Ethernet).
    pub htype: u8,
    /// The client's hardware address, empty when unknown.
    pub hwaddr: Vec<u8>,
    /// Unix seconds.
    pub starts: u64,
    /// Unix seconds.
    pub expires: u64,
    /// The host name the client gave, if any.
    pub hostname: Option<String>,
}

impl LeaseInfo {
    /// Whether the lease is current at `now` (Unix seconds): not ended and not
    /// reclaimed, what [`crate::LeaseReader::current`] returns.
    pub fn is_current(&self, now: u64) -> bool {
        self.expires > now && self.state != LeaseState::Expired
    }
}

/// A lease change the server made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum LeaseEvent {
    /// A lease was stored (after an ACK or REPLY).
    Committed = HookPoint::LeaseCommitted as u32,
    /// A client released its lease.
    Released = HookPoint::LeaseReleased as u32,
    /// A client declined its address.
    Declined = HookPoint::LeaseDeclined as u32,
    /// A lease ran out and was reclaimed.
    Expired = HookPoint::LeaseExpired as u32,
}

impl LeaseEvent {
    /// The hook point plugins serve to hear of this event.
    pub fn hook(self) -> HookPoint {
        match self {
            LeaseEvent::Committed => HookPoint::LeaseCommitted,
            LeaseEvent::Released => HookPoint::LeaseReleased,
            LeaseEvent::Declined => HookPoint::LeaseDeclined,
            LeaseEvent::Expired => HookPoint::LeaseExpired,
        }
    }

    /// The event a stored lease in `state` stands for; offers are not events.
    pub fn for_state(state: LeaseState) -> Option<LeaseEvent> {
        match state {
            LeaseState::Offered => None,
            LeaseState::Active => Some(LeaseEvent::Committed),
            LeaseState::Released => Some(LeaseEvent::Released),
            LeaseState::Declined => Some(LeaseEvent::Declined),
            LeaseState::Expired => Some(LeaseEvent::Expired),
        }
    }
}
