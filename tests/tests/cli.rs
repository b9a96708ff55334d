//! The command lines: zerotouch-dhcpd `check` and `default-config`, zerotouch-relay
//! `check`.

use std::process::Command;

use zerotouch_tests::{binary, check_config, require_tools};

/// `zerotouch-dhcpd default-config` written to `good.toml` in `dir`.
fn default_config(dir: &std::path::Path) -> std::path::PathBuf {
    let good = dir.join("good.toml");
    let out = Command::new(binary("zerotouch-dhcpd"))
        .arg("default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&good, &out.stdout).unwrap();
    good
}

#[test]
fn check_accepts_a_valid_config_and_lists_every_error_of_a_bad_one_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = default_config(dir.path());
    let out = check_config("zerotouch-dhcpd", &good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (dhcp4: 1 subnets, 1 pools"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[dhcp4]\ninterfaces = [\"eth0\"]\nlease_time = 600\nrenew_time = 900\n\n[[dhcp4.subnet]]\nsubnet = \"198.18.0.0/24\"\n[[dhcp4.subnet.pool]]\nrange = \"198.18.1.1 - 198.18.1.9\"\n").unwrap();
    let out = check_config("zerotouch-dhcpd", &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let path = bad.display();
    assert!(
        err.contains(&format!(
            "{path}:4:14: dhcp4.renew_time: 900 is not below rebind_time and lease_time"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{path}:9:9: dhcp4.subnet[0].pool[0].range: \"198.18.1.1 - 198.18.1.9\" is not inside the subnet 198.18.0.0/24")), "{err}");
    assert!(err.contains("2 error(s)"), "{err}");

    let out = check_config("zerotouch-dhcpd", "/nonexistent/dhcpd.toml");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/nonexistent/dhcpd.toml: cannot read the configuration")
    );
}

#[test]
fn check_creates_the_plugins_of_the_full_example() {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/full.toml");
    let out = check_config("zerotouch-dhcpd", &full);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The disabled instance is not counted.
    assert!(text.contains("2 plugins)"), "{text}");
    let out = Command::new(binary("zerotouch-dhcpd"))
        .arg("plugins")
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("metrics") && list.contains("noop") && list.contains("dns"),
        "{list}"
    );
    // The PostgreSQL example, as its comment says to check it (no database needed).
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/postgresql.toml");
    let out = check_config("zerotouch-dhcpd", &example);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The DNS and syslog examples, as their comments say to check them.
    for example in ["dns.toml", "syslog.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config")
            .join(example);
        let out = check_config("zerotouch-dhcpd", &path);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{example}: {text}");
        assert!(text.contains("1 plugins)"), "{example}: {text}");
    }
}

#[test]
fn relay_check_validates_the_file_and_its_plugin_settings() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/relay.toml");
    let out = check_config("zerotouch-relay", example);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 plugins"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("relay.toml");
    std::fs::write(
        &bad,
        "[[plugin]]\nname = \"sztp\"\nsettings = { uris = [\"ftp://x\"] }\n[relay4]\ndownstream = []\n",
    )
    .unwrap();
    let out = check_config("zerotouch-relay", &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3:22: plugin[0].settings.uris[0]: sztp (built-in plugin sztp): \"ftp://x\" is not an https URI",
            bad.display()
        )),
        "{err}"
    );
}

#[test]
fn check_loads_the_bootstrap_example_and_locates_bootstrap_setting_errors() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sztp-bootstrap.toml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sztp-bootstrap.toml");
    std::fs::copy(&example, &cfg).unwrap();
    // The steps the example's header gives, run as written in a shell, with the
    // workspace's binaries on PATH: the last one is `zerotouch-dhcpd -t`.
    let steps: Vec<String> = std::fs::read_to_string(&example)
        .unwrap()
        .lines()
        .skip_while(|l| !l.contains("To try it"))
        .skip(2)
        .take_while(|l| *l != "#")
        .map(|l| l.trim_start_matches("#   ").to_string())
        .collect();
    assert!(
        steps.len() >= 5 && steps.last().unwrap().starts_with("zerotouch-dhcpd -t"),
        "{steps:?}"
    );
    let bin_dir = binary("zerotouch-dhcpd").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for step in &steps {
        let out = Command::new("sh")
            .args(["-c", step])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{step}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = || {
        let out = check_config("zerotouch-dhcpd", &cfg);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let (code, text) = check();
    assert_eq!(code, Some(0), "{text}");
    // A missing file, a key that is not the certificate's, a dangling response name:
    // each named with file, line and key.
    let example_text = std::fs::read_to_string(&example).unwrap();
    for (from, to, needle) in [
        (
            "files/post.sh",
            "files/missing.sh",
            ":75:29: plugin[1].settings.response[0].onboarding.post_configuration_script: bootstrap (built-in plugin bootstrap): ",
        ),
        (
            "owner_key = \"pki/owner.key\"",
            "owner_key = \"pki/server.key\"",
            "plugin[1].settings.signing.owner_key: bootstrap (built-in plugin bootstrap): the key does not belong to the first certificate",
        ),
        (
            "ca_key = \"pki/owner-ca.key\"",
            "ca_key = \"pki/owner.key\"",
            "plugin[1].settings.ldevid.ca_key: bootstrap (built-in plugin bootstrap): the key does not belong to the first certificate",
        ),
        (
            "response = \"edge-switch\"",
            "response = \"core\"",
            ":65:12: plugin[1].settings.device[0].response: bootstrap (built-in plugin bootstrap): \"core\" is not the name of a [[response]]",
        ),
    ] {
        std::fs::write(&cfg, example_text.replace(from, to)).unwrap();
        let (code, text) = check();
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains(&format!("{}", cfg.display())) && text.contains(needle),
            "{needle}\n{text}"
        );
    }
    // Owner keys as openssl writes them, SEC1 (`EC PRIVATE KEY`) and PKCS#8, each with a
    // certificate openssl made for it, load as the signing key.
    require_tools(&["openssl"]);
    for (name, genkey) in [
        (
            "sec1",
            "openssl ecparam -name prime256v1 -genkey -noout -out pki/sec1.key",
        ),
        (
            "pkcs8",
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pki/pkcs8.key",
        ),
    ] {
        let cert = format!(
            "openssl req -new -x509 -key pki/{name}.key -subj /CN=owner-{name} -days 1 -out pki/{name}.pem"
        );
        for step in [genkey, &cert] {
            let out = Command::new("sh")
                .args(["-c", step])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{step}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = example_text
            .replace("pki/owner.pem", &format!("pki/{name}.pem"))
            .replace("pki/owner.key", &format!("pki/{name}.key"));
        std::fs::write(&cfg, text).unwrap();
        let (code, text) = check();
        assert_eq!(code, Some(0), "{name}: {text}");
    }
}

/// What ISC dhcpd and Kea users type to test a file (`dhcpd -t -cf F`, `kea-dhcp4 -t F`)
/// checks it as `check` does: same verdict, same exit status.
#[test]
fn dash_t_tests_a_configuration_as_check_does() {
    let dir = tempfile::tempdir().unwrap();
    let good = default_config(dir.path());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[dhcp4]\ninterfaces = [\"eth0\"]\nlease_time = 0\n").unwrap();
    for (file, code) in [(&good, 0), (&bad, 1)] {
        let f = file.to_str().unwrap();
        for args in [
            vec!["-t", f],
            vec!["--test", f],
            vec!["-t", "-c", f],
            vec!["-t", "-cf", f],
            vec!["-c", f, "-t"],
            vec!["--config", f, "check"],
            vec!["check", "-c", f],
        ] {
            let out = Command::new(binary("zerotouch-dhcpd"))
                .args(&args)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
            assert!(text.contains(f), "{args:?} names the file: {text}");
            if code == 0 {
                assert!(text.contains(": ok ("), "{args:?}: {text}");
            }
        }
    }
    // Neither DHCP nor a plugin: nothing to serve, for -t as at start.
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "[leases]\ndatabase = \"leases.sqlite\"\n").unwrap();
    for args in [vec!["-t"], vec![]] {
        let out = Command::new(binary("zerotouch-dhcpd"))
            .args(&args)
            .arg("--config")
            .arg(&empty)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to serve"));
    }
    let relay = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/relay.toml");
    let out = Command::new(binary("zerotouch-relay"))
        .arg("-t")
        .arg("--config")
        .arg(&relay)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
}

/// Every binary of the workspace answers `--help` with its usage and exits 0, without
/// serving anything (the null responder once bound the host's port 67 when asked for
/// help); subcommands list only the options they take.
#[test]
fn every_binary_answers_help_without_side_effects() {
    for name in [
        "zerotouch-dhcpd",
        "zerotouch-relay",
        "zerotouchctl",
        "zerotouch-agent",
        "zerotouch-lab",
        "zerotouch-null-responder",
        "zerotouch-replay",
        "zerotouch-sztp-load",
        "zerotouch-syslog-load",
    ] {
        let started = std::time::Instant::now();
        let out = Command::new(binary(name)).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help: {out:?}");
        assert!(text.contains("Usage:"), "{name} --help: {text}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name} --help did not return at once"
        );
    }
    // The lab script answers too, before it would install or build anything.
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lab.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("usage: sudo scripts/lab.sh"),
        "{text}"
    );
    let out = Command::new(binary("zerotouch-dhcpd"))
        .args(["default-config", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        !text.contains("--config") && !text.contains("--log-level"),
        "default-config takes no --config or --log-level: {text}"
    );
}
