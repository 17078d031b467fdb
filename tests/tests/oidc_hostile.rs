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
    entra_profile,
    cognito_profile,
    keycloak_profile,
    okta_profile,
    google_profile,
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
    drop(s);
    // Per provider: each entry of oidc.providers has its own, the global values as default.
    let entry = |id: &str, extra: &str| {
        format!(
            "    - id: {id}\n      clientId: {CLIENT_ID}\n      clientSecret: {}\n      discoveryUrl: {}/.well-known/openid-configuration\n{extra}",
            hostile::CLIENT_SECRET,
            idp.base
        )
    };
    let yaml = format!(
        "oidc:\n  providers:\n{}{}{}",
        entry("strict", ""),
        entry("own-ca", &format!("      caCertFile: {}\n", hostile::test_ca_file())),
        entry("insecure", "      verifySsl: false\n"),
    );
    let s = TestServer::start(adapter, &yaml).await;
    for (id, want) in
        [("strict", StatusCode::SERVICE_UNAVAILABLE), ("own-ca", StatusCode::FOUND), ("insecure", StatusCode::FOUND)]
    {
        let r = s.get(&format!("/api/v1/auth/login/oidc?provider={id}"), None).await;
        assert_eq!(r.status(), want, "{id}");
    }
    drop(s);
    let yaml = format!("oidc:\n  caCertFile: {}\n  providers:\n{}", hostile::test_ca_file(), entry("inherits", ""));
    let s = TestServer::start(adapter, &yaml).await;
    let r = s.get("/api/v1/auth/login/oidc?provider=inherits", None).await;
    assert_eq!(r.status(), StatusCode::FOUND, "the global caCertFile is the entry's default");
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
    let sql = "SELECT expires_at FROM oidc_used_states WHERE expires_at > $1";
    let after = now() + 86_400 + 3600;
    let remembered: Vec<i64> = if s.db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&s.db_url).await.expect("the app's store");
        sqlx::query_scalar(sql).bind(after).fetch_all(&pool).await.expect("query")
    } else {
        let pool = sqlx::SqlitePool::connect(&s.db_url).await.expect("the app's store");
        sqlx::query_scalar(sql).bind(after).fetch_all(&pool).await.expect("query")
    };
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

/// The app configured for the hostile provider at a discovery path with extra provider keys.
async fn app_for(adapter: Adapter, idp: &Hostile, discovery_path: &str, extra: &str) -> TestServer {
    let yaml = format!(
        "oidc:\n  clientId: {CLIENT_ID}\n  clientSecret: {}\n  discoveryUrl: {}{discovery_path}/.well-known/openid-configuration\n{extra}",
        hostile::CLIENT_SECRET,
        idp.base
    );
    TestServer::start(adapter, &yaml).await
}

async fn role_in(s: &TestServer, token: &str, org: &str) -> Option<String> {
    let me = auth_tests::json(s.get("/api/v1/auth/me", Some(token)).await).await;
    me["organizations"].as_array()?.iter().find(|o| o["id"] == org).and_then(|o| o["role"].as_str().map(str::to_string))
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Entra ID, multi-tenant: the issuer `{tenantid}` is the token's `tid`, which must be an
/// allowed tenant; no `email_verified` (created on the profile's assumption, never linked).
async fn entra_profile(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let template = format!("{}/{{tenantid}}/v2.0", idp.base);
    idp.set(|sc| sc.issuer = Some(template.clone()));
    // Without the profile the announced issuer is another one: refused.
    let plain = app_for(adapter, &idp, "/common/v2.0", "").await;
    assert_eq!(plain.get("/api/v1/auth/login/oidc", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    drop(plain);
    let s = app_for(adapter, &idp, "/common/v2.0", &format!("  profile: entra\n  tenants: [{TENANT}]\n")).await;
    let (_, org) = s.first_admin().await;
    let entra = |tid: &'static str, iss_tid: &'static str, email: &'static str| {
        let base = idp.base.clone();
        move |c: Value, sc: &mut Script| {
            let claims = with(c, |m| {
                m.insert("iss".into(), json!(format!("{base}/{iss_tid}/v2.0")));
                m.insert("tid".into(), json!(tid));
                m.insert("email".into(), json!(email));
                m.remove("email_verified");
            });
            sc.id_token = Key::A.sign(Some("a"), &claims);
            sc.userinfo = Some(json!({"sub": "user-1"}));
        }
    };
    let (status, session) = attempt(&s, &idp, entra(TENANT, TENANT, "ent@example.com")).await;
    let token = session.unwrap_or_else(|| panic!("entra sign-in: {status}"));
    let me = auth_tests::json(s.get("/api/v1/auth/me", Some(&token)).await).await;
    assert_eq!(me["user"]["email"], "ent@example.com");
    assert_eq!(me["user"]["email_verified"], false, "assumed, not verified");
    assert_eq!(role_in(&s, &token, &org).await, None);
    for (name, tid, iss_tid, want) in [
        ("a tenant not in tenants", OTHER_TENANT, OTHER_TENANT, StatusCode::FORBIDDEN),
        ("iss of another tenant than tid", TENANT, OTHER_TENANT, StatusCode::UNAUTHORIZED),
        ("tid not a tenant id", "common", "common", StatusCode::UNAUTHORIZED),
    ] {
        let (status, session) = attempt(&s, &idp, entra(tid, iss_tid, "x@example.com")).await;
        assert_eq!((status, session.is_some()), (want, false), "{name}");
    }
    // The callback's iss parameter (RFC 9207) names the user's tenant: an allowed one passes.
    for (tid, want) in [(TENANT, StatusCode::FOUND), (OTHER_TENANT, StatusCode::BAD_REQUEST)] {
        let a = begin(&s).await;
        let claims = good_claims(&idp, &a.nonce);
        idp.set(|sc| entra(TENANT, TENANT, "ent@example.com")(claims, sc));
        let iss = format!("{}/{tid}/v2.0", idp.base).replace(':', "%3A").replace('/', "%2F");
        let r = s
            .client()
            .get(s.url(&format!("/api/v1/auth/callback?code=c&state={}&iss={iss}", a.state)))
            .header("cookie", &a.cookie)
            .send()
            .await
            .expect("callback");
        assert_eq!(r.status(), want, "iss of tenant {tid}");
    }
    // An existing account with the address is never linked on an assumption.
    let (status, session) = attempt(&s, &idp, |c, sc| {
        entra(TENANT, TENANT, "admin@example.com")(
            with(c, |m| {
                m.insert("sub".into(), json!("user-2"));
            }),
            sc,
        );
        sc.userinfo = Some(json!({"sub": "user-2"}));
    })
    .await;
    assert_eq!((status, session.is_some()), (StatusCode::FORBIDDEN, false));
}

/// Cognito: UserInfo says `email_verified` as a string; groups in `cognito:groups`.
async fn cognito_profile(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let thin = |c: Value, sc: &mut Script| {
        let claims = with(c, |m| {
            m.remove("email");
            m.remove("email_verified");
        });
        sc.id_token = Key::A.sign(Some("a"), &claims);
        sc.userinfo = Some(json!({"sub": "user-1", "email": "cog@example.com", "email_verified": "true",
            "cognito:groups": ["admins"]}));
    };
    // Without the profile the string is not a boolean: no session.
    let plain = TestServer::start(adapter, &idp.yaml()).await;
    let (status, session) = attempt(&plain, &idp, thin).await;
    assert!(session.is_none() && status.is_client_error() || status == StatusCode::BAD_GATEWAY, "{status}");
    drop(plain);
    let s = TestServer::start(adapter, &format!("{}  profile: cognito\n  adminValues: [admins]\n", idp.yaml())).await;
    let (_, org) = s.first_admin().await;
    let (status, session) = attempt(&s, &idp, thin).await;
    let token = session.unwrap_or_else(|| panic!("cognito sign-in: {status}"));
    let me = auth_tests::json(s.get("/api/v1/auth/me", Some(&token)).await).await;
    assert_eq!(me["user"]["email_verified"], true, "\"true\" counts under the profile");
    assert_eq!(role_in(&s, &token, &org).await.as_deref(), Some("admin"), "cognito:groups mapped");
    // "false" is false, and UserInfo of another subject is refused.
    let (_, session) = attempt(&s, &idp, |c, sc| {
        thin(
            with(c, |m| {
                m.insert("sub".into(), json!("user-3"));
            }),
            sc,
        );
        sc.userinfo = Some(json!({"sub": "user-3", "email": "cog3@example.com", "email_verified": "false"}));
    })
    .await;
    assert!(session.is_none(), "an unverified address creates no account");
    let (status, session) = attempt(&s, &idp, |c, sc| {
        thin(c, sc);
        sc.userinfo = Some(json!({"sub": "someone-else", "email": "cog@example.com", "email_verified": "true"}));
    })
    .await;
    assert_eq!((status, session.is_some()), (StatusCode::UNAUTHORIZED, false));
}

/// Keycloak: issuer under /realms/NAME, realm roles in `realm_access.roles`; its word does
/// not link existing accounts (realm admins set `email_verified`).
async fn keycloak_profile(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let issuer = format!("{}/realms/acme", idp.base);
    idp.set(|sc| sc.issuer = Some(issuer.clone()));
    let s = app_for(
        adapter,
        &idp,
        "/realms/acme",
        "  profile: keycloak\n  adminValues: [app-admin]\n  memberValues: [app-user]\n",
    )
    .await;
    let (_, org) = s.first_admin().await;
    let roles = |sub: &'static str, email: &'static str, roles: &'static [&'static str]| {
        let issuer = issuer.clone();
        move |c: Value, sc: &mut Script| {
            let claims = with(c, |m| {
                m.insert("iss".into(), json!(issuer));
                m.insert("sub".into(), json!(sub));
                m.insert("email".into(), json!(email));
                m.insert("typ".into(), json!("ID"));
                m.insert("azp".into(), json!(CLIENT_ID));
                m.insert("realm_access".into(), json!({"roles": roles}));
            });
            sc.id_token = Key::A.sign(Some("a"), &claims);
            sc.userinfo = Some(json!({"sub": sub, "email": email, "email_verified": true}));
        }
    };
    let (_, session) = attempt(&s, &idp, roles("kc-1", "kc@example.com", &["offline_access", "app-admin"])).await;
    let token = session.expect("keycloak sign-in");
    assert_eq!(role_in(&s, &token, &org).await.as_deref(), Some("admin"));
    let (_, session) = attempt(&s, &idp, roles("kc-1", "kc@example.com", &["app-user"])).await;
    assert_eq!(role_in(&s, &session.expect("again"), &org).await.as_deref(), Some("member"), "demoted");
    let (status, session) = attempt(&s, &idp, roles("kc-2", "admin@example.com", &["app-admin"])).await;
    assert_eq!((status, session.is_some()), (StatusCode::FORBIDDEN, false), "not linked to the password account");
}

/// Okta: a thin ID token; email and groups come from UserInfo.
async fn okta_profile(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let s = TestServer::start(adapter, &format!("{}  profile: okta\n  memberValues: [app-users]\n", idp.yaml())).await;
    let (_, org) = s.first_admin().await;
    let (status, session) = attempt(&s, &idp, |c, sc| {
        let claims = with(c, |m| {
            m.remove("email");
            m.remove("email_verified");
        });
        sc.id_token = Key::A.sign(Some("a"), &claims);
        sc.userinfo = Some(json!({"sub": "user-1", "email": "okta@example.com", "email_verified": true,
            "groups": ["Everyone", "app-users"]}));
    })
    .await;
    let token = session.unwrap_or_else(|| panic!("okta sign-in: {status}"));
    assert_eq!(role_in(&s, &token, &org).await.as_deref(), Some("member"));
}

/// Google: with `domains`, `hd` must be one of them. (Its older scheme-less `iss`,
/// `accounts.google.com`, is not a URL: the token is refused, never a 500.)
async fn google_profile(adapter: Adapter) {
    let idp = Hostile::start(false).await;
    let s = TestServer::start(adapter, &format!("{}  profile: google\n  domains: [example.com]\n", idp.yaml())).await;
    let bare = idp.base.trim_start_matches("http://").to_string();
    let google = |iss: String, hd: Option<&'static str>| {
        move |c: Value, sc: &mut Script| {
            let claims = with(c, |m| {
                m.insert("iss".into(), json!(iss));
                if let Some(hd) = hd {
                    m.insert("hd".into(), json!(hd));
                }
            });
            sc.id_token = Key::A.sign(Some("a"), &claims);
        }
    };
    for (name, iss, hd, want) in [
        ("another Workspace domain", idp.base.clone(), Some("evil.example"), StatusCode::FORBIDDEN),
        ("no hd (a consumer account)", idp.base.clone(), None, StatusCode::FORBIDDEN),
        ("another issuer", "https://accounts.evil.example".to_string(), Some("example.com"), StatusCode::UNAUTHORIZED),
        ("a scheme-less issuer", bare, Some("example.com"), StatusCode::BAD_GATEWAY),
    ] {
        let (status, session) = attempt(&s, &idp, google(iss, hd)).await;
        assert_eq!((status, session.is_some()), (want, false), "{name}");
    }
    let (status, session) = attempt(&s, &idp, google(idp.base.clone(), Some("example.com"))).await;
    assert_eq!((status, session.is_some()), (StatusCode::FOUND, true), "a Workspace account of the domain");
}
