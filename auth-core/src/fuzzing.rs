//! Entry points for the fuzz targets in `fuzz/` (compiled only with `--cfg fuzzing`, which
//! `cargo fuzz` sets): the crate-private parsers that see attacker bytes, each reached exactly
//! as a request reaches it. Nothing here exists in a normal build.

use serde_json::Value;

use crate::api;
use crate::http::RequestView;
use crate::service::AuthService;

/// Every JSON request body of `/api/v1/auth`, parsed as its handler parses it. Each failure must
/// be a 400 `invalid_request` that names a field (never a panic, never another status).
pub fn parse_bodies(body: &[u8]) {
    fn one<T: serde::de::DeserializeOwned>(body: &[u8]) {
        if let Err(e) = api::parse_json::<T>(body) {
            assert_eq!(e.status(), 400, "a body parse error must be a 400: {e:?}");
        }
    }
    one::<api::SignupBody>(body);
    one::<api::LoginBody>(body);
    one::<api::PatchMeBody>(body);
    one::<api::RoleBody>(body);
    one::<api::InviteBody>(body);
    one::<api::AcceptBody>(body);
    one::<api::ForgotBody>(body);
    one::<api::ResetBody>(body);
    one::<api::TokenBody>(body);
    one::<api::PasswordBody>(body);
}

/// The built-in pages' form parser (`application/x-www-form-urlencoded`): every field is a
/// string, and the last of a repeated name wins.
pub fn form_fields(body: &[u8]) -> Value {
    crate::pages::form_fields(body)
}

/// The client address the throttle and the audit log see, from the peer and
/// `X-Forwarded-For` (trusted proxies only).
pub fn client_ip(service: &AuthService, req: &RequestView<'_>) -> Option<std::net::IpAddr> {
    service.client_ip(req)
}

/// The CSRF check of unsafe requests (`Sec-Fetch-Site`, `Origin`).
pub fn check_csrf(service: &AuthService, req: &RequestView<'_>) -> bool {
    service.check_csrf(req).is_ok()
}

/// The OpenID Connect flow cookie of `service` (configured with at least one provider).
#[cfg(feature = "oidc")]
pub mod flow {
    use crate::oidc::Flow;
    use crate::service::AuthService;

    /// The fields of a flow, as the fuzzer chooses them.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct FlowFields {
        /// Provider id.
        pub provider: String,
        /// `state`.
        pub state: String,
        /// `nonce`.
        pub nonce: String,
        /// PKCE verifier.
        pub verifier: String,
        /// Where to go afterwards.
        pub return_to: String,
        /// An invitation token.
        pub invitation: Option<String>,
        /// Created at.
        pub created: i64,
    }

    fn to_flow(f: &FlowFields) -> Flow {
        Flow {
            p: f.provider.clone(),
            s: f.state.clone(),
            n: f.nonce.clone(),
            v: f.verifier.clone(),
            r: f.return_to.clone(),
            i: f.invitation.clone(),
            t: f.created,
        }
    }

    /// The `Set-Cookie` value sealing `fields`, as `/login/oidc` sets it.
    pub fn seal(service: &AuthService, fields: &FlowFields) -> Option<String> {
        Some(service.inner.oidc.as_ref()?.flow_cookie(&to_flow(fields)))
    }

    /// Opens a sealed flow cookie value as the callback does.
    pub fn open(service: &AuthService, sealed: &str) -> Option<FlowFields> {
        let f = service.inner.oidc.as_ref()?.open_flow(Some(sealed))?;
        Some(FlowFields {
            provider: f.p,
            state: f.s,
            nonce: f.n,
            verifier: f.v,
            return_to: f.r,
            invitation: f.i,
            created: f.t,
        })
    }
}

/// `return_to` normalisation (login page, sign-up page, OIDC login).
pub use crate::http::safe_return_to;
