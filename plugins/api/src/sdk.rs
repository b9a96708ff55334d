//! The Rust side of the C ABI for plugins built as `cdylib`: [`export_plugin!`]
//! generates the exported table, these functions do the work behind it. Every call is
//! wrapped in `catch_unwind`, so a panicking plugin returns an error instead of
//! unwinding into the server (which would abort it).

use std::ffi::{CStr, c_char, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::*;
use crate::{
    Action, Context, Family, LazyRequest, LeaseEvent, LeaseInfo, LeaseState, Packet, Plugin,
    PluginError, Reply, Settings, SettingsError,
};

pub struct Instance {
    plugin: Box<dyn Plugin>,
    host: *const HostApi,
}

pub type Factory = fn(&Settings) -> Result<Box<dyn Plugin>, SettingsError>;

/// Runs `f`, turning a panic into [`ZT_ERROR`].
fn guarded(err: *mut ErrorBuf, f: impl FnOnce() -> Result<i32, PluginError>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let message = match outcome {
        Ok(Ok(code)) => return code,
        Ok(Err(e)) => e.message().to_string(),
        Err(p) => PluginError::panicked(&*p).message().to_string(),
    };
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
    if let Some(err) = unsafe { err.as_mut() } {
        err.set(&failure.0, &failure.1);
    }
    std::ptr::null_mut()
}

/// # Safety
/// `instance` comes from [`create`] and is not used afterwards.
pub unsafe fn destroy(instance: *mut c_void) {
    if !instance.is_null() {
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
    let instance = unsafe { &*(instance as *const Instance) };
    catch_unwind(AssertUnwindSafe(|| {
        // Unmasked: the server logs hooks this ABI does not carry, then ignores them.
        instance.plugin.hooks().bits()
    }))
    .unwrap_or(0)
}

/// The parts of a [`PacketRef`] a [`Packet`] borrows; the request itself is decoded
/// only if the plugin asks for it.
struct PacketParts<'a> {
    family: Family,
    wire: &'a [u8],
    interface: &'a str,
    source: SocketAddr,
    message_type: u8,
    now: u64,
}

unsafe fn packet_parts<'a>(p: *const PacketRef) -> Result<PacketParts<'a>, PluginError> {
    let p = unsafe { p.as_ref() }.ok_or_else(|| PluginError::new("no packet"))?;
    let family = match p.family {
        4 => Family::V4,
        6 => Family::V6,
        other => return Err(PluginError::new(format!("unknown family {other}"))),
    };
    let interface = if p.interface.is_null() {
        ""
    } else {
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
        family,
        wire: unsafe { std::slice::from_raw_parts(p.wire, p.wire_len) },
        interface,
        source: SocketAddr::new(source_ip, p.source_port),
        message_type: p.message_type,
        now: p.now,
    })
}

impl<'a> PacketParts<'a> {
    fn packet(&self, cells: &'a LazyRequest) -> Packet<'a> {
        Packet::lazy(
            self.family,
            cells,
            self.wire,
            self.message_type,
            self.interface,
            self.source,
            self.now,
        )
    }
}

/// The server's named context values, copied in before a hook and back after it.
unsafe fn context_in(host: *const HostApi, ctx: *mut ContextRef) -> Context {
    unsafe extern "C" fn add(user: *mut c_void, name: *const c_char, data: *const u8, len: usize) {
        let c = unsafe { &mut *(user as *mut Context) };
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        let data = if data.is_null() {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        c.set_value(&name, data);
    }
    let mut c = Context::new();
    if let Some(host) = unsafe { host.as_ref() } {
        unsafe { (host.context_each)(ctx, add, &mut c as *mut Context as *mut c_void) };
    }
    c
}

unsafe fn context_out(host: *const HostApi, ctx: *mut ContextRef, c: &Context) {
    let Some(host) = (unsafe { host.as_ref() }) else {
        return;
    };
    for (name, value) in c.values() {
        if let Ok(name) = std::ffi::CString::new(name) {
            unsafe { (host.context_set)(ctx, name.as_ptr(), value.as_ptr(), value.len()) };
        }
    }
}

fn write_message(buf: *mut MessageBuf, wire: &[u8]) -> Result<(), PluginError> {
    let buf = unsafe { buf.as_mut() }.ok_or_else(|| PluginError::new("no message buffer"))?;
    if wire.len() > buf.capacity {
        return Err(PluginError::new(format!(
            "reply of {} octets exceeds the buffer's {}",
            wire.len(),
            buf.capacity
        )));
    }
    unsafe { std::ptr::copy_nonoverlapping(wire.as_ptr(), buf.data, wire.len()) };
    buf.len = wire.len();
    Ok(())
}

fn code_of(
    action: Action,
    respond: impl FnOnce(&Reply) -> Result<(), PluginError>,
) -> Result<i32, PluginError> {
    Ok(match action {
        Action::Continue => ZT_CONTINUE,
        Action::SkipRest => ZT_SKIP_REST,
        Action::Drop => ZT_DROP,
        Action::Respond(reply) => {
            respond(&reply)?;
            ZT_RESPOND
        }
    })
}

/// # Safety
/// Arguments as the ABI describes for `packet_received`.
pub unsafe fn packet_received(
    instance: *mut c_void,
    ctx: *mut ContextRef,
    packet: *const PacketRef,
    response: *mut MessageBuf,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, || {
        let instance = unsafe { &*(instance as *const Instance) };
        let parts = unsafe { packet_parts(packet) }?;
        let cell = LazyRequest::default();
        let mut c = unsafe { context_in(instance.host, ctx) };
        let action = instance
            .plugin
            .packet_received(&mut c, &parts.packet(&cell))?;
        unsafe { context_out(instance.host, ctx, &c) };
        code_of(action, |r| write_message(response, &r.to_wire()))
    })
}

/// # Safety
/// Arguments as the ABI describes for `reply_ready`.
pub unsafe fn reply_ready(
    instance: *mut c_void,
    ctx: *mut ContextRef,
    packet: *const PacketRef,
    reply: *mut MessageBuf,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, || {
        let instance = unsafe { &*(instance as *const Instance) };
        let parts = unsafe { packet_parts(packet) }?;
        let buf = unsafe { reply.as_ref() }.ok_or_else(|| PluginError::new("no reply"))?;
        let wire = unsafe { std::slice::from_raw_parts(buf.data, buf.len) };
        let mut draft = Reply::lazy(parts.family, wire.to_vec());
        let cell = LazyRequest::default();
        let mut c = unsafe { context_in(instance.host, ctx) };
        let action = instance
            .plugin
            .reply_ready(&mut c, &parts.packet(&cell), &mut draft)?;
        unsafe { context_out(instance.host, ctx, &c) };
        if draft.is_touched() {
            write_message(reply, &draft.to_wire())?;
        }
        code_of(action, |r| write_message(reply, &r.to_wire()))
    })
}

/// # Safety
/// Arguments as the ABI describes for `lease_event`.
pub unsafe fn lease_event(
    instance: *mut c_void,
    event: u32,
    lease: *const LeaseRef,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, || {
        let instance = unsafe { &*(instance as *const Instance) };
        let l = unsafe { lease.as_ref() }.ok_or_else(|| PluginError::new("no lease"))?;
        let event = match event {
            6 => LeaseEvent::Committed,
            7 => LeaseEvent::Released,
            8 => LeaseEvent::Declined,
            9 => LeaseEvent::Expired,
            other => return Err(PluginError::new(format!("unknown lease event {other}"))),
        };
        let info = unsafe { lease_info(l) };
        instance.plugin.lease_event(event, &info)?;
        Ok(ZT_CONTINUE)
    })
}

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
            .then(|| unsafe { std::slice::from_raw_parts(l.client_id, l.client_id_len) }.to_vec()),
        htype: l.htype,
        hwaddr: l.hwaddr[..(l.hwaddr_len as usize).min(16)].to_vec(),
        starts: l.starts,
        expires: l.expires,
        hostname: (!l.hostname.is_null()).then(|| {
            unsafe { CStr::from_ptr(l.hostname) }
                .to_string_lossy()
                .into_owned()
        }),
    }
}

/// Exports a Rust plugin from a `cdylib` through the C ABI:
///
/// ```ignore
/// zerotouch_plugin::export_plugin!("my-plugin", MyPlugin::create);
/// ```
///
/// where `MyPlugin::create` is a `fn(&Settings) -> Result<Box<dyn Plugin>, SettingsError>`.
#[macro_export]
macro_rules! export_plugin {
    ($name:literal, $factory:expr) => {
        const __ZEROTOUCH_FACTORY: $crate::sdk::Factory = $factory;

        mod __zerotouch_export {
            use ::std::ffi::{c_char, c_void};
            use $crate::abi::*;

            unsafe extern "C" fn create(
                host: *const HostApi,
                settings: *const c_char,
                len: usize,
                err: *mut ErrorBuf,
            ) -> *mut c_void {
                unsafe {
                    $crate::sdk::create(host, settings, len, err, $name, super::__ZEROTOUCH_FACTORY)
                }
            }
            unsafe extern "C" fn destroy(instance: *mut c_void) {
                unsafe { $crate::sdk::destroy(instance) }
            }
            unsafe extern "C" fn instance_hooks(instance: *mut c_void) -> u32 {
                unsafe { $crate::sdk::instance_hooks(instance) }
            }
            unsafe extern "C" fn packet_received(
                i: *mut c_void,
                c: *mut ContextRef,
                p: *const PacketRef,
                r: *mut MessageBuf,
                e: *mut ErrorBuf,
            ) -> i32 {
                unsafe { $crate::sdk::packet_received(i, c, p, r, e) }
            }
            unsafe extern "C" fn reply_ready(
                i: *mut c_void,
                c: *mut ContextRef,
                p: *const PacketRef,
                r: *mut MessageBuf,
                e: *mut ErrorBuf,
            ) -> i32 {
                unsafe { $crate::sdk::reply_ready(i, c, p, r, e) }
            }
            unsafe extern "C" fn lease_event(
                i: *mut c_void,
                ev: u32,
                l: *const LeaseRef,
                e: *mut ErrorBuf,
            ) -> i32 {
                unsafe { $crate::sdk::lease_event(i, ev, l, e) }
            }

            static VTABLE: PluginVtable = PluginVtable {
                abi_version: ABI_VERSION,
                struct_size: ::std::mem::size_of::<PluginVtable>() as u32,
                name: concat!($name, "\0").as_ptr() as *const c_char,
                hooks: 0x3e1, // packet_received, reply_ready, the four lease events
                reserved: 0,
                create,
                destroy,
                packet_received: Some(packet_received),
                reply_ready: Some(reply_ready),
                lease_event: Some(lease_event),
                instance_hooks: Some(instance_hooks),
            };

            #[unsafe(no_mangle)]
            pub extern "C" fn zerotouch_plugin_entry() -> *const PluginVtable {
                &VTABLE
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_hook_bits_match_the_carried_hooks() {
        assert_eq!(carried_hooks().bits(), 0x3e1);
    }
}
