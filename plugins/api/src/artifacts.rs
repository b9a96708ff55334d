//! SZTP artifacts one plugin holds per device, for another to serve: the embedded
//! bootstrap server's conveyed information (signed by the owner), owner certificate and
//! ownership voucher, which the DNS plugin serves as the device's `<serial>._sztp` TXT
//! record (RFC 8572 §4.2). One source at a time: the first plugin instance to provide
//! one, until it withdraws it when it stops.

use std::sync::{Arc, RwLock};

/// A device's artifacts, each as the RESTCONF API would carry it (DER CMS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceArtifacts {
    /// Conveyed information: signed, or unsigned redirect information.
    pub conveyed_information: Vec<u8>,
    /// With signed conveyed information: the owner certificate (a certificates-only
    /// CMS of its chain) ...
    pub owner_certificate: Option<Vec<u8>>,
    /// ... and the device's ownership voucher (RFC 8366, CMS-signed).
    pub ownership_voucher: Option<Vec<u8>>,
}

/// What holds devices' artifacts.
pub trait ArtifactSource: Send + Sync {
    /// The artifacts of device `serial` as the source would send them to a device that
    /// says nothing about itself and prefers signed data; `None` when it has none to
    /// send that way (unknown device, onboarding information without a voucher ...).
    /// May read files: call it off the reactor or cache the result.
    fn artifacts(&self, serial: &str) -> Option<DeviceArtifacts>;
}

/// The source of artifacts, when a plugin provides one; cloning shares it.
#[derive(Clone, Default)]
pub struct Artifacts(Arc<RwLock<Option<Arc<dyn ArtifactSource>>>>);

impl std::fmt::Debug for Artifacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifacts")
            .field("provided", &self.source().is_some())
            .finish()
    }
}

impl Artifacts {
    /// Makes `source` the one asked from now on, unless another is in place: whether
    /// it now is.
    pub fn provide(&self, source: Arc<dyn ArtifactSource>) -> bool {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(source);
        true
    }

    /// Withdraws `source` (its plugin stopped), when it is the one in place.
    pub fn withdraw(&self, source: &Arc<dyn ArtifactSource>) {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        let same =
            |s: &Arc<dyn ArtifactSource>| std::ptr::addr_eq(Arc::as_ptr(s), Arc::as_ptr(source));
        if slot.as_ref().is_some_and(same) {
            *slot = None;
        }
    }

    fn source(&self) -> Option<Arc<dyn ArtifactSource>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The artifacts of `serial`, from the source in place.
    pub fn of(&self, serial: &str) -> Option<DeviceArtifacts> {
        self.source()?.artifacts(serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;
    impl ArtifactSource for One {
        fn artifacts(&self, serial: &str) -> Option<DeviceArtifacts> {
            (serial == "SN-1").then(|| DeviceArtifacts {
                conveyed_information: b"ci".to_vec(),
                owner_certificate: None,
                ownership_voucher: None,
            })
        }
    }

    #[test]
    fn artifacts_come_from_the_source_in_place_and_none_after_it_is_withdrawn() {
        let artifacts = Artifacts::default();
        assert_eq!(artifacts.of("SN-1"), None);
        let shared = artifacts.clone();
        let (one, other): (Arc<dyn ArtifactSource>, Arc<dyn ArtifactSource>) =
            (Arc::new(One), Arc::new(One));
        assert!(shared.provide(one.clone()));
        assert!(
            !shared.provide(other.clone()),
            "a second source took the place"
        );
        assert_eq!(
            artifacts.of("SN-1").map(|a| a.conveyed_information),
            Some(b"ci".to_vec())
        );
        assert_eq!(artifacts.of("SN-2"), None);
        shared.withdraw(&other);
        assert!(
            artifacts.of("SN-1").is_some(),
            "another's withdrawal removed it"
        );
        shared.withdraw(&one);
        assert_eq!(artifacts.of("SN-1"), None);
        assert!(shared.provide(other));
    }
}
