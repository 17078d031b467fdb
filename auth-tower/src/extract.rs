//! The signed-in user, for handlers. Every check is the core's ([`auth_core::authz`]); this
//! file only moves values in and out of axum's request parts.

pub use auth_core::authz::{Admin, Member, RequiredRole};

auth_core::extractor_types! {
    /// The signed-in user, put in the request extensions by [`AuthLayer`](crate::AuthLayer).
    ///
    /// With the `axum` feature it is an extractor: `CurrentUser` refuses with 401 when nobody is
    /// signed in (only possible on `publicPaths`), `Option<CurrentUser>` never refuses. Without the
    /// layer in front, it answers 500 `misconfigured` saying so.
    ///
    /// ```
    /// use auth_tower::CurrentUser;
    /// use axum::{Router, routing::get};
    ///
    /// async fn hello(user: CurrentUser) -> String {
    ///     format!("Hello, {} <{}>", user.name, user.email)
    /// }
    ///
    /// async fn maybe(user: Option<CurrentUser>) -> String {
    ///     user.map_or("Hello, stranger".into(), |u| format!("Hello, {}", u.name))
    /// }
    ///
    /// let app: Router = Router::new().route("/", get(hello)).route("/public", get(maybe));
    /// ```
    CurrentUser;
    /// The signed-in user, checked to hold role `R` in the organization named by the route's
    /// `{org}` path parameter (axum extractor). Non-members get 404, members without the role 403,
    /// both as the JSON error body.
    ///
    /// ```
    /// use auth_tower::{OrgAdmin, OrgMember};
    /// use axum::{Router, routing::{delete, get}};
    ///
    /// async fn report(m: OrgMember) -> String {
    ///     format!("{} is {:?} of {}", m.user.email, m.role, m.org_id)
    /// }
    ///
    /// async fn purge(a: OrgAdmin) -> String {
    ///     format!("{} may purge {}", a.user.email, a.org_id)
    /// }
    ///
    /// let app: Router = Router::new()
    ///     .route("/orgs/{org}/report", get(report))
    ///     .route("/orgs/{org}/data", delete(purge));
    /// ```
    OrgRole;
}

/// Puts what the guard decided into the request's extensions: the user, or the [`Installed`]
/// marker when there is none (one insert per request either way).
pub(crate) fn attach(ext: &mut http::Extensions, user: Option<auth_core::CurrentUser>) {
    match user {
        Some(user) => {
            ext.insert(CurrentUser(user));
        }
        None => {
            ext.insert(Installed);
        }
    }
}

/// Why an extractor refused: the core's error, answered with its status and JSON body.
#[derive(Debug)]
pub struct AuthRejection(pub auth_core::AuthError);

#[cfg(feature = "axum")]
mod axum_impl {
    use auth_core::adapter::AuthResponse;
    use axum::extract::RawPathParams;
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::{AuthRejection, CurrentUser, Installed, OrgRole, RequiredRole};

    impl IntoResponse for AuthRejection {
        fn into_response(self) -> Response {
            crate::convert::response(AuthResponse::error(&self.0)).into_response()
        }
    }

    fn current(parts: &Parts) -> Result<CurrentUser, AuthRejection> {
        let installed = parts.extensions.get::<Installed>().is_some();
        CurrentUser::found(installed, parts.extensions.get::<CurrentUser>()).map_err(AuthRejection)
    }

    impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
        type Rejection = AuthRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            current(parts)
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<CurrentUser>().cloned())
        }
    }

    impl<S: Send + Sync, R: RequiredRole> FromRequestParts<S> for OrgRole<R> {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            let user = current(parts).map_err(IntoResponse::into_response)?;
            let params = RawPathParams::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
            let org = params.iter().find(|(k, _)| *k == "org").map(|(_, v)| v);
            Self::check(user, org).map_err(|e| AuthRejection(e).into_response())
        }
    }
}
