//! Raw TOML → [`Config`]: every check that needs more than one value, each failure
//! reported with its file, line and key. Checking goes on after an error so that one
//! run lists them all.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::error::{ConfigError, SourceMap};
use super::model::*;
use super::schema::*;
use zerotouch_plugin::PathStep;

use crate::options::{self, OptionDef, OptionType};

/// An IPv4 or IPv6 prefix, for the checks both sections make.
pub(super) trait Prefix: FromStr + fmt::Display + Copy {
    fn is_network(&self) -> bool;
    fn truncated(&self) -> Self;
    /// Whether the two share an address (one holds the other).
    fn overlaps(&self, other: &Self) -> bool;
}

impl Prefix for Ipv4Net {
    fn is_network(&self) -> bool {
        self.addr() == self.network()
    }
    fn truncated(&self) -> Self {
        self.trunc()
    }
    fn overlaps(&self, other: &Self) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl Prefix for ipnet::Ipv6Net {
    fn is_network(&self) -> bool {
        self.addr() == self.network()
    }
    fn truncated(&self) -> Self {
        self.trunc()
    }
    fn overlaps(&self, other: &Self) -> bool {
        self.contains(other) || other.contains(self)
    }
}

/// What an option key in a scope names.
pub(super) enum OptionKey {
    Known {
        code: u16,
        name: String,
        ty: OptionType,
    },
    /// A code the server sets itself.
    Reserved {
        code: u16,
        what: &'static str,
    },
    /// A number with no definition giving its type.
    UntypedCode,
    Unknown,
}

pub(super) fn step(k: &str) -> PathStep {
    PathStep::Key(k.to_string())
}

const DEFAULT_DATABASE: &str = "/var/lib/zerotouch/leases.sqlite";
const DEFAULT_COMMIT_WINDOW_MS: u64 = 2;

/// The section of the file a pass works in, where both have the same kind of table.
#[derive(Debug, Clone, Copy)]
enum Section {
    Dhcp4 = 0,
    Dhcp6 = 1,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Dhcp4 => "dhcp4",
            Section::Dhcp6 => "dhcp6",
        }
    }
}

struct Compiler<'a> {
    src: &'a SourceMap<'a>,
    errors: Vec<ConfigError>,
    custom_by_name: HashMap<String, OptionDef>,
    custom_by_code: HashMap<u8, OptionDef>,
    /// Class names to their index, per section (`Section`).
    class_index: [HashMap<String, usize>; 2],
    custom6_by_name: HashMap<String, options::OptionDef6>,
    custom6_by_code: HashMap<u16, options::OptionDef6>,
    plugin_scopes: Vec<PluginScope>,
}

// One file per pass; child modules, so they reach the compiler's fields.
mod classes;
mod hosts;
mod leases;
mod option_sets;
mod plugins;
mod v4;
mod v6;
mod values;

// What other programs' files (zerotouch-relay) take from the server's: plugin tables
// and class matches.
pub(super) mod parts;

impl<'a> Compiler<'a> {
    fn new(src: &'a SourceMap<'a>) -> Self {
        Compiler {
            src,
            errors: Vec::new(),
            custom_by_name: HashMap::new(),
            custom_by_code: HashMap::new(),
            class_index: Default::default(),
            custom6_by_name: HashMap::new(),
            custom6_by_code: HashMap::new(),
            plugin_scopes: Vec::new(),
        }
    }
}

pub(crate) fn compile(raw: RawConfig, src: &SourceMap<'_>) -> Result<Config, Vec<ConfigError>> {
    let mut c = Compiler::new(src);
    let log_level = c.log_level(&raw.log);
    let leases = c.leases(&raw.leases);
    let dhcp4 = raw.dhcp4.as_ref().map(|d| c.dhcp4(d));
    let dhcp6 = raw.dhcp6.as_ref().map(|d| c.dhcp6(d));
    let plugins = c.plugins(&raw.plugin);
    let plugin_scopes = c.check_plugin_scopes(&raw.plugin, &plugins);
    if c.errors.is_empty() {
        Ok(Config {
            file: src.file.to_path_buf(),
            text: src.text.into(),
            plugins,
            plugin_scopes,
            log_level,
            leases,
            dhcp4,
            dhcp6,
        })
    } else {
        Err(c.errors)
    }
}

impl Compiler<'_> {
    fn err<T>(&mut self, value: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) {
        let e = self.src.error(Some(value.span()), key, message);
        self.errors.push(e);
    }

    fn log_level(&mut self, raw: &RawLog) -> String {
        const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
        match &raw.level {
            None => "info".into(),
            Some(l) if LEVELS.contains(&l.get_ref().as_str()) => l.get_ref().clone(),
            Some(l) => {
                self.err(
                    l,
                    "log.level",
                    format!(
                        "got {:?}, expected one of {}",
                        l.get_ref(),
                        LEVELS.join(", ")
                    ),
                );
                "info".into()
            }
        }
    }
}
