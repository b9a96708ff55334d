//! The interfaces the server is configured to serve, with their IPv4 and IPv6 addresses,
//! read from the kernel (getifaddrs) and refreshed when they change.

use std::collections::HashMap;
use std::ffi::CStr;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

/// Shared (`Arc`) so that each packet's context refers to it without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: Arc<str>,
    pub index: u32,
    pub addrs: Arc<[Ipv4Net]>,
    /// IPv6 prefixes, link-local ones included.
    pub addrs6: Arc<[Ipv6Net]>,
}

/// Served interfaces by index. Interfaces that do not exist yet are simply absent, and
/// appear at the next refresh.
#[derive(Debug, Default)]
pub struct InterfaceTable {
    names: Vec<String>,
    by_index: HashMap<u32, Interface>,
}

impl InterfaceTable {
    pub fn new(names: &[String]) -> Self {
        let mut t = InterfaceTable {
            names: names.to_vec(),
            by_index: HashMap::new(),
        };
        t.refresh();
        t
    }

    pub fn get(&self, index: u32) -> Option<&Interface> {
        self.by_index.get(&index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Interface> {
        self.by_index.values()
    }

    /// Re-reads indices and addresses; returns whether anything changed.
    pub fn refresh(&mut self) -> bool {
        let (all, all6) = addresses();
        let mut fresh: HashMap<u32, Interface> = HashMap::new();
        for name in &self.names {
            let Ok(cname) = std::ffi::CString::new(name.as_str()) else {
                continue;
            };
            // SAFETY: `cname` is a valid NUL-terminated string.
            let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
            if index != 0 {
                let addrs: Vec<Ipv4Net> = all
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, a)| *a)
                    .collect();
                let addrs6: Vec<Ipv6Net> = all6
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, a)| *a)
                    .collect();
                fresh.insert(
                    index,
                    Interface {
                        name: name.as_str().into(),
                        index,
                        addrs: addrs.into(),
                        addrs6: addrs6.into(),
                    },
                );
            }
        }
        let changed = fresh != self.by_index;
        self.by_index = fresh;
        changed
    }
}

type Addresses = (Vec<(String, Ipv4Net)>, Vec<(String, Ipv6Net)>);

/// (interface name, address with prefix) of every IPv4 and every IPv6 address on the
/// host.
fn addresses() -> Addresses {
    let mut out = Vec::new();
    let mut out6 = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return (out, out6);
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
            continue;
        }
        let name = || {
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            unsafe { CStr::from_ptr(ifa.ifa_name) }
                .to_string_lossy()
                .into_owned()
        };
        // SAFETY: ifa_addr points to a sockaddr whose family we check before casting.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
        if family == libc::AF_INET6 {
            // SAFETY: AF_INET6 addresses are sockaddr_in6.
            let (addr, mask) = unsafe {
                let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in6);
                (
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    Ipv6Addr::from(m.sin6_addr.s6_addr),
                )
            };
            if let Ok(net) = Ipv6Net::with_netmask(addr, mask) {
                out6.push((name(), net));
            }
            continue;
        }
        if family != libc::AF_INET {
            continue;
        }
        // SAFETY: AF_INET addresses are sockaddr_in.
        let (addr, mask) = unsafe {
            let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
            let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
            (
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                Ipv4Addr::from(u32::from_be(m.sin_addr.s_addr)),
            )
        };
        if let Ok(net) = Ipv4Net::with_netmask(addr, mask) {
            out.push((name(), net));
        }
    }
    // SAFETY: `head` came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    (out, out6)
}

/// The hardware address of interface `name` (from sysfs), for a server DUID.
pub fn hardware_address(name: &str) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    zerotouch_proto::hex::decode(text.trim())
        .ok()
        .filter(|b| !b.is_empty() && b.iter().any(|&x| x != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_with_its_address() {
        let t = InterfaceTable::new(&["lo".to_string(), "no-such-if0".to_string()]);
        let lo = t.iter().next().expect("lo exists");
        assert_eq!(&*lo.name, "lo");
        assert!(lo.addrs.iter().any(|a| a.addr() == Ipv4Addr::LOCALHOST));
        assert!(lo.addrs6.iter().any(|a| a.addr() == Ipv6Addr::LOCALHOST));
        assert_eq!(t.iter().count(), 1);
    }
}
