//! The lease gauges' own copy of the lease table: read from the lease store once, then
//! kept by the lease changes the server publishes, so a scrape counts what is in memory
//! instead of reading the whole table again. It is read again only when it may have
//! missed changes (the subscription fell behind) or could not be read before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use zerotouch_plugin::{LeaseChange, LeaseInfo, LeaseReader};

/// The leases by address, and whether they are known to be complete.
#[derive(Default)]
pub(crate) struct LeaseTable {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_address: HashMap<IpAddr, LeaseInfo>,
    /// Read from the store, with every change since applied.
    complete: bool,
}

impl LeaseTable {
    /// The unexpired leases at `now` (as `LeaseReader::current` counts them), reading
    /// the store first when the table is not complete; `None` when it cannot be read.
    pub(crate) fn current(&self, reader: &dyn LeaseReader, now: u64) -> Option<Vec<LeaseInfo>> {
        let mut t = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !t.complete {
            // Under the lock: a change published meanwhile is applied after this read,
            // and the newer state wins.
            let leases = reader.current().ok()?;
            t.by_address = leases.into_iter().map(|l| (l.address, l)).collect();
            t.complete = true;
        }
        Some(
            t.by_address
                .values()
                .filter(|l| l.is_current(now))
                .cloned()
                .collect(),
        )
    }

    fn apply(&self, change: &LeaseChange) {
        let mut t = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        t.by_address
            .insert(change.lease.address, change.lease.clone());
    }

    /// Changes were lost: read the store again at the next scrape.
    fn lost_changes(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .complete = false;
    }
}

/// Applies the server's lease changes to the table of `seen` until the bus closes.
pub(crate) async fn follow(changes: Receiver<Arc<LeaseChange>>, seen: Arc<crate::Seen>) {
    follow_into(changes, &seen.leases).await;
}

async fn follow_into(mut changes: Receiver<Arc<LeaseChange>>, table: &LeaseTable) {
    loop {
        match changes.recv().await {
            Ok(change) => table.apply(&change),
            Err(RecvError::Lagged(_)) => table.lost_changes(),
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotouch_plugin::{EventBus, LeaseEvent, LeaseState, PluginError};

    /// A store whose reads are counted.
    struct Store {
        leases: Vec<LeaseInfo>,
        reads: Mutex<u32>,
    }

    impl LeaseReader for Store {
        fn current(&self) -> Result<Vec<LeaseInfo>, PluginError> {
            *self.reads.lock().unwrap() += 1;
            Ok(self.leases.clone())
        }
        fn by_address(&self, _: IpAddr) -> Result<Option<LeaseInfo>, PluginError> {
            Ok(None)
        }
    }

    fn lease(address: &str, state: LeaseState, expires: u64) -> LeaseInfo {
        LeaseInfo {
            address: address.parse().unwrap(),
            state,
            client_id: None,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 1],
            starts: 0,
            expires,
            hostname: None,
        }
    }

    fn addresses(mut leases: Vec<LeaseInfo>) -> Vec<(String, LeaseState)> {
        leases.sort_by_key(|l| l.address);
        leases
            .into_iter()
            .map(|l| (l.address.to_string(), l.state))
            .collect()
    }

    #[tokio::test]
    async fn the_store_is_read_once_and_changes_keep_the_table() {
        let store = Store {
            leases: vec![lease("198.18.0.10", LeaseState::Active, 100)],
            reads: Mutex::new(0),
        };
        let bus = EventBus::default();
        let table = Arc::new(LeaseTable::default());
        let changes = bus.subscribe_leases();
        let follower = {
            let table = table.clone();
            tokio::spawn(async move { follow_into(changes, &table).await })
        };
        assert_eq!(
            addresses(table.current(&store, 50).unwrap()),
            [("198.18.0.10".into(), LeaseState::Active)]
        );
        for change in [
            lease("198.18.0.11", LeaseState::Active, 100),
            lease("2001:db8:1::100", LeaseState::Active, 100),
            lease("198.18.0.10", LeaseState::Released, 100),
        ] {
            bus.publish_lease(LeaseChange {
                event: LeaseEvent::Committed,
                lease: change,
            });
        }
        tokio::task::yield_now().await;
        while table.inner.lock().unwrap().by_address.len() < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            addresses(table.current(&store, 50).unwrap()),
            [
                ("198.18.0.10".into(), LeaseState::Released),
                ("198.18.0.11".into(), LeaseState::Active),
                ("2001:db8:1::100".into(), LeaseState::Active),
            ]
        );
        assert!(
            table.current(&store, 100).unwrap().is_empty(),
            "all expired at 100"
        );
        assert_eq!(*store.reads.lock().unwrap(), 1, "one read of the store");
        table.lost_changes();
        assert_eq!(table.current(&store, 50).unwrap().len(), 1, "read again");
        assert_eq!(*store.reads.lock().unwrap(), 2);
        follower.abort();
    }
}
