//! Pieces of the server's configuration language that another program's file reuses
//! (zerotouch-relay): `[[plugin]]` tables with their `plugin.<instance>` scope tables,
//! and class matches, checked and reported exactly as the server's own.

use toml::Spanned;
use zerotouch_plugin::PathStep;

use super::super::error::{ConfigError, SourceMap};
use super::super::model::MatchSource6;
use super::super::model::{MatchSource, MatchTest, PluginEntry, PluginScope, ScopeId};
use super::super::schema::{RawMatch, RawPlugin, RawPluginScopes};
use super::Compiler;

/// One scope's `plugin.<instance>` tables, as found in the document.
pub struct ScopeTables<'a> {
    pub scope: ScopeId,
    /// Where the scope's table is (`relay4`, `downstream`, index …).
    pub path: Vec<PathStep>,
    /// Its dotted key, for errors (`relay4.downstream[0]`).
    pub key: String,
    pub tables: &'a RawPluginScopes,
}

/// The enabled plugin instances of a file and the scope tables that belong to them.
#[derive(Debug, Clone, Default)]
pub struct PluginTables {
    pub entries: Vec<PluginEntry>,
    pub scopes: Vec<PluginScope>,
}

/// Checks `[[plugin]]` entries and scope tables; every error, located.
pub fn plugin_tables(
    src: &SourceMap<'_>,
    raw: &[RawPlugin],
    scopes: &[ScopeTables<'_>],
) -> Result<PluginTables, Vec<ConfigError>> {
    let mut c = Compiler::new(src);
    for s in scopes {
        c.plugin_scope(s.tables, s.scope, &s.path, &s.key);
    }
    let entries = c.plugins(raw);
    let scopes = c.check_plugin_scopes(raw, &entries);
    c.finish(PluginTables { entries, scopes })
}

/// A DHCPv4 class `match` (`option = CODE` or `relay = "circuit-id" | "remote-id"`, with
/// exact, prefix, regex or hex) at `key`.
pub fn class_match4(
    src: &SourceMap<'_>,
    matcher: &Spanned<RawMatch>,
    key: &str,
) -> Result<(MatchSource, MatchTest), Vec<ConfigError>> {
    let mut c = Compiler::new(src);
    let m = c.class_match(matcher, key);
    c.finish(m).map(|m| m.expect("no errors: a match"))
}

/// A DHCPv6 class `match` (`option = CODE` or `relay = "interface-id" | "remote-id"`).
pub fn class_match6(
    src: &SourceMap<'_>,
    matcher: &Spanned<RawMatch>,
    key: &str,
) -> Result<(MatchSource6, MatchTest), Vec<ConfigError>> {
    let mut c = Compiler::new(src);
    let m = c.class_match(matcher, key);
    c.finish(m).map(|m| m.expect("no errors: a match"))
}

impl Compiler<'_> {
    fn finish<T>(self, value: T) -> Result<T, Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}
