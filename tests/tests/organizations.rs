//! Organizations: invitations, members, roles — over real HTTP, against both adapters.

use std::time::Duration;

use auth_tests::{Adapter, COOKIE, PASSWORD, StatusCode, TestServer, both, json, session_token};
use serde_json::{Value, json};

both!(
    invite_accept_revoke_full_path,
    invitation_tokens_are_single_use_and_bound,
    invitation_expiry,
    concurrent_accepts_create_one_account,
    members_roles_and_last_admin,
    removed_member_loses_access_at_once,
    signed_in_user_with_invited_email_joins,
    invitation_domain_rule,
    pages_invite_and_accept,
    invitations_are_rate_limited_per_organization,
);

async fn invite(s: &TestServer, token: &str, org: &str, email: &str, role: &str) -> (StatusCode, Value) {
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": email, "role": role}),
            Some(token),
        )
        .await;
    (r.status(), json(r).await)
}

fn token_of(invitation: &Value) -> String {
    invitation["accept_url"].as_str().expect("accept_url").rsplit('/').next().expect("token").to_string()
}

async fn request(s: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut r =
        s.client().request(method.parse().expect("method"), s.url(path)).header("cookie", format!("{COOKIE}={token}"));
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.expect("request")
}

async fn invite_accept_revoke_full_path(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let (status, first) = invite(&s, &admin_token, &org, "Member@Example.com", "member").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["email"], "member@example.com");
    assert_eq!(first["role"], "member");
    assert!(first["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
    assert!(first["accept_url"].as_str().expect("url").starts_with(&format!("{}/invitations/", s.base)));
    let (_, second) = invite(&s, &admin_token, &org, "other@example.com", "admin").await;

    let pending = json(s.get(&format!("/api/v1/auth/organizations/{org}/invitations"), Some(&admin_token)).await).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(2));
    assert!(pending.to_string().find("accept_url").is_none(), "tokens are shown once, at creation");

    let t1 = token_of(&first);
    let r = s.get(&format!("/api/v1/auth/invitations/{t1}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let info = json(r).await;
    assert_eq!(info["organization"]["name"], "Acme");
    assert_eq!(info["email"], "member@example.com");

    let r = s
        .post(&format!("/api/v1/auth/invitations/{t1}/accept"), json!({"name": "Mia", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let member_token = session_token(&r).expect("session");
    let body = json(r).await;
    assert_eq!(body["user"]["email"], "member@example.com");
    assert_eq!(body["organizations"][0]["id"], org.as_str());
    assert_eq!(body["organizations"][0]["role"], "member");
    assert_eq!(json(s.get("/api/hello", Some(&member_token)).await).await["hello"], "member@example.com");
    assert_eq!(json(s.get(&format!("/api/orgs/{org}/role"), Some(&member_token)).await).await["role"], "member");
    s.login("member@example.com", PASSWORD).await;

    let id = second["id"].as_str().expect("id");
    let r =
        request(&s, "DELETE", &format!("/api/v1/auth/organizations/{org}/invitations/{id}"), &admin_token, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t2 = token_of(&second);
    assert_eq!(s.get(&format!("/api/v1/auth/invitations/{t2}"), None).await.status(), StatusCode::NOT_FOUND);
    let r = s
        .post(&format!("/api/v1/auth/invitations/{t2}/accept"), json!({"name": "O", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["error"], "not_found");
    let pending = json(s.get(&format!("/api/v1/auth/organizations/{org}/invitations"), Some(&admin_token)).await).await;
    assert_eq!(pending, json!([]));
}

async fn invitation_tokens_are_single_use_and_bound(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let (_, inv) = invite(&s, &admin_token, &org, "new@example.com", "member").await;
    let token = token_of(&inv);

    // Tampered and malformed tokens: 404, never 500.
    let mut tampered = token.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    for bad in [tampered.as_str(), "x", "%00", "..%2F..%2Fetc", &"A".repeat(5000), "' OR 1=1 --"] {
        let r = s.get(&format!("/api/v1/auth/invitations/{bad}"), None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        let r = s
            .post(&format!("/api/v1/auth/invitations/{bad}/accept"), json!({"name": "N", "password": PASSWORD}), None)
            .await;
        assert!(r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::BAD_REQUEST, "{bad}: {}", r.status());
    }

    // Re-inviting replaces the old token.
    let (_, again) = invite(&s, &admin_token, &org, "new@example.com", "admin").await;
    assert_eq!(s.get(&format!("/api/v1/auth/invitations/{token}"), None).await.status(), StatusCode::NOT_FOUND);
    let token = token_of(&again);

    // A signed-in user with another email is refused.
    let r = s.post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({}), Some(&admin_token)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Weak password: refused without using the invitation up.
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "N", "password": "password"}), None)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "N", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(json(r).await["organizations"][0]["role"], "admin");
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "N", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "single use");

    // Already a member: a new invitation is a conflict.
    let (status, _) = invite(&s, &admin_token, &org, "new@example.com", "member").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = invite(&s, &admin_token, &org, "not-an-email", "member").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, _) = invite(&s, &admin_token, &org, "x@example.com", "owner").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn invitation_expiry(a: Adapter) {
    let s = TestServer::start(a, "invitations:\n  expiresIn: 1s").await;
    let (admin_token, org) = s.first_admin().await;
    let (_, inv) = invite(&s, &admin_token, &org, "late@example.com", "member").await;
    let token = token_of(&inv);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.get(&format!("/api/v1/auth/invitations/{token}"), None).await.status(), StatusCode::NOT_FOUND);
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "L", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn concurrent_accepts_create_one_account(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let (_, inv) = invite(&s, &admin_token, &org, "race@example.com", "member").await;
    let url = s.url(&format!("/api/v1/auth/invitations/{}/accept", token_of(&inv)));
    let attempts = (0..50).map(|i| {
        let (url, client) = (url.clone(), s.client());
        async move {
            let body = json!({"name": format!("R{i}"), "password": PASSWORD});
            client.post(url).json(&body).send().await.expect("request").status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || s.is_client_error()), "{statuses:?}");
    let members = json(s.get(&format!("/api/v1/auth/organizations/{org}/members"), Some(&admin_token)).await).await;
    assert_eq!(members.as_array().map(Vec::len), Some(2));
}

async fn members_roles_and_last_admin(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let (_, inv) = invite(&s, &admin_token, &org, "m@example.com", "member").await;
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{}/accept", token_of(&inv)),
            json!({"name": "M", "password": PASSWORD}),
            None,
        )
        .await;
    let member_token = session_token(&r).expect("session");
    let members = json(s.get(&format!("/api/v1/auth/organizations/{org}/members"), Some(&member_token)).await).await;
    let list = members.as_array().expect("list");
    assert_eq!(list.len(), 2);
    let admin_id = list.iter().find(|m| m["email"] == "admin@example.com").expect("admin")["user_id"]
        .as_str()
        .expect("id")
        .to_string();
    let member_id = list.iter().find(|m| m["email"] == "m@example.com").expect("member")["user_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(list.iter().find(|m| m["email"] == "m@example.com").expect("m")["name"], "M");

    // A member may read but not change.
    let path = format!("/api/v1/auth/organizations/{org}/members/{admin_id}");
    let r = request(&s, "PATCH", &path, &member_token, Some(json!({"role": "member"}))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "forbidden");
    assert_eq!(request(&s, "DELETE", &path, &member_token, None).await.status(), StatusCode::FORBIDDEN);
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "x@example.com"}),
            Some(&member_token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get(&format!("/api/orgs/{org}/admin"), Some(&member_token)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get(&format!("/api/orgs/{org}/admin"), Some(&admin_token)).await.status(), StatusCode::OK);

    // The last admin can be neither demoted nor removed.
    let r = request(&s, "PATCH", &path, &admin_token, Some(json!({"role": "member"}))).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(request(&s, "DELETE", &path, &admin_token, None).await.status(), StatusCode::CONFLICT);

    // Promote the member; now the first admin may step down, and the new admin sees it at once.
    let mpath = format!("/api/v1/auth/organizations/{org}/members/{member_id}");
    let r = request(&s, "PATCH", &mpath, &admin_token, Some(json!({"role": "admin"}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["role"], "admin");
    assert_eq!(s.get(&format!("/api/orgs/{org}/admin"), Some(&member_token)).await.status(), StatusCode::OK);
    let r = request(&s, "PATCH", &path, &admin_token, Some(json!({"role": "member"}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(s.get(&format!("/api/orgs/{org}/admin"), Some(&admin_token)).await.status(), StatusCode::FORBIDDEN);
    let r = request(&s, "PATCH", &mpath, &member_token, Some(json!({"role": "superuser"}))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Strangers to the organization learn nothing.
    let r = s.get("/api/v1/auth/organizations/00000000-0000-0000-0000-000000000000/members", Some(&admin_token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/orgs/nope/role", Some(&admin_token)).await.status(), StatusCode::NOT_FOUND);
    let r = request(
        &s,
        "PATCH",
        &format!("/api/v1/auth/organizations/{org}/members/nobody"),
        &member_token,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn removed_member_loses_access_at_once(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let (_, inv) = invite(&s, &admin_token, &org, "gone@example.com", "member").await;
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{}/accept", token_of(&inv)),
            json!({"name": "G", "password": PASSWORD}),
            None,
        )
        .await;
    let member_token = session_token(&r).expect("session");
    let member_id = json(r).await["user"]["id"].as_str().expect("id").to_string();
    assert_eq!(s.get(&format!("/api/orgs/{org}/role"), Some(&member_token)).await.status(), StatusCode::OK);
    let r = request(&s, "DELETE", &format!("/api/v1/auth/organizations/{org}/members/{member_id}"), &admin_token, None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("/api/orgs/{org}/role"), Some(&member_token)).await.status(), StatusCode::NOT_FOUND);
    let r = s.get(&format!("/api/v1/auth/organizations/{org}/members"), Some(&member_token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let me = json(s.get("/api/v1/auth/me", Some(&member_token)).await).await;
    assert_eq!(me["organizations"], json!([]));
}

async fn signed_in_user_with_invited_email_joins(a: Adapter) {
    let s = TestServer::start(a, "basicAuth:\n  signup: open\n  jwtSecret: \"0123456789abcdef0123456789abcdef\"").await;
    let (admin_token, org) = s.first_admin().await;
    let other = s.signup("solo@example.com").await;
    let (_, inv) = invite(&s, &admin_token, &org, "solo@example.com", "member").await;
    let token = token_of(&inv);
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "x", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "an existing account signs in first");
    let r = s.post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({}), Some(&other)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let orgs = json(r).await["organizations"].clone();
    assert_eq!(orgs.as_array().map(Vec::len), Some(2), "{orgs}");
}

async fn invitation_domain_rule(a: Adapter) {
    let s = TestServer::start(
        a,
        "basicAuth:\n  validEmailDomain: example.com\n  jwtSecret: \"0123456789abcdef0123456789abcdef\"",
    )
    .await;
    let (admin_token, org) = s.first_admin().await;
    for bad in ["x@evil.com", "x@example.com.evil.com", "x@evil.com@example.com"] {
        let (status, body) = invite(&s, &admin_token, &org, bad, "member").await;
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST, "{bad}: {status} {body}");
    }
    let (status, _) = invite(&s, &admin_token, &org, "ok@EXAMPLE.com", "member").await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn pages_invite_and_accept(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin_token, org) = s.first_admin().await;
    let page = s.get("/settings/organization", Some(&admin_token)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("admin@example.com") && html.contains("Invite"), "{html}");
    let r = s
        .client()
        .post(s.url(&format!("/settings/organization?org={org}")))
        .header("cookie", format!("{COOKIE}={admin_token}"))
        .header("origin", s.base.clone())
        .form(&[("action", "invite"), ("email", "page@example.com"), ("role", "member")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    let start = html.find(&format!("{}/invitations/", s.base)).expect("the accept link is shown once");
    let link: String = html[start..].chars().take_while(|c| !matches!(c, '<' | '"')).collect();
    let path = link.strip_prefix(&s.base).expect("same origin").to_string();

    let page = s.get(&path, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    // The token-bearing URL never reaches another origin in a Referer.
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert!(page.text().await.expect("html").contains("page@example.com"));
    let r = s.client().post(s.url(&path)).form(&[("name", "Page"), ("password", PASSWORD)]).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = session_token(&r).expect("signed in");
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await["hello"], "page@example.com");
    assert_eq!(s.get(&path, None).await.status(), StatusCode::NOT_FOUND, "used up");
    let cross = s
        .client()
        .post(s.url(&path))
        .header("origin", "http://evil.example")
        .form(&[("name", "x")])
        .send()
        .await
        .expect("req");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
}

async fn invitations_are_rate_limited_per_organization(a: Adapter) {
    let s = TestServer::start(a, "invitations:\n  maxPerHour: 3\n").await;
    let (token, org) = s.first_admin().await;
    for i in 0..3 {
        let (status, _) = invite(&s, &token, &org, &format!("u{i}@example.com"), "member").await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "u9@example.com", "role": "member"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(retry > 3000, "the rest of the hour: {retry}");
    assert_eq!(json(r).await["error"], "rate_limited");
    // Invalid requests do not use up the window; another organization has its own.
    let (status, _) = invite(&s, &token, &org, "not-an-email", "member").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
