//! Built without the `oidc` feature: no relying party, and no OpenID Connect dependency. The
//! config refuses `oidc` settings in such a build, so [`Oidc`] is never constructed; the routes
//! answer 404 like any route that does not exist.

use crate::config::AuthConfig;
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::secret::Secret;
use crate::service::AuthService;
use crate::session::CurrentUser;

/// Uninhabited: there is no relying party in this build.
pub(crate) enum Oidc {}

impl Oidc {
    pub(crate) fn new(_config: &AuthConfig, _secret: &Secret<Vec<u8>>) -> Result<Self, String> {
        Err("this build has no OpenID Connect support (enable the `oidc` feature of auth-core)".into())
    }

    pub(crate) fn warm_up(&self) {
        match *self {}
    }

    pub(crate) fn clear_flow_cookie(&self) -> String {
        match *self {}
    }
}

fn absent() -> AuthError {
    AuthError::NotFound("OpenID Connect is not part of this build".into())
}

impl AuthService {
    pub(crate) async fn oidc_login(&self, _req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
        Err(absent())
    }

    pub(crate) async fn oidc_callback(&self, _req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
        Err(absent())
    }

    pub(crate) async fn oidc_logout_url(&self, _user: &CurrentUser) -> Option<String> {
        None
    }

    pub(crate) async fn backchannel_logout(&self, _body: &[u8]) -> Result<AuthResponse, AuthError> {
        Err(absent())
    }
}
