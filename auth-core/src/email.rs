//! Strict email addresses and the allowed-domain rule.
//!
//! Written by hand on purpose: general email parsers accept quoted local parts, comments and
//! source routes, which are exactly the shapes used to smuggle a second domain past a naive
//! suffix or `@`-split check. This accepts the plain `local@domain` form that real sign-ups use.

use std::fmt;

/// A syntactically valid, normalised (lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEmail;

impl fmt::Display for InvalidEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be an email address of the form name@example.com")
    }
}

impl Email {
    /// Parses and normalises an address: exactly one `@`, an unquoted dot-atom local part of at
    /// most 64 ASCII characters, and a DNS domain name of at least two labels.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        if raw.len() > 254 {
            return Err(InvalidEmail);
        }
        let mut parts = raw.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidEmail);
        };
        if !is_valid_local(local) || !is_valid_domain(domain) {
            return Err(InvalidEmail);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The whole address, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part, lower-case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// Whether the address belongs to exactly `allowed` (case-insensitive, no subdomains).
    pub fn is_in_domain(&self, allowed: &str) -> bool {
        self.domain().eq_ignore_ascii_case(allowed)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid_local(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || SPECIALS.contains(&b))
}

/// Whether `domain` is a DNS name of at least two labels (letters, digits, inner hyphens).
pub fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_case_insensitively() {
        let e = Email::parse("A@EXAMPLE.COM").expect("valid");
        assert_eq!(e.as_str(), "a@example.com");
        assert!(e.is_in_domain("example.com"));
        assert!(Email::parse("first.last+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn refuses_tricks() {
        for bad in [
            "a@evil.com@example.com",
            "\"a@example.com\"@evil.com",
            "a@example.com.evil.com@",
            "a@example.com\n",
            "a@example.com\0",
            "a(comment)@example.com",
            "a@[127.0.0.1]",
            "a@example.com.",
            " a@example.com",
            "@example.com",
            "a@",
            "a..b@example.com",
            "a@exa_mple.com",
            "a@-example.com",
            "a%evil.com@example.com",
            "a@localhost",
            "ä@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
        }
        for other in ["a@evil-example.com", "a@example.com.evil.com", "a@sub.example.com", "a@notexample.com"] {
            let e = Email::parse(other).expect("syntactically valid");
            assert!(!e.is_in_domain("example.com"), "{other:?} is not in example.com");
        }
    }
}
