//! The cached guard and the full guard, fed whole header sets (`Cookie`, `Authorization`, …).
//! `$TOKEN` in the input becomes a real session token of the service, so the fuzzer works on
//! near-valid tokens too. Properties: no panic, no 500; a request is let through as a user
//! only with exactly that token (in the session cookie or the bearer header).
#![no_main]

use std::sync::OnceLock;

use auth_core::AuthService;
use auth_core::adapter::{Cached, GuardOutcome, RouteKind};
use auth_fuzz::{Headers, request, runtime};
use libfuzzer_sys::fuzz_target;

struct State {
    service: AuthService,
    token: String,
}

fn state() -> &'static State {
    static S: OnceLock<State> = OnceLock::new();
    S.get_or_init(|| {
        let service = auth_fuzz::service("guard", "", false);
        let token = auth_fuzz::sign_up(&service);
        State { service, token }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(f) = auth_fuzz::fields(data, 3) else { return };
    let s = state();
    let headers = Headers::from_lines(&f[2].replace("$TOKEN", &s.token));
    let method = if f[0].is_empty() { "GET" } else { f[0] };
    let path = if f[1].starts_with('/') { f[1] } else { "/api/hello" };
    let req = request(method, path, None, &headers, Some([127, 0, 0, 1].into()));
    let presented = req.bearer().or_else(|| req.cookie(s.service.cookie_name()).filter(|t| !t.is_empty()));
    for kind in [RouteKind::Guarded, RouteKind::Public] {
        let outcome = match s.service.guard_cached(&req, kind) {
            Cached::Decided(o) => o,
            Cached::CallGuard => runtime().block_on(s.service.guard(&req, kind)),
        };
        match outcome {
            GuardOutcome::Allow { user: Some(_), .. } => {
                assert_eq!(presented, Some(s.token.as_str()), "a user was let in without the session's token")
            }
            GuardOutcome::Allow { user: None, .. } => assert_eq!(kind, RouteKind::Public),
            GuardOutcome::Respond(r) => assert!(r.status < 500, "guard answered {}", r.status),
        }
    }
});
