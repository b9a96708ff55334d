//! zerotouchctl: the operator's tool for the SZTP side of zerotouch: a lab PKI, hashed
//! device secrets, the progress reports devices sent to the bootstrap server, and the
//! last lines devices logged to the syslog plugin.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use zerotouch_plugin_bootstrap::pki;
use zerotouch_plugin_bootstrap::reports::Reports;
use zerotouch_plugin_bootstrap::secret::{DEFAULT_ITERATIONS, SecretHash};
use zerotouch_plugin_bootstrap::settings::DEFAULT_REPORTS;

#[derive(Parser)]
#[command(
    name = "zerotouchctl",
    version,
    about = "SZTP tools for zerotouch: lab PKI, device secrets, progress reports, device logs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A lab PKI: manufacturer CA and IDevIDs, owner CA and certificate, voucher CA,
    /// signer and vouchers, and the bootstrap server's TLS certificate.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Hashes a device secret (read from the first line of standard input) for
    /// `secret = "..."` in a device entry.
    HashSecret {
        #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
        iterations: u32,
    },
    /// Lists the devices that reported progress or made requests, or one device's
    /// requests (status code and outcome, refusals included) and progress reports.
    Reports {
        /// The server's configuration: the database is the bootstrap plugin's
        /// `reports_database`.
        #[arg(long, conflicts_with = "database")]
        config: Option<PathBuf>,
        /// The reports database itself.
        #[arg(long)]
        database: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// One device's reports.
        serial: Option<String>,
    },
    /// Lists the devices whose last log lines the syslog plugin keeps, or one device's
    /// lines (its own and the server's about it), read from the plugin's
    /// `status_listen` endpoint of a running server.
    Logs {
        /// The server's configuration: the endpoint is the syslog plugin's
        /// `status_listen`.
        #[arg(long, default_value = DEFAULT_CONFIG, conflicts_with = "url")]
        config: PathBuf,
        /// The endpoint itself, such as http://127.0.0.1:9268.
        #[arg(long)]
        url: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The device: its SZTP serial, MAC (or client identifier, DUID) or address.
        device: Option<String>,
    },
}

/// The server's configuration when `--config` is not given (as zerotouch-dhcpd's).
const DEFAULT_CONFIG: &str = "/etc/zerotouch/dhcpd.toml";

#[derive(Subcommand)]
enum PkiCommand {
    /// Creates a whole lab in DIR (refuses to overwrite one).
    Lab {
        #[arg(long)]
        dir: PathBuf,
        /// A device serial number (repeat for more).
        #[arg(long = "device")]
        devices: Vec<String>,
        /// A DNS name or IP address of the bootstrap server (repeat for more).
        #[arg(long = "server-name", required = true)]
        server_names: Vec<String>,
    },
    /// Adds devices (IDevID and voucher) to the lab in DIR.
    Device {
        #[arg(long)]
        dir: PathBuf,
        #[arg(required = true)]
        serials: Vec<String>,
    },
}

/// Setting `key` of the first plugin named `plugin` in a server configuration (None
/// when that plugin does not set it).
fn plugin_setting(config: &Path, plugin: &str, key: &str) -> anyhow::Result<Option<String>> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    let entry = doc
        .get("plugin")
        .and_then(|p| p.as_array())
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(plugin))
        })
        .with_context(|| format!("{} has no [[plugin]] named {plugin:?}", config.display()))?;
    Ok(entry
        .get("settings")
        .and_then(|s| s.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// The bootstrap plugin's reports database named in a server configuration.
fn database_of(config: &Path) -> anyhow::Result<PathBuf> {
    let db = plugin_setting(config, "bootstrap", "reports_database")?;
    let db = db.as_deref().unwrap_or(DEFAULT_REPORTS);
    Ok(config.parent().unwrap_or(Path::new(".")).join(db))
}

/// `GET path` of the syslog plugin's endpoint: the answer as JSON, or the server's
/// error and exit status 1.
fn syslog_endpoint(
    config: &Path,
    url: Option<String>,
    path: &str,
) -> anyhow::Result<Result<serde_json::Value, ExitCode>> {
    let base = match url {
        Some(url) => url,
        None => {
            let listen = plugin_setting(config, "syslog", "status_listen")?.with_context(|| {
                format!(
                    "{}: the syslog plugin has no status_listen, so no lines are kept; set it, or give --url",
                    config.display()
                )
            })?;
            format!("http://{listen}")
        }
    };
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = runtime
        .block_on(zerotouch_http::get(&url))
        .context("is zerotouch-dhcpd running with the syslog plugin?")?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("{url}: the answer is not JSON"))?;
    if !status.is_success() {
        let error = value.get("error").and_then(|e| e.as_str()).unwrap_or("");
        eprintln!("{url}: {status}: {error}");
        return Ok(Err(ExitCode::from(1)));
    }
    Ok(Ok(value))
}

fn logs(
    config: &Path,
    url: Option<String>,
    json: bool,
    device: Option<String>,
) -> anyhow::Result<ExitCode> {
    let path = match &device {
        None => "/devices".to_string(),
        Some(d) => format!(
            "/devices/{}",
            percent_encoding::utf8_percent_encode(d, percent_encoding::NON_ALPHANUMERIC)
        ),
    };
    let value = match syslog_endpoint(config, url, &path)? {
        Ok(value) => value,
        Err(code) => return Ok(code),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let field = |v: &serde_json::Value, k: &str| -> String {
        match &v[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            other => other.to_string(),
        }
    };
    let empty = Vec::new();
    if device.is_none() {
        println!(
            "{:<20} {:<18} {:<26} {:<16} {:>5}  LAST LINE",
            "SERIAL", "MAC", "ADDRESS", "HOSTNAME", "LINES"
        );
        for d in value["devices"].as_array().unwrap_or(&empty) {
            println!(
                "{:<20} {:<18} {:<26} {:<16} {:>5}  {}",
                field(d, "serial"),
                field(d, "mac"),
                field(d, "address"),
                field(d, "hostname"),
                field(d, "lines"),
                field(d, "last")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let d = &value["device"];
    println!(
        "device serial {} mac {} client-id {} address {} hostname {}: {} lines",
        field(d, "serial"),
        field(d, "mac"),
        field(d, "client_id"),
        field(d, "address"),
        field(d, "hostname"),
        field(d, "lines")
    );
    for l in value["lines"].as_array().unwrap_or(&empty) {
        println!(
            "{}  {:<7} {}: {}",
            field(l, "received"),
            field(l, "severity"),
            field(l, "app_name"),
            field(l, "message")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn reports(
    config: Option<PathBuf>,
    database: Option<PathBuf>,
    json: bool,
    serial: Option<String>,
) -> anyhow::Result<ExitCode> {
    let path = match (config, database) {
        (_, Some(db)) => db,
        (Some(c), None) => database_of(&c)?,
        (None, None) => PathBuf::from(DEFAULT_REPORTS),
    };
    if !path.exists() {
        bail!(
            "{}: no reports database (no device has reported yet, or the path is wrong)",
            path.display()
        );
    }
    let store = Reports::open_read_only(&path)?;
    match serial {
        None => {
            let devices = store.devices()?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "devices": devices }))?
                );
            } else {
                println!(
                    "{:<24} {:<12} {:<32} {:<21} {:>7}  LAST REQUEST",
                    "SERIAL", "STATE", "LAST REPORT", "RECEIVED", "REPORTS"
                );
                for d in devices {
                    let last = d
                        .last_request
                        .map(|r| format!("{} {}: {}", r.rpc, r.status, r.outcome))
                        .unwrap_or_default();
                    println!(
                        "{:<24} {:<12} {:<32} {:<21} {:>7}  {last}",
                        d.serial, d.state, d.last_progress_type, d.last_received, d.reports
                    );
                }
            }
        }
        Some(serial) => {
            let Some(status) = store.status(&serial)? else {
                eprintln!("no reports or requests from device {serial:?}");
                return Ok(ExitCode::from(1));
            };
            let reports = store.reports(&serial)?;
            let requests = store.requests(&serial)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "device": status,
                        "reports": reports,
                        "requests": requests,
                    }))?
                );
            } else {
                println!(
                    "device {} is {} ({} reports, {} requests)",
                    status.serial, status.state, status.reports, status.requests
                );
                println!("requests:");
                for r in &requests {
                    println!(
                        "{}  {:<22} {:<22} {} {}",
                        r.received, r.peer, r.rpc, r.status, r.outcome
                    );
                }
                if !reports.is_empty() {
                    println!("progress reports:");
                }
                for r in reports {
                    println!(
                        "{}  {:<32} {}",
                        r.received,
                        r.progress_type,
                        r.message.unwrap_or_default()
                    );
                    for k in r.ssh_host_keys {
                        println!("{:22}ssh host key {} {}", "", k.algorithm, k.key_data);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Pki {
            command:
                PkiCommand::Lab {
                    dir,
                    devices,
                    server_names,
                },
        } => {
            if dir.join("manufacturer-ca.key").exists() {
                bail!(
                    "{} already holds a lab; add devices with `zerotouchctl pki device`",
                    dir.display()
                );
            }
            pki::create_lab(&dir, &devices, &server_names)?;
            println!("lab PKI written to {}", dir.display());
        }
        Command::Pki {
            command: PkiCommand::Device { dir, serials },
        } => {
            for s in &serials {
                pki::add_device(&dir, s)?;
            }
            println!("{} device(s) added to {}", serials.len(), dir.display());
        }
        Command::HashSecret { iterations } => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let secret = line.trim_end_matches(['\r', '\n']);
            if secret.is_empty() {
                bail!("no secret on standard input");
            }
            println!(
                "{}",
                SecretHash::new(secret, iterations).map_err(anyhow::Error::msg)?
            );
        }
        Command::Reports {
            config,
            database,
            json,
            serial,
        } => return reports(config, database, json, serial),
        Command::Logs {
            config,
            url,
            json,
            device,
        } => return logs(&config, url, json, device),
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zerotouchctl: {e:#}");
            ExitCode::from(1)
        }
    }
}
