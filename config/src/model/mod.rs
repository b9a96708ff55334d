//! The validated configuration the server runs on: addresses parsed, options encoded,
//! references resolved. Built once per load and shared read-only, so a reload can
//! swap it whole. What both families share is here; each family's section is in
//! `v4.rs` and `v6.rs`.

mod v4;
mod v6;

pub use v4::*;
pub use v6::*;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    /// The configuration as read: plugins deserialize their `settings` from it, with
    /// spans for their errors.
    pub text: Arc<str>,
    /// Enabled `[[plugin]]` entries, in the order they run.
    pub plugins: Vec<PluginEntry>,
    /// Plugin settings given in `[dhcp4]` and `[dhcp6]` scopes, for enabled instances.
    pub plugin_scopes: Vec<PluginScope>,
    pub log_level: String,
    pub leases: LeaseStoreConfig,
    pub dhcp4: Option<Dhcp4>,
    pub dhcp6: Option<Dhcp6>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync the WAL on every commit: an ACK survives power loss.
    Full,
    /// Leave the WAL to the OS page cache: an ACK survives a crash of the server
    /// process, not of the machine.
    Normal,
}

#[derive(Debug, Clone)]
pub struct LeaseStoreConfig {
    /// The embedded SQLite file (when `postgresql` is not set).
    pub database: PathBuf,
    /// Leases on a PostgreSQL database instead.
    pub postgresql: Option<PostgresStore>,
    pub synchronous: Synchronous,
    /// What a renewal gets while the lease store cannot be written.
    pub outage_renewals: OutageRenewals,
    pub reclaim_interval: Duration,
    /// How long lease changes are gathered after the first before they are written in
    /// one transaction: more leases per fsync at the cost of that much ACK latency.
    pub commit_window: Duration,
}

/// `[leases] outage_renewals`: what a client renewing a lease it holds gets while the
/// lease store cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutageRenewals {
    /// An ACK (REPLY) for the time left on its stored lease: nothing to write.
    #[default]
    Remaining,
    /// No answer, as for any reply that needs a commit (the client retries).
    Withhold,
}

/// `[leases.postgresql]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresStore {
    /// A libpq connection string (URL or `key=value`).
    pub url: String,
    /// PEM CA certificates for TLS to the database.
    pub tls_ca: Option<PathBuf>,
    /// Create or upgrade the schema at start.
    pub upgrade_schema: bool,
    /// This server's name among the servers sharing the database; `None`: the host
    /// name.
    pub server_name: Option<String>,
    /// Addresses (or prefixes) per claimed block, at most.
    pub claim_block: u32,
    /// How long a claim holds unless renewed.
    pub claim_lifetime: Duration,
}

/// Whether a pool restricted to `pool_classes` (none: everyone) admits a client in
/// `classes`; pools of both families and prefix pools use it.
#[inline]
pub fn admits(pool_classes: &[usize], classes: &[usize]) -> bool {
    pool_classes.is_empty() || pool_classes.iter().any(|c| classes.contains(c))
}

#[derive(Debug, Clone)]
pub enum MatchTest {
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Regex(regex::bytes::Regex),
}

impl MatchTest {
    #[inline]
    pub fn matches(&self, value: &[u8]) -> bool {
        match self {
            MatchTest::Exact(v) => value == v.as_slice(),
            MatchTest::Prefix(p) => value.starts_with(p),
            MatchTest::Regex(r) => r.is_match(value),
        }
    }
}

/// What the server does with a packet when a plugin's hook fails (error, panic,
/// timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Go on as if the hook had answered `Continue`.
    Continue,
    /// Drop the packet.
    Drop,
}

/// One enabled `[[plugin]]` entry.
#[derive(Debug, Clone)]
pub struct PluginEntry {
    /// Position among all `[[plugin]]` entries in the file (`plugin[i]` in errors).
    pub index: usize,
    pub name: String,
    /// Unique per configuration; the name unless set.
    pub instance: String,
    /// A shared object to load; `None` for a built-in plugin.
    pub path: Option<PathBuf>,
    pub on_error: OnError,
    /// Bound on `Context::wait` in a hook.
    pub hook_timeout: Duration,
    /// Byte span of the entry's `name`, for errors about the plugin as a whole.
    pub span: Range<usize>,
}

/// A configuration scope, for plugin settings given per scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeId {
    /// `[dhcp4]`
    Global,
    /// `dhcp4.subnet[i]`
    Subnet(usize),
    /// `dhcp4.subnet[i].pool[j]`
    Pool(usize, usize),
    /// `dhcp4.class[i]`
    Class(usize),
    /// `dhcp4.host[i]`
    Host(usize),
    /// `[dhcp6]`
    Global6,
    /// `dhcp6.subnet[i]`
    Subnet6(usize),
    /// `dhcp6.subnet[i].pool[j]`
    Pool6(usize, usize),
    /// `dhcp6.subnet[i].pd_pool[j]`
    PdPool(usize, usize),
    /// `dhcp6.class[i]`
    Class6(usize),
    /// `dhcp6.host[i]`
    Host6(usize),
    /// zerotouch-relay's `[relay4]`
    Relay4,
    /// `relay4.downstream[i]`
    Downstream4(usize),
    /// `relay4.class[i]`
    RelayClass4(usize),
    /// zerotouch-relay's `[relay6]`
    Relay6,
    /// `relay6.downstream[i]`
    Downstream6(usize),
    /// `relay6.class[i]`
    RelayClass6(usize),
}

/// A `plugin.<instance>` table in a scope, read by that instance when plugins load.
#[derive(Debug, Clone)]
pub struct PluginScope {
    pub scope: ScopeId,
    pub instance: String,
    /// Where the table is in the document.
    pub path: Vec<zerotouch_plugin::PathStep>,
    /// The dotted key of the table, for errors.
    pub key: String,
    pub span: Range<usize>,
}
