//! What plugin services see of the relay: no leases, and the relay's counters.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zerotouch_plugin::{LeaseInfo, LeaseReader, PluginError, ServerView, SubnetInfo};

use crate::counters::Counters;

/// A relay holds no leases.
pub(super) struct NoLeases;

impl LeaseReader for NoLeases {
    fn current(&self) -> Result<Vec<LeaseInfo>, PluginError> {
        Ok(Vec::new())
    }

    fn by_address(&self, _address: IpAddr) -> Result<Option<LeaseInfo>, PluginError> {
        Ok(None)
    }
}

pub(crate) struct RelayView {
    file: PathBuf,
    counters: Arc<Counters>,
}

impl RelayView {
    pub(crate) fn new(file: &Path, counters: Arc<Counters>) -> Self {
        RelayView {
            file: file.to_path_buf(),
            counters,
        }
    }
}

impl ServerView for RelayView {
    fn config_file(&self) -> &Path {
        &self.file
    }

    /// A relay serves no subnets of its own.
    fn subnets(&self) -> &[SubnetInfo] {
        &[]
    }

    /// `interface.event` counters, as SIGUSR1 logs them.
    fn counters(&self) -> Vec<(String, u64)> {
        self.counters.all()
    }
}
