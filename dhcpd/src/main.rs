//! zerotouch-dhcpd: runs the server, or checks a configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};
use zerotouch_dhcpd::{config, plugin, server, services, stats::Counters};
use zerotouch_plugin::ServiceHost;

#[derive(Parser)]
#[command(
    name = "zerotouch-dhcpd",
    version,
    about = "DHCP server for zero touch provisioning networks",
    after_help = "Test a configuration as with ISC dhcpd or Kea: zerotouch-dhcpd -t [FILE] \
                  (also -t -c FILE, -t -cf FILE, or check --config FILE)."
)]
struct Cli {
    #[command(flatten)]
    file: FileArgs,
    /// Check the configuration (FILE, else --config) and exit, like `check`.
    #[arg(short = 't', long = "test", value_name = "FILE", num_args = 0..=1)]
    test: Option<Option<PathBuf>>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The options of the commands that read the configuration.
#[derive(clap::Args, Clone, Default)]
struct FileArgs {
    /// Configuration file [default: /etc/zerotouch/dhcpd.toml].
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace); overrides the file's [log] level.
    #[arg(long)]
    log_level: Option<String>,
}

impl FileArgs {
    /// These options given after the subcommand, else before it.
    fn or(self, outer: FileArgs) -> FileArgs {
        FileArgs {
            config: self.config.or(outer.config),
            log_level: self.log_level.or(outer.log_level),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve (the default).
    Run(FileArgs),
    /// Validate the configuration and exit: 0 when valid, 1 with every error otherwise.
    Check(FileArgs),
    /// Print the default configuration, a starting point to edit.
    DefaultConfig,
    /// List the plugins built into this binary.
    Plugins,
    /// The lease database on PostgreSQL ([leases.postgresql]): its schema.
    Db {
        #[command(subcommand)]
        action: DbCommand,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Leases as a file (JSON Lines), to move them between the embedded store and
    /// PostgreSQL, either way.
    Leases {
        #[command(subcommand)]
        action: LeasesCommand,
        #[command(flatten)]
        file: FileArgs,
    },
    /// SZTP option 143/136 payloads: encode URIs for other servers' configurations,
    /// or check a payload.
    #[cfg(feature = "plugin-sztp")]
    Sztp {
        #[command(subcommand)]
        action: SztpCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Create the schema in an empty database (or bring an older one up to date).
    Init(FileArgs),
    /// Bring the schema up to this server's version (its migrations, in order, once).
    Upgrade(FileArgs),
    /// Print the schema version found, and this server's.
    Status(FileArgs),
}

#[derive(Subcommand)]
enum LeasesCommand {
    /// Write every lease of the configured store (a lease a line, JSON) to a file, or
    /// to standard output; safe while the server runs.
    Export {
        /// Where to write [default: standard output].
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Write the leases of a file made by `export` to the configured store (refused for
    /// the embedded file while a server serves from it).
    Import {
        /// The file, or `-` for standard input.
        input: PathBuf,
        #[command(flatten)]
        file: FileArgs,
    },
}

impl DbCommand {
    /// Whether it changes the schema, and its options.
    fn split(self) -> (bool, FileArgs) {
        match self {
            DbCommand::Init(a) | DbCommand::Upgrade(a) => (true, a),
            DbCommand::Status(a) => (false, a),
        }
    }
}

/// The arguments, with ISC dhcpd's `-cf FILE` read as `--config FILE`.
fn arguments() -> impl Iterator<Item = std::ffi::OsString> {
    std::env::args_os().map(|a| if a == "-cf" { "--config".into() } else { a })
}

#[cfg(feature = "plugin-sztp")]
#[derive(Subcommand)]
enum SztpCommand {
    /// Print the payload of `https://host[:port]` URIs as hex and as ISC dhcpd, Kea and
    /// Cisco configuration lines.
    Encode {
        #[arg(required = true)]
        uris: Vec<String>,
        /// rfc8572 (the RFC's list), url-text or host-port (text some agents read).
        #[arg(long, default_value = "rfc8572")]
        encoding: String,
    },
    /// Check a payload given in hex and list its URIs; exit 1 when a device would
    /// discard it.
    Decode { hex: String },
}

/// `db init|upgrade|status`: the schema of the configured PostgreSQL lease database.
fn db(change: bool, args: FileArgs) -> ExitCode {
    let file = args
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
    let cfg = match config::load(&file) {
        Ok(c) => c,
        Err(errors) => return config_failed(&file, &errors),
    };
    let known = zerotouch_lease_postgres::schema::VERSION;
    match zerotouch_dhcpd::store::schema(&cfg.leases, change) {
        Ok((from, to)) if change && from == to => {
            println!("schema version {to}: up to date");
            ExitCode::SUCCESS
        }
        Ok((from, to)) if change => {
            println!("schema version {from} -> {to}");
            ExitCode::SUCCESS
        }
        Ok((found, _)) => {
            println!("schema version {found}; this server's: {known}");
            if found == known {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("zerotouch-dhcpd db: {e}");
            ExitCode::from(1)
        }
    }
}

/// `leases export|import`: leases between the configured store and a file.
fn leases(action: LeasesCommand, outer: FileArgs) -> ExitCode {
    let (inner, export) = match &action {
        LeasesCommand::Export { file, .. } | LeasesCommand::Import { file, .. } => {
            (file.clone(), matches!(action, LeasesCommand::Export { .. }))
        }
    };
    let file = inner
        .or(outer)
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
    let cfg = match config::load(&file) {
        Ok(c) => c,
        Err(errors) => return config_failed(&file, &errors),
    };
    let result = match action {
        LeasesCommand::Export { output, .. } => export_leases(&cfg.leases, output),
        LeasesCommand::Import { input, .. } => import_leases(&cfg.leases, &input),
    };
    match result {
        Ok(said) => {
            eprintln!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let verb = if export { "export" } else { "import" };
            eprintln!("zerotouch-dhcpd leases {verb}: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn export_leases(
    cfg: &config::LeaseStoreConfig,
    output: Option<PathBuf>,
) -> anyhow::Result<String> {
    let mut out: Box<dyn std::io::Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let (v4, v6, bad) =
        zerotouch_dhcpd::store::export(cfg, &mut out).map_err(|e| anyhow::anyhow!(e))?;
    for row in &bad {
        eprintln!("left out, unreadable: {row}");
    }
    Ok(format!("exported {v4} DHCPv4 and {v6} DHCPv6 leases"))
}

fn import_leases(
    cfg: &config::LeaseStoreConfig,
    input: &std::path::Path,
) -> anyhow::Result<String> {
    let read = if input == std::path::Path::new("-") {
        zerotouch_lease::transfer::read(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot open {}", input.display()))?;
        zerotouch_lease::transfer::read(std::io::BufReader::new(file))
    };
    let leases = read.with_context(|| format!("{} (nothing imported)", input.display()))?;
    let done = zerotouch_dhcpd::store::import(cfg, &leases)?;
    let mut said = format!("imported {} DHCPv4 and {} DHCPv6 leases", done.v4, done.v6);
    if done.refused4 + done.refused6 > 0 {
        said.push_str(&format!(
            "; refused {} DHCPv4 and {} DHCPv6 leases: their addresses are held by other clients in the store",
            done.refused4, done.refused6
        ));
    }
    Ok(said)
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    let (command, args) = match cli.command {
        Some(Command::DefaultConfig) => {
            print!("{}", zerotouch_dhcpd::DEFAULT_CONFIG);
            return ExitCode::SUCCESS;
        }
        Some(Command::Plugins) => {
            for r in plugin::builtins() {
                println!("{:<12} {}", r.name, r.summary);
            }
            return ExitCode::SUCCESS;
        }
        #[cfg(feature = "plugin-sztp")]
        Some(Command::Sztp { action }) => {
            use zerotouch_plugin_sztp::tool;
            let report = match action {
                SztpCommand::Encode { uris, encoding } => tool::encode_report(&uris, &encoding),
                SztpCommand::Decode { hex } => tool::decode_report(&hex),
            };
            return match report {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("zerotouch-dhcpd sztp: {e}");
                    ExitCode::from(1)
                }
            };
        }
        Some(Command::Leases { action, file }) => return leases(action, file.or(cli.file)),
        Some(Command::Db { action, file }) => {
            let (change, inner) = action.split();
            return db(change, inner.or(file).or(cli.file));
        }
        Some(Command::Check(args)) => (Mode::Check, args.or(cli.file)),
        // `-t` makes any run a check.
        Some(Command::Run(args)) => (Mode::with_test(&cli.test), args.or(cli.file)),
        None => (Mode::with_test(&cli.test), cli.file),
    };
    // `-t FILE` names the file as Kea's `-t` does.
    let file = cli
        .test
        .flatten()
        .or(args.config)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
    let cfg = match config::load(&file) {
        Ok(c) => c,
        Err(errors) => return config_failed(&file, &errors),
    };
    // A host may run plugins' services alone (an SZTP bootstrap server of its own),
    // but a file with neither DHCP nor a plugin serves nothing: refused by check and
    // at start alike.
    if cfg.dhcp4.is_none() && cfg.dhcp6.is_none() && cfg.plugins.is_empty() {
        let nothing = config::ConfigError::about_file(
            &file,
            "nothing to serve: no [dhcp4], [dhcp6] or enabled [[plugin]] section",
        );
        return config_failed(&file, &config::ConfigErrors(vec![nothing]));
    }
    match command {
        Mode::Check => {
            // Plugins are created too, so their settings are checked like the core's.
            match plugin::load_plugins(&cfg, &plugin::builtins(), None) {
                Ok(p) => {
                    for w in p.warnings() {
                        eprintln!("warning: {w}");
                    }
                }
                Err(errors) => return config_failed(&file, &errors),
            }
            let mut parts = Vec::new();
            if let Some(d) = &cfg.dhcp4 {
                parts.push(format!(
                    "dhcp4: {} subnets, {} pools, {} host reservations, {} classes",
                    d.subnets.len(),
                    d.subnets.iter().map(|s| s.pools.len()).sum::<usize>(),
                    d.hosts.list.len(),
                    d.classes.len(),
                ));
            }
            if let Some(d) = &cfg.dhcp6 {
                parts.push(format!(
                    "dhcp6: {} subnets, {} pools, {} prefix pools, {} host reservations, {} classes",
                    d.subnets.len(),
                    d.subnets.iter().map(|s| s.pools.len()).sum::<usize>(),
                    d.subnets.iter().map(|s| s.pd_pools.len()).sum::<usize>(),
                    d.hosts.list.len(),
                    d.classes.len(),
                ));
            }
            parts.push(format!("{} plugins", cfg.plugins.len()));
            println!("{}: ok ({})", file.display(), parts.join("; "));
            ExitCode::SUCCESS
        }
        Mode::Run => {
            let level = args.log_level.unwrap_or_else(|| cfg.log_level.clone());
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            // The packet path runs on threads of its own; this runtime waits for signals
            // and runs the plugins' services (listeners) and their bounded waits.
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("plugin-services")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("zerotouch-dhcpd: starting the runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            // Plugin settings are configuration: their errors exit 1 like the core's.
            let plugins =
                match plugin::load_plugins(&cfg, &plugin::builtins(), Some(rt.handle().clone())) {
                    Ok(p) => p,
                    Err(errors) => return config_failed(&file, &errors),
                };
            match run(cfg, &rt, plugins) {
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

/// Where the configuration is read from when no file is named.
const DEFAULT_CONFIG_PATH: &str = "/etc/zerotouch/dhcpd.toml";

/// What a command that reads the configuration does with it.
enum Mode {
    Run,
    Check,
}

impl Mode {
    /// Check when `-t` was given, else run.
    fn with_test(test: &Option<Option<PathBuf>>) -> Mode {
        if test.is_some() {
            Mode::Check
        } else {
            Mode::Run
        }
    }
}

fn config_failed(file: &std::path::Path, errors: &config::ConfigErrors) -> ExitCode {
    eprintln!("{errors}");
    eprintln!("{}: {} error(s)", file.display(), errors.0.len());
    ExitCode::from(1)
}

fn run(
    cfg: config::Config,
    rt: &tokio::runtime::Runtime,
    plugins: Arc<plugin::Pipeline>,
) -> anyhow::Result<()> {
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    info!(config = %cfg.file.display(), version = env!("CARGO_PKG_VERSION"), plugins = plugins.instances().len(), "zerotouch-dhcpd starting");
    for w in plugins.warnings() {
        warn!("{w}");
    }
    let view = Arc::new(services::ServerViewImpl::new(
        &cfg,
        counters.clone(),
        plugins.clone(),
    ));
    let host = ServiceHost {
        runtime: rt.handle().clone(),
        leases: Arc::new(services::StoreLeaseReader::new(&cfg.leases)),
        server: view,
        events: plugins.events().clone(),
        artifacts: Default::default(),
    };
    for inst in plugins.instances() {
        inst.plugin
            .start(&host)
            .map_err(|e| anyhow::anyhow!("plugin {}: {e}", inst.entry.instance))?;
    }
    let services = server::start(&cfg, counters.clone(), plugins.clone(), stop.clone())
        .with_context(|| format!("starting from {}", cfg.file.display()))?;
    let stats = counters.clone();
    let watched = &services;
    let pipeline = plugins.clone();
    rt.block_on(async move {
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut usr1 =
            signal(SignalKind::user_defined1()).context("installing the SIGUSR1 handler")?;
        let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        let mut liveness = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => info!("counters: {} {}", stats.summary(), pipeline.summary()),
                _ = hup.recv() => reload_plugins(&pipeline, &cfg.file),
                // A service that stopped on its own hit a fatal error: stop the rest.
                _ = liveness.tick() => if watched.iter().any(|s| s.is_finished()) { break },
            }
        }
        anyhow::Ok(())
    })?;
    info!("stopping");
    stop.store(true, Ordering::Relaxed);
    let served = server::join(services, &counters).context("serving");
    if !plugins.instances().is_empty() {
        info!("plugin counters: {}", plugins.summary());
    }
    plugins.stop();
    served
}

/// SIGHUP: reads the configuration again and hands each running plugin instance its
/// new settings. The instance list and the core configuration need a restart.
fn reload_plugins(pipeline: &plugin::Pipeline, file: &std::path::Path) {
    let cfg = match config::load(file) {
        Ok(c) => c,
        Err(e) => {
            warn!("reload: configuration not applied:\n{e}");
            return;
        }
    };
    let doc = zerotouch_plugin::Document::parse(&cfg.text);
    for inst in pipeline.instances() {
        let Some(entry) = cfg
            .plugins
            .iter()
            .find(|e| e.instance == inst.entry.instance)
        else {
            warn!(plugin = %inst.entry.instance, "reload: instance no longer configured; it keeps running until restart");
            continue;
        };
        let settings =
            zerotouch_plugin::Settings::for_entry(&cfg.file, &doc, entry.index, &entry.instance);
        match inst.plugin.reload(&settings) {
            Ok(()) => info!(plugin = %inst.entry.instance, "reload: settings applied"),
            Err(e) => {
                let src = config::SourceMap {
                    file: &cfg.file,
                    text: &cfg.text,
                };
                let at = plugin::settings_error(&src, entry, e);
                warn!(plugin = %inst.entry.instance, "reload: settings not applied: {at}");
            }
        }
    }
    for entry in &cfg.plugins {
        if !pipeline
            .instances()
            .iter()
            .any(|i| i.entry.instance == entry.instance)
        {
            warn!(plugin = %entry.instance, "reload: new plugin instances start at the next restart");
        }
    }
}
