//! The lease database's schema (version 3): binary and integer columns, which the server
//! writes without formatting anything, and the views `leases4` and `leases6` that show
//! the same leases as text (dotted quads, IPv6 in RFC 5952 form, `aa:bb:cc` octets) for
//! operators and their tools, with the columns the tables of version 1 had.

/// The version this build writes (`PRAGMA user_version`).
pub const VERSION: i64 = 3;

// Keyed by the address as an integer: SQLite's rowid B-tree makes a lease write about
// four times cheaper than a text key (measured: 1.2 against 4 µs a row), and a lease
// write is most of what an ACK costs. State comparisons, not `state IN (...)`: SQLite
// builds a temporary index for an IN list on every insert, which made that constraint a
// third of a lease write's cost.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS lease4 (
    address     INTEGER PRIMARY KEY,      -- the address as a 32-bit number
    client_id   BLOB,                     -- option 61, NULL when the client sent none
    htype       INTEGER NOT NULL,
    hw_address  BLOB NOT NULL,
    state       TEXT NOT NULL CHECK (state = 'active' OR state = 'released' OR state = 'expired' OR state = 'declined'),
    starts      INTEGER NOT NULL,         -- Unix seconds
    expires     INTEGER NOT NULL,         -- Unix seconds
    hostname    TEXT
);
CREATE TABLE IF NOT EXISTS lease6 (
    address     BLOB NOT NULL,            -- 16 octets: the address, or the prefix's first address
    prefix_len  INTEGER NOT NULL,         -- 128 for an address
    type        TEXT NOT NULL CHECK (type = 'na' OR type = 'pd'),
    duid        BLOB,                     -- the client's DUID, NULL when declined
    iaid        INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state = 'active' OR state = 'released' OR state = 'expired' OR state = 'declined'),
    starts      INTEGER NOT NULL,         -- Unix seconds
    preferred   INTEGER NOT NULL,         -- preferred lifetime granted, seconds
    expires     INTEGER NOT NULL,         -- Unix seconds, end of the valid lifetime
    hw_address  BLOB,                     -- when known
    hostname    TEXT,                     -- the client's name (option 39, or its reservation's); version 3
    PRIMARY KEY (address, prefix_len)
) WITHOUT ROWID;
-- The server's identity: its DUID is created once and kept, since clients and relays
-- recognise the server by it across restarts.
CREATE TABLE IF NOT EXISTS server_identity (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// The tables and the views of this version, for a new database or an upgrade.
pub(super) fn create() -> String {
    format!(
        "{TABLES}
DROP VIEW IF EXISTS leases4;
CREATE VIEW leases4 AS SELECT
    address AS address_key,
    {dotted} AS address,
    {client_id} AS client_id,
    htype,
    {hw4} AS hw_address,
    state, starts, expires, hostname
FROM lease4;
DROP VIEW IF EXISTS leases6;
CREATE VIEW leases6 AS SELECT
    text || '/' || prefix_len AS resource,
    text AS address,
    prefix_len, type,
    {duid} AS duid,
    iaid, state, starts, preferred, expires,
    {hw6} AS hw_address,
    hostname
FROM (SELECT *, {v6} AS text FROM lease6);
",
        dotted = "(address >> 24) || '.' || ((address >> 16) & 255) || '.' || ((address >> 8) & 255) || '.' || (address & 255)",
        client_id = hex_colon("lease4.client_id"),
        hw4 = hex_colon("lease4.hw_address"),
        duid = hex_colon("duid"),
        hw6 = hex_colon("hw_address"),
        v6 = ipv6_text("lease6.address"),
    )
}

/// SQL for blob `col` as `aa:bb:cc` (NULL stays NULL). Plain SQL, so that any `sqlite3`
/// reads the views.
fn hex_colon(col: &str) -> String {
    format!(
        "CASE WHEN {col} IS NULL THEN NULL ELSE (WITH RECURSIVE h(i, s) AS (SELECT 0, '' UNION ALL SELECT i + 1, s || CASE WHEN i > 0 THEN ':' ELSE '' END || lower(hex(substr({col}, i + 1, 1))) FROM h WHERE i < length({col})) SELECT s FROM h ORDER BY i DESC LIMIT 1) END"
    )
}

/// SQL for the 16-octet blob `col` as an IPv6 address in RFC 5952 form: groups without
/// leading zeros, the longest run of two or more zero groups (the first of equals)
/// written `::`. The groups are put between colons (`:a:b:…:h:`) so that a run is found
/// with its colons; the outer colons go again afterwards unless they are part of `::`.
fn ipv6_text(col: &str) -> String {
    let group = |k: usize| {
        let digits = format!("ltrim(lower(substr(hex({col}), {}, 4)), '0')", 4 * k + 1);
        format!("CASE WHEN {digits} = '' THEN '0' ELSE {digits} END")
    };
    let wrapped = (0..8).map(group).collect::<Vec<_>>().join(" || ':' || ");
    let runs = (2..=8)
        .rev()
        .map(|n| format!("({n}, ':{}')", "0:".repeat(n)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "(WITH w(s) AS (SELECT ':' || {wrapped} || ':'),
             runs(n, pat) AS (VALUES {runs}),
             c(s) AS (SELECT coalesce(
                 (SELECT substr(w.s, 1, instr(w.s, runs.pat) - 1) || '::' || substr(w.s, instr(w.s, runs.pat) + length(runs.pat))
                  FROM w, runs WHERE instr(w.s, runs.pat) > 0 ORDER BY runs.n DESC LIMIT 1),
                 (SELECT s FROM w)))
         SELECT substr(s, 1 + lead, length(s) - lead - trail)
         FROM (SELECT s, CASE WHEN substr(s, 1, 2) = '::' THEN 0 ELSE 1 END AS lead,
                         CASE WHEN substr(s, -2) = '::' THEN 0 ELSE 1 END AS trail FROM c))"
    )
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use rusqlite::Connection;

    /// The view's text of each address, written through the tables.
    fn through_views(v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> (Vec<String>, Vec<String>) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&super::create()).unwrap();
        for a in v4 {
            conn.execute(
                "INSERT OR REPLACE INTO lease4 VALUES (?1, NULL, 1, x'02', 'active', 0, 0, NULL)",
                [u32::from(*a)],
            )
            .unwrap();
        }
        for a in v6 {
            conn.execute(
                "INSERT OR REPLACE INTO lease6 VALUES (?1, 128, 'na', x'0001', 1, 'active', 0, 0, 0, NULL, NULL)",
                [&a.octets()[..]],
            )
            .unwrap();
        }
        let column = |sql: &str, key: &dyn Fn(&rusqlite::Row<'_>) -> rusqlite::Result<String>| {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([], |r| key(r))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap()
        };
        (
            column("SELECT address FROM leases4 ORDER BY address_key", &|r| {
                r.get(0)
            }),
            column("SELECT address FROM leases6 ORDER BY 1", &|r| r.get(0)),
        )
    }

    #[test]
    fn the_views_write_addresses_as_rust_does() {
        let mut v4: Vec<Ipv4Addr> = (0..=255u8)
            .flat_map(|o| {
                [
                    Ipv4Addr::new(o, 0, 9, 255),
                    Ipv4Addr::new(10, o, 100, 1),
                    Ipv4Addr::new(198, 18, o, 99),
                    Ipv4Addr::new(255, 10, 0, o),
                ]
            })
            .collect();
        v4.sort();
        v4.dedup();
        // Every pattern of zero and non-zero groups: runs at the start, the end, the
        // middle, ties (the first wins), single zeros (never `::`), and none.
        let mut v6: Vec<Ipv6Addr> = (0..256u16)
            .map(|mask| {
                let groups: [u16; 8] = std::array::from_fn(|i| {
                    if mask & (1 << i) != 0 {
                        0x2001 + (i as u16) * 0x101
                    } else {
                        0
                    }
                });
                Ipv6Addr::from(groups)
            })
            // Rust writes ::ffff:a.b.c.d for IPv4-mapped addresses; leases have none.
            .filter(|a| a.to_ipv4_mapped().is_none())
            .chain(
                [
                    "2001:db8:1::100",
                    "2001:db8:100::",
                    "fe80::1",
                    "::1",
                    "::",
                    "2001:db8:0:1:0:0:0:1",
                ]
                .map(|s| s.parse().unwrap()),
            )
            .collect();
        v6.sort();
        v6.dedup();
        let (text4, text6) = through_views(&v4, &v6);
        assert_eq!(
            text4,
            v4.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>()
        );
        let mut expected6: Vec<String> = v6.iter().map(Ipv6Addr::to_string).collect();
        expected6.sort();
        assert_eq!(text6, expected6, "sorted as text");
    }
}
