//! "Sessions you can see": list, end one, end all others; on both adapters.

use auth_tests::{Adapter, COOKIE, PASSWORD, StatusCode, TestServer, both, json, session_token};
use serde_json::{Value, json};

both!(sessions_are_listed_and_ended, sign_out_everywhere_else);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn login_as(s: &TestServer, user_agent: &str) -> String {
    let r = s
        .client()
        .post(s.url("/api/v1/auth/login"))
        .header("user-agent", user_agent)
        .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    session_token(&r).expect("cookie")
}

async fn sessions(s: &TestServer, token: &str) -> Vec<Value> {
    let r = s.get("/api/v1/auth/me/sessions", Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    json(r).await.as_array().cloned().expect("a list")
}

async fn delete(s: &TestServer, token: &str, id: &str) -> StatusCode {
    let r = s
        .client()
        .delete(s.url(&format!("/api/v1/auth/me/sessions/{id}")))
        .header("cookie", format!("{COOKIE}={token}"))
        .send()
        .await
        .expect("req");
    r.status()
}

async fn sessions_are_listed_and_ended(a: Adapter) {
    let s = TestServer::start(
        a,
        "basicAuth:\n  signup: open\n  jwtSecret: \"test-secret-test-secret-test-secret-0123456789\"\n",
    )
    .await;
    let first = s.signup("admin@example.com").await;
    let laptop = login_as(&s, FIREFOX).await;
    let list = sessions(&s, &laptop).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let current: Vec<&Value> = list.iter().filter(|x| x["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Linux");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(current[0]["last_seen_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let other = list.iter().find(|x| x["current"] == false).expect("the signup session");
    let other_id = other["id"].as_str().expect("id").to_string();
    // Someone else's session id is not the caller's to end.
    let stranger = s.signup("stranger@example.com").await;
    assert_eq!(delete(&s, &stranger, &other_id).await, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/hello", Some(&first)).await.status(), StatusCode::OK);
    // The owner ends it: refused at once.
    assert_eq!(delete(&s, &laptop, &other_id).await, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/hello", Some(&first)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sessions(&s, &laptop).await.len(), 1);
    // The page shows the list.
    let html = s.get("/settings/personal", Some(&laptop)).await.text().await.expect("html");
    assert!(html.contains("Where you are signed in") && html.contains("Firefox on Linux"), "{html}");
}

async fn sign_out_everywhere_else(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (first, _) = s.first_admin().await;
    let phone =
        login_as(&s, "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36").await;
    let laptop = login_as(&s, FIREFOX).await;
    let r = s.post("/api/v1/auth/me/sessions/revoke-others", json!({}), Some(&laptop)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for gone in [&first, &phone] {
        assert_eq!(s.get("/api/hello", Some(gone)).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(s.get("/api/hello", Some(&laptop)).await.status(), StatusCode::OK);
    // The page's button does the same.
    let again = login_as(&s, FIREFOX).await;
    let r = s
        .client()
        .post(s.url("/settings/personal"))
        .header("cookie", format!("{COOKIE}={laptop}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "end-others")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/settings/personal?notice=others-signed-out");
    assert_eq!(s.get("/api/hello", Some(&again)).await.status(), StatusCode::UNAUTHORIZED);
}
