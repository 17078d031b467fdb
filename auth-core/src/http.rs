//! The neutral request view and response the adapters translate to and from.
//!
//! actix-web 4 uses `http` 0.2 and tower uses `http` 1, so the core speaks only `&str`s; each
//! adapter converts in its own `convert.rs` and nowhere else.

use std::net::IpAddr;

/// The API prefix answered by the layer/middleware.
pub const API_PREFIX: &str = "/api/v1/auth";

/// Read access to request headers by lower-case name.
pub trait HeaderSource {
    /// The `n`-th value of header `name` (0-based), if present and valid UTF-8.
    fn get_nth(&self, name: &str, n: usize) -> Option<&str>;

    /// The first value of header `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.get_nth(name, 0)
    }
}

/// The first `;` in `bytes`. A session cookie's value is a ~350-byte token: this tests 32 bytes
/// at a time with a loop the compiler vectorises, where `str::split(';')` (std's word-at-a-time
/// `memchr`) cost about a tenth of a microsecond per request (docs/PERFORMANCE.md).
fn find_semicolon(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 32;
    let mut start = 0;
    for chunk in bytes.chunks_exact(CHUNK) {
        if chunk.iter().fold(false, |found, &b| found | (b == b';')) {
            break;
        }
        start += CHUNK;
    }
    bytes[start..].iter().position(|&b| b == b';').map(|i| start + i)
}

/// A borrowed, framework-neutral view of a request.
pub struct RequestView<'a> {
    /// Upper-case method (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The path, percent-encoded as received.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The headers.
    pub headers: &'a (dyn HeaderSource + Sync),
    /// The TCP peer address, if known.
    pub peer: Option<IpAddr>,
}

impl RequestView<'_> {
    /// The value of the cookie `name`, found without parsing the whole jar.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        let mut n = 0;
        while let Some(header) = self.headers.get_nth("cookie", n) {
            let mut rest = header;
            loop {
                let (pair, next) = match find_semicolon(rest.as_bytes()) {
                    Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                    None => (rest, None),
                };
                let pair = pair.trim_start();
                if let Some(after) = pair.strip_prefix(name)
                    && let Some(value) = after.strip_prefix('=')
                {
                    return Some(value.trim_end());
                }
                match next {
                    Some(next) => rest = next,
                    None => break,
                }
            }
            n += 1;
        }
        None
    }

    /// The token of an `Authorization: Bearer` header.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query?.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    /// Whether the method can change state (everything but GET, HEAD, OPTIONS, TRACE).
    pub fn is_unsafe_method(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
    }

    /// Whether this looks like a browser navigation (`GET`/`HEAD` accepting HTML).
    pub fn is_navigation(&self) -> bool {
        matches!(self.method, "GET" | "HEAD") && self.headers.get("accept").is_some_and(|a| a.contains("text/html"))
    }
}

/// A response produced by the core, translated by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case names). `set-cookie` may repeat.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl AuthResponse {
    /// A JSON response with `Cache-Control: no-store`.
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())],
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// An empty response with `Cache-Control: no-store`.
    pub fn empty(status: u16) -> Self {
        Self { status, headers: vec![("cache-control", "no-store".into())], body: Vec::new() }
    }

    /// A redirect (`303 See Other` unless told otherwise).
    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            headers: vec![("location", location.to_string()), ("cache-control", "no-store".into())],
            body: Vec::new(),
        }
    }

    /// An HTML page: no caching, no referrer towards other origins (a same-origin form post
    /// still carries `Origin`), no framing, and the given Content-Security-Policy.
    pub fn html(status: u16, body: String, csp: &str) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "text/html; charset=utf-8".into()),
                ("cache-control", "no-store".into()),
                ("referrer-policy", "same-origin".into()),
                ("x-content-type-options", "nosniff".into()),
                ("x-frame-options", "DENY".into()),
                ("content-security-policy", csp.to_string()),
            ],
            body: body.into_bytes(),
        }
    }

    /// The error body of `err`, with `Retry-After` for rate limits.
    pub fn error(err: &crate::AuthError) -> Self {
        let mut r = Self {
            status: err.status(),
            headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())],
            body: err.to_json().into_bytes(),
        };
        if let crate::AuthError::RateLimited { retry_after } = err {
            r.headers.push(("retry-after", retry_after.as_secs().max(1).to_string()));
        }
        r
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The path that starts an OIDC login with the `index`-th provider (`id`).
pub(crate) fn oidc_login_path(index: usize, id: &str) -> String {
    if index == 0 { format!("{API_PREFIX}/login/oidc") } else { format!("{API_PREFIX}/login/oidc?provider={id}") }
}

/// A same-origin path to return to after sign-in, or `/`.
pub fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.len() <= 2048
                && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_origin() {
        assert_eq!(safe_return_to(Some("/dash?x=1")), "/dash?x=1");
        for bad in ["//evil.com", "/\\evil.com", "https://evil.com", "/\t/evil.com", "evil", "/%0a", "/a\nb"] {
            let got = safe_return_to(Some(bad));
            assert!(got == "/" || got == bad && !bad.contains('\n'), "{bad:?} -> {got:?}");
        }
        assert_eq!(safe_return_to(Some("//evil.com")), "/");
        assert_eq!(safe_return_to(None), "/");
    }

    struct H(Vec<(&'static str, &'static str)>);
    impl HeaderSource for H {
        fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
            self.0.iter().filter(|(k, _)| *k == name).nth(n).map(|(_, v)| *v)
        }
    }

    #[test]
    fn finds_the_one_cookie() {
        let h = H(vec![("cookie", "a=1; xauth_session=evil"), ("cookie", "auth_session=tok; b=2")]);
        let v = RequestView { method: "GET", path: "/", query: None, headers: &h, peer: None };
        assert_eq!(v.cookie("auth_session"), Some("tok"));
        assert_eq!(v.cookie("missing"), None);
    }

    /// The chunked `;` search answers exactly as `split(';')` did, wherever the `;` falls.
    #[test]
    fn cookie_scan_matches_split() {
        fn reference<'a>(header: &'a str, name: &str) -> Option<&'a str> {
            header
                .split(';')
                .map(str::trim_start)
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
                .map(str::trim_end)
        }
        let mut headers: Vec<String> = vec![
            String::new(),
            ";".into(),
            "auth_session=".into(),
            "auth_session=x;".into(),
            "; auth_session=é;;auth_session=2 ".into(),
            "ü=1; auth_session = no; auth_session=yes".into(),
        ];
        for len in [0, 1, 30, 31, 32, 33, 63, 64, 65, 100, 360] {
            let token = "t".repeat(len);
            headers.push(format!("auth_session={token}"));
            headers.push(format!("a={token}; auth_session={token}; b=1"));
            headers.push(format!("{token}; auth_session=ok"));
            headers.push(format!("pad={token};auth_session=ok"));
        }
        struct One<'a>(&'a str);
        impl HeaderSource for One<'_> {
            fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
                (name == "cookie" && n == 0).then_some(self.0)
            }
        }
        for header in &headers {
            let h = One(header);
            let v = RequestView { method: "GET", path: "/", query: None, headers: &h, peer: None };
            for name in ["auth_session", "a", "b", "pad", "ü"] {
                assert_eq!(v.cookie(name), reference(header, name), "{name} in {header:?}");
            }
            for i in 0..header.len() {
                let bytes = &header.as_bytes()[i..];
                assert_eq!(find_semicolon(bytes), bytes.iter().position(|&b| b == b';'));
            }
        }
    }
}
