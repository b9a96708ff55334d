//! Per-device secrets for HTTP Basic (sztpd calls them activation codes), stored hashed:
//! `pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>`. `zerotouchctl
//! hash-secret` makes one.

use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use ring::pbkdf2;

const PREFIX: &str = "pbkdf2-sha256";
/// Iterations of new hashes; a stored hash keeps its own count.
pub const DEFAULT_ITERATIONS: u32 = 100_000;
const MIN_ITERATIONS: u32 = 1_000;

#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretHash({PREFIX}, {} iterations)", self.iterations)
    }
}

impl SecretHash {
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = format!(
            "expected {PREFIX}$<iterations>$<salt>$<hash> as `zerotouchctl hash-secret` prints it (secrets are never stored in clear)"
        );
        let parts: Vec<&str> = text.split('$').collect();
        let [prefix, iterations, salt, hash] = parts[..] else {
            return Err(expected);
        };
        if prefix != PREFIX {
            return Err(expected);
        }
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|i| *i >= MIN_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| format!("iterations must be a number of at least {MIN_ITERATIONS}"))?;
        let salt = B64
            .decode(salt)
            .map_err(|_| "salt is not base64".to_string())?;
        let hash = B64
            .decode(hash)
            .map_err(|_| "hash is not base64".to_string())?;
        if salt.len() < 8 || hash.len() != 32 {
            return Err("salt must have 8 or more octets and hash 32".into());
        }
        Ok(SecretHash {
            iterations,
            salt,
            hash,
        })
    }

    /// Hashes `secret` with a fresh salt.
    pub fn new(secret: &str, iterations: u32) -> Result<Self, String> {
        let iterations = NonZeroU32::new(iterations.max(MIN_ITERATIONS)).ok_or("iterations")?;
        let mut salt = vec![0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
            .map_err(|_| "no randomness from the system".to_string())?;
        let mut hash = vec![0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            secret.as_bytes(),
            &mut hash,
        );
        Ok(SecretHash {
            iterations,
            salt,
            hash,
        })
    }

    /// Whether `secret` is the one hashed (constant time in the comparison).
    pub fn verify(&self, secret: &str) -> bool {
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &self.salt,
            secret.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

impl std::fmt::Display for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}${}${}${}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_round_trips_and_checks_the_secret() {
        let h = SecretHash::new("activation-code-1", 1000).unwrap();
        let text = h.to_string();
        assert!(text.starts_with("pbkdf2-sha256$1000$"));
        let parsed = SecretHash::parse(&text).unwrap();
        assert!(parsed.verify("activation-code-1"));
        assert!(!parsed.verify("activation-code-2"));
        for bad in ["plain", "pbkdf2-sha256$10$AAAAAAAAAAA$AAAA", "md5$1$a$b"] {
            assert!(SecretHash::parse(bad).is_err(), "{bad}");
        }
    }
}
