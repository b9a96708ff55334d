//! Installing an ARP entry so a reply can be unicast to a client that has an address
//! only once it reads the reply (RFC 2131 §4.1; dora and ISC do the same, ISC with raw
//! sockets). Needs CAP_NET_ADMIN; the caller falls back to broadcast on failure.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

pub fn set_arp_entry(
    fd: RawFd,
    ip: Ipv4Addr,
    hwaddr: [u8; 6],
    ifname: &str,
) -> std::io::Result<()> {
    // SAFETY: arpreq is plain old data; all-zero is a valid value.
    let mut req: libc::arpreq = unsafe { std::mem::zeroed() };
    let pa = super::udp::sockaddr(SocketAddrV4::new(ip, 0));
    // SAFETY: sockaddr_in fits in the sockaddr that arp_pa is.
    unsafe {
        std::ptr::write(
            &mut req.arp_pa as *mut libc::sockaddr as *mut libc::sockaddr_in,
            pa,
        )
    };
    req.arp_ha.sa_family = libc::ARPHRD_ETHER;
    for (d, s) in req.arp_ha.sa_data.iter_mut().zip(hwaddr) {
        *d = s as libc::c_char;
    }
    req.arp_flags = libc::ATF_COM;
    let name = ifname.as_bytes();
    if name.len() >= req.arp_dev.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    for (d, s) in req.arp_dev.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCSARP reads an arpreq, which `req` is.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCSARP, &req as *const libc::arpreq) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
