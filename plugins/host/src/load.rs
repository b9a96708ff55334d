//! Creating the configured plugin instances. Every instance is created (and its settings
//! checked) before anything is served, and `zerotouch-dhcpd check` does the same, so a
//! settings mistake is reported like a core one: file, line, key.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use zerotouch_plugin::{Document, Registration, Settings, SettingsError};

use super::dynamic::{CreateError, DynamicPlugin};
use super::pipeline::{Instance, InstanceStats, Pipeline};
use zerotouch_config::{
    Config, ConfigError, ConfigErrors, PluginEntry, PluginScope, PluginTables, SourceMap,
};

/// Creates every enabled `[[plugin]]` instance of `cfg`, reporting every failure.
pub fn load_plugins(
    cfg: &Config,
    builtins: &[Registration],
    runtime: Option<tokio::runtime::Handle>,
) -> Result<Arc<Pipeline>, ConfigErrors> {
    let src = SourceMap {
        file: &cfg.file,
        text: &cfg.text,
    };
    let tables = PluginTables {
        entries: cfg.plugins.clone(),
        scopes: cfg.plugin_scopes.clone(),
    };
    load_plugin_tables(&src, &tables, builtins, runtime)
}

/// Creates the instances of `tables`, checked in the file `src` (the server's, or
/// another program's that has `[[plugin]]` tables).
pub fn load_plugin_tables(
    src: &SourceMap<'_>,
    tables: &PluginTables,
    builtins: &[Registration],
    runtime: Option<tokio::runtime::Handle>,
) -> Result<Arc<Pipeline>, ConfigErrors> {
    let file = src.file;
    let mut instances = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // Parsed once for every entry's and scope's settings.
    let doc = Document::parse(src.text);
    for entry in &tables.entries {
        let settings = Settings::for_entry(file, &doc, entry.index, &entry.instance);
        let created = create(entry, &settings, builtins);
        for w in settings.take_warnings() {
            warnings.push(settings_error(src, entry, w));
        }
        match created {
            Ok(plugin) => {
                let hooks = plugin.hooks();
                instances.push(Instance {
                    entry: entry.clone(),
                    plugin,
                    hooks,
                    scopes: HashMap::new(),
                    stats: InstanceStats::default(),
                });
            }
            Err(Failure::Settings(e)) => {
                errors.push(settings_error(src, entry, e));
                for more in settings.take_errors() {
                    errors.push(settings_error(src, entry, more));
                }
            }
            Err(Failure::Entry { key, message }) => errors.push(src.error(
                Some(entry.span.clone()),
                format!("plugin[{}].{key}", entry.index),
                message,
            )),
        }
    }
    for scope in &tables.scopes {
        let Some(inst) = instances
            .iter_mut()
            .find(|i| i.entry.instance == scope.instance)
        else {
            continue; // the instance failed to load: reported above
        };
        let settings = Settings::at(file, &doc, scope.path.clone(), &scope.instance);
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inst.plugin.scope(&settings)
        }))
        .unwrap_or_else(|_| {
            Err(SettingsError::new(
                "",
                "the plugin panicked while reading these settings",
            ))
        });
        for w in settings.take_warnings() {
            warnings.push(scope_error(src, scope, w));
        }
        match parsed {
            Ok(data) => {
                inst.scopes.insert(scope.scope, data);
            }
            Err(e) => {
                errors.push(scope_error(src, scope, e));
                for more in settings.take_errors() {
                    errors.push(scope_error(src, scope, more));
                }
            }
        }
    }
    // The hooks an instance serves may depend on its scope tables, read just above.
    for inst in &mut instances {
        inst.hooks = inst.plugin.hooks();
    }
    if errors.is_empty() {
        Ok(Arc::new(
            Pipeline::new(instances, runtime).with_warnings(warnings),
        ))
    } else {
        Err(ConfigErrors(errors))
    }
}

enum Failure {
    Settings(SettingsError),
    /// About the entry itself (`name`, `path`).
    Entry {
        key: &'static str,
        message: String,
    },
}

fn create(
    entry: &PluginEntry,
    settings: &Settings,
    builtins: &[Registration],
) -> Result<Box<dyn zerotouch_plugin::erased::DynPlugin>, Failure> {
    if let Some(path) = &entry.path {
        return match DynamicPlugin::load(path, &entry.name, &entry.instance, settings) {
            Ok(p) => Ok(Box::new(p)),
            Err(CreateError::Load(e)) => Err(Failure::Entry {
                key: "path",
                message: e.to_string(),
            }),
            Err(CreateError::Settings(e)) => Err(Failure::Settings(e)),
        };
    }
    let Some(reg) = builtins.iter().find(|r| r.name == entry.name) else {
        let known: Vec<&str> = builtins.iter().map(|r| r.name).collect();
        return Err(Failure::Entry {
            key: "name",
            message: format!(
                "no built-in plugin {:?} in this build (built in: {}); a plugin in a shared object needs `path`",
                entry.name,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        });
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (reg.create)(settings)))
        .unwrap_or_else(|_| {
            Err(SettingsError::new(
                "",
                "the plugin panicked while reading its settings",
            ))
        })
        .map_err(Failure::Settings)
}

fn scope_error(src: &SourceMap<'_>, scope: &PluginScope, e: SettingsError) -> ConfigError {
    located(src, &scope.key, &scope.span, &scope.instance, e)
}

/// A settings error of `entry`, located in the file as the core's errors are.
pub fn settings_error(src: &SourceMap<'_>, entry: &PluginEntry, e: SettingsError) -> ConfigError {
    let who = format!("{} ({})", entry.instance, plugin_kind(entry));
    let base = format!("plugin[{}].settings", entry.index);
    located(src, &base, &entry.span, &who, e)
}

/// `e` under the key `base` (its own key appended), at its span or else at `fallback`.
fn located(
    src: &SourceMap<'_>,
    base: &str,
    fallback: &Range<usize>,
    who: &str,
    e: SettingsError,
) -> ConfigError {
    let key = if e.key.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{}", e.key)
    };
    let span = e.span.unwrap_or_else(|| fallback.clone());
    src.error(Some(span), key, format!("{who}: {}", e.message))
}

fn plugin_kind(entry: &PluginEntry) -> String {
    match &entry.path {
        Some(p) => format!("plugin {} from {}", entry.name, p.display()),
        None => format!("built-in plugin {}", entry.name),
    }
}
