//! Packets a plugin parked on a future (`Action::Wait`): the packet loop keeps their
//! datagrams here while the futures run on the service runtime, each bounded by its
//! instance's `hook_timeout_ms`, and serves other clients meanwhile. When a future
//! completes, its packet is handled again from the start with the answers so far.

use std::collections::HashMap;
use std::sync::mpsc;

use zerotouch_net::{Datagram, IpFamily};
use zerotouch_plugin::PluginError;
use zerotouch_plugin::erased::Answer;

use crate::plugin::Parked;

/// How many times one packet may be parked: each wait adds an answer, so a plugin
/// that asks again and again (ignoring its answer) ends here, as a plugin failure.
pub(crate) const MAX_WAITS: usize = 8;
/// How many packets one family keeps parked: past it new waits fail (a flood cannot
/// grow the table without bound).
pub(crate) const MAX_PARKED: usize = 4096;

/// A parked datagram and the answers its earlier waits got.
pub(crate) struct ParkedPacket<S: IpFamily> {
    data: Vec<u8>,
    src: S::Addr,
    pub(crate) ifindex: u32,
    local: S::Ip,
    dst: S::Ip,
    pub(crate) answers: Vec<(u32, Answer)>,
}

impl<S: IpFamily> ParkedPacket<S> {
    /// The datagram, as it was received.
    pub(crate) fn datagram(&self) -> Datagram<'_, S> {
        Datagram {
            data: &self.data,
            src: self.src,
            ifindex: self.ifindex,
            local: self.local,
            dst: self.dst,
        }
    }
}

/// One family's parked packets.
pub(crate) struct Parking<S: IpFamily> {
    packets: HashMap<u64, ParkedPacket<S>>,
    next: u64,
    done: mpsc::Sender<(u64, u32, Answer)>,
    finished: mpsc::Receiver<(u64, u32, Answer)>,
}

impl<S: IpFamily> Default for Parking<S> {
    fn default() -> Self {
        let (done, finished) = mpsc::channel();
        Parking {
            packets: HashMap::new(),
            next: 0,
            done,
            finished,
        }
    }
}

impl<S: IpFamily> Parking<S> {
    /// Whether no packet is parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Parks `d` until `parked`'s future completes (or its time runs out); `answers`
    /// are those of the packet's earlier waits. `Err` says why it cannot be parked.
    pub(crate) fn park(
        &mut self,
        d: &Datagram<'_, S>,
        answers: Vec<(u32, Answer)>,
        parked: Parked,
    ) -> Result<(), String> {
        if answers.len() >= MAX_WAITS {
            return Err(format!(
                "plugin {} asked to wait a {}th time for one packet",
                parked.instance,
                answers.len() + 1
            ));
        }
        if self.packets.len() >= MAX_PARKED {
            return Err(format!(
                "plugin {} asked to wait with {MAX_PARKED} packets already parked",
                parked.instance
            ));
        }
        let id = self.next;
        self.next += 1;
        self.packets.insert(
            id,
            ParkedPacket {
                data: d.data.to_vec(),
                src: d.src,
                ifindex: d.ifindex,
                local: d.local,
                dst: d.dst,
                answers,
            },
        );
        let done = self.done.clone();
        let Parked {
            key,
            pending,
            limit,
            runtime,
            ..
        } = parked;
        let future = pending.into_future();
        runtime.spawn(async move {
            let answer = tokio::time::timeout(limit, future)
                .await
                .unwrap_or_else(|_| {
                    Err(PluginError::new(format!(
                        "timed out after {} ms (hook_timeout_ms)",
                        limit.as_millis()
                    )))
                });
            // The loop may have stopped: then nobody is waiting for the answer.
            let _ = done.send((id, key, answer));
        });
        Ok(())
    }

    /// The parked packets whose futures completed, each with its new answer added.
    pub(crate) fn ready(&mut self) -> Vec<ParkedPacket<S>> {
        let mut out = Vec::new();
        while let Ok((id, key, answer)) = self.finished.try_recv() {
            if let Some(mut p) = self.packets.remove(&id) {
                p.answers.push((key, answer));
                out.push(p);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use zerotouch_net::V4;
    use zerotouch_plugin::Pending;

    use super::*;

    fn datagram(data: &[u8]) -> Datagram<'_, V4> {
        Datagram {
            data,
            src: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 9), 68),
            ifindex: 3,
            local: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::BROADCAST,
        }
    }

    fn parked(rt: &tokio::runtime::Runtime, sleep: Duration, limit: Duration) -> Parked {
        Parked {
            key: 7,
            pending: Pending::new(async move {
                tokio::time::sleep(sleep).await;
                Ok(42u32)
            }),
            limit,
            instance: Arc::from("slow"),
            runtime: rt.handle().clone(),
        }
    }

    /// Waits for the first packet whose future completed.
    fn next_ready(p: &mut Parking<V4>) -> ParkedPacket<V4> {
        let start = Instant::now();
        loop {
            if let Some(r) = p.ready().pop() {
                return r;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "never ready");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_parked_packet_comes_back_with_its_answer_or_its_timeout() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut p = Parking::<V4>::default();
        let wire = [1u8, 2, 3];
        p.park(
            &datagram(&wire),
            Vec::new(),
            parked(&rt, Duration::ZERO, Duration::from_secs(5)),
        )
        .unwrap();
        assert!(!p.is_empty());
        let back = next_ready(&mut p);
        assert!(p.is_empty());
        assert_eq!(back.datagram().data, &wire);
        assert_eq!(back.datagram().ifindex, 3);
        let (key, answer) = &back.answers[0];
        assert_eq!(*key, 7);
        assert_eq!(answer.as_ref().unwrap().downcast_ref::<u32>(), Some(&42));

        // Past its bound, the answer is the timeout, and the earlier answers stay.
        let earlier = vec![(1, Ok(Box::new(1u8) as Box<dyn std::any::Any + Send>))];
        p.park(
            &datagram(&wire),
            earlier,
            parked(&rt, Duration::from_secs(10), Duration::from_millis(20)),
        )
        .unwrap();
        let back = next_ready(&mut p);
        assert_eq!(back.answers.len(), 2);
        let Err(e) = &back.answers[1].1 else {
            panic!("not a timeout");
        };
        assert_eq!(e.to_string(), "timed out after 20 ms (hook_timeout_ms)");
    }

    #[test]
    fn waits_are_bounded_per_packet() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut p = Parking::<V4>::default();
        let answers = (0..MAX_WAITS as u32)
            .map(|k| (k, Ok(Box::new(()) as Box<dyn std::any::Any + Send>)))
            .collect();
        let e = p
            .park(
                &datagram(&[1]),
                answers,
                parked(&rt, Duration::ZERO, Duration::ZERO),
            )
            .unwrap_err();
        assert_eq!(e, "plugin slow asked to wait a 9th time for one packet");
        assert!(p.is_empty());
    }
}
