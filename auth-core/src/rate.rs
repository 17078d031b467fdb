//! A fixed-window counter per key, for limits that are not about guessing passwords (those
//! are `throttle.rs`): e.g. invitations an organization may create per hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `limit` hits per key in each `window`, on this instance. Memory is bounded: windows
/// that have ended are dropped once `max_keys` keys are held, and beyond that a new key is
/// refused rather than growing the map.
#[derive(Debug)]
pub(crate) struct WindowLimiter {
    limit: u32,
    window: Duration,
    max_keys: usize,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl WindowLimiter {
    pub(crate) fn new(limit: u32, window: Duration, max_keys: usize) -> Self {
        Self { limit, window, max_keys, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a hit for `key`; `Err(retry_after)` when the key has used up its window.
    pub(crate) fn hit(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !windows.contains_key(key) && windows.len() >= self.max_keys {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if windows.len() >= self.max_keys {
                return Err(self.window);
            }
        }
        let (start, count) = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*start)).max(Duration::from_secs(1)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_key_and_stays_bounded() {
        let l = WindowLimiter::new(3, Duration::from_secs(3600), 2);
        for _ in 0..3 {
            assert!(l.hit("org-a").is_ok());
        }
        let retry = l.hit("org-a").expect_err("fourth in the hour");
        assert!(retry > Duration::from_secs(3500));
        assert!(l.hit("org-b").is_ok(), "another key has its own window");
        assert!(l.hit("org-c").is_err(), "no room for a third key while both windows run");
    }
}
