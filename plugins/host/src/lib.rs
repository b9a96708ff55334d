//! zerotouch-plugin-host, the plugin host: creates the configured plugin instances (built-in or from shared
//! objects), runs their hooks on the packet path with panic isolation and the
//! instance's error policy, and runs their services.

mod draft;
mod dynamic;
mod load;
mod pipeline;
mod registry;

pub use draft::encode_draft;
pub use load::{load_plugin_tables, load_plugins, settings_error};
pub use pipeline::{DropReason, Flow, Instance, InstanceStats, Parked, Pipeline};
pub use registry::builtins;

/// A recording plugin for tests of the packet path (the server's and the relay's).
#[cfg(any(test, feature = "testing"))]
pub mod probe;
#[cfg(test)]
mod tests;
