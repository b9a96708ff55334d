//! The devices' artifacts for other plugins: what `get-bootstrapping-data` would send a
//! device that prefers signed data and says nothing else about itself (JSON conveyed
//! information), which the DNS plugin serves as the device's TXT record (RFC 8572
//! §4.2). Only for a device the server would authenticate: listed, or any when
//! `accept_unlisted_devices` is set.

use std::sync::Arc;

use tracing::debug;
use zerotouch_plugin::{ArtifactSource, DeviceArtifacts};

use super::Shared;
use super::rpc::{build, lookup};
use crate::restconf::Encoding;
use crate::restconf::input::BootstrapInput;

/// The bootstrap server as other plugins' source of artifacts.
pub(crate) struct ForOthers(pub(crate) Arc<Shared>);

impl ArtifactSource for ForOthers {
    fn artifacts(&self, serial: &str) -> Option<DeviceArtifacts> {
        let active = self.0.active();
        let device = lookup(&active.config, serial).ok()?;
        if device.is_none() && !active.config.accept_unlisted_devices {
            return None;
        }
        let input = BootstrapInput {
            signed_data_preferred: true,
            ..Default::default()
        };
        match build(
            &active,
            &self.0,
            serial,
            device.as_ref(),
            &input,
            Encoding::Json,
        ) {
            Ok(built) => Some(DeviceArtifacts {
                conveyed_information: built.output.conveyed_information,
                owner_certificate: built.output.owner_certificate,
                ownership_voucher: built.output.ownership_voucher,
            }),
            Err(e) => {
                debug!(
                    serial,
                    "bootstrap: no artifacts for other plugins: {}", e.message
                );
                None
            }
        }
    }
}
