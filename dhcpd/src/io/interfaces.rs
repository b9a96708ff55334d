//! The interfaces the server is configured to serve, with their IPv4 addresses, read
//! from the kernel (getifaddrs) and refreshed when they change.

use std::collections::HashMap;
use std::ffi::CStr;
use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::Ipv4Net;

/// Shared (`Arc`) so that each packet's context refers to it without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: Arc<str>,
    pub index: u32,
    pub addrs: Arc<[Ipv4Net]>,
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
        let all = ipv4_addresses();
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
                fresh.insert(
                    index,
                    Interface {
                        name: name.as_str().into(),
                        index,
                        addrs: addrs.into(),
                    },
                );
            }
        }
        let changed = fresh != self.by_index;
        self.by_index = fresh;
        changed
    }
}

/// (interface name, address with prefix) of every IPv4 address on the host.
fn ipv4_addresses() -> Vec<(String, Ipv4Net)> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose family we check before casting.
        if unsafe { (*ifa.ifa_addr).sa_family } as i32 != libc::AF_INET {
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
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        if let Ok(net) = Ipv4Net::with_netmask(addr, mask) {
            out.push((name, net));
        }
    }
    // SAFETY: `head` came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    out
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
        assert_eq!(t.iter().count(), 1);
    }
}
