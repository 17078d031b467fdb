//! Password login end to end, over real HTTP, against both adapters.

use std::time::{Duration, Instant};

use auth_tests::{Adapter, COOKIE, PASSWORD, SECRET, StatusCode, TestServer, both, json, session_token, set_cookie};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

both!(
    first_admin_signup_then_invite_only,
    concurrent_first_signups_make_one_admin,
    login_and_identical_failures,
    valid_email_domain_is_strict,
    guard_refuses_bad_tokens,
    navigation_redirects_to_login,
    logout_revokes_copied_cookie,
    second_instance_sees_revocation,
    oversized_bodies_and_passwords,
    cross_site_requests_are_refused,
    fetch_metadata_and_origin_decide_csrf,
    login_is_throttled,
    personal_settings,
    password_change_ends_other_sessions,
    bad_json_is_a_clear_400,
    other_methods_on_known_routes_are_405_with_allow,
    public_paths_and_pages,
    idle_timeout_slides,
    forwarded_for_only_from_trusted_proxies,
);

async fn first_admin_signup_then_invite_only(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let cfg = json(s.get("/api/v1/auth/config", None).await).await;
    assert_eq!(cfg["needs_setup"], true);
    assert_eq!(cfg["basic_auth"], json!({"enabled": true, "signup": "setup"}));
    assert_eq!(cfg["oidc"]["enabled"], false);

    let r = s
        .post(
            "/api/v1/auth/signup",
            json!({"email": "Admin@Example.com", "password": PASSWORD, "name": "Ada", "organization": "Acme"}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&r).expect("cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain") && !cookie.contains("Secure"), "{cookie}");
    assert!(cookie.len() < 4096);
    let token = session_token(&r).expect("token");
    let body = json(r).await;
    assert_eq!(body["user"]["email"], "admin@example.com");
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["user"]["auth_method"], "password");
    assert_eq!(body["organizations"][0]["name"], "Acme");
    assert_eq!(body["organizations"][0]["role"], "admin");

    let me = json(s.get("/api/v1/auth/me", Some(&token)).await).await;
    assert_eq!(me["user"]["email"], "admin@example.com");
    assert_eq!(me["organizations"][0]["role"], "admin");

    let r = s.post("/api/v1/auth/signup", json!({"email": "second@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "signup_closed");
    let cfg = json(s.get("/api/v1/auth/config", None).await).await;
    assert_eq!(cfg["needs_setup"], false);
    assert_eq!(cfg["basic_auth"]["signup"], "invite-only");
}

async fn concurrent_first_signups_make_one_admin(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let attempts = (0..50).map(|i| {
        let (url, client) = (s.url("/api/v1/auth/signup"), s.client());
        async move {
            client
                .post(url)
                .json(&json!({"email": format!("user{i}@example.com"), "password": PASSWORD}))
                .send()
                .await
                .expect("request")
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::FORBIDDEN).count();
    assert_eq!((created, refused), (1, 49), "{statuses:?}");
}

async fn login_and_identical_failures(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let first = s.signup("admin@example.com").await;
    let token = s.login("ADMIN@example.com", PASSWORD).await;
    assert_ne!(first, token, "a new token at every login");
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await, json!({"hello": "admin@example.com"}));

    let wrong_pw =
        s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": "not the password"}), None).await;
    let unknown = s
        .post("/api/v1/auth/login", json!({"email": "nobody@example.com", "password": "not the password"}), None)
        .await;
    assert_eq!(wrong_pw.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(session_token(&wrong_pw).is_none() && session_token(&unknown).is_none());
    let (b1, b2) = (wrong_pw.bytes().await.expect("body"), unknown.bytes().await.expect("body"));
    assert_eq!(b1, b2, "wrong password and unknown email answer byte-identically");
    assert_eq!(serde_json::from_slice::<Value>(&b1).expect("json")["error"], "invalid_credentials");
}

async fn valid_email_domain_is_strict(a: Adapter) {
    let s = TestServer::start(a, "basicAuth:\n  validEmailDomain: example.com\n  signup: open\n  jwtSecret: \"0123456789abcdef0123456789abcdef\"").await;
    for bad in [
        "a@evil.com",
        "a@example.com.evil.com",
        "a@evil-example.com",
        "a@notexample.com",
        "a@sub.example.com",
        "a@evil.com@example.com",
        "\"a@example.com\"@evil.com",
        "a@evil.com%00@example.com",
        "a@evil.com\n@example.com",
        "a@example.com\u{0}.evil.com",
        "a(@example.com)@evil.com",
        "a@evil.com#@example.com",
        "a@[127.0.0.1]",
        "example.com",
        "@example.com",
    ] {
        let r = s.post("/api/v1/auth/signup", json!({"email": bad, "password": PASSWORD}), None).await;
        let status = r.status();
        let code = json(r).await["error"].clone();
        assert!(
            (status == StatusCode::FORBIDDEN && code == "email_domain_not_allowed")
                || (status == StatusCode::BAD_REQUEST && code == "invalid_request"),
            "{bad:?} -> {status} {code}"
        );
    }
    let token = s.signup("A@EXAMPLE.COM").await;
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await["hello"], "a@example.com");
    let r = s.post("/api/v1/auth/login", json!({"email": "a@evil.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "email_domain_not_allowed");
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next().expect("header")).expect("b64");
    let p = URL_SAFE_NO_PAD.decode(it.next().expect("payload")).expect("b64");
    (serde_json::from_slice(&h).expect("json"), serde_json::from_slice(&p).expect("json"))
}

fn sign(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = header["typ"].as_str().map(str::to_string);
    h.kid = header["kid"].as_str().map(str::to_string);
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("key");
    jsonwebtoken::encode(&h, claims, &key).expect("encode")
}

async fn guard_refuses_bad_tokens(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    let bearer = s.client().get(s.url("/api/hello")).bearer_auth(&token).send().await.expect("req");
    assert_eq!(bearer.status(), StatusCode::OK, "Authorization: Bearer works");

    let (header, claims) = parts(&token);
    let now = claims["iat"].as_i64().expect("iat");
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let mut wrong_type = claims.clone();
    wrong_type["exp"] = json!(claims["exp"].to_string());
    let mut no_sid = claims.clone();
    no_sid.as_object_mut().expect("obj").remove("sid");
    let mut not_yet = claims.clone();
    not_yet["nbf"] = json!(now + 3600);
    let mut nbf_wrong_type = claims.clone();
    nbf_wrong_type["nbf"] = json!("0");
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!("https://other.example.com");
    let mut untyped = header.clone();
    untyped["typ"] = json!("JWT");
    let sig = token.rsplit('.').next().expect("sig");
    let mut tampered = claims.clone();
    tampered["sub"] = json!("someone-else");
    let none_header = json!({"alg": "none", "typ": "session+jwt", "kid": header["kid"]});
    let rs_header = json!({"alg": "RS256", "typ": "session+jwt", "kid": header["kid"]});
    let rs_signing_input = format!("{}.{}", b64(&rs_header), b64(&claims));
    let hmac_key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).expect("key");
    let hmac_over_rs =
        jsonwebtoken::crypto::sign(rs_signing_input.as_bytes(), &hmac_key, jsonwebtoken::Algorithm::HS256)
            .expect("sign");
    let good_sig_rs = format!("{rs_signing_input}.{hmac_over_rs}");
    let jku_header = json!({"alg": "HS256", "typ": "session+jwt", "jku": "http://127.0.0.1:1/jwks", "kid": "attacker"});

    let cases: Vec<(&str, String)> = vec![
        ("expired", sign(&header, &expired, SECRET.as_bytes())),
        ("exp of the wrong JSON type", sign(&header, &wrong_type, SECRET.as_bytes())),
        ("missing sid", sign(&header, &no_sid, SECRET.as_bytes())),
        ("nbf in the future", sign(&header, &not_yet, SECRET.as_bytes())),
        ("nbf of the wrong JSON type", sign(&header, &nbf_wrong_type, SECRET.as_bytes())),
        ("other audience", sign(&header, &other_aud, SECRET.as_bytes())),
        ("typ JWT", sign(&untyped, &claims, SECRET.as_bytes())),
        ("wrong key", sign(&header, &claims, b"another-secret-another-secret-0123")),
        ("tampered payload", format!("{}.{}.{sig}", b64(&header), b64(&tampered))),
        ("alg none", format!("{}.{}.", b64(&none_header), b64(&claims))),
        ("alg none with signature", format!("{}.{}.{sig}", b64(&none_header), b64(&claims))),
        ("HS/RS swap", format!("{rs_signing_input}.{sig}")),
        ("RS256 header, HMAC signature", good_sig_rs),
        ("jku with attacker kid", sign(&jku_header, &claims, b"attacker-secret-attacker-secret-01")),
        ("garbage", "garbage".into()),
        ("three dots", "a.b.c".into()),
        ("empty parts", "..".into()),
        ("non-base64", "!!!.@@@.###".into()),
        ("huge", "A".repeat(6000)),
        ("huge jwt-shaped", format!("{}.{}.{}", "e".repeat(3000), "e".repeat(3000), "e".repeat(100))),
        ("unicode", "ü.ö.ä".into()),
    ];
    for (what, bad) in cases {
        for via_bearer in [false, true] {
            let req = s.client().get(s.url("/api/hello"));
            let req = if via_bearer { req.bearer_auth(&bad) } else { req.header("cookie", format!("{COOKIE}={bad}")) };
            let started = Instant::now();
            let r = req.send().await.expect("req");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what} (bearer: {via_bearer})");
            assert!(started.elapsed() < Duration::from_secs(5), "{what} answered slowly");
            assert_eq!(json(r).await["error"], "unauthenticated", "{what}");
        }
    }
    // The genuine token still works after all that.
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
}

async fn navigation_redirects_to_login(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let r =
        s.client().get(s.url("/?tab=1")).header("accept", "text/html,application/xhtml+xml").send().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?return_to=%2F%3Ftab%3D1");
    let r = s.get("/api/hello", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await, json!({"error": "unauthenticated", "message": "sign-in required"}));
    let token = s.signup("admin@example.com").await;
    let page = s.client().get(s.url("/")).header("cookie", format!("{COOKIE}={token}")).send().await.expect("req");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("text").contains("admin@example.com"));
}

async fn logout_revokes_copied_cookie(a: Adapter) {
    let s = TestServer::start(a, "").await;
    s.signup("admin@example.com").await;
    let token = s.login("admin@example.com", PASSWORD).await;
    let copy = token.clone();
    assert_eq!(s.get("/api/hello", Some(&copy)).await.status(), StatusCode::OK);
    let r = s.post("/api/v1/auth/logout", json!({}), Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cleared = set_cookie(&r).expect("cookie cleared");
    assert!(cleared.starts_with(&format!("{COOKIE}=;")) && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(json(r).await, json!({"redirect": null}));
    assert_eq!(s.get("/api/hello", Some(&copy)).await.status(), StatusCode::UNAUTHORIZED);
    let bearer = s.client().get(s.url("/api/hello")).bearer_auth(&copy).send().await.expect("req");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/api/v1/auth/me", Some(&copy)).await.status(), StatusCode::UNAUTHORIZED);
}

async fn second_instance_sees_revocation(a: Adapter) {
    // No jwtSecret: the generated secret is persisted in the shared store.
    let yaml = "basicAuth:\n  enabled: true\nsession:\n  revalidateAfter: 1s";
    let one = TestServer::start(a, yaml).await;
    let other_adapter = if a == Adapter::Axum { Adapter::Actix } else { Adapter::Axum };
    let two = TestServer::start_beside(other_adapter, yaml, &one).await;
    let token = one.signup("admin@example.com").await;
    assert_eq!(two.get("/api/hello", Some(&token)).await.status(), StatusCode::OK, "shared store, shared secret");
    assert_eq!(one.post("/api/v1/auth/logout", json!({}), Some(&token)).await.status(), StatusCode::OK);
    assert_eq!(
        one.get("/api/hello", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "at once on the serving instance"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = two.get("/api/hello", Some(&token)).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(Instant::now() < deadline, "the other instance never saw the logout");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn oversized_bodies_and_passwords(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let huge = "p".repeat(1024 * 1024);
    for path in ["/api/v1/auth/signup", "/api/v1/auth/login"] {
        let r = s.post(path, json!({"email": "a@example.com", "password": huge}), None).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(json(r).await["error"], "payload_too_large");
    }
    // Chunked (no Content-Length) is capped too: the server answers 413 as soon as the cap is
    // passed, and may close the connection while the client is still writing.
    let stream = futures_util::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 16 * 1024])));
    let sent = s
        .client()
        .post(s.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "unexpected failure: {e}"),
    }
    assert_eq!(s.get("/health", None).await.status(), StatusCode::OK, "the server is unharmed");
    let long = "p".repeat(2000);
    let r = s.post("/api/v1/auth/signup", json!({"email": "a@example.com", "password": long}), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["message"].as_str().unwrap_or("").starts_with("password:"));
    s.signup("a@example.com").await;
    let r = s.post("/api/v1/auth/login", json!({"email": "a@example.com", "password": long}), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for weak in ["short", "password123", "12345678"] {
        let r =
            s.post("/api/v1/auth/me/password", json!({"current_password": PASSWORD, "new_password": weak}), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "needs a session first");
    }
}

async fn cross_site_requests_are_refused(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    let cookie = format!("{COOKIE}={token}");
    let hostile: [(&str, &str); 3] =
        [("sec-fetch-site", "cross-site"), ("origin", "http://evil.example"), ("origin", "null")];
    for (name, value) in hostile {
        for (method, path) in [("POST", "/api/v1/auth/logout"), ("PATCH", "/api/v1/auth/me"), ("POST", "/api/hello")] {
            let r = s
                .client()
                .request(method.parse().expect("method"), s.url(path))
                .header("cookie", &cookie)
                .header(name, value)
                .json(&json!({"name": "x"}))
                .send()
                .await
                .expect("req");
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path} with {name}: {value}");
            assert_eq!(json(r).await["error"], "csrf_rejected");
        }
        // Login CSRF: the login form posts are refused too.
        let r = s
            .client()
            .post(s.url("/api/v1/auth/login"))
            .header(name, value)
            .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "login with {name}: {value}");
    }
    // Still signed in: none of the refused requests logged us out.
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    // Same-origin requests pass.
    let r = s
        .client()
        .patch(s.url("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .header("origin", s.base.clone())
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"name": "Same Origin"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    // Bearer requests carry no ambient credential: no CSRF check.
    let r = s
        .client()
        .post(s.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .header("origin", "http://evil.example")
        .send()
        .await;
    assert_eq!(r.expect("req").status(), StatusCode::FORBIDDEN, "auth routes always check Origin");
}

/// SPEC §5's CSRF rule on the three kinds of unsafe request the layer judges: a page form
/// (login CSRF), a JSON auth route and a guarded app route.
async fn fetch_metadata_and_origin_decide_csrf(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    let cookie = format!("{COOKIE}={token}");
    let me = s.base.as_str();
    // (Sec-Fetch-Site, Origin, accepted?)
    let cases: [(Option<&str>, Option<&str>, bool); 11] = [
        // What Chromium sends for a form post from a `Referrer-Policy: no-referrer` page.
        (Some("same-origin"), Some("null"), true),
        (Some("same-origin"), Some(me), true),
        (Some("none"), None, true),
        (None, Some(me), true),
        (None, None, true),
        (Some("cross-site"), Some("http://evil.example"), false),
        (Some("same-site"), Some("http://app.example"), false),
        (Some("cross-site"), Some(me), false),
        (Some("bogus"), None, false),
        (None, Some("null"), false),
        (None, Some("http://evil.example"), false),
    ];
    let with = |mut req: reqwest::RequestBuilder, site: Option<&str>, origin: Option<&str>| {
        if let Some(v) = site {
            req = req.header("sec-fetch-site", v);
        }
        if let Some(v) = origin {
            req = req.header("origin", v);
        }
        req
    };
    for (site, origin, accepted) in cases {
        let what = format!("Sec-Fetch-Site {site:?}, Origin {origin:?}");
        let form = [("email", "admin@example.com"), ("password", PASSWORD)];
        let r = with(s.client().post(s.url("/login")).form(&form), site, origin).send().await.expect("req");
        let expected = if accepted { StatusCode::SEE_OTHER } else { StatusCode::FORBIDDEN };
        assert_eq!(r.status(), expected, "login form, {what}");
        let r = with(s.client().patch(s.url("/api/v1/auth/me")).header("cookie", &cookie), site, origin)
            .json(&json!({"name": "Ada"}))
            .send()
            .await
            .expect("req");
        if accepted {
            assert_eq!(r.status(), StatusCode::OK, "PATCH /me, {what}");
        } else {
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "PATCH /me, {what}");
            assert_eq!(json(r).await["error"], "csrf_rejected");
        }
        let r = with(s.client().post(s.url("/api/hello")).header("cookie", &cookie), site, origin)
            .send()
            .await
            .expect("req");
        if accepted {
            assert_ne!(r.status(), StatusCode::FORBIDDEN, "app route, {what}");
        } else {
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "app route, {what}");
        }
    }
    // The pages keep Origin on same-origin posts and never send a token-bearing URL elsewhere.
    let r = s.get("/login", None).await;
    assert_eq!(r.headers()["referrer-policy"], "same-origin");
}

async fn login_is_throttled(a: Adapter) {
    let s = TestServer::start(a, "").await;
    s.signup("admin@example.com").await;
    let mut last = None;
    for _ in 0..6 {
        let r = s
            .post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": "wrong wrong wrong"}), None)
            .await;
        last = Some(r);
    }
    let r = last.expect("response");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(retry >= 1);
    assert_eq!(json(r).await["error"], "rate_limited");
    // Locked even with the right password, until the lock ends.
    let r = s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not locked by it.
    let r =
        s.post("/api/v1/auth/login", json!({"email": "other@example.com", "password": "whatever it is"}), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn personal_settings(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    let r = s
        .client()
        .patch(s.url("/api/v1/auth/me"))
        .header("cookie", format!("{COOKIE}={token}"))
        .json(&json!({"name": "  Grace Hopper "}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["user"]["name"], "Grace Hopper");
    assert_eq!(json(s.get("/api/v1/auth/me", Some(&token)).await).await["user"]["name"], "Grace Hopper");
    for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "a\u{7}b"}), json!({"name": 5})] {
        let r = s
            .client()
            .patch(s.url("/api/v1/auth/me"))
            .header("cookie", format!("{COOKIE}={token}"))
            .json(&bad)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(json(r).await["error"], "invalid_request");
    }
}

async fn password_change_ends_other_sessions(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let first = s.signup("admin@example.com").await;
    let second = s.login("admin@example.com", PASSWORD).await;
    let r = s
        .post(
            "/api/v1/auth/me/password",
            json!({"current_password": "not it at all", "new_password": "a brand new passphrase"}),
            Some(&first),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s
        .post(
            "/api/v1/auth/me/password",
            json!({"current_password": PASSWORD, "new_password": "password123"}),
            Some(&first),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "common passwords are refused");
    let r = s
        .post(
            "/api/v1/auth/me/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
            Some(&first),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let fresh = session_token(&r).expect("a fresh cookie");
    assert_eq!(s.get("/api/hello", Some(&second)).await.status(), StatusCode::UNAUTHORIZED, "other sessions end");
    assert_eq!(s.get("/api/hello", Some(&first)).await.status(), StatusCode::UNAUTHORIZED, "the old token ends too");
    assert_eq!(s.get("/api/hello", Some(&fresh)).await.status(), StatusCode::OK, "the caller stays signed in");
    let r = s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    s.login("admin@example.com", "a brand new passphrase").await;
}

async fn bad_json_is_a_clear_400(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let bodies: [&[u8]; 7] =
        [b"", b"{", b"null", b"[]", br#"{"email": 1, "password": "x"}"#, br#"{"password": "x"}"#, b"\xff\xfe"];
    for body in bodies {
        let r = s
            .client()
            .post(s.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{:?}", String::from_utf8_lossy(body));
        let v = json(r).await;
        assert_eq!(v["error"], "invalid_request");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let r = s.post("/api/v1/auth/login", json!({"password": "x"}), None).await;
    assert!(json(r).await["message"].as_str().unwrap_or("").starts_with("email:"), "names the field");
    let r = s.client().delete(s.url("/api/v1/auth/login")).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = s.get("/api/v1/auth/nope/../../etc/passwd", None).await;
    assert!(r.status().is_client_error());
}

/// Found by schemathesis (`unsupported_method`, ST204): `TRACE /me` was 405 without `Allow`,
/// and `TRACE /password/forgot` (like every route outside a short list) 404. Now every known
/// path answers another method with 405 and `Allow` naming its methods, literal paths before
/// parameters as in OpenAPI (`/me/sessions/revoke-others` is not a session id).
async fn other_methods_on_known_routes_are_405_with_allow(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let cases = [
        ("TRACE", "/api/v1/auth/me", "GET, HEAD, PATCH"),
        ("TRACE", "/api/v1/auth/password/forgot", "POST"),
        ("TRACE", "/api/v1/auth/assets/auth.css", "GET, HEAD"),
        ("OPTIONS", "/api/v1/auth/login", "POST"),
        ("DELETE", "/api/v1/auth/login", "POST"),
        ("PUT", "/api/v1/auth/organizations/some-org/members", "GET, HEAD"),
        ("POST", "/api/v1/auth/organizations/some-org/members/some-user", "PATCH, DELETE"),
        ("DELETE", "/api/v1/auth/me/sessions/revoke-others", "POST"),
        ("GET", "/api/v1/auth/me/sessions/some-session", "DELETE"),
        ("PATCH", "/api/v1/auth/invitations/some-token", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = s.client().request(method.parse().expect("method"), s.url(path)).send().await.expect("req");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
        let v = json(r).await;
        assert_eq!(v["error"], "method_not_allowed", "{method} {path}");
        assert_eq!(v["message"], format!("{method} is not allowed on this route"));
    }
    // HEAD is answered wherever GET is; unknown paths stay 404.
    let r = s.client().head(s.url("/api/v1/auth/config")).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    for path in ["/api/v1/auth/nope", "/api/v1/auth/me/", "/api/v1/auth/organizations//members", "/api/v1/auth"] {
        let r = s.client().request("TRACE".parse().expect("method"), s.url(path)).send().await.expect("req");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(r.headers().get("allow").is_none(), "{path}");
    }
}

async fn public_paths_and_pages(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let r = s.get("/health", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("text"), "ok");
    let r = s.get("/login", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["referrer-policy"], "same-origin");
    let html = r.text().await.expect("html");
    assert!(html.contains("Create Account"), "offered while no user exists");
    assert!(html.contains("name=\"password\""));
    // The HTML form signs up and signs in, then lands on the protected page.
    let form = [("email", "admin@example.com"), ("password", PASSWORD), ("organization", "<Acme & Co>")];
    let r = s.client().post(s.url("/signup")).header("origin", s.base.clone()).form(&form).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = session_token(&r).expect("cookie");
    let form = [("email", "admin@example.com"), ("password", PASSWORD)];
    let r = s.client().post(s.url("/login?return_to=%2F%2Fevil.example")).form(&form).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/", "foreign return_to falls back to /");
    let r = s.client().post(s.url("/login?return_to=%2Fapi%2Fhello")).form(&form).send().await.expect("req");
    assert_eq!(r.headers()["location"], "/api/hello");
    let r = s
        .client()
        .post(s.url("/login"))
        .form(&[("email", "admin@example.com"), ("password", "<script>alert(1)</script>")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.expect("html");
    assert!(!html.contains("<script>"));
    let html = s.get("/settings/personal", Some(&token)).await.text().await.expect("html");
    assert!(html.contains("admin@example.com"));
    let html = s.get("/login", None).await.text().await.expect("html");
    assert!(!html.contains("Create Account"), "not offered once set up with invite-only signup");
}

async fn idle_timeout_slides(a: Adapter) {
    let s = TestServer::start(a, "session:\n  idleTimeout: 4s").await;
    let token = s.signup("admin@example.com").await;
    let r = s.get("/api/hello", Some(&token)).await;
    assert!(session_token(&r).is_none(), "no renewal while the token is fresh");
    // Past half the idle window, the app's own responses carry a renewed cookie ...
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let r1 = s.get("/api/hello", Some(&token)).await;
    assert_eq!(r1.status(), StatusCode::OK);
    let renewed = session_token(&r1).expect("a renewed session cookie");
    assert_ne!(renewed, token);
    assert!(set_cookie(&r1).is_some_and(|c| c.contains("HttpOnly") && c.contains("Max-Age=4")));
    // ... the same one for every request still carrying the old token (minted once) ...
    let r2 = s.get("/api/hello", Some(&token)).await;
    assert_eq!(session_token(&r2).as_deref(), Some(renewed.as_str()));
    // ... and it is a working session of the same user; bearer clients get no cookie.
    assert_eq!(json(s.get("/api/v1/auth/me", Some(&renewed)).await).await["user"]["email"], "admin@example.com");
    let bearer = s.client().get(s.url("/api/hello")).bearer_auth(&token).send().await.expect("req");
    assert!(bearer.headers().get("set-cookie").is_none());
}

/// Fails a login for `email` claiming to come from `xff`; returns the status.
async fn fail_login(s: &TestServer, email: &str, xff: &str) -> StatusCode {
    let body = json!({"email": email, "password": "not the password"});
    let r = s.client().post(s.url("/api/v1/auth/login")).header("x-forwarded-for", xff).json(&body).send().await;
    r.expect("req").status()
}

async fn forwarded_for_only_from_trusted_proxies(a: Adapter) {
    // No trusted proxy: X-Forwarded-For is ignored, the peer (127.0.0.1) is the client.
    let s = TestServer::start(a, "loginThrottle:\n  maxFailuresPerClient: 3").await;
    for i in 0..3 {
        assert_eq!(
            fail_login(&s, &format!("u{i}@example.com"), &format!("203.0.113.{i}")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        fail_login(&s, "u9@example.com", "203.0.113.99").await,
        StatusCode::TOO_MANY_REQUESTS,
        "spoofing does not escape"
    );

    // Behind a trusted proxy (the peer): the forwarded address is the client.
    let s = TestServer::start(a, "loginThrottle:\n  maxFailuresPerClient: 3\ntrustedProxies: [\"127.0.0.1\"]").await;
    for i in 0..3 {
        assert_eq!(fail_login(&s, &format!("u{i}@example.com"), "198.51.100.7").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(fail_login(&s, "u9@example.com", "198.51.100.7").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        fail_login(&s, "u9@example.com", "198.51.100.8").await,
        StatusCode::UNAUTHORIZED,
        "another client is not locked"
    );
}
