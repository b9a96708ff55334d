//! zerotouch-relay: one process relaying DHCPv4 and DHCPv6 for many downstream
//! interfaces, configured by a TOML file (reloaded on SIGHUP) or, for the simple
//! cases, by dhcrelay-style flags.

mod action;
mod config;
mod counters;
mod link;
mod plugins;
mod service;
mod template;
mod v4;
mod v6;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info};

use config::RelayConfig;
use service::Shared;

#[derive(Parser)]
#[command(
    name = "zerotouch-relay",
    version,
    about = "DHCPv4 and DHCPv6 relay for segment routers",
    after_help = "Without -4 or -6 the relay reads --config. Flags, as with ISC dhcrelay:\n  zerotouch-relay -4 -i eth1 [-i eth2] [-a] [-m replace] 198.18.0.1\n  zerotouch-relay -6 -l eth1 -u 2001:db8:1::1%eth0 [-I]"
)]
struct Cli {
    /// Configuration file (when neither -4 nor -6 is given).
    #[arg(long, global = true, default_value = "/etc/zerotouch/relay.toml")]
    config: PathBuf,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long)]
    log_level: Option<String>,
    /// Check the configuration and exit, like `check` (as `dhcpd -t` and `kea-dhcp4 -t`).
    #[arg(short = 't', long = "test")]
    test: bool,
    /// Relay DHCPv4, configured by the flags below.
    #[arg(short = '4', conflicts_with = "v6")]
    v4: bool,
    /// Relay DHCPv6, configured by the flags below.
    #[arg(short = '6')]
    v6: bool,
    /// DHCPv4: a downstream interface (repeatable).
    #[arg(short = 'i')]
    interfaces: Vec<String>,
    /// DHCPv4: add option 82 (circuit-id: the interface name; remote-id: its MAC).
    #[arg(short = 'a')]
    agent_info: bool,
    /// DHCPv4: what to do with requests that already carry option 82.
    #[arg(short = 'm', default_value = "replace")]
    policy: String,
    /// DHCPv4: drop requests that passed this many relays.
    #[arg(short = 'c', default_value_t = 10)]
    hop_limit: u8,
    /// DHCPv6: a downstream interface (repeatable).
    #[arg(short = 'l')]
    lower: Vec<String>,
    /// DHCPv6: an upstream server, ADDR or GROUP%IFACE (repeatable).
    #[arg(short = 'u')]
    upper: Vec<String>,
    /// DHCPv6: always add the interface-id option (it is added unless the interface
    /// has a global address to use as link-address).
    #[arg(short = 'I')]
    interface_id: bool,
    /// DHCPv4 servers.
    servers: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate --config and exit: 0 when valid, 1 with every error otherwise.
    Check,
}

/// The flags of the command line that configure the relay without a file.
fn flags_of(cli: &Cli) -> config::Flags {
    config::Flags {
        log_level: cli.log_level.clone(),
        v4: cli.v4,
        interfaces: cli.interfaces.clone(),
        agent_info: cli.agent_info,
        policy: cli.policy.clone(),
        hop_limit: cli.hop_limit,
        servers: cli.servers.clone(),
        lower: cli.lower.clone(),
        upper: cli.upper.clone(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = cli.v4 || cli.v6;
    let loaded = if flags {
        config::from_flags(&flags_of(&cli)).map_err(|e| format!("zerotouch-relay: {e:#}"))
    } else {
        config::load(&cli.config)
            .map_err(|e| format!("{e}\n{}: {} error(s)", cli.config.display(), e.0.len()))
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    if cli.test || matches!(cli.command, Some(Command::Check)) {
        // Plugins read and check their settings as they are created.
        if let Err(e) = plugins::load(&cfg, None) {
            eprintln!("{e}\n{}: {} error(s)", cli.config.display(), e.0.len());
            return ExitCode::from(1);
        }
        println!(
            "{}: ok ({} DHCPv4 and {} DHCPv6 downstream interfaces, {} plugins)",
            cli.config.display(),
            cfg.relay4.as_ref().map_or(0, |r| r.downstream.len()),
            cfg.relay6.as_ref().map_or(0, |r| r.downstream.len()),
            cfg.plugins.entries.len(),
        );
        return ExitCode::SUCCESS;
    }
    let level = cli
        .log_level
        .clone()
        .unwrap_or_else(|| cfg.log_level.clone());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        // Colour for a person at a terminal, never into a redirected log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cfg, (!flags).then_some(cli.config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cfg: RelayConfig, file: Option<PathBuf>) -> anyhow::Result<()> {
    let (has4, has6) = (cfg.relay4.is_some(), cfg.relay6.is_some());
    // Plugins' services and bounded waits run here; the signal loop too.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let counters = Arc::new(counters::Counters::default());
    let pipeline =
        plugins::load(&cfg, Some(rt.handle().clone())).map_err(|e| anyhow::anyhow!("{e}"))?;
    plugins::start(&pipeline, rt.handle(), &cfg.file, counters.clone())?;
    if !pipeline.instances().is_empty() {
        info!(
            plugins = pipeline.instances().len(),
            "plugins run on relayed packets"
        );
    }
    let shared = Shared::new(cfg, pipeline, counters.clone());
    let mut threads = Vec::new();
    if has4 {
        threads.push(service::start::<v4::Loop4>(shared.clone()).context("binding UDP port 67")?);
        info!("DHCPv4 relaying");
    }
    if has6 {
        threads.push(service::start::<v6::Loop6>(shared.clone()).context("binding UDP port 547")?);
        info!("DHCPv6 relaying");
    }
    let watched = &threads;
    rt.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut usr1 = signal(SignalKind::user_defined1())?;
        let mut liveness = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => log_counters(&shared),
                _ = hup.recv() => match &file {
                    None => info!("SIGHUP: configured by flags, nothing to reload"),
                    Some(f) => reload(&shared, f, (has4, has6), rt.handle(), &counters),
                },
                _ = liveness.tick() => if watched.iter().any(|t| t.is_finished()) { break },
            }
        }
        anyhow::Ok(())
    })?;
    info!("stopping");
    shared
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    log_counters(&shared);
    shared.current().plugins.stop();
    Ok(())
}

/// The relay's counters, and its plugins' when it runs any (SIGUSR1, and at stop).
fn log_counters(shared: &Shared) {
    info!("counters: {}", shared.counters.summary());
    let plugins = shared.current().plugins.clone();
    if !plugins.instances().is_empty() {
        info!("plugin counters: {}", plugins.summary());
    }
}

/// SIGHUP: the file again, with new plugin instances; on any error the running
/// configuration and plugins stay.
fn reload(
    shared: &Shared,
    file: &std::path::Path,
    (has4, has6): (bool, bool),
    runtime: &tokio::runtime::Handle,
    counters: &Arc<counters::Counters>,
) {
    let loaded = config::load(file).and_then(|new| {
        let pipeline = plugins::load(&new, Some(runtime.clone()))?;
        Ok((new, pipeline))
    });
    let (new, pipeline) = match loaded {
        Ok(n) => n,
        Err(e) => {
            error!("SIGHUP: keeping the running configuration:\n{e}");
            return;
        }
    };
    if new.relay4.is_some() != has4 || new.relay6.is_some() != has6 {
        info!(
            "SIGHUP: adding or removing [relay4] or [relay6] takes a restart; the rest is applied"
        );
    }
    let old = shared.replace(new, pipeline.clone());
    // The old instances' services stop before the new ones start (they may listen on
    // the same ports).
    old.plugins.stop();
    if let Err(e) = plugins::start(&pipeline, runtime, file, counters.clone()) {
        error!("SIGHUP: {e:#}; its hooks run without its services until restart");
    }
    info!("SIGHUP: configuration reloaded from {}", file.display());
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_flags_make_a_configuration() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from([
            "zerotouch-relay",
            "-4",
            "-i",
            "eth1",
            "-a",
            "-m",
            "append",
            "198.18.0.1",
        ]);
        let cfg = config::from_flags(&flags_of(&cli)).unwrap();
        let r = cfg.relay4.unwrap();
        assert_eq!(r.downstream[0].interface, "eth1");
        assert_eq!(
            r.downstream[0].agent_info.as_ref().unwrap().policy,
            config::Policy::Append
        );
        let cli = Cli::parse_from([
            "zerotouch-relay",
            "-6",
            "-l",
            "eth1",
            "-u",
            "ff05::1:3%eth0",
        ]);
        let r = config::from_flags(&flags_of(&cli)).unwrap().relay6.unwrap();
        assert_eq!(
            r.downstream[0].servers[0].interface.as_deref(),
            Some("eth0")
        );
        let cli = Cli::parse_from(["zerotouch-relay", "-6", "-l", "eth1", "-u", "ff05::1:3"]);
        assert!(
            format!("{:#}", config::from_flags(&flags_of(&cli)).unwrap_err())
                .contains("GROUP%INTERFACE")
        );
    }
}
