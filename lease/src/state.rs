//! Where a lease is in its life, in either family.

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum LeaseState {
    /// Offered and held for `offer_hold` seconds; kept in memory only.
    Offered,
    Active,
    /// Given back by the client; the address is free but remembered for it.
    Released,
    /// Ran out; free, and remembered for its last client.
    Expired,
    /// Reported in use by someone else (DHCPDECLINE); out of use until `expires`.
    Declined,
}

impl LeaseState {
    /// The state's name in the lease database (`active`, ...).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// States whose address is in use until `expires`.
    pub fn holds_address(self) -> bool {
        matches!(
            self,
            LeaseState::Offered | LeaseState::Active | LeaseState::Declined
        )
    }
}
