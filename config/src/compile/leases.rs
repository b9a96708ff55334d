//! `[leases]` (the database, its sync mode and intervals) and the lease-time keys of a
//! scope.

use super::*;

impl Compiler<'_> {
    pub(super) fn leases(&mut self, raw: &RawLeases) -> LeaseStoreConfig {
        let database = raw
            .database
            .as_ref()
            .map_or(DEFAULT_DATABASE, |d| d.get_ref().as_str());
        // Relative paths are relative to the configuration file, not to the working
        // directory the server happened to start in.
        let base = self.src.file.parent().unwrap_or(Path::new("."));
        let synchronous = match raw.synchronous.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("full") => Synchronous::Full,
            Some("normal") => Synchronous::Normal,
            Some(other) => {
                let msg = format!(
                    "got {other:?}, expected \"full\" (durable across power loss) or \"normal\""
                );
                self.err(
                    raw.synchronous.as_ref().expect("matched Some"),
                    "leases.synchronous",
                    msg,
                );
                Synchronous::Full
            }
        };
        let outage_renewals = match raw.outage_renewals.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("remaining") => OutageRenewals::Remaining,
            Some("withhold") => OutageRenewals::Withhold,
            Some(other) => {
                self.err(
                    raw.outage_renewals.as_ref().expect("matched Some"),
                    "leases.outage_renewals",
                    format!("got {other:?}, expected \"remaining\" or \"withhold\""),
                );
                OutageRenewals::Remaining
            }
        };
        let reclaim = raw.reclaim_interval.as_ref().map_or(10, |r| *r.get_ref());
        if let Some(r) = raw.reclaim_interval.as_ref().filter(|r| *r.get_ref() == 0) {
            self.err(
                r,
                "leases.reclaim_interval",
                "got 0, expected seconds between reclaim passes, at least 1",
            );
        }
        let window = raw
            .commit_window_ms
            .as_ref()
            .map_or(DEFAULT_COMMIT_WINDOW_MS, |w| *w.get_ref());
        if let Some(w) = raw
            .commit_window_ms
            .as_ref()
            .filter(|w| *w.get_ref() > 1000)
        {
            self.err(
                w,
                "leases.commit_window_ms",
                format!("got {}, expected 0 to 1000 milliseconds", w.get_ref()),
            );
        }
        let postgresql = raw.postgresql.as_ref().map(|pg| {
            let pg_ref = pg.get_ref();
            if let Some(d) = &raw.database {
                self.err(
                    d,
                    "leases.database",
                    "the leases are on PostgreSQL ([leases.postgresql]): leave out the SQLite file",
                );
            }
            if let Err(e) = pg_ref.url.get_ref().parse::<tokio_postgres::Config>() {
                self.err(
                    &pg_ref.url,
                    "leases.postgresql.url",
                    format!("not a PostgreSQL connection string: {e}"),
                );
            } else if pg_ref
                .url
                .get_ref()
                .parse::<tokio_postgres::Config>()
                .is_ok_and(|c| c.get_hosts().is_empty())
            {
                self.err(
                    &pg_ref.url,
                    "leases.postgresql.url",
                    "it names no host (host=..., or postgresql://HOST/...)",
                );
            }
            if let Some(name) = &pg_ref.server_name
                && (name.get_ref().trim().is_empty() || name.get_ref().len() > 64)
            {
                self.err(
                    name,
                    "leases.postgresql.server_name",
                    "a name of 1 to 64 characters, other than spaces",
                );
            }
            let claim_block = pg_ref.claim_block.as_ref().map_or(256, |b| {
                if !(1..=65536).contains(b.get_ref()) {
                    self.err(
                        b,
                        "leases.postgresql.claim_block",
                        format!("got {}, expected 1 to 65536 addresses", b.get_ref()),
                    );
                }
                *b.get_ref()
            });
            let claim_lifetime = pg_ref.claim_lifetime.as_ref().map_or(30, |l| {
                if !(3..=3600).contains(l.get_ref()) {
                    self.err(
                        l,
                        "leases.postgresql.claim_lifetime",
                        format!("got {}s, expected 3 to 3600 seconds", l.get_ref()),
                    );
                }
                *l.get_ref()
            });
            PostgresStore {
                claim_block: claim_block.clamp(1, 65536) as u32,
                claim_lifetime: Duration::from_secs(claim_lifetime.clamp(3, 3600)),
                url: pg_ref.url.get_ref().clone(),
                tls_ca: pg_ref.tls_ca.as_ref().map(|p| base.join(p)),
                upgrade_schema: pg_ref.upgrade_schema,
                server_name: pg_ref.server_name.as_ref().map(|n| n.get_ref().clone()),
            }
        });
        LeaseStoreConfig {
            database: base.join(database),
            postgresql,
            synchronous,
            outage_renewals,
            reclaim_interval: Duration::from_secs(reclaim.max(1)),
            commit_window: Duration::from_millis(window.min(1000)),
        }
    }

    pub(super) fn lease_times(
        &mut self,
        raw: &RawLeaseTimes,
        inherit: &LeaseTimes,
        scope: &str,
    ) -> LeaseTimes {
        let get = |v: &Option<Spanned<u32>>| v.as_ref().map(|v| *v.get_ref());
        let lease_time = get(&raw.lease_time).unwrap_or(inherit.lease_time);
        // Without explicit bounds the client's requested lifetime is not honoured:
        // the operator's lease_time is what every client gets.
        let t = LeaseTimes {
            lease_time,
            min_lease_time: get(&raw.min_lease_time).unwrap_or(if raw.lease_time.is_some() {
                lease_time.min(inherit.min_lease_time)
            } else {
                inherit.min_lease_time
            }),
            max_lease_time: get(&raw.max_lease_time).unwrap_or(if raw.lease_time.is_some() {
                lease_time.max(inherit.max_lease_time)
            } else {
                inherit.max_lease_time
            }),
            renew_time: get(&raw.renew_time).or(inherit.renew_time),
            rebind_time: get(&raw.rebind_time).or(inherit.rebind_time),
        };
        if let Some(v) = &raw.lease_time
            && *v.get_ref() == 0
        {
            self.err(
                v,
                format!("{scope}.lease_time"),
                "got 0, expected a lease lifetime in seconds of at least 1",
            );
        }
        if let Some(v) = &raw.min_lease_time
            && t.min_lease_time > t.lease_time
        {
            self.err(
                v,
                format!("{scope}.min_lease_time"),
                format!(
                    "{} is above lease_time {}, expected min_lease_time <= lease_time",
                    t.min_lease_time, t.lease_time
                ),
            );
        }
        if let Some(v) = &raw.max_lease_time
            && t.max_lease_time < t.lease_time
        {
            self.err(
                v,
                format!("{scope}.max_lease_time"),
                format!(
                    "{} is below lease_time {}, expected max_lease_time >= lease_time",
                    t.max_lease_time, t.lease_time
                ),
            );
        }
        if let (Some(v), Some(t1)) = (&raw.renew_time, t.renew_time)
            && t1 >= t.rebind_time.unwrap_or(t.lease_time)
        {
            self.err(v, format!("{scope}.renew_time"), format!("{t1} is not below rebind_time and lease_time, expected renew_time < rebind_time < lease_time"));
        }
        if let (Some(v), Some(t2)) = (&raw.rebind_time, t.rebind_time)
            && t2 >= t.lease_time
        {
            self.err(
                v,
                format!("{scope}.rebind_time"),
                format!(
                    "{t2} is not below lease_time {}, expected rebind_time < lease_time",
                    t.lease_time
                ),
            );
        }
        t
    }
}
