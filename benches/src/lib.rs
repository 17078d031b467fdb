//! Shared pieces of the benchmark servers and clients (see `docs/PERFORMANCE.md`).
//!
//! Every peer server takes `--listen ADDR`, answers `GET /health` with `ok`, signs in
//! [`EMAIL`] / [`PASSWORD`] on `POST /login` (JSON `{email,password}`, 200 and a cookie) and
//! answers `GET /api/hello` with `{"hello":"<email>"}` read from the authenticated identity
//! (401 without one).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The one user every peer knows.
pub const EMAIL: &str = "a@example.com";
/// Its password.
pub const PASSWORD: &str = "correct horse battery";
/// The HS256 secret of the JWT peers (32 bytes).
pub const JWT_SECRET: &[u8; 32] = b"bench-secret-bench-secret-bench!";
/// The name of the JWT peers' cookie.
pub const JWT_COOKIE: &str = "token";
/// How long a JWT peer's token lives.
pub const JWT_TTL_SECS: u64 = 12 * 3600;

/// `POST /login` body.
#[derive(Debug, Deserialize)]
pub struct Login {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

impl Login {
    /// Whether these are the bench user's credentials (the peers keep it in memory; a login
    /// is not on the measured path).
    pub fn is_valid(&self) -> bool {
        self.email == EMAIL && self.password == PASSWORD
    }
}

/// The JWT peers' claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id.
    pub sub: String,
    /// The user's email address.
    pub email: String,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Expiry (unix seconds).
    pub exp: u64,
}

/// Now, in unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Mints the JWT peers' session token for the bench user.
pub fn mint_token() -> String {
    let now = unix_now();
    let claims = Claims { sub: "user-1".into(), email: EMAIL.into(), iat: now, exp: now + JWT_TTL_SECS };
    jsonwebtoken::EncodingKey::from_secret(JWT_SECRET)
        .and_then(|key| jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key))
        .expect("HS256 signing with a 32-byte key")
}

/// The JWT peers' verification key.
pub fn decoding_key() -> jsonwebtoken::DecodingKey {
    jsonwebtoken::DecodingKey::from_secret(JWT_SECRET).expect("a 32-byte key")
}

/// The `Set-Cookie` value of a JWT peer's login.
pub fn token_set_cookie(token: &str) -> String {
    format!("{JWT_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
}

/// The value of cookie `name` in a `Cookie` header value, the usual hand-written way.
pub fn find_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// `--listen ADDR` (default `127.0.0.1:3000`); exits with a usage line on anything else.
pub fn listen_arg() -> SocketAddr {
    let mut args = std::env::args().skip(1);
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 3000));
    while let Some(flag) = args.next() {
        let value = match flag.split_once('=') {
            Some(("--listen", v)) => Some(v.to_string()),
            None if flag == "--listen" => args.next(),
            _ => None,
        };
        match value.and_then(|v| v.parse().ok()) {
            Some(addr) => listen = addr,
            None => {
                eprintln!("usage: [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    listen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        assert_eq!(find_cookie("a=1; token=xyz; pad=0", "token"), Some("xyz"));
        assert_eq!(find_cookie("tokens=1", "token"), None);
    }
}
