//! The signed-in user, for handlers.

use std::ops::Deref;

/// The signed-in user, put in the request extensions by [`AuthLayer`](crate::AuthLayer).
///
/// With the `axum` feature it is an extractor: `CurrentUser` refuses with 401 when nobody is
/// signed in (only possible on `publicPaths`), `Option<CurrentUser>` never refuses.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub auth_core::CurrentUser);

impl Deref for CurrentUser {
    type Target = auth_core::CurrentUser;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Marks a request that went through the layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Installed;

#[cfg(feature = "axum")]
mod axum_impl {
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::{CurrentUser, Installed};

    /// Why [`CurrentUser`] could not be extracted.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum CurrentUserRejection {
        /// Nobody is signed in (a `publicPaths` route): 401 `unauthenticated`.
        Unauthenticated,
        /// The request did not pass through `AuthLayer`: a wiring bug, 500.
        LayerMissing,
    }

    impl IntoResponse for CurrentUserRejection {
        fn into_response(self) -> Response {
            let (status, code, message) = match self {
                Self::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "sign-in required",
                ),
                Self::LayerMissing => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "CurrentUser needs auth_tower::AuthLayer: is it installed with Router::layer?",
                ),
            };
            let body = format!(r#"{{"error":"{code}","message":"{message}"}}"#);
            (
                status,
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
        type Rejection = CurrentUserRejection;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            if let Some(user) = parts.extensions.get::<CurrentUser>() {
                return Ok(user.clone());
            }
            if parts.extensions.get::<Installed>().is_none() {
                return Err(CurrentUserRejection::LayerMissing);
            }
            Err(CurrentUserRejection::Unauthenticated)
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<CurrentUser>().cloned())
        }
    }
}

#[cfg(feature = "axum")]
pub use axum_impl::CurrentUserRejection;
