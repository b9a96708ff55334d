//! zerotouch-plugin: the plugin API of zerotouch-dhcpd.
//!
//! A plugin implements [`Plugin`] under `#[zerotouch_plugin::plugin]`: the hook
//! functions it writes (`reply_ready4`, `packet_received6`, ...) are the [`HookPoint`]s
//! the server calls, per family, in the order the configuration gives, for every
//! packet that reaches them. Each hook answers with an [`Action`]: go on to the next
//! plugin, skip the remaining plugins at this point, drop the packet, answer now, or
//! park the packet on a future ([`Action::wait`]) while other clients are served.
//! Plugins hand typed data to the plugins after them through the per-packet
//! [`Context`]; each hook reads its own typed settings for the packet's scopes through
//! [`Cx`]. A plugin may also run its own listeners ([`Plugin::start`],
//! [`Plugin::reload`], [`Plugin::stop`]) with read access to the leases and the server's
//! configuration ([`ServiceHost`]).
//!
//! Built-in plugins are Rust crates registered by name ([`Registration::of`]). Plugins
//! in shared objects speak the C ABI in [`abi`]; [`export_plugin!`] exports a Rust
//! plugin through it and `include/zerotouch_plugin.h` is the same ABI for C.

#![warn(missing_docs)]

/// Functions for the plugin host only: `pub` with the `host` feature (the server, the
/// relay and the plugin host enable it), crate-private otherwise, so the constructors
/// and setters the server uses are not part of what plugin authors build against. A
/// plugin's own tests may enable `host` as a dev-dependency feature to build packets.
macro_rules! host_only {
    ($(#[$meta:meta])* fn $name:ident $($rest:tt)*) => {
        #[cfg(feature = "host")]
        $(#[$meta])*
        pub fn $name $($rest)*

        #[cfg(not(feature = "host"))]
        #[allow(dead_code)]
        $(#[$meta])*
        pub(crate) fn $name $($rest)*
    };
}

// The attribute macro names this crate by its path; so can its own tests.
extern crate self as zerotouch_plugin;

pub mod abi;
mod action;
mod artifacts;
mod choice;
mod context;
mod cx;
pub mod duration;
pub mod erased;
mod error;
mod events;
mod hook;
mod lease;
mod lease_view;
mod packet;
mod plugin;
mod reply;
#[doc(hidden)]
pub mod sdk;
mod service;
mod settings;
pub mod wording;

pub use action::{Action, HookResult, Pending};
pub use artifacts::{ArtifactSource, Artifacts, DeviceArtifacts};
pub use choice::{ClassSet, HostChoice, HostInfo, LeaseOffer, SubnetChoice, SubnetInfo};
pub use context::Context;
pub use cx::Cx;
pub use error::PluginError;
pub use events::{BootstrapProgress, EventBus, LeaseChange, ServiceEvent};
pub use hook::{HookPoint, HookSet};
pub use lease::{LeaseEvent, LeaseInfo, LeaseState};
pub use lease_view::{LeaseFollower, follow_leases, unix_now};
pub use packet::{Family, Ingress, Lazy, Packet4, Packet6};
pub use plugin::{NoScope, Plugin, Registration, ScopeSwitch, counters_line};
/// The conversion of replies to and from wire format, for the plugin host.
#[cfg(feature = "host")]
pub use reply::WireReply;
pub use reply::{Draft4, Reply4, Reply6};
pub use service::{LeaseReader, ServerView, ServiceHost};
pub use settings::{Document, PathStep, Settings, SettingsError, key_path};
/// Put on an `impl Plugin for ...` block: the hooks it implements are the hooks the
/// server calls ([`Plugin::HOOKS`]); without `type Scope` it takes no scope settings.
pub use zerotouch_plugin_macros::plugin;

/// The wire codecs the API's packet types come from.
pub use zerotouch_proto as proto;
