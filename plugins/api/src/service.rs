//! What a plugin's own services (listeners, tasks) get from the server.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use crate::{Artifacts, EventBus, LeaseInfo, PluginError, SubnetInfo};

/// Read access to the lease table (the durable store, not the packet thread's index:
/// reading never slows the packet path).
pub trait LeaseReader: Send + Sync {
    /// Every lease that is not expired, of both families (a delegated prefix as its
    /// first address).
    fn current(&self) -> Result<Vec<LeaseInfo>, PluginError>;
    /// The lease of an IPv4 address, or of an IPv6 address given by IA_NA.
    fn by_address(&self, address: IpAddr) -> Result<Option<LeaseInfo>, PluginError>;
}

/// Read access to the server's configuration and counters.
pub trait ServerView: Send + Sync {
    /// The configuration file the server runs from.
    fn config_file(&self) -> &Path;
    /// The DHCPv4 subnets in configuration order, then the DHCPv6 ones.
    fn subnets(&self) -> &[SubnetInfo];
    /// The server's counters by name (`received`, `drop_truncated` ...).
    fn counters(&self) -> Vec<(String, u64)>;
}

/// Handed to [`crate::Plugin::start`].
#[derive(Clone)]
pub struct ServiceHost {
    /// A multi-threaded runtime shared by every plugin's services.
    pub runtime: tokio::runtime::Handle,
    /// The leases of both families, read from the server's lease store.
    pub leases: Arc<dyn LeaseReader>,
    /// The server's configuration and counters.
    pub server: Arc<dyn ServerView>,
    /// Events between plugins (progress of SZTP devices ...): publish and subscribe.
    pub events: EventBus,
    /// Devices' SZTP artifacts, provided by the bootstrap plugin, for the DNS plugin.
    pub artifacts: Artifacts,
}

impl ServiceHost {
    /// A TCP listener for a service on the shared runtime. It is bound here, not in the
    /// service's task, so an address in use fails the start (or reload) with a reason.
    pub fn bind_tcp(&self, address: SocketAddr) -> Result<tokio::net::TcpListener, PluginError> {
        let listener = std::net::TcpListener::bind(address)
            .map_err(|e| PluginError::new(format!("cannot listen on {address}: {e}")))?;
        listener.set_nonblocking(true)?;
        let _guard = self.runtime.enter();
        Ok(tokio::net::TcpListener::from_std(listener)?)
    }
}
