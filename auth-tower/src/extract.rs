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
                Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "sign-in required"),
                Self::LayerMissing => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "CurrentUser needs auth_tower::AuthLayer: is it installed with Router::layer?",
                ),
            };
            let body = format!(r#"{{"error":"{code}","message":"{message}"}}"#);
            (status, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
        type Rejection = CurrentUserRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
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

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<CurrentUser>().cloned())
        }
    }
}

#[cfg(feature = "axum")]
pub use axum_impl::CurrentUserRejection;

pub use auth_core::authz::{Admin, Member, RequiredRole};

/// The signed-in user, checked to hold role `R` in the organization named by the route's
/// `{org}` path parameter (axum extractor). Non-members get 404, members without the role 403.
#[derive(Debug, Clone)]
pub struct OrgRole<R> {
    /// The signed-in user.
    pub user: CurrentUser,
    /// The organization id from the path.
    pub org_id: String,
    /// The user's actual role there.
    pub role: auth_core::Role,
    _required: std::marker::PhantomData<R>,
}

/// [`OrgRole`] requiring the admin role.
pub type OrgAdmin = OrgRole<Admin>;
/// [`OrgRole`] requiring membership.
pub type OrgMember = OrgRole<Member>;

#[cfg(feature = "axum")]
mod axum_roles {
    use axum::extract::RawPathParams;
    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::{CurrentUser, OrgRole, RequiredRole};

    /// Why an [`OrgRole`] extractor refused: the core's error, as its JSON body.
    #[derive(Debug)]
    pub struct RoleRejection(pub auth_core::AuthError);

    impl IntoResponse for RoleRejection {
        fn into_response(self) -> Response {
            crate::convert::response(auth_core::AuthResponse::error(&self.0)).into_response()
        }
    }

    impl<S: Send + Sync, R: RequiredRole> FromRequestParts<S> for OrgRole<R> {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let params = RawPathParams::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
            let org_id = params.iter().find(|(k, _)| *k == "org").map(|(_, v)| v.to_string()).ok_or_else(|| {
                RoleRejection(auth_core::AuthError::invalid("org", "the route has no {org} path parameter"))
                    .into_response()
            })?;
            let role = user.require(&org_id, R::ROLE).map_err(|e| RoleRejection(e).into_response())?;
            Ok(Self { user, org_id, role, _required: std::marker::PhantomData })
        }
    }
}

#[cfg(feature = "axum")]
pub use axum_roles::RoleRejection;
