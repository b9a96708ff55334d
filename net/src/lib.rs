//! zerotouch-net: the network layer the server and the relay share. The DHCP socket for
//! IPv4 and IPv6 (batched receive and send with packet info), the table of served
//! interfaces, ARP entries for clients that have no address yet, who holds a port, and
//! the rate limiter for log lines a flood could trigger, the wall clock, and threads that
//! serve a socket until they are dropped.

mod arp;
mod clock;
mod holder;
mod interfaces;
pub mod ratelimit;
mod served;
mod thread;
mod udp;

pub use arp::set_arp_entry;
pub use clock::unix_now;
pub use holder::{describe_process, udp_port_holders};
pub use interfaces::{Interface, InterfaceTable, hardware_address};
pub use served::ServedInterfaces;
pub use thread::{ServingThread, StopFlag};
pub use udp::{BatchSocket, Datagram, IpFamily, Outgoing, RecvBatch, SendScratch, V4, V6};
