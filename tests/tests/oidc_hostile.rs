//! A hostile provider: the OpenID Foundation RP conformance cases (what a real provider never
//! sends) must each be refused with no session; and TLS towards the IdP. Both adapters.

use auth_tests::hostile::{self, CLIENT_ID, Hostile, Key, Script};
use auth_tests::{Adapter, StatusCode, TestServer, both, session_token};
use serde_json::{Value, json};

both!(
    conformance_cases_are_refused,
    kid_absent_with_a_single_key_is_accepted,
    discovery_issuer_mismatch,
    tls_towards_the_idp,
    dropped_keys_stop_verifying,
    logout_tokens_by_the_spec,
);

/// One login attempt started at the app: the state, nonce and flow cookie.
struct Attempt {
    state: String,
    nonce: String,
    cookie: String,
}

fn param(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| v.replace("%2D", "-").replace("%5F", "_"))
        .unwrap_or_else(|| panic!("{name} missing in {url}"))
}

async fn begin(s: &TestServer) -> Attempt {
    let r = s.get("/api/v1/auth/login/oidc", None).await;
    assert_eq!(r.status(), StatusCode::FOUND, "login/oidc");
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    let cookie = r.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("cookie").to_string();
    Attempt { state: param(&location, "state"), nonce: param(&location, "nonce"), cookie }
}

/// Calls the app's callback as the browser would; returns the status and any session.
async fn finish(s: &TestServer, a: &Attempt) -> (StatusCode, Option<String>) {
    let r = s
        .client()
        .get(s.url(&format!("/api/v1/auth/callback?code=some-code&state={}", a.state)))
        .header("cookie", &a.cookie)
        .send()
        .await
        .expect("callback");
    (r.status(), session_token(&r))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn good_claims(idp: &Hostile, nonce: &str) -> Value {
    json!({
        "iss": idp.base, "sub": "user-1", "aud": CLIENT_ID, "iat": now(), "exp": now() + 300,
        "nonce": nonce, "email": "hostile@example.com", "email_verified": true, "at_hash": hostile::at_hash(),
    })
}

fn good_userinfo() -> Value {
    json!({"sub": "user-1", "email": "hostile@example.com", "email_verified": true})
}

/// Runs one case: `prepare` shapes the script from good claims; returns the callback result.
async fn attempt(
    s: &TestServer,
    idp: &Hostile,
    prepare: impl FnOnce(Value, &mut Script),
) -> (StatusCode, Option<String>) {
    let a = begin(s).await;
    let claims = good_claims(idp, &a.nonce);
    idp.set(|script| {
        *script = Script { jwks: Some(two_keys()), userinfo: Some(good_userinfo()), ..Script::default() };
        prepare(claims, script);
    });
    finish(s, &a).await
}

/// The provider publishes two signing keys, `a` and `b`, from the start.
fn two_keys() -> Value {
    json!({"keys": [Key::A.jwk(true), Key::B.jwk(true)]})
}

fn with(mut claims: Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    edit(claims.as_object_mut().expect("object"));
    claims
}

async fn conformance_cases_are_refused(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    idp.set(|sc| sc.jwks = Some(two_keys()));
    let s = TestServer::start(adapter, &idp.yaml()).await;

    // Control: a well-formed answer signs in (so every refusal below is about its one defect).
    let (status, session) = attempt(&s, &idp, |c, sc| sc.id_token = Key::A.sign(Some("a"), &c)).await;
    assert_eq!(status, StatusCode::FOUND);
    let token = session.expect("the control case signs in");
    assert_eq!(s.get("/api/hello", Some(&token)).await.status(), StatusCode::OK);

    type Case = Box<dyn FnOnce(Value, &mut Script)>;
    let cases: Vec<(&str, Case)> = vec![
        ("signature by another key under kid a", Box::new(|c, sc| sc.id_token = Key::B.sign(Some("a"), &c))),
        ("alg none", Box::new(|c, sc| sc.id_token = hostile::unsigned(&c))),
        ("HS256 keyed with the client secret", Box::new(|c, sc| sc.id_token = hostile::hs256_with_client_secret(&c))),
        (
            "wrong iss",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("iss".into(), json!("https://evil.example"));
                    }),
                )
            }),
        ),
        (
            "wrong aud",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("aud".into(), json!("someone-else"));
                    }),
                )
            }),
        ),
        (
            "missing aud",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.remove("aud");
                    }),
                )
            }),
        ),
        (
            "untrusted extra aud",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("aud".into(), json!([CLIENT_ID, "untrusted"]));
                        m.insert("azp".into(), json!(CLIENT_ID));
                    }),
                )
            }),
        ),
        (
            "azp of another client",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("azp".into(), json!("someone-else"));
                    }),
                )
            }),
        ),
        (
            "missing sub",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.remove("sub");
                    }),
                )
            }),
        ),
        (
            "missing iat",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.remove("iat");
                    }),
                )
            }),
        ),
        (
            "iat far in the future",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("iat".into(), json!(now() + 3600));
                        m.insert("exp".into(), json!(now() + 7200));
                    }),
                )
            }),
        ),
        (
            "expired",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("exp".into(), json!(now() - 3600));
                        m.insert("iat".into(), json!(now() - 7200));
                    }),
                )
            }),
        ),
        (
            "invalid nonce",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("nonce".into(), json!("not-the-nonce"));
                    }),
                )
            }),
        ),
        (
            "missing nonce",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.remove("nonce");
                    }),
                )
            }),
        ),
        (
            "at_hash mismatch",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
                    }),
                )
            }),
        ),
        (
            "UserInfo with a different sub",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(Some("a"), &c);
                sc.userinfo =
                    Some(json!({"sub": "someone-else", "email": "hostile@example.com", "email_verified": true}));
            }),
        ),
        ("kid absent, several keys", Box::new(|c, sc| sc.id_token = Key::A.sign(None, &c))),
        (
            "unknown kid (and still unknown after one refetch)",
            Box::new(|c, sc| sc.id_token = Key::A.sign(Some("nope"), &c)),
        ),
        ("no ID token", Box::new(|_, sc| sc.id_token = String::new())),
        ("ID token is garbage", Box::new(|_, sc| sc.id_token = "a.b.c".into())),
        (
            "email not verified",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(
                    Some("a"),
                    &with(c, |m| {
                        m.insert("sub".into(), json!("user-2"));
                        m.insert("email_verified".into(), json!(false));
                    }),
                );
                sc.userinfo = Some(json!({"sub": "user-2", "email": "other@example.com", "email_verified": false}));
            }),
        ),
        (
            "token endpoint redirects elsewhere",
            Box::new(|c, sc| {
                sc.id_token = Key::A.sign(Some("a"), &c);
                sc.token_redirects = true;
            }),
        ),
    ];
    for (name, prepare) in cases {
        let (status, session) = attempt(&s, &idp, prepare).await;
        assert!(session.is_none(), "{name}: a session was issued");
        assert!(
            status.is_client_error() || status == StatusCode::BAD_GATEWAY || status == StatusCode::SERVICE_UNAVAILABLE,
            "{name}: {status}"
        );
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
    }

    // A replayed callback (same state) is refused before any token request.
    let a = begin(&s).await;
    let claims = good_claims(&idp, &a.nonce);
    idp.set(|sc| {
        *sc =
            Script { userinfo: Some(good_userinfo()), id_token: Key::A.sign(Some("a"), &claims), ..Script::default() };
    });
    assert_eq!(finish(&s, &a).await.0, StatusCode::FOUND);
    let (status, session) = finish(&s, &a).await;
    assert_eq!((status, session), (StatusCode::BAD_REQUEST, None), "replay");

    // An error from the IdP: a clear 4xx, never a 500.
    let a = begin(&s).await;
    let r = s
        .client()
        .get(s.url(&format!("/api/v1/auth/callback?error=access_denied&error_description=no&state={}", a.state)))
        .header("cookie", &a.cookie)
        .header("accept", "text/html")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("html").contains("denied"));
}

async fn kid_absent_with_a_single_key_is_accepted(adapter: Adapter) {
    // Unambiguous: the one published key (as the conformance suite expects).
    let idp = Hostile::start(false).await;
    idp.set(|sc| sc.jwks = Some(json!({"keys": [Key::A.jwk(false)]})));
    let s = TestServer::start(adapter, &idp.yaml()).await;
    let (status, session) = attempt(&s, &idp, |c, sc| {
        sc.jwks = Some(json!({"keys": [Key::A.jwk(false)]}));
        sc.id_token = Key::A.sign(None, &c);
    })
    .await;
    assert_eq!((status, session.is_some()), (StatusCode::FOUND, true));
}

async fn discovery_issuer_mismatch(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    idp.set(|sc| sc.issuer = Some("https://evil.example".into()));
    let s = TestServer::start(adapter, &idp.yaml()).await;
    let r = s.get("/api/v1/auth/login/oidc", None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = r.text().await.expect("body");
    assert!(body.contains("idp_unavailable") && body.contains("issuer"), "{body}");
}

async fn tls_towards_the_idp(adapter: Adapter) {
    let idp = Hostile::start(true).await;
    // A certificate from an unknown CA is refused by default.
    let s = TestServer::start(adapter, &idp.yaml()).await;
    assert_eq!(s.get("/api/v1/auth/login/oidc", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    drop(s);
    // ... accepted with verification off (OIDC_VERIFY_SSL=false) ...
    let s = TestServer::start(adapter, &format!("{}  verifySsl: false\n", idp.yaml())).await;
    assert_eq!(s.get("/api/v1/auth/login/oidc", None).await.status(), StatusCode::FOUND);
    drop(s);
    // ... and, better, with the CA in oidc.caCertFile.
    let s = TestServer::start(adapter, &format!("{}  caCertFile: {}\n", idp.yaml(), hostile::test_ca_file())).await;
    assert_eq!(s.get("/api/v1/auth/login/oidc", None).await.status(), StatusCode::FOUND);
}

/// A key the provider stopped publishing stops verifying once the keys are re-read; a new
/// kid is picked up at once.
async fn dropped_keys_stop_verifying(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let only = |k: Key| json!({"keys": [k.jwk(true)]});
    idp.set(|sc| sc.jwks = Some(only(Key::A)));
    let s = TestServer::start(adapter, &idp.yaml()).await;
    let signed_by = |k: Key, kid: &'static str| {
        move |c: Value, sc: &mut Script| {
            sc.jwks = Some(only(Key::B));
            sc.id_token = k.sign(Some(kid), &c);
        }
    };
    // Control, with key a published.
    let (status, session) = attempt(&s, &idp, |c, sc| {
        sc.jwks = Some(only(Key::A));
        sc.id_token = Key::A.sign(Some("a"), &c);
    })
    .await;
    assert_eq!((status, session.is_some()), (StatusCode::FOUND, true));
    // The provider now publishes only b: a token under kid b signs in (one re-read) ...
    let (status, session) = attempt(&s, &idp, signed_by(Key::B, "b")).await;
    assert_eq!((status, session.is_some()), (StatusCode::FOUND, true), "the new kid is followed");
    // ... and a token by the dropped key a is refused, although a was cached before.
    let (status, session) = attempt(&s, &idp, signed_by(Key::A, "a")).await;
    assert_eq!((status, session.is_some()), (StatusCode::UNAUTHORIZED, false), "the dropped key still verifies");
}

fn logout_claims(idp: &Hostile, jti: &str) -> Value {
    json!({"iss": idp.base, "aud": CLIENT_ID, "iat": now(), "exp": now() + 120, "jti": jti, "sub": "user-1",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}}})
}

async fn post_logout(s: &TestServer, token: &str) -> (StatusCode, String) {
    let r = s
        .client()
        .post(s.url("/api/v1/auth/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("req");
    (r.status(), r.text().await.unwrap_or_default())
}

/// OpenID Back-Channel Logout 1.0 §2.6: `exp` (or a bounded `iat` without one), the jti
/// remembered for the token's whole lifetime, the keys re-read on an unknown kid.
async fn logout_tokens_by_the_spec(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    idp.set(|sc| sc.jwks = Some(json!({"keys": [Key::A.jwk(true)]})));
    let s = TestServer::start(adapter, &idp.yaml()).await;
    let sign = |claims: &Value| Key::A.sign_logout(Some("a"), claims);

    // A token valid for two days: accepted once, and its jti kept until it expires (the
    // store's record, read directly), not for a fixed day.
    let exp = now() + 2 * 86_400;
    let long = sign(&with(logout_claims(&idp, "long-lived"), |m| {
        m.insert("exp".into(), json!(exp));
    }));
    assert_eq!(post_logout(&s, &long).await.0, StatusCode::OK);
    let (status, body) = post_logout(&s, &long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("already used"), "{body}");
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.expect("the app's store");
    let remembered: Vec<i64> = sqlx::query_scalar("SELECT expires_at FROM oidc_used_states WHERE expires_at > ?")
        .bind(now() + 86_400 + 3600)
        .fetch_all(&pool)
        .await
        .expect("query");
    assert_eq!(remembered.len(), 1, "the jti is remembered beyond a day");
    assert!(remembered[0] > exp, "the jti is remembered until the token expires: {} <= {exp}", remembered[0]);

    // Without exp: accepted while iat is at most 5 minutes old, refused after.
    let no_exp = |jti: &str, iat: i64| {
        sign(&with(logout_claims(&idp, jti), |m| {
            m.remove("exp");
            m.insert("iat".into(), json!(iat));
        }))
    };
    assert_eq!(post_logout(&s, &no_exp("fresh", now())).await.0, StatusCode::OK);
    assert_eq!(post_logout(&s, &no_exp("fresh", now())).await.0, StatusCode::BAD_REQUEST, "replay");
    let (status, body) = post_logout(&s, &no_exp("stale", now() - 400)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Expired, iat in the future, no jti, a nonce: refused.
    let refused = [
        (
            "expired",
            with(logout_claims(&idp, "expired"), |m| {
                m.insert("exp".into(), json!(now() - 120));
                m.insert("iat".into(), json!(now() - 300));
            }),
        ),
        (
            "iat in the future",
            with(logout_claims(&idp, "future"), |m| {
                m.insert("iat".into(), json!(now() + 600));
            }),
        ),
        (
            "no jti",
            with(logout_claims(&idp, "x"), |m| {
                m.remove("jti");
            }),
        ),
        (
            "a nonce",
            with(logout_claims(&idp, "nonce"), |m| {
                m.insert("nonce".into(), json!("n"));
            }),
        ),
        (
            "no event",
            with(logout_claims(&idp, "event"), |m| {
                m.remove("events");
            }),
        ),
    ];
    for (name, claims) in refused {
        let (status, body) = post_logout(&s, &sign(&claims)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
    }

    // The provider rotates to key b: a logout token under kid b is verified after a re-read;
    // one by the dropped key a is refused from then on.
    idp.set(|sc| sc.jwks = Some(json!({"keys": [Key::B.jwk(true)]})));
    let rotated = Key::B.sign_logout(Some("b"), &logout_claims(&idp, "after-rotation"));
    let (status, body) = post_logout(&s, &rotated).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post_logout(&s, &sign(&logout_claims(&idp, "dropped-key"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
