//! The signing keys (JWKS) of one provider, with a refresh policy of their own:
//!
//! - a fetched key set is used for its `Cache-Control: max-age`, bounded to
//!   [`MIN_MAX_AGE`]..[`MAX_MAX_AGE`] ([`DEFAULT_MAX_AGE`] without one; `no-cache`, `no-store`
//!   and `max-age=0` count as the minimum);
//! - it is re-read in the background once [`REFRESH_AT_PERCENT`] of that lifetime has passed,
//!   and before any use once all of it has (a failed re-read keeps the last good set);
//! - a token naming a `kid` the set lacks (key rotation) re-reads it at once, but such re-reads
//!   (the ones a caller can trigger at will) happen at most once per [`MIN_REFETCH`] per
//!   provider: a caller that comes too soon waits for the next allowed fetch instead of
//!   failing, and callers that wait together share one fetch;
//! - the set fetched last is the whole truth: a key the provider stopped publishing stops
//!   verifying as soon as the set is re-read.
//!
//! ID tokens and back-channel logout tokens both take their keys from here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use openidconnect::JsonWebKey as _;
use openidconnect::core::CoreJsonWebKeySet;
use tokio::sync::Mutex;

use super::http::IdpHttp;
use super::unavailable_because;
use crate::error::AuthError;

/// Shortest lifetime given to a fetched key set, whatever `Cache-Control` says.
pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(60);
/// Longest lifetime given to a fetched key set, whatever `Cache-Control` says.
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Lifetime of a key set served without `Cache-Control: max-age`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// Least time between two re-reads for an unknown `kid` of one provider (a caller that comes
/// sooner waits for the next).
pub(crate) const MIN_REFETCH: Duration = Duration::from_secs(3);
/// The share of a key set's lifetime after which the background task re-reads it.
const REFRESH_AT_PERCENT: u32 = 80;
/// How long the background task waits after a failed re-read.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// One fetched key set.
pub(crate) struct Keys {
    /// The keys as openidconnect reads them (ID tokens).
    pub(crate) set: CoreJsonWebKeySet,
    /// The same keys as jsonwebtoken reads them (logout tokens); keys it cannot read are left out.
    pub(crate) jwt: Vec<jsonwebtoken::jwk::Jwk>,
    fetched: Instant,
    max_age: Duration,
}

impl Keys {
    pub(crate) fn parse(body: &[u8], max_age: Duration) -> Result<Self, String> {
        let set: CoreJsonWebKeySet = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let raw: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let jwt = raw
            .get("keys")
            .and_then(|k| k.as_array())
            .map(|keys| keys.iter().filter_map(|k| serde_json::from_value(k.clone()).ok()).collect())
            .unwrap_or_default();
        Ok(Self { set, jwt, fetched: Instant::now(), max_age })
    }

    /// Whether a key with this `kid` is published.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.set.keys().iter().any(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
    }

    fn fresh(&self) -> bool {
        self.fetched.elapsed() < self.max_age
    }

    /// When the background task should re-read the set.
    fn refresh_due(&self) -> Instant {
        self.fetched + self.max_age * REFRESH_AT_PERCENT / 100
    }
}

/// The lifetime `Cache-Control` gives a key set, within the bounds.
pub(crate) fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(value) = cache_control else { return DEFAULT_MAX_AGE };
    let mut age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-cache" || directive == "no-store" {
            return MIN_MAX_AGE;
        }
        if let Some(n) = directive.strip_prefix("max-age=") {
            // A malformed max-age is treated as absent (RFC 9111 §4.2.1: stale; here: default).
            age = n.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map_or(DEFAULT_MAX_AGE, |s| Duration::from_secs(s).clamp(MIN_MAX_AGE, MAX_MAX_AGE))
}

/// Bookkeeping of fetches, behind the fetch lock.
struct FetchState {
    /// The last re-read for an unknown `kid`.
    last_for_kid: Option<Instant>,
}

/// The key cache of one provider.
pub(crate) struct Jwks {
    provider: String,
    uri: String,
    http: IdpHttp,
    current: RwLock<Arc<Keys>>,
    /// Held while fetching: callers that arrive meanwhile wait and share the result.
    fetch: Mutex<FetchState>,
    /// Fetch attempts so far (successful or not).
    attempts: AtomicU64,
    /// Fetches that reached the provider, for the logs and tests.
    fetches: AtomicU64,
}

impl Jwks {
    /// Fetches the provider's keys for the first time (during discovery).
    pub(crate) async fn load(provider: &str, uri: &str, http: IdpHttp) -> Result<Arc<Self>, AuthError> {
        let keys = fetch(&http, uri).await?;
        let jwks = Arc::new(Self {
            provider: provider.to_string(),
            uri: uri.to_string(),
            http,
            current: RwLock::new(Arc::new(keys)),
            fetch: Mutex::new(FetchState { last_for_kid: None }),
            attempts: AtomicU64::new(1),
            fetches: AtomicU64::new(1),
        });
        Self::spawn_refresher(&jwks);
        Ok(jwks)
    }

    /// The key set as it is now (never fetches).
    pub(crate) fn current(&self) -> Arc<Keys> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The keys to verify a token naming `kid` (or none): the cached set when it is fresh and
    /// knows the `kid`, else the set after a re-read (see the module documentation). The
    /// answer may still lack the `kid`; verification then fails as it should.
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> Arc<Keys> {
        let usable = |k: &Keys| k.fresh() && kid.is_none_or(|kid| k.has_kid(kid));
        let seen = self.attempts.load(Ordering::Acquire);
        let keys = self.current();
        if usable(&keys) {
            return keys;
        }
        let unknown_kid = kid.is_some_and(|kid| !keys.has_kid(kid));
        if let Some(kid) = kid.filter(|_| unknown_kid) {
            tracing::info!(provider = %self.provider, kid, "OIDC token names a key not in the cached JWKS; re-reading it");
        }
        self.refresh(seen, usable, unknown_kid).await
    }

    /// Re-reads the set unless another caller did since `seen`, or the set became `usable`
    /// meanwhile; for an unknown `kid`, waits for [`MIN_REFETCH`] since the last such re-read
    /// first. A failed re-read
    /// keeps the last good set: an unreachable provider issues no new tokens, and the ones it
    /// issued before stay verifiable.
    async fn refresh(&self, seen: u64, usable: impl Fn(&Keys) -> bool, for_kid: bool) -> Arc<Keys> {
        let mut state = self.fetch.lock().await;
        let keys = self.current();
        // Someone fetched while this caller waited for the lock: share their result.
        if self.attempts.load(Ordering::Acquire) != seen || usable(&keys) {
            return keys;
        }
        if for_kid {
            let wait = state.last_for_kid.map_or(Duration::ZERO, |last| MIN_REFETCH.saturating_sub(last.elapsed()));
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            state.last_for_kid = Some(Instant::now());
        }
        let result = fetch(&self.http, &self.uri).await;
        self.attempts.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(fresh) => {
                let count = self.fetches.fetch_add(1, Ordering::Relaxed) + 1;
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&fresh);
                tracing::info!(provider = %self.provider, keys = fresh.set.keys().len(), max_age_secs = fresh.max_age.as_secs(), fetches = count, "OIDC JWKS fetched");
                fresh
            }
            Err(e) => {
                tracing::warn!(provider = %self.provider, error = %e.message(), "OIDC JWKS re-read failed; keeping the last good keys");
                keys
            }
        }
    }

    /// Re-reads the set before it expires, for as long as the provider exists.
    fn spawn_refresher(this: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(this);
        tokio::spawn(async move {
            let mut due = match weak.upgrade() {
                Some(jwks) => jwks.current().refresh_due(),
                None => return,
            };
            loop {
                tokio::time::sleep_until(due.into()).await;
                let Some(jwks) = weak.upgrade() else { return };
                let seen = jwks.attempts.load(Ordering::Acquire);
                // Done already when someone re-read the set since.
                let keys = jwks.refresh(seen, |k| Instant::now() < k.refresh_due(), false).await;
                // A set still due means the re-read failed: try again a little later.
                let now = Instant::now();
                due = if keys.refresh_due() > now { keys.refresh_due() } else { now + RETRY_AFTER_FAILURE };
            }
        });
    }
}

async fn fetch(http: &IdpHttp, uri: &str) -> Result<Keys, AuthError> {
    let got = http
        .get(uri, super::http::IdpEndpoint::Jwks)
        .await
        .map_err(|e| unavailable_because("the identity provider's keys (JWKS) could not be fetched", e))?;
    if got.status != 200 {
        return Err(unavailable_because("the identity provider's keys (JWKS) answered an error", got.status));
    }
    Keys::parse(&got.body, max_age(got.cache_control.as_deref()))
        .map_err(|e| unavailable_because("the identity provider's keys (JWKS) are invalid", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_honoured_within_bounds() {
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("public, max-age=3600")), Duration::from_secs(3600));
        assert_eq!(max_age(Some("Max-Age=120, must-revalidate")), Duration::from_secs(120));
        assert_eq!(max_age(Some("max-age=5")), MIN_MAX_AGE);
        assert_eq!(max_age(Some("max-age=0")), MIN_MAX_AGE);
        assert_eq!(max_age(Some("max-age=9999999")), MAX_MAX_AGE);
        assert_eq!(max_age(Some("no-cache")), MIN_MAX_AGE);
        assert_eq!(max_age(Some("max-age=3600, no-store")), MIN_MAX_AGE);
        assert_eq!(max_age(Some("max-age=soon")), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("private")), DEFAULT_MAX_AGE);
    }

    #[test]
    fn unreadable_keys_are_left_out_not_fatal() {
        let body = br#"{"keys":[{"kty":"RSA","kid":"a","use":"sig","n":"AQAB","e":"AQAB"},{"kty":"weird","kid":"b"}]}"#;
        let keys = Keys::parse(body, DEFAULT_MAX_AGE).expect("parses");
        assert!(keys.has_kid("a"));
        assert!(!keys.has_kid("b"));
        assert!(!keys.has_kid("c"));
        assert!(keys.jwt.iter().any(|k| k.common.key_id.as_deref() == Some("a")));
        assert!(keys.fresh());
        assert!(Keys::parse(b"[]", DEFAULT_MAX_AGE).is_err());
    }
}
