//! Login throttling: failed password attempts counted in buckets, with an exponential temporary
//! lock answered by 429 and `Retry-After`; and the device cookie that gives a client that signed
//! in before a bucket of its own.
//!
//! # Buckets
//!
//! An attempt (a sign-in, or the current password of a password change) is judged by buckets:
//!
//! - **with a valid device cookie for this account**: only its own `(account, device)` bucket,
//!   limit `maxFailuresPerAccount`. Failures from other clients never lock it, so the owner's
//!   browser keeps signing in while an attacker's clients are locked out (OWASP "device
//!   cookies"). Neither the shared account bucket nor the client bucket judge it: a lock an
//!   attacker provokes behind the same proxy or NAT does not reach it either.
//! - **without one**: the account's *untrusted* bucket (limit `maxFailuresPerAccount`, shared by
//!   every client without a device cookie for it) **and** the client's bucket (limit
//!   `maxFailuresPerClient`, across accounts). A client bucket is the IPv4 address, or the IPv6
//!   /64 (one subscriber's prefix); IPv4-mapped IPv6 addresses count as IPv4.
//!
//! A bucket locks when its failures reach the limit, for `lockout`, doubling with each further
//! failure up to `maxLockout`. After a lock ends, one attempt at a time is let through; a failure
//! locks again, twice as long. A quiet period of `maxLockout` since the last failure starts the
//! count afresh. A success clears the account's bucket it was judged by (device or untrusted),
//! never a client bucket (an attacker's own account must not reset its client's count).
//!
//! # Reservation
//!
//! An attempt is *reserved* before the password is hashed: [`Throttle::reserve`] counts it as
//! pending in each of its buckets, atomically with the check, and refuses it while
//! `failures + pending` has reached the limit. So N parallel guesses evaluate at most the limit,
//! however they interleave with the argon2 wait. The outcome settles the reservation:
//! [`Attempt::fail`] turns it into a failure (and maybe a lock), [`Attempt::succeed`] clears the
//! bucket, and dropping it (the request was cancelled, the store failed) releases it uncounted.
//!
//! # Memory
//!
//! Buckets live in a `quick_cache` map with a hard capacity ([`DEFAULT_CAPACITY`] entries of a
//! few dozen bytes: keys are hashes and masked addresses, never the email). Each operation
//! write-locks one shard for a few instructions; nothing scans the map. When full, the cache
//! evicts cold entries first (scan resistant), so buckets being hit, like a locked account under
//! attack, stay while a flood of one-off keys is evicted.
//!
//! # Several instances
//!
//! Each failure is also added to the store's copy of its bucket (`throttle_buckets`), and a
//! lock computed from that shared count is stored: failures spread over instances A, B and C
//! add up, and a lock earned on A is refused on B and C too (checked after the local
//! reservation, before hashing). Only the in-flight reservations stay per instance. The store
//! being down never counts a failure: the attempt answers 503 before any password is checked.
//!
//! # Device cookie
//!
//! `auth_device` (`__Host-auth_device` on https), `Path=/; HttpOnly; SameSite=Lax`, 90 days,
//! renewed at each password sign-in. Its value is sealed (AES-256-GCM, authenticated) with a key
//! derived from the session secret, and holds a random device id, a hash of the account's email
//! and its issue time. It binds one account; signing in to another account from the same browser
//! replaces it. Rotating the session secret invalidates every device cookie (those clients fall
//! back to the untrusted bucket until they sign in again).
//!
//! Hand-written rather than a rate limiter crate: GCRA limiters (governor) cap request rates,
//! while this must count *failures* only, reserve before hashing, reset on success, and lock with
//! backoff.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, ThrottleConfig};
use crate::secret::Secret;
use crate::store::{Store, StoreResult};

/// Buckets kept per instance before the coldest are evicted.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How long a device cookie stays valid after the sign-in that set (or renewed) it.
pub const DEVICE_COOKIE_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The answer while nothing is locked yet but the limit is taken by attempts in flight.
const IN_FLIGHT_RETRY: Duration = Duration::from_secs(1);

/// A bucket's key. Accounts are hashed, so the map holds no email and has a fixed entry size.
///
/// Failures are also added to the store's copy of the bucket ([`SharedBucket`]), so a lock
/// earned on one instance holds on every instance on the same store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// Every attempt for the account without a device cookie for it.
    Account([u8; 16]),
    /// The attempts for the account that present this device id.
    Device([u8; 16], [u8; 16]),
    /// Every attempt without a device cookie from this client (see [`client_bucket`]).
    Client(IpAddr),
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    failures: u32,
    /// Reserved attempts not settled yet.
    pending: u32,
    last_failure: Option<Instant>,
    locked_until: Option<Instant>,
}

/// How an attempt is judged: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A valid device cookie for the account, with this device id.
    Device([u8; 16]),
    /// No (valid) device cookie; the client's address when known.
    Untrusted(Option<IpAddr>),
}

/// The bucket of a client address: the IPv4 address, or the IPv6 /64.
pub fn client_bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

fn account_hash(account: &str) -> [u8; 16] {
    let digest = Sha256::new().chain_update(b"auth-core throttle account v1:").chain_update(account).finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Per-instance failure buckets with a hard capacity.
pub struct Throttle {
    config: ThrottleConfig,
    buckets: Cache<Key, Bucket>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("config", &self.config).field("buckets", &self.buckets.len()).finish()
    }
}

/// A reserved attempt: settle it with [`Attempt::fail`] or [`Attempt::succeed`]; dropped
/// unsettled, it is released without counting.
#[must_use = "an attempt is settled by fail() or succeed()"]
#[derive(Debug)]
pub struct Attempt<'t> {
    throttle: &'t Throttle,
    keys: [Option<Key>; 2],
}

impl Throttle {
    /// A throttle with the given limits and [`DEFAULT_CAPACITY`].
    pub fn new(config: ThrottleConfig) -> Self {
        Self::with_capacity(config, DEFAULT_CAPACITY)
    }

    /// A throttle holding at most about `capacity` buckets.
    pub fn with_capacity(config: ThrottleConfig, capacity: usize) -> Self {
        Self { config, buckets: Cache::new(capacity.max(1)) }
    }

    /// Buckets held now (at most about the capacity).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn limit(&self, key: &Key) -> u32 {
        match key {
            Key::Account(_) | Key::Device(..) => self.config.max_failures_per_account,
            Key::Client(_) => self.config.max_failures_per_client,
        }
    }

    /// Runs `f` on the key's bucket (a fresh one when absent), atomically: under the write lock
    /// of the key's shard, or, for a new key, while other callers wait on its placeholder.
    fn update<T>(&self, key: Key, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut f = Some(f);
        let mut out = None;
        let found = self.buckets.entry(&key, None, |_, b| {
            out = f.take().map(|f| f(b));
            EntryAction::Retain(())
        });
        if let EntryResult::Vacant(guard) = found {
            let mut b = Bucket::default();
            out = f.take().map(|f| f(&mut b));
            let _ = guard.insert(b);
        }
        match (out, f) {
            (Some(t), _) => t,
            // `entry` without a timeout neither times out nor replaces: not reached.
            (None, Some(f)) => f(&mut Bucket::default()),
            (None, None) => unreachable!("the callback ran without a result"),
        }
    }

    fn keys(account: &str, via: Via) -> [Option<Key>; 2] {
        let account = account_hash(account);
        match via {
            Via::Device(id) => [Some(Key::Device(account, id)), None],
            Via::Untrusted(client) => [Some(Key::Account(account)), client.map(|ip| Key::Client(client_bucket(ip)))],
        }
    }

    /// Reserves an attempt for `account` before its password is checked; `Err(retry_after)`
    /// while one of its buckets is locked or its limit is taken by attempts in flight.
    pub fn reserve(&self, account: &str, via: Via) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let keys = Self::keys(account, via);
        let mut attempt = Attempt { throttle: self, keys: [None, None] };
        let mut wait: Option<Duration> = None;
        for (slot, key) in keys.into_iter().enumerate() {
            let Some(key) = key else { continue };
            let limit = self.limit(&key);
            let max_lockout = self.config.max_lockout;
            let verdict = self.update(key, |b| {
                if b.last_failure.is_some_and(|t| now.duration_since(t) > max_lockout) {
                    (b.failures, b.locked_until) = (0, None);
                }
                if let Some(until) = b.locked_until.filter(|u| *u > now) {
                    return Err(until - now);
                }
                let free = if b.failures < limit { b.failures + b.pending < limit } else { b.pending == 0 };
                if !free {
                    return Err(IN_FLIGHT_RETRY);
                }
                b.pending += 1;
                Ok(())
            });
            match verdict {
                Ok(()) => attempt.keys[slot] = Some(key),
                Err(w) => wait = wait.max(Some(w)),
            }
        }
        match wait {
            // Dropping `attempt` releases what was reserved.
            Some(w) => Err(w.max(Duration::from_secs(1))),
            None => Ok(attempt),
        }
    }
}

/// The store's copy of a bucket: failures on every instance add up there, and a lock computed
/// from the shared count is stored for all instances to honour. What is *pending* (reserved,
/// not settled) stays per instance.
#[derive(Debug, Clone)]
pub(crate) struct SharedBucket {
    name: String,
    limit: u32,
    /// Cleared by a success (account and device buckets, not client ones).
    clears: bool,
}

impl Key {
    /// The bucket's name in the store: hashes and masked addresses, never an email.
    fn store_name(&self) -> String {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        match self {
            Self::Account(a) => format!("a:{}", hex(a)),
            Self::Device(a, d) => format!("d:{}:{}", hex(a), hex(d)),
            Self::Client(ip) => format!("c:{ip}"),
        }
    }
}

impl Throttle {
    fn lock_after(&self, failures: u32, limit: u32) -> Option<Duration> {
        (failures >= limit).then(|| {
            let doublings = (failures - limit).min(16);
            self.config.lockout.saturating_mul(1 << doublings).min(self.config.max_lockout)
        })
    }

    /// How long to wait when another instance locked one of `buckets` (from the store).
    pub(crate) async fn shared_lock(
        &self,
        store: &dyn Store,
        buckets: &[SharedBucket],
    ) -> StoreResult<Option<Duration>> {
        let names: Vec<String> = buckets.iter().map(|b| b.name.clone()).collect();
        let now = crate::time::now();
        let until = store.throttle_locked_until(&names, now).await?;
        Ok(until.map(|u| Duration::from_secs(u.saturating_sub(now).max(1).unsigned_abs())))
    }

    /// Adds a failure to each bucket's shared count; the lock now in force across instances.
    pub(crate) async fn shared_fail(
        &self,
        store: &dyn Store,
        buckets: &[SharedBucket],
    ) -> StoreResult<Option<Duration>> {
        let now = crate::time::now();
        let quiet_since = now.saturating_sub(i64::try_from(self.config.max_lockout.as_secs()).unwrap_or(i64::MAX));
        let mut longest = None;
        for b in buckets {
            let failures = store.throttle_fail(&b.name, now, quiet_since).await?;
            if let Some(lock) = self.lock_after(failures, b.limit) {
                let secs = i64::try_from(lock.as_secs()).unwrap_or(i64::MAX).max(1);
                store.throttle_lock(&b.name, now.saturating_add(secs)).await?;
                longest = longest.max(Some(lock));
            }
        }
        Ok(longest)
    }

    /// A success clears the shared account (or device) bucket it was judged by.
    pub(crate) async fn shared_succeed(&self, store: &dyn Store, buckets: &[SharedBucket]) -> StoreResult<()> {
        for b in buckets.iter().filter(|b| b.clears) {
            store.throttle_clear(&b.name).await?;
        }
        Ok(())
    }
}

impl Attempt<'_> {
    /// The store's copies of this attempt's buckets.
    pub(crate) fn shared(&self) -> Vec<SharedBucket> {
        self.keys
            .iter()
            .flatten()
            .map(|k| SharedBucket {
                name: k.store_name(),
                limit: self.throttle.limit(k),
                clears: !matches!(k, Key::Client(_)),
            })
            .collect()
    }

    /// The password was wrong: counts a failure in each local bucket (see
    /// `Throttle::shared_fail` for the store's); returns the lock now in force.
    pub fn fail(mut self) -> Option<Duration> {
        let now = Instant::now();
        let t = self.throttle;
        let mut longest = None;
        for key in self.keys.iter_mut().filter_map(Option::take) {
            let limit = t.limit(&key);
            let (lockout, max_lockout) = (t.config.lockout, t.config.max_lockout);
            let lock = t.update(key, |b| {
                b.pending = b.pending.saturating_sub(1);
                if b.last_failure.is_some_and(|l| now.duration_since(l) > max_lockout) {
                    b.failures = 0;
                }
                b.failures = b.failures.saturating_add(1);
                b.last_failure = Some(now);
                (b.failures >= limit).then(|| {
                    let doublings = (b.failures - limit).min(16);
                    let lock = lockout.saturating_mul(1 << doublings).min(max_lockout);
                    b.locked_until = Some(now + lock);
                    lock
                })
            });
            longest = longest.max(lock);
        }
        longest
    }

    /// The password was right: clears the account's bucket (device or untrusted); a client
    /// bucket keeps its count.
    pub fn succeed(mut self) {
        let t = self.throttle;
        for key in self.keys.iter_mut().filter_map(Option::take) {
            let clear = !matches!(key, Key::Client(_));
            t.update(key, |b| {
                b.pending = b.pending.saturating_sub(1);
                if clear {
                    (b.failures, b.last_failure, b.locked_until) = (0, None, None);
                }
            });
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let t = self.throttle;
        for key in self.keys.iter_mut().filter_map(Option::take) {
            t.update(key, |b| b.pending = b.pending.saturating_sub(1));
        }
    }
}

/// Seals and opens device cookies (see the module documentation).
pub(crate) struct DeviceCookies {
    key: cookie::Key,
    name: String,
    secure: bool,
}

impl DeviceCookies {
    pub(crate) fn new(config: &AuthConfig, secret: &Secret<Vec<u8>>) -> Self {
        // A key of its own, derived from the session secret (as the OIDC flow cookie's is).
        let master = Sha256::digest([b"auth-core device cookie v1:".as_slice(), secret.expose()].concat());
        let name = if config.is_https() { "__Host-auth_device" } else { "auth_device" };
        Self { key: cookie::Key::derive_from(&master), name: name.to_string(), secure: config.is_https() }
    }

    /// The cookie's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The device id of a sealed cookie value, when it is ours, unexpired and binds `account`.
    pub(crate) fn open(&self, sealed: Option<&str>, account: &str, now: i64) -> Option<[u8; 16]> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new(self.name.clone(), sealed?.to_string()));
        let plain = jar.private(&self.key).get(&self.name)?;
        let mut parts = plain.value().split('.');
        let (Some("v1"), Some(tag), Some(id), Some(issued), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let issued: i64 = issued.parse().ok()?;
        let ttl = i64::try_from(DEVICE_COOKIE_TTL.as_secs()).unwrap_or(i64::MAX);
        if issued > now.saturating_add(60) || now.saturating_sub(issued) >= ttl {
            return None;
        }
        // Both sides are sealed by us; equality on the tag needs no constant time.
        if tag != URL_SAFE_NO_PAD.encode(account_hash(account)) {
            return None;
        }
        URL_SAFE_NO_PAD.decode(id).ok()?.try_into().ok()
    }

    /// A `Set-Cookie` binding `device` (a fresh random id when `None`) to `account`.
    pub(crate) fn issue(&self, device: Option<[u8; 16]>, account: &str, now: i64) -> String {
        let id = device.unwrap_or_else(rand::random);
        let plain =
            format!("v1.{}.{}.{now}", URL_SAFE_NO_PAD.encode(account_hash(account)), URL_SAFE_NO_PAD.encode(id));
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.key).add(cookie::Cookie::new(self.name.clone(), plain));
        let sealed = jar.get(&self.name).map(|c| c.value().to_string()).unwrap_or_default();
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={sealed}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            self.name,
            DEVICE_COOKIE_TTL.as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_account: u32, per_client: u32) -> ThrottleConfig {
        ThrottleConfig {
            max_failures_per_account: per_account,
            max_failures_per_client: per_client,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(900),
        }
    }

    fn untrusted(ip: [u8; 4]) -> Via {
        Via::Untrusted(Some(IpAddr::from(ip)))
    }

    #[test]
    fn locks_after_limit_and_success_resets() {
        let t = Throttle::new(config(3, 100));
        let ip = untrusted([127, 0, 0, 1]);
        assert!(t.reserve("a", ip).expect("free").fail().is_none());
        assert!(t.reserve("a", ip).expect("free").fail().is_none());
        assert_eq!(t.reserve("a", ip).expect("free").fail(), Some(Duration::from_secs(30)));
        assert!(t.reserve("a", ip).is_err());
        assert!(t.reserve("b", ip).is_ok(), "other accounts unaffected");
    }

    #[test]
    fn backoff_doubles_after_a_lock_ends_and_success_clears() {
        let mut c = config(1, 100);
        c.lockout = Duration::ZERO;
        let t = Throttle::new(c);
        let ip = untrusted([127, 0, 0, 1]);
        assert_eq!(t.reserve("a", ip).expect("free").fail(), Some(Duration::ZERO));
        // The (zero-length) lock is over: one attempt at a time.
        let probe = t.reserve("a", ip).expect("one probe");
        assert!(t.reserve("a", ip).is_err(), "a second probe waits for the first");
        assert_eq!(probe.fail(), Some(Duration::ZERO), "0 doubled is 0");
        let mut c = config(1, 100);
        c.lockout = Duration::from_secs(30);
        let t = Throttle::new(c);
        assert_eq!(t.reserve("a", ip).expect("free").fail(), Some(Duration::from_secs(30)));
        t.update(Key::Account(account_hash("a")), |b| b.locked_until = None);
        assert_eq!(t.reserve("a", ip).expect("lock over").fail(), Some(Duration::from_secs(60)), "doubles");
        t.update(Key::Account(account_hash("a")), |b| b.locked_until = None);
        t.reserve("a", ip).expect("lock over").succeed();
        assert!(t.reserve("a", ip).is_ok(), "a success clears the account's bucket");
    }

    #[test]
    fn reservations_hold_the_limit_before_any_outcome() {
        let t = Throttle::new(config(5, 100));
        let ip = untrusted([127, 0, 0, 1]);
        let held: Vec<_> = (0..100).filter_map(|_| t.reserve("a", ip).ok()).collect();
        assert_eq!(held.len(), 5, "only the limit is evaluated at once");
        assert_eq!(t.reserve("a", ip).err(), Some(IN_FLIGHT_RETRY));
        drop(held);
        assert!(t.reserve("a", ip).is_ok(), "dropped reservations are released uncounted");
    }

    #[test]
    fn a_device_has_its_own_bucket() {
        let t = Throttle::new(config(2, 2));
        let ip = untrusted([127, 0, 0, 1]);
        for _ in 0..2 {
            let _ = t.reserve("a", ip).expect("free").fail();
        }
        assert!(t.reserve("a", ip).is_err(), "untrusted clients are locked");
        assert!(t.reserve("b", ip).is_err(), "and the client bucket too");
        let device = Via::Device([7; 16]);
        t.reserve("a", device).expect("the owner's device is not").succeed();
        for _ in 0..2 {
            let _ = t.reserve("a", Via::Device([8; 16])).expect("free").fail();
        }
        assert!(t.reserve("a", Via::Device([8; 16])).is_err(), "a device locks itself");
        assert!(t.reserve("a", device).is_ok(), "not the other device");
    }

    #[test]
    fn a_failed_reservation_releases_its_other_bucket() {
        let t = Throttle::new(config(100, 1));
        let ip = untrusted([127, 0, 0, 1]);
        let _ = t.reserve("a", ip).expect("free").fail();
        assert!(t.reserve("b", ip).is_err(), "the client is locked");
        let b = t.buckets.get(&Key::Account(account_hash("b"))).expect("bucket");
        assert_eq!(b.pending, 0, "the account's reservation was released");
    }

    #[test]
    fn ipv6_buckets_are_per_64() {
        let ip = |s: &str| client_bucket(s.parse().expect("address"));
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(ip("2001:db8:1:2::1"), "2001:db8:1:2::".parse::<IpAddr>().expect("address"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_ne!(ip("192.0.2.1"), ip("192.0.2.2"), "IPv4 per address");
        assert_eq!(ip("::ffff:192.0.2.1"), ip("192.0.2.1"), "IPv4-mapped is IPv4");
        let t = Throttle::new(config(100, 2));
        let v6 = |s: &str| Via::Untrusted(Some(s.parse().expect("address")));
        let _ = t.reserve("a", v6("2001:db8::1")).expect("free").fail();
        let _ = t.reserve("b", v6("2001:db8::2")).expect("free").fail();
        assert!(t.reserve("c", v6("2001:db8::ffff")).is_err(), "one /64, one bucket");
        assert!(t.reserve("c", v6("2001:db8:0:1::1")).is_ok(), "another /64");
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::with_capacity(config(5, 50), 1_000);
        for i in 0..50_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = t.reserve(&format!("user{i}@example.com"), Via::Untrusted(Some(ip))).map(Attempt::fail);
        }
        assert!(t.len() <= 1_100, "{} buckets held for a capacity of 1000", t.len());
        assert!(!t.is_empty());
    }

    #[test]
    fn device_cookies_bind_the_account_and_expire() {
        let mut c = AuthConfig::default();
        let secret = Secret::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let d = DeviceCookies::new(&c, &secret);
        let set = d.issue(None, "a@example.com", 1_000);
        assert!(set.starts_with("auth_device="), "{set}");
        assert!(set.contains("; HttpOnly; SameSite=Lax") && set.contains("Max-Age=7776000") && !set.contains("Secure"));
        let value = set.split(';').next().and_then(|p| p.strip_prefix("auth_device=")).expect("value");
        let id = d.open(Some(value), "a@example.com", 1_000).expect("valid");
        assert_eq!(d.open(Some(value), "b@example.com", 1_000), None, "bound to its account");
        assert_eq!(d.open(Some(value), "a@example.com", 1_000 + 90 * 86_400), None, "expired");
        assert_eq!(d.open(Some(&format!("x{value}")), "a@example.com", 1_000), None, "tampered");
        assert_eq!(d.open(None, "a@example.com", 1_000), None);
        let renewed = d.issue(Some(id), "a@example.com", 2_000);
        let value = renewed.split(';').next().and_then(|p| p.strip_prefix("auth_device=")).expect("value");
        assert_eq!(d.open(Some(value), "a@example.com", 2_000), Some(id), "renewal keeps the device id");
        let other = DeviceCookies::new(&c, &Secret::new(b"another secret, another key......".to_vec()));
        assert_eq!(other.open(Some(value), "a@example.com", 2_000), None, "sealed with the secret");
        c.public_url = "https://auth.example.com".parse().expect("url");
        let https = DeviceCookies::new(&c, &secret).issue(None, "a@example.com", 1);
        assert!(https.starts_with("__Host-auth_device=") && https.ends_with("; Secure"), "{https}");
    }
}
