//! Built-in plugins, compiled in and enabled by name. A cargo feature per plugin leaves
//! it out of a build.

use zerotouch_plugin::Registration;

/// Every built-in plugin of this build.
pub fn builtins() -> Vec<Registration> {
    vec![
        #[cfg(feature = "plugin-noop")]
        zerotouch_plugin_noop::REGISTRATION,
        #[cfg(feature = "plugin-metrics")]
        zerotouch_plugin_metrics::REGISTRATION,
        #[cfg(feature = "plugin-sztp")]
        zerotouch_plugin_sztp::REGISTRATION,
        #[cfg(feature = "plugin-bootstrap")]
        zerotouch_plugin_bootstrap::REGISTRATION,
        #[cfg(feature = "plugin-dns")]
        zerotouch_plugin_dns::REGISTRATION,
        #[cfg(feature = "plugin-syslog")]
        zerotouch_plugin_syslog::REGISTRATION,
    ]
}
