//! argon2id hashing, off the async runtime, behind a concurrency bound.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::config::{Argon2Params, MAX_PASSWORD_BYTES};
use crate::error::AuthError;

/// Passwords refused however long they are: the most common ones (compared case-insensitively).
/// A short compiled-in list; a length floor of 8 already excludes the shorter classics.
static COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matched.
    pub valid: bool,
    /// The stored hash uses weaker parameters than configured: store a fresh hash.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with argon2id.
///
/// Hashing runs on tokio's blocking pool; at most `max_concurrent` hashes run at once, so a
/// flood of logins costs a bounded amount of memory (`max_concurrent × memory_kib`) while the
/// async runtime keeps serving other routes.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    permits: Semaphore,
    dummy_hash: String,
    min_length: usize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.inner.params).finish_non_exhaustive()
    }
}

fn argon2(params: Argon2Params) -> Result<Argon2<'static>, AuthError> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
        .map_err(|_| AuthError::invalid("argon2", "invalid argon2 parameters"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

impl PasswordHasher {
    /// Creates a hasher. Computes one dummy hash (used to make unknown-email logins cost the
    /// same as real ones), so this takes as long as one hash.
    pub fn new(params: Argon2Params, max_concurrent: usize, min_length: usize) -> Result<Self, AuthError> {
        let dummy_hash = argon2(params)?
            .hash_password(b"dummy password for unknown accounts")
            .map_err(|_| AuthError::Unavailable)?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner { params, permits: Semaphore::new(max_concurrent.max(1)), dummy_hash, min_length }),
        })
    }

    /// Checks a new password against the policy: at least `min_length` characters, at most
    /// [`MAX_PASSWORD_BYTES`] bytes, not one of the most common passwords, not the email.
    /// No composition rules; any Unicode.
    pub fn check_policy(&self, field: &'static str, password: &str, email: Option<&str>) -> Result<(), AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::invalid(field, format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let chars = password.chars().count();
        if chars < self.inner.min_length {
            return Err(AuthError::invalid(field, format!("must be at least {} characters", self.inner.min_length)));
        }
        let lower = password.to_lowercase();
        if COMMON_PASSWORDS.lines().any(|c| c == lower) || email.is_some_and(|e| e.eq_ignore_ascii_case(password)) {
            return Err(AuthError::invalid(field, "is too common; choose a less guessable password"));
        }
        Ok(())
    }

    /// Hashes a password into a PHC string (argon2id, 16-byte random salt).
    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::invalid("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let params = self.inner.params;
        let password = password.to_owned();
        self.run(move || {
            argon2(params)?
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|_| AuthError::Unavailable)
        })
        .await
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account
    /// (`None`), so both cases take the same time. Over-long passwords fail without hashing.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification, AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Verification { valid: false, needs_rehash: false });
        }
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy_hash).to_owned();
        let params = self.inner.params;
        let password = password.to_owned();
        self.run(move || {
            let Ok(hash) = PasswordHash::new(&stored) else {
                tracing::warn!("stored password hash is not a valid PHC string");
                return Ok(Verification { valid: false, needs_rehash: false });
            };
            let Ok(hasher) = argon2(params) else {
                return Ok(Verification { valid: false, needs_rehash: false });
            };
            let valid = hasher.verify_password(password.as_bytes(), &hash).is_ok() && exists;
            let needs_rehash = valid && is_weaker(&hash, params);
            Ok(Verification { valid, needs_rehash })
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let inner = Arc::clone(&self.inner);
        let permit = inner.permits.acquire().await.map_err(|_| AuthError::Unavailable)?;
        let result = tokio::task::spawn_blocking(work).await.map_err(|_| AuthError::Unavailable)?;
        drop(permit);
        result
    }
}

fn is_weaker(hash: &PasswordHash, want: Argon2Params) -> bool {
    if hash.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => p.m_cost() < want.memory_kib || p.t_cost() < want.iterations || p.p_cost() < want.parallelism,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(Argon2Params::default(), 2, 8).expect("hasher")
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip() {
        let h = hasher();
        let phc = h.hash("correct horse battery").await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("correct horse battery", Some(&phc)).await.expect("verify").valid);
        assert!(!h.verify("wrong horse battery", Some(&phc)).await.expect("verify").valid);
        assert!(!h.verify("dummy password for unknown accounts", None).await.expect("verify").valid);
    }

    #[tokio::test]
    async fn weaker_stored_hash_needs_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).expect("params"))
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        let v = hasher().verify("correct horse battery", Some(&weak)).await.expect("verify");
        assert!(v.valid && v.needs_rehash);
    }

    #[test]
    fn policy() {
        let h = hasher();
        assert!(h.check_policy("password", "short", None).is_err());
        assert!(h.check_policy("password", "Password123", None).is_err());
        assert!(h.check_policy("password", "a@example.com", Some("A@example.com")).is_err());
        assert!(h.check_policy("password", &"x".repeat(MAX_PASSWORD_BYTES + 1), None).is_err());
        assert!(h.check_policy("password", "パスワードは長いです", None).is_ok());
        assert!(h.check_policy("password", &"ab".repeat(200), None).is_ok());
    }
}
