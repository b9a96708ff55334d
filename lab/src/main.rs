//! zerotouch-lab: a provisioning network in network namespaces, and SZTP devices that
//! bootstrap through it, each step shown as a timeline (docs/lab.md).
//!
//! Where things are: [`site`] (what the lab is made of and the configurations),
//! [`net`] (namespaces, links, cleanup), [`device`] (one device's run), [`report`]
//! (timelines, the fleet's times, the JSON record).

mod device;
mod net;
mod report;
mod site;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use crate::device::Run;
use crate::site::{Case, Discovery, Site};

#[derive(Parser, Debug)]
#[command(
    name = "zerotouch-lab",
    version,
    about = "The SZTP lab: a device segment, a segment router running zerotouch-relay, a server running zerotouch-dhcpd (DHCP, sztp, dns, syslog, bootstrap) and an rsyslog collector, in network namespaces; devices bootstrap through it and each step is shown. Needs root; removes everything it made when it ends, also on Ctrl-C.",
    after_help = "Examples:\n  zerotouch-lab                        three devices: DHCPv4, DHCPv6, DNS only\n  zerotouch-lab --fail tampered-image  and one device whose boot image was tampered with\n  zerotouch-lab --fail all             every failure case\n  zerotouch-lab --devices 200          a fleet of 200, with how long it took"
)]
struct Args {
    /// Devices that bootstrap, taking DHCPv4, DHCPv6 and DNS in turn.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1500))]
    devices: u32,
    /// Add a device showing a failure case (repeat, or `all`).
    #[arg(long = "fail", value_name = "CASE", value_parser = parse_case)]
    failures: Vec<Vec<Case>>,
    /// Show every device's timeline [default: when there are at most 10 devices].
    #[arg(long)]
    timeline: bool,
    /// Print the lab's record as JSON on standard output (the rest goes to standard
    /// error).
    #[arg(long)]
    json: bool,
    /// Where zerotouch-dhcpd, zerotouch-relay and zerotouch-agent are [default: beside
    /// this program].
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
}

fn parse_case(text: &str) -> Result<Vec<Case>, String> {
    use clap::ValueEnum;
    if text == "all" {
        return Ok(Case::FAILURES.to_vec());
    }
    Case::from_str(text, true).map(|c| vec![c]).map_err(|_| {
        format!(
            "{text:?} is not a failure case: {} or all",
            Case::FAILURES.map(Case::name).join(", ")
        )
    })
}

/// Prints to standard output, or to standard error when standard output carries the
/// JSON record.
pub(crate) struct Out {
    json: bool,
}

impl Out {
    pub(crate) fn say(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let out = Out { json: args.json };
    let result = net::clean_up_on_signals().and_then(|()| run(&args, &out));
    net::cleanup();
    if net::interrupted() {
        return ExitCode::from(130);
    }
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("zerotouch-lab: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A program the lab runs, from `--bin-dir` or beside this one.
fn binary(args: &Args, name: &str) -> anyhow::Result<PathBuf> {
    let dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build it (cargo build --release -p zerotouch-dhcpd -p zerotouch-relay -p zerotouch-agent) or give --bin-dir",
            path.display()
        );
    }
    Ok(path)
}

fn tool(name: &str, package: &str) -> anyhow::Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("{name} is missing: apt-get install {package}");
    }
    Ok(())
}

/// A daemon in namespace `ns`, its output in `log`.
fn daemon(ns: &str, args: &[&str], log: &Path) -> anyhow::Result<Child> {
    let file = std::fs::File::create(log)?;
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {}", args[0]))?;
    Ok(child)
}

/// Waits until `log` holds `needle` `times` times, or fails with the log.
fn wait_for(
    child: &mut Child,
    log: &Path,
    needle: &str,
    times: usize,
    what: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches(needle).count() >= times {
            return Ok(());
        }
        if child.try_wait()?.is_some() || Instant::now() > deadline {
            bail!("{what} did not start:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(args: &Args, out: &Out) -> anyhow::Result<bool> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the lab needs root (it makes network namespaces): run it with sudo");
    }
    let dhcpd = binary(args, "zerotouch-dhcpd")?;
    let relay = binary(args, "zerotouch-relay")?;
    let agent = binary(args, "zerotouch-agent")?;
    tool("dhclient", "isc-dhcp-client")?;
    tool("rsyslogd", "rsyslog")?;
    let mut failures: Vec<Case> = args.failures.iter().flatten().copied().collect();
    failures.dedup();
    let specs = site::devices(args.devices as usize, &failures);
    if specs.is_empty() {
        bail!("no devices: give --devices N or --fail CASE");
    }

    let prefix = format!("zl{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("zerotouch-lab.{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    net::made_dir(dir.clone());
    let site = Site { dir };
    out.say(&format!(
        "== the lab in {} (removed at the end)",
        site.dir.display()
    ));
    out.say(&format!(
        "== the PKI and configurations for {} device(s)",
        specs.len()
    ));
    site.write_all(&specs, failures.contains(&Case::ServerDown))?;

    // The network.
    let (srv, rtr) = (format!("{prefix}srv"), format!("{prefix}rtr"));
    out.say("== the network: server host, segment router, device segment");
    net::namespace(&srv, false)?;
    net::namespace(&rtr, true)?;
    net::veth(&srv, "up0", &rtr, "up0")?;
    net::addresses(&srv, "up0", &["198.18.1.1/24", "2001:db8:1::1/64"])?;
    net::addresses(&rtr, "up0", &["198.18.1.2/24", "2001:db8:1::2/64"])?;
    net::ip(&["-n", &rtr, "link", "add", "br0", "type", "bridge"])?;
    net::ip(&["-n", &rtr, "link", "set", "br0", "up"])?;
    net::addresses(&rtr, "br0", &["198.18.4.1/22", "2001:db8:4::1/64"])?;
    net::route(&srv, "198.18.4.0/22", site::ROUTER_UP4)?;
    net::route(&srv, "2001:db8:4::/64", site::ROUTER_UP6)?;
    net::neighbour_room(specs.len(), |t| out.say(t))?;
    plug_devices(&prefix, &rtr, &specs, out)?;

    // The services.
    out.say("== rsyslog (the collector), zerotouch-dhcpd, zerotouch-relay");
    let collector = site.path("collector");
    let mut rsyslog = daemon(
        &srv,
        &[
            "rsyslogd",
            "-n",
            "-f",
            &collector.join("rsyslog.conf").display().to_string(),
            "-i",
            &collector.join("rsyslogd.pid").display().to_string(),
        ],
        &collector.join("rsyslogd.out"),
    )?;
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{}", site::COLLECTOR_PORT);
    let deadline = Instant::now() + Duration::from_secs(10);
    while net::exec(&srv, &["bash", "-c", &probe]).is_err() {
        if rsyslog.try_wait()?.is_some() || Instant::now() > deadline {
            bail!(
                "rsyslog did not start: {}",
                std::fs::read_to_string(collector.join("rsyslogd.out")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let server_log = site.path("dhcpd.log");
    let config = site.path("dhcpd.toml").display().to_string();
    let mut server = daemon(
        &srv,
        &[&dhcpd.display().to_string(), "--config", &config],
        &server_log,
    )?;
    wait_for(
        &mut server,
        &server_log,
        "bootstrap: serving",
        2,
        "zerotouch-dhcpd",
    )?;
    wait_for(
        &mut server,
        &server_log,
        "DHCPv6 serving",
        1,
        "zerotouch-dhcpd",
    )?;
    let relay_log = site.path("relay.log");
    let relay_config = site.path("relay.toml").display().to_string();
    let mut relay_d = daemon(
        &rtr,
        &[&relay.display().to_string(), "--config", &relay_config],
        &relay_log,
    )?;
    wait_for(
        &mut relay_d,
        &relay_log,
        "DHCPv6 relaying",
        1,
        "zerotouch-relay",
    )?;

    // The devices, all at once.
    out.say(&format!(
        "== {} device(s) bootstrapping at once",
        specs.len()
    ));
    let started = Instant::now();
    let runs = run_devices(&site, &prefix, &agent, &specs);
    let wall = started.elapsed().as_secs_f64();
    if net::interrupted() {
        return Ok(false);
    }
    let collected = report::collected(&site.path("collector/devices.log"), &runs);
    let services = [
        ("zerotouch-dhcpd", cpu_seconds(server.id())),
        ("zerotouch-relay", cpu_seconds(relay_d.id())),
        ("rsyslog", cpu_seconds(rsyslog.id())),
    ];
    let show_all = args.timeline || specs.len() <= 10;
    let ok = report::print(out, &runs, &collected, &services, show_all, wall);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&runs, &collected, &services, wall))?
        );
    }
    let _ = server.kill();
    Ok(ok)
}

/// The CPU seconds (user and system) process `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    (ticks(11) + ticks(12)) / hz
}

/// Every device's namespace, plugged into the bridge, with progress for a fleet.
fn plug_devices(
    prefix: &str,
    router: &str,
    specs: &[site::DeviceSpec],
    out: &Out,
) -> anyhow::Result<()> {
    let workers = 4.min(specs.len()).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let result: anyhow::Result<()> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let done = &done;
                scope.spawn(move || -> anyhow::Result<()> {
                    for spec in specs.iter().skip(w).step_by(workers) {
                        device::plug(prefix, router, spec)?;
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if specs.len() > 50 && n.is_multiple_of(100) {
                            out.say(&format!("   {n} of {} device namespaces", specs.len()));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        }
        Ok(())
    });
    result
}

fn run_devices(site: &Site, prefix: &str, agent: &Path, specs: &[site::DeviceSpec]) -> Vec<Run> {
    let mut dns_seen = 0;
    let positions: Vec<usize> = specs
        .iter()
        .map(|s| {
            let p = dns_seen;
            if s.discovery == Discovery::Dns {
                dns_seen += 1;
            }
            p
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .zip(positions)
            .map(|(spec, dns_position)| {
                let shared = device::Shared {
                    site,
                    prefix,
                    agent,
                    dns_position,
                };
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || device::run(&shared, spec.clone()))
            })
            .collect();
        handles
            .into_iter()
            .zip(specs)
            .map(|(h, spec)| match h.map(|h| h.join()) {
                Ok(Ok(run)) => run,
                _ => Run {
                    error: Some("its thread could not run".into()),
                    ..Run::new(spec.clone())
                },
            })
            .collect()
    })
}
