//! What the adapters must not decide, decided by the core on both: the extractors' rejection
//! bodies, the role check, and the body policy (cap, broken streams).

use std::io::{Read, Write};
use std::time::Duration;

use auth_tests::{Adapter, StatusCode, TestServer, both, json};

both!(extractor_rejections_are_the_core_error_body, body_policy_is_the_core_s);

async fn extractor_rejections_are_the_core_error_body(a: Adapter) {
    // On a public path the guard lets anonymous requests through; `CurrentUser` then refuses.
    let s = TestServer::start(a, "publicPaths: [\"/api/hello\", \"/api/orgs/*\"]").await;
    let r = s.get("/api/hello", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.expect("body"), r#"{"error":"unauthenticated","message":"sign-in required"}"#);
    let r = s.get("/api/orgs/some-org/role", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["error"], "unauthenticated");
    // Signed in, but not a member: the core's 404, the same body on both adapters.
    let (token, org) = s.first_admin().await;
    let r = s.get("/api/orgs/not-mine/role", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.text().await.expect("body"), r#"{"error":"not_found","message":"no such organization"}"#);
    let r = s.get(&format!("/api/orgs/{org}/admin"), Some(&token)).await;
    assert_eq!(json(r).await["admin"], "admin@example.com");
}

/// Sends `head` and then `body` over a raw connection, closes the writing half, and returns the
/// status line of the answer.
fn raw_exchange(base: &str, head: &str, body: &[u8]) -> String {
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    conn.write_all(head.as_bytes()).expect("head");
    conn.write_all(body).expect("body");
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = conn.take(64 * 1024).read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
}

async fn body_policy_is_the_core_s(a: Adapter) {
    let s = TestServer::start(a, "maxBodyBytes: 4096").await;
    // Announced too large: 413 before a byte of the body is read.
    let r = s
        .client()
        .post(s.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 5000])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(r).await["error"], "payload_too_large");
    // A body that breaks off before its announced length is refused, never read as a shorter
    // (here: empty or partial) body.
    let base = s.base.clone();
    let status = tokio::task::spawn_blocking(move || {
        let head = "POST /api/v1/auth/invitations/x/accept HTTP/1.1\r\nhost: 127.0.0.1\r\n\
                    content-type: application/json\r\ncontent-length: 100\r\n\r\n";
        raw_exchange(&base, head, b"{\"name\":")
    })
    .await
    .expect("join");
    assert_eq!(status, "HTTP/1.1 400 Bad Request", "a truncated body is refused, not handled");
}

/// `CurrentUser` in an app that forgot the layer: 500 `misconfigured`, saying what to install.
async fn assert_misconfigured(base: &str) {
    let r = reqwest::get(format!("{base}/")).await.expect("req");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v = json(r).await;
    assert_eq!(v["error"], "misconfigured");
    assert!(v["message"].as_str().is_some_and(|m| m.contains("AuthLayer") && m.contains("AuthMiddleware")), "{v}");
}

#[tokio::test]
async fn axum_without_the_layer_says_so() {
    use axum::routing::get;
    let app = axum::Router::new().route("/", get(|u: auth_tower::CurrentUser| async move { u.email.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    assert_misconfigured(&base).await;
    server.abort();
}

#[tokio::test]
async fn actix_without_the_middleware_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(|| {
                actix_web::App::new()
                    .route("/", actix_web::web::get().to(|u: auth_actix::CurrentUser| async move { u.email.clone() }))
            })
            .workers(1)
            .listen(listener)
            .expect("listen")
            .run();
            let _ = tx.send(server.handle());
            let _ = server.await;
        });
    });
    let handle = rx.await.expect("started");
    assert_misconfigured(&base).await;
    drop(handle.stop(false));
}
