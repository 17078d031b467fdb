//! Faults: the store going away (fail closed, nothing lost, recovery by itself), both adapters.

use std::sync::Arc;

use auth_tests::faulty::Switch;
use auth_tests::{Adapter, PASSWORD, StatusCode, TestServer, both, json};
use serde_json::json;

both!(store_down_fails_closed_and_recovers);

async fn store_down_fails_closed_and_recovers(a: Adapter) {
    let switch = Arc::new(Switch::default());
    // revalidateAfter 0: every request asks the store, so its absence shows at once.
    let s = TestServer::start_faulty(a, "session:\n  revalidateAfter: 0", Arc::clone(&switch)).await;
    let token = s.signup("admin@example.com").await;
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);

    switch.down();
    let r = s.get("/api/hello", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "protected requests fail closed");
    assert_eq!(json(r).await["error"], "unavailable");
    assert_eq!(s.get("/api/v1/auth/me", Some(&token)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Login attempts while the store is down: 503, never counted as failures.
    for _ in 0..8 {
        let r = s.post("/api/v1/auth/login", json!({"email": "admin@example.com", "password": PASSWORD}), None).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = r.text().await.expect("body");
        assert!(!body.contains("injected") && !body.contains("connection"), "no internals leak: {body}");
    }
    // Public routes keep working, with or without a session cookie.
    assert_eq!(s.get("/health", None).await.status(), StatusCode::OK);
    assert_eq!(s.get("/health", Some(&token)).await.status(), StatusCode::OK);

    switch.up();
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK, "recovers by itself");
    s.login("admin@example.com", PASSWORD).await;
}
