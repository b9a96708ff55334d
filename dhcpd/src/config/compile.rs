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
}

impl Prefix for Ipv4Net {
    fn is_network(&self) -> bool {
        self.addr() == self.network()
    }
    fn truncated(&self) -> Self {
        self.trunc()
    }
}

impl Prefix for ipnet::Ipv6Net {
    fn is_network(&self) -> bool {
        self.addr() == self.network()
    }
    fn truncated(&self) -> Self {
        self.trunc()
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

struct Compiler<'a> {
    src: &'a SourceMap<'a>,
    errors: Vec<ConfigError>,
    custom_by_name: HashMap<String, OptionDef>,
    custom_by_code: HashMap<u8, OptionDef>,
    class_index: HashMap<String, usize>,
    custom6_by_name: HashMap<String, options::OptionDef6>,
    custom6_by_code: HashMap<u16, options::OptionDef6>,
    class6_index: HashMap<String, usize>,
    plugin_scopes: Vec<PluginScope>,
}

// The `[dhcp6]` half, in a file of its own; a child module, so it reaches the
// compiler's fields.
#[path = "compile6.rs"]
mod compile6;

// What other programs' files (zerotouch-relay) take from the server's: plugin tables
// and class matches.
#[path = "parts.rs"]
pub(super) mod parts;

impl<'a> Compiler<'a> {
    fn new(src: &'a SourceMap<'a>) -> Self {
        Compiler {
            src,
            errors: Vec::new(),
            custom_by_name: HashMap::new(),
            custom_by_code: HashMap::new(),
            class_index: HashMap::new(),
            custom6_by_name: HashMap::new(),
            custom6_by_code: HashMap::new(),
            class6_index: HashMap::new(),
            plugin_scopes: Vec::new(),
        }
    }
}

pub fn compile(raw: RawConfig, src: &SourceMap<'_>) -> Result<Config, Vec<ConfigError>> {
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

    fn plugins(&mut self, raw: &[RawPlugin]) -> Vec<PluginEntry> {
        const DEFAULT_HOOK_TIMEOUT_MS: u64 = 50;
        let base = self
            .src
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::new();
        let mut after = HashMap::new();
        for (index, p) in raw.iter().enumerate() {
            let key = |k: &str| format!("plugin[{index}].{k}");
            let name = p.name.get_ref().clone();
            if name.is_empty() {
                self.err(
                    &p.name,
                    key("name"),
                    "got an empty name, expected a plugin name",
                );
            }
            let instance = p.instance_name().to_string();
            let instance_span = p.instance.as_ref().map_or(p.name.span(), |i| i.span());
            if let Some(first) = seen.insert(instance.clone(), index) {
                let e = self.src.error(
                    Some(instance_span),
                    key(if p.instance.is_some() { "instance" } else { "name" }),
                    format!(
                        "instance {instance:?} is already plugin[{first}]; give each instance of a plugin its own `instance` name"
                    ),
                );
                self.errors.push(e);
            }
            let on_error = match p.on_error.as_ref().map(|o| o.get_ref().as_str()) {
                None | Some("continue") => OnError::Continue,
                Some("drop") => OnError::Drop,
                Some(other) => {
                    let msg = format!("got {other:?}, expected \"continue\" or \"drop\"");
                    self.err(
                        p.on_error.as_ref().expect("matched Some"),
                        key("on_error"),
                        msg,
                    );
                    OnError::Continue
                }
            };
            let timeout = p
                .hook_timeout_ms
                .as_ref()
                .map_or(DEFAULT_HOOK_TIMEOUT_MS, |t| *t.get_ref());
            if let Some(t) = p
                .hook_timeout_ms
                .as_ref()
                .filter(|t| !(1..=10_000).contains(t.get_ref()))
            {
                let msg = format!("got {}, expected 1 to 10000 milliseconds", t.get_ref());
                self.err(t, key("hook_timeout_ms"), msg);
            }
            if !p.enabled {
                continue;
            }
            if let Some(a) = &p.after {
                after.insert(index, a.clone());
            }
            entries.push(PluginEntry {
                index,
                name,
                instance,
                path: p.path.as_ref().map(|path| base.join(path.get_ref())),
                on_error,
                hook_timeout: Duration::from_millis(timeout),
                span: p.name.span(),
            });
        }
        let configured: Vec<&str> = raw.iter().map(RawPlugin::instance_name).collect();
        let (entries, errors) =
            super::plugin_order::ordered(self.src, entries, &after, &configured);
        self.errors.extend(errors);
        entries
    }

    /// Records the `plugin.<instance>` tables of one scope.
    fn plugin_scope(
        &mut self,
        raw: &RawPluginScopes,
        scope: ScopeId,
        path: &[PathStep],
        key: &str,
    ) {
        for (instance, value) in raw {
            let mut at = path.to_vec();
            at.push(PathStep::Key("plugin".into()));
            at.push(PathStep::Key(instance.clone()));
            self.plugin_scopes.push(PluginScope {
                scope,
                instance: instance.clone(),
                path: at,
                key: format!("{key}.plugin.{instance}"),
                span: value.span(),
            });
        }
    }

    /// Scope tables must name a configured instance; those of disabled instances are
    /// kept out (disabling a plugin needs no other edit).
    fn check_plugin_scopes(
        &mut self,
        raw: &[RawPlugin],
        enabled: &[PluginEntry],
    ) -> Vec<PluginScope> {
        let configured: Vec<&str> = raw.iter().map(RawPlugin::instance_name).collect();
        let scopes = std::mem::take(&mut self.plugin_scopes);
        let mut kept = Vec::new();
        for s in scopes {
            if enabled.iter().any(|e| e.instance == s.instance) {
                kept.push(s);
            } else if !configured.contains(&s.instance.as_str()) {
                let e = self.src.error(
                    Some(s.span.clone()),
                    s.key.clone(),
                    format!(
                        "no [[plugin]] instance {:?}, expected the name (or `instance`) of a configured plugin",
                        s.instance
                    ),
                );
                self.errors.push(e);
            }
        }
        kept
    }

    fn leases(&mut self, raw: &RawLeases) -> LeaseStoreConfig {
        let database = raw.database.as_deref().unwrap_or(DEFAULT_DATABASE);
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
        LeaseStoreConfig {
            database: base.join(database),
            synchronous,
            reclaim_interval: Duration::from_secs(reclaim.max(1)),
            commit_window: Duration::from_millis(window.min(1000)),
        }
    }

    /// `interfaces = [...]` of either section: at least one, each a possible name.
    fn interface_names(&mut self, names: &Spanned<Vec<String>>, key: &str) {
        if names.get_ref().is_empty() {
            self.err(
                names,
                key,
                "is empty, expected the names of the interfaces to serve",
            );
        }
        for name in names.get_ref() {
            if name.is_empty()
                || name.len() > 15
                || name.contains('/')
                || name.contains(char::is_whitespace)
            {
                self.err(
                    names,
                    key,
                    format!(
                        "{name:?} is not an interface name (1 to 15 characters, no '/' or spaces)"
                    ),
                );
            }
        }
    }

    /// `relayed_only = [...]`: names out of `interfaces`.
    fn relayed_only(
        &mut self,
        relayed: &Option<Spanned<Vec<String>>>,
        interfaces: &Spanned<Vec<String>>,
        section: &str,
    ) -> Vec<String> {
        let Some(relayed) = relayed else {
            return Vec::new();
        };
        for name in relayed.get_ref() {
            if !interfaces.get_ref().contains(name) {
                self.err(
                    relayed,
                    format!("{section}.relayed_only"),
                    format!("{name:?} is not in {section}.interfaces, expected names of served interfaces"),
                );
            }
        }
        relayed.get_ref().clone()
    }

    fn dhcp4(&mut self, raw: &RawDhcp4) -> Dhcp4 {
        self.interface_names(&raw.interfaces, "dhcp4.interfaces");
        let relayed_only = self.relayed_only(&raw.relayed_only, &raw.interfaces, "dhcp4");
        let defaults = LeaseTimes {
            lease_time: 3600,
            min_lease_time: 3600,
            max_lease_time: 3600,
            renew_time: None,
            rebind_time: None,
        };
        let times = self.lease_times(&raw.times(), &defaults, "dhcp4");
        for d in &raw.option_definition {
            self.option_definition(d);
        }
        // Classes first: pools refer to them by name.
        let classes: Vec<Class> = raw
            .class
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.class(i, c))
            .collect();
        let options = self.options(&raw.options, "dhcp4.options");
        let boot = self.boot_fields(raw.boot(), "dhcp4");
        self.plugin_scope(&raw.plugin, ScopeId::Global, &[step("dhcp4")], "dhcp4");
        let server_id = raw
            .server_id
            .as_ref()
            .and_then(|s| self.ipv4(s, "dhcp4.server_id"));
        let mut subnets = Vec::new();
        for (i, s) in raw.subnet.iter().enumerate() {
            if let Some(subnet) = self.subnet(i, s, &times) {
                subnets.push(subnet);
            }
        }
        self.check_overlaps(raw, &subnets);
        let hosts = self.hosts(&raw.host, &subnets);
        self.at_least_one_second(
            "dhcp4",
            &[
                ("offer_hold", &raw.offer_hold),
                ("decline_probation", &raw.decline_probation),
            ],
        );
        Dhcp4 {
            interfaces: raw.interfaces.get_ref().clone(),
            relayed_only,
            authoritative: raw.authoritative,
            port: raw.port.unwrap_or(67),
            client_port: raw.client_port.unwrap_or(68),
            server_id,
            times,
            offer_hold: raw.offer_hold.as_ref().map_or(30, |v| *v.get_ref()),
            decline_probation: raw
                .decline_probation
                .as_ref()
                .map_or(86_400, |v| *v.get_ref()),
            options,
            boot,
            subnets,
            hosts,
            classes,
        }
    }

    fn lease_times(
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

    fn ipv4(&mut self, v: &Spanned<String>, key: &str) -> Option<Ipv4Addr> {
        self.address(v, key, "an IPv4 address such as \"198.18.0.1\"")
    }

    /// An address of either family; `expected` describes it in the error.
    pub(super) fn address<A: FromStr>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        expected: &str,
    ) -> Option<A> {
        let parsed = v.get_ref().trim().parse().ok();
        if parsed.is_none() {
            self.err(
                v,
                key,
                format!("got {:?}, expected {expected}", v.get_ref()),
            );
        }
        parsed
    }

    fn boot_fields(&mut self, raw: RawBootFields<'_>, scope: &str) -> BootFields {
        let next_server = raw
            .next_server
            .as_ref()
            .and_then(|v| self.ipv4(v, &format!("{scope}.next_server")));
        let mut text = |v: &Option<Spanned<String>>, name: &str, max: usize| {
            let v = v.as_ref()?;
            let len = v.get_ref().len();
            if len == 0 || len > max || v.get_ref().contains('\0') {
                self.err(v, format!("{scope}.{name}"), format!("is {len} octets, expected 1 to {max} (it fills a fixed BOOTP header field), without NUL"));
                return None;
            }
            Some(v.get_ref().clone())
        };
        let server_hostname = text(raw.server_hostname, "server_hostname", 63);
        let boot_file_name = text(raw.boot_file_name, "boot_file_name", 127);
        BootFields {
            next_server,
            server_hostname,
            boot_file_name,
        }
    }

    fn option_definition(&mut self, d: &RawOptionDefinition) {
        let code = *d.code.get_ref();
        let reserved = options::RESERVED_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, what)| *what);
        let taken = self.custom_by_name.contains_key(d.name.get_ref())
            || self.custom_by_code.contains_key(&code);
        let Some(ty) = self.checked_definition("dhcp4", &d.name, &d.code, &d.ty, reserved, taken)
        else {
            return;
        };
        let def = OptionDef {
            name: d.name.get_ref().clone(),
            code,
            ty,
        };
        self.custom_by_name.insert(def.name.clone(), def.clone());
        self.custom_by_code.insert(code, def);
    }

    /// The checks an `option_definition` of either section gets: a known type, a code
    /// the server does not set itself (`reserved` says what it is), a name and code not
    /// defined before (`taken`). The type, when all pass.
    pub(super) fn checked_definition<C: std::fmt::Display>(
        &mut self,
        section: &str,
        name: &Spanned<String>,
        code: &Spanned<C>,
        ty: &Spanned<String>,
        reserved: Option<&str>,
        taken: bool,
    ) -> Option<OptionType> {
        let key = format!("{section}.option_definition.{}", name.get_ref());
        let Some(parsed) = OptionType::parse(ty.get_ref()) else {
            let msg = format!(
                "got {:?}, expected one of {}",
                ty.get_ref(),
                OptionType::NAMES
            );
            self.err(ty, format!("{key}.type"), msg);
            return None;
        };
        if let Some(what) = reserved {
            let msg = format!(
                "code {} is the {what}, which the server sets itself",
                code.get_ref()
            );
            self.err(code, format!("{key}.code"), msg);
            return None;
        }
        if taken {
            self.err(
                name,
                key,
                "is defined twice, expected one definition per name and per code",
            );
            return None;
        }
        Some(parsed)
    }

    /// The known option name nearest to `name` in `section` (dhcp4 or dhcp6), built-in
    /// or defined in this file, when `name` looks like a slip of it.
    fn nearest_option(&self, section: &str, name: &str) -> Option<String> {
        let names: Vec<String> = if section == "dhcp6" {
            let custom = self.custom6_by_name.keys().cloned();
            options::builtin6_names()
                .map(str::to_string)
                .chain(custom)
                .collect()
        } else {
            let custom = self.custom_by_name.keys().cloned();
            options::builtin_names()
                .map(str::to_string)
                .chain(custom)
                .collect()
        };
        zerotouch_plugin::wording::did_you_mean(name, names.iter().map(String::as_str))
            .map(str::to_string)
    }

    fn resolve_option(&self, name: &str) -> Option<OptionDef> {
        if let Some(d) = self.custom_by_name.get(name) {
            return Some(d.clone());
        }
        if let Some(d) = options::builtin_by_name(name) {
            return Some(d);
        }
        let code: u8 = name.parse().ok()?;
        self.custom_by_code
            .get(&code)
            .cloned()
            .or_else(|| options::builtin_by_code(code))
    }

    fn options(&mut self, raw: &RawOptions, scope: &str) -> OptionSet {
        let entries = self.encoded_options(raw, scope, "dhcp4", |c, name| {
            let reserved = |code: u8| {
                options::RESERVED_CODES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|&(code, what)| OptionKey::Reserved {
                        code: code.into(),
                        what,
                    })
            };
            if let Some(r) = name.parse::<u8>().ok().and_then(reserved) {
                return r;
            }
            match c.resolve_option(name) {
                Some(def) => reserved(def.code).unwrap_or(OptionKey::Known {
                    code: def.code.into(),
                    name: def.name,
                    ty: def.ty,
                }),
                None if name.parse::<u8>().is_ok() => OptionKey::UntypedCode,
                None => OptionKey::Unknown,
            }
        });
        OptionSet(
            entries
                .into_iter()
                .map(|(code, data, always)| ConfiguredOption {
                    code: code as u8,
                    data,
                    always,
                })
                .collect(),
        )
    }

    /// Encodes the options of one scope, of either family: `resolve` says what each key
    /// names. Returns (code, payload, always) for each valid entry.
    pub(super) fn encoded_options(
        &mut self,
        raw: &RawOptions,
        scope: &str,
        section: &str,
        resolve: impl Fn(&Self, &str) -> OptionKey,
    ) -> Vec<(u16, Vec<u8>, bool)> {
        let mut set: Vec<(u16, Vec<u8>, bool)> = Vec::new();
        for (name, spanned) in raw {
            let key = format!("{scope}.{name}");
            let (code, def_name, ty) = match resolve(self, name) {
                OptionKey::Known { code, name, ty } => (code, name, ty),
                OptionKey::Reserved { code, what } => {
                    self.err(
                        spanned,
                        key,
                        format!("option {code} is the {what}, which the server sets itself"),
                    );
                    continue;
                }
                OptionKey::UntypedCode => {
                    self.err(spanned, key, format!("option code {name} has no type, expected an [[{section}.option_definition]] with code = {name} and a type"));
                    continue;
                }
                OptionKey::Unknown => {
                    let message = match self.nearest_option(section, name) {
                        Some(near) => format!(
                            "unknown option {name:?}; did you mean {near:?}? (or give it an [[{section}.option_definition]])"
                        ),
                        None => format!(
                            "unknown option {name:?}, expected a name from docs/configuration.md or one given by an [[{section}.option_definition]]"
                        ),
                    };
                    self.err(spanned, key, message);
                    continue;
                }
            };
            let (value, always) = match spanned.get_ref() {
                toml::Value::Table(t) if t.contains_key("value") => {
                    if let Some(k) = t.keys().find(|k| *k != "value" && *k != "always") {
                        self.err(
                            spanned,
                            key.clone(),
                            format!("unknown key {k:?} in option table, expected value and always"),
                        );
                    }
                    let always = match t.get("always") {
                        None => false,
                        Some(toml::Value::Boolean(b)) => *b,
                        Some(other) => {
                            self.err(
                                spanned,
                                format!("{key}.always"),
                                format!("got {other}, expected true or false"),
                            );
                            false
                        }
                    };
                    (&t["value"], always)
                }
                v => (v, false),
            };
            match options::encode_value(ty, value) {
                Ok(_) if set.iter().any(|o| o.0 == code) => self.err(
                    spanned,
                    key,
                    format!("option {code} is set twice in this scope (by name and by code)"),
                ),
                Ok(data) => set.push((code, data, always)),
                Err(msg) => self.err(
                    spanned,
                    key,
                    format!("{msg} (option {code} {def_name} is of type {})", ty.name()),
                ),
            }
        }
        set
    }

    fn class(&mut self, i: usize, raw: &RawClass) -> Option<Class> {
        let key = format!("dhcp4.class[{i}]");
        let path = [step("dhcp4"), step("class"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Class(i), &path, &key);
        let name = raw.name.get_ref().clone();
        if self.class_index.contains_key(&name) {
            self.err(
                &raw.name,
                format!("{key}.name"),
                format!("class {name:?} is defined twice"),
            );
            return None;
        }
        let (source, test) = self.class_match4(&raw.matcher, &format!("{key}.match"))?;
        let options = self.options(&raw.options, &format!("{key}.options"));
        let boot = self.boot_fields(raw.boot(), &key);
        self.class_index.insert(name.clone(), i);
        Some(Class {
            name,
            source,
            test,
            options,
            boot,
        })
    }

    /// A DHCPv4 class's `match`: what it looks at and the test.
    pub(super) fn class_match4(
        &mut self,
        matcher: &Spanned<RawMatch>,
        mkey: &str,
    ) -> Option<(MatchSource, MatchTest)> {
        let m = matcher.get_ref();
        let source = match (m.option, m.relay.as_deref()) {
            (Some(code), None) if code > 255 => {
                self.err(
                    matcher,
                    format!("{mkey}.option"),
                    format!("got {code}, expected a DHCPv4 option code from 0 to 255"),
                );
                return None;
            }
            (Some(code), None) => MatchSource::Option(code as u8),
            (None, Some("circuit-id")) => MatchSource::RelayCircuitId,
            (None, Some("remote-id")) => MatchSource::RelayRemoteId,
            (None, Some(other)) => {
                self.err(
                    matcher,
                    format!("{mkey}.relay"),
                    format!("got {other:?}, expected \"circuit-id\" or \"remote-id\""),
                );
                return None;
            }
            _ => {
                self.err(matcher, mkey, "expected exactly one of option = CODE or relay = \"circuit-id\" | \"remote-id\"");
                return None;
            }
        };
        Some((source, self.match_test(matcher, mkey)?))
    }

    /// The test of a class's `match` (exact, prefix, regex or hex), either family.
    pub(super) fn match_test(
        &mut self,
        matcher: &Spanned<RawMatch>,
        mkey: &str,
    ) -> Option<MatchTest> {
        let m = matcher.get_ref();
        Some(match (&m.exact, &m.prefix, &m.regex, &m.hex) {
            (Some(v), None, None, None) => MatchTest::Exact(v.as_bytes().to_vec()),
            (None, Some(v), None, None) => MatchTest::Prefix(v.as_bytes().to_vec()),
            (None, None, Some(v), None) => match regex::bytes::Regex::new(v) {
                Ok(r) => MatchTest::Regex(r),
                Err(e) => {
                    self.err(
                        matcher,
                        format!("{mkey}.regex"),
                        format!("is not a valid regular expression: {e}"),
                    );
                    return None;
                }
            },
            (None, None, None, Some(v)) => match options::parse_hex(v) {
                Ok(b) => MatchTest::Exact(b),
                Err(msg) => {
                    self.err(matcher, format!("{mkey}.hex"), msg);
                    return None;
                }
            },
            _ => {
                self.err(
                    matcher,
                    mkey.to_string(),
                    "expected exactly one of exact, prefix, regex or hex",
                );
                return None;
            }
        })
    }

    fn subnet(&mut self, i: usize, raw: &RawSubnet, global: &LeaseTimes) -> Option<Subnet> {
        let key = format!("dhcp4.subnet[{i}]");
        let path = [step("dhcp4"), step("subnet"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Subnet(i), &path, &key);
        let net: Ipv4Net = self.prefix(&raw.subnet, &format!("{key}.subnet"), "198.18.0.0/24")?;
        let times = self.lease_times(&raw.times(), global, &key);
        let options = self.options(&raw.options, &format!("{key}.options"));
        let boot = self.boot_fields(raw.boot(), &key);
        let server_id = raw
            .server_id
            .as_ref()
            .and_then(|s| self.ipv4(s, &format!("{key}.server_id")));
        let mut pools: Vec<Pool> = Vec::new();
        for (j, p) in raw.pool.iter().enumerate() {
            let path = [
                step("dhcp4"),
                step("subnet"),
                PathStep::Index(i),
                step("pool"),
                PathStep::Index(j),
            ];
            self.plugin_scope(
                &p.plugin,
                ScopeId::Pool(i, j),
                &path,
                &format!("dhcp4.subnet[{i}].pool[{j}]"),
            );
            let pkey = format!("{key}.pool[{j}]");
            let Some((first, last)) = self.range(&p.range, &format!("{pkey}.range"), net) else {
                continue;
            };
            if net.prefix_len() < 31
                && (first == u32::from(net.network()) || last == u32::from(net.broadcast()))
            {
                self.err(&p.range, format!("{pkey}.range"), format!("includes the network or broadcast address of {net}, expected host addresses only"));
            }
            if let Some(other) = pools
                .iter()
                .position(|q| first <= q.last && q.first <= last)
            {
                self.err(
                    &p.range,
                    format!("{pkey}.range"),
                    format!("overlaps {key}.pool[{other}], expected disjoint pools"),
                );
            }
            let mut exclude = Vec::new();
            for (k, e) in p.exclude.iter().enumerate() {
                if let Some((a, b)) = self.range(e, &format!("{pkey}.exclude[{k}]"), net) {
                    if a < first || b > last {
                        self.err(
                            e,
                            format!("{pkey}.exclude[{k}]"),
                            "is outside the pool's range, expected addresses inside it",
                        );
                    }
                    exclude.push((a, b));
                }
            }
            let mut classes = Vec::new();
            for (k, c) in p.classes.iter().enumerate() {
                match self.class_index.get(c.get_ref()) {
                    Some(&ci) => classes.push(ci),
                    None => self.err(
                        c,
                        format!("{pkey}.classes[{k}]"),
                        format!(
                            "unknown class {:?}, expected the name of a [[dhcp4.class]]",
                            c.get_ref()
                        ),
                    ),
                }
            }
            let options = self.options(&p.options, &format!("{pkey}.options"));
            let boot = self.boot_fields(p.boot(), &pkey);
            pools.push(Pool {
                first,
                last,
                exclude,
                classes,
                options,
                boot,
            });
        }
        Some(Subnet {
            index: i,
            net,
            shared_network: raw.shared_network.clone(),
            interface: raw.interface.clone(),
            server_id,
            times,
            options,
            boot,
            pools,
        })
    }

    /// "A - B" or "A" inside `net`, as numbers.
    fn range(&mut self, v: &Spanned<String>, key: &str, net: Ipv4Net) -> Option<(u32, u32)> {
        let (a, b) = self.range_in(
            v,
            key,
            &net,
            |a: &Ipv4Addr| net.contains(a),
            "198.18.0.100 - 198.18.0.199",
        )?;
        Some((u32::from(a), u32::from(b)))
    }

    /// "A - B" or "A" of either family, both inside `net` (`contains`), A <= B.
    /// `example` shows the form in the error.
    pub(super) fn range_in<A: FromStr + Ord + fmt::Display>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        net: &dyn fmt::Display,
        contains: impl Fn(&A) -> bool,
        example: &str,
    ) -> Option<(A, A)> {
        let text = v.get_ref();
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        let parsed: Option<(A, A)> = a.trim().parse().ok().zip(b.trim().parse().ok());
        let Some((a, b)) = parsed else {
            self.err(
                v,
                key,
                format!(
                    "got {text:?}, expected \"FIRST - LAST\" or one address, such as \"{example}\""
                ),
            );
            return None;
        };
        if !contains(&a) || !contains(&b) {
            self.err(v, key, format!("{text:?} is not inside the subnet {net}"));
            return None;
        }
        if a > b {
            self.err(
                v,
                key,
                format!("{a} comes after {b}, expected FIRST <= LAST"),
            );
            return None;
        }
        Some((a, b))
    }

    /// A prefix of either family such as `example`, reported when it has host bits
    /// set and used without them.
    pub(super) fn prefix<N: Prefix>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        example: &str,
    ) -> Option<N> {
        let Ok(net) = v.get_ref().trim().parse::<N>() else {
            let msg = format!(
                "got {:?}, expected a prefix such as \"{example}\"",
                v.get_ref()
            );
            self.err(v, key, msg);
            return None;
        };
        if !net.is_network() {
            let msg = format!(
                "{net} has host bits set, expected the network address: {}",
                net.truncated()
            );
            self.err(v, key, msg);
        }
        Some(net.truncated())
    }

    /// `hostname` of a reservation of either family: letters, digits, '-' and '.'.
    pub(super) fn hostname(&mut self, name: &Option<Spanned<String>>, key: &str) {
        let Some(name) = name else {
            return;
        };
        let n = name.get_ref();
        let ok = !n.is_empty()
            && n.len() <= 253
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            self.err(
                name,
                format!("{key}.hostname"),
                "expected letters, digits, '-' and '.', 1 to 253 characters",
            );
        }
    }

    /// Hold and probation times of either section: whole seconds, at least one.
    pub(super) fn at_least_one_second(
        &mut self,
        section: &str,
        values: &[(&str, &Option<Spanned<u32>>)],
    ) {
        for (name, value) in values {
            if let Some(v) = value.as_ref().filter(|v| *v.get_ref() == 0) {
                self.err(
                    v,
                    format!("{section}.{name}"),
                    "got 0, expected a number of seconds of at least 1",
                );
            }
        }
    }

    fn check_overlaps(&mut self, raw: &RawDhcp4, subnets: &[Subnet]) {
        for (i, a) in subnets.iter().enumerate() {
            if let Some(b) = subnets[..i]
                .iter()
                .find(|b| b.net.contains(&a.net.network()) || a.net.contains(&b.net.network()))
            {
                self.err(
                    &raw.subnet[a.index].subnet,
                    format!("dhcp4.subnet[{}].subnet", a.index),
                    format!(
                        "{} overlaps dhcp4.subnet[{}] {}, expected disjoint subnets",
                        a.net, b.index, b.net
                    ),
                );
            }
        }
    }

    fn hosts(&mut self, raw: &[RawHost], subnets: &[Subnet]) -> Hosts {
        let mut hosts = Hosts::default();
        // Config index of the host that reserved each address, for error messages.
        let mut reserved_by: HashMap<Ipv4Addr, usize> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            let key = format!("dhcp4.host[{i}]");
            let path = [step("dhcp4"), step("host"), PathStep::Index(i)];
            self.plugin_scope(&h.plugin, ScopeId::Host(i), &path, &key);
            let ids: Vec<(&str, &Spanned<String>)> = [
                ("hw_address", &h.hw_address),
                ("client_id", &h.client_id),
                ("circuit_id", &h.circuit_id),
                ("remote_id", &h.remote_id),
            ]
            .into_iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
            .collect();
            let [(kind, value)] = ids[..] else {
                let msg = "expected exactly one of hw_address, client_id, circuit_id or remote_id";
                let e = self.src.error(
                    None,
                    key.clone(),
                    format!("has {} identifiers, {msg}", ids.len()),
                );
                self.errors.push(ConfigError {
                    line: h
                        .address
                        .as_ref()
                        .map_or(0, |a| self.src.locate(a.span().start).0),
                    ..e
                });
                continue;
            };
            let idkey = format!("{key}.{kind}");
            let identifier = match kind {
                "hw_address" => match options::parse_hex(value.get_ref()) {
                    Ok(b) if b.len() <= 16 => HostIdentifier::HwAddress(b),
                    _ => {
                        self.err(value, idkey, format!("got {:?}, expected 1 to 16 hex octets such as \"02:00:00:00:00:01\"", value.get_ref()));
                        continue;
                    }
                },
                _ => {
                    let bytes = match value.get_ref().strip_prefix("hex:") {
                        Some(h) => match options::parse_hex(h) {
                            Ok(b) => b,
                            Err(msg) => {
                                self.err(value, idkey, msg);
                                continue;
                            }
                        },
                        None => value.get_ref().as_bytes().to_vec(),
                    };
                    match kind {
                        "client_id" => HostIdentifier::ClientId(bytes),
                        "circuit_id" => HostIdentifier::CircuitId(bytes),
                        _ => HostIdentifier::RemoteId(bytes),
                    }
                }
            };
            let address = match &h.address {
                Some(a) => {
                    let Some(addr) = self.ipv4(a, &format!("{key}.address")) else {
                        continue;
                    };
                    if !subnets.iter().any(|s| s.net.contains(&addr)) {
                        self.err(a, format!("{key}.address"), format!("{addr} is in no configured subnet, expected an address of one of the [[dhcp4.subnet]]"));
                    }
                    if let Some(&other) = reserved_by.get(&addr) {
                        self.err(
                            a,
                            format!("{key}.address"),
                            format!("{addr} is already reserved by dhcp4.host[{other}]"),
                        );
                    }
                    reserved_by.insert(addr, i);
                    Some(addr)
                }
                None => None,
            };
            self.hostname(&h.hostname, &key);
            if hosts.by_identifier.contains_key(&identifier) {
                self.err(
                    value,
                    idkey,
                    "reserves the same client as an earlier [[dhcp4.host]]",
                );
                continue;
            }
            let options = self.options(&h.options, &format!("{key}.options"));
            let boot = self.boot_fields(h.boot(), &key);
            let index = hosts.list.len();
            hosts.by_identifier.insert(identifier.clone(), index);
            if let Some(a) = address {
                hosts.by_address.insert(a, index);
            }
            hosts.list.push(Host {
                identifier,
                address,
                hostname: h.hostname.as_ref().map(|n| n.get_ref().clone()),
                options,
                boot,
            });
        }
        hosts
    }
}
