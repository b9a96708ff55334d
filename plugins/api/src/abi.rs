//! The C ABI between zerotouch-dhcpd and plugins in shared objects, version 2.
//!
//! A shared object exports `zerotouch_plugin_entry`, which returns a pointer to a
//! static [`PluginVtable`]. The server reads `abi_version` and `struct_size` first and
//! refuses the file unless the major version is its own and the table is at least as
//! large as version 2's. The hooks a plugin serves are the functions its table has
//! (non-null), per family; `instance_hooks` may narrow them per instance. Later minor additions append fields at the end of the table:
//! the server reads a field only when `struct_size` covers it, so older plugins keep
//! loading. Packets cross in wire format; the per-packet context crosses as named octet
//! strings through the [`HostApi`] callbacks.
//!
//! `include/zerotouch_plugin.h` declares the same structures for C; a test checks that
//! the sizes agree.

use std::ffi::{c_char, c_void};

use crate::{Family, HookPoint, HookSet};

/// Major version of this ABI. A plugin built for another major version is refused.
pub const ABI_VERSION: u32 = 2;

/// The symbol every plugin exports.
pub const ENTRY_SYMBOL: &str = "zerotouch_plugin_entry";

/// `const PluginVtable *zerotouch_plugin_entry(void)`.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginVtable;

/// Hook return codes.
pub const ZT_CONTINUE: i32 = 0;
/// Hook result: continue, but skip the plugins after this one at this hook point.
pub const ZT_SKIP_REST: i32 = 1;
/// Hook result: drop the packet.
pub const ZT_DROP: i32 = 2;
/// `packet_received4`/`6`: answer with the message written to `response`;
/// `reply_ready4`/`6`: send the reply as it is now, skipping the remaining plugins.
pub const ZT_RESPOND: i32 = 3;
/// The hook failed; the message is in the [`ErrorBuf`].
pub const ZT_ERROR: i32 = -1;

/// Log levels for [`HostApi::log`].
pub const ZT_LOG_ERROR: u32 = 1;
/// Log level of `HostApi::log`: warning.
pub const ZT_LOG_WARN: u32 = 2;
/// Log level of `HostApi::log`: information.
pub const ZT_LOG_INFO: u32 = 3;
/// Log level of `HostApi::log`: debugging detail.
pub const ZT_LOG_DEBUG: u32 = 4;

/// Where a plugin writes why it failed: NUL-terminated, truncated to fit. `key` names
/// the settings key at fault when `create` fails (`urls[1]`), so the server can point
/// at the line.
#[repr(C)]
pub struct ErrorBuf {
    /// What is wrong, NUL-terminated UTF-8.
    pub message: [c_char; 256],
    /// The settings key it is about, NUL-terminated (empty when none).
    pub key: [c_char; 128],
}

impl ErrorBuf {
    /// An empty error.
    pub fn new() -> Self {
        ErrorBuf {
            message: [0; 256],
            key: [0; 128],
        }
    }

    /// Fills in `key` and `message`, cut to fit.
    pub fn set(&mut self, key: &str, message: &str) {
        copy_c(&mut self.key, key);
        copy_c(&mut self.message, message);
    }

    /// The message, as text.
    pub fn message(&self) -> String {
        read_c(&self.message)
    }

    /// The key, as text.
    pub fn key(&self) -> String {
        read_c(&self.key)
    }
}

impl Default for ErrorBuf {
    fn default() -> Self {
        ErrorBuf::new()
    }
}

fn copy_c(dst: &mut [c_char], src: &str) {
    let mut n = src.len().min(dst.len() - 1);
    while !src.is_char_boundary(n) {
        n -= 1;
    }
    for (d, s) in dst.iter_mut().zip(&src.as_bytes()[..n]) {
        *d = *s as c_char;
    }
    dst[n] = 0;
}

fn read_c(src: &[c_char]) -> String {
    let bytes: Vec<u8> = src
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A received request.
#[repr(C)]
pub struct PacketRef {
    /// 4 or 6.
    pub family: u8,
    /// The message type (DHCPv4 option 53, DHCPv6 msg-type).
    pub message_type: u8,
    /// UDP source port of the sender (a relay, or the client).
    pub source_port: u16,
    /// Zero.
    pub reserved: [u8; 4],
    /// Source address: IPv4 in the first 4 octets, or IPv6.
    pub source: [u8; 16],
    /// The packet as received.
    pub wire: *const u8,
    /// Length of `wire`.
    pub wire_len: usize,
    /// NUL-terminated interface name.
    pub interface: *const c_char,
    /// Unix seconds.
    pub now: u64,
}

/// A message buffer the plugin may rewrite in place: `len` octets of `capacity`.
#[repr(C)]
pub struct MessageBuf {
    /// The octets.
    pub data: *mut u8,
    /// How many octets of `data` are in use.
    pub len: usize,
    /// How many octets `data` has room for.
    pub capacity: usize,
}

/// A lease, for `lease_event`.
#[repr(C)]
pub struct LeaseRef {
    /// 4 or 6.
    pub family: u8,
    /// 1 offered, 2 active, 3 released, 4 declined, 5 expired.
    pub state: u8,
    /// Hardware type (1 is Ethernet).
    pub htype: u8,
    /// How many octets of `hwaddr` are in use.
    pub hwaddr_len: u8,
    /// Zero.
    pub reserved: [u8; 4],
    /// IPv4 in the first 4 octets, or IPv6.
    pub address: [u8; 16],
    /// The client's hardware address.
    pub hwaddr: [u8; 16],
    /// The client identifier, or null.
    pub client_id: *const u8,
    /// Length of `client_id`.
    pub client_id_len: usize,
    /// Unix seconds.
    pub starts: u64,
    /// Unix seconds.
    pub expires: u64,
    /// NUL-terminated, or NULL.
    pub hostname: *const c_char,
}

/// The per-packet context, opaque to plugins.
#[repr(C)]
pub struct ContextRef {
    _private: [u8; 0],
}

/// Callbacks the server offers a plugin; valid from `create` to `destroy`.
#[repr(C)]
pub struct HostApi {
    /// The ABI version the server speaks (`ZT_ABI_VERSION`).
    pub abi_version: u32,
    /// The size of this table as the server knows it.
    pub struct_size: u32,
    /// A named context value: its octets (valid until the hook returns) and length
    /// through `len`, or NULL when unset.
    pub context_get: unsafe extern "C" fn(
        ctx: *mut ContextRef,
        name: *const c_char,
        len: *mut usize,
    ) -> *const u8,
    /// Stores the `len` octets at `data` under `name` in the packet's context.
    pub context_set: unsafe extern "C" fn(
        ctx: *mut ContextRef,
        name: *const c_char,
        data: *const u8,
        len: usize,
    ),
    /// Calls `each` for every named value.
    pub context_each: unsafe extern "C" fn(
        ctx: *mut ContextRef,
        each: unsafe extern "C" fn(
            user: *mut c_void,
            name: *const c_char,
            data: *const u8,
            len: usize,
        ),
        user: *mut c_void,
    ),
    /// Logs a NUL-terminated message under the plugin instance's name.
    pub log: unsafe extern "C" fn(instance_host: *const c_void, level: u32, message: *const c_char),
    /// First argument of `log`.
    pub log_handle: *const c_void,
}

/// A packet hook: `message` is the response a `packet_received` hook may write (empty,
/// `capacity` octets), or the reply in wire format a `reply_ready` hook may rewrite
/// (DHCPv6 without relay wrappers).
pub type PacketHookFn = unsafe extern "C" fn(
    instance: *mut c_void,
    ctx: *mut ContextRef,
    packet: *const PacketRef,
    message: *mut MessageBuf,
    err: *mut ErrorBuf,
) -> i32;

/// What a plugin exports. A hook function that is NULL is a hook not served.
#[repr(C)]
pub struct PluginVtable {
    /// The ABI version the plugin was built for (`ZT_ABI_VERSION`).
    pub abi_version: u32,
    /// `sizeof(PluginVtable)` as the plugin was built.
    pub struct_size: u32,
    /// NUL-terminated plugin name.
    pub name: *const c_char,
    /// Creates an instance from its settings, a TOML document (NUL-terminated, `len`
    /// octets). NULL with `err` filled on failure.
    pub create: unsafe extern "C" fn(
        host: *const HostApi,
        settings: *const c_char,
        len: usize,
        err: *mut ErrorBuf,
    ) -> *mut c_void,
    /// Frees the instance; called once, at shutdown.
    pub destroy: unsafe extern "C" fn(instance: *mut c_void),
    /// A DHCPv4 request arrived; may write a whole reply into `message` and return
    /// [`ZT_RESPOND`].
    pub packet_received4: Option<PacketHookFn>,
    /// The DHCPv4 reply is built; the plugin may rewrite it in `message`.
    pub reply_ready4: Option<PacketHookFn>,
    /// A DHCPv6 request arrived; may write a whole reply (the client's, without relay
    /// wrappers) into `message` and return [`ZT_RESPOND`].
    pub packet_received6: Option<PacketHookFn>,
    /// The DHCPv6 reply to the client is built; the plugin may rewrite it in `message`.
    pub reply_ready6: Option<PacketHookFn>,
    /// `event` is a lease hook point (6 committed, 7 released, 8 declined, 9 expired),
    /// for leases of both families (`lease->family`).
    pub lease_event: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            event: u32,
            lease: *const LeaseRef,
            err: *mut ErrorBuf,
        ) -> i32,
    >,
    /// The hooks one instance serves, when its settings narrow them ([`HookSet`] bits:
    /// DHCPv4's hook `n` is bit `n`, DHCPv6's bit `16 + n`); NULL: every non-null hook.
    pub instance_hooks: Option<unsafe extern "C" fn(instance: *mut c_void) -> u32>,
}

/// The hook points ABI version 2 carries to shared objects.
pub fn carried_hooks() -> HookSet {
    HookSet::EMPTY
        .with_lease_events()
        .union(HookSet::both(HookPoint::PacketReceived))
        .union(HookSet::both(HookPoint::ReplyReady))
}

impl PluginVtable {
    /// The hook points this table has a function for.
    pub fn served_hooks(&self) -> HookSet {
        let mut served = HookSet::EMPTY;
        for (f, family, hook) in [
            (self.packet_received4, Family::V4, HookPoint::PacketReceived),
            (self.reply_ready4, Family::V4, HookPoint::ReplyReady),
            (self.packet_received6, Family::V6, HookPoint::PacketReceived),
            (self.reply_ready6, Family::V6, HookPoint::ReplyReady),
        ] {
            if f.is_some() {
                served = served.with(family, hook);
            }
        }
        if self.lease_event.is_some() {
            served = served.with_lease_events();
        }
        served
    }
}

// SAFETY: the table is immutable static data; its pointers are to static strings and
// functions.
unsafe impl Sync for PluginVtable {}
// SAFETY: the host table is written once before any plugin sees it and never changed;
// its functions may be called from any thread (docs/plugins.md).
unsafe impl Sync for HostApi {}
// SAFETY: as for Sync: immutable after creation, its log handle a string it outlives.
unsafe impl Send for HostApi {}

/// Space the server gives `response` and `reply` buffers: the largest DHCPv4 message it
/// sends, with room for options a plugin adds before the size budget trims them.
pub const MESSAGE_CAPACITY: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_buf_truncates_on_char_boundary() {
        let mut e = ErrorBuf::new();
        e.set("k", &"é".repeat(200));
        assert!(e.message().chars().all(|c| c == 'é'));
        assert_eq!(e.message().len(), 254);
        assert_eq!(e.key(), "k");
    }

    /// The C header's structures, as gcc lays them out on this target, must match.
    #[test]
    fn sizes_on_this_target() {
        assert_eq!(std::mem::size_of::<PacketRef>(), 56);
        assert_eq!(std::mem::size_of::<MessageBuf>(), 24);
        assert_eq!(std::mem::size_of::<LeaseRef>(), 80);
        assert_eq!(std::mem::size_of::<ErrorBuf>(), 384);
        assert_eq!(std::mem::size_of::<HostApi>(), 48);
        assert_eq!(std::mem::size_of::<PluginVtable>(), 80);
    }
}
