//! The wall clock packets are stamped with.

/// Seconds since the Unix epoch: leases are stored and hooks are handed wall-clock time,
/// so that a time means the same after a restart and on another machine.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
