//! The OIDC callback (`GET /api/v1/auth/callback`): its query (`code`, `state`, `iss`,
//! `error`, …) and the encrypted flow cookie, through `AuthService::handle` with a provider
//! on loopback. Input: query `0xFF` cookie value, or (first byte `0x01`) the query and the
//! flow's fields, sealed as `/login/oidc` seals them. Properties: no panic, no 500; sealing then
//! opening gives the same flow; a forged cookie never reaches the provider (every answer is an
//! error page or JSON error, never a sign-in).
#![no_main]

use std::sync::OnceLock;

use auth_core::AuthService;
use auth_core::fuzzing::flow::{FlowFields, open, seal};
use auth_fuzz::{Headers, request, runtime};
use libfuzzer_sys::fuzz_target;

fn service() -> &'static AuthService {
    static S: OnceLock<AuthService> = OnceLock::new();
    S.get_or_init(|| auth_fuzz::service("oidc_callback", "", true))
}

fuzz_target!(|data: &[u8]| {
    let service = service();
    let (query, cookie) = if data.first() == Some(&1) {
        let Some(f) = auth_fuzz::fields(&data[1..], 8) else { return };
        let fields = FlowFields {
            provider: f[1].to_string(),
            state: f[2].to_string(),
            nonce: f[3].to_string(),
            verifier: f[4].to_string(),
            return_to: f[5].to_string(),
            invitation: (!f[6].is_empty()).then(|| f[6].to_string()),
            created: f[7].parse().unwrap_or(0),
        };
        let set_cookie = seal(service, &fields).expect("oidc is configured");
        let value = set_cookie.split(';').next().and_then(|c| c.split_once('=')).map(|(_, v)| v.to_string());
        let value = value.expect("a cookie value");
        assert_eq!(open(service, &value).as_ref(), Some(&fields), "a sealed flow opens as itself");
        (f[0].to_string(), value)
    } else {
        let Some(f) = auth_fuzz::fields(data, 2) else { return };
        if let Some(flow) = open(service, f[1]) {
            panic!("a forged flow cookie opened: {flow:?}");
        }
        (f[0].to_string(), f[1].to_string())
    };
    let headers = Headers::default().with("cookie", format!("auth_oidc={cookie}")).with("accept", "text/html");
    let req = request("GET", "/api/v1/auth/callback", Some(&query), &headers, Some([127, 0, 0, 1].into()));
    let response = runtime().block_on(service.handle(&req, b""));
    assert!(response.status < 500 || response.status == 503, "callback answered {}", response.status);
    assert!(response.status != 302 && response.status != 303, "a sign-in without the provider's tokens");
});
