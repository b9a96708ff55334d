//! A PostgreSQL server of the test's own: `initdb` in a temporary folder (as the
//! `postgres` user, since PostgreSQL will not run as root), started with `pg_ctl` on a
//! Unix socket in that folder and no TCP, stopped (by its data folder's PID file) and
//! removed when dropped.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Server settings beyond the socket's (`-c name=value ...`).
    settings: String,
    /// Its port: of the socket, and of TCP when it listens on loopback.
    port: u16,
}

/// A primary whose commits wait for standby `standby1` (synchronous streaming
/// replication).
const PRIMARY: &str = "-c wal_level=replica -c max_wal_senders=4 -c synchronous_commit=on -c synchronous_standby_names=standby1";

/// The folder of PostgreSQL's server programs (Debian: /usr/lib/postgresql/<v>/bin).
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: apt-get install postgresql (scripts/test.sh does)")
    })
}

fn as_postgres(bin: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(program))
        .args(args)
        .output()
        .expect("runuser");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A new cluster in `dir`/data with superuser `zerotouch`, trusted on its socket.
fn initdb(bin: &Path, dir: &Path) {
    let data = dir.join("data").display().to_string();
    let (ok, said) = as_postgres(
        bin,
        "initdb",
        &[
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "zerotouch",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    );
    assert!(ok, "initdb: {said}");
}

impl Postgres {
    /// A new cluster with superuser `zerotouch` (trust authentication on its socket),
    /// started.
    pub fn start() -> Postgres {
        Postgres::init("")
    }

    /// A primary with synchronous replication to standby `standby1`, which
    /// [`Postgres::standby`] makes: until it runs, commits wait.
    pub fn start_primary() -> Postgres {
        Postgres::init(PRIMARY)
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("zerotouch-pg")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        dir
    }

    fn init(settings: &str) -> Postgres {
        let bin = bin_dir();
        let dir = Postgres::folder();
        initdb(&bin, dir.path());
        let pg = Postgres {
            dir,
            bin,
            settings: settings.to_string(),
            port: 5432,
        };
        pg.ctl("start");
        pg
    }

    /// A server that also takes TLS connections on 127.0.0.1 (a free port), with a
    /// certificate for 127.0.0.1 from a CA made here by openssl; and that CA's file.
    pub fn start_tls() -> (Postgres, PathBuf) {
        let bin = bin_dir();
        let dir = Postgres::folder();
        initdb(&bin, dir.path());
        let d = dir.path();
        crate::pki::self_signed(d, "ca", "zerotouch test CA");
        crate::pki::signed_for_ip(d, "server", "127.0.0.1", "ca");
        for f in ["server.key", "server.pem"] {
            let out = Command::new("chown")
                .args(["postgres", &d.join(f).display().to_string()])
                .output()
                .expect("chown");
            assert!(out.status.success());
        }
        std::fs::set_permissions(d.join("server.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let settings = format!(
            "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            d.join("server.pem").display(),
            d.join("server.key").display()
        );
        let pg = Postgres {
            dir,
            bin,
            settings,
            port,
        };
        pg.ctl("start");
        let ca = pg.dir.path().join("ca.pem");
        (pg, ca)
    }

    /// Its TCP port (with `start_tls`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Standby `standby1` of this primary (a base backup streaming from it), started,
    /// once the primary counts it as its synchronous standby.
    pub fn standby(&self) -> Postgres {
        let dir = Postgres::folder();
        let data = dir.path().join("data").display().to_string();
        let source = format!(
            "host={} port=5432 user=zerotouch application_name=standby1",
            self.dir.path().display()
        );
        let (ok, said) = as_postgres(
            &self.bin,
            "pg_basebackup",
            &[
                "-D",
                &data,
                "-d",
                &source,
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        assert!(ok, "pg_basebackup: {said}");
        let standby = Postgres {
            dir,
            bin: self.bin.clone(),
            settings: String::new(),
            port: 5432,
        };
        standby.ctl("start");
        let start = std::time::Instant::now();
        while self
            .psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync'")
            .map(|n| n.trim() != "1")
            .unwrap_or(true)
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the standby did not become synchronous:\n{}",
                standby.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        standby
    }

    /// Ends the server as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) {
        let data = self.dir.path().join("data").display().to_string();
        let (ok, said) = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
        assert!(ok, "pg_ctl stop -m immediate: {said}");
    }

    /// Promotes a standby to primary.
    pub fn promote(&self) {
        self.ctl("promote");
    }

    fn ctl(&self, action: &str) {
        let data = self.dir.path().join("data").display().to_string();
        let log = self.dir.path().join("postgres.log").display().to_string();
        let options = format!(
            "-k {} -c listen_addresses='' -p {} -c fsync=on {}",
            self.dir.path().display(),
            self.port,
            self.settings
        );
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "30"];
        if action == "stop" || action == "restart" {
            args.extend(["-m", "fast"]);
        }
        if action == "start" || action == "restart" {
            args.extend(["-o", &options]);
        }
        args.push(action);
        let (ok, said) = as_postgres(&self.bin, "pg_ctl", &args);
        assert!(ok, "pg_ctl {action}: {said}\n{}", self.log());
    }

    /// Stops the server (its clients see their connections closed).
    pub fn stop(&self) {
        self.ctl("stop");
    }

    /// Starts it again after `stop`.
    pub fn resume(&self) {
        self.ctl("start");
    }

    /// The folder of its socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A connection string for database `postgres` as `zerotouch`.
    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=zerotouch dbname=postgres",
            self.dir.path().display(),
            self.port
        )
    }

    /// `psql -At -c sql`: its output, or its error.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                &self.dir.path().display().to_string(),
                "-p",
                &self.port.to_string(),
            ])
            .args([
                "-U",
                "zerotouch",
                "-d",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            let data = data.display().to_string();
            let _ = as_postgres(
                &self.bin,
                "pg_ctl",
                &["-D", &data, "-m", "immediate", "-w", "stop"],
            );
        }
    }
}
