//! The relay's TOML file: its schema, read with every error named by file, line and
//! key like the server's, and compiled into a [`RelayConfig`].

use std::net::Ipv4Addr;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use zerotouch_config::{
    ConfigError, ConfigErrors, MatchTest, PluginTables, RawMatch, RawPlugin, RawPluginScopes,
    ScopeTables, SourceMap,
};
use zerotouch_plugin::PathStep;

use super::*;
use crate::template::Template;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    log: RawLog,
    relay4: Option<RawRelay4>,
    relay6: Option<RawRelay6>,
    #[serde(default)]
    plugin: Vec<RawPlugin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    name: Spanned<String>,
    #[serde(rename = "match")]
    matcher: Spanned<RawMatch>,
    #[serde(default)]
    plugin: RawPluginScopes,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<Spanned<String>>,
}

/// `[relay4]` or `[relay6]`: the same keys around each family's downstream tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection<D> {
    hop_limit: Option<Spanned<u8>>,
    downstream: Vec<D>,
    #[serde(default)]
    class: Vec<RawClass>,
    #[serde(default)]
    plugin: RawPluginScopes,
}

type RawRelay4 = RawSection<RawDownstream4>;
type RawRelay6 = RawSection<RawDownstream6>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDownstream4 {
    interface: Spanned<String>,
    servers: Spanned<Vec<Spanned<String>>>,
    giaddr: Option<Spanned<String>>,
    agent_info: Option<Spanned<RawAgentInfo>>,
    #[serde(default)]
    plugin: RawPluginScopes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgentInfo {
    circuit_id: Option<String>,
    remote_id: Option<String>,
    #[serde(default)]
    link_selection: bool,
    #[serde(default)]
    server_id_override: bool,
    policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDownstream6 {
    interface: Spanned<String>,
    servers: Spanned<Vec<Spanned<String>>>,
    interface_id: Option<Spanned<String>>,
    remote_id: Option<Spanned<RawRemoteId>>,
    subscriber_id: Option<Spanned<String>>,
    #[serde(default)]
    plugin: RawPluginScopes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemoteId {
    enterprise: u32,
    id: String,
}

pub(crate) fn load(path: &Path) -> Result<RelayConfig, ConfigErrors> {
    let text = zerotouch_config::read(path)?;
    parse(&text, path)
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<RelayConfig, ConfigErrors> {
    let src = SourceMap { file: path, text };
    let raw: RawConfig = zerotouch_config::deserialize(&src).map_err(ConfigErrors)?;
    let mut c = Compiler {
        src: &src,
        errors: Vec::new(),
    };
    let cfg = c.compile(raw);
    if c.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(c.errors))
    }
}

struct Compiler<'a> {
    src: &'a SourceMap<'a>,
    errors: Vec<ConfigError>,
}

impl Compiler<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) {
        let e = self.src.error(Some(at.span()), key, message);
        self.errors.push(e);
    }

    fn compile(&mut self, raw: RawConfig) -> RelayConfig {
        const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
        let log_level = match &raw.log.level {
            None => "info".to_string(),
            Some(l) if LEVELS.contains(&l.get_ref().as_str()) => l.get_ref().clone(),
            Some(l) => {
                let msg = format!(
                    "got {:?}, expected one of {}",
                    l.get_ref(),
                    LEVELS.join(", ")
                );
                self.err(l, "log.level", msg);
                "info".into()
            }
        };
        if raw.relay4.is_none() && raw.relay6.is_none() {
            self.errors.push(self.src.error(
                None,
                "",
                "neither [relay4] nor [relay6]: nothing to relay",
            ));
        }
        let plugins =
            match zerotouch_config::plugin_tables(self.src, &raw.plugin, &scope_tables(&raw)) {
                Ok(t) => t,
                Err(mut e) => {
                    self.errors.append(&mut e);
                    PluginTables::default()
                }
            };
        RelayConfig {
            log_level,
            relay4: raw.relay4.map(|r| self.relay4(r)),
            relay6: raw.relay6.map(|r| self.relay6(r)),
            plugins,
            file: self.src.file.to_path_buf(),
            text: self.src.text.to_string(),
        }
    }

    /// `relayN.class[i]`: its name (unique) and match.
    fn classes<S>(
        &mut self,
        raw: &[RawClass],
        section: &str,
        matcher: ClassMatcher<S>,
    ) -> Vec<RelayClass<S>> {
        let mut classes: Vec<RelayClass<S>> = Vec::new();
        for (i, c) in raw.iter().enumerate() {
            let key = format!("{section}.class[{i}]");
            if classes.iter().any(|k| *k.name == **c.name.get_ref()) {
                let msg = format!("class {:?} is defined twice", c.name.get_ref());
                self.err(&c.name, format!("{key}.name"), msg);
                continue;
            }
            match matcher(self.src, &c.matcher, &format!("{key}.match")) {
                Ok((source, test)) => classes.push(RelayClass {
                    name: c.name.get_ref().as_str().into(),
                    source,
                    test,
                }),
                Err(mut e) => self.errors.append(&mut e),
            }
        }
        classes
    }

    fn interface(&mut self, name: &Spanned<String>, key: &str) -> String {
        let n = name.get_ref();
        if n.is_empty() || n.len() > 15 || n.contains('/') || n.contains(char::is_whitespace) {
            self.err(
                name,
                key,
                format!("{n:?} is not an interface name (1 to 15 characters, no '/' or spaces)"),
            );
        }
        n.clone()
    }

    /// A downstream interface's `servers`: each parsed by `parse` (`expected` says what
    /// it takes), and at least one.
    fn servers<T>(
        &mut self,
        raw: &Spanned<Vec<Spanned<String>>>,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Vec<T> {
        let mut servers = Vec::new();
        for (j, s) in raw.get_ref().iter().enumerate() {
            match parse(s.get_ref()) {
                Some(a) => servers.push(a),
                None => {
                    let msg = format!("got {:?}, expected {expected}", s.get_ref());
                    self.err(s, format!("{key}.servers[{j}]"), msg);
                }
            }
        }
        if raw.get_ref().is_empty() {
            self.err(
                raw,
                format!("{key}.servers"),
                "is empty, expected the addresses of the DHCP servers to relay to",
            );
        }
        servers
    }

    fn template(&mut self, at: &Spanned<impl Sized>, text: &str, key: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.err(at, key, msg);
                None
            }
        }
    }

    fn relay4(&mut self, raw: RawRelay4) -> Relay4 {
        let mut downstream = Vec::new();
        for (i, d) in raw.downstream.iter().enumerate() {
            let key = format!("relay4.downstream[{i}]");
            let interface = self.interface(&d.interface, &format!("{key}.interface"));
            let servers = self.servers(
                &d.servers,
                &key,
                |s| s.parse::<Ipv4Addr>().ok(),
                "an IPv4 address of a DHCP server",
            );
            let giaddr = d.giaddr.as_ref().and_then(|g| match g.get_ref().parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(
                        g,
                        format!("{key}.giaddr"),
                        format!(
                            "got {:?}, expected an IPv4 address of this relay",
                            g.get_ref()
                        ),
                    );
                    None
                }
            });
            let agent_info = d.agent_info.as_ref().map(|a| {
                let r = a.get_ref();
                let akey = format!("{key}.agent_info");
                let policy = match r.policy.as_deref() {
                    None => Policy::Replace,
                    Some(p) => Policy::parse(p).unwrap_or_else(|| {
                        self.err(a, format!("{akey}.policy"), format!("got {p:?}, expected \"append\", \"replace\", \"forward\" or \"discard\""));
                        Policy::Replace
                    }),
                };
                AgentInfo {
                    circuit_id: r.circuit_id.as_deref().and_then(|t| self.template(a, t, &format!("{akey}.circuit_id"))),
                    remote_id: r.remote_id.as_deref().and_then(|t| self.template(a, t, &format!("{akey}.remote_id"))),
                    link_selection: r.link_selection,
                    server_id_override: r.server_id_override,
                    policy,
                }
            });
            downstream.push(Downstream4 {
                interface,
                servers,
                giaddr,
                agent_info,
            });
        }
        Relay4 {
            hop_limit: raw.hop_limit.map_or(10, |h| *h.get_ref()),
            downstream,
            classes: self.classes(&raw.class, "relay4", zerotouch_config::class_match4),
        }
    }

    fn relay6(&mut self, raw: RawRelay6) -> Relay6 {
        let hop_limit = raw
            .hop_limit
            .as_ref()
            .map_or(zerotouch_proto::v6::HOP_COUNT_LIMIT, |h| *h.get_ref());
        if let Some(h) = raw
            .hop_limit
            .as_ref()
            .filter(|h| *h.get_ref() == 0 || *h.get_ref() > 32)
        {
            self.err(
                h,
                "relay6.hop_limit",
                format!(
                    "got {}, expected 1 to 32 (RFC 8415's HOP_COUNT_LIMIT is 8)",
                    h.get_ref()
                ),
            );
        }
        let mut downstream = Vec::new();
        for (i, d) in raw.downstream.iter().enumerate() {
            let key = format!("relay6.downstream[{i}]");
            let interface = self.interface(&d.interface, &format!("{key}.interface"));
            let servers = self.servers(
                &d.servers,
                &key,
                parse_upstream6,
                "an IPv6 address, or a multicast group with its interface such as \"ff05::1:3%eth0\"",
            );
            let interface_id = match &d.interface_id {
                None => Some(Template::interface()),
                Some(t) if t.get_ref().is_empty() => None,
                Some(t) => self.template(t, t.get_ref(), &format!("{key}.interface_id")),
            };
            let remote_id = d.remote_id.as_ref().and_then(|r| {
                let t = self.template(r, &r.get_ref().id, &format!("{key}.remote_id.id"))?;
                Some((r.get_ref().enterprise, t))
            });
            let subscriber_id = d
                .subscriber_id
                .as_ref()
                .and_then(|s| self.template(s, s.get_ref(), &format!("{key}.subscriber_id")));
            downstream.push(Downstream6 {
                interface,
                servers,
                interface_id,
                remote_id,
                subscriber_id,
            });
        }
        Relay6 {
            hop_limit,
            downstream,
            classes: self.classes(&raw.class, "relay6", zerotouch_config::class_match6),
        }
    }
}

/// Every scope that may hold `plugin.<instance>` tables: `[relayN]`, its downstream
/// interfaces and its classes.
fn scope_tables(raw: &RawConfig) -> Vec<ScopeTables<'_>> {
    let mut out = Vec::new();
    if let Some(r) = &raw.relay4 {
        section_tables(&mut out, "relay4", SCOPES4, r, |d| &d.plugin);
    }
    if let Some(r) = &raw.relay6 {
        section_tables(&mut out, "relay6", SCOPES6, r, |d| &d.plugin);
    }
    out
}

/// Checks a class's `match` for one family (the server's own check).
type ClassMatcher<S> =
    fn(&SourceMap<'_>, &Spanned<RawMatch>, &str) -> Result<(S, MatchTest), Vec<ConfigError>>;

fn section_tables<'a, D>(
    out: &mut Vec<ScopeTables<'a>>,
    section: &str,
    (global, downstream_id, class_id): SectionIds,
    raw: &'a RawSection<D>,
    plugin: fn(&D) -> &RawPluginScopes,
) {
    let step = |k: &str| PathStep::Key(k.into());
    out.push(ScopeTables {
        scope: global,
        path: vec![step(section)],
        key: section.to_string(),
        tables: &raw.plugin,
    });
    for (i, d) in raw.downstream.iter().enumerate() {
        out.push(ScopeTables {
            scope: downstream_id(i),
            path: vec![step(section), step("downstream"), PathStep::Index(i)],
            key: format!("{section}.downstream[{i}]"),
            tables: plugin(d),
        });
    }
    for (i, c) in raw.class.iter().enumerate() {
        out.push(ScopeTables {
            scope: class_id(i),
            path: vec![step(section), step("class"), PathStep::Index(i)],
            key: format!("{section}.class[{i}]"),
            tables: &c.plugin,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/relay.toml");
        let cfg = load(&path).unwrap_or_else(|e| panic!("{e}"));
        let plugins = crate::plugins::load(&cfg, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plugins.instances().len(), 1);
        assert_eq!(cfg.plugins.scopes.len(), 1, "the class's plugin.sztp");
        let r4 = cfg.relay4.unwrap();
        assert_eq!(&*r4.classes[0].name, "acme-switches");
        assert_eq!(r4.downstream.len(), 2);
        assert_eq!(r4.downstream[0].servers.len(), 2);
        assert!(r4.downstream[1].agent_info.as_ref().unwrap().link_selection);
        assert_eq!(
            cfg.relay6.unwrap().downstream[0]
                .remote_id
                .as_ref()
                .unwrap()
                .0,
            32473
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = r#"
[relay4]
[[relay4.downstream]]
interface = "eth1"
servers = ["198.18.0.300"]
agent_info = { circuit_id = "{port}", policy = "keep" }

[relay6]
hop_limit = 0
[[relay6.downstream]]
interface = "eth1"
servers = ["ff05::1:3"]
"#;
        let e = parse(text, Path::new("r.toml")).unwrap_err().to_string();
        for want in [
            "r.toml:5:12: relay4.downstream[0].servers[0]: got \"198.18.0.300\", expected an IPv4 address",
            "r.toml:6:14: relay4.downstream[0].agent_info.policy: got \"keep\"",
            "r.toml:6:14: relay4.downstream[0].agent_info.circuit_id: unknown field {port}",
            "r.toml:9:13: relay6.hop_limit: got 0, expected 1 to 32",
            "r.toml:12:12: relay6.downstream[0].servers[0]: got \"ff05::1:3\", expected an IPv6 address, or a multicast group with its interface",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        let unknown = parse("[relay4]\nhops = 3\ndownstream = []\n", Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.starts_with("r.toml:2:1: relay4.hops: unknown field `hops`"),
            "{unknown}"
        );
    }
}
