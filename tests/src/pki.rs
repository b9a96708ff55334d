//! Test certificates made with the openssl command line: a self-signed P-256
//! certificate (a CA), and one it signs.

use std::path::Path;
use std::process::Command;

/// Runs `openssl args` in `dir`; panics with its message when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl req` with a new P-256 key `<stem>.key` for subject `/CN=cn`, and `out`
/// (the certificate, or the request) as its further arguments say.
fn req(dir: &Path, stem: &str, cn: &str, out: &[&str]) {
    let (key, subject) = (format!("{stem}.key"), format!("/CN={cn}"));
    let mut args = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-subj",
        &subject,
    ];
    args.extend(out);
    openssl(dir, &args);
}

/// `<stem>.pem` and `<stem>.key` in `dir`: a self-signed certificate for `cn`.
pub fn self_signed(dir: &Path, stem: &str, cn: &str) {
    let pem = format!("{stem}.pem");
    req(dir, stem, cn, &["-x509", "-days", "2", "-out", &pem]);
}

/// `<stem>.pem` and `<stem>.key` in `dir`: a certificate for IP address `ip`, signed by
/// CA `<ca>.pem` there.
pub fn signed_for_ip(dir: &Path, stem: &str, ip: &str, ca: &str) {
    let (csr, pem) = (format!("{stem}.csr"), format!("{stem}.pem"));
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    req(dir, stem, ip, &["-out", &csr]);
    let ext = dir.join(format!("{stem}.ext"));
    std::fs::write(&ext, format!("subjectAltName=IP:{ip}\n")).expect("extension file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext.display().to_string(),
        ],
    );
}
