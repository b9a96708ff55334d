//! The lease database's schema on PostgreSQL and its versioned migrations. Version `n`
//! is reached by running `MIGRATIONS[..n]` in order, each in the transaction that also
//! records it in `zerotouch_schema`; an advisory lock makes servers that start together
//! take turns, so a migration runs once.

use tokio_postgres::Client;
use zerotouch_lease::StoreError;

use crate::connect::PgConfig;

/// Each version's migration, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[
    // Version 1: the leases of both families and the server's identity. Addresses are
    // `inet`, so `psql` shows them as operators write them; times are Unix seconds, as
    // in the embedded store.
    "
CREATE TABLE lease4 (
    address     inet PRIMARY KEY CHECK (family(address) = 4 AND masklen(address) = 32),
    client_id   bytea,                 -- option 61, NULL when the client sent none
    htype       smallint NOT NULL,
    hw_address  bytea NOT NULL,
    state       text NOT NULL CHECK (state IN ('active', 'released', 'expired', 'declined')),
    starts      bigint NOT NULL,       -- Unix seconds
    expires     bigint NOT NULL,       -- Unix seconds
    hostname    text
);
CREATE TABLE lease6 (
    address     inet NOT NULL CHECK (family(address) = 6 AND masklen(address) = 128),
    prefix_len  smallint NOT NULL CHECK (prefix_len BETWEEN 1 AND 128),
    type        text NOT NULL CHECK (type IN ('na', 'pd')),
    duid        bytea,                 -- NULL when declined
    iaid        bigint NOT NULL,
    state       text NOT NULL CHECK (state IN ('active', 'released', 'expired', 'declined')),
    starts      bigint NOT NULL,
    preferred   bigint NOT NULL,       -- preferred lifetime granted, seconds
    expires     bigint NOT NULL,       -- end of the valid lifetime, Unix seconds
    hw_address  bytea,
    hostname    text,
    PRIMARY KEY (address, prefix_len)
);
CREATE TABLE server_identity (
    name  text PRIMARY KEY,
    value text NOT NULL
);
",
    // Version 2: servers sharing the database claim blocks of the pools to give new
    // addresses from (docs/high-availability.md); the DUID of each is its own.
    "
CREATE TABLE address_claim (
    first       inet NOT NULL,         -- the block's first address or prefix
    prefix_len  smallint NOT NULL,     -- 32, 128, or the delegated prefix length
    owner       text NOT NULL,         -- the claiming server's server_name
    until       bigint NOT NULL,       -- Unix seconds: lapses then unless renewed
    PRIMARY KEY (first, prefix_len)
);
CREATE INDEX address_claim_owner ON address_claim (owner);
",
    // Version 3: every statement that changes leases notifies the servers of the
    // addresses it changed (inserted or updated rows), after the writer's name (its
    // application_name): channels zerotouch_lease4 and zerotouch_lease6, delivered at
    // commit. Whoever writes (a server, `leases import`, a DBA in psql), the servers
    // learn of it.
    "
CREATE FUNCTION zerotouch_notify_lease4() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE payload text;
BEGIN
    FOR payload IN
        SELECT current_setting('application_name') || ' ' || string_agg(host(address), ',')
        FROM (SELECT address, (row_number() OVER () - 1) / 400 AS chunk FROM changed) c
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('zerotouch_lease4', payload);
    END LOOP;
    RETURN NULL;
END $$;
CREATE FUNCTION zerotouch_notify_lease6() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE payload text;
BEGIN
    FOR payload IN
        SELECT current_setting('application_name') || ' '
               || string_agg(host(address) || '/' || prefix_len, ',')
        FROM (SELECT address, prefix_len, (row_number() OVER () - 1) / 150 AS chunk FROM changed) c
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('zerotouch_lease6', payload);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER lease4_inserted AFTER INSERT ON lease4 REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION zerotouch_notify_lease4();
CREATE TRIGGER lease4_updated AFTER UPDATE ON lease4 REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION zerotouch_notify_lease4();
CREATE TRIGGER lease6_inserted AFTER INSERT ON lease6 REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION zerotouch_notify_lease6();
CREATE TRIGGER lease6_updated AFTER UPDATE ON lease6 REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION zerotouch_notify_lease6();
",
];

/// The version this build writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// A key of `pg_advisory_xact_lock` for schema changes ("ztschema").
const LOCK: i64 = 0x7a74_7363_6865_6d61;

/// The schema version of the database (0: none yet).
pub async fn version(client: &Client, cfg: &PgConfig) -> Result<i32, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('zerotouch_schema') IS NOT NULL", &[])
        .await
        .map_err(|e| cfg.sql(e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM zerotouch_schema",
            &[],
        )
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(row.get(0))
}

/// Brings the schema to this build's version (creating it when there is none): the
/// versions it was at and is at.
pub async fn upgrade(client: &mut Client, cfg: &PgConfig) -> Result<(i32, i32), StoreError> {
    let tx = client.transaction().await.map_err(|e| cfg.sql(e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(|e| cfg.sql(e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS zerotouch_schema (
             version  integer PRIMARY KEY,
             applied  timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(|e| cfg.sql(e))?;
    let from: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM zerotouch_schema",
            &[],
        )
        .await
        .map_err(|e| cfg.sql(e))?
        .get(0);
    if from > VERSION {
        return Err(newer(cfg, from));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let to = i as i32 + 1;
        tx.batch_execute(migration)
            .await
            .map_err(|e| StoreError::Schema {
                target: cfg.describe(),
                message: format!("migration to version {to} failed: {}", cfg.sql(e)),
            })?;
        tx.execute("INSERT INTO zerotouch_schema (version) VALUES ($1)", &[&to])
            .await
            .map_err(|e| cfg.sql(e))?;
    }
    tx.commit().await.map_err(|e| cfg.sql(e))?;
    Ok((from, VERSION))
}

fn newer(cfg: &PgConfig, found: i32) -> StoreError {
    StoreError::Schema {
        target: cfg.describe(),
        message: format!(
            "schema version {found}, and this server knows versions up to {VERSION}: it was written by a newer server"
        ),
    }
}

/// At start: this build's version is needed; an older one or none is upgraded when
/// `upgrade`, else refused with the command that does it.
pub async fn check(client: &Client, cfg: &PgConfig, upgrade: bool) -> Result<(), StoreError> {
    let found = version(client, cfg).await?;
    if found == VERSION {
        return Ok(());
    }
    if found > VERSION {
        return Err(newer(cfg, found));
    }
    if !upgrade {
        let what = if found == 0 {
            "has no zerotouch schema: create it with `zerotouch-dhcpd db init`".to_string()
        } else {
            format!(
                "has schema version {found}, this server needs {VERSION}: upgrade it with `zerotouch-dhcpd db upgrade`"
            )
        };
        return Err(StoreError::Schema {
            target: cfg.describe(),
            message: what,
        });
    }
    // A connection of its own: the migration needs a transaction, and the caller's
    // client is shared.
    let mut own = cfg.connect().await?;
    let (from, to) = self::upgrade(&mut own, cfg).await?;
    if from != to {
        tracing::info!(
            database = %cfg.describe(),
            "lease database schema upgraded from version {from} to {to}"
        );
    }
    Ok(())
}
