//! `basicAuth.requireVerifiedEmail`: a password account gets a session only once its address is
//! verified, over real HTTP with the real SMTP sink, on both adapters.

use auth_core::AuthConfig;
use auth_core::config::LoadOptions;
use auth_tests::smtp::{link, smtp_yaml, start_sink};
use auth_tests::{Adapter, PASSWORD, SECRET, StatusCode, TestServer, both, json, session_token};
use serde_json::json;

both!(
    unverified_accounts_get_no_session,
    accepting_an_invitation_verifies_the_address,
    the_signup_page_says_check_your_inbox
);

fn yaml(smtp_port: u16) -> String {
    format!(
        "{}\nbasicAuth:\n  requireVerifiedEmail: true\n  signup: open\n  jwtSecret: \"{SECRET}\"\n",
        smtp_yaml(smtp_port)
    )
}

async fn login(s: &TestServer, email: &str, password: &str) -> reqwest::Response {
    s.post("/api/v1/auth/login", json!({"email": email, "password": password}), None).await
}

async fn unverified_accounts_get_no_session(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &yaml(sink.port)).await;
    let r = s.post("/api/v1/auth/signup", json!({"email": "boss@example.com", "password": PASSWORD}), None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(session_token(&r).is_none(), "no session before the address is verified");
    let body = json(r).await;
    assert_eq!(body["user"]["email"], "boss@example.com");
    // Signing in is refused, after the password is checked, and a fresh link is mailed.
    let r = login(&s, "boss@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(session_token(&r).is_none());
    let body = json(r).await;
    assert_eq!(body["error"], "email_not_verified", "{body}");
    let r = login(&s, "boss@example.com", "not the password at all").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong password learns nothing");
    // Two links went out (at signup, at the refused sign-in); the newer one replaced the first.
    let prefix = format!("{}/verify-email?token=", s.base);
    let first = link(&sink.mail(1).await, &prefix);
    let second = link(&sink.mail(2).await, &prefix);
    let verify = |url: String| {
        let token = url.rsplit("token=").next().expect("token").to_string();
        s.post("/api/v1/auth/email/verify", json!({"token": token}), None)
    };
    assert_eq!(verify(first).await.status(), StatusCode::GONE);
    assert_eq!(verify(second).await.status(), StatusCode::NO_CONTENT);
    let r = login(&s, "boss@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = session_token(&r).expect("a session once verified");
    assert_eq!(s.get("/api/hello", Some(&session)).await.status(), StatusCode::OK);
    let me = json(s.get("/api/v1/auth/me", Some(&session)).await).await;
    assert_eq!(me["user"]["email_verified"], true);
}

async fn accepting_an_invitation_verifies_the_address(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &yaml(sink.port)).await;
    let r = s.post("/api/v1/auth/signup", json!({"email": "boss@example.com", "password": PASSWORD}), None).await;
    let org = json(r).await["organizations"][0]["id"].as_str().expect("org").to_string();
    let token = sink.token_for(&s.base, "boss@example.com", "/verify-email").await;
    s.post("/api/v1/auth/email/verify", json!({"token": token}), None).await;
    let boss = session_token(&login(&s, "boss@example.com", PASSWORD).await).expect("session");
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "new@example.com"}),
            Some(&boss),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r).await["accept_url"].as_str().expect("url").to_string();
    let invitation = url.rsplit('/').next().expect("token");
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{invitation}/accept"),
            json!({"name": "New", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let session = session_token(&r).expect("the invitation was bound to the address: a session");
    let me = json(s.get("/api/v1/auth/me", Some(&session)).await).await;
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(login(&s, "new@example.com", PASSWORD).await.status(), StatusCode::OK);
}

async fn the_signup_page_says_check_your_inbox(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &yaml(sink.port)).await;
    let r = s
        .client()
        .post(s.url("/signup"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "boss@example.com"), ("password", PASSWORD), ("name", "Boss")])
        .send()
        .await
        .expect("signup form");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap_or("").starts_with("auth_session=")));
    let html = r.text().await.expect("html");
    assert!(html.contains("Check your inbox") && html.contains("boss@example.com"), "{html}");
    sink.token_for(&s.base, "boss@example.com", "/verify-email").await;
}

#[test]
fn it_needs_smtp() {
    let yaml = format!("basicAuth:\n  requireVerifiedEmail: true\n  jwtSecret: \"{SECRET}\"\n");
    let err = AuthConfig::from_yaml_with(&yaml, |_| None, &LoadOptions::default()).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("basicAuth.requireVerifiedEmail") && text.contains("smtp"), "{text}");
}
