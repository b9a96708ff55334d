//! One downstream interface as the relay sees it for a packet: its configuration (of
//! either family), the interface as it is now and its hardware address.

use zerotouch_net::Interface;

pub(crate) struct Link<'a, C> {
    /// The position of `config` among the section's downstream interfaces.
    pub index: usize,
    pub config: &'a C,
    pub interface: &'a Interface,
    /// The interface's hardware address, for templates.
    pub mac: &'a [u8],
}
