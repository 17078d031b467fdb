//! Operating the instance over real HTTP: the instance-admin routes (`GET /admin/users`,
//! `GET /admin/audit`), and what the operator's actions (`auth-admin`: the same
//! `AuthService::operator()` on the same store) do to a running server — disabled users are
//! refused at once, deleted ones are gone, rotated keys keep old sessions working.

use std::time::{Duration, Instant};

use auth_tests::{Adapter, PASSWORD, SECRET, StatusCode, TestServer, both, json};
use serde_json::Value;

both!(
    admin_routes_are_for_instance_admins,
    admin_users_search_and_page,
    audit_events_are_stored_newest_first,
    a_disabled_user_is_refused_at_once,
    a_deleted_user_is_gone,
    rotated_keys_keep_sessions_and_reach_other_instances,
);

fn open_signup() -> String {
    format!("basicAuth:\n  signup: open\n  jwtSecret: \"{SECRET}\"\n")
}

async fn me_id(s: &TestServer, token: &str) -> String {
    json(s.get("/api/v1/auth/me", Some(token)).await).await["user"]["id"].as_str().expect("id").to_string()
}

/// Polls `/api/hello` with `token` until it answers `want`, for at most `limit`.
async fn hello_becomes(s: &TestServer, token: &str, want: StatusCode, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = s.get("/api/hello", Some(token)).await.status();
        if got == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "/api/hello still answers {got} after {limit:?}, wanted {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn admin_routes_are_for_instance_admins(a: Adapter) {
    let s = TestServer::start(a, &open_signup()).await;
    let admin = s.signup("boss@example.com").await;
    // Bob signs up openly: admin of his own organization, not of the instance's.
    let bob = s.signup("bob@example.com").await;
    for path in ["/api/v1/auth/admin/users", "/api/v1/auth/admin/audit"] {
        assert_eq!(s.get(path, None).await.status(), StatusCode::UNAUTHORIZED, "{path} signed out");
        let r = s.get(path, Some(&bob)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} for a non instance admin");
        assert_eq!(json(r).await["error"], "forbidden");
        let r = s.get(path, Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path} for the first admin");
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    // Whoever the first admin makes an admin of the instance's organization is one too.
    let org = json(s.get("/api/v1/auth/me", Some(&admin)).await).await["organizations"][0]["id"]
        .as_str()
        .expect("org")
        .to_string();
    let carol = s.signup("carol@example.com").await;
    let carol_id = me_id(&s, &carol).await;
    let ops = s.operator(&open_signup()).await;
    let inv = ops.operator().invite("carol@example.com", Some(&org), auth_core::Role::Member).await.expect("invite");
    let token = inv.accept_url.rsplit('/').next().expect("token").to_string();
    let r = s.post(&format!("/api/v1/auth/invitations/{token}/accept"), serde_json::json!({}), Some(&carol)).await;
    assert_eq!(r.status(), StatusCode::CREATED, "carol joins");
    assert_eq!(s.get("/api/v1/auth/admin/users", Some(&carol)).await.status(), StatusCode::FORBIDDEN, "a member");
    let r = s
        .client()
        .patch(s.url(&format!("/api/v1/auth/organizations/{org}/members/{carol_id}")))
        .header("cookie", format!("{}={admin}", auth_tests::COOKIE))
        .json(&serde_json::json!({"role": "admin"}))
        .send()
        .await
        .expect("promote");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(s.get("/api/v1/auth/admin/users", Some(&carol)).await.status(), StatusCode::OK, "promoted");
}

async fn admin_users_search_and_page(a: Adapter) {
    let s = TestServer::start(a, &open_signup()).await;
    let admin = s.signup("boss@example.com").await;
    for who in ["ann", "bob", "cyd"] {
        s.signup(&format!("{who}@example.com")).await;
    }
    let page = json(s.get("/api/v1/auth/admin/users", Some(&admin)).await).await;
    assert_eq!(page["total"], 4);
    let emails: Vec<&str> =
        page["users"].as_array().expect("users").iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails, ["ann@example.com", "bob@example.com", "boss@example.com", "cyd@example.com"]);
    assert_eq!(page["users"][0]["disabled"], false);
    assert_eq!(page["users"][0]["has_password"], true);
    let found = json(s.get("/api/v1/auth/admin/users?q=BOB", Some(&admin)).await).await;
    assert_eq!((found["total"].as_u64(), found["users"][0]["email"].as_str()), (Some(1), Some("bob@example.com")));
    let second = json(s.get("/api/v1/auth/admin/users?offset=1&limit=2", Some(&admin)).await).await;
    assert_eq!((second["total"].as_u64(), second["users"].as_array().map(Vec::len)), (Some(4), Some(2)));
    assert_eq!(second["users"][0]["email"], "bob@example.com");
    for bad in ["limit=0", "limit=201", "offset=-1", "offset=2147483648", "limit=x"] {
        let r = s.get(&format!("/api/v1/auth/admin/users?{bad}"), Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(json(r).await["error"], "invalid_request");
    }
    let long = "x".repeat(201);
    assert_eq!(
        s.get(&format!("/api/v1/auth/admin/users?q={long}"), Some(&admin)).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn audit_events_are_stored_newest_first(a: Adapter) {
    let s = TestServer::start(a, &open_signup()).await;
    let admin = s.signup("boss@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let bob_id = me_id(&s, &bob).await;
    let r = s
        .post(
            "/api/v1/auth/login",
            serde_json::json!({"email": "bob@example.com", "password": "wrong password!"}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    s.login("bob@example.com", PASSWORD).await;
    let all = json(s.get("/api/v1/auth/admin/audit", Some(&admin)).await).await;
    let events = all["events"].as_array().expect("events").clone();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names, ["login", "signup", "signup"], "newest first: {all}");
    assert_eq!(events[0]["user_id"], bob_id.as_str());
    assert_eq!(events[0]["source"], "http");
    assert_eq!(events[0]["detail"]["method"], "password");
    assert_eq!(events[2]["detail"]["first_admin"], true);
    assert!(events.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
    assert_eq!(all["next_before"], Value::Null, "one page holds them all");
    let text = all.to_string();
    for secret in ["bob@example.com", "boss@example.com", PASSWORD, "wrong password!"] {
        assert!(!text.contains(secret), "the audit log holds {secret:?}: {text}");
    }
    // Paging by `before`.
    let first = json(s.get("/api/v1/auth/admin/audit?limit=2", Some(&admin)).await).await;
    assert_eq!(first["events"].as_array().map(Vec::len), Some(2));
    let before = first["next_before"].as_i64().expect("a next page");
    let rest = json(s.get(&format!("/api/v1/auth/admin/audit?before={before}"), Some(&admin)).await).await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["events"][0]["event"], "signup");
    assert_eq!(s.get("/api/v1/auth/admin/audit?before=0", Some(&admin)).await.status(), StatusCode::BAD_REQUEST);
}

async fn a_disabled_user_is_refused_at_once(a: Adapter) {
    let s = TestServer::start(a, &open_signup()).await;
    s.signup("boss@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let bob_id = auth_core::store::UserId::new(me_id(&s, &bob).await);
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::OK, "cached as valid");
    // The operator disables Bob through another handle on the store, as `auth-admin` does.
    let ops = s.operator(&open_signup()).await;
    assert_eq!(ops.operator().disable(&bob_id).await.expect("disable"), 1, "one session ended");
    let took = hello_becomes(&s, &bob, StatusCode::UNAUTHORIZED, Duration::from_secs(2)).await;
    eprintln!("disabled session refused after {took:?}");
    let r =
        s.post("/api/v1/auth/login", serde_json::json!({"email": "bob@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a disabled user cannot sign in");
    let body = json(r).await;
    assert_eq!(body["error"], "forbidden");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("disabled")), "{body}");
    // A wrong password still reads as one: being disabled is not told to a guesser.
    let r = s
        .post(
            "/api/v1/auth/login",
            serde_json::json!({"email": "bob@example.com", "password": "not his password"}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    ops.operator().enable(&bob_id).await.expect("enable");
    let again = s.login("bob@example.com", PASSWORD).await;
    assert_eq!(s.get("/api/hello", Some(&again)).await.status(), StatusCode::OK);
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::UNAUTHORIZED, "ended sessions stay ended");
    let detail = ops.operator().detail(&bob_id).await.expect("detail");
    assert!(!detail.user.disabled);
    let events = ops.operator().audit_events(None, 10).await.expect("audit");
    let disabled = events.iter().find(|e| e.event.event == "user_disabled").expect("audited");
    assert_eq!(disabled.event.source, auth_core::store::AuditSource::Cli);
    assert_eq!(disabled.event.user_id.as_ref(), Some(&bob_id));
}

async fn a_deleted_user_is_gone(a: Adapter) {
    let s = TestServer::start(a, &open_signup()).await;
    let admin = s.signup("boss@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let bob_id = auth_core::store::UserId::new(me_id(&s, &bob).await);
    let ops = s.operator(&open_signup()).await;
    ops.operator().delete(&bob_id).await.expect("delete");
    hello_becomes(&s, &bob, StatusCode::UNAUTHORIZED, Duration::from_secs(2)).await;
    let r =
        s.post("/api/v1/auth/login", serde_json::json!({"email": "bob@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let users = json(s.get("/api/v1/auth/admin/users", Some(&admin)).await).await;
    assert_eq!(users["total"], 1);
    // Bob's address is free again.
    s.signup("bob@example.com").await;
}

async fn rotated_keys_keep_sessions_and_reach_other_instances(a: Adapter) {
    // No jwtSecret: the store holds the signing key, so `keys rotate` applies.
    let yaml = "basicAuth:\n  signup: open\n";
    let first = TestServer::start(a, yaml).await;
    let before = first.signup("boss@example.com").await;
    let ops = first.operator(yaml).await;
    ops.operator().rotate_signing_key().await.expect("rotate");
    assert_eq!(first.get("/api/hello", Some(&before)).await.status(), StatusCode::OK, "old sessions keep working");
    // A second instance started after the rotation signs with the new key...
    let other = match a {
        Adapter::Axum => Adapter::Actix,
        Adapter::Actix => Adapter::Axum,
    };
    let second = TestServer::start_beside(other, yaml, &first).await;
    let after = second.signup("new@example.com").await;
    let kid = |t: &str| {
        let header = t.split('.').next().expect("header").to_string();
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64");
        serde_json::from_slice::<Value>(&raw).expect("json")["kid"].as_str().expect("kid").to_string()
    };
    assert_ne!(kid(&before), kid(&after), "the new session is signed with the new key");
    // ...and the first instance, which has not re-read the keys yet, accepts its sessions.
    assert_eq!(first.get("/api/hello", Some(&after)).await.status(), StatusCode::OK);
    assert_eq!(second.get("/api/hello", Some(&before)).await.status(), StatusCode::OK);
    // A configured secret is rotated in the config, not by the command.
    let configured = TestServer::start(a, &open_signup()).await;
    let err = configured.operator(&open_signup()).await.operator().rotate_signing_key().await.expect_err("refused");
    assert!(err.message().contains("previousJwtSecrets"), "{}", err.message());
}
