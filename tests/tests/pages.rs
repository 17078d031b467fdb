//! The built-in pages over real HTTP, on both adapters: headers, branding, escaping, errors
//! beside their field, notices, `return_to`. The browser suite (`browser.rs`) drives the same
//! pages in Chromium.

use auth_tests::{Adapter, COOKIE, PASSWORD, StatusCode, TestServer, both, json, session_token};
use base64::Engine as _;
use sha2::{Digest, Sha256};

both!(
    pages_carry_the_product_and_strict_headers,
    inline_script_matches_its_csp_hash,
    notices_are_never_reflected,
    errors_sit_beside_their_field_and_keep_input,
    return_to_is_carried_through_login_and_signup,
    admin_console_is_for_instance_admins,
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

/// The id in the hidden `user` field of the row form whose button is labelled `label`.
fn row_user_id(html: &str, label: &str) -> String {
    let at = html.find(&format!("aria-label=\"{label}\"")).unwrap_or_else(|| panic!("a button {label}: {html}"));
    let marker = "name=\"user\" value=\"";
    let start = html[..at].rfind(marker).expect("the row's user field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn admin_console_is_for_instance_admins(a: Adapter) {
    let s = TestServer::start(a, "basicAuth:\n  signup: open\n").await;
    let r = s.get("/settings/admin", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?return_to=%2Fsettings%2Fadmin");
    let (admin, _) = s.first_admin().await;
    // Open signup: Bob gets an organization of his own, not the instance's.
    let bob = s.signup("bob@example.com").await;
    let r = s.get("/settings/admin", Some(&bob)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "not an instance admin");
    let html = r.text().await.expect("html");
    assert!(html.contains("role=\"alert\"") && !html.contains("bob@example.com</span>"), "{html}");
    assert!(!html.contains("href=\"/settings/admin\""), "no Admin link for Bob: {html}");
    let r = s
        .client()
        .post(s.url("/settings/admin"))
        .header("cookie", format!("{COOKIE}={bob}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "disable"), ("user", "anyone")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "Bob cannot post to the console either");

    let r = s.get("/settings/admin?q=bob", Some(&admin)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("href=\"/settings/admin\" aria-current=\"page\">Admin</a>"), "{html}");
    let users = &html[html.find("id=\"users\"").expect("users")..html.find("id=\"organizations\"").expect("orgs")];
    assert!(users.contains("bob@example.com") && !users.contains("admin@example.com"), "Bob only: {users}");
    assert!(html.contains("1–1 of 1"), "{html}");
    assert!(html.contains("<span class=\"badge\">instance</span>"), "the organizations table");
    let bob_id = row_user_id(&html, "Disable bob@example.com");
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::OK);

    let disable = [("action", "disable"), ("user", bob_id.as_str())];
    let cross = s
        .client()
        .post(s.url("/settings/admin?q=bob"))
        .header("cookie", format!("{COOKIE}={admin}"))
        .header("sec-fetch-site", "cross-site")
        .form(&disable)
        .send()
        .await
        .expect("req");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "a cross-site form post is refused");
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::OK, "and changed nothing");

    let r = s
        .client()
        .post(s.url("/settings/admin?q=bob"))
        .header("cookie", format!("{COOKIE}={admin}"))
        .header("sec-fetch-site", "same-origin")
        .form(&disable)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/settings/admin?q=bob&notice=user-disabled");
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::UNAUTHORIZED, "Bob's session ended");
    let html = s.get("/settings/admin?q=bob&notice=user-disabled", Some(&admin)).await.text().await.expect("html");
    assert!(html.contains("The user was disabled") && html.contains(">disabled</span>"), "{html}");
    assert!(html.contains("aria-label=\"Enable bob@example.com\"") && html.contains("<code>user_disabled</code>"));

    // One's own account is refused (409), shown as an error on the page.
    let admin_id = {
        let html = s.get("/settings/admin", Some(&admin)).await.text().await.expect("html");
        let at = html.find("<span class=\"muted\">(you)</span>").expect("the admin's own row");
        assert!(!html[at..].split("</tr>").next().unwrap_or("").contains("<form"), "no actions on oneself");
        json(s.get("/api/v1/auth/me", Some(&admin)).await).await["user"]["id"].as_str().expect("id").to_string()
    };
    {
        let r = s
            .client()
            .post(s.url("/settings/admin"))
            .header("cookie", format!("{COOKIE}={admin}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("action", "delete"), ("user", admin_id.as_str()), ("confirm", "yes")])
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.expect("html").contains("You cannot delete your own account."));
    }
}
