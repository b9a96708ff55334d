//! One simulated device: a namespace on the device segment, its DHCP client (ISC
//! dhclient, through the relay) or static address, then zerotouch-agent with its IDevID.
//! Every step is an [`Event`] timed from the device's start: the lease and its option,
//! then each line the agent prints as it goes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::net;
use crate::site::{self, Case, DeviceSpec, Discovery, Site};

/// A step of a device, at `at` seconds from its start.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) at: f64,
    pub(crate) text: String,
}

/// How a device's run went.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) spec: DeviceSpec,
    pub(crate) events: Vec<Event>,
    /// Seconds to its address (the lease, or the static address).
    pub(crate) address_seconds: f64,
    /// Seconds from its start to the agent's end.
    pub(crate) seconds: f64,
    /// The CPU seconds the agent used.
    pub(crate) agent_cpu: f64,
    /// The agent's exit status (`None`: it did not run).
    pub(crate) exit: Option<i32>,
    /// The agent's record (`--json`).
    pub(crate) record: serde_json::Value,
    /// Why the device could not run, when it could not.
    pub(crate) error: Option<String>,
}

impl Run {
    /// A device that has not run yet.
    pub(crate) fn new(spec: DeviceSpec) -> Run {
        Run {
            spec,
            events: Vec::new(),
            address_seconds: 0.0,
            seconds: 0.0,
            agent_cpu: 0.0,
            exit: None,
            record: serde_json::Value::Null,
            error: None,
        }
    }

    pub(crate) fn complete(&self) -> bool {
        self.exit == Some(0)
    }

    /// Whether it went as its case says it must, and why not.
    pub(crate) fn as_expected(&self) -> Result<(), String> {
        let (complete, text) = self.spec.case.expect();
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.complete() != complete {
            return Err(format!(
                "it {} bootstrap",
                if self.complete() { "did" } else { "did not" }
            ));
        }
        let everything = self.record.to_string()
            + &self
                .events
                .iter()
                .map(|e| e.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
        if !everything.contains(text) {
            return Err(format!("its record does not say {text:?}"));
        }
        Ok(())
    }
}

/// The device's namespace.
pub(crate) fn namespace(prefix: &str, spec: &DeviceSpec) -> String {
    format!("{prefix}d{}", spec.index)
}

/// Makes the device's namespace and plugs it into the segment router's bridge.
pub(crate) fn plug(prefix: &str, router: &str, spec: &DeviceSpec) -> anyhow::Result<()> {
    let ns = namespace(prefix, spec);
    net::namespace(&ns, false)?;
    let port = format!("p{}", spec.index);
    net::veth(router, &port, &ns, "eth0")?;
    net::ip(&["-n", router, "link", "set", &port, "master", "br0"])
}

/// What every device needs besides its namespace.
pub(crate) struct Shared<'a> {
    pub(crate) site: &'a Site,
    pub(crate) prefix: &'a str,
    pub(crate) agent: &'a Path,
    /// The position of each DNS-only device among them (for its static address).
    pub(crate) dns_position: usize,
}

/// Runs the device: address, then the agent; every step timed.
pub(crate) fn run(shared: &Shared<'_>, spec: DeviceSpec) -> Run {
    let start = Instant::now();
    let mut run = Run::new(spec);
    match address(shared, &mut run, start) {
        Ok(agent_args) => {
            run.address_seconds = start.elapsed().as_secs_f64();
            if let Err(e) = agent(shared, &mut run, start, &agent_args) {
                run.error = Some(format!("{e:#}"));
            }
        }
        Err(e) => run.error = Some(format!("{e:#}")),
    }
    run.seconds = start.elapsed().as_secs_f64();
    run
}

fn at(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// The device's folder.
fn home(shared: &Shared<'_>, spec: &DeviceSpec) -> PathBuf {
    shared.site.path(&format!("run/{}", spec.serial))
}

/// Gets the device its address; the agent's source options.
fn address(shared: &Shared<'_>, run: &mut Run, start: Instant) -> anyhow::Result<Vec<String>> {
    let spec = &run.spec;
    let ns = namespace(shared.prefix, spec);
    let home = home(shared, spec);
    std::fs::create_dir_all(&home)?;
    let site = shared.site;
    let s = |p: PathBuf| p.display().to_string();
    match spec.discovery {
        Discovery::Dhcp4 | Discovery::Dhcp6 => {
            let v6 = spec.discovery == Discovery::Dhcp6;
            let conf = match (v6, spec.case) {
                (true, _) => site.path("dhclient6.conf"),
                (false, Case::ServerDown) => site.path("dhclient4-fallback.conf"),
                (false, _) => site.path("dhclient4.conf"),
            };
            if v6 {
                // A router advertisement would give these routes; the lab sends none.
                net::ip(&[
                    "-n",
                    &ns,
                    "-6",
                    "route",
                    "add",
                    "2001:db8:4::/64",
                    "dev",
                    "eth0",
                ])?;
                net::ip(&[
                    "-n",
                    &ns,
                    "-6",
                    "route",
                    "add",
                    "default",
                    "via",
                    site::GATEWAY6,
                    "dev",
                    "eth0",
                    "onlink",
                ])?;
            }
            let lease = home.join("dhclient.leases");
            std::fs::write(&lease, "")?;
            let mut args = vec![
                "dhclient".to_string(),
                if v6 { "-6" } else { "-4" }.into(),
                "-1".into(),
                "-cf".into(),
                s(conf),
                "-sf".into(),
                s(site.path("dhclient-script")),
                "-lf".into(),
                s(lease.clone()),
                "-pf".into(),
                s(home.join("dhclient.pid")),
            ];
            if v6 {
                args.push("-N".into());
            }
            args.push("eth0".into());
            // Its output to a file: the daemon it becomes once bound keeps it open.
            let log = home.join("dhclient.log");
            let child = in_namespace(&ns, &args)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()
                .context("starting dhclient")?;
            let status = wait_with_timeout(child, Duration::from_secs(90))?;
            if !status.success() {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                anyhow::bail!("dhclient got no lease: {}", said.trim());
            }
            let text = std::fs::read_to_string(&lease)?;
            let leased = if v6 {
                last_value(&text, "iaaddr ")
            } else {
                last_value(&text, "fixed-address ")
            }
            .unwrap_or_else(|| "?".into());
            let uris = zerotouch_agent::dhcp::uris_in_lease_file(&text)
                .map(|u| u.join(", "))
                .unwrap_or_else(|e| format!("none ({e})"));
            let text_event = format!(
                "{} lease {leased} through the relay; option {}: {uris}",
                spec.discovery.name(),
                if v6 { 136 } else { 143 },
            );
            run.events.push(Event {
                at: at(start),
                text: text_event,
            });
            let mut agent = vec!["--dhcp-lease".to_string(), s(lease)];
            if v6 {
                agent.extend(["--syslog".into(), format!("[{}]:514", site::SERVER6)]);
            }
            Ok(agent)
        }
        Discovery::Dns => {
            let address = site::static_address(shared.dns_position);
            net::addresses(&ns, "eth0", &[&address])?;
            net::route(&ns, "default", site::GATEWAY4)?;
            run.events.push(Event {
                at: at(start),
                text: format!(
                    "static address {address}, no DHCP: DNS at {}:53 for {}",
                    site::SERVER4,
                    site::DOMAIN
                ),
            });
            Ok(vec![
                "--domain".into(),
                site::DOMAIN.into(),
                "--dns-server".into(),
                format!("{}:53", site::SERVER4),
                "--syslog".into(),
                format!("{}:514", site::SERVER4),
            ])
        }
    }
}

/// The value after `key` on the last line that has it (`fixed-address 198.18.4.10;`).
fn last_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .next_back()
        .map(|v| v.trim_end_matches(['{', ';', ' ']).trim().to_string())
}

/// `args` in namespace `ns`; once the lab is being removed, a command that fails at
/// once instead.
fn in_namespace(ns: &str, args: &[String]) -> Command {
    if net::stopping() {
        return Command::new("/nonexistent/the-lab-is-stopping");
    }
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

/// Waits for `child` at most `timeout`.
fn wait_with_timeout(
    mut child: std::process::Child,
    timeout: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("no answer within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child`: its exit status (`None` when a signal ended it) and the CPU
/// seconds it used (user and system).
fn wait_with_cpu(child: &std::process::Child) -> anyhow::Result<(Option<i32>, f64)> {
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's PID (std has not reaped it: it is waited for
    // here only), with pointers to the locals above.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("waiting for the agent");
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let exit = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok((exit, seconds(usage.ru_utime) + seconds(usage.ru_stime)))
}

/// Runs the agent, each line it prints an event.
fn agent(
    shared: &Shared<'_>,
    run: &mut Run,
    start: Instant,
    sources: &[String],
) -> anyhow::Result<()> {
    let spec = &run.spec;
    let ns = namespace(shared.prefix, spec);
    let home = home(shared, spec);
    let pki = shared.site.path("pki");
    let s = |p: PathBuf| p.display().to_string();
    let mut args = vec![shared.agent.display().to_string()];
    args.extend(sources.iter().cloned());
    args.extend([
        "--idevid".into(),
        s(pki.join(format!("devices/{}.pem", spec.serial))),
        "--idevid-key".into(),
        s(pki.join(format!("devices/{}.key", spec.serial))),
        "--voucher-ca".into(),
        s(pki.join("voucher-ca.pem")),
        "--hw-model".into(),
        "lab-switch".into(),
        "--os-name".into(),
        site::OS.0.into(),
        "--os-version".into(),
        site::OS.1.into(),
        "--ssh-host-key".into(),
        s(shared.site.path("host-key.pub")),
        "--root".into(),
        s(home.join("device")),
        "--script-timeout".into(),
        "30".into(),
        "--json".into(),
    ]);
    let mut child = in_namespace(&ns, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting zerotouch-agent")?;
    let stderr = child.stderr.take().context("the agent's stderr")?;
    let lines = std::thread::spawn(move || {
        let mut events = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let text = line
                .strip_prefix("zerotouch-agent: ")
                .unwrap_or(&line)
                .to_string();
            events.push(Event {
                at: at(start),
                text,
            });
        }
        events
    });
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let (exit, cpu) = wait_with_cpu(&child)?;
    run.events.extend(lines.join().unwrap_or_default());
    run.exit = exit;
    run.agent_cpu = cpu;
    run.record = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    Ok(())
}
