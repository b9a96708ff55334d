//! Creating plugin instances from a configuration: settings per `[[plugin]]` entry and
//! per scope, with errors that name the file, line and key.

use std::path::Path;

use serde::Deserialize;
use zerotouch_plugin::{Plugin, Registration, Settings, SettingsError};

use super::load_plugins;
use zerotouch_config::{self as config, ScopeId};

/// A plugin that takes a `value` in scopes.
struct Scoped;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeValue {
    value: String,
}

#[zerotouch_plugin::plugin]
impl Plugin for Scoped {
    type Scope = ScopeValue;

    fn create(_: &Settings) -> Result<Self, SettingsError> {
        Ok(Scoped)
    }

    fn check_scope(&self, v: &ScopeValue, settings: &Settings) -> Result<(), SettingsError> {
        if v.value.is_empty() {
            return Err(settings.error("value", "expected a non-empty value"));
        }
        Ok(())
    }
}

/// A plugin with no scope settings.
struct Bare;

#[zerotouch_plugin::plugin]
impl Plugin for Bare {
    fn create(_: &Settings) -> Result<Self, SettingsError> {
        Ok(Bare)
    }
}

const REGISTRY: [Registration; 2] = [
    Registration::of::<Scoped>("scoped", "test"),
    Registration::of::<Bare>("bare", "test"),
];

const BASE: &str = r#"[dhcp4]
interfaces = ["eth0"]

[[dhcp4.class]]
name = "ztp"
match = { option = 60, prefix = "ZTP-" }
plugin.scoped = { value = "class" }

[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
[dhcp4.subnet.plugin.scoped]
value = "subnet"
[[dhcp4.subnet.pool]]
range = "198.18.0.10 - 198.18.0.20"
plugin.scoped.value = "pool"

[[plugin]]
name = "scoped"
"#;

#[test]
fn scope_tables_are_read_by_their_instance() {
    let cfg = config::parse(BASE, Path::new("t.toml")).unwrap();
    let p = load_plugins(&cfg, &REGISTRY, None).unwrap();
    let scopes = &p.instances()[0].scopes;
    let get = |s: ScopeId| {
        scopes
            .get(&s)
            .and_then(|d| d.downcast_ref::<ScopeValue>())
            .map(|v| v.value.clone())
    };
    assert_eq!(get(ScopeId::Class(0)).as_deref(), Some("class"));
    assert_eq!(get(ScopeId::Subnet(0)).as_deref(), Some("subnet"));
    assert_eq!(get(ScopeId::Pool(0, 0)).as_deref(), Some("pool"));
    assert_eq!(get(ScopeId::Global), None);
    assert!(p.has_scoped());
}

#[test]
fn scope_errors_name_line_and_key() {
    let text = BASE.replace("value = \"subnet\"", "value = \"\"").replace(
        "plugin.scoped.value = \"pool\"",
        "plugin.scoped.valu = \"pool\"",
    );
    let cfg = config::parse(&text, Path::new("t.toml")).unwrap();
    let Err(e) = load_plugins(&cfg, &REGISTRY, None) else {
        panic!("accepted bad scope settings");
    };
    let e: Vec<String> = e.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.toml:12:9: dhcp4.subnet[0].plugin.scoped.value: scoped: expected a non-empty value"
        ),
        "{e:?}"
    );
    assert!(e[1].starts_with("t.toml:15:15: dhcp4.subnet[0].pool[0].plugin.scoped.valu: scoped: unknown field `valu`; did you mean `value`?"), "{e:?}");
}

#[test]
fn scope_tables_need_a_configured_instance_and_a_plugin_that_takes_them() {
    let unknown = BASE.replace(
        "plugin.scoped = { value = \"class\" }",
        "plugin.other = { value = \"class\" }",
    );
    let e = config::parse(&unknown, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml:7:16: dhcp4.class[0].plugin.other: no [[plugin]] instance \"other\""),
        "{e}"
    );

    // A disabled instance's scope tables are left alone.
    let disabled = BASE.replace(
        "name = \"scoped\"\n",
        "name = \"scoped\"\nenabled = false\n",
    );
    let cfg = config::parse(&disabled, Path::new("t.toml")).unwrap();
    assert!(cfg.plugin_scopes.is_empty());

    // A plugin without scope settings refuses them.
    let bare = BASE.replace(
        "name = \"scoped\"\n",
        "name = \"bare\"\ninstance = \"scoped\"\n",
    );
    let cfg = config::parse(&bare, Path::new("t.toml")).unwrap();
    let Err(e) = load_plugins(&cfg, &REGISTRY, None) else {
        panic!("a plugin without scope settings accepted them");
    };
    assert!(
        e.to_string()
            .contains("takes no settings in the server's scopes"),
        "{e}"
    );
}

/// The pipeline runs instances in the order `after` gives, each with its own table's
/// settings (the entry keeps its place in the file for errors and settings).
#[test]
fn instances_run_in_the_order_after_gives_with_their_own_settings() {
    let text = format!(
        "{}instance = \"first-in-file\"\nafter = [\"second-in-file\"]\n\n[[plugin]]\nname = \"scoped\"\ninstance = \"second-in-file\"\n",
        BASE.replace("plugin.scoped", "plugin.second-in-file")
            .replace(
                "[dhcp4.subnet.plugin.scoped]",
                "[dhcp4.subnet.plugin.second-in-file]"
            )
    );
    let cfg = config::parse(&text, Path::new("t.toml")).unwrap();
    let p = load_plugins(&cfg, &REGISTRY, None).unwrap();
    let order: Vec<(&str, usize)> = p
        .instances()
        .iter()
        .map(|i| (i.entry.instance.as_str(), i.entry.index))
        .collect();
    assert_eq!(order, [("second-in-file", 1), ("first-in-file", 0)]);
    // The scope tables went to the instance they name, wherever it runs.
    assert!(p.instances()[0].scopes.contains_key(&ScopeId::Pool(0, 0)));
    assert!(p.instances()[1].scopes.is_empty());
}
