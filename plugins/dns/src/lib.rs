//! `dns`: an authoritative DNS server for the provisioning network, on hickory's DNS
//! types. It serves the zones of its settings over UDP and TCP: SOA and NS, the
//! bootstrap servers devices find by `_sztp._tcp.<zone>` SRV (with their addresses in
//! the additional section), each device's artifacts as `<serial>._sztp.<zone>` TXT
//! (RFC 8572 §4.2; from files or the bootstrap plugin), leased devices' names, and
//! plain names. Names outside its zones are refused. With `mdns`, a multicast DNS
//! responder publishes one zone's bootstrap servers and devices under `local.`.
//! `SIGHUP` rebuilds the zones (and reads the devices' files again) without a restart.
//!
//! Where a query goes: `transport` (UDP, TCP; bad input counted in `counts`) →
//! `server` (read, rate-limit in `rrl`, encode) → `zone` (the records; leased names
//! from `leased`, devices from `devices`). mDNS: `mdns`.

mod advertise;
mod counts;
mod devices;
mod forward;
mod leased;
mod mdns;
mod rrl;
mod server;
mod settings;
mod transport;
mod zone;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use tokio::task::JoinHandle;
use tracing::info;
use zerotouch_plugin::{
    Action, Cx, HookResult, Packet4, Packet6, Plugin, PluginError, Registration, Reply4, Reply6,
    ServiceHost, Settings, SettingsError,
};

pub use advertise::DnsScope;

use counts::Counts;
use leased::SharedLeased;
use server::{Handler, Shared};
use settings::DnsSettings;
use transport::TcpLimits;
use zone::Zones;

pub const REGISTRATION: Registration = Registration::of::<Dns>(
    "dns",
    "authoritative DNS for the SZTP discovery records (RFC 8572 §4.2): SRV, device TXT, names",
);

pub struct Dns {
    zones: Shared,
    /// The leased devices' names, when a zone has them.
    leased: SharedLeased,
    /// Devices' records from the bootstrap plugin's artifacts.
    devices: Arc<devices::Devices>,
    listen: Mutex<Vec<SocketAddr>>,
    running: Mutex<Option<Running>>,
    /// Whether some scope advertises this server: only then are its DHCP hooks called.
    advertised: zerotouch_plugin::ScopeSwitch,
    /// Response-rate limiting over UDP, with its counts.
    limiter: Arc<rrl::Limiter>,
    /// What the listeners received and refused, kept across reloads.
    counts: Arc<Counts>,
    /// The mDNS responder's interfaces and zone, as last read.
    mdns_settings: Mutex<Option<(Vec<String>, zone::Zone)>>,
    /// The mDNS responder, while it runs.
    mdns: Mutex<Option<mdns::Responder>>,
    mdns_counts: Arc<mdns::Counts>,
    /// Where names outside the zones go, when anywhere.
    forwarder: server::SharedForwarder,
    forward_counts: Arc<forward::Counts>,
}

/// The forwarder of the settings, when they have one.
fn forwarder(
    s: &DnsSettings,
    settings: &Settings,
    counts: &Arc<forward::Counts>,
) -> Result<Option<Arc<forward::Forwarder>>, SettingsError> {
    let Some(f) = &s.forward else {
        return Ok(None);
    };
    let timeout = std::time::Duration::from_secs(
        f.timeout.unwrap_or(settings::FORWARD_TIMEOUT).max(1).into(),
    );
    Ok(Some(Arc::new(forward::Forwarder::new(
        f.addresses(settings)?,
        f.clients.clone(),
        timeout,
        counts.clone(),
    ))))
}

/// The mDNS responder's interfaces and `local.` zone, when the settings have one.
fn mdns_settings(
    s: &DnsSettings,
    settings: &Settings,
) -> Result<Option<(Vec<String>, zone::Zone)>, SettingsError> {
    let (Some(m), Some((i, z))) = (&s.mdns, s.mdns_zone()) else {
        return Ok(None);
    };
    let ttl = m.ttl.unwrap_or(settings::MDNS_TTL);
    let local = zone::Zone::local(z, &format!("zone[{i}]"), ttl, settings)?;
    Ok(Some((m.interfaces.clone(), local)))
}

struct Running {
    host: ServiceHost,
    /// Its listeners; dropping them stops them.
    server: Option<transport::Listeners>,
    /// Follows the lease changes, when a zone has the leased devices' names.
    follower: Option<JoinHandle<()>>,
}

fn poisoned() -> PluginError {
    PluginError::new("dns: a lock was poisoned")
}

impl Dns {
    /// Serves `listen` with the zones as they are whenever a query comes.
    fn serve(
        &self,
        host: &ServiceHost,
        listen: &[SocketAddr],
    ) -> Result<transport::Listeners, PluginError> {
        let handler = Arc::new(Handler {
            zones: self.zones.clone(),
            leased: self.leased.clone(),
            devices: self.devices.clone(),
            limiter: self.limiter.clone(),
            counts: self.counts.clone(),
            forwarder: self.forwarder.clone(),
        });
        let task = transport::serve(host, listen, handler, TcpLimits::default())?;
        info!(listen = ?listen, "dns: serving");
        Ok(task)
    }
}

impl Dns {
    /// Runs `advertise` with this server's addresses and the domain `scope` advertises
    /// (its own, else the first zone's), when the scope advertises this server.
    fn advertise<R>(
        &self,
        scope: Option<&DnsScope>,
        advertise: impl FnOnce(&[SocketAddr], &str) -> Result<(), PluginError>,
    ) -> HookResult<R> {
        let Some(scope) = scope.filter(|s| s.advertise) else {
            return Ok(Action::Continue);
        };
        let first = || {
            self.zones
                .read()
                .ok()
                .and_then(|z| z.first_zone().map(|n| n.to_string()))
        };
        let Some(domain) = scope.domain.clone().or_else(first) else {
            return Ok(Action::Continue);
        };
        let listen = self.listen.lock().map_err(|_| poisoned())?;
        advertise(&listen, &domain)?;
        Ok(Action::Continue)
    }

    /// Applies the mDNS settings read on a reload: the same interfaces keep their
    /// sockets and publish the new zone; others start (or stop) the responder.
    fn reload_mdns(
        &self,
        next: Option<(Vec<String>, zone::Zone)>,
        settings: &Settings,
    ) -> Result<(), SettingsError> {
        let poisoned = || SettingsError::new("", "dns: a lock was poisoned");
        let host = (self.running.lock().map_err(|_| poisoned())?)
            .as_ref()
            .map(|r| r.host.clone());
        let Some(host) = host else {
            *self.mdns_settings.lock().map_err(|_| poisoned())? = next;
            return Ok(());
        };
        let mut mdns = self.mdns.lock().map_err(|_| poisoned())?;
        match (mdns.as_mut(), next) {
            (Some(r), Some((interfaces, zone))) if r.interfaces() == interfaces.as_slice() => {
                r.reload(&host, zone);
            }
            (_, next) => {
                if let Some(old) = mdns.take() {
                    old.stop();
                }
                if let Some((interfaces, zone)) = next {
                    let started = mdns::Responder::start(
                        &host,
                        &interfaces,
                        zone,
                        self.devices.clone(),
                        self.mdns_counts.clone(),
                    )
                    .map_err(|e| settings.error("mdns.interfaces", e.message()))?;
                    *mdns = Some(started);
                }
            }
        }
        Ok(())
    }

    /// Loads the current leases and follows their changes into the lease zone's
    /// names, when a zone has them.
    fn follow_leases(&self, host: &ServiceHost) -> Result<Option<JoinHandle<()>>, PluginError> {
        let zones = self.zones.read().map_err(|_| poisoned())?.clone();
        let Some(zone) = zones.lease_zone() else {
            *self.leased.write().map_err(|_| poisoned())? = Default::default();
            return Ok(None);
        };
        *self.leased.write().map_err(|_| poisoned())? = leased::Leased::under(zone);
        zerotouch_plugin::follow_leases(host, self.leased.clone()).map(Some)
    }
}

#[zerotouch_plugin::plugin]
impl Plugin for Dns {
    type Scope = DnsScope;

    fn check_scope(&self, scope: &DnsScope, settings: &Settings) -> Result<(), SettingsError> {
        if let Some(d) = &scope.domain {
            advertise::wire_name(d).map_err(|e| settings.error("domain", e.message()))?;
        }
        self.advertised.turn_on_if(scope.advertise);
        Ok(())
    }

    /// The DHCP hooks only where a scope advertises this server: a server that does not
    /// pays nothing on its packet path for it.
    fn serves(&self) -> zerotouch_plugin::HookSet {
        self.advertised.hooks(Self::HOOKS)
    }

    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        let s = DnsSettings::read(settings)?;
        let zones = Zones::build(&s, settings)?;
        let local = mdns_settings(&s, settings)?;
        let forward_counts = Arc::default();
        let forwarder = forwarder(&s, settings, &forward_counts)?;
        Ok(Dns {
            zones: Arc::new(RwLock::new(Arc::new(zones))),
            leased: SharedLeased::default(),
            devices: Arc::default(),
            listen: Mutex::new(s.listen),
            running: Mutex::new(None),
            advertised: Default::default(),
            limiter: Arc::new(rrl::Limiter::new(s.rate_limit)),
            counts: Arc::default(),
            mdns_settings: Mutex::new(local),
            mdns: Mutex::new(None),
            mdns_counts: Arc::default(),
            forwarder: Arc::new(RwLock::new(forwarder)),
            forward_counts,
        })
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let listen = self.listen.lock().map_err(|_| poisoned())?.clone();
        self.devices.follow(host.artifacts.clone());
        let follower = self.follow_leases(host)?;
        let server = self.serve(host, &listen)?;
        if let Some((interfaces, zone)) = self.mdns_settings.lock().map_err(|_| poisoned())?.take()
        {
            let responder = mdns::Responder::start(
                host,
                &interfaces,
                zone,
                self.devices.clone(),
                self.mdns_counts.clone(),
            )?;
            *self.mdns.lock().map_err(|_| poisoned())? = Some(responder);
        }
        *self.running.lock().map_err(|_| poisoned())? = Some(Running {
            host: host.clone(),
            server: Some(server),
            follower,
        });
        Ok(())
    }

    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        let s = DnsSettings::read(settings)?;
        let zones = Zones::build(&s, settings)?;
        let local = mdns_settings(&s, settings)?;
        let forwarder = forwarder(&s, settings, &self.forward_counts)?;
        let poisoned = || SettingsError::new("", "dns: a lock was poisoned");
        self.limiter.set(s.rate_limit);
        let mut listen = self.listen.lock().map_err(|_| poisoned())?;
        if *listen != s.listen {
            let mut running = self.running.lock().map_err(|_| poisoned())?;
            if let Some(r) = running.as_mut() {
                // The old listeners stop (their addresses free) before the new bind.
                r.server = None;
                r.server = Some(
                    self.serve(&r.host, &s.listen)
                        .map_err(|e| settings.error("listen", e.message()))?,
                );
            }
            *listen = s.listen;
        }
        *self.zones.write().map_err(|_| poisoned())? = Arc::new(zones);
        *self.forwarder.write().map_err(|_| poisoned())? = forwarder;
        self.devices.forget();
        self.reload_mdns(local, settings)?;
        // The lease zone may have changed: follow the leases into it from scratch.
        let mut running = self.running.lock().map_err(|_| poisoned())?;
        if let Some(r) = running.as_mut() {
            if let Some(f) = r.follower.take() {
                f.abort();
            }
            r.follower = self
                .follow_leases(&r.host)
                .map_err(|e| settings.error("zone", e.message()))?;
        }
        info!("dns: zones reloaded");
        Ok(())
    }

    /// `advertise` in a scope: options 6, 15 and 119 to its clients that ask.
    fn reply_ready4(
        &self,
        cx: &mut Cx<'_, Self>,
        packet: &Packet4<'_>,
        reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        self.advertise(cx.scope(), |listen, domain| {
            advertise::advertise4(reply, |c| packet.requested(c), listen, domain)
        })
    }

    /// `advertise` in a scope: DHCPv6 options 23 and 24 to its clients that ask.
    fn reply_ready6(
        &self,
        cx: &mut Cx<'_, Self>,
        packet: &Packet6<'_>,
        reply: &mut Reply6,
    ) -> HookResult<Reply6> {
        self.advertise(cx.scope(), |listen, domain| {
            advertise::advertise6(reply, |c| packet.requested(c), listen, domain)
        })
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut all = self.counts.all();
        all.extend(self.mdns_counts.all());
        all.extend(self.forward_counts.all());
        all.push((
            "rate_limited_dropped",
            self.limiter.dropped.load(Ordering::Relaxed),
        ));
        all.push((
            "rate_limited_truncated",
            self.limiter.slipped.load(Ordering::Relaxed),
        ));
        all
    }

    fn stop(&self) {
        info!(
            "dns: stopped {}",
            zerotouch_plugin::counters_line(&self.counters())
        );
        if let Ok(mut mdns) = self.mdns.lock()
            && let Some(r) = mdns.take()
        {
            r.stop();
        }
        if let Ok(mut running) = self.running.lock()
            && let Some(r) = running.take()
        {
            drop(r.server);
            if let Some(f) = r.follower {
                f.abort();
            }
        }
    }
}
