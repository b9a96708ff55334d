//! What a device gets: its own entry (a record file in `devices_dir`, re-read on every
//! request, or a `[[device]]` entry), else the first `[[response]]` whose match fits the
//! device's serial number and what it says of itself (hw-model, os-name, os-version).
//! Files a response names (configuration, scripts, trust anchors, images) are read when
//! a device asks, so editing them needs no restart.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use ring::digest::{Context, SHA256};
use serde::Deserialize;
use x509_cert::Certificate;

use crate::cms;
use crate::conveyed::{BootImage, BootstrapServer, Conveyed, Onboarding};
use crate::identity::KnownDevice;
use crate::restconf::input::BootstrapInput;
use crate::secret::SecretHash;

/// `reporting-level` (RFC 8572 §7.2): which progress reports the server wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportingLevel {
    #[default]
    Minimal,
    Verbose,
}

impl ReportingLevel {
    pub fn name(self) -> &'static str {
        match self {
            ReportingLevel::Minimal => "minimal",
            ReportingLevel::Verbose => "verbose",
        }
    }
}

/// An exact value, or a prefix when it ends in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    pub fn new(text: &str) -> Self {
        match text.strip_suffix('*') {
            Some(p) => Pattern {
                text: p.into(),
                prefix: true,
            },
            None => Pattern {
                text: text.into(),
                prefix: false,
            },
        }
    }

    fn matches(&self, value: Option<&str>) -> bool {
        match value {
            None => false,
            Some(v) if self.prefix => v.starts_with(&self.text),
            Some(v) => v == self.text,
        }
    }
}

/// Every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub serial: Option<Pattern>,
    pub hw_model: Option<Pattern>,
    pub os_name: Option<Pattern>,
    pub os_version: Option<Pattern>,
}

impl Match {
    fn fits(&self, serial: &str, input: &BootstrapInput) -> bool {
        let check = |p: &Option<Pattern>, v: Option<&str>| p.as_ref().is_none_or(|p| p.matches(v));
        check(&self.serial, Some(serial))
            && check(&self.hw_model, input.hw_model.as_deref())
            && check(&self.os_name, input.os_name.as_deref())
            && check(&self.os_version, input.os_version.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub address: String,
    pub port: Option<u16>,
    /// A PEM chain ending in a self-signed root.
    pub trust_anchor: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootImageSpec {
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub download_uri: Vec<String>,
    pub sha256: Option<[u8; 32]>,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingSpec {
    pub boot_image: Option<BootImageSpec>,
    pub configuration_handling: Option<&'static str>,
    pub configuration: Option<PathBuf>,
    pub pre_configuration_script: Option<PathBuf>,
    pub post_configuration_script: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Redirect(Vec<ServerSpec>),
    Onboarding(OnboardingSpec),
}

#[derive(Debug, Clone)]
pub struct Response {
    pub name: String,
    pub matches: Match,
    pub content: Content,
    pub reporting_level: Option<ReportingLevel>,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub serial: String,
    pub secret: Option<SecretHash>,
    /// A `[[response]]` by name.
    pub response: Option<String>,
    /// Or a response of its own.
    pub content: Option<Content>,
    pub reporting_level: Option<ReportingLevel>,
}

impl KnownDevice for Device {
    fn secret(&self) -> Option<&SecretHash> {
        self.secret.as_ref()
    }
}

/// The response chosen for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen<'a> {
    /// The `[[response]]` name, or `device <serial>` for a device's own.
    pub name: String,
    pub content: &'a Content,
    pub reporting_level: Option<ReportingLevel>,
}

/// The response for an authenticated device, if one applies.
pub fn choose<'a>(
    device: Option<&'a Device>,
    responses: &'a [Response],
    serial: &str,
    input: &BootstrapInput,
) -> Result<Option<Chosen<'a>>, String> {
    if let Some(d) = device {
        if let Some(content) = &d.content {
            return Ok(Some(Chosen {
                name: format!("device {}", d.serial),
                content,
                reporting_level: d.reporting_level,
            }));
        }
        if let Some(name) = &d.response {
            let r = responses.iter().find(|r| &r.name == name).ok_or_else(|| {
                format!("device {serial:?} names response {name:?}, which is not defined")
            })?;
            return Ok(Some(Chosen {
                name: r.name.clone(),
                content: &r.content,
                reporting_level: d.reporting_level.or(r.reporting_level),
            }));
        }
    }
    Ok(responses
        .iter()
        .find(|r| r.matches.fits(serial, input))
        .map(|r| Chosen {
            name: r.name.clone(),
            content: &r.content,
            reporting_level: device.and_then(|d| d.reporting_level).or(r.reporting_level),
        }))
}

/// A file's size and modification time: while they stay, its hash stays.
type Stamp = (u64, SystemTime);

/// SHA-256 of boot images, kept while the file's size and time stay the same.
#[derive(Debug, Default)]
pub struct ImageHashes {
    known: Mutex<HashMap<PathBuf, (Stamp, [u8; 32])>>,
}

impl ImageHashes {
    pub fn sha256(&self, path: &PathBuf) -> std::io::Result<[u8; 32]> {
        let meta = std::fs::metadata(path)?;
        let stamp = (meta.len(), meta.modified()?);
        if let Ok(known) = self.known.lock()
            && let Some((known_stamp, hash)) = known.get(path)
            && *known_stamp == stamp
        {
            return Ok(*hash);
        }
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Context::new(&SHA256);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf)? {
                0 => break,
                n => hasher.update(&buf[..n]),
            }
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(hasher.finish().as_ref());
        if let Ok(mut known) = self.known.lock() {
            known.insert(path.clone(), (stamp, hash));
        }
        Ok(hash)
    }
}

fn read(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, String> {
    path.as_ref()
        .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .transpose()
}

impl Content {
    /// The conveyed information, with the files it names read now. Blocking I/O.
    pub fn conveyed(&self, images: &ImageHashes) -> Result<Conveyed, String> {
        match self {
            Content::Redirect(servers) => {
                let mut out = Vec::with_capacity(servers.len());
                for s in servers {
                    let trust_anchor = match &s.trust_anchor {
                        None => None,
                        Some(p) => {
                            let pem =
                                std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
                            let chain = Certificate::load_pem_chain(&pem)
                                .map_err(|e| format!("{}: {e}", p.display()))?;
                            Some(cms::certificates_only(&chain).map_err(|e| e.to_string())?)
                        }
                    };
                    out.push(BootstrapServer {
                        address: s.address.clone(),
                        port: s.port,
                        trust_anchor,
                    });
                }
                Ok(Conveyed::Redirect(out))
            }
            Content::Onboarding(o) => {
                let boot_image = match &o.boot_image {
                    None => None,
                    Some(b) => Some(BootImage {
                        os_name: b.os_name.clone(),
                        os_version: b.os_version.clone(),
                        download_uri: b.download_uri.clone(),
                        sha256: match &b.file {
                            Some(f) => Some(
                                images
                                    .sha256(f)
                                    .map_err(|e| format!("{}: {e}", f.display()))?,
                            ),
                            None => b.sha256,
                        },
                    }),
                };
                Ok(Conveyed::Onboarding(Onboarding {
                    boot_image,
                    configuration_handling: o.configuration_handling,
                    pre_configuration_script: read(&o.pre_configuration_script)?,
                    configuration: read(&o.configuration)?,
                    post_configuration_script: read(&o.post_configuration_script)?,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(name: &str, m: Match) -> Response {
        Response {
            name: name.into(),
            matches: m,
            content: Content::Redirect(vec![ServerSpec {
                address: name.into(),
                port: None,
                trust_anchor: None,
            }]),
            reporting_level: None,
        }
    }

    #[test]
    fn a_devices_own_entry_wins_then_the_first_matching_response() {
        let responses = vec![
            response(
                "model-x-2",
                Match {
                    hw_model: Some(Pattern::new("model-x")),
                    os_version: Some(Pattern::new("2.*")),
                    ..Default::default()
                },
            ),
            response(
                "lab-serials",
                Match {
                    serial: Some(Pattern::new("LAB-*")),
                    ..Default::default()
                },
            ),
            response("anything", Match::default()),
        ];
        let input = |model: &str, version: &str| BootstrapInput {
            hw_model: Some(model.into()),
            os_version: Some(version.into()),
            ..Default::default()
        };
        let pick = |d: Option<&Device>, serial: &str, i: &BootstrapInput| {
            choose(d, &responses, serial, i).unwrap().map(|c| c.name)
        };
        assert_eq!(
            pick(None, "SN1", &input("model-x", "2.4")).as_deref(),
            Some("model-x-2")
        );
        assert_eq!(
            pick(None, "LAB-3", &input("model-x", "1.0")).as_deref(),
            Some("lab-serials")
        );
        assert_eq!(
            pick(None, "SN1", &BootstrapInput::default()).as_deref(),
            Some("anything")
        );
        let named = Device {
            serial: "SN1".into(),
            secret: None,
            response: Some("lab-serials".into()),
            content: None,
            reporting_level: Some(ReportingLevel::Verbose),
        };
        let chosen = choose(Some(&named), &responses, "SN1", &BootstrapInput::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            (chosen.name.as_str(), chosen.reporting_level),
            ("lab-serials", Some(ReportingLevel::Verbose))
        );
        let own = Device {
            response: None,
            content: Some(responses[0].content.clone()),
            ..named.clone()
        };
        assert_eq!(
            pick(Some(&own), "SN1", &BootstrapInput::default()).as_deref(),
            Some("device SN1")
        );
        let dangling = Device {
            response: Some("gone".into()),
            ..named
        };
        assert!(
            choose(
                Some(&dangling),
                &responses,
                "SN1",
                &BootstrapInput::default()
            )
            .is_err()
        );
        assert_eq!(
            choose(None, &responses[..1], "SN1", &BootstrapInput::default()).unwrap(),
            None
        );
    }

    #[test]
    fn image_hashes_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image");
        std::fs::write(&path, b"abc").unwrap();
        let hashes = ImageHashes::default();
        let first = hashes.sha256(&path).unwrap();
        assert_eq!(first[..4], [0xba, 0x78, 0x16, 0xbf]);
        std::fs::write(&path, b"abcd").unwrap();
        assert_ne!(hashes.sha256(&path).unwrap(), first);
    }
}
