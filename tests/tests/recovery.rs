//! Forgot password, reset links (mailed, and made by an admin) and email verification, over
//! real HTTP with the real SMTP sink, on both adapters.

use std::time::Duration;

use auth_tests::smtp::{Sink, smtp_yaml, start_sink};
use auth_tests::{Adapter, PASSWORD, StatusCode, TestServer, both, json};
use serde_json::{Value, json};

both!(
    forgot_password_mails_a_single_use_link_that_ends_sessions,
    known_and_unknown_addresses_get_the_same_answer,
    reset_links_expire,
    admins_make_reset_links_without_mail,
    email_verification_is_single_use,
    reset_pages_work_without_javascript,
);

const NEW_PASSWORD: &str = "a brand new passphrase for carol";

/// The token of the first link to `page` in the mails addressed to `to`.
async fn token_for(sink: &Sink, s: &TestServer, to: &str, page: &str) -> String {
    sink.token_for(&s.base, to, page).await
}

async fn forgot(s: &TestServer, email: &str) -> (StatusCode, String) {
    let r = s.post("/api/v1/auth/password/forgot", json!({"email": email}), None).await;
    (r.status(), r.text().await.expect("body"))
}

async fn verify(s: &TestServer, token: &str) -> StatusCode {
    s.post("/api/v1/auth/email/verify", json!({"token": token}), None).await.status()
}

async fn reset(s: &TestServer, token: &str, password: &str) -> reqwest::Response {
    s.post("/api/v1/auth/password/reset", json!({"token": token, "new_password": password}), None).await
}

async fn forgot_password_mails_a_single_use_link_that_ends_sessions(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &smtp_yaml(sink.port)).await;
    let (admin, _) = s.first_admin().await;
    let other = s.login("admin@example.com", PASSWORD).await;
    assert_eq!(forgot(&s, "admin@example.com").await, (StatusCode::ACCEPTED, "{}".into()));
    let token = token_for(&sink, &s, "admin@example.com", "/reset-password").await;
    // A refused password does not use the link up.
    let r = reset(&s, &token, "short").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["message"].as_str().is_some_and(|m| m.starts_with("new_password")));
    assert_eq!(reset(&s, &token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    // Every session ended; the new password works, the old one does not.
    for t in [&admin, &other] {
        assert_eq!(s.get("/api/hello", Some(t)).await.status(), StatusCode::UNAUTHORIZED);
    }
    s.login("admin@example.com", NEW_PASSWORD).await;
    let r = s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Single use, also when the link is replayed.
    let r = reset(&s, &token, "yet another fine passphrase").await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(json(r).await["error"], "gone");
    // A newer link replaces the older one.
    forgot(&s, "admin@example.com").await;
    let first = token_for(&sink, &s, "admin@example.com", "/reset-password").await;
    assert_eq!(first, token, "the first reset mail is still the first");
    let r = reset(&s, "not-a-token", NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::GONE);
}

async fn known_and_unknown_addresses_get_the_same_answer(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &smtp_yaml(sink.port)).await;
    s.first_admin().await;
    let before = sink.mail(1).await; // the signup's verification mail
    assert!(before.contains("verify-email"));
    let known = forgot(&s, "admin@example.com").await;
    let unknown = forgot(&s, "nobody@example.com").await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, StatusCode::ACCEPTED);
    sink.mail(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.count(), 2, "no mail for an unknown address");
    // Rate limited per address: the sixth request within the hour is refused, for any address.
    for _ in 0..4 {
        forgot(&s, "nobody@example.com").await;
    }
    let (status, body) = forgot(&s, "nobody@example.com").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

async fn reset_links_expire(a: Adapter) {
    let s = TestServer::start(a, "basicAuth:\n  jwtSecret: \"test-secret-test-secret-test-secret-0123456789\"\n  passwordReset:\n    expiresIn: 5s\n").await;
    let (admin, org) = s.first_admin().await;
    let me = json(s.get("/api/v1/auth/me", Some(&admin)).await).await;
    let id = me["user"]["id"].as_str().expect("id").to_string();
    let r =
        s.post(&format!("/api/v1/auth/organizations/{org}/members/{id}/password-reset"), json!({}), Some(&admin)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r).await["reset_url"].as_str().expect("url").to_string();
    let token = url.rsplit("token=").next().expect("token").to_string();
    tokio::time::sleep(Duration::from_millis(6000)).await;
    assert_eq!(reset(&s, &token, NEW_PASSWORD).await.status(), StatusCode::GONE);
}

async fn admins_make_reset_links_without_mail(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin, org) = s.first_admin().await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "bob@example.com"}),
            Some(&admin),
        )
        .await;
    let inv: Value = json(r).await;
    let inv_token = inv["accept_url"].as_str().expect("url").rsplit('/').next().expect("token").to_string();
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{inv_token}/accept"),
            json!({"name": "Bob", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bob = auth_tests::session_token(&r).expect("session");
    let bob_id = json(s.get("/api/v1/auth/me", Some(&bob)).await).await["user"]["id"].as_str().expect("id").to_string();
    // A member may not make links; an admin may.
    let path = format!("/api/v1/auth/organizations/{org}/members/{bob_id}/password-reset");
    assert_eq!(s.post(&path, json!({}), Some(&bob)).await.status(), StatusCode::FORBIDDEN);
    let r = s.post(&path, json!({}), Some(&admin)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r).await["reset_url"].as_str().expect("url").to_string();
    assert!(url.starts_with(&format!("{}/reset-password?token=", s.base)), "{url}");
    let token = url.rsplit("token=").next().expect("token").to_string();
    assert_eq!(reset(&s, &token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::UNAUTHORIZED, "bob's session ended");
    s.login("bob@example.com", NEW_PASSWORD).await;
    // Without mail, forgot-password says whom to ask.
    let html = s.get("/forgot-password", None).await.text().await.expect("html");
    assert!(html.contains("ask an administrator"), "{html}");
}

async fn email_verification_is_single_use(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &smtp_yaml(sink.port)).await;
    let (admin, _) = s.first_admin().await;
    assert_eq!(json(s.get("/api/v1/auth/me", Some(&admin)).await).await["user"]["email_verified"], false);
    let token = token_for(&sink, &s, "admin@example.com", "/verify-email").await;
    assert_eq!(verify(&s, &token).await, StatusCode::NO_CONTENT);
    assert_eq!(json(s.get("/api/v1/auth/me", Some(&admin)).await).await["user"]["email_verified"], true);
    assert_eq!(verify(&s, &token).await, StatusCode::GONE, "single use");
    // A reset token is not a verification token.
    forgot(&s, "admin@example.com").await;
    let reset_token = token_for(&sink, &s, "admin@example.com", "/reset-password").await;
    assert_eq!(verify(&s, &reset_token).await, StatusCode::GONE, "bound to its purpose");
}

async fn reset_pages_work_without_javascript(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &smtp_yaml(sink.port)).await;
    s.first_admin().await;
    let html = s.get("/login", None).await.text().await.expect("html");
    assert!(html.contains("href=\"/forgot-password\""), "login offers it");
    let r =
        s.client().post(s.url("/forgot-password")).form(&[("email", "admin@example.com")]).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("html").contains("If an account exists for that address"));
    let token = token_for(&sink, &s, "admin@example.com", "/reset-password").await;
    // GET shows the form and uses nothing; POST resets.
    let page = s.get(&format!("/reset-password?token={token}"), None).await;
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("name=\"token\" value=\"{token}\"")) && html.contains("New password"), "{html}");
    let form = [("token", token.as_str()), ("new_password", NEW_PASSWORD)];
    let post = || s.client().post(s.url("/reset-password")).form(&form).send();
    let r = post().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?notice=password-reset");
    assert_eq!(post().await.expect("req").status(), StatusCode::GONE, "the page's form is single use too");
}
