//! Prometheus metrics (`metrics.path`, `metrics.listen`), scraped over real HTTP and parsed,
//! against both adapters.
//!
//! The `metrics` recorder is one per process, so every scenario of this binary takes
//! [`SERIAL`] for its whole run: no other scenario moves a counter between two scrapes, and the
//! deltas asserted are exact.

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_tests::faulty::Switch;
use auth_tests::{Adapter, COOKIE, Idp, PASSWORD, StatusCode, TestServer, both, browser, free_port, json, walk};
use serde_json::json;

both!(
    metrics_are_off_by_default,
    logins_and_guard_decisions_are_counted,
    store_errors_are_counted,
    metrics_on_their_own_address,
    metrics_never_name_users,
    oidc_logins_and_idp_requests_are_counted,
    idp_errors_are_counted,
);

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ON_APP: &str = "metrics:\n  path: /metrics\n";

/// One sample: metric name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// A scrape: the samples and the `# TYPE` of each metric family.
#[derive(Debug, Default)]
struct Scrape {
    samples: BTreeMap<Series, f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// The value of `name{labels}` (exactly these labels), 0 when absent (a counter never
    /// incremented is not rendered).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.get(&(name.to_string(), labels)).copied().unwrap_or(0.0)
    }

    /// The sum over every series of `name`.
    fn sum(&self, name: &str) -> f64 {
        self.samples.iter().filter(|((n, _), _)| n == name).map(|(_, v)| v).sum()
    }
}

/// Parses the Prometheus text exposition format (0.0.4), strictly: every line is a comment, a
/// `# HELP`/`# TYPE` line, empty, or `name{label="value",...} value`; anything else panics.
fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line: {line}"));
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "unknown type in {line}");
            scrape.types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in {line}"
        );
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            let end = loop {
                let Some((i, c)) = chars.next() else { panic!("unterminated labels: {line}") };
                if c == '}' {
                    break i;
                }
                if c == ',' {
                    continue;
                }
                // A label name, '=', a quoted value with \\, \" and \n escapes.
                let mut key = String::from(c);
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad label name in {line}");
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "unquoted label value in {line}");
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, c @ ('\\' | '"'))) => value.push(c),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        Some((_, '"')) => break,
                        Some((_, c)) => value.push(c),
                        None => panic!("unterminated label value in {line}"),
                    }
                }
                labels.insert(key, value);
            };
            rest = &after[end + 1..];
        }
        let value = rest.trim();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value {v:?} in {line}")),
        };
        let previous = scrape.samples.insert((name.to_string(), labels), value);
        assert!(previous.is_none(), "series twice: {line}");
    }
    scrape
}

/// `GET url`: asserts a well-formed Prometheus answer and parses it.
async fn scrape_url(url: &str) -> (Scrape, String) {
    let r = reqwest::get(url).await.expect("scrape");
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let content_type = r.headers()["content-type"].to_str().expect("ascii").to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = r.text().await.expect("body");
    (parse(&text), text)
}

async fn scrape(s: &TestServer) -> Scrape {
    scrape_url(&s.url("/metrics")).await.0
}

fn logins(m: &Scrape, method: &str, outcome: &str) -> f64 {
    m.get("auth_logins_total", &[("method", method), ("outcome", outcome)])
}

fn guard(m: &Scrape, decision: &str) -> f64 {
    m.get("auth_guard_decisions_total", &[("decision", decision)])
}

fn cache(m: &Scrape, result: &str) -> f64 {
    m.get("auth_session_cache_requests_total", &[("result", result)])
}

async fn login_attempt(s: &TestServer, email: &str, password: &str) -> StatusCode {
    s.post("/api/v1/auth/login", json!({"email": email, "password": password}), None).await.status()
}

async fn metrics_are_off_by_default(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let s = TestServer::start(a, "").await;
    // The path is an ordinary app path: guarded, then the app's own 404.
    let r = s.get("/metrics", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["error"], "unauthenticated");
    let token = s.signup("admin@example.com").await;
    let r = s.get("/metrics", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no metrics without metrics.path");
    assert!(!r.text().await.expect("body").contains("auth_"), "no Prometheus text");
    assert_eq!(s.get("/api/v1/auth/metrics", None).await.status(), StatusCode::NOT_FOUND);
}

async fn logins_and_guard_decisions_are_counted(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let s = TestServer::start(a, &format!("{ON_APP}loginThrottle:\n  maxFailuresPerAccount: 2\n")).await;
    let before = scrape(&s).await;

    let token = s.signup("admin@example.com").await;
    let token = {
        let _first = token;
        s.login("admin@example.com", PASSWORD).await
    };
    assert_eq!(login_attempt(&s, "admin@example.com", "wrong password, surely").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_attempt(&s, "nobody@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);
    // The account's second failure locks it: the next attempt is refused before hashing.
    assert_eq!(login_attempt(&s, "admin@example.com", "wrong again").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_attempt(&s, "admin@example.com", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);

    // The guard: a signed-in request twice (verified, then from the cache), none, a navigation.
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    assert_eq!(s.get("/api/hello", None).await.status(), StatusCode::UNAUTHORIZED);
    let nav = s.client().get(s.url("/")).header("accept", "text/html").send().await.expect("request");
    assert_eq!(nav.status(), StatusCode::SEE_OTHER);
    let cross_site = s
        .client()
        .post(s.url("/api/hello"))
        .header("cookie", format!("{COOKIE}={token}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let after = scrape(&s).await;
    let delta = |f: &dyn Fn(&Scrape) -> f64| f(&after) - f(&before);
    assert_eq!(delta(&|m| logins(m, "password", "success")), 1.0, "one successful login (signup is not a login)");
    assert_eq!(
        delta(&|m| logins(m, "password", "invalid_credentials")),
        3.0,
        "wrong password, unknown email, wrong again"
    );
    assert_eq!(delta(&|m| logins(m, "password", "rate_limited")), 1.0, "refused while locked");
    assert_eq!(delta(&|m| m.sum("auth_logins_total")), 5.0, "nothing else counted as a login");
    assert_eq!(delta(&|m| m.get("auth_lockouts_total", &[])), 1.0, "one lockout");
    assert_eq!(after.types.get("auth_logins_total").map(String::as_str), Some("counter"));

    assert_eq!(delta(&|m| guard(m, "allowed")), 2.0);
    assert_eq!(delta(&|m| guard(m, "unauthenticated")), 1.0);
    assert_eq!(delta(&|m| guard(m, "redirected")), 1.0);
    assert_eq!(delta(&|m| guard(m, "csrf_rejected")), 1.0);
    assert_eq!(delta(&|m| m.sum("auth_guard_decisions_total")), 5.0, "the scrapes themselves are not guarded");
    // Three guarded requests carried the token; the second was answered from the cache.
    assert_eq!(delta(&|m| cache(m, "hit") + cache(m, "miss")), 3.0);
    assert!(delta(&|m| cache(m, "hit")) >= 1.0, "the repeated request is a cache hit");

    // argon2: signup (strength check + hash), four verified attempts; the locked one waits for nothing.
    assert!(delta(&|m| m.sum("auth_password_hash_wait_seconds_count")) >= 5.0);
    assert_eq!(after.types.get("auth_password_hash_wait_seconds").map(String::as_str), Some("histogram"));
    assert!(after.get("auth_password_hash_wait_seconds_bucket", &[("le", "+Inf")]) >= 5.0);
    assert_eq!(after.get("auth_password_hash_queue_depth", &[]), 0.0, "nothing is waiting now");
    assert_eq!(after.types.get("auth_password_hash_queue_depth").map(String::as_str), Some("gauge"));

    // The endpoint: public, read-only, not an auth API route.
    let r = s.client().post(s.url("/metrics")).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let head = s.client().head(s.url("/metrics")).send().await.expect("request");
    assert_eq!(head.status(), StatusCode::OK);
    let openapi = json(s.get("/api/v1/auth/openapi.json", None).await).await;
    assert!(openapi["paths"].get("/metrics").is_none(), "not part of the auth API document");
}

async fn store_errors_are_counted(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let switch = Arc::new(Switch::default());
    let s =
        TestServer::start_faulty(a, &format!("{ON_APP}session:\n  revalidateAfter: 0\n"), Arc::clone(&switch)).await;
    let token = s.signup("admin@example.com").await;
    let before = scrape(&s).await;
    switch.down();
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(login_attempt(&s, "admin@example.com", PASSWORD).await, StatusCode::SERVICE_UNAVAILABLE);
    // Scraping needs no store.
    let during = scrape(&s).await;
    switch.up();
    let delta = |f: &dyn Fn(&Scrape) -> f64| f(&during) - f(&before);
    assert!(delta(&|m| m.get("auth_store_errors_total", &[("kind", "unavailable")])) >= 2.0);
    assert_eq!(delta(&|m| m.get("auth_store_errors_total", &[("kind", "corrupt")])), 0.0);
    assert_eq!(delta(&|m| guard(m, "unavailable")), 1.0, "failed closed");
    assert_eq!(delta(&|m| logins(m, "password", "unavailable")), 1.0);
    assert_eq!(delta(&|m| logins(m, "password", "invalid_credentials")), 0.0, "never a wrong password");
    assert_eq!(delta(&|m| m.get("auth_lockouts_total", &[])), 0.0);
}

async fn metrics_on_their_own_address(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let port = free_port();
    let s = TestServer::start(a, &format!("metrics:\n  path: /internal/metrics\n  listen: 127.0.0.1:{port}\n")).await;
    let url = format!("http://127.0.0.1:{port}/internal/metrics");
    let (before, _) = scrape_url(&url).await;
    let token = s.signup("admin@example.com").await;
    let token = {
        let _first = token;
        s.login("admin@example.com", PASSWORD).await
    };
    let (after, _) = scrape_url(&url).await;
    assert_eq!(logins(&after, "password", "success") - logins(&before, "password", "success"), 1.0);

    // The app's port does not serve them: the path is guarded like any app path.
    assert_eq!(s.get("/internal/metrics", None).await.status(), StatusCode::UNAUTHORIZED);
    let r = s.get("/internal/metrics", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "the app has no such route");
    assert!(!r.text().await.expect("body").contains("auth_logins_total"));
    assert_eq!(s.get("/metrics", None).await.status(), StatusCode::UNAUTHORIZED);
    // The metrics port answers only its path, and only reads.
    let other = reqwest::get(format!("http://127.0.0.1:{port}/")).await.expect("request");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let post = reqwest::Client::new().post(&url).send().await.expect("request");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

    // The server ends with the service: the port is free again.
    drop(s);
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            freed = true;
            break;
        }
    }
    assert!(freed, "the metrics server stops when its service is dropped");
}

async fn metrics_never_name_users(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let s =
        TestServer::start(a, &format!("{ON_APP}basicAuth:\n  jwtSecret: \"{}\"\n  signup: open\n", auth_tests::SECRET))
            .await;
    let (admin, _) = s.first_admin().await;
    let email = "zelda.quux-7@example.com";
    let token = s.signup(email).await;
    let me = json(s.get("/api/v1/auth/me", Some(&token)).await).await;
    let (user_id, org_id) =
        (me["user"]["id"].as_str().expect("id"), me["organizations"][0]["id"].as_str().expect("org"));
    let sessions = json(s.get("/api/v1/auth/me/sessions", Some(&token)).await).await;
    let session_id = sessions[0]["id"].as_str().expect("session id").to_string();
    s.login(email, PASSWORD).await;
    assert_eq!(login_attempt(&s, email, "not the password at all").await, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    assert_eq!(s.get("/api/hello", Some(&admin)).await.status(), StatusCode::OK);

    let (m, text) = scrape_url(&s.url("/metrics")).await;
    assert!(logins(&m, "password", "success") >= 1.0, "the login is in there");
    for secret in [email, "zelda", user_id, org_id, &session_id, &token, &admin, PASSWORD, "127.0.0.1"] {
        assert!(!text.contains(secret), "the metrics name {secret:?}:\n{text}");
    }
    // Only the documented labels, each from its small fixed set.
    for (name, labels) in m.samples.keys() {
        assert!(name.starts_with("auth_"), "{name}");
        for (k, v) in labels {
            let allowed: &[&str] = match k.as_str() {
                "method" => &["password", "oidc"],
                "decision" => {
                    &["allowed", "anonymous", "unauthenticated", "redirected", "csrf_rejected", "unavailable"]
                }
                "result" => &["hit", "miss"],
                "kind" => &["unavailable", "corrupt"],
                "outcome" | "le" | "provider" | "endpoint" => continue,
                other => panic!("unexpected label {other}={v} on {name}"),
            };
            assert!(allowed.contains(&v.as_str()), "{name}{{{k}={v}}}");
        }
        if let Some(outcome) = labels.get("outcome") {
            assert!(outcome.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "an error code: {outcome}");
        }
    }
}

fn idp(m: &Scrape, name: &str, provider: &str, endpoint: &str) -> f64 {
    m.get(name, &[("provider", provider), ("endpoint", endpoint)])
}

/// Waits (bounded) until the app has discovered the IdP.
async fn wait_for_oidc(s: &TestServer) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while s.get("/api/v1/auth/login/oidc", None).await.status() != StatusCode::FOUND {
        assert!(std::time::Instant::now() < deadline, "the app never discovered the IdP");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

async fn oidc_logins_and_idp_requests_are_counted(a: Adapter) {
    let _serial = SERIAL.lock().await;
    let port = free_port();
    let s = TestServer::start(a, &format!("{ON_APP}{}", Idp::yaml(port))).await;
    let idp_server = Idp::start(port, &s.base, "RS256");
    wait_for_oidc(&s).await;
    let before = scrape(&s).await;

    idp_server.login_as("sub-1", "sso-user@example.com", true).await;
    let start = s.url("/api/v1/auth/login/oidc?return_to=%2Fapi%2Fhello");
    let w = walk(&browser(), &start, &s.base, &idp_server.issuer).await;
    assert!(w.session.is_some(), "signed in through the IdP: {w:?}");
    // A callback without a sign-in attempt behind it: refused before any token request.
    let r = s.get("/api/v1/auth/callback?code=x&state=y", None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let after = scrape(&s).await;
    let delta = |f: &dyn Fn(&Scrape) -> f64| f(&after) - f(&before);
    assert_eq!(delta(&|m| logins(m, "oidc", "success")), 1.0);
    assert_eq!(delta(&|m| logins(m, "oidc", "invalid_request")), 1.0, "the forged callback");
    assert_eq!(delta(&|m| m.sum("auth_logins_total")), 2.0);
    let token = |m: &Scrape| idp(m, "auth_idp_request_duration_seconds_count", "default", "token");
    assert_eq!(delta(&token), 1.0, "one token request: the forged callback made none");
    assert_eq!(delta(&|m| idp(m, "auth_idp_request_errors_total", "default", "token")), 0.0);
    // Discovery and the keys were fetched before `before` (the app found the IdP).
    for endpoint in ["discovery", "jwks"] {
        assert!(idp(&after, "auth_idp_request_duration_seconds_count", "default", endpoint) >= 1.0, "{endpoint}");
    }
    assert_eq!(after.types.get("auth_idp_request_duration_seconds").map(String::as_str), Some("histogram"));
}

async fn idp_errors_are_counted(a: Adapter) {
    let _serial = SERIAL.lock().await;
    // Nothing listens on the provider's port: discovery fails, the app runs on.
    let port = free_port();
    let yaml = format!(
        "{ON_APP}oidc:\n  providers:\n    - id: down\n      clientId: c\n      clientSecret: s\n      \
         discoveryUrl: http://127.0.0.1:{port}/.well-known/openid-configuration\n"
    );
    let s = TestServer::start(a, &yaml).await;
    let errors = |m: &Scrape| idp(m, "auth_idp_request_errors_total", "down", "discovery");
    let before = errors(&scrape(&s).await);
    // Each /login/oidc while the IdP is down may retry discovery (at most every 2 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    let after = loop {
        assert_eq!(s.get("/api/v1/auth/login/oidc", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        let now = scrape(&s).await;
        if errors(&now) > before || std::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert!(errors(&after) > before, "a failed discovery is an IdP error");
    assert!(idp(&after, "auth_idp_request_duration_seconds_count", "down", "discovery") >= errors(&after));
    assert_eq!(idp(&after, "auth_idp_request_errors_total", "down", "token"), 0.0);
}

/// A `metrics.listen` address that cannot be bound stops the start, naming the key (no adapter
/// is involved: the service refuses to start).
#[tokio::test]
async fn a_busy_metrics_address_is_a_startup_error() {
    let _serial = SERIAL.lock().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let yaml = format!(
        "database:\n  url: \"{}\"\nbasicAuth:\n  jwtSecret: \"{}\"\nmetrics:\n  path: /metrics\n  listen: \"{addr}\"\n",
        auth_tests::fresh_sqlite(),
        auth_tests::SECRET
    );
    let config = auth_core::AuthConfig::from_yaml(&yaml, |_| None).expect("valid config");
    let err = auth_core::AuthService::new(config).await.expect_err("the address is taken");
    let msg = err.to_string();
    assert!(msg.contains("metrics.listen") && msg.contains(&addr.to_string()), "{msg}");
}
