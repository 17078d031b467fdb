use auth_core::AuthService;
use tower_layer::Layer;

use crate::service::AuthMiddleware;

/// Applies the login layer to a tower service (axum: `Router::layer(AuthLayer::new(auth))`).
///
/// Answers `/api/v1/auth/*` and the built-in pages itself; every other request needs a valid
/// session unless its path is in `publicPaths`.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthLayer {
    auth: AuthService,
}

impl AuthLayer {
    /// A layer over `auth`.
    pub fn new(auth: AuthService) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthMiddleware { inner, auth: self.auth.clone() }
    }
}
