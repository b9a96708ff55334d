//! zerotouchctl: the operator's tool for the SZTP side of zerotouch: a lab PKI, hashed
//! device secrets, and the progress reports devices sent to the bootstrap server.

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
    about = "SZTP tools for zerotouch: lab PKI, device secrets, progress reports"
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
}

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

/// The bootstrap plugin's reports database named in a server configuration.
fn database_of(config: &Path) -> anyhow::Result<PathBuf> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    let entry = doc
        .get("plugin")
        .and_then(|p| p.as_array())
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("name").and_then(|n| n.as_str()) == Some("bootstrap"))
        })
        .with_context(|| format!("{} has no [[plugin]] named \"bootstrap\"", config.display()))?;
    let db = entry
        .get("settings")
        .and_then(|s| s.get("reports_database"))
        .and_then(|v| v.as_str())
        .unwrap_or(DEFAULT_REPORTS);
    Ok(config.parent().unwrap_or(Path::new(".")).join(db))
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
