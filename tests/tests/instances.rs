//! Several instances, axum and actix-web mixed, on one PostgreSQL database: sessions work on
//! every instance, revocations reach the others at once (LISTEN/NOTIFY, well inside the
//! default `revalidateAfter` of 60 s), exactly-once rules hold across instances, throttle
//! failures add up, and a database that goes away and comes back is survived.

use std::time::{Duration, Instant};

use auth_tests::{Adapter, PASSWORD, StatusCode, TestServer, json, pg, session_token};
use serde_json::json;

/// The bound SPEC sets for a revocation to reach every other instance.
const AT_ONCE: Duration = Duration::from_secs(1);

/// A, B, C: axum, actix-web, axum (or the other way round), one database, one `publicUrl`.
async fn three(first: Adapter, yaml: &str, db: &str) -> [TestServer; 3] {
    let other = if first == Adapter::Axum { Adapter::Actix } else { Adapter::Axum };
    let a = TestServer::start_on(first, yaml, db).await;
    let b = TestServer::start_beside(other, yaml, &a).await;
    let c = TestServer::start_beside(first, yaml, &a).await;
    [a, b, c]
}

/// Waits (bounded) until `token` is refused on `s`; how long it took.
async fn refused_within(s: &TestServer, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = s.get("/api/hello", Some(token)).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{}", s.base);
        assert!(start.elapsed() < limit, "{} still accepts a revoked session after {limit:?}", s.base);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ok_everywhere(servers: &[&TestServer], token: &str) {
    for s in servers {
        assert_eq!(s.get("/api/hello", Some(token)).await.status(), StatusCode::OK, "{}", s.base);
    }
}

async fn revocation_reaches_every_instance(first: Adapter) {
    let [a, b, c] = three(first, "", &pg::fresh_db()).await;
    a.first_admin().await;
    let token = a.login("admin@example.com", PASSWORD).await;
    ok_everywhere(&[&a, &b, &c], &token).await;

    // Logout on B: refused on A and C within a second, though their caches are fresh.
    assert_eq!(b.post("/api/v1/auth/logout", json!({}), Some(&token)).await.status(), StatusCode::OK);
    for s in [&a, &c] {
        let took = refused_within(s, &token, AT_ONCE).await;
        eprintln!("logout on B reached {} in {took:?}", s.base);
    }

    // A password change on C ends the sessions living on A and B.
    let on_a = a.login("admin@example.com", PASSWORD).await;
    let on_b = b.login("admin@example.com", PASSWORD).await;
    let on_c = c.login("admin@example.com", PASSWORD).await;
    ok_everywhere(&[&a, &b, &c], &on_a).await;
    ok_everywhere(&[&a, &b, &c], &on_b).await;
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase 42"});
    let r = c.post("/api/v1/auth/me/password", body, Some(&on_c)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for (s, t) in [(&a, &on_a), (&b, &on_b), (&a, &on_b), (&b, &on_a)] {
        refused_within(s, t, AT_ONCE).await;
    }
}

async fn member_removal_reaches_every_instance(first: Adapter) {
    let [a, b, _c] = three(first, "", &pg::fresh_db()).await;
    let (admin, org) = a.first_admin().await;
    let r = a
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "m@example.com", "role": "member"}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r).await["accept_url"].as_str().expect("accept_url").to_string();
    let token = url.rsplit('/').next().expect("token").to_string();
    let r = b
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "M", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let member = session_token(&r).expect("session");
    let user_id =
        json(b.get("/api/v1/auth/me", Some(&member)).await).await["user"]["id"].as_str().expect("id").to_string();
    let members = format!("/api/v1/auth/organizations/{org}/members");
    assert_eq!(b.get(&members, Some(&member)).await.status(), StatusCode::OK);
    let r = a
        .client()
        .delete(a.url(&format!("{members}/{user_id}")))
        .header("cookie", format!("auth_session={admin}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let start = Instant::now();
    while b.get(&members, Some(&member)).await.status() == StatusCode::OK {
        assert!(start.elapsed() < AT_ONCE, "B still treats the removed user as a member");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Not a member any more: the organization is not revealed.
    assert_eq!(b.get(&members, Some(&member)).await.status(), StatusCode::NOT_FOUND);
}

async fn one_first_admin_across_instances(first: Adapter) {
    let servers = three(first, "", &pg::fresh_db()).await;
    let signups = (0..12).map(|i| {
        let s = &servers[i % 3];
        let body = json!({"email": format!("admin{i}@example.com"), "password": PASSWORD, "organization": "Acme"});
        async move { s.post("/api/v1/auth/signup", body, None).await.status() }
    });
    let statuses = futures_util::future::join_all(signups).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [StatusCode::CREATED, StatusCode::FORBIDDEN, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
}

async fn one_account_per_invitation_across_instances(first: Adapter) {
    let servers = three(first, "", &pg::fresh_db()).await;
    let (admin, org) = servers[0].first_admin().await;
    let r = servers[0]
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "new@example.com", "role": "member"}),
            Some(&admin),
        )
        .await;
    let url = json(r).await["accept_url"].as_str().expect("accept_url").to_string();
    let token = url.rsplit('/').next().expect("token").to_string();
    let accepts = (0..9).map(|i| {
        let (s, path) = (&servers[i % 3], format!("/api/v1/auth/invitations/{token}/accept"));
        async move { s.post(&path, json!({"name": format!("N{i}"), "password": PASSWORD}), None).await.status() }
    });
    let statuses = futures_util::future::join_all(accepts).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::NOT_FOUND), "{statuses:?}");
    let members = json(servers[1].get(&format!("/api/v1/auth/organizations/{org}/members"), Some(&admin)).await).await;
    assert_eq!(members.as_array().map(Vec::len), Some(2), "{members}");
}

async fn failures_on_three_instances_lock_all_three(first: Adapter) {
    let yaml = "loginThrottle:\n  maxFailuresPerAccount: 3\n  lockout: 60s";
    let servers = three(first, yaml, &pg::fresh_db()).await;
    servers[0].first_admin().await;
    for s in &servers {
        let r =
            s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": "wrong guess"}), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{}", s.base);
    }
    for s in &servers {
        let r = s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{}: the lock holds on every instance", s.base);
        let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
    }
}

async fn database_down_then_back(first: Adapter) {
    let cluster = pg::Cluster::start();
    let db = cluster.database();
    let yaml = "database:\n  acquireTimeout: 1s";
    let [a, b, _c] = three(first, yaml, &db).await;
    a.first_admin().await;
    let token = a.login("admin@example.com", PASSWORD).await;
    assert_eq!(a.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);

    cluster.stop();
    // The guard's hot path needs no store: a session A validated moments ago still works.
    assert_eq!(a.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    let start = Instant::now();
    let r = b.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "never \"wrong password\"");
    assert_eq!(json(r).await["error"], "unavailable");
    assert!(start.elapsed() < Duration::from_secs(5), "503 within the acquire timeout: {:?}", start.elapsed());
    // A session this instance has not validated yet cannot be let through.
    assert_eq!(b.get("/api/v1/auth/me", Some(&token)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A failure while down counts nothing: the password still works afterwards.
    let r = b.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": "wrong"}), None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    let fresh = loop {
        let r = b.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
        if r.status() == StatusCode::OK {
            break session_token(&r).expect("session");
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "the app did not recover when the database returned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The listeners reconnected by themselves: a logout on B reaches A at once again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probe = b.login("admin@example.com", PASSWORD).await;
        assert_eq!(a.get("/api/hello", Some(&probe)).await.status(), StatusCode::OK);
        assert_eq!(b.post("/api/v1/auth/logout", json!({}), Some(&probe)).await.status(), StatusCode::OK);
        tokio::time::sleep(AT_ONCE).await;
        if a.get("/api/hello", Some(&probe)).await.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "A's listener never came back");
    }
    assert_eq!(a.get("/api/hello", Some(&fresh)).await.status(), StatusCode::OK);
}

auth_tests::both!(
    revocation_reaches_every_instance,
    member_removal_reaches_every_instance,
    one_first_admin_across_instances,
    one_account_per_invitation_across_instances,
    failures_on_three_instances_lock_all_three,
    database_down_then_back,
);
