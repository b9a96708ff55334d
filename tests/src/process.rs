//! Starting and stopping processes inside namespaces.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary built from this workspace (same profile as the tests).
pub fn binary(name: &str) -> PathBuf {
    // target/<profile>/deps/<test-exe> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` before the integration tests",
        path.display()
    );
    path
}

/// Runs `program check --config CONFIG` (zerotouch-dhcpd or zerotouch-relay) and
/// returns what it printed and its exit status.
pub fn check_config(program: &str, config: impl AsRef<std::ffi::OsStr>) -> std::process::Output {
    Command::new(binary(program))
        .args(["check", "--config"])
        .arg(config)
        .output()
        .expect("run check")
}

/// Fails the test unless it runs as root with every named program on PATH.
pub fn require_tools(tools: &[&str]) {
    assert_eq!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() },
        0,
        "integration tests need root (network namespaces): run the README's test command"
    );
    for t in tools {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(t).is_file()
            || Path::new("/sbin").join(t).is_file();
        assert!(
            found,
            "{t} is not installed: run the README's test command, which installs the test peers"
        );
    }
}

/// A background process that is killed when dropped.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Runs `args` in namespace `ns` with stdout and stderr to `log`.
    pub fn spawn(name: &str, ns: &str, args: &[&str], log: &Path) -> Daemon {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log_text().contains(needle) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "{} exited ({status}) before logging {needle:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not log {needle:?} within {timeout:?}:\n{}",
            self.name,
            self.log_text()
        );
    }

    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// Sends `sig` and waits for the process to exit; returns its exit code.
    pub fn stop_with(&mut self, sig: i32, timeout: Duration) -> Option<i32> {
        self.signal(sig);
        self.wait_exit(timeout)
    }

    /// Waits for the process to exit; returns its exit code. Kills it and fails the
    /// test when it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{} did not exit within {timeout:?}:\n{}",
            self.name,
            self.log_text()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a command to completion in namespace `ns`; returns (exit code, stdout+stderr).
pub fn run_in(ns: &str, args: &[&str], timeout: Duration) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("out.log");
    let mut d = Daemon::spawn(args[0], ns, args, &log);
    let code = d.wait_exit(timeout).unwrap_or(-1);
    (code, std::fs::read_to_string(&log).unwrap_or_default())
}
