//! Invitation mail against a real SMTP server (aiosmtpd) on loopback, on both adapters.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_tests::{Adapter, PASSWORD, StatusCode, TestServer, both, json};
use serde_json::json;

both!(invitation_is_mailed, smtp_down_keeps_the_invitation);

/// The SMTP sink, stopped by its own pid when dropped.
struct Sink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start_sink() -> Sink {
    let port = free_port();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("auth-smtp-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp_sink.py");
    let mut child = Command::new("python3")
        .args([script, "--port", &port.to_string(), "--dir"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 with aiosmtpd (pip install -r tests/support/requirements.txt)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("sink output");
    assert_eq!(line.trim(), "ready", "the SMTP sink did not start (is aiosmtpd installed?)");
    Sink { child, port, dir }
}

fn smtp_yaml(port: u16) -> String {
    format!(
        "smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  from: \"Acme <noreply@example.com>\"\n  timeout: 5s\n"
    )
}

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

    let mail_path = sink.dir.join("1.eml");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !mail_path.exists() {
        assert!(Instant::now() < deadline, "no mail reached the SMTP sink");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = std::fs::read_to_string(&mail_path).expect("mail");
    assert!(mail.contains("X-Rcpt-To: new@example.com"), "{mail}");
    assert!(mail.contains("Acme"), "{mail}");
    // The link in the mail is the one that works (quoted-printable may wrap long lines).
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
    assert!(unfolded.contains(&url), "{mail}");
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
