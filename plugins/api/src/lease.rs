//! Leases as plugins see them.

use std::net::IpAddr;

use crate::HookPoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
#[repr(u8)]
pub enum LeaseState {
    Offered = 1,
    Active = 2,
    Released = 3,
    Declined = 4,
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
    pub address: IpAddr,
    pub state: LeaseState,
    /// The client identifier (option 61), when the client sent one.
    pub client_id: Option<Vec<u8>>,
    pub htype: u8,
    pub hwaddr: Vec<u8>,
    /// Unix seconds.
    pub starts: u64,
    /// Unix seconds.
    pub expires: u64,
    pub hostname: Option<String>,
}

/// A lease change the server made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum LeaseEvent {
    Committed = HookPoint::LeaseCommitted as u32,
    Released = HookPoint::LeaseReleased as u32,
    Declined = HookPoint::LeaseDeclined as u32,
    Expired = HookPoint::LeaseExpired as u32,
}

impl LeaseEvent {
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
