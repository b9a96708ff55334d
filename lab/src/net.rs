//! The lab's network: namespaces joined by veth pairs and a bridge, made with `ip`, and
//! everything the lab makes, recorded so that it is all removed at the end — on
//! success, on failure, and on Ctrl-C or SIGTERM (a thread waits for those signals and
//! cleans up before the lab exits). Every process the lab starts runs in one of its
//! namespaces, so ending what runs there ends exactly the lab's processes, by PID,
//! and no PID of another program that was reused.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{Context, bail};

/// What the lab made: removed by [`cleanup`], in reverse order.
#[derive(Debug, Default)]
struct Made {
    namespaces: Vec<String>,
    dirs: Vec<PathBuf>,
    /// Host settings changed, with the values to put back.
    settings: Vec<(PathBuf, String)>,
}

static MADE: Mutex<Made> = Mutex::new(Made {
    namespaces: Vec::new(),
    dirs: Vec::new(),
    settings: Vec::new(),
});

/// The kernel's neighbour tables (ARP, NDP) hold the entries of every namespace
/// together, 1024 at most by default: a fleet needs about two per device (the device's
/// entry for its router, the router's for the device). For a larger fleet the limits
/// are raised until the lab ends, then put back; what was done is said.
pub(crate) fn neighbour_room(devices: usize, say: impl Fn(&str)) -> anyhow::Result<()> {
    let want = (4 * devices + 1024) as u64;
    let mut raised = Vec::new();
    for family in ["ipv4", "ipv6"] {
        for (name, value) in [
            ("gc_thresh3", want),
            ("gc_thresh2", want / 2),
            ("gc_thresh1", want / 4),
        ] {
            let path = PathBuf::from(format!("/proc/sys/net/{family}/neigh/default/{name}"));
            let old = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if old.trim().parse::<u64>().unwrap_or(0) >= value {
                continue;
            }
            std::fs::write(&path, value.to_string())
                .with_context(|| format!("writing {}", path.display()))?;
            raised.push(format!(
                "{family}.neigh.default.{name} {} → {value}",
                old.trim()
            ));
            made().settings.push((path, old));
        }
    }
    if !raised.is_empty() {
        say(&format!(
            "   the host's neighbour tables raised until the lab ends: {}",
            raised.join(", ")
        ));
    }
    Ok(())
}

fn made() -> std::sync::MutexGuard<'static, Made> {
    MADE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set once cleanup has begun: nothing new is started after it.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set when Ctrl-C or SIGTERM came.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether Ctrl-C or SIGTERM came: the lab is being removed and says nothing more.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Whether the lab is being removed (nothing new may start).
pub(crate) fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Remembers a folder the lab made, to remove it at cleanup.
pub(crate) fn made_dir(dir: PathBuf) {
    made().dirs.push(dir);
}

/// Ends every process in the lab's namespaces (only the lab's own run there), deletes
/// the namespaces, removes its folders and puts back the host settings it changed.
/// Safe to call more than once.
pub(crate) fn cleanup() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut m = made();
    let mut pids = Vec::new();
    // Processes may still be starting (a dhclient becoming a daemon as it is killed):
    // the namespaces are emptied in passes, until one finds nothing left.
    for pass in 0..20 {
        for ns in &m.namespaces {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                pids.extend(
                    String::from_utf8_lossy(&out.stdout)
                        .split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
        if pids.is_empty() {
            break;
        }
        let signal = if pass == 0 {
            libc::SIGTERM
        } else {
            libc::SIGKILL
        };
        for pid in pids.drain(..) {
            // SAFETY: kill(2) with a PID found in the lab's own namespaces just now;
            // one already gone makes this a no-op (ESRCH).
            unsafe { libc::kill(pid as i32, signal) };
        }
        std::thread::sleep(std::time::Duration::from_millis(if pass == 0 {
            300
        } else {
            100
        }));
    }
    for ns in std::mem::take(&mut m.namespaces).iter().rev() {
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
    }
    for dir in std::mem::take(&mut m.dirs) {
        let _ = std::fs::remove_dir_all(dir);
    }
    for (path, old) in std::mem::take(&mut m.settings).into_iter().rev() {
        let _ = std::fs::write(path, old);
    }
}

/// Blocks SIGINT and SIGTERM in this thread (and so in the threads it starts, not in
/// child processes, whose mask is reset) and starts a thread that, on either, cleans
/// up and exits with 130. Call before any other thread starts.
pub(crate) fn clean_up_on_signals() -> anyhow::Result<()> {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the calls only touch it and this thread's mask.
    let rc = unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if rc != 0 {
        bail!("blocking signals: error {rc}");
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: sigwait on the signals blocked above, into a local.
            unsafe { libc::sigwait(&set, &mut signal) };
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("\nzerotouch-lab: interrupted: removing the lab");
            cleanup();
            std::process::exit(130);
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// Runs `ip` with `args`; its error output on failure.
pub(crate) fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `args` in namespace `ns`, waiting for it; its error output on failure.
pub(crate) fn exec(ns: &str, args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["netns", "exec", ns];
    all.extend(args);
    ip(&all)
}

/// A new namespace with its loopback up, IPv6 duplicate address detection off (so
/// addresses work at once) and forwarding as asked.
pub(crate) fn namespace(name: &str, forwarding: bool) -> anyhow::Result<()> {
    ip(&["netns", "add", name])?;
    made().namespaces.push(name.to_string());
    let mut sysctl = vec![
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
    ];
    if forwarding {
        sysctl.extend(["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
    }
    exec(name, &sysctl)?;
    ip(&["-n", name, "link", "set", "lo", "up"])
}

/// A veth pair: `a` in namespace `ns_a`, `b` in `ns_b`, both up.
pub(crate) fn veth(ns_a: &str, a: &str, ns_b: &str, b: &str) -> anyhow::Result<()> {
    ip(&[
        "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b,
    ])?;
    ip(&["-n", ns_a, "link", "set", a, "up"])?;
    ip(&["-n", ns_b, "link", "set", b, "up"])
}

/// Addresses (`198.18.1.1/24`, `2001:db8:1::1/64`) on `dev` in `ns`.
pub(crate) fn addresses(ns: &str, dev: &str, addrs: &[&str]) -> anyhow::Result<()> {
    for a in addrs {
        ip(&["-n", ns, "addr", "add", a, "dev", dev])?;
    }
    Ok(())
}

/// A route in `ns`: `to` via `via`.
pub(crate) fn route(ns: &str, to: &str, via: &str) -> anyhow::Result<()> {
    ip(&["-n", ns, "route", "add", to, "via", via])
}
