//! Login throttling: failed attempts counted per account and per client address, with an
//! exponential temporary lock answered by 429 and `Retry-After`.
//!
//! Hand-written rather than a rate limiter crate: GCRA limiters (governor) cap request rates,
//! while this must count *failures* only, reset on success, and lock with backoff.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ThrottleConfig;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Per-instance failure counters (bounded: stale entries are pruned).
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    entries: Mutex<HashMap<Key, Entry>>,
}

const MAX_ENTRIES: usize = 100_000;

impl Throttle {
    /// A throttle with the given limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self { config, entries: Mutex::new(HashMap::new()) }
    }

    fn keys(account: &str, client: Option<IpAddr>) -> [Option<Key>; 2] {
        [Some(Key::Account(account.to_string())), client.map(Key::Client)]
    }

    /// `Err(retry_after)` while the account or the client is locked.
    pub fn check(&self, account: &str, client: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let wait = Self::keys(account, client)
            .into_iter()
            .flatten()
            .filter_map(|k| entries.get(&k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(w) => Err(w.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; returns the lock now in force, if any.
    pub fn record_failure(&self, account: &str, client: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let horizon = self.config.max_lockout * 2;
            entries.retain(|_, e| now.duration_since(e.last_failure) < horizon);
        }
        let mut longest = None;
        for key in Self::keys(account, client).into_iter().flatten() {
            let limit = match key {
                Key::Account(_) => self.config.max_failures_per_account,
                Key::Client(_) => self.config.max_failures_per_client,
            };
            let e = entries.entry(key).or_insert(Entry { failures: 0, last_failure: now, locked_until: None });
            // Counts decay: a quiet period as long as the longest lock starts afresh.
            if now.duration_since(e.last_failure) > self.config.max_lockout {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last_failure = now;
            if e.failures >= limit {
                let doublings = (e.failures - limit).min(16);
                let lock = self.config.lockout.saturating_mul(1 << doublings).min(self.config.max_lockout);
                e.locked_until = Some(now + lock);
                longest = longest.max(Some(lock));
            }
        }
        longest
    }

    /// Clears the account's counter after a successful sign-in.
    pub fn record_success(&self, account: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&Key::Account(account.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_and_success_resets() {
        let t = Throttle::new(ThrottleConfig {
            max_failures_per_account: 3,
            max_failures_per_client: 100,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(900),
        });
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        assert!(t.record_failure("a", ip).is_none());
        assert!(t.record_failure("a", ip).is_none());
        assert_eq!(t.record_failure("a", ip), Some(Duration::from_secs(30)));
        assert!(t.check("a", ip).is_err());
        assert!(t.check("b", ip).is_ok(), "other accounts unaffected");
        assert_eq!(t.record_failure("a", ip), Some(Duration::from_secs(60)), "backoff doubles");
        t.record_success("a");
        assert!(t.check("a", ip).is_ok());
    }
}
