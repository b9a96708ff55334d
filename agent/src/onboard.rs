//! Onboarding as RFC 8572 §5.6 says, on a device simulated in directories: the boot
//! image (downloaded, its SHA-256 checked, installed, then a reboot into it), the
//! pre-configuration script, the configuration (committed whole: `replace` writes
//! `running.cfg` anew, `merge` appends to it), the post-configuration script, and
//! `bootstrap-complete` with the SSH host keys. A certificate the device asked for
//! (RFC 9646) comes in the configuration and is installed with it (`ldevid`).
//!
//! Progress reports go to the server the onboarding information came from, and only
//! when it was authenticated by TLS: `bootstrap-initiated` and the terminating ones
//! always, the `*-initiated` and `*-complete` of each step with `reporting-level =
//! verbose`. Every report, sent or not, is kept in the record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zerotouch_sztp::conveyed::BootImage;

use crate::client::{Client, Report, ServerTrust};
use crate::ldevid::{self, Installed};
use crate::log::{Log, Severity};
use crate::process::Found;

/// The largest boot image taken.
const MAX_IMAGE: usize = 1 << 30;

/// Where the simulated device keeps what onboarding gives it.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Installed boot images (`<os-name>-<os-version>.img`).
    pub images: PathBuf,
    /// The configuration (`running.cfg`).
    pub config: PathBuf,
    /// Scripts, written and run here.
    pub work: PathBuf,
    /// Certificates issued to the device (RFC 9646) and their keys.
    pub credentials: PathBuf,
}

/// What the device runs and holds.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// The RESTCONF client with the device's IDevID.
    pub client: &'a Client,
    /// The OS name and version it runs.
    pub running: (Option<String>, Option<String>),
    /// Its directories.
    pub dirs: &'a Dirs,
    /// Its SSH host keys (algorithm, RFC 4253 key data), for `bootstrap-complete`.
    pub ssh_host_keys: &'a [(String, Vec<u8>)],
    /// How long a script may run.
    pub script_timeout: Duration,
    /// Where each report is logged as it is made.
    pub log: Option<&'a Log>,
}

/// How onboarding ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new boot image is installed: the device reboots into it and bootstraps again.
    Rebooting {
        /// The OS it now runs.
        os_name: Option<String>,
        /// Its version.
        os_version: Option<String>,
    },
    /// Bootstrapping is complete.
    Complete {
        /// The certificate issued to the device on its request (RFC 9646), installed.
        ldevid: Option<Installed>,
    },
}

/// How onboarding failed: the error reported (`boot-image-error` ...) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{progress_type}: {reason}")]
pub struct Failure {
    /// The `*-error` progress type.
    pub progress_type: &'static str,
    /// What went wrong.
    pub reason: String,
}

/// One progress report, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Its progress type.
    pub progress_type: &'static str,
    /// Its message.
    pub message: Option<String>,
    /// Sent and answered 204; not sent (and why); or the server's refusal.
    pub outcome: Result<(), String>,
}

/// Runs the onboarding information of `found` on the device of `setup`; every report in
/// `record`.
pub async fn onboard(
    setup: &Setup<'_>,
    found: &Found,
    record: &mut Vec<Reported>,
) -> Result<Outcome, Failure> {
    let mut reporter = Reporter {
        setup,
        found,
        record,
        verbose: found.reporting_level == Some("verbose"),
    };
    reporter
        .must("bootstrap-initiated", None, "bootstrap-error")
        .await?;
    let steps = run(setup, found, &mut reporter).await;
    match steps {
        Ok(Outcome::Rebooting { .. }) => {
            reporter
                .must("boot-image-installed-rebooting", None, "boot-image-error")
                .await?;
            steps
        }
        Ok(Outcome::Complete { .. }) => {
            reporter.complete().await.map_err(|reason| Failure {
                progress_type: "bootstrap-error",
                reason,
            })?;
            steps
        }
        Err(failure) => {
            // Recorded; the failure stands whatever the server says.
            let _ = reporter
                .send(
                    failure.progress_type,
                    Some(failure.reason.clone()),
                    Vec::new(),
                )
                .await;
            Err(failure)
        }
    }
}

async fn run(
    setup: &Setup<'_>,
    found: &Found,
    r: &mut Reporter<'_, '_>,
) -> Result<Outcome, Failure> {
    let o = &found.onboarding;
    if let Some(image) = &o.boot_image
        && (image.os_name.clone(), image.os_version.clone()) != setup.running
    {
        r.verbose("boot-image-initiated").await;
        install(setup, image).await.map_err(|reason| Failure {
            progress_type: "boot-image-error",
            reason,
        })?;
        return Ok(Outcome::Rebooting {
            os_name: image.os_name.clone(),
            os_version: image.os_version.clone(),
        });
    }
    if let Some(script) = &o.pre_configuration_script {
        r.verbose("pre-script-initiated").await;
        run_script(setup, "pre-configuration-script", script)
            .await
            .map_err(|reason| Failure {
                progress_type: "pre-script-error",
                reason,
            })?;
        r.verbose("pre-script-complete").await;
    }
    let config_error = |reason| Failure {
        progress_type: "config-error",
        reason,
    };
    let mut ldevid = None;
    if let Some(config) = &o.configuration {
        r.verbose("config-initiated").await;
        let merge = o.configuration_handling == Some("merge");
        commit(&setup.dirs.config, config, merge).map_err(config_error)?;
        // The certificate comes with the configuration, as an ietf-keystore key.
        if let Some(key) = &found.ldevid_key {
            ldevid =
                Some(ldevid::install(&setup.dirs.credentials, config, key).map_err(config_error)?);
        }
        r.verbose("config-complete").await;
    } else if found.ldevid_key.is_some() {
        return Err(config_error(
            "the server asked for a certificate request and sent no configuration to carry the certificate".into(),
        ));
    }
    if let Some(script) = &o.post_configuration_script {
        r.verbose("post-script-initiated").await;
        run_script(setup, "post-configuration-script", script)
            .await
            .map_err(|reason| Failure {
                progress_type: "post-script-error",
                reason,
            })?;
        r.verbose("post-script-complete").await;
    }
    Ok(Outcome::Complete { ldevid })
}

/// Downloads the image from its URIs in turn until one's SHA-256 is the one listed,
/// and installs it.
async fn install(setup: &Setup<'_>, image: &BootImage) -> Result<(), String> {
    let Some(want) = image.sha256 else {
        return Err("the boot image lists no SHA-256: it cannot be verified".into());
    };
    if image.download_uri.is_empty() {
        return Err("the boot image has no download-uri".into());
    }
    let mut why = Vec::new();
    for uri in &image.download_uri {
        // The hash proves the image, whoever serves it.
        match setup
            .client
            .download(uri, &ServerTrust::Provisional, MAX_IMAGE)
            .await
        {
            Ok((status, body)) if status.is_success() => {
                let got = ring::digest::digest(&ring::digest::SHA256, &body);
                if got.as_ref() != want {
                    why.push(format!("{uri}: the SHA-256 differs from the one listed"));
                    continue;
                }
                let name = format!(
                    "{}-{}.img",
                    image.os_name.as_deref().unwrap_or("image"),
                    image.os_version.as_deref().unwrap_or("new")
                );
                return write_whole(&setup.dirs.images.join(name), &body);
            }
            Ok((status, _)) => why.push(format!("{uri}: {status}")),
            Err(e) => why.push(e.to_string()),
        }
    }
    Err(why.join("; "))
}

/// Writes `bytes` to `path` whole or not at all (a temporary file renamed over it).
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Commits `config` to `running.cfg` in `dir`: appended (`merge`) or in its place.
fn commit(dir: &Path, config: &[u8], merge: bool) -> Result<(), String> {
    let path = dir.join("running.cfg");
    let mut whole = if merge {
        std::fs::read(&path).unwrap_or_default()
    } else {
        Vec::new()
    };
    whole.extend_from_slice(config);
    write_whole(&path, &whole)
}

/// `errno` ETXTBSY (Linux): a file being executed is open for writing.
const ETXTBSY: i32 = 26;

/// Writes `script` to the work directory as `name` and runs it there (with its `#!`
/// interpreter, else `/bin/sh`); exit status 0 is success.
async fn run_script(setup: &Setup<'_>, name: &str, script: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let path = setup.dirs.work.join(name);
    write_whole(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut command = if script.starts_with(b"#!") {
        tokio::process::Command::new(&path)
    } else {
        let mut sh = tokio::process::Command::new("/bin/sh");
        sh.arg(&path);
        sh
    };
    command
        .current_dir(&setup.dirs.work)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // A file just written may still be open for writing in a child another thread
    // forked meanwhile (until that child execs): exec then fails with ETXTBSY for a
    // moment. Tried again a few times, as Cargo and Go do.
    let run = async {
        let mut tries = 0;
        loop {
            match command.output().await {
                Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                other => return other,
            }
        }
    };
    let output = tokio::time::timeout(setup.script_timeout, run)
        .await
        .map_err(|_| format!("{name} ran longer than {:?}", setup.script_timeout))?
        .map_err(|e| format!("{name} cannot run: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or("").trim();
    Err(format!(
        "{name} exited with {}{}",
        output.status,
        if last.is_empty() {
            String::new()
        } else {
            format!(": {last}")
        }
    ))
}

/// Sends the reports this onboarding makes, as the server's trust and reporting level
/// allow, into the record.
struct Reporter<'s, 'r> {
    setup: &'s Setup<'s>,
    found: &'s Found,
    record: &'r mut Vec<Reported>,
    verbose: bool,
}

impl Reporter<'_, '_> {
    /// Sends one report (when the server was authenticated); what came of it.
    async fn send(
        &mut self,
        progress_type: &'static str,
        message: Option<String>,
        ssh_host_keys: Vec<(String, Vec<u8>)>,
    ) -> Result<(), String> {
        let outcome = match &self.found.server {
            None => Err("not sent: the data came from no bootstrap server".to_string()),
            Some((_, ServerTrust::Provisional)) => {
                Err("not sent: the server was not authenticated".to_string())
            }
            Some((server, trust)) => {
                let report = Report {
                    progress_type: progress_type.into(),
                    message: message.clone(),
                    ssh_host_keys,
                };
                self.setup
                    .client
                    .report_progress(server, trust, &report)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        if let Some(log) = self.setup.log {
            let sent = match &outcome {
                Ok(()) => "sent",
                Err(e) => e.as_str(),
            };
            log.line(
                Severity::Info,
                &format!("progress report {progress_type}: {sent}"),
            );
        }
        self.record.push(Reported {
            progress_type,
            message,
            outcome: outcome.clone(),
        });
        outcome
    }

    /// A report that must be answered 204 when it is sent; otherwise `error` is
    /// reported and onboarding stops.
    async fn must(
        &mut self,
        progress_type: &'static str,
        message: Option<String>,
        error: &'static str,
    ) -> Result<(), Failure> {
        match self.send(progress_type, message, Vec::new()).await {
            Ok(()) => Ok(()),
            Err(e) if e.starts_with("not sent") => Ok(()),
            Err(reason) => {
                let _ = self.send(error, Some(reason.clone()), Vec::new()).await;
                Err(Failure {
                    progress_type: error,
                    reason,
                })
            }
        }
    }

    /// A step's `*-initiated` or `*-complete`, with `reporting-level = verbose` only.
    async fn verbose(&mut self, progress_type: &'static str) {
        if self.verbose {
            let _ = self.send(progress_type, None, Vec::new()).await;
        }
    }

    /// `bootstrap-complete` with the SSH host keys.
    async fn complete(&mut self) -> Result<(), String> {
        let keys = self.setup.ssh_host_keys.to_vec();
        match self.send("bootstrap-complete", None, keys).await {
            Err(e) if !e.starts_with("not sent") => Err(e),
            _ => Ok(()),
        }
    }
}
