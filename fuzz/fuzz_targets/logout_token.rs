//! The back-channel logout (`POST /api/v1/auth/backchannel-logout`): the form and its logout
//! token, through `AuthService::handle` with a provider on loopback (JWKS: RSA key `a`, EC key
//! `e`). Input: a raw form body, or (first byte `0x01`) a JWT header and claims in JSON, signed
//! by the harness (ES256 with key `e`, or RS256 with key `a` when the header says RS256).
//! `$ISS` and `$AUD` become the provider's issuer and client id. The verifier learns the keys
//! only from the provider's JWKS. Properties: no panic, no 500; a token is accepted (200) only
//! if the harness signed it and its claims meet OIDC Back-Channel Logout 1.0 §2.6 (iss, aud,
//! the event, sub or sid, no nonce).
#![no_main]

use std::sync::OnceLock;

use auth_core::AuthService;
use auth_fuzz::{Headers, request, runtime};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct State {
    service: AuthService,
    rsa: jsonwebtoken::EncodingKey,
    ec: jsonwebtoken::EncodingKey,
}

fn state() -> &'static State {
    static S: OnceLock<State> = OnceLock::new();
    S.get_or_init(|| State {
        service: auth_fuzz::service("logout_token", "", true),
        rsa: jsonwebtoken::EncodingKey::from_rsa_pem(&auth_fuzz::rsa_a_pem()).expect("rsa key"),
        ec: jsonwebtoken::EncodingKey::from_ec_pem(&auth_fuzz::ec_e_pem()).expect("ec key"),
    })
}

fuzz_target!(|data: &[u8]| {
    let s = state();
    let fill = |t: &str| t.replace("$ISS", auth_fuzz::idp_base()).replace("$AUD", auth_fuzz::CLIENT_ID);
    let (body, signed_claims) = if data.first() == Some(&1) {
        let Some(f) = auth_fuzz::fields(&data[1..], 2) else { return };
        let (header, claims) = (fill(f[0]), fill(f[1]));
        // Signed over exactly the header and claims bytes the fuzzer wrote.
        let signing_input =
            format!("{}.{}", auth_fuzz::b64url(header.as_bytes()), auth_fuzz::b64url(claims.as_bytes()));
        // ES256 (key `e`) unless the header asks for RS256 (key `a`).
        let (key, alg) = if header.contains("RS256") {
            (&s.rsa, jsonwebtoken::Algorithm::RS256)
        } else {
            (&s.ec, jsonwebtoken::Algorithm::ES256)
        };
        let Ok(sig) = jsonwebtoken::crypto::sign(signing_input.as_bytes(), key, alg) else { return };
        let token = format!("{signing_input}.{sig}");
        let body: String =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", &token).finish();
        (body.into_bytes(), serde_json::from_str::<Value>(&claims).ok().map(|c| (header, c)))
    } else {
        (fill(&String::from_utf8_lossy(data)).into_bytes(), None)
    };
    let headers = Headers::default().with("content-type", "application/x-www-form-urlencoded");
    let req = request("POST", "/api/v1/auth/backchannel-logout", None, &headers, Some([127, 0, 0, 1].into()));
    let response = runtime().block_on(s.service.handle(&req, &body));
    assert!(response.status < 500 || response.status == 503, "back-channel logout answered {}", response.status);
    if response.status == 200 {
        let (header, c) = signed_claims.expect("only a token the provider signed is accepted");
        let header: Value = serde_json::from_str(&header).expect("an accepted token's header is JSON");
        assert!(header["alg"] == "RS256" || header["alg"] == "ES256", "accepted alg {}", header["alg"]);
        assert_eq!(c["iss"].as_str().map(|i| i.trim_end_matches('/')), Some(auth_fuzz::idp_base()));
        let aud_ok = c["aud"] == auth_fuzz::CLIENT_ID
            || c["aud"].as_array().is_some_and(|a| a.iter().any(|x| x == auth_fuzz::CLIENT_ID));
        assert!(aud_ok, "accepted for another audience: {c}");
        assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(), "{c}");
        assert!(c.get("nonce").is_none(), "accepted with a nonce: {c}");
        assert!(c["sub"].is_string() || c["sid"].is_string(), "{c}");
    }
});
