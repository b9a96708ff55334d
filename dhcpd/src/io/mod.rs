//! Network I/O: the DHCPv4 socket (batched receive and send with IP_PKTINFO), the
//! table of served interfaces, and ARP entries for clients that have no address yet.

mod arp;
mod interfaces;
mod udp4;

pub use arp::set_arp_entry;
pub use interfaces::{Interface, InterfaceTable};
pub use udp4::{BatchSocket, Datagram, Outgoing, RecvBatch, SendScratch};
