//! OIDC login against a real, certified OpenID provider (panva/oidc-provider), both adapters.

use std::time::{Duration, Instant};

use auth_tests::smtp::{link, smtp_yaml, start_sink};
use auth_tests::{Adapter, Idp, PASSWORD, SECRET, StatusCode, TestServer, both, browser, free_port, json, walk};
use serde_json::json;

both!(
    sign_in_rs256_creates_first_admin,
    sign_in_es256,
    two_rotations_in_quick_succession,
    concurrent_callbacks_after_a_rotation_fetch_the_keys_once,
    backchannel_logout_after_a_rotation,
    invited_email_joins_and_rules_hold,
    only_verified_accounts_are_linked,
    callback_checks_state,
    logout_rp_initiated_and_backchannel,
    idp_down_at_startup_recovers,
    several_providers,
    missing_email_verified_claim,
    group_claims_map_to_roles,
    role_mapping_never_removes_the_last_admin,
    providers_by_email_domain,
    linking_needs_a_trusted_provider,
);

/// An app configured for an IdP on a fresh port, and that IdP (started after the app, so
/// that it knows the app's callback URL).
async fn app_and_idp(a: Adapter, alg: &str, extra: &str) -> (TestServer, Idp) {
    let port = free_port();
    let s = TestServer::start(a, &format!("{}{extra}", Idp::yaml(port))).await;
    let idp = Idp::start(port, &s.base, alg);
    wait_for_oidc(&s).await;
    (s, idp)
}

/// Waits (bounded) until the app has discovered the IdP.
async fn wait_for_oidc(s: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = s.get("/api/v1/auth/login/oidc", None).await.status();
        if status == StatusCode::FOUND {
            return;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "the app never discovered the IdP");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Signs in through the IdP as `sub`; returns (session token if any, the final walk).
async fn sso(s: &TestServer, idp: &Idp, sub: &str, email: &str, verified: bool) -> auth_tests::Walk {
    idp.login_as(sub, email, verified).await;
    let b = browser();
    walk(&b, &s.url("/api/v1/auth/login/oidc?return_to=%2Fapi%2Fhello"), &s.base, &idp.issuer).await
}

async fn sign_in_rs256_creates_first_admin(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    let cfg = json(s.get("/api/v1/auth/config", None).await).await;
    assert_eq!(cfg["oidc"]["enabled"], true);
    assert_eq!(cfg["oidc"]["name"], "Test IdP");
    assert_eq!(cfg["oidc"]["login_url"], "/api/v1/auth/login/oidc");

    let r = s.get("/api/v1/auth/login/oidc", None).await;
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    assert!(location.starts_with(&format!("{}/auth?", idp.issuer)), "{location}");
    for part in
        ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code", "scope=openid"]
    {
        assert!(location.contains(part), "{part} missing from {location}");
    }
    for scope in ["profile", "email"] {
        assert!(location.contains(scope), "{scope} missing from {location}");
    }
    assert!(location.contains(&format!("redirect_uri={}", url_encode(&format!("{}/api/v1/auth/callback", s.base)))));
    let flow_cookie = r.headers()["set-cookie"].to_str().expect("ascii").to_string();
    assert!(flow_cookie.contains("HttpOnly") && flow_cookie.contains("Max-Age=600"), "{flow_cookie}");

    let w = sso(&s, &idp, "alice", "alice@example.com", true).await;
    assert_eq!(w.status, StatusCode::FOUND, "{w:?}");
    assert_eq!(w.location.as_deref(), Some("/api/hello"));
    let token = w.session.expect("a session cookie");
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await["hello"], "alice@example.com");
    let me = json(s.get("/api/v1/auth/me", Some(&token)).await).await;
    assert_eq!(me["user"]["auth_method"], "oidc");
    assert_eq!(me["organizations"][0]["role"], "admin", "the first user becomes the first admin");
    // Again: the same identity, the same user.
    let again = sso(&s, &idp, "alice", "alice@example.com", true).await.session.expect("session");
    let me2 = json(s.get("/api/v1/auth/me", Some(&again)).await).await;
    assert_eq!(me["user"]["id"], me2["user"]["id"]);
    // A password change is refused for SSO users, clearly.
    let r = s
        .post("/api/v1/auth/me/password", json!({"current_password": "x", "new_password": PASSWORD}), Some(&token))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn sign_in_es256(a: Adapter) {
    let (s, idp) = app_and_idp(a, "ES256", "").await;
    let w = sso(&s, &idp, "erin", "erin@example.com", true).await;
    let token = w.session.clone().unwrap_or_else(|| panic!("ES256 sign-in failed: {w:?}"));
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await["hello"], "erin@example.com");
}

/// The issue-11 bug: a second rotation that drops the old keys, a moment after the first,
/// locked every SSO login out. Each login here must work, without waiting in between.
async fn two_rotations_in_quick_succession(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    assert!(sso(&s, &idp, "alice", "alice@example.com", true).await.session.is_some());
    idp.rotate_keys().await;
    let w = sso(&s, &idp, "alice", "alice@example.com", true).await;
    assert!(w.session.is_some(), "sign-in after the first rotation failed: {w:?}");
    idp.rotate_keys().await;
    idp.drop_old_keys().await;
    for n in 1..=3 {
        let w = sso(&s, &idp, "alice", "alice@example.com", true).await;
        assert!(w.session.is_some(), "sign-in {n} after the second rotation failed: {w:?}");
    }
}

/// Walks a browser through the IdP up to (not including) the app's callback; returns its URL.
async fn up_to_callback(b: &reqwest::Client, s: &TestServer, idp: &Idp) -> String {
    let r = b.get(s.url("/api/v1/auth/login/oidc")).send().await.expect("req");
    let mut url = r.headers()["location"].to_str().expect("ascii").to_string();
    loop {
        let r = b.get(&url).send().await.expect("req");
        let loc = r.headers()["location"].to_str().expect("ascii").to_string();
        let next = if loc.starts_with('/') { format!("{}{loc}", idp.issuer) } else { loc };
        if next.starts_with(&s.base) {
            return next;
        }
        url = next;
    }
}

async fn concurrent_callbacks_after_a_rotation_fetch_the_keys_once(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    assert!(sso(&s, &idp, "alice", "alice@example.com", true).await.session.is_some());
    // 50 browsers hold an authorization code; the ID tokens are signed when the app redeems
    // them, so after the rotation each carries the new kid.
    let mut browsers = Vec::new();
    for _ in 0..50 {
        let b = browser();
        let callback = up_to_callback(&b, &s, &idp).await;
        browsers.push((b, callback));
    }
    idp.rotate_keys().await;
    let before = idp.jwks_count().await;
    let started = Instant::now();
    let answers = futures_util::future::join_all(browsers.iter().map(|(b, callback)| b.get(callback).send())).await;
    let elapsed = started.elapsed();
    for (n, r) in answers.into_iter().enumerate() {
        let r = r.expect("callback");
        assert_eq!(r.status(), StatusCode::FOUND, "callback {n}");
        assert!(auth_tests::session_token(&r).is_some(), "callback {n} signed in");
    }
    let fetched = idp.jwks_count().await - before;
    assert_eq!(fetched, 1, "50 concurrent callbacks after a rotation fetch the JWKS once (took {elapsed:?})");
}

/// Ends the browser's session at the IdP (its logout form), which makes the IdP send a
/// back-channel logout token to the app.
async fn end_idp_session(b: &reqwest::Client, idp: &Idp) {
    let page = b.get(format!("{}/session/end?client_id=test-client", idp.issuer)).send().await.expect("req");
    let html = page.text().await.expect("html");
    let xsrf = html
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the IdP's logout form")
        .to_string();
    let r = b
        .post(format!("{}/session/end/confirm", idp.issuer))
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .expect("req");
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());
}

/// Waits (bounded) until `token` no longer opens a session.
async fn until_ended(s: &TestServer, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while s.get("/api/hello", Some(token)).await.status() != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the back-channel logout never ended the session");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn backchannel_logout_after_a_rotation(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    idp.login_as("dave", "dave@example.com", true).await;
    let b = browser();
    let w = walk(&b, &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    let token = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    // The IdP rotates and drops the key the app knows; its logout token has a new kid.
    idp.rotate_keys().await;
    idp.drop_old_keys().await;
    end_idp_session(&b, &idp).await;
    until_ended(&s, &token).await;
    // The same logout token again: refused (its jti is remembered for its lifetime).
    let logout_token = idp.last_logout_token().await.expect("the IdP sent a logout token");
    let r = s
        .client()
        .post(s.url("/api/v1/auth/backchannel-logout"))
        .form(&[("logout_token", logout_token.as_str())])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.expect("body").contains("already used"));
}

async fn invited_email_joins_and_rules_hold(a: Adapter) {
    let port = free_port();
    let yaml = format!(
        "{}basicAuth:\n  validEmailDomain: example.com\n  jwtSecret: \"0123456789abcdef0123456789abcdef\"\n",
        Idp::yaml(port)
    );
    let s = TestServer::start(a, &yaml).await;
    let idp = Idp::start(port, &s.base, "RS256");
    wait_for_oidc(&s).await;
    let admin = s.signup("admin@example.com").await;
    let org = json(s.get("/api/v1/auth/me", Some(&admin)).await).await["organizations"][0]["id"]
        .as_str()
        .expect("org")
        .to_string();
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "bob@example.com"}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Unverified email: no account, no session.
    let w = sso(&s, &idp, "bob-unverified", "bob@example.com", false).await;
    assert!(w.session.is_none());
    assert_eq!(w.status, StatusCode::FORBIDDEN, "{w:?}");
    // Another domain: refused whatever the IdP says (signup policy does not apply to SSO, the domain does).
    let w = sso(&s, &idp, "mallory", "mallory@evil.com", true).await;
    assert!(w.session.is_none());
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    let w = sso(&s, &idp, "mallory2", "mallory@example.com.evil.com", true).await;
    assert!(w.session.is_none());

    // Verified and invited: the account is created (invite-only signup does not stop SSO) and joins.
    let w = sso(&s, &idp, "bob", "bob@example.com", true).await;
    let bob = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    let me = json(s.get("/api/v1/auth/me", Some(&bob)).await).await;
    assert_eq!(me["organizations"][0]["id"], org.as_str());
    assert_eq!(me["organizations"][0]["role"], "member");
    let pending = json(s.get(&format!("/api/v1/auth/organizations/{org}/invitations"), Some(&admin)).await).await;
    assert_eq!(pending, json!([]));
}

/// Account pre-hijacking: whoever creates a password account for an address first must not
/// keep a password on its owner's account once the owner signs in with SSO. Linking needs an
/// account that proved it owns the address (a mailed verification link).
async fn only_verified_accounts_are_linked(a: Adapter) {
    let sink = start_sink();
    let port = free_port();
    let yaml = format!(
        "{}  trustEmailForLinking: true\n{}basicAuth:\n  jwtSecret: \"{SECRET}\"\n  signup: open\n",
        Idp::yaml(port),
        smtp_yaml(sink.port)
    );
    let s = TestServer::start(a, &yaml).await;
    let idp = Idp::start(port, &s.base, "RS256");
    wait_for_oidc(&s).await;
    let (admin, org) = s.first_admin().await;
    // The attacker signs up first with the victim's address (open signup) and is invited too.
    let attacker = s.signup("carol@example.com").await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "carol@example.com"}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The victim signs in with SSO (the IdP verified the address): refused, nothing linked.
    let w = sso(&s, &idp, "carol", "Carol@Example.com", true).await;
    assert!(w.session.is_none(), "{w:?}");
    assert_eq!(w.status, StatusCode::FORBIDDEN, "{}", w.body);
    let me = json(s.get("/api/v1/auth/me", Some(&attacker)).await).await;
    assert_eq!(me["user"]["email_verified"], false);
    assert_eq!(me["organizations"].as_array().map(Vec::len), Some(1), "the invitation was not joined: {me}");
    // Unverified at the IdP: never linked either.
    let w = sso(&s, &idp, "carol-unverified", "carol@example.com", false).await;
    assert!(w.session.is_none());

    // An owner who verified the address (the mailed link) is linked at the next SSO login.
    let dave = s.signup("dave@example.com").await;
    let dave_id = json(s.get("/api/v1/auth/me", Some(&dave)).await).await["user"]["id"].clone();
    let mut token = None;
    for n in 1..=10 {
        let mail = sink.mail(n).await;
        if mail.contains("X-Rcpt-To: dave@example.com") {
            let url = link(&mail, &format!("{}/verify-email?token=", s.base));
            token = url.split("token=").nth(1).map(str::to_string);
            break;
        }
    }
    let token = token.expect("dave's verification mail");
    assert_eq!(
        s.post("/api/v1/auth/email/verify", json!({"token": token}), None).await.status(),
        StatusCode::NO_CONTENT
    );
    let w = sso(&s, &idp, "dave", "dave@example.com", true).await;
    let sso_token = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    let me = json(s.get("/api/v1/auth/me", Some(&sso_token)).await).await;
    assert_eq!(me["user"]["id"], dave_id, "linked to the verified password account");
    assert_eq!(
        s.get("/api/hello", Some(&dave)).await.status(),
        StatusCode::UNAUTHORIZED,
        "linking ends other sessions"
    );
    s.login("dave@example.com", PASSWORD).await;
}

async fn callback_checks_state(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    idp.login_as("alice", "alice@example.com", true).await;
    // Walk up to the callback, but do not let the app see it yet.
    let b = browser();
    let r = b.get(s.url("/api/v1/auth/login/oidc")).send().await.expect("req");
    let mut url = r.headers()["location"].to_str().expect("ascii").to_string();
    let callback = loop {
        let r = b.get(&url).send().await.expect("req");
        let loc = r.headers()["location"].to_str().expect("ascii").to_string();
        let next = if loc.starts_with('/') { format!("{}{loc}", idp.issuer) } else { loc };
        if next.starts_with(&s.base) {
            break next;
        }
        url = next;
    };
    assert!(callback.contains("code=") && callback.contains("state=") && callback.contains("iss="), "{callback}");

    // Without the flow cookie (another browser): 400, no session.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("c")
        .get(&callback)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A forged state: 400.
    let forged = callback.replace("state=", "state=x");
    let r = b.get(&forged).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(auth_tests::session_token(&r).is_none());
    // A foreign iss: 400.
    let r = b.get(format!("{callback}&iss=https%3A%2F%2Fevil.example")).send().await.expect("req");
    assert!(r.status().is_client_error());
    // The genuine one: signed in.
    let flow = b.get(s.url("/api/v1/auth/login/oidc")).send().await.expect("req");
    assert_eq!(flow.status(), StatusCode::FOUND);
}

async fn logout_rp_initiated_and_backchannel(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    idp.login_as("dave", "dave@example.com", true).await;
    let b = browser();
    let w = walk(&b, &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    let token = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    // RP-initiated logout: the app ends the session and names the IdP's logout URL.
    let r = s.post("/api/v1/auth/logout", json!({}), Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let redirect = json(r).await["redirect"].as_str().expect("an IdP logout URL").to_string();
    assert!(redirect.starts_with(&format!("{}/session/end?", idp.issuer)), "{redirect}");
    assert!(redirect.contains("id_token_hint=") && redirect.contains("post_logout_redirect_uri="), "{redirect}");
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);

    // Back-channel: sign in again, then end the session at the IdP; the IdP calls the app.
    let w = walk(&b, &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    let token = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    end_idp_session(&b, &idp).await;
    until_ended(&s, &token).await;
    // Forged logout tokens are refused: unsigned, or of an unknown issuer, or garbage.
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = json!({"iss": idp.issuer, "aud": "test-client", "iat": 1, "jti": "x", "sub": "dave",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}}});
    let unsigned = format!("{}.{}.", b64(json!({"alg": "none", "typ": "logout+jwt"})), b64(claims.clone()));
    let hs = format!("{}.{}.c2ln", b64(json!({"alg": "HS256", "typ": "logout+jwt"})), b64(claims));
    for forged in [unsigned.as_str(), hs.as_str(), "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "garbage", ""] {
        let r = s
            .client()
            .post(s.url("/api/v1/auth/backchannel-logout"))
            .form(&[("logout_token", forged)])
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{forged}");
    }
}

async fn idp_down_at_startup_recovers(a: Adapter) {
    let port = free_port();
    let s = TestServer::start(a, &Idp::yaml(port)).await;
    // No IdP yet: OIDC answers 503, password sign-up and login keep working.
    let r = s.get("/api/v1/auth/login/oidc", None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(r).await;
    assert_eq!(body["error"], "idp_unavailable");
    // Anonymous callers learn what failed, not the IdP's internal address or the error chain.
    let message = body["message"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert!(message.contains("could not be reached"), "{message}");
    for leak in [port.to_string().as_str(), "127.0.0.1", "connect", "refused", "tcp", "error sending request"] {
        assert!(!message.contains(leak), "{leak:?} leaked in {message:?}");
    }
    let token = s.signup("admin@example.com").await;
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);
    // The IdP comes up: OIDC recovers by itself.
    let idp = Idp::start(port, &s.base, "RS256");
    wait_for_oidc(&s).await;
    let w = sso(&s, &idp, "zed", "zed@example.com", true).await;
    assert!(w.session.is_some(), "{w:?}");
}

async fn several_providers(a: Adapter) {
    let (p1, p2) = (free_port(), free_port());
    let provider = |id: &str, name: &str, port: u16| {
        format!(
            "    - id: {id}\n      displayName: {name}\n      clientId: {}\n      clientSecret: {}\n      \
             discoveryUrl: http://127.0.0.1:{port}/.well-known/openid-configuration\n",
            auth_tests::IDP_CLIENT_ID,
            auth_tests::IDP_CLIENT_SECRET
        )
    };
    let yaml =
        format!("oidc:\n  providers:\n{}{}", provider("corp", "Corp SSO", p1), provider("partner", "Partner", p2));
    let s = TestServer::start(a, &yaml).await;
    let one = Idp::start(p1, &s.base, "RS256");
    let two = Idp::start(p2, &s.base, "ES256");
    let cfg = json(s.get("/api/v1/auth/config", None).await).await;
    let providers = cfg["oidc"]["providers"].as_array().expect("providers").clone();
    assert_eq!(providers.len(), 2, "{cfg}");
    assert_eq!(providers[1]["name"], "Partner");
    assert_eq!(providers[1]["login_url"], "/api/v1/auth/login/oidc?provider=partner");
    let page = s.get("/login", None).await.text().await.expect("html");
    assert!(page.contains("Sign in with Corp SSO") && page.contains("Sign in with Partner"));
    wait_for_oidc(&s).await;
    two.login_as("pat", "pat@example.com", true).await;
    let b = browser();
    let w = walk(&b, &s.url("/api/v1/auth/login/oidc?provider=partner"), &s.base, &two.issuer).await;
    assert!(w.visited.iter().any(|u| u.starts_with(&two.issuer)), "{w:?}");
    let token = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(json(s.get("/api/hello", Some(&token)).await).await["hello"], "pat@example.com");
    assert_eq!(s.get("/api/v1/auth/login/oidc?provider=nope", None).await.status(), StatusCode::NOT_FOUND);
    // The same subject at another issuer is another identity.
    one.login_as("pat", "pat2@example.com", true).await;
    let w = walk(&b, &s.url("/api/v1/auth/login/oidc?provider=corp"), &s.base, &one.issuer).await;
    let other = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(json(s.get("/api/hello", Some(&other)).await).await["hello"], "pat2@example.com");
}

async fn missing_email_verified_claim(a: Adapter) {
    // Without the opt-in, an email the IdP does not call verified creates nothing.
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    idp.login_as_claims("ent", "ent@example.com", None).await;
    let w = walk(&browser(), &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    assert!(w.session.is_none());
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    drop((s, idp));

    // With assumeEmailVerified (Entra ID omits the claim): created, but never linked.
    let (s, idp) = app_and_idp(a, "RS256", "  assumeEmailVerified: true\n").await;
    let (owner, org) = s.first_admin().await;
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "ent@example.com"}),
            Some(&owner),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    idp.login_as_claims("ent", "ent@example.com", None).await;
    let w = walk(&browser(), &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    let ent = w.session.clone().unwrap_or_else(|| panic!("{w:?}"));
    let me = json(s.get("/api/v1/auth/me", Some(&ent)).await).await;
    assert!(
        me["organizations"].as_array().is_some_and(|o| o.iter().all(|m| m["id"] != org.as_str())),
        "an assumed email does not join the address's invitations: {me}"
    );
    idp.login_as_claims("not-owner", "admin@example.com", None).await;
    let w = walk(&browser(), &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    assert!(w.session.is_none(), "an assumed-verified email must not take over an existing account");
    assert_eq!(w.status, StatusCode::FORBIDDEN);
}

const ROLE_MAPPING: &str = "  roleClaim: groups\n  adminValues: [app-admins]\n  memberValues: [app-users, staff]\n";

/// The role of the only organization in `/me`, or `None` without one.
async fn role_in(s: &TestServer, token: &str, org: &str) -> Option<String> {
    let me = json(s.get("/api/v1/auth/me", Some(token)).await).await;
    me["organizations"].as_array()?.iter().find(|o| o["id"] == org).and_then(|o| o["role"].as_str().map(str::to_string))
}

async fn sso_groups(s: &TestServer, idp: &Idp, sub: &str, groups: &[&str]) -> String {
    idp.login_as_groups(sub, &format!("{sub}@example.com"), groups).await;
    let w = walk(&browser(), &s.url("/api/v1/auth/login/oidc"), &s.base, &idp.issuer).await;
    w.session.clone().unwrap_or_else(|| panic!("{sub} with {groups:?}: {w:?}"))
}

async fn group_claims_map_to_roles(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", ROLE_MAPPING).await;
    let (owner, org) = s.first_admin().await;
    // Each login applies the claim (from UserInfo here) to the instance's first organization.
    let bob = sso_groups(&s, &idp, "bob", &["staff"]).await;
    assert_eq!(role_in(&s, &bob, &org).await.as_deref(), Some("member"));
    let bob2 = sso_groups(&s, &idp, "bob", &["other", "app-admins"]).await;
    assert_eq!(role_in(&s, &bob2, &org).await.as_deref(), Some("admin"));
    // The group is removed at the IdP: demoted at the next login, and the older session sees it.
    let bob3 = sso_groups(&s, &idp, "bob", &["app-users"]).await;
    assert_eq!(role_in(&s, &bob3, &org).await.as_deref(), Some("member"));
    assert_eq!(role_in(&s, &bob2, &org).await.as_deref(), Some("member"), "an older session is demoted too");
    assert_eq!(s.get(&format!("/api/orgs/{org}/admin"), Some(&bob2)).await.status(), StatusCode::FORBIDDEN);
    // No mapped group: the membership ends (the sign-in itself still works).
    let bob4 = sso_groups(&s, &idp, "bob", &[]).await;
    assert_eq!(role_in(&s, &bob4, &org).await, None);
    let members = json(s.get(&format!("/api/v1/auth/organizations/{org}/members"), Some(&owner)).await).await;
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
    // Back in a group: a member again.
    let bob5 = sso_groups(&s, &idp, "bob", &["staff"]).await;
    assert_eq!(role_in(&s, &bob5, &org).await.as_deref(), Some("member"));
    // A password account is never touched by the mapping.
    assert_eq!(role_in(&s, &owner, &org).await.as_deref(), Some("admin"));
}

async fn role_mapping_never_removes_the_last_admin(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", ROLE_MAPPING).await;
    // The first user (through SSO) creates the organization and is its only admin ...
    let alice = sso_groups(&s, &idp, "alice", &["app-admins"]).await;
    let me = json(s.get("/api/v1/auth/me", Some(&alice)).await).await;
    let org = me["organizations"][0]["id"].as_str().expect("org").to_string();
    assert_eq!(me["organizations"][0]["role"], "admin");
    // ... and stays admin when the IdP no longer says so: the organization keeps an admin.
    let alice = sso_groups(&s, &idp, "alice", &["staff"]).await;
    assert_eq!(role_in(&s, &alice, &org).await.as_deref(), Some("admin"));
    let alice = sso_groups(&s, &idp, "alice", &[]).await;
    assert_eq!(role_in(&s, &alice, &org).await.as_deref(), Some("admin"));
    // Once another admin exists, the demotion happens.
    let _bob = sso_groups(&s, &idp, "bob", &["app-admins"]).await;
    let alice = sso_groups(&s, &idp, "alice", &["staff"]).await;
    assert_eq!(role_in(&s, &alice, &org).await.as_deref(), Some("member"));
}

async fn providers_by_email_domain(a: Adapter) {
    let (p1, p2) = (free_port(), free_port());
    let provider = |id: &str, port: u16, extra: &str| {
        format!(
            "    - id: {id}\n      displayName: {id} SSO\n      clientId: {}\n      clientSecret: {}\n      \
             discoveryUrl: http://127.0.0.1:{port}/.well-known/openid-configuration\n{extra}",
            auth_tests::IDP_CLIENT_ID,
            auth_tests::IDP_CLIENT_SECRET
        )
    };
    let yaml = format!(
        "oidc:\n  providers:\n{}{}",
        provider("corp", p1, "      domains: [corp.example]\n      enforce: true\n"),
        provider("partner", p2, "      domains: [partner.example, Partner2.example]\n")
    );
    let s = TestServer::start(a, &yaml).await;
    let corp = Idp::start(p1, &s.base, "RS256");
    let partner = Idp::start(p2, &s.base, "RS256");
    wait_for_oidc(&s).await;
    let (admin, org) = s.first_admin().await;
    let page = s.get("/login?return_to=%2Fapi%2Fhello", None).await.text().await.expect("html");
    assert!(page.contains("Continue with email") && page.contains("name=\"login_hint\""), "{page}");
    assert!(page.contains("action=\"/api/v1/auth/login/oidc\""), "{page}");

    // The domain picks the provider, and the address goes along as login_hint.
    let server = &s;
    let go = |hint: &str| {
        let path = format!("/api/v1/auth/login/oidc?login_hint={hint}");
        async move { server.get(&path, None).await }
    };
    let r = go("pat%40partner.example").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    assert!(location.starts_with(&partner.issuer), "{location}");
    assert!(location.contains("login_hint=pat%40partner.example"), "{location}");
    let r = go("Kim%40PARTNER2.example").await;
    assert!(r.headers()["location"].to_str().expect("ascii").starts_with(&partner.issuer));
    let r = go("ceo%40corp.example").await;
    assert!(r.headers()["location"].to_str().expect("ascii").starts_with(&corp.issuer));
    // An explicit provider wins; an unknown domain or a non-address is a clear 400.
    let r = s.get("/api/v1/auth/login/oidc?provider=corp&login_hint=pat%40partner.example", None).await;
    assert!(r.headers()["location"].to_str().expect("ascii").starts_with(&corp.issuer));
    for bad in ["who%40elsewhere.example", "not-an-address", "a%40b%40corp.example"] {
        let r = go(bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body = json(r).await;
        assert_eq!(body["error"], "invalid_request", "{bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.starts_with("login_hint:")), "{body}");
    }
    // The whole way through, as the page's form sends it.
    partner.login_as("pat", "pat@partner.example", true).await;
    let w = walk(
        &browser(),
        &s.url("/api/v1/auth/login/oidc?login_hint=pat%40partner.example&return_to=%2Fapi%2Fhello"),
        &s.base,
        &partner.issuer,
    )
    .await;
    assert_eq!(w.location.as_deref(), Some("/api/hello"), "{w:?}");
    assert!(w.session.is_some());

    // An enforced domain: no password sign-up, sign-in or invitation for it.
    for (path, body) in [
        ("/api/v1/auth/signup", json!({"email": "ceo@corp.example", "password": PASSWORD})),
        ("/api/v1/auth/login", json!({"email": "ceo@corp.example", "password": PASSWORD})),
    ] {
        let r = s.post(path, body, None).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body = json(r).await;
        assert_eq!(body["error"], "sso_required", "{path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("corp SSO")), "{body}");
    }
    let r = s
        .post(
            &format!("/api/v1/auth/organizations/{org}/invitations"),
            json!({"email": "cto@corp.example"}),
            Some(&admin),
        )
        .await;
    let invite = json(r).await;
    let token = invite["accept_url"].as_str().and_then(|u| u.rsplit('/').next()).expect("accept url").to_string();
    let r = s
        .post(&format!("/api/v1/auth/invitations/{token}/accept"), json!({"name": "CTO", "password": PASSWORD}), None)
        .await;
    assert_eq!(json(r).await["error"], "sso_required");
    // The sign-in page says so beside the email field.
    let r = s
        .client()
        .post(s.url("/login"))
        .header("origin", &s.base)
        .form(&[("email", "ceo@corp.example"), ("password", PASSWORD)])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("html").contains("sign in with corp SSO"));
    // Other domains keep their passwords.
    s.login("admin@example.com", PASSWORD).await;
}

/// Without `trustEmailForLinking` (the default without a profile that verifies), a first SSO
/// login never takes over an existing account of the same address.
async fn linking_needs_a_trusted_provider(a: Adapter) {
    let (s, idp) = app_and_idp(a, "RS256", "").await;
    s.first_admin().await;
    let w = sso(&s, &idp, "admin-at-idp", "admin@example.com", true).await;
    assert!(w.session.is_none(), "{w:?}");
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    assert!(w.body.contains("trustEmailForLinking"), "{}", w.body);
}
