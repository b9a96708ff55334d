//! The Rust side of the C ABI for plugins built as `cdylib`: [`export_plugin!`](crate::export_plugin)
//! generates the exported table, these functions do the work behind it. Every call is
//! wrapped in `catch_unwind`, so a panicking plugin returns an error instead of
//! unwinding into the server (which would abort it).

use std::ffi::{CStr, c_char, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::*;
use crate::erased::DynPlugin;
use crate::proto::{v4, v6};
use crate::reply::WireReply;
use crate::{
    Action, Context, Family, HookResult, Ingress, Lazy, LeaseEvent, LeaseInfo, LeaseState, Packet4,
    Packet6, PluginError, Reply4, Reply6, Settings, SettingsError,
};

pub struct Instance {
    plugin: Box<dyn DynPlugin>,
    host: *const HostApi,
}

pub type Factory = fn(&Settings) -> Result<Box<dyn DynPlugin>, SettingsError>;

/// Runs `f`, turning a panic into [`ZT_ERROR`].
///
/// # Safety
/// `err` is null or the server's [`ErrorBuf`] for this call.
unsafe fn guarded(err: *mut ErrorBuf, f: impl FnOnce() -> Result<i32, PluginError>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let message = match outcome {
        Ok(Ok(code)) => return code,
        Ok(Err(e)) => e.message().to_string(),
        Err(p) => PluginError::panicked(&*p).message().to_string(),
    };
    // SAFETY: null or the server's buffer, as the caller promises.
    if let Some(err) = unsafe { err.as_mut() } {
        err.set("", &message);
    }
    ZT_ERROR
}

/// # Safety
/// Called by the server through the table with the arguments the ABI describes.
pub unsafe fn create(
    host: *const HostApi,
    settings: *const c_char,
    len: usize,
    err: *mut ErrorBuf,
    name: &str,
    factory: Factory,
) -> *mut c_void {
    let made = catch_unwind(AssertUnwindSafe(|| {
        let bytes = if settings.is_null() {
            &[][..]
        } else {
            // SAFETY: the ABI: `settings` points to `len` readable octets for the call.
            unsafe { std::slice::from_raw_parts(settings as *const u8, len) }
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| SettingsError::new("", format!("settings are not UTF-8: {e}")))?;
        factory(&Settings::standalone(text, name))
    }));
    let failure = match made {
        Ok(Ok(plugin)) => {
            return Box::into_raw(Box::new(Instance { plugin, host })) as *mut c_void;
        }
        Ok(Err(e)) => (e.key, e.message),
        Err(p) => (
            String::new(),
            PluginError::panicked(&*p).message().to_string(),
        ),
    };
    // SAFETY: the ABI: `err` is null or the server's buffer for this call.
    if let Some(err) = unsafe { err.as_mut() } {
        err.set(&failure.0, &failure.1);
    }
    std::ptr::null_mut()
}

/// # Safety
/// `instance` comes from [`create`] and is not used afterwards.
pub unsafe fn destroy(instance: *mut c_void) {
    if !instance.is_null() {
        // SAFETY: `instance` is the Box `create` leaked, handed back once.
        let instance = unsafe { Box::from_raw(instance as *mut Instance) };
        let _ = catch_unwind(AssertUnwindSafe(|| {
            instance.plugin.stop();
            drop(instance)
        }));
    }
}

/// # Safety
/// `instance` comes from [`create`].
pub unsafe fn instance_hooks(instance: *mut c_void) -> u32 {
    // SAFETY: a live instance from `create`, as the caller promises.
    let instance = unsafe { &*(instance as *const Instance) };
    catch_unwind(AssertUnwindSafe(|| {
        // Unmasked: the server logs hooks this ABI does not carry, then ignores them.
        instance.plugin.hooks().bits()
    }))
    .unwrap_or(0)
}

/// The parts of a [`PacketRef`] a packet borrows; the request itself is decoded only if
/// the plugin asks for it.
struct PacketParts<'a> {
    message_type: u8,
    ingress: Ingress<'a>,
}

/// # Safety
/// `p` is null or the server's [`PacketRef`], whose pointers live for `'a`.
unsafe fn packet_parts<'a>(p: *const PacketRef) -> Result<PacketParts<'a>, PluginError> {
    // SAFETY: null or the server's PacketRef, as the caller promises.
    let p = unsafe { p.as_ref() }.ok_or_else(|| PluginError::new("no packet"))?;
    let family = match p.family {
        4 => Family::V4,
        6 => Family::V6,
        other => return Err(PluginError::new(format!("unknown family {other}"))),
    };
    let interface = if p.interface.is_null() {
        ""
    } else {
        // SAFETY: the ABI: a NUL-terminated interface name.
        unsafe { CStr::from_ptr(p.interface) }
            .to_str()
            .unwrap_or("")
    };
    let source_ip = match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(
            p.source[0],
            p.source[1],
            p.source[2],
            p.source[3],
        )),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(p.source)),
    };
    Ok(PacketParts {
        message_type: p.message_type,
        ingress: Ingress {
            // SAFETY: the ABI: `wire` points to `wire_len` readable octets.
            wire: unsafe { std::slice::from_raw_parts(p.wire, p.wire_len) },
            interface,
            source: SocketAddr::new(source_ip, p.source_port),
            now: p.now,
        },
    })
}

/// The server's named context values, copied in before a hook and back after it.
///
/// # Safety
/// `host` is null or the server's [`HostApi`]; `ctx` the hook's context.
unsafe fn context_in(host: *const HostApi, ctx: *mut ContextRef) -> Context {
    unsafe extern "C" fn add(user: *mut c_void, name: *const c_char, data: *const u8, len: usize) {
        // SAFETY: `user` is the `Context` context_in passed to context_each below.
        let c = unsafe { &mut *(user as *mut Context) };
        // SAFETY: the ABI: a NUL-terminated name.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        let data = if data.is_null() {
            &[][..]
        } else {
            // SAFETY: the ABI: `data` points to `len` readable octets for the call.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        c.set_value(&name, data);
    }
    let mut c = Context::new();
    // SAFETY: null or the server's HostApi, as the caller promises.
    if let Some(host) = unsafe { host.as_ref() } {
        // SAFETY: the server's callback with the hook's context; `c` outlives the call.
        unsafe { (host.context_each)(ctx, add, &mut c as *mut Context as *mut c_void) };
    }
    c
}

/// # Safety
/// As for [`context_in`].
unsafe fn context_out(host: *const HostApi, ctx: *mut ContextRef, c: &Context) {
    // SAFETY: null or the server's HostApi, as the caller promises.
    let Some(host) = (unsafe { host.as_ref() }) else {
        return;
    };
    for (name, value) in c.values() {
        if let Ok(name) = std::ffi::CString::new(name) {
            // SAFETY: the server's callback with the hook's context; name and value
            // live until it returns (it copies them).
            unsafe { (host.context_set)(ctx, name.as_ptr(), value.as_ptr(), value.len()) };
        }
    }
}

/// # Safety
/// `buf` is null or the server's [`MessageBuf`], `capacity` writable octets at `data`.
unsafe fn write_message(buf: *mut MessageBuf, wire: &[u8]) -> Result<(), PluginError> {
    // SAFETY: null or the server's buffer, as the caller promises.
    let buf = unsafe { buf.as_mut() }.ok_or_else(|| PluginError::new("no message buffer"))?;
    if wire.len() > buf.capacity {
        return Err(PluginError::new(format!(
            "reply of {} octets exceeds the buffer's {}",
            wire.len(),
            buf.capacity
        )));
    }
    // SAFETY: `wire.len()` <= `capacity` writable octets at `data`; the plugin's own
    // `wire` cannot overlap the server's buffer.
    unsafe { std::ptr::copy_nonoverlapping(wire.as_ptr(), buf.data, wire.len()) };
    buf.len = wire.len();
    Ok(())
}

fn code_of<R: WireReply>(action: Action<R>, message: *mut MessageBuf) -> Result<i32, PluginError> {
    Ok(match action {
        Action::Continue => ZT_CONTINUE,
        Action::SkipRest => ZT_SKIP_REST,
        Action::Drop => ZT_DROP,
        Action::Respond(reply) => {
            // SAFETY: the server's buffer for this call (see `packet_hook`).
            unsafe { write_message(message, &reply.to_wire()) }?;
            ZT_RESPOND
        }
        Action::Wait(_) => {
            return Err(PluginError::new(
                "a plugin behind the C ABI cannot park packets (Action::Wait); build it in, or answer without waiting",
            ));
        }
    })
}

/// Runs one packet hook of `family` behind the ABI: the packet and context in, the
/// action's code and any rewritten reply out. `editing` hooks get the reply in
/// `message` to edit; the others may answer into it.
///
/// # Safety
/// The arguments are those the server passed for the hook, as the ABI describes.
unsafe fn packet_hook<R: WireReply>(
    instance: *mut c_void,
    ctx: *mut ContextRef,
    packet: *const PacketRef,
    message: *mut MessageBuf,
    err: *mut ErrorBuf,
    editing: bool,
    call: impl FnOnce(&dyn DynPlugin, &mut Context, &PacketParts<'_>, Option<&mut R>) -> HookResult<R>,
) -> i32 {
    // SAFETY (for each block below): the server calls with the arguments the ABI
    // describes: a live instance from `create`, the hook's context, its packet, the
    // message buffer (`len` octets written, `capacity` writable) and the error buffer.
    let hook = || {
        // SAFETY: see above.
        let instance = unsafe { &*(instance as *const Instance) };
        // SAFETY: see above.
        let parts = unsafe { packet_parts(packet) }?;
        let mut draft = if editing {
            // SAFETY: see above.
            let buf = unsafe { message.as_ref() }.ok_or_else(|| PluginError::new("no reply"))?;
            // SAFETY: see above.
            let wire = unsafe { std::slice::from_raw_parts(buf.data, buf.len) };
            Some(R::from_wire(wire.to_vec()))
        } else {
            None
        };
        // SAFETY: see above.
        let mut c = unsafe { context_in(instance.host, ctx) };
        let action = call(&*instance.plugin, &mut c, &parts, draft.as_mut())?;
        // SAFETY: see above.
        unsafe { context_out(instance.host, ctx, &c) };
        if let Some(d) = draft.filter(|d| d.is_touched()) {
            // SAFETY: see above.
            unsafe { write_message(message, &d.to_wire()) }?;
        }
        code_of(action, message)
    };
    // SAFETY: `err` is the server's buffer.
    unsafe { guarded(err, hook) }
}

/// The SDK's packet hooks, one per function of the table: `$hook` of family `$v`
/// (`v4`, `v6`), with its reply type; `editing` hooks get the reply to rewrite.
macro_rules! sdk_packet_hooks {
    ($($hook:ident: $v:ident, $reply:ident, $editing:tt;)*) => {
        $(
            #[doc = concat!("# Safety\nArguments as the ABI describes for `", stringify!($hook), "`.")]
            pub unsafe fn $hook(
                instance: *mut c_void,
                ctx: *mut ContextRef,
                packet: *const PacketRef,
                message: *mut MessageBuf,
                err: *mut ErrorBuf,
            ) -> i32 {
                // SAFETY: the server's arguments, passed on.
                unsafe {
                    packet_hook::<$reply>(instance, ctx, packet, message, err, $editing, |p, c, parts, r| {
                        let cell = Lazy::default();
                        sdk_packet_hooks!(@call $editing, p, $hook, c, &parts.$v(&cell), r)
                    })
                }
            }
        )*
    };
    (@call false, $p:ident, $hook:ident, $c:ident, $packet:expr, $r:ident) => {{
        let _ = $r;
        $p.$hook($c, $packet)
    }};
    (@call true, $p:ident, $hook:ident, $c:ident, $packet:expr, $r:ident) => {
        $p.$hook($c, $packet, $r.ok_or_else(|| PluginError::new("no reply"))?)
    };
}

sdk_packet_hooks! {
    packet_received4: v4, Reply4, false;
    reply_ready4: v4, Reply4, true;
    packet_received6: v6, Reply6, false;
    reply_ready6: v6, Reply6, true;
}

impl<'a> PacketParts<'a> {
    fn v4<'c>(&self, cell: &'c Lazy<v4::Message>) -> Packet4<'c>
    where
        'a: 'c,
    {
        Packet4::lazy(
            cell,
            v4::MessageType::from_u8(self.message_type),
            self.ingress,
        )
    }

    fn v6<'c>(&self, cell: &'c Lazy<v6::Packet6>) -> Packet6<'c>
    where
        'a: 'c,
    {
        Packet6::lazy(
            cell,
            v6::MessageType6::from_u8(self.message_type),
            self.ingress,
        )
    }
}

/// # Safety
/// Arguments as the ABI describes for `lease_event`.
pub unsafe fn lease_event(
    instance: *mut c_void,
    event: u32,
    lease: *const LeaseRef,
    err: *mut ErrorBuf,
) -> i32 {
    // SAFETY (for each block below): a live instance from `create`, the server's
    // LeaseRef (its pointers valid for the call) and error buffer.
    let hook = || {
        // SAFETY: see above.
        let instance = unsafe { &*(instance as *const Instance) };
        // SAFETY: see above.
        let l = unsafe { lease.as_ref() }.ok_or_else(|| PluginError::new("no lease"))?;
        let event = match event {
            6 => LeaseEvent::Committed,
            7 => LeaseEvent::Released,
            8 => LeaseEvent::Declined,
            9 => LeaseEvent::Expired,
            other => return Err(PluginError::new(format!("unknown lease event {other}"))),
        };
        // SAFETY: see above.
        let info = unsafe { lease_info(l) };
        instance.plugin.lease_event(event, &info)?;
        Ok(ZT_CONTINUE)
    };
    // SAFETY: `err` is the server's buffer.
    unsafe { guarded(err, hook) }
}

/// # Safety
/// `l` is the server's [`LeaseRef`]: its client id and hostname pointers are null or
/// valid for the call.
unsafe fn lease_info(l: &LeaseRef) -> LeaseInfo {
    let a = l.address;
    LeaseInfo {
        address: if l.family == 4 {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(a))
        },
        state: match l.state {
            1 => LeaseState::Offered,
            2 => LeaseState::Active,
            3 => LeaseState::Released,
            4 => LeaseState::Declined,
            _ => LeaseState::Expired,
        },
        client_id: (!l.client_id.is_null())
            // SAFETY: non-null: `client_id_len` readable octets, as the caller promises.
            .then(|| unsafe { std::slice::from_raw_parts(l.client_id, l.client_id_len) }.to_vec()),
        htype: l.htype,
        hwaddr: l.hwaddr[..(l.hwaddr_len as usize).min(16)].to_vec(),
        starts: l.starts,
        expires: l.expires,
        hostname: (!l.hostname.is_null()).then(|| {
            // SAFETY: non-null: a NUL-terminated string, as the caller promises.
            unsafe { CStr::from_ptr(l.hostname) }
                .to_string_lossy()
                .into_owned()
        }),
    }
}

/// Exports a Rust plugin from a `cdylib` through the C ABI:
///
/// ```ignore
/// zerotouch_plugin::export_plugin!("my-plugin", MyPlugin);
/// ```
///
/// where `MyPlugin` implements [`Plugin`](crate::Plugin). The hooks ABI version 2
/// carries (`packet_received4`/`6`, `reply_ready4`/`6`, `lease_event`) reach it; the
/// server warns about any other hook it implements, and ignores it.
#[macro_export]
macro_rules! export_plugin {
    ($name:literal, $plugin:ty) => {
        const __ZEROTOUCH_FACTORY: $crate::sdk::Factory =
            $crate::Registration::of::<$plugin>($name, "").create;

        mod __zerotouch_export {
            use ::std::ffi::{c_char, c_void};
            use $crate::abi::*;

            unsafe extern "C" fn create(
                host: *const HostApi,
                settings: *const c_char,
                len: usize,
                err: *mut ErrorBuf,
            ) -> *mut c_void {
                // SAFETY: the server calls with the arguments the ABI describes.
                unsafe {
                    $crate::sdk::create(host, settings, len, err, $name, super::__ZEROTOUCH_FACTORY)
                }
            }
            unsafe extern "C" fn destroy(instance: *mut c_void) {
                // SAFETY: an instance from `create`, handed back once.
                unsafe { $crate::sdk::destroy(instance) }
            }
            unsafe extern "C" fn instance_hooks(instance: *mut c_void) -> u32 {
                // SAFETY: a live instance from `create`.
                unsafe { $crate::sdk::instance_hooks(instance) }
            }
            unsafe extern "C" fn lease_event(
                i: *mut c_void,
                ev: u32,
                l: *const LeaseRef,
                e: *mut ErrorBuf,
            ) -> i32 {
                // SAFETY: the server calls with the arguments the ABI describes.
                unsafe { $crate::sdk::lease_event(i, ev, l, e) }
            }
            $crate::export_plugin!(@hook packet_received4);
            $crate::export_plugin!(@hook reply_ready4);
            $crate::export_plugin!(@hook packet_received6);
            $crate::export_plugin!(@hook reply_ready6);

            static VTABLE: PluginVtable = PluginVtable {
                abi_version: ABI_VERSION,
                struct_size: ::std::mem::size_of::<PluginVtable>() as u32,
                name: concat!($name, "\0").as_ptr() as *const c_char,
                create,
                destroy,
                packet_received4: Some(packet_received4),
                reply_ready4: Some(reply_ready4),
                packet_received6: Some(packet_received6),
                reply_ready6: Some(reply_ready6),
                lease_event: Some(lease_event),
                // What the plugin implements (`Plugin::HOOKS`), narrowed by its settings.
                instance_hooks: Some(instance_hooks),
            };

            #[unsafe(no_mangle)]
            pub extern "C" fn zerotouch_plugin_entry() -> *const PluginVtable {
                &VTABLE
            }
        }
    };
    (@hook $hook:ident) => {
        unsafe extern "C" fn $hook(
            i: *mut c_void,
            c: *mut ContextRef,
            p: *const PacketRef,
            m: *mut MessageBuf,
            e: *mut ErrorBuf,
        ) -> i32 {
            // SAFETY: the server calls with the arguments the ABI describes.
            unsafe { $crate::sdk::$hook(i, c, p, m, e) }
        }
    };
}
