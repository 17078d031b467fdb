//! Header parsing: the session cookie in `Cookie` (one or several headers), the bearer token
//! in `Authorization`, the client address from `X-Forwarded-For` behind trusted proxies, the
//! CSRF check (`Sec-Fetch-Site`, `Origin`) and query parameters. Properties: no panic; a
//! cookie is found exactly as a plain split at `;` finds it, only under its exact name, and
//! holds no `;`; a bearer token only under the `Bearer` scheme; the client address is the
//! peer or an address written in the header; a cross-site `Sec-Fetch-Site` or a foreign
//! `Origin` never passes the CSRF check.
#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use auth_core::AuthService;
use auth_core::fuzzing::{check_csrf, client_ip};
use auth_fuzz::{Headers, request};
use libfuzzer_sys::fuzz_target;

fn service() -> &'static AuthService {
    static S: OnceLock<AuthService> = OnceLock::new();
    S.get_or_init(|| auth_fuzz::service("headers", "", false))
}

fuzz_target!(|data: &[u8]| {
    let Some(f) = auth_fuzz::fields(data, 3) else { return };
    let service = service();
    let headers = Headers::from_lines(f[2]);
    let peer: Option<IpAddr> = match f[0].parse() {
        Ok(ip) => Some(ip),
        Err(_) => Some([10, 0, 0, 1].into()),
    };
    let query = (!f[1].is_empty()).then_some(f[1]);
    let req = request("POST", "/api/v1/auth/login", query, &headers, peer);

    let name = service.cookie_name();
    // The obvious reading (each `Cookie` header in order, split at `;`), against which the
    // guard's faster scan must give the same answer for any name.
    let reference = |name: &str| {
        headers.0.iter().filter(|(k, _)| k == "cookie").find_map(|(_, h)| {
            h.split(';').map(str::trim_start).find_map(|p| p.strip_prefix(name)?.strip_prefix('=')).map(str::trim_end)
        })
    };
    for n in [name, "a", "theme"] {
        assert_eq!(req.cookie(n), reference(n), "cookie {n:?}");
    }
    if let Some(v) = req.cookie(name) {
        assert!(!v.contains(';'));
        let found = headers.0.iter().filter(|(k, _)| k == "cookie").any(|(_, h)| {
            h.split(';').any(|pair| pair.trim_start().strip_prefix(name).and_then(|r| r.strip_prefix('=')).is_some())
        });
        assert!(found, "cookie {v:?} not under the exact name {name:?}");
    }
    if let Some(t) = req.bearer() {
        let h = headers.0.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str()).unwrap_or("");
        assert!(h.len() >= 7 && h[..6].eq_ignore_ascii_case("bearer") && h.contains(t));
    }
    if let Some(ip) = client_ip(service, &req) {
        let xff = headers.0.iter().find(|(k, _)| k == "x-forwarded-for").map(|(_, v)| v.as_str()).unwrap_or("");
        assert!(Some(ip) == peer || xff.split(',').any(|h| h.trim().parse::<IpAddr>() == Ok(ip)));
    }
    if check_csrf(service, &req) {
        let first = |name: &str| headers.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
        match first("sec-fetch-site") {
            Some(site) => assert!(
                site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"),
                "Sec-Fetch-Site {site:?} passed"
            ),
            None => assert!(
                first("origin").is_none_or(|o| o.eq_ignore_ascii_case(auth_fuzz::PUBLIC_URL)),
                "a foreign Origin passed"
            ),
        }
    }
    let _ = req.query_param("return_to");
});
