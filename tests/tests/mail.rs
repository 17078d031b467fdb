//! Invitation mail against a real SMTP server (aiosmtpd) on loopback, on both adapters.

use auth_tests::smtp::{smtp_yaml, start_sink};
use auth_tests::{Adapter, PASSWORD, StatusCode, TestServer, both, free_port, json};
use serde_json::json;

both!(invitation_is_mailed, smtp_down_keeps_the_invitation);

async fn invitation_is_mailed(a: Adapter) {
    let sink = start_sink();
    let s = TestServer::start(a, &smtp_yaml(sink.port)).await;
    let (token, org) = s.first_admin().await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "new@example.com", "role": "member"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inv = json(r).await;
    assert_eq!(inv["delivery"], "sent");
    let url = inv["accept_url"].as_str().expect("url").to_string();

    // The first admin's verification mail comes too; find the invitation.
    let mut mail = String::new();
    for n in 1..=3 {
        mail = sink.mail(n).await;
        if mail.contains("X-Rcpt-To: new@example.com") {
            break;
        }
    }
    assert!(mail.contains("X-Rcpt-To: new@example.com"), "{mail}");
    assert!(mail.contains("Acme"), "{mail}");
    // The link in the mail is the one that works (quoted-printable soft breaks removed).
    assert!(mail.contains(&url), "{mail}");
    let token = url.rsplit('/').next().expect("token");
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "New", "password": PASSWORD}), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn smtp_down_keeps_the_invitation(a: Adapter) {
    let s = TestServer::start(a, &smtp_yaml(free_port())).await;
    let (token, org) = s.first_admin().await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "new@example.com"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inv = json(r).await;
    assert_eq!(inv["delivery"], "failed");
    let invitation = inv["accept_url"].as_str().expect("url").rsplit('/').next().expect("token").to_string();
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{invitation}/accept"),
            json!({"name": "New", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "the invitation survives a mail failure");
}
