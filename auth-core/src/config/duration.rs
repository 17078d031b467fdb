//! Durations in the config: whole seconds (`60`) or a number with a unit (`90s`, `15m`, `12h`,
//! `7d`). Written by hand: the format is four suffixes, smaller than any crate's grammar
//! (`humantime` also accepts `1h 30min`, which the README does not promise).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Visitor};

/// Parses `60`, `90s`, `15m`, `12h` or `7d`.
///
/// ```
/// use std::time::Duration;
/// use auth_core::config::parse_duration;
///
/// assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
/// assert!(parse_duration("1w").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let err = || format!("{s:?} is not a duration: use whole seconds (60) or 90s, 15m, 12h, 7d");
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| err())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(mult).map(Duration::from_secs).ok_or_else(err)
}

/// A duration as written in the file: whole seconds (`60`) or a unit string (`90s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurationValue(pub(crate) Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: whole seconds (60) or 90s, 15m, 12h, 7d")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(DurationValue(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(|s| DurationValue(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("{v} is negative: a duration is 0 or more")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(DurationValue).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn duration_values_from_yaml() {
        let v: Vec<DurationValue> = serde_norway::from_str("[60, \"90s\", \"12h\"]").expect("parses");
        assert_eq!(v, [60, 90, 43_200].map(|s| DurationValue(Duration::from_secs(s))));
        assert!(serde_norway::from_str::<DurationValue>("-5").is_err());
        assert!(serde_norway::from_str::<DurationValue>("1.5").is_err());
    }
}
