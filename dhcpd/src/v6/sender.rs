//! Sending DHCPv6 replies: in one batch, each to the client or relay it answers, out of
//! the interface the request came in on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::stats::{Counters, Reason};
use crate::v6::Reply6;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{BatchSocket, Outgoing, SendScratch, V6};

pub(crate) struct ReplySender6 {
    socket: Arc<BatchSocket<V6>>,
    scratch: SendScratch<V6>,
    counters: Arc<Counters>,
    limiter: LogLimiter,
}

impl ReplySender6 {
    pub(crate) fn new(socket: Arc<BatchSocket<V6>>, counters: Arc<Counters>) -> Self {
        ReplySender6 {
            socket,
            scratch: SendScratch::default(),
            counters,
            limiter: LogLimiter::new(10, Duration::from_secs(60)),
        }
    }

    /// Sends and empties `replies`.
    pub(crate) fn send(&mut self, replies: &mut Vec<Reply6>) {
        if replies.is_empty() {
            return;
        }
        let types: Vec<u8> = replies.iter().map(|r| r.msg_type.to_u8()).collect();
        let out: Vec<Outgoing<V6>> = replies
            .drain(..)
            .map(|r| Outgoing {
                data: r.bytes,
                dst: r.dst,
                ifindex: r.ifindex,
                src: std::net::Ipv6Addr::UNSPECIFIED,
            })
            .collect();
        let failures = self.socket.send_batch(&out, &mut self.scratch);
        for (i, t) in types.iter().enumerate() {
            match failures.iter().find(|(j, _)| *j == i) {
                Some((_, e)) => {
                    self.counters.count_no_reply(Reason::SendFailed);
                    if let Verdict::Log { suppressed } = self.limiter.check("send6", Instant::now())
                    {
                        warn!(
                            suppressed,
                            "cannot send DHCPv6 reply to {}: {e}", out[i].dst
                        );
                    }
                }
                None => self.counters.count_sent6(*t),
            }
        }
    }
}
