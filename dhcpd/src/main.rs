//! zerotouch-dhcpd: runs the server, or checks a configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;
use zerotouch_dhcpd::{config, server, stats::Counters};

#[derive(Parser)]
#[command(
    name = "zerotouch-dhcpd",
    version,
    about = "DHCP server for zero touch provisioning networks"
)]
struct Cli {
    /// Configuration file.
    #[arg(
        short,
        long,
        global = true,
        default_value = "/etc/zerotouch/dhcpd.toml"
    )]
    config: PathBuf,
    /// Log level (error, warn, info, debug, trace); overrides the file's [log] level.
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve (the default).
    Run,
    /// Validate the configuration and exit: 0 when valid, 1 with every error otherwise.
    Check,
    /// Print the default configuration, a starting point to edit.
    DefaultConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::DefaultConfig) = cli.command {
        print!("{}", zerotouch_dhcpd::DEFAULT_CONFIG);
        return ExitCode::SUCCESS;
    }
    let cfg = match config::load(&cli.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{}: {} error(s)", cli.config.display(), errors.0.len());
            return ExitCode::from(1);
        }
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::Check => {
            let d = cfg.dhcp4.as_ref();
            println!(
                "{}: ok ({} subnets, {} pools, {} host reservations, {} classes)",
                cli.config.display(),
                d.map_or(0, |d| d.subnets.len()),
                d.map_or(0, |d| d.subnets.iter().map(|s| s.pools.len()).sum()),
                d.map_or(0, |d| d.hosts.list.len()),
                d.map_or(0, |d| d.classes.len()),
            );
            ExitCode::SUCCESS
        }
        Command::DefaultConfig => ExitCode::SUCCESS,
        Command::Run => {
            let level = cli
                .log_level
                .clone()
                .unwrap_or_else(|| cfg.log_level.clone());
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            match run(cfg) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("zerotouch-dhcpd: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run(cfg: config::Config) -> anyhow::Result<()> {
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    info!(config = %cfg.file.display(), version = env!("CARGO_PKG_VERSION"), "zerotouch-dhcpd starting");
    let services = server::start(&cfg, counters.clone(), stop.clone())
        .with_context(|| format!("starting from {}", cfg.file.display()))?;
    // The packet path runs on threads of its own; this small runtime only waits for
    // signals (and will host service plugins).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stats = counters.clone();
    let watched = &services;
    rt.block_on(async move {
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut usr1 =
            signal(SignalKind::user_defined1()).context("installing the SIGUSR1 handler")?;
        let mut liveness = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => info!("counters: {}", stats.summary()),
                // A service that stopped on its own hit a fatal error: stop the rest.
                _ = liveness.tick() => if watched.iter().any(|s| s.is_finished()) { break },
            }
        }
        anyhow::Ok(())
    })?;
    info!("stopping");
    stop.store(true, Ordering::Relaxed);
    server::join(services, &counters).context("serving")
}
