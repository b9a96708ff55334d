//! Boot images over the same mutual-TLS listener (`GET`/`HEAD /images/<path>`), with
//! single byte ranges (RFC 9110 §14) so devices can resume, and no way out of
//! `images_dir`: `.`/`..`/empty segments and backslashes are refused after
//! percent-decoding, and the resolved path must stay inside the directory (symlinks
//! included).

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use hyper::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use hyper::{HeaderMap, Method, Response, StatusCode};
use tokio::io::AsyncSeekExt;

use super::body::{Body, FileBody, empty};

/// The file a request path (below `/images/`) names inside `root`, if it is safe.
pub fn resolve(root: &Path, rest: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    let mut path = root.to_path_buf();
    for seg in decoded.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['\\', '\0']) {
            return None;
        }
        path.push(seg);
    }
    let real = path.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    (real.starts_with(&root) && real.is_file()).then_some(real)
}

/// A `Range` header this file cannot satisfy (416).
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// One byte range of a `len`-byte file: `Ok(None)` for the whole file (no header, or a
/// form this server does not serve partially), `Err` when unsatisfiable.
pub fn range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| Unsatisfiable)?;
            if n == 0 || len == 0 {
                return Err(Unsatisfiable);
            }
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().map_err(|_| Unsatisfiable)?, len.saturating_sub(1)),
        (s, e) => {
            let (s, e): (u64, u64) = (
                s.parse().map_err(|_| Unsatisfiable)?,
                e.parse().map_err(|_| Unsatisfiable)?,
            );
            (s, e.min(len.saturating_sub(1)))
        }
    };
    if start >= len || start > end {
        return Err(Unsatisfiable);
    }
    Ok(Some((start, end)))
}

/// Answers an image request; `None` when no such file (the caller answers 404).
pub async fn serve(
    root: &Path,
    rest: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    let path = resolve(root, rest)?;
    let mut file = tokio::fs::File::open(&path).await.ok()?;
    let len = file.metadata().await.ok()?.len();
    let range_header = headers.get(RANGE).and_then(|v| v.to_str().ok());
    let mut r = Response::new(empty());
    r.headers_mut().insert(ACCEPT_RANGES, "bytes".parse().ok()?);
    r.headers_mut()
        .insert(CONTENT_TYPE, "application/octet-stream".parse().ok()?);
    let (status, start, count) = match range(range_header, len) {
        Err(Unsatisfiable) => {
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            r.headers_mut()
                .insert(CONTENT_RANGE, format!("bytes */{len}").parse().ok()?);
            return Some(r);
        }
        Ok(None) => (StatusCode::OK, 0, len),
        Ok(Some((s, e))) => {
            r.headers_mut()
                .insert(CONTENT_RANGE, format!("bytes {s}-{e}/{len}").parse().ok()?);
            (StatusCode::PARTIAL_CONTENT, s, e - s + 1)
        }
    };
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_LENGTH, count.into());
    if method != Method::HEAD {
        file.seek(SeekFrom::Start(start)).await.ok()?;
        *r.body_mut() = FileBody::boxed_body(file, count);
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range(None, 100), Ok(None));
        assert_eq!(range(Some("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(range(Some("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(range(Some("bytes=95-200"), 100), Ok(Some((95, 99))));
        assert_eq!(range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(range(Some("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(range(Some("bytes=5-2"), 100), Err(Unsatisfiable));
        assert_eq!(range(Some("bytes=x-"), 100), Err(Unsatisfiable));
    }

    #[test]
    fn paths_stay_inside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        let root = base.join("images");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.img"), b"x").unwrap();
        std::fs::write(base.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), root.join("link")).unwrap();
        assert!(resolve(&root, "sub/a.img").is_some());
        assert!(resolve(&root, "sub%2Fa.img").is_some());
        for bad in [
            "../secret",
            "sub/../../secret",
            "%2e%2e/secret",
            "sub//a.img",
            "link",
            "sub",
            "..%5csecret",
            "%zz",
        ] {
            assert!(resolve(&root, bad).is_none(), "{bad}");
        }
    }
}
