use auth_core::AuthService;
use tower_layer::Layer;

use crate::service::Auth;

/// Applies the login layer to a tower service (axum: `Router::layer(AuthLayer::new(auth))`).
///
/// Answers `/api/v1/auth/*` and the built-in pages itself; every other request needs a valid
/// session unless its path is in `publicPaths`, and carries the user into the handler
/// ([`CurrentUser`](crate::CurrentUser)).
///
/// Serve axum with `into_make_service_with_connect_info::<SocketAddr>()`: the layer reads the
/// client address from `ConnectInfo` (or a plain `SocketAddr` extension) for per-client login
/// throttling. Without it, throttling per client is off and one warning is logged.
///
/// ```no_run
/// use std::net::SocketAddr;
///
/// use auth_tower::auth_core::{AuthConfig, AuthService};
/// use auth_tower::{AuthLayer, CurrentUser};
/// use axum::{Router, routing::get};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = AuthService::new(AuthConfig::load()?).await?;
/// let app = Router::new()
///     .route("/", get(|user: CurrentUser| async move { format!("Hello, {}", user.email) }))
///     .route("/health", get(|| async { "ok" })) // listed in publicPaths
///     .layer(AuthLayer::new(auth));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # Ok(()) }
/// ```
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
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth { inner, auth: self.auth.clone() }
    }
}
