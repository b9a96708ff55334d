//! Plugins in shared objects: loaded with libloading, checked against the ABI version
//! and table size, and wrapped as a [`DynPlugin`] so the pipeline treats them like
//! built-ins. Requests and replies cross in wire format.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tracing::{debug, error, info, warn};
use zerotouch_plugin::abi::*;
use zerotouch_plugin::erased::DynPlugin;
use zerotouch_plugin::{
    Action, Context, Family, HookResult, HookSet, Ingress, LeaseEvent, LeaseInfo, Packet4, Packet6,
    PluginError, Reply4, Reply6, Settings, SettingsError, WireReply,
};

#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("cannot load plugin {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("{path} is not a zerotouch plugin: it exports no `{ENTRY_SYMBOL}`")]
    NoEntry { path: PathBuf },
    #[error("{path}: `{ENTRY_SYMBOL}` returned no function table")]
    NullTable { path: PathBuf },
    #[error(
        "{path} is built for plugin ABI version {found}; this server speaks ABI version {ABI_VERSION}: rebuild the plugin against this server's SDK (docs/plugins.md says what changed between versions)"
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "{path}: its function table is {found} octets, smaller than ABI version {ABI_VERSION}'s {expected}: the plugin is damaged or built against a broken header"
    )]
    TableSize {
        path: PathBuf,
        found: u32,
        expected: usize,
    },
    #[error("{path} is plugin {found:?}, but its [[plugin]] entry names {expected:?}")]
    Name {
        path: PathBuf,
        found: String,
        expected: String,
    },
}

/// A loaded plugin instance. The library is never unloaded (a plugin's threads or
/// thread-local destructors may outlive `destroy`), so it is leaked on drop.
pub(crate) struct DynamicPlugin {
    table: &'static PluginVtable,
    instance: *mut c_void,
    hooks: HookSet,
    /// Keeps the log handle's target alive for as long as the plugin may log.
    _host: Box<HostApi>,
    _log_name: Box<CString>,
    name: String,
}

// SAFETY: the ABI requires instances to be callable from any thread (docs/plugins.md);
// the raw pointers are the plugin's instance and its static table, never freed while
// this value lives.
unsafe impl Send for DynamicPlugin {}
// SAFETY: as for Send: the ABI makes every instance function safe to call concurrently.
unsafe impl Sync for DynamicPlugin {}

pub(crate) enum CreateError {
    Load(LoadError),
    Settings(SettingsError),
}

impl DynamicPlugin {
    pub(crate) fn load(
        path: &Path,
        name: &str,
        instance: &str,
        settings: &Settings,
    ) -> Result<Self, CreateError> {
        let table = open_table(path).map_err(CreateError::Load)?;
        // SAFETY: the table passed the version and size checks; `name` is the ABI's
        // NUL-terminated static string.
        let found = unsafe { CStr::from_ptr(table.name) }
            .to_string_lossy()
            .into_owned();
        if found != name {
            return Err(CreateError::Load(LoadError::Name {
                path: path.to_path_buf(),
                found,
                expected: name.to_string(),
            }));
        }
        let text = settings.to_toml().map_err(CreateError::Settings)?;
        let text = CString::new(text).map_err(|_| {
            CreateError::Settings(SettingsError::new("", "settings contain a NUL character"))
        })?;
        let log_name = Box::new(CString::new(instance).unwrap_or_default());
        let host = Box::new(HostApi {
            abi_version: ABI_VERSION,
            struct_size: std::mem::size_of::<HostApi>() as u32,
            context_get,
            context_set,
            context_each,
            log: host_log,
            log_handle: log_name.as_ptr() as *const c_void,
        });
        let mut err = ErrorBuf::new();
        // SAFETY: `host` and `text` outlive the call (the host is kept in the instance),
        // `text` is NUL-terminated with its length given, `err` is a valid ErrorBuf.
        let created =
            unsafe { (table.create)(&*host, text.as_ptr(), text.as_bytes().len(), &mut err) };
        if created.is_null() {
            let message = err.message();
            let message = if message.is_empty() {
                "the plugin refused its settings without saying why".into()
            } else {
                message
            };
            return Err(CreateError::Settings(settings.error(err.key(), message)));
        }
        let requested = match table.instance_hooks {
            // SAFETY: `created` is the non-null instance this table's `create` returned.
            Some(f) => HookSet::from_bits(unsafe { f(created) }),
            None => table.served_hooks(),
        };
        let ignored = requested.difference(carried_hooks());
        if !ignored.is_empty() {
            warn!(plugin = instance, hooks = ?ignored.names(), "hooks not carried by ABI version {ABI_VERSION} are ignored");
        }
        // A table without the function for a hook does not serve it, whatever its bits say.
        let hooks = requested.intersection(table.served_hooks());
        info!(plugin = instance, path = %path.display(), hooks = ?hooks.names(), "dynamic plugin loaded");
        Ok(DynamicPlugin {
            table,
            instance: created,
            hooks,
            _host: host,
            _log_name: log_name,
            name: instance.to_string(),
        })
    }
}

fn open_table(path: &Path) -> Result<&'static PluginVtable, LoadError> {
    // SAFETY: loading runs the library's initialisers; a plugin is trusted code the
    // operator named in the configuration, as with any shared object a server loads.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // SAFETY: the ABI defines `ENTRY_SYMBOL` as an `EntryFn`; the library is never
    // unloaded (forgotten below), so the function pointer stays valid.
    let entry: EntryFn = unsafe {
        *lib.get::<EntryFn>(ENTRY_SYMBOL.as_bytes())
            .map_err(|_| LoadError::NoEntry {
                path: path.to_path_buf(),
            })?
    };
    // Never unloaded: see `DynamicPlugin`.
    std::mem::forget(lib);
    // SAFETY: the entry point takes no arguments and returns a static table or null.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(LoadError::NullTable {
            path: path.to_path_buf(),
        });
    }
    // Version and size are the first two fields of every version's table: read them
    // before relying on anything else.
    let head = table as *const u32;
    // SAFETY: `table` is non-null, and every ABI version's table starts with two u32s.
    let (version, size) = unsafe { (head.read(), head.add(1).read()) };
    if version != ABI_VERSION {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let expected = std::mem::size_of::<PluginVtable>();
    if (size as usize) < expected {
        return Err(LoadError::TableSize {
            path: path.to_path_buf(),
            found: size,
            expected,
        });
    }
    // SAFETY: non-null, this ABI version, and at least as large as `PluginVtable`; the
    // table is static data of a library that is never unloaded.
    Ok(unsafe { &*table })
}

impl Drop for DynamicPlugin {
    fn drop(&mut self) {
        // SAFETY: the instance came from this table's `create` and is destroyed once.
        unsafe { (self.table.destroy)(self.instance) };
    }
}

/// Buffers reused for every call on a packet thread: a call allocates and clears
/// nothing (a 4 KiB memset per call was most of a no-op plugin's cost).
struct Scratch {
    /// What the plugin may write: `MESSAGE_CAPACITY` octets, never shrunk.
    out: Vec<u8>,
    /// The reply as handed over, to tell whether the plugin changed it.
    wire: Vec<u8>,
    err: ErrorBuf,
    /// The last interface name, NUL-terminated.
    ifname: (String, CString),
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        out: vec![0; MESSAGE_CAPACITY],
        wire: Vec::with_capacity(MESSAGE_CAPACITY),
        err: ErrorBuf::new(),
        ifname: (String::new(), CString::default()),
    });
}

impl Scratch {
    /// The packet as the ABI describes it; clears the error buffer.
    fn prepare(&mut self, family: Family, message_type: u8, packet: &Ingress<'_>) -> PacketRef {
        if self.ifname.0 != packet.interface {
            self.ifname = (
                packet.interface.to_string(),
                CString::new(packet.interface).unwrap_or_default(),
            );
        }
        self.err.message[0] = 0;
        self.err.key[0] = 0;
        let mut source = [0u8; 16];
        match packet.source.ip() {
            IpAddr::V4(a) => source[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => source = a.octets(),
        }
        PacketRef {
            family: family as u8,
            message_type,
            source_port: packet.source.port(),
            reserved: [0; 4],
            source,
            wire: packet.wire.as_ptr(),
            wire_len: packet.wire.len(),
            interface: self.ifname.1.as_ptr(),
            now: packet.now,
        }
    }
}

fn failure(err: &ErrorBuf) -> PluginError {
    let m = err.message();
    PluginError::new(if m.is_empty() {
        "failed without saying why".to_string()
    } else {
        m
    })
}

fn ctx_ref(ctx: &mut Context) -> *mut ContextRef {
    ctx as *mut Context as *mut ContextRef
}

impl DynamicPlugin {
    /// A `packet_received` hook: the plugin may answer with a whole reply.
    fn received<R: WireReply>(
        &self,
        f: Option<PacketHookFn>,
        ctx: &mut Context,
        message_type: u8,
        packet: &Ingress<'_>,
    ) -> HookResult<R> {
        let Some(f) = f else {
            return Ok(Action::Continue);
        };
        SCRATCH.with_borrow_mut(|s| {
            let pref = s.prepare(R::FAMILY, message_type, packet);
            let mut response = MessageBuf {
                data: s.out.as_mut_ptr(),
                len: 0,
                capacity: s.out.len(),
            };
            // SAFETY: the instance is live; the context, packet and buffers outlive the
            // call and `response` describes `s.out` with its real capacity.
            let code = unsafe {
                f(
                    self.instance,
                    ctx_ref(ctx),
                    &pref,
                    &mut response,
                    &mut s.err,
                )
            };
            match code {
                ZT_RESPOND => {
                    let len = response.len.min(s.out.len());
                    let mut reply = R::from_wire(Vec::new());
                    reply.replace_from_wire(&s.out[..len])?;
                    Ok(Action::Respond(Box::new(reply)))
                }
                other => action(other, &s.err),
            }
        })
    }

    /// A `reply_ready` hook: the plugin may rewrite the reply in place.
    fn ready<R: WireReply>(
        &self,
        f: Option<PacketHookFn>,
        ctx: &mut Context,
        message_type: u8,
        packet: &Ingress<'_>,
        reply: &mut R,
    ) -> HookResult<R> {
        let Some(f) = f else {
            return Ok(Action::Continue);
        };
        SCRATCH.with_borrow_mut(|s| {
            let pref = s.prepare(R::FAMILY, message_type, packet);
            s.wire.clear();
            reply.write_wire(&mut s.wire);
            let n = s.wire.len();
            if s.out.len() < n {
                s.out.resize(n, 0);
            }
            s.out[..n].copy_from_slice(&s.wire);
            let mut msg = MessageBuf {
                data: s.out.as_mut_ptr(),
                len: n,
                capacity: s.out.len(),
            };
            // SAFETY: as for `received`; `msg` describes `s.out` and its capacity.
            let code = unsafe { f(self.instance, ctx_ref(ctx), &pref, &mut msg, &mut s.err) };
            if code == ZT_ERROR {
                return Err(failure(&s.err));
            }
            let len = msg.len.min(s.out.len());
            if s.out[..len] != s.wire[..] {
                reply.replace_from_wire(&s.out[..len])?;
            }
            match code {
                ZT_RESPOND => Ok(Action::SkipRest),
                other => action(other, &s.err),
            }
        })
    }
}

impl DynPlugin for DynamicPlugin {
    fn hooks(&self) -> HookSet {
        self.hooks
    }

    fn packet_received4(&self, ctx: &mut Context, packet: &Packet4<'_>) -> HookResult<Reply4> {
        let t = packet.message_type().to_u8();
        self.received(self.table.packet_received4, ctx, t, &packet.ingress)
    }

    fn reply_ready4(
        &self,
        ctx: &mut Context,
        packet: &Packet4<'_>,
        reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        let t = packet.message_type().to_u8();
        self.ready(self.table.reply_ready4, ctx, t, &packet.ingress, reply)
    }

    fn packet_received6(&self, ctx: &mut Context, packet: &Packet6<'_>) -> HookResult<Reply6> {
        let t = packet.message_type().to_u8();
        self.received(self.table.packet_received6, ctx, t, &packet.ingress)
    }

    fn reply_ready6(
        &self,
        ctx: &mut Context,
        packet: &Packet6<'_>,
        reply: &mut Reply6,
    ) -> HookResult<Reply6> {
        let t = packet.message_type().to_u8();
        self.ready(self.table.reply_ready6, ctx, t, &packet.ingress, reply)
    }

    fn lease_event(&self, event: LeaseEvent, lease: &LeaseInfo) -> Result<(), PluginError> {
        let Some(f) = self.table.lease_event else {
            return Ok(());
        };
        let mut address = [0u8; 16];
        let family = match lease.address {
            IpAddr::V4(a) => {
                address[..4].copy_from_slice(&a.octets());
                4
            }
            IpAddr::V6(a) => {
                address = a.octets();
                6
            }
        };
        let mut hwaddr = [0u8; 16];
        let n = lease.hwaddr.len().min(16);
        hwaddr[..n].copy_from_slice(&lease.hwaddr[..n]);
        let hostname = lease.hostname.as_deref().and_then(|h| CString::new(h).ok());
        let lref = LeaseRef {
            family,
            state: lease.state as u8,
            htype: lease.htype,
            hwaddr_len: n as u8,
            reserved: [0; 4],
            address,
            hwaddr,
            client_id: lease
                .client_id
                .as_ref()
                .map_or(std::ptr::null(), |c| c.as_ptr()),
            client_id_len: lease.client_id.as_ref().map_or(0, |c| c.len()),
            starts: lease.starts,
            expires: lease.expires,
            hostname: hostname.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
        };
        SCRATCH.with_borrow_mut(|s| {
            s.err.message[0] = 0;
            // SAFETY: the instance is live; `lref` and the strings it points to (client
            // id, hostname) outlive the call.
            let code = unsafe { f(self.instance, event as u32, &lref, &mut s.err) };
            if code == ZT_ERROR {
                return Err(failure(&s.err));
            }
            Ok(())
        })
    }
}

fn action<R>(code: i32, err: &ErrorBuf) -> HookResult<R> {
    match code {
        ZT_CONTINUE => Ok(Action::Continue),
        ZT_SKIP_REST => Ok(Action::SkipRest),
        ZT_DROP => Ok(Action::Drop),
        ZT_ERROR => Err(failure(err)),
        other => Err(PluginError::new(format!("returned unknown code {other}"))),
    }
}

impl std::fmt::Debug for DynamicPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicPlugin")
            .field("name", &self.name)
            .finish()
    }
}

// ---- callbacks the server offers plugins (HostApi) ----

/// # Safety
/// `ctx` is null or the `ContextRef` the server handed to the hook being run.
unsafe fn context<'a>(ctx: *mut ContextRef) -> Option<&'a mut Context> {
    // SAFETY: a ContextRef is a `Context` the server passed by pointer (`ctx_ref`),
    // valid and not otherwise borrowed while the hook runs.
    unsafe { (ctx as *mut Context).as_mut() }
}

/// # Safety
/// `name` is null or a NUL-terminated string that outlives `'a`.
unsafe fn c_name<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, as the caller promises.
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

unsafe extern "C" fn context_get(
    ctx: *mut ContextRef,
    name: *const c_char,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: the ABI passes the hook's context and a NUL-terminated name.
    let value = unsafe { context(ctx) }
        // SAFETY: as above.
        .zip(unsafe { c_name(name) })
        .and_then(|(c, n)| c.value(n));
    match value {
        Some(v) => {
            // SAFETY: `len` is null or points to a usize the caller owns.
            if let Some(len) = unsafe { len.as_mut() } {
                *len = v.len();
            }
            v.as_ptr()
        }
        None => std::ptr::null(),
    }
}

unsafe extern "C" fn context_set(
    ctx: *mut ContextRef,
    name: *const c_char,
    data: *const u8,
    len: usize,
) {
    // SAFETY: the ABI passes the hook's context and a NUL-terminated name.
    let c = unsafe { context(ctx) };
    // SAFETY: as above.
    let n = unsafe { c_name(name) };
    if let (Some(c), Some(n)) = (c, n) {
        let value = if data.is_null() {
            &[][..]
        } else {
            // SAFETY: the ABI: `data` points to `len` readable octets for the call.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        c.set_value(n, value);
    }
}

unsafe extern "C" fn context_each(
    ctx: *mut ContextRef,
    each: unsafe extern "C" fn(*mut c_void, *const c_char, *const u8, usize),
    user: *mut c_void,
) {
    // SAFETY: the ABI passes the hook's context.
    let Some(c) = (unsafe { context(ctx) }) else {
        return;
    };
    for (name, value) in c.values() {
        if let Ok(name) = CString::new(name) {
            // SAFETY: the plugin's callback with its own `user`; the name and value
            // live until it returns.
            unsafe { each(user, name.as_ptr(), value.as_ptr(), value.len()) };
        }
    }
}

unsafe extern "C" fn host_log(handle: *const c_void, level: u32, message: *const c_char) {
    // SAFETY: the handle is the instance's NUL-terminated name the server gave it.
    let plugin = unsafe { c_name(handle as *const c_char) }.unwrap_or("?");
    // SAFETY: the ABI: a NUL-terminated message, or null.
    let Some(message) = (unsafe { c_name(message) }) else {
        return;
    };
    match level {
        ZT_LOG_ERROR => error!(plugin, "{message}"),
        ZT_LOG_WARN => warn!(plugin, "{message}"),
        ZT_LOG_INFO => info!(plugin, "{message}"),
        _ => debug!(plugin, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_a_clear_error() {
        let Err(CreateError::Load(e)) = DynamicPlugin::load(
            Path::new("/nonexistent/libnope.so"),
            "nope",
            "nope",
            &Settings::standalone("", "nope"),
        ) else {
            panic!("expected a load error");
        };
        assert!(
            e.to_string()
                .starts_with("cannot load plugin /nonexistent/libnope.so"),
            "{e}"
        );
    }

    #[test]
    fn context_callbacks_round_trip() {
        let mut c = Context::new();
        let name = CString::new("site").unwrap();
        // SAFETY: a live context, a NUL-terminated name and 3 readable octets.
        unsafe { context_set(ctx_ref(&mut c), name.as_ptr(), b"lab".as_ptr(), 3) };
        let mut len = 0;
        // SAFETY: as above; `len` is a live usize.
        let p = unsafe { context_get(ctx_ref(&mut c), name.as_ptr(), &mut len) };
        // SAFETY: context_get returned the value's pointer and length, still owned by `c`.
        assert_eq!(unsafe { std::slice::from_raw_parts(p, len) }, b"lab");
        let missing = CString::new("none").unwrap();
        // SAFETY: as above.
        assert!(unsafe { context_get(ctx_ref(&mut c), missing.as_ptr(), &mut len) }.is_null());
    }
}
