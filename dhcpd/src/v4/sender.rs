//! Sending DHCPv4 replies: installs ARP entries for unicasts to clients without an
//! address, sends in one batch, and falls back to broadcast when a unicast fails.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::stats::{Counters, Reason};
use crate::v4::Reply;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{BatchSocket, Outgoing, SendScratch, set_arp_entry};

pub(crate) struct ReplySender {
    socket: Arc<BatchSocket>,
    client_port: u16,
    counters: Arc<Counters>,
    limiter: LogLimiter,
    out: Vec<Outgoing>,
    meta: Vec<(u8, bool, u32)>,
    scratch: SendScratch,
}

impl ReplySender {
    pub(crate) fn new(socket: Arc<BatchSocket>, client_port: u16, counters: Arc<Counters>) -> Self {
        ReplySender {
            socket,
            client_port,
            counters,
            limiter: LogLimiter::new(5, Duration::from_secs(60)),
            out: Vec::new(),
            meta: Vec::new(),
            scratch: SendScratch::default(),
        }
    }

    fn warn_limited(&mut self, kind: &'static str, msg: std::fmt::Arguments<'_>) {
        if let Verdict::Log { suppressed } = self.limiter.check(kind, Instant::now()) {
            warn!(suppressed, "{msg}");
        }
    }

    /// Sends and empties `replies`.
    pub(crate) fn send(&mut self, replies: &mut Vec<Reply>) {
        if replies.is_empty() {
            return;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&*self.socket);
        self.out.clear();
        self.meta.clear();
        for r in replies.drain(..) {
            let mut dest = r.dest;
            if let Some(arp) = &dest.arp
                && let Err(e) = set_arp_entry(fd, arp.ip, arp.hwaddr, &arp.ifname)
            {
                let msg = format!(
                    "cannot add ARP entry {} -> {:02x?} on {}: {e}; broadcasting instead",
                    arp.ip, arp.hwaddr, arp.ifname
                );
                if let Verdict::Log { suppressed } = self.limiter.check("arp", Instant::now()) {
                    warn!(suppressed, "{msg}");
                }
                dest = dest.as_broadcast(dest.ifindex, self.client_port);
            }
            // (message type, unicast to a client without an address, ingress interface)
            self.meta
                .push((r.msg_type.to_u8(), dest.arp.is_some(), dest.ifindex));
            self.out.push(Outgoing {
                data: r.bytes,
                dst: dest.addr,
                ifindex: dest.ifindex,
                src: dest.src,
            });
        }
        let failures = self.socket.send_batch(&self.out, &mut self.scratch);
        let mut failed: Vec<usize> = Vec::new();
        let mut retry: Vec<(usize, Outgoing)> = Vec::new();
        for (i, e) in failures {
            let (_, unicast_to_new_client, ifindex) = self.meta[i];
            if unicast_to_new_client {
                // No route to the new address on that link (say, a shared network whose
                // other subnet the server has no address in): broadcast instead.
                let mut b = self.out[i].clone();
                b.dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, self.client_port);
                b.ifindex = ifindex;
                retry.push((i, b));
            } else {
                failed.push(i);
                let dst = self.out[i].dst;
                self.warn_limited("send", format_args!("cannot send reply to {dst}: {e}"));
            }
        }
        if !retry.is_empty() {
            let pkts: Vec<Outgoing> = retry.iter().map(|(_, p)| p.clone()).collect();
            for (j, e) in self.socket.send_batch(&pkts, &mut self.scratch) {
                failed.push(retry[j].0);
                self.warn_limited("send", format_args!("cannot broadcast reply: {e}"));
            }
        }
        for (i, &(t, _, _)) in self.meta.iter().enumerate() {
            if failed.contains(&i) {
                self.counters.count_no_reply(Reason::SendFailed);
            } else {
                self.counters.count_sent(t);
            }
        }
    }
}
