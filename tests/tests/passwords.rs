//! Password screening over real HTTP, on both adapters: breached passwords (the compiled-in list
//! of `auth-core/data/breached-passwords.txt`) and weak ones (the zxcvbn estimate against
//! `basicAuth.minPasswordScore`) are refused at signup, invitation and password change with 400
//! `invalid_request` naming the field, before anything is stored; the pages show the message
//! next to the field.

use auth_tests::{Adapter, COOKIE, PASSWORD, StatusCode, TestServer, both, json};
use serde_json::{Value, json};

both!(
    breached_passwords_are_refused_at_signup,
    breached_passwords_are_refused_at_password_change,
    weak_passwords_are_refused_with_the_strength_message,
    breached_and_weak_passwords_are_refused_when_accepting_an_invitation,
    min_password_score_is_configurable,
    pages_show_the_message_next_to_the_field,
);

const BREACHED: &str = "appears in lists of breached passwords; choose another";

/// From the top of the breach ranking and from deep in it (ranks ~100,000 and ~300,000), in
/// several spellings: the list is compared case-insensitively.
const BREACHED_PASSWORDS: &[&str] = &["password", "Qwerty123", "iloveyou", "BASEBALL1", "07111967", "jammer12"];

async fn signup(s: &TestServer, email: &str, password: &str) -> (StatusCode, Value) {
    let r = s
        .post("/api/v1/auth/signup", json!({"email": email, "password": password, "organization": "Acme"}), None)
        .await;
    (r.status(), json(r).await)
}

async fn change(s: &TestServer, token: &str, new: &str) -> (StatusCode, String) {
    let body = json!({"current_password": PASSWORD, "new_password": new});
    let r = s.post("/api/v1/auth/me/password", body, Some(token)).await;
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, text)
}

async fn breached_passwords_are_refused_at_signup(a: Adapter) {
    let s = TestServer::start(a, "").await;
    for p in BREACHED_PASSWORDS {
        let (status, body) = signup(&s, "admin@example.com", p).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}: {body}");
        assert_eq!(body["error"], "invalid_request", "{p}");
        assert_eq!(body["message"], format!("password: {BREACHED}"), "{p}");
    }
    // Shorter top passwords (123456, qwerty) fall to the length rule.
    let (status, body) = signup(&s, "admin@example.com", "123456").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "password: must be at least 8 characters");
    // Nothing was created: the first admin can still be set up, with a strong passphrase.
    s.first_admin().await;
}

async fn breached_passwords_are_refused_at_password_change(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let token = s.signup("admin@example.com").await;
    for p in BREACHED_PASSWORDS {
        let (status, text) = change(&s, &token, p).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}: {text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["message"], format!("new_password: {BREACHED}"), "{p}");
    }
    // The password is unchanged and the session still works.
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    s.login("admin@example.com", PASSWORD).await;
    let (status, text) = change(&s, &token, "a brand new passphrase 4711").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    s.login("admin@example.com", "a brand new passphrase 4711").await;
}

async fn weak_passwords_are_refused_with_the_strength_message(a: Adapter) {
    let s = TestServer::start(a, "").await;
    // In no list, but zxcvbn scores them below the default minimum of 3.
    let (status, body) = signup(&s, "admin@example.com", "summer2031").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("password: is too easy to guess: this is similar to a commonly used password."),
        "zxcvbn's warning: {message}"
    );
    let (status, body) = signup(&s, "admin@example.com", "xkcd936!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("password: is too easy to guess: add another word or two"), "{message}");
    // The email address and name are guessable words: strong alone, weak for this user.
    let (status, body) = signup(&s, "zebulon@quixote.example", "zebulonquixote").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.starts_with("password: is too easy to guess")), "{body}");
    let (status, body) = signup(&s, "admin@example.com", "admin@example.com").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password: must not be your email address or name"))
    );
    // The test suite's passphrases pass.
    let token = s.signup("admin@example.com").await;
    let (status, text) = change(&s, &token, "xkcd936!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("new_password: is too easy to guess"), "{text}");
}

async fn breached_and_weak_passwords_are_refused_when_accepting_an_invitation(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (admin, org) = s.first_admin().await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "mia@example.com", "role": "member"}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r).await["accept_url"].as_str().expect("accept_url").to_string();
    let token = url.rsplit('/').next().expect("token").to_string();
    let accept = format!("/api/v1/auth/invitations/{token}/accept");
    for (password, want) in [("iloveyou1", BREACHED), ("summer2031", "is too easy to guess: ")] {
        let r = s.post(&accept, json!({"name": "Mia", "password": password}), None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{password}");
        let body = json(r).await;
        assert!(body["message"].as_str().is_some_and(|m| m.starts_with(&format!("password: {want}"))), "{body}");
    }
    // The invitation is not used up.
    let r = s.post(&accept, json!({"name": "Mia", "password": PASSWORD}), None).await;
    assert!(r.status().is_success(), "{}", r.status());
}

async fn min_password_score_is_configurable(a: Adapter) {
    // 0: no strength estimate, but the list and the length still apply.
    let s = TestServer::start(a, "basicAuth:\n  minPasswordScore: 0\n").await;
    let (status, body) = signup(&s, "admin@example.com", "password1").await;
    assert_eq!((status, body["message"].as_str()), (StatusCode::BAD_REQUEST, Some(&*format!("password: {BREACHED}"))));
    let (status, body) = signup(&s, "admin@example.com", "xkcd936!").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // 4: a password zxcvbn scores 3 is refused.
    let s = TestServer::start(a, "basicAuth:\n  minPasswordScore: 4\n").await;
    let (status, body) = signup(&s, "admin@example.com", "パスワードは長いです").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.starts_with("password: is too easy to guess")), "{body}");
    s.first_admin().await;
}

async fn pages_show_the_message_next_to_the_field(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let post = |form: Vec<(&'static str, String)>| {
        let s = &s;
        async move { s.client().post(s.url("/signup")).form(&form).send().await.expect("req") }
    };
    let form = |password: &str| {
        vec![
            ("name", "Ada".to_string()),
            ("organization", "Acme".to_string()),
            ("email", "ada@example.com".to_string()),
            ("password", password.to_string()),
        ]
    };
    let r = post(form("Password123")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("html");
    assert!(
        html.contains("id=\"password-error\">Password appears in lists of breached passwords; choose another.</p>"),
        "{html}"
    );
    assert!(!html.contains("Password123"), "a password is never sent back");
    let r = post(form("summer2031")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("html");
    assert!(
        html.contains(
            "id=\"password-error\">Password is too easy to guess: this is similar to a commonly used password."
        ),
        "{html}"
    );
    // And on the settings page, next to "New password".
    let token = s.signup("admin@example.com").await;
    let r = s
        .client()
        .post(s.url("/settings/personal"))
        .header("cookie", format!("{COOKIE}={token}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "password"), ("current_password", PASSWORD), ("new_password", "iloveyou2")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("html");
    assert!(
        html.contains(
            "id=\"new_password-error\">New password appears in lists of breached passwords; choose another.</p>"
        ),
        "{html}"
    );
}
