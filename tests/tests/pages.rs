//! The built-in pages over real HTTP, on both adapters: headers, branding, escaping, errors
//! beside their field, notices, `return_to`. The browser suite (`browser.rs`) drives the same
//! pages in Chromium.

use auth_tests::{Adapter, COOKIE, PASSWORD, StatusCode, TestServer, both, session_token};
use base64::Engine as _;
use sha2::{Digest, Sha256};

both!(
    pages_carry_the_product_and_strict_headers,
    inline_script_matches_its_csp_hash,
    notices_are_never_reflected,
    errors_sit_beside_their_field_and_keep_input,
    return_to_is_carried_through_login_and_signup,
);

const BRANDED: &str = "ui:\n  productName: \"Acme <Portal>\"\n  accentColor: \"#0f766e\"\n";

async fn pages_carry_the_product_and_strict_headers(a: Adapter) {
    let s = TestServer::start(a, BRANDED).await;
    let r = s.get("/login", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "same-origin");
    let csp = h["content-security-policy"].to_str().expect("ascii");
    for part in ["default-src 'none'", "frame-ancestors 'none'", "style-src 'self'", "script-src 'sha256-"] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = r.text().await.expect("html");
    assert!(html.contains("<title>Sign in · Acme &#60;Portal&#62;</title>"), "escaped product name: {html}");
    // The stylesheet the page links is served by the layer and carries the accent colour.
    let start = html.find("/api/v1/auth/assets/auth.css?v=").expect("stylesheet link");
    let href: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let css = s.get(&href, None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/css")));
    assert!(css.headers()["cache-control"].to_str().is_ok_and(|c| c.contains("immutable")));
    let css = css.text().await.expect("css");
    assert!(css.contains("--accent: #0f766e"), "{}", &css[..200.min(css.len())]);
    assert!(css.contains("prefers-color-scheme: dark"));
}

async fn inline_script_matches_its_csp_hash(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let (token, org) = s.first_admin().await;
    let r = s
        .client()
        .post(s.url(&format!("/settings/organization?org={org}")))
        .header("cookie", format!("{COOKIE}={token}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "invite"), ("email", "bob@example.com"), ("role", "member")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().expect("ascii").to_string();
    let html = r.text().await.expect("html");
    let start = html.find("<script>").expect("the copy script") + "<script>".len();
    let end = start + html[start..].find("</script>").expect("closed");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&html.as_bytes()[start..end]));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "the browser runs the script only if {hash} is in {csp}");
    assert!(html.contains("Invitation link") && html.contains("Copy link"));
}

async fn notices_are_never_reflected(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let html = s.get("/login?notice=%3Cscript%3Ealert(1)%3C%2Fscript%3E", None).await.text().await.expect("html");
    assert!(!html.contains("alert(1)") && !html.contains("role=\"status\""), "{html}");
    let html = s.get("/login?notice=signed-out", None).await.text().await.expect("html");
    assert!(html.contains("<p class=\"notice\" role=\"status\">You are signed out.</p>"), "{html}");
}

async fn errors_sit_beside_their_field_and_keep_input(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let form = [("name", "Ada <b>"), ("organization", "Acme"), ("email", "ada@example.com"), ("password", "short")];
    let r = s.client().post(s.url("/signup")).form(&form).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("html");
    assert!(html.contains("role=\"alert\""), "a summary screen readers announce");
    assert!(html.contains("id=\"password-error\">Password must be at least 8 characters.</p>"), "{html}");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"password-hint password-error\""), "{html}");
    assert!(html.contains("value=\"ada@example.com\"") && html.contains("value=\"Ada &#60;b&#62;\""), "kept, escaped");
    assert!(!html.contains("value=\"short\""), "a password is never sent back");
    // A wrong password keeps the email on the login page.
    s.signup("admin@example.com").await;
    let r = s
        .client()
        .post(s.url("/login"))
        .form(&[("email", "admin@example.com"), ("password", "not the password")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.expect("html");
    assert!(html.contains("Invalid email or password.") && html.contains("value=\"admin@example.com\""), "{html}");
    assert!(!html.contains("not the password"));
}

async fn return_to_is_carried_through_login_and_signup(a: Adapter) {
    let s = TestServer::start(a, "").await;
    let html = s.get("/login?return_to=%2Fapi%2Fhello", None).await.text().await.expect("html");
    assert!(html.contains("action=\"/login?return_to=%2Fapi%2Fhello\""), "{html}");
    assert!(html.contains("href=\"/signup?return_to=%2Fapi%2Fhello\""), "{html}");
    let form = [("email", "admin@example.com"), ("password", PASSWORD)];
    let r = s.client().post(s.url("/signup?return_to=%2Fapi%2Fhello")).form(&form).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/api/hello");
    assert!(session_token(&r).is_some());
    let r = s.client().post(s.url("/signup?return_to=%2F%2Fevil.example")).form(&form).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "set up already: signup is closed");
}
