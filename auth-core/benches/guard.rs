//! The cost of the session guard on its hot path.
//!
//! Builds a real [`AuthService`] on a fresh SQLite file, signs the first admin up through the
//! public API (`POST /api/v1/auth/signup`) and measures, per request:
//!
//! - `guard_cached/cookie`: [`AuthService::guard_cached`] with the session cookie (the hot path
//!   every guarded request of a browser takes);
//! - `guard_cached/bearer`: the same with `Authorization: Bearer <token>`;
//! - `baseline/hs256_verify`: a minimal hand-written HS256 check of the same token (signature
//!   plus `exp`), the least a stateless JWT guard could do;
//! - `guard_cached/tampered`: `guard_cached` with a token whose signature was altered (a cache
//!   miss: it must be answered without crypto or I/O, handing over to the async guard);
//! - `guard_cached/garbage`: the same with a cookie that is not a JWT at all;
//! - `guard/tampered_401`: the async [`AuthService::guard`] refusing the tampered token, which
//!   is what the adapters call after that cache miss (the whole cost of a forged token).
//!
//! Run with `cargo bench -p auth-core --bench guard`.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::adapter::{Cached, GuardOutcome, HeaderSource, RequestView, RouteKind};
use auth_core::{AuthConfig, AuthService};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The session secret shared by the service and the baseline.
const JWT_SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";

/// Request headers as (lower-case name, value) pairs.
struct Headers(Vec<(&'static str, String)>);

impl HeaderSource for Headers {
    fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
        self.0.iter().filter(|(k, _)| *k == name).nth(n).map(|(_, v)| v.as_str())
    }
}

/// Headers a browser-ish client sends on a guarded API call, plus `extra`.
fn headers_with(extra: (&'static str, String)) -> Headers {
    Headers(vec![
        ("host", "127.0.0.1:3000".into()),
        ("user-agent", "bench/1.0".into()),
        ("accept", "application/json".into()),
        extra,
    ])
}

fn get<'a>(headers: &'a Headers) -> RequestView<'a> {
    RequestView { method: "GET", path: "/api/hello", query: None, headers, peer: None }
}

/// A fresh service on its own SQLite file (or on the empty database `BENCH_DATABASE_URL`
/// names, e.g. a PostgreSQL one), and the session token of its first admin.
fn setup(rt: &tokio::runtime::Runtime) -> (AuthService, String) {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_nanos();
    let db = std::env::temp_dir().join(format!("auth-core-bench-guard-{}-{stamp}.db", std::process::id()));
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}", db.display()));
    let yaml = format!(
        "publicUrl: http://127.0.0.1:3000\n\
         database:\n  url: \"{url}\"\n\
         basicAuth:\n  jwtSecret: \"{JWT_SECRET}\"\n"
    );
    let config = AuthConfig::from_yaml(&yaml, |_| None).expect("bench config is valid");
    rt.block_on(async {
        let service = AuthService::new(config).await.expect("service starts on a fresh database");
        let h = Headers(vec![("content-type", "application/json".into())]);
        let signup = RequestView { method: "POST", path: "/api/v1/auth/signup", query: None, headers: &h, peer: None };
        let resp = service.handle(&signup, br#"{"email":"a@example.com","password":"correct horse battery"}"#).await;
        assert!(
            (200..300).contains(&resp.status),
            "signup failed: {} {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
        let cookie = resp
            .headers
            .iter()
            .find(|(k, _)| *k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .expect("signup sets the session cookie");
        let token = cookie
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix("auth_session="))
            .expect("cookie is auth_session=<token>")
            .to_string();
        (service, token)
    })
}

/// Asserts the guard lets `req` through with a user, from the cache alone.
fn assert_allows(service: &AuthService, req: &RequestView<'_>) {
    match service.guard_cached(req, RouteKind::Guarded) {
        Cached::Decided(GuardOutcome::Allow { user: Some(user), set_cookie: None }) => {
            assert_eq!(user.email, "a@example.com")
        }
        other => panic!("expected a cached Allow, got {other:?}"),
    }
}

/// Re-validates the session against the store so the cached state is fresh (`revalidateAfter`
/// is 60 s by default, shorter than a whole bench run), then checks the hot path answers.
fn refresh(rt: &tokio::runtime::Runtime, service: &AuthService, req: &RequestView<'_>) {
    let outcome = rt.block_on(service.guard(req, RouteKind::Guarded));
    assert!(
        matches!(outcome, GuardOutcome::Allow { user: Some(_), .. }),
        "the async guard accepts the session: {outcome:?}"
    );
    assert_allows(service, req);
}

/// A minimal stateless HS256 check: signature (constant-time) and `exp`.
fn hs256_check(mac: &Hmac<Sha256>, token: &str, now: i64) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let signed = &token[..header.len() + 1 + payload.len()];
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    let mut mac = mac.clone();
    mac.update(signed.as_bytes());
    if mac.verify_slice(&sig).is_err() {
        return false;
    }
    let Ok(payload) = URL_SAFE_NO_PAD.decode(payload) else {
        return false;
    };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&payload) else {
        return false;
    };
    claims.get("exp").and_then(serde_json::Value::as_i64).is_some_and(|exp| exp >= now)
}

fn unix_now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
    i64::try_from(secs).expect("unix time fits in i64")
}

fn bench_guard(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let (service, token) = setup(&rt);

    let cookie_headers = headers_with(("cookie", format!("theme=dark; auth_session={token}")));
    let cookie_req = get(&cookie_headers);
    let bearer_headers = headers_with(("authorization", format!("Bearer {token}")));
    let bearer_req = get(&bearer_headers);

    // Flip one character of the signature: same length, never in the cache, fails HMAC.
    let mut tampered = token.clone();
    let last = tampered.pop().expect("token is not empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let tampered_headers = headers_with(("cookie", format!("auth_session={tampered}")));
    let tampered_req = get(&tampered_headers);

    let mut group = c.benchmark_group("guard_cached");

    refresh(&rt, &service, &cookie_req);
    group.bench_function("cookie", |b| {
        b.iter(|| black_box(service.guard_cached(black_box(&cookie_req), RouteKind::Guarded)));
    });
    assert_allows(&service, &cookie_req);

    refresh(&rt, &service, &bearer_req);
    group.bench_function("bearer", |b| {
        b.iter(|| black_box(service.guard_cached(black_box(&bearer_req), RouteKind::Guarded)));
    });
    assert_allows(&service, &bearer_req);

    // A cache miss: `None` hands over to the async guard, which then refuses the token.
    assert!(
        matches!(service.guard_cached(&tampered_req, RouteKind::Guarded), Cached::CallGuard),
        "a tampered token is never answered from the cache"
    );
    let refused = rt.block_on(service.guard(&tampered_req, RouteKind::Guarded));
    assert!(
        matches!(&refused, GuardOutcome::Respond(r) if r.status == 401),
        "the async guard refuses a tampered token: {refused:?}"
    );
    group.bench_function("tampered", |b| {
        b.iter(|| black_box(service.guard_cached(black_box(&tampered_req), RouteKind::Guarded)));
    });
    let garbage_headers = headers_with(("cookie", "auth_session=not-a-jwt".into()));
    let garbage_req = get(&garbage_headers);
    assert!(
        matches!(service.guard_cached(&garbage_req, RouteKind::Guarded), Cached::CallGuard),
        "garbage is never answered from the cache"
    );
    group.bench_function("garbage", |b| {
        b.iter(|| black_box(service.guard_cached(black_box(&garbage_req), RouteKind::Guarded)));
    });
    group.finish();

    // What a forged token really costs the server: the cache miss above, then the async guard
    // (full HS256 verification; nothing is cached for refused tokens) answering 401.
    let mut full = c.benchmark_group("guard");
    full.bench_function("tampered_401", |b| {
        b.iter(|| black_box(rt.block_on(service.guard(black_box(&tampered_req), RouteKind::Guarded))));
    });
    full.finish();

    let key = <Hmac<Sha256> as Mac>::new_from_slice(JWT_SECRET.as_bytes()).expect("HMAC takes keys of any length");
    assert!(hs256_check(&key, &token, unix_now()), "the baseline accepts the service's token");
    assert!(!hs256_check(&key, &tampered, unix_now()), "the baseline refuses the tampered token");
    let mut baseline = c.benchmark_group("baseline");
    baseline.bench_function("hs256_verify", |b| {
        b.iter(|| black_box(hs256_check(&key, black_box(&token), unix_now())));
    });
    baseline.finish();
}

criterion_group!(benches, bench_guard);
criterion_main!(benches);
