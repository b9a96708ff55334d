//! zerotouch-config: loading and validating the TOML configuration.
//!
//! `schema` is the file as written, `compile` checks it and builds `model`, the
//! immutable snapshot the server runs on; `options` is the catalogue of DHCP options
//! the configuration names. The relay reads its own file with the same machinery
//! ([`deserialize`], [`SourceMap`], [`plugin_tables`]).

pub mod options;

mod compile;
mod error;
mod model;
mod plugin_order;
mod schema;
mod shape;

use std::path::Path;

/// The starter configuration printed by `zerotouch-dhcpd default-config`.
pub const DEFAULT_CONFIG: &str = include_str!("../default.toml");

pub use compile::parts::{PluginTables, ScopeTables, class_match4, class_match6, plugin_tables};
pub use error::{ConfigError, ConfigErrors, SourceMap};
pub use model::*;
pub use schema::{RawMatch, RawPlugin, RawPluginScopes};

/// Reads and validates `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = read(path)?;
    parse(&text, path)
}

/// The text of configuration file `path`, or the error that names it.
pub fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::about_file(
            path,
            format!("cannot read the configuration: {e}"),
        )])
    })
}

/// Validates configuration `text`, reporting errors against `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let src = SourceMap { file: path, text };
    let raw: schema::RawConfig = deserialize(&src).map_err(ConfigErrors)?;
    compile::compile(raw, &src).map_err(ConfigErrors)
}

/// The TOML of `src` as `T`: a syntax error, or every value of the wrong shape (unknown
/// key, wrong type), each named by line, column and dotted key, in the docs' words. The
/// server's and the relay's files are read this way.
pub fn deserialize<T: serde::de::DeserializeOwned>(
    src: &SourceMap<'_>,
) -> Result<T, Vec<ConfigError>> {
    shape::deserialize_all(src)
}

#[cfg(test)]
mod tests;
