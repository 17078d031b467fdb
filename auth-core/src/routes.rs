//! The top of the core: which part of the stack answers a request, and the dispatch of auth
//! requests to the JSON front end ([`crate::api`]) or the pages ([`crate::pages`]). The OIDC
//! redirects live here because they answer browsers (HTML errors) and API clients (JSON) alike.

use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::service::{API_PREFIX, AuthService, RouteKind};

impl AuthService {
    /// Which part of the stack answers `path`.
    pub fn classify(&self, path: &str) -> RouteKind {
        if path == API_PREFIX || path.starts_with("/api/v1/auth/") {
            return RouteKind::Auth;
        }
        if self.inner.config.ui.enabled && crate::pages::is_page(path) {
            return RouteKind::Auth;
        }
        let public = self.inner.config.public_paths.iter().any(|p| match p.strip_suffix("/*") {
            Some(prefix) => path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/')),
            None => p == path,
        });
        if public { RouteKind::Public } else { RouteKind::Guarded }
    }

    /// Answers an auth route or built-in page. `body` is the request body, already capped by the
    /// adapter at `maxBodyBytes`. Never panics; errors become JSON (or HTML for pages).
    pub async fn handle(&self, req: &RequestView<'_>, body: &[u8]) -> AuthResponse {
        self.note_peer(req);
        if body.len() > self.config().max_body_bytes {
            return AuthResponse::error(&AuthError::PayloadTooLarge);
        }
        if let Some(rest) = req.path.strip_prefix(API_PREFIX) {
            match (req.method, rest) {
                ("GET", "/login/oidc") => {
                    return self.oidc_login(req).await.unwrap_or_else(|e| self.callback_error(req, &e));
                }
                ("GET", "/callback") => {
                    return self
                        .oidc_callback(req)
                        .await
                        .unwrap_or_else(|e| self.callback_error(req, &e))
                        .with_header("set-cookie", self.clear_flow_cookie());
                }
                _ => {}
            }
            return match self.api(req, rest, body).await {
                Ok(r) => r,
                Err(e) => AuthResponse::error(&e),
            };
        }
        crate::pages::handle(self, req, body).await
    }

    /// An OIDC failure (login or callback): an HTML page for browsers, JSON otherwise.
    fn callback_error(&self, req: &RequestView<'_>, e: &AuthError) -> AuthResponse {
        if req.headers.get("accept").is_some_and(|a| a.contains("text/html")) {
            self.error_page(req, "Sign-in failed", e)
        } else {
            AuthResponse::error(e)
        }
    }

    fn clear_flow_cookie(&self) -> String {
        self.inner.oidc.as_ref().map(crate::oidc::Oidc::clear_flow_cookie).unwrap_or_default()
    }
}
