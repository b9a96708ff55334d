//! The plugin's settings (`[plugin.settings]` of its `[[plugin]]` entry), validated
//! whole at load: every file named must exist and keys and certificates must load, and
//! each error names its key. Device record files share the `[[device]]` format.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zerotouch_plugin::{Settings, SettingsError};

use crate::cms::Signer;
use crate::responses::{
    BootImageSpec, Content, Device, Match, OnboardingSpec, Pattern, ReportingLevel, Response,
    ServerSpec,
};
use crate::secret::SecretHash;

const DEFAULT_LISTEN: &str = "[::]:8443";
pub const DEFAULT_REPORTS: &str = "/var/lib/zerotouch/bootstrap.sqlite";
const DEFAULT_MAX_BODY: usize = 65_536;

/// Whether a device must present a TLS client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientCertificate {
    #[default]
    Required,
    /// Devices without one authenticate with HTTP Basic and their secret.
    Optional,
}

/// Where the serial number may come from when the subject has no `serialNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SerialFallback {
    /// The subject's common name (CN).
    CommonName,
    /// The value of the subject's last RDN (as sztpd reads it).
    LastRdn,
}

/// The fallbacks tried in turn: `serial_fallback = "none"`, one name, or a list. The
/// default, common name then last RDN, accepts the vendor certificates seen in the
/// field (serialNumber, CN=serial, or the serial last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialFallbacks(pub Vec<SerialFallback>);

impl Default for SerialFallbacks {
    fn default() -> Self {
        SerialFallbacks(vec![SerialFallback::CommonName, SerialFallback::LastRdn])
    }
}

impl<'de> Deserialize<'de> for SerialFallbacks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<SerialFallback>),
        }
        match Raw::deserialize(d)? {
            Raw::Many(list) => Ok(SerialFallbacks(list)),
            Raw::One(s) if s == "none" => Ok(SerialFallbacks(Vec::new())),
            Raw::One(s) => {
                let one = SerialFallback::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&s))
                    .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a serial fallback, expected \"none\", \"common-name\", \"last-rdn\" or a list of the last two")))?;
                Ok(SerialFallbacks(vec![one]))
            }
        }
    }
}

/// When conveyed information is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignPolicy {
    /// When the device sends `signed-data-preferred`.
    #[default]
    WhenPreferred,
    /// Whenever the device has a voucher.
    Always,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_listen")]
    listen: Vec<SocketAddr>,
    certificate: String,
    private_key: String,
    #[serde(default)]
    device_ca: Vec<String>,
    #[serde(default)]
    client_certificate: ClientCertificate,
    #[serde(default)]
    serial_fallback: SerialFallbacks,
    #[serde(default)]
    accept_unlisted_devices: bool,
    #[serde(default)]
    device: Vec<DeviceRaw>,
    devices_dir: Option<String>,
    #[serde(default)]
    response: Vec<ResponseRaw>,
    signing: Option<SigningRaw>,
    ldevid: Option<LdevidRaw>,
    #[serde(default = "default_reports")]
    reports_database: String,
    status_listen: Option<SocketAddr>,
    images_dir: Option<String>,
    #[serde(default = "default_max_body")]
    max_body_bytes: usize,
    #[serde(default = "default_auth_failures")]
    auth_failures_per_minute: u32,
    #[serde(default)]
    reporting_level: ReportingLevel,
}

fn default_auth_failures() -> u32 {
    DEFAULT_AUTH_FAILURES
}

/// Failed authentications an address may have in a minute before it is answered 429.
pub const DEFAULT_AUTH_FAILURES: u32 = 10;

fn default_listen() -> Vec<SocketAddr> {
    vec![DEFAULT_LISTEN.parse().expect("valid default")]
}
fn default_reports() -> String {
    DEFAULT_REPORTS.into()
}
fn default_max_body() -> usize {
    DEFAULT_MAX_BODY
}

/// A `[[device]]` entry, or a device record file (`<devices_dir>/<serial>.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRaw {
    serial: Option<String>,
    secret: Option<String>,
    response: Option<String>,
    reporting_level: Option<ReportingLevel>,
    redirect: Option<Vec<ServerRaw>>,
    onboarding: Option<OnboardingRaw>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseRaw {
    name: String,
    #[serde(default, rename = "match")]
    matches: MatchRaw,
    reporting_level: Option<ReportingLevel>,
    redirect: Option<Vec<ServerRaw>>,
    onboarding: Option<OnboardingRaw>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchRaw {
    serial: Option<String>,
    hw_model: Option<String>,
    os_name: Option<String>,
    os_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerRaw {
    address: String,
    port: Option<u16>,
    trust_anchor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnboardingRaw {
    boot_image: Option<BootImageRaw>,
    configuration_handling: Option<Handling>,
    configuration: Option<String>,
    pre_configuration_script: Option<String>,
    post_configuration_script: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Handling {
    Merge,
    Replace,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootImageRaw {
    os_name: Option<String>,
    os_version: Option<String>,
    #[serde(default)]
    download_uri: Vec<String>,
    sha256: Option<String>,
    /// The image itself: its SHA-256 is computed (and recomputed when it changes).
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningRaw {
    owner_certificate: String,
    owner_key: String,
    vouchers_dir: String,
    #[serde(default)]
    sign: SignPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LdevidRaw {
    ca_certificate: String,
    ca_key: String,
    #[serde(default = "default_ldevid_days")]
    validity_days: u32,
    #[serde(default = "default_ldevid_name")]
    key_name: String,
}

fn default_ldevid_days() -> u32 {
    365
}

fn default_ldevid_name() -> String {
    "ldevid".into()
}

/// Certificates issued to devices that ask while they bootstrap (RFC 9646).
#[derive(Debug, Clone)]
pub struct Ldevid {
    /// The CA that signs them, with its chain.
    pub ca: Signer,
    pub validity_days: u64,
    /// The keystore name of the key and certificate on the device.
    pub key_name: String,
}

/// Owner signing material.
#[derive(Debug, Clone)]
pub struct Signing {
    pub signer: Signer,
    /// `<serial>.vcj`: each device's ownership voucher (DER CMS).
    pub vouchers_dir: PathBuf,
    pub policy: SignPolicy,
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct BootstrapConfig {
    pub listen: Vec<SocketAddr>,
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub device_ca: Vec<PathBuf>,
    pub client_certificate: ClientCertificate,
    pub serial_fallback: SerialFallbacks,
    pub accept_unlisted_devices: bool,
    pub devices: HashMap<String, Device>,
    pub devices_dir: Option<PathBuf>,
    pub responses: Vec<Response>,
    pub signing: Option<Signing>,
    pub ldevid: Option<Ldevid>,
    pub reports_database: PathBuf,
    pub status_listen: Option<SocketAddr>,
    pub images_dir: Option<PathBuf>,
    pub max_body_bytes: usize,
    /// Failed authentications per source address and minute before 429 (0: no limit).
    pub auth_failures_per_minute: u32,
    pub reporting_level: ReportingLevel,
}

/// A validation error: the key (relative to the entry) and what is wrong.
pub type KeyError = (String, String);

fn existing(base: &Path, path: &str, key: &str) -> Result<PathBuf, KeyError> {
    let p = base.join(path);
    if p.exists() {
        Ok(p)
    } else {
        Err((key.into(), format!("{} does not exist", p.display())))
    }
}

fn sha256_hex(text: &str, key: &str) -> Result<[u8; 32], KeyError> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 {
        return Err((
            key.into(),
            "expected 64 hex digits (SHA-256), colons allowed".into(),
        ));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(&hex, &mut out)
        .map_err(|e| (key.to_string(), format!("{text:?} is not hex: {e}")))?;
    Ok(out)
}

fn content(
    redirect: Option<Vec<ServerRaw>>,
    onboarding: Option<OnboardingRaw>,
    base: &Path,
    prefix: &str,
) -> Result<Option<Content>, KeyError> {
    let key = |k: &str| format!("{prefix}{k}");
    match (redirect, onboarding) {
        (Some(_), Some(_)) => Err((
            key("onboarding"),
            "a response is redirect or onboarding information, not both".into(),
        )),
        (None, None) => Ok(None),
        (Some(servers), None) => {
            if servers.is_empty() {
                return Err((key("redirect"), "lists no bootstrap server".into()));
            }
            let mut out = Vec::with_capacity(servers.len());
            for (i, s) in servers.into_iter().enumerate() {
                if s.address.is_empty() || s.address.contains(['/', ' ']) {
                    return Err((
                        key(&format!("redirect[{i}].address")),
                        "expected a host name or IP address".into(),
                    ));
                }
                let trust_anchor = match &s.trust_anchor {
                    None => None,
                    Some(p) => Some(existing(
                        base,
                        p,
                        &key(&format!("redirect[{i}].trust_anchor")),
                    )?),
                };
                out.push(ServerSpec {
                    address: s.address,
                    port: s.port,
                    trust_anchor,
                });
            }
            Ok(Some(Content::Redirect(out)))
        }
        (None, Some(o)) => {
            if o.configuration.is_some() != o.configuration_handling.is_some() {
                return Err((
                    key("onboarding.configuration_handling"),
                    "configuration and configuration_handling (merge or replace) go together"
                        .into(),
                ));
            }
            let file = |v: &Option<String>, k: &str| -> Result<Option<PathBuf>, KeyError> {
                v.as_deref()
                    .map(|p| existing(base, p, &key(&format!("onboarding.{k}"))))
                    .transpose()
            };
            let boot_image = match o.boot_image {
                None => None,
                Some(b) => {
                    let k = |s: &str| key(&format!("onboarding.boot_image.{s}"));
                    if (b.sha256.is_some() || b.file.is_some()) && b.download_uri.is_empty() {
                        return Err((
                            k("download_uri"),
                            "a verified image needs download URIs".into(),
                        ));
                    }
                    if b.sha256.is_some() && b.file.is_some() {
                        return Err((k("sha256"), "give sha256 or file, not both".into()));
                    }
                    for (i, uri) in b.download_uri.iter().enumerate() {
                        if !uri.contains("://") {
                            return Err((
                                k(&format!("download_uri[{i}]")),
                                "expected a URI (scheme://…)".into(),
                            ));
                        }
                    }
                    Some(BootImageSpec {
                        os_name: b.os_name,
                        os_version: b.os_version,
                        download_uri: b.download_uri,
                        sha256: b
                            .sha256
                            .as_deref()
                            .map(|h| sha256_hex(h, &k("sha256")))
                            .transpose()?,
                        file: b
                            .file
                            .as_deref()
                            .map(|p| existing(base, p, &k("file")))
                            .transpose()?,
                    })
                }
            };
            Ok(Some(Content::Onboarding(OnboardingSpec {
                boot_image,
                configuration_handling: o.configuration_handling.map(|h| match h {
                    Handling::Merge => "merge",
                    Handling::Replace => "replace",
                }),
                configuration: file(&o.configuration, "configuration")?,
                pre_configuration_script: file(
                    &o.pre_configuration_script,
                    "pre_configuration_script",
                )?,
                post_configuration_script: file(
                    &o.post_configuration_script,
                    "post_configuration_script",
                )?,
            })))
        }
    }
}

/// A serial number usable as a file name in `devices_dir` and `vouchers_dir`.
pub fn file_safe_serial(serial: &str) -> bool {
    !serial.is_empty()
        && serial.len() <= 128
        && !serial.starts_with('.')
        && serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

/// Compiles a device entry. `serial` is the file's name for record files.
pub fn compile_device(
    raw: DeviceRaw,
    serial: Option<&str>,
    base: &Path,
    prefix: &str,
) -> Result<Device, KeyError> {
    let key = |k: &str| format!("{prefix}{k}");
    let serial = match (raw.serial, serial) {
        (Some(s), Some(file)) if s != file => {
            return Err((
                key("serial"),
                format!("is {s:?}, and the file is named for {file:?}"),
            ));
        }
        (Some(s), _) => s,
        (None, Some(file)) => file.to_string(),
        (None, None) => {
            return Err((
                key("serial"),
                "missing: each device needs its serial number".into(),
            ));
        }
    };
    if serial.is_empty() {
        return Err((key("serial"), "is empty".into()));
    }
    let secret = raw
        .secret
        .as_deref()
        .map(|s| SecretHash::parse(s).map_err(|e| (key("secret"), e)))
        .transpose()?;
    let content = content(raw.redirect, raw.onboarding, base, prefix)?;
    if content.is_some() && raw.response.is_some() {
        return Err((
            key("response"),
            "name a response or give one inline, not both".into(),
        ));
    }
    Ok(Device {
        serial,
        secret,
        response: raw.response,
        content,
        reporting_level: raw.reporting_level,
    })
}

/// Reads a device record file.
pub fn read_device_file(path: &Path, serial: &str) -> Result<Device, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: DeviceRaw = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    compile_device(raw, Some(serial), base, "")
        .map_err(|(k, m)| format!("{}: {k}: {m}", path.display()))
}

impl BootstrapConfig {
    pub fn read(settings: &Settings) -> Result<Self, SettingsError> {
        let raw: Raw = settings.parse()?;
        let base = settings
            .config_file()
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let fail = |(k, m): KeyError| settings.error(k, m);
        if raw.listen.is_empty() {
            return Err(settings.error("listen", "is empty: list at least one address:port"));
        }
        let certificate = existing(&base, &raw.certificate, "certificate").map_err(fail)?;
        let private_key = existing(&base, &raw.private_key, "private_key").map_err(fail)?;
        let device_ca = raw
            .device_ca
            .iter()
            .enumerate()
            .map(|(i, p)| existing(&base, p, &format!("device_ca[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        if device_ca.is_empty() && raw.client_certificate == ClientCertificate::Required {
            return Err(settings.error(
                "device_ca",
                "is empty, and client_certificate is \"required\": list the manufacturer CAs that issue IDevIDs, or set client_certificate = \"optional\" and give devices secrets",
            ));
        }
        let devices_dir = raw
            .devices_dir
            .as_deref()
            .map(|p| existing(&base, p, "devices_dir"))
            .transpose()
            .map_err(fail)?;
        let mut responses: Vec<Response> = Vec::new();
        for (i, r) in raw.response.into_iter().enumerate() {
            let prefix = format!("response[{i}].");
            if responses.iter().any(|x| x.name == r.name) {
                return Err(settings.error(
                    format!("{prefix}name"),
                    format!("{:?} is used twice", r.name),
                ));
            }
            let content = content(r.redirect, r.onboarding, &base, &prefix)
                .map_err(fail)?
                .ok_or_else(|| {
                    settings.error(format!("{prefix}name"), "needs redirect or onboarding")
                })?;
            let m = r.matches;
            responses.push(Response {
                name: r.name,
                matches: Match {
                    serial: m.serial.as_deref().map(Pattern::new),
                    hw_model: m.hw_model.as_deref().map(Pattern::new),
                    os_name: m.os_name.as_deref().map(Pattern::new),
                    os_version: m.os_version.as_deref().map(Pattern::new),
                },
                content,
                reporting_level: r.reporting_level,
            });
        }
        let mut devices = HashMap::new();
        for (i, d) in raw.device.into_iter().enumerate() {
            let prefix = format!("device[{i}].");
            let device = compile_device(d, None, &base, &prefix).map_err(fail)?;
            if let Some(name) = &device.response
                && !responses.iter().any(|r| &r.name == name)
            {
                return Err(settings.error(
                    format!("{prefix}response"),
                    format!("{name:?} is not the name of a [[response]]"),
                ));
            }
            if devices.contains_key(&device.serial) {
                return Err(settings.error(
                    format!("{prefix}serial"),
                    format!("{:?} is listed twice", device.serial),
                ));
            }
            devices.insert(device.serial.clone(), device);
        }
        // A certificate chain and its key, each named by its key for errors.
        let signer = |cert: &str, cert_key: &str, key: &str, key_key: &str| {
            let cert = existing(&base, cert, cert_key).map_err(fail)?;
            let key = existing(&base, key, key_key).map_err(fail)?;
            let read = |p: &Path, k: &str| {
                std::fs::read(p).map_err(|e| settings.error(k, format!("{}: {e}", p.display())))
            };
            let chain = read(&cert, cert_key)?;
            let key_pem = String::from_utf8_lossy(&read(&key, key_key)?).into_owned();
            Signer::from_pem(&chain, &key_pem).map_err(|e| settings.error(key_key, e.to_string()))
        };
        let signing = match raw.signing {
            None => None,
            Some(s) => Some(Signing {
                signer: signer(
                    &s.owner_certificate,
                    "signing.owner_certificate",
                    &s.owner_key,
                    "signing.owner_key",
                )?,
                vouchers_dir: existing(&base, &s.vouchers_dir, "signing.vouchers_dir")
                    .map_err(fail)?,
                policy: s.sign,
            }),
        };
        let ldevid = match raw.ldevid {
            None => None,
            Some(l) => {
                if l.validity_days == 0 {
                    return Err(settings.error("ldevid.validity_days", "must be at least 1"));
                }
                if l.key_name.is_empty() {
                    return Err(settings.error("ldevid.key_name", "must not be empty"));
                }
                Some(Ldevid {
                    ca: signer(
                        &l.ca_certificate,
                        "ldevid.ca_certificate",
                        &l.ca_key,
                        "ldevid.ca_key",
                    )?,
                    validity_days: l.validity_days.into(),
                    key_name: l.key_name,
                })
            }
        };
        if raw.max_body_bytes < 1024 {
            return Err(settings.error("max_body_bytes", "must be at least 1024"));
        }
        Ok(BootstrapConfig {
            listen: raw.listen,
            certificate,
            private_key,
            device_ca,
            client_certificate: raw.client_certificate,
            serial_fallback: raw.serial_fallback,
            accept_unlisted_devices: raw.accept_unlisted_devices,
            devices,
            devices_dir,
            responses,
            signing,
            ldevid,
            reports_database: base.join(&raw.reports_database),
            status_listen: raw.status_listen,
            images_dir: raw
                .images_dir
                .as_deref()
                .map(|p| existing(&base, p, "images_dir"))
                .transpose()
                .map_err(fail)?,
            max_body_bytes: raw.max_body_bytes,
            auth_failures_per_minute: raw.auth_failures_per_minute,
            reporting_level: raw.reporting_level,
        })
    }
}
