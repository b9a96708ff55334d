//! zerotouch-agent: an SZTP device (RFC 8572 §5) in directories. It looks for
//! bootstrapping data at the servers its DHCP lease names (option 143 or 136), in DNS
//! (its own TXT records, then the SRV records' servers) and at the bootstrap servers
//! it is given, in that order; checks what they send
//! (`verify`), follows redirects (`process`) and onboards (`onboard`): boot image,
//! scripts, configuration, progress reports. Exit status 0 only when bootstrapping
//! completed; otherwise the step that failed and why, per server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::json;
use zerotouch_agent::client::{Client, Input, Server, ServerTrust};
use zerotouch_agent::dns::Lookup;
use zerotouch_agent::log::{Log, Severity};
use zerotouch_agent::onboard::{self, Dirs, Outcome, Setup};
use zerotouch_agent::process::{self, Context, Found, Step};
use zerotouch_agent::verify::Device;

/// Reboots into a new boot image, at most, in one run.
const MAX_REBOOTS: usize = 3;

#[derive(Parser)]
#[command(
    name = "zerotouch-agent",
    version,
    about = "An SZTP device (RFC 8572): asks bootstrap servers, checks signed data, onboards into a directory"
)]
struct Args {
    /// A bootstrap server, https://HOST[:PORT] (repeat: tried in order, after DNS).
    #[arg(
        long = "server",
        value_name = "URI",
        required_unless_present_any = ["domain", "dhcp_lease", "mdns"]
    )]
    servers: Vec<String>,
    /// A dhclient lease file holding option 143 or 136 (`sztp-redirect`): its
    /// bootstrap servers are tried first, provisionally.
    #[arg(long, value_name = "FILE")]
    dhcp_lease: Option<PathBuf>,
    /// The domain to look in with DNS: the device's TXT records at
    /// <serial>._sztp.<domain>, then the _sztp._tcp.<domain> SRV records.
    #[arg(long, requires = "dns_server")]
    domain: Option<String>,
    /// The nameserver asked, ADDRESS:PORT.
    #[arg(long, value_name = "ADDRESS:PORT")]
    dns_server: Option<std::net::SocketAddr>,
    /// Ask multicast DNS in local. first (RFC 6762; needs a route to 224.0.0.251).
    #[arg(long)]
    mdns: bool,
    /// The device's IDevID certificate (PEM, its chain).
    #[arg(long)]
    idevid: PathBuf,
    /// The IDevID's private key (PEM).
    #[arg(long)]
    idevid_key: PathBuf,
    /// The manufacturer's trust anchors for ownership vouchers (PEM).
    #[arg(long)]
    voucher_ca: PathBuf,
    /// Trust anchors for the bootstrap servers given (PEM); without them the servers
    /// are reached provisionally and must send signed data.
    #[arg(long)]
    server_ca: Option<PathBuf>,
    /// HTTP Basic credentials USER:PASSWORD for the servers that ask for them.
    #[arg(long, value_name = "USER:PASSWORD")]
    basic: Option<String>,
    /// The device's serial number [default: the IDevID subject's serialNumber].
    #[arg(long)]
    serial: Option<String>,
    /// The hardware model sent to the servers.
    #[arg(long)]
    hw_model: Option<String>,
    /// The OS name the device runs.
    #[arg(long)]
    os_name: Option<String>,
    /// The OS version the device runs.
    #[arg(long)]
    os_version: Option<String>,
    /// The device's directory: images/, config/, work/ and credentials/ inside.
    #[arg(long)]
    root: PathBuf,
    /// An SSH host public key file (`ALGORITHM BASE64 [COMMENT]`) for bootstrap-complete
    /// (repeat).
    #[arg(long = "ssh-host-key", value_name = "FILE")]
    ssh_host_keys: Vec<PathBuf>,
    /// How long a script may run, seconds.
    #[arg(long, default_value_t = 300)]
    script_timeout: u64,
    /// A syslog server for the device's log lines, ADDRESS:PORT [default: the lease's
    /// log-servers (option 7), port 514].
    #[arg(long, value_name = "ADDRESS:PORT")]
    syslog: Option<std::net::SocketAddr>,
    /// When no source served, try them all again after this many seconds (RFC 8572
    /// §5.2: a device loops until one does) [default: one pass].
    #[arg(long, value_name = "SECS")]
    retry: Option<u64>,
    /// With --retry, give up after this many passes over the sources.
    #[arg(long, default_value_t = u32::MAX, requires = "retry")]
    passes: u32,
    /// Do not offer trusted bootstrap servers a certificate request (RFC 9646).
    #[arg(long)]
    no_csr: bool,
    /// Print the record of every step as JSON.
    #[arg(long)]
    json: bool,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn anchors(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let found = CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    if found.is_empty() {
        bail!("{}: no certificate", path.display());
    }
    Ok(found)
}

/// `https://host[:port]` as a server.
fn server_of(uri: &str) -> anyhow::Result<Server> {
    let parsed: hyper::Uri = uri
        .parse()
        .with_context(|| format!("{uri:?} is not a URI"))?;
    match (parsed.scheme_str(), parsed.authority()) {
        (Some("https"), Some(a)) => Ok(Server {
            host: a.host().trim_matches(['[', ']']).to_string(),
            port: a.port_u16().unwrap_or(443),
            address: None,
        }),
        _ => bail!("{uri:?}: bootstrap servers are https://HOST[:PORT]"),
    }
}

/// The serialNumber attribute (2.5.4.5) of the first certificate's subject.
fn serial_of(cert_pem: &[u8]) -> anyhow::Result<String> {
    use der::Decode;
    const SERIAL_NUMBER: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("2.5.4.5");
    let first = CertificateDer::pem_slice_iter(cert_pem)
        .next()
        .context("the IDevID file holds no certificate")??;
    let cert = x509_cert::Certificate::from_der(first.as_ref())?;
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == SERIAL_NUMBER)
        .map(|atv| String::from_utf8_lossy(atv.value.value()).into_owned())
        .context("the IDevID's subject has no serialNumber: give --serial")
}

/// `ALGORITHM BASE64 [COMMENT]`, as ssh-keygen writes host keys.
fn ssh_host_key(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    use base64::Engine;
    let text = String::from_utf8(read(path)?)?;
    let mut words = text.split_whitespace();
    let (Some(algorithm), Some(data)) = (words.next(), words.next()) else {
        bail!("{}: expected ALGORITHM BASE64", path.display());
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(data)
        .with_context(|| format!("{}: the key is not base64", path.display()))?;
    Ok((algorithm.to_string(), key))
}

/// Where bootstrapping data is looked for, in the order RFC 8572 §4 and §5.2 give.
enum Source {
    /// A server the DHCP lease named (untrusted: reached provisionally).
    Dhcp(Server),
    /// The device's own TXT records, in multicast or unicast DNS.
    DnsDevice(Lookup),
    /// The SRV records' bootstrap servers, reached provisionally.
    DnsServers(Lookup),
    /// A server given on the command line.
    Configured(Server),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Dhcp(s) => write!(f, "DHCP ({s})"),
            Source::DnsDevice(l) if l.is_mdns() => write!(f, "mDNS (device TXT)"),
            Source::DnsDevice(_) => write!(f, "DNS (device TXT)"),
            Source::DnsServers(l) if l.is_mdns() => write!(f, "mDNS (SRV)"),
            Source::DnsServers(_) => write!(f, "DNS (SRV)"),
            Source::Configured(s) => write!(f, "{s}"),
        }
    }
}

/// Onboarding information from `source`, or why none came; every source asked in
/// `steps`.
async fn find(
    cx: &Context<'_>,
    source: &Source,
    trust: &ServerTrust,
    steps: &mut Vec<Step>,
) -> Result<Found, String> {
    match source {
        Source::Configured(server) => {
            process::process(cx, server.clone(), trust.clone(), steps).await
        }
        Source::Dhcp(server) => {
            process::process(cx, server.clone(), ServerTrust::Provisional, steps).await
        }
        Source::DnsDevice(lookup) => match lookup.device(cx.device.serial).await {
            Ok(Some(records)) => process::process_records(cx, &records, steps).await,
            Ok(None) => Err(format!("no TXT records for {} in DNS", cx.device.serial)),
            Err(e) => Err(e.to_string()),
        },
        Source::DnsServers(lookup) => {
            let servers = lookup.servers().await.map_err(|e| e.to_string())?;
            // The answer is a step of its own: which servers, at which addresses.
            steps.push(Step {
                source: source.to_string(),
                depth: 0,
                authenticated: false,
                outcome: servers
                    .iter()
                    .map(|s| match s.address {
                        Some(a) => format!("{s} at {a}"),
                        None => s.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            });
            let mut last = String::from("no _sztp._tcp SRV records in DNS");
            for server in servers {
                // DNS is untrusted: the servers it names are reached provisionally.
                match process::process(cx, server, ServerTrust::Provisional, steps).await {
                    Ok(found) => return Ok(found),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<(bool, serde_json::Value)> {
    let cert = read(&args.idevid)?;
    let client = Client::new(&cert, &read(&args.idevid_key)?, args.basic.clone())?;
    let serial = match &args.serial {
        Some(s) => s.clone(),
        None => serial_of(&cert)?,
    };
    let voucher_anchors = anchors(&args.voucher_ca)?;
    let trust = match &args.server_ca {
        Some(path) => ServerTrust::Anchors(anchors(path)?),
        None => ServerTrust::Provisional,
    };
    let lookup = match (&args.domain, args.dns_server) {
        (Some(domain), Some(server)) => Some(Lookup {
            server,
            domain: domain.clone(),
        }),
        _ => None,
    };
    let mut sources = Vec::new();
    let mut log_server = args.syslog;
    if let Some(lease) = &args.dhcp_lease {
        let text = String::from_utf8_lossy(&read(lease)?).into_owned();
        log_server = log_server.or(zerotouch_agent::log::server_in_lease_file(&text));
        match zerotouch_agent::dhcp::uris_in_lease_file(&text) {
            Ok(uris) => {
                for u in uris {
                    sources.push(Source::Dhcp(server_of(&u)?));
                }
            }
            // Another source may still serve: say so and go on.
            Err(e) => eprintln!("zerotouch-agent: {}: {e}", lease.display()),
        }
    }
    // RFC 8572 §4.2: device-specific records before device-independent ones, each
    // in mDNS before unicast DNS.
    let lookups: Vec<Lookup> = args
        .mdns
        .then(Lookup::mdns)
        .into_iter()
        .chain(lookup)
        .collect();
    sources.extend(lookups.iter().cloned().map(Source::DnsDevice));
    sources.extend(lookups.into_iter().map(Source::DnsServers));
    for s in &args.servers {
        sources.push(Source::Configured(server_of(s)?));
    }
    let keys = args
        .ssh_host_keys
        .iter()
        .map(|p| ssh_host_key(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dirs = Dirs {
        images: args.root.join("images"),
        config: args.root.join("config"),
        work: args.root.join("work"),
        credentials: args.root.join("credentials"),
    };
    for d in [&dirs.images, &dirs.config, &dirs.work] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let log = Log::to(log_server, &serial);
    log.line(
        Severity::Info,
        &format!(
            "bootstrapping: {} source(s): {}",
            sources.len(),
            sources
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let mut running = (args.os_name.clone(), args.os_version.clone());
    let mut attempts = Vec::new();
    let mut reboots = 0;
    let mut passes = 1;
    'boot: loop {
        for source in &sources {
            let cx = Context {
                client: &client,
                voucher_anchors: &voucher_anchors,
                device: Device {
                    serial: &serial,
                    idevid_issuer: None,
                },
                input: Input {
                    hw_model: args.hw_model.clone(),
                    os_name: running.0.clone(),
                    os_version: running.1.clone(),
                    signed_data_preferred: false,
                    csr: None,
                },
                offer_csr: !args.no_csr,
            };
            let mut steps = Vec::new();
            let found = find(&cx, source, &trust, &mut steps).await;
            for step in &steps {
                let how = if step.authenticated {
                    "authenticated"
                } else {
                    "not authenticated"
                };
                log.line(
                    Severity::Info,
                    &format!("{} ({how}): {}", step.source, step.outcome),
                );
            }
            let steps_json: Vec<_> = steps
                .iter()
                .map(|s| json!({"source": s.source, "depth": s.depth, "authenticated": s.authenticated, "outcome": s.outcome}))
                .collect();
            let found = match found {
                Ok(found) => found,
                Err(why) => {
                    log.line(Severity::Err, &format!("{source}: {why}"));
                    attempts.push(
                        json!({"source": source.to_string(), "steps": steps_json, "error": why}),
                    );
                    continue;
                }
            };
            let from = match &found.server {
                Some((server, _)) => server.to_string(),
                None => source.to_string(),
            };
            let setup = Setup {
                client: &client,
                running: running.clone(),
                dirs: &dirs,
                ssh_host_keys: &keys,
                script_timeout: Duration::from_secs(args.script_timeout),
                log: Some(&log),
            };
            let mut record = Vec::new();
            let outcome = onboard::onboard(&setup, &found, &mut record).await;
            let reports: Vec<_> = record
                .iter()
                .map(|r| json!({"progress_type": r.progress_type, "message": r.message, "sent": r.outcome.is_ok(), "outcome": r.outcome.as_ref().err()}))
                .collect();
            let mut attempt = json!({
                "source": source.to_string(),
                "from": from,
                "signed": found.signed,
                "steps": steps_json,
                "reports": reports,
            });
            match outcome {
                Ok(Outcome::Complete { ldevid }) => {
                    attempt["outcome"] = json!("bootstrap-complete");
                    if let Some(l) = &ldevid {
                        log.line(
                            Severity::Notice,
                            &format!(
                                "certificate {} issued by {} installed: {}",
                                l.subject,
                                l.issuer,
                                l.certificate.display()
                            ),
                        );
                        attempt["ldevid"] = json!({
                            "name": l.name, "subject": l.subject, "issuer": l.issuer,
                            "not_after": l.not_after, "key": l.key, "certificate": l.certificate,
                        });
                    }
                    attempts.push(attempt);
                    log.line(
                        Severity::Notice,
                        &format!("bootstrap-complete (from {from})"),
                    );
                    return Ok((
                        true,
                        json!({"serial": serial, "complete": true, "attempts": attempts}),
                    ));
                }
                Ok(Outcome::Rebooting {
                    os_name,
                    os_version,
                }) => {
                    attempt["outcome"] = json!("boot-image-installed-rebooting");
                    attempts.push(attempt);
                    reboots += 1;
                    if reboots > MAX_REBOOTS {
                        bail!("more than {MAX_REBOOTS} boot images in one run");
                    }
                    log.line(
                        Severity::Notice,
                        &format!(
                            "boot image {} {} downloaded, its SHA-256 checked, installed: rebooting into it",
                            os_name.as_deref().unwrap_or("-"),
                            os_version.as_deref().unwrap_or("-")
                        ),
                    );
                    running = (os_name, os_version);
                    continue 'boot;
                }
                Err(failure) => {
                    log.line(Severity::Err, &format!("{from}: {failure}"));
                    attempt["outcome"] = json!(failure.progress_type);
                    attempt["error"] = json!(failure.reason);
                    attempts.push(attempt);
                }
            }
        }
        // RFC 8572 §5.2: a device loops over its sources until one serves.
        if let Some(pause) = args.retry
            && passes < args.passes
        {
            passes += 1;
            log.line(
                Severity::Notice,
                &format!("no source served: trying them again in {pause} s"),
            );
            tokio::time::sleep(Duration::from_secs(pause)).await;
            continue 'boot;
        }
        return Ok((
            false,
            json!({"serial": serial, "complete": false, "attempts": attempts}),
        ));
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zerotouch-agent: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok((complete, record)) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&record).unwrap_or_default()
                );
            }
            if complete {
                ExitCode::SUCCESS
            } else {
                eprintln!("zerotouch-agent: no bootstrap server completed bootstrapping");
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("zerotouch-agent: {e:#}");
            ExitCode::from(2)
        }
    }
}
