//! The plugin host: creates the configured plugin instances (built-in or from shared
//! objects), runs their hooks on the packet path with panic isolation and the
//! instance's error policy, and runs their services.

mod dynamic;
mod host;
mod load;
mod pipeline;
mod registry;

pub use host::{
    ServerViewImpl, SqliteLeaseReader, lease_event, lease_info, lease_info6, subnet_infos,
};
pub use load::{load_plugin_tables, load_plugins, settings_error};
pub use pipeline::{Flow, Instance, InstanceStats, Pipeline};
pub use registry::builtins;

#[cfg(test)]
pub(crate) mod probe;
#[cfg(test)]
mod tests;
