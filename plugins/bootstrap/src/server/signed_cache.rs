//! Signed conveyed information by document: devices of one response get the same
//! document, and an ECDSA signature plus its verification cost far more than the rest of
//! a request, so each distinct document is signed (and verified) once per configuration.
//! The cache lives in the configuration in force: a reload starts it empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use der::oid::ObjectIdentifier;
use ring::digest::{Context, SHA256};

/// Distinct documents kept; when full, the cache starts over.
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub struct SignedCache {
    signed: Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>,
}

impl SignedCache {
    /// The signed artifact for `document`, from the cache or from `sign`.
    pub fn get_or_sign<E>(
        &self,
        content_type: ObjectIdentifier,
        document: &[u8],
        sign: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Arc<Vec<u8>>, E> {
        let mut h = Context::new(&SHA256);
        h.update(content_type.as_bytes());
        h.update(&[0]);
        h.update(document);
        let mut key = [0u8; 32];
        key.copy_from_slice(h.finish().as_ref());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let signed = Arc::new(sign()?);
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, signed.clone());
        Ok(signed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Vec<u8>>>> {
        self.signed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_document_is_signed_once() {
        let cache = SignedCache::default();
        let oid = ObjectIdentifier::new_unwrap("1.2.3");
        let mut calls = 0;
        for doc in [&b"a"[..], b"a", b"b", b"a"] {
            let signed = cache
                .get_or_sign(oid, doc, || {
                    calls += 1;
                    Ok::<_, ()>(doc.to_vec())
                })
                .unwrap();
            assert_eq!(&signed[..], doc);
        }
        assert_eq!(calls, 2);
        let other = ObjectIdentifier::new_unwrap("1.2.4");
        assert!(cache.get_or_sign(other, b"a", || Err(())).is_err());
    }
}
