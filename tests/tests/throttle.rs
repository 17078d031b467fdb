//! Login throttling under concurrency and under attack, over real HTTP, against both adapters.

use auth_tests::{Adapter, COOKIE, PASSWORD, Response, SECRET, StatusCode, TestServer, both, json, session_token};
use futures_util::future::join_all;
use serde_json::{Value, json};

both!(
    concurrent_wrong_passwords_evaluate_at_most_the_limit,
    owner_with_device_cookie_signs_in_during_an_attack,
    device_cookie_escapes_a_locked_client,
    concurrent_wrong_current_passwords_are_limited,
);

const DEVICE: &str = "auth_device";
const LOGIN: &str = "/api/v1/auth/login";

/// `auth_device=<value>` from a response's `Set-Cookie`, with the whole header.
fn device_cookie(r: &Response) -> Option<(String, String)> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?;
        pair.strip_prefix(&format!("{DEVICE}=")).filter(|value| !value.is_empty())?;
        Some((pair.to_string(), v.to_string()))
    })
}

/// `n` wrong-password logins for `email` sent at once, each on a fresh connection of a client
/// without cookies; returns how many answered 401 and how many 429.
async fn burst(s: &TestServer, email: &str, n: usize) -> (usize, usize) {
    let client = s.client();
    let sends = (0..n).map(|i| {
        client.post(s.url(LOGIN)).json(&json!({"email": email, "password": format!("wrong guess number {i}")})).send()
    });
    let (mut unauthorized, mut limited) = (0, 0);
    for r in join_all(sends).await {
        let r = r.expect("request");
        match r.status() {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
                assert!(retry >= 1);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text().await.unwrap_or_default()),
        }
    }
    (unauthorized, limited)
}

async fn login_with(s: &TestServer, email: &str, password: &str, cookie: Option<&str>) -> Response {
    let mut req = s.client().post(s.url(LOGIN)).json(&json!({"email": email, "password": password}));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.expect("request")
}

/// The owner signs in once (the response hands out the device cookie); returns it.
async fn owner_device(s: &TestServer, email: &str) -> String {
    let r = login_with(s, email, PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (pair, header) = device_cookie(&r).expect("a password sign-in sets the device cookie");
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=7776000"] {
        assert!(header.contains(attr), "{attr} in {header}");
    }
    assert!(!header.contains("Secure"), "http publicUrl: {header}");
    pair
}

async fn concurrent_wrong_passwords_evaluate_at_most_the_limit(a: Adapter) {
    let s = TestServer::start(a, "").await;
    s.signup("admin@example.com").await;
    let (unauthorized, limited) = burst(&s, "admin@example.com", 100).await;
    assert!(
        (1..=5).contains(&unauthorized),
        "maxFailuresPerAccount is 5: {unauthorized} attempts were evaluated, {limited} refused"
    );
    assert_eq!(unauthorized + limited, 100);
    // The account is locked now for clients without a device cookie, the right password too.
    let r = login_with(&s, "admin@example.com", PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(r).await["error"], "rate_limited");
}

async fn owner_with_device_cookie_signs_in_during_an_attack(a: Adapter) {
    let yaml = format!("basicAuth:\n  signup: open\n  jwtSecret: \"{SECRET}\"\n");
    let s = TestServer::start(a, &yaml).await;
    s.signup("admin@example.com").await;
    s.signup("mallory@example.com").await;
    let owner = owner_device(&s, "admin@example.com").await;
    let mallory = owner_device(&s, "mallory@example.com").await;

    let (unauthorized, _) = burst(&s, "admin@example.com", 100).await;
    assert!(unauthorized <= 5, "{unauthorized} evaluated");

    // The owner's browser, which signed in before, still gets in with the right password.
    let r = login_with(&s, "admin@example.com", PASSWORD, Some(&owner)).await;
    assert_eq!(r.status(), StatusCode::OK, "the owner is not locked out");
    assert!(session_token(&r).is_some());
    let (renewed, _) = device_cookie(&r).expect("the device cookie is renewed");
    let r = login_with(&s, "admin@example.com", PASSWORD, Some(&renewed)).await;
    assert_eq!(r.status(), StatusCode::OK, "the renewed cookie works too");

    // A fresh client, a device cookie of another account, or a forged one: locked.
    let forged = format!("{DEVICE}=x{}", owner.trim_start_matches(&format!("{DEVICE}=")));
    for cookie in [None, Some(mallory.as_str()), Some(forged.as_str())] {
        let r = login_with(&s, "admin@example.com", PASSWORD, cookie).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "cookie {cookie:?}");
        assert!(r.headers().contains_key("retry-after"));
    }

    // The device's own bucket still throttles guesses made with it.
    for _ in 0..5 {
        assert_eq!(
            login_with(&s, "admin@example.com", "wrong", Some(&renewed)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login_with(&s, "admin@example.com", PASSWORD, Some(&renewed)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "a device locks itself");
}

async fn device_cookie_escapes_a_locked_client(a: Adapter) {
    // Everyone behind one proxy (here: 127.0.0.1, no trustedProxies) shares a client bucket.
    let s = TestServer::start(a, "loginThrottle:\n  maxFailuresPerClient: 3").await;
    s.signup("admin@example.com").await;
    let owner = owner_device(&s, "admin@example.com").await;
    for i in 0..3 {
        let r = s.post(LOGIN, json!({"email": format!("u{i}@example.com"), "password": "wrong wrong"}), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login_with(&s, "admin@example.com", PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the client is locked");
    let r = login_with(&s, "admin@example.com", PASSWORD, Some(&owner)).await;
    assert_eq!(r.status(), StatusCode::OK, "a client that signed in before is not");
}

async fn concurrent_wrong_current_passwords_are_limited(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    let client = s.client();
    let body: Value = json!({"current_password": "not the current one", "new_password": "a brand new passphrase"});
    let sends = (0..30).map(|_| {
        client.post(s.url("/api/v1/auth/me/password")).header("cookie", format!("{COOKIE}={token}")).json(&body).send()
    });
    let (mut evaluated, mut limited) = (0, 0);
    for r in join_all(sends).await {
        match r.expect("request").status() {
            StatusCode::BAD_REQUEST => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!((1..=5).contains(&evaluated), "{evaluated} current passwords evaluated, {limited} refused");
    assert_eq!(evaluated + limited, 30);
}
