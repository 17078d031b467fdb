//! The signed-in user, for handlers. Every check is the core's ([`auth_core::authz`]); this
//! file only moves values in and out of actix-web's request.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, dev::Payload};
use auth_core::adapter::AuthResponse;

pub use auth_core::authz::{Admin, Member, RequiredRole};

auth_core::extractor_types! {
    /// The signed-in user, put in the request extensions by [`AuthMiddleware`](crate::AuthMiddleware).
    ///
    /// As an extractor it refuses with 401 when nobody is signed in (only possible on
    /// `publicPaths`); `Option<CurrentUser>` never refuses. Without the middleware in front, it
    /// answers 500 `misconfigured` saying so.
    ///
    /// ```
    /// use actix_web::{App, web};
    /// use auth_actix::CurrentUser;
    ///
    /// async fn hello(user: CurrentUser) -> String {
    ///     format!("Hello, {} <{}>", user.name, user.email)
    /// }
    ///
    /// async fn maybe(user: Option<CurrentUser>) -> String {
    ///     user.map_or("Hello, stranger".into(), |u| format!("Hello, {}", u.name))
    /// }
    ///
    /// let app = App::new().route("/", web::get().to(hello)).route("/public", web::get().to(maybe));
    /// ```
    CurrentUser;
    /// The signed-in user, checked to hold role `R` in the organization named by the route's
    /// `{org}` path parameter. Non-members get 404, members without the role 403, both as the JSON
    /// error body.
    ///
    /// ```
    /// use actix_web::{App, web};
    /// use auth_actix::{OrgAdmin, OrgMember};
    ///
    /// async fn report(m: OrgMember) -> String {
    ///     format!("{} is {:?} of {}", m.user.email, m.role, m.org_id)
    /// }
    ///
    /// async fn purge(a: OrgAdmin) -> String {
    ///     format!("{} may purge {}", a.user.email, a.org_id)
    /// }
    ///
    /// let app = App::new()
    ///     .route("/orgs/{org}/report", web::get().to(report))
    ///     .route("/orgs/{org}/data", web::delete().to(purge));
    /// ```
    OrgRole;
}

/// Puts what the guard decided into the request's extensions: the user, or the [`Installed`]
/// marker when there is none (one insert per request either way).
pub(crate) fn attach(req: &impl HttpMessage, user: Option<auth_core::CurrentUser>) {
    let mut ext = req.extensions_mut();
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
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthRejection(pub auth_core::AuthError);

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        crate::convert::response(AuthResponse::error(&self.0))
    }
}

fn current(req: &HttpRequest) -> Result<CurrentUser, AuthRejection> {
    let ext = req.extensions();
    CurrentUser::found(ext.get::<Installed>().is_some(), ext.get::<CurrentUser>()).map_err(AuthRejection)
}

impl FromRequest for CurrentUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(current(req))
    }
}

impl<R: RequiredRole> FromRequest for OrgRole<R> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(current(req).and_then(|user| Self::check(user, req.match_info().get("org")).map_err(AuthRejection)))
    }
}
