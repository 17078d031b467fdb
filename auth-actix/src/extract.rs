//! The signed-in user, for handlers.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, dev::Payload};

/// The signed-in user, put in the request extensions by [`AuthMiddleware`](crate::AuthMiddleware).
///
/// As an extractor it refuses with 401 when nobody is signed in (only possible on
/// `publicPaths`); `Option<CurrentUser>` never refuses.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub auth_core::CurrentUser);

impl Deref for CurrentUser {
    type Target = auth_core::CurrentUser;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Marks a request that went through the middleware.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Installed;

/// Why [`CurrentUser`] could not be extracted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CurrentUserError {
    /// Nobody is signed in (a `publicPaths` route): 401 `unauthenticated`.
    #[error("sign-in required")]
    Unauthenticated,
    /// The request did not pass through `AuthMiddleware`: a wiring bug, 500.
    #[error("CurrentUser needs auth_actix::AuthMiddleware: is it installed with App::wrap?")]
    MiddlewareMissing,
}

impl ResponseError for CurrentUserError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::MiddlewareMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::Unauthenticated => "unauthenticated",
            Self::MiddlewareMissing => "internal",
        };
        HttpResponse::build(self.status_code())
            .insert_header(("cache-control", "no-store"))
            .json(serde_json::json!({ "error": code, "message": self.to_string() }))
    }
}

impl FromRequest for CurrentUser {
    type Error = CurrentUserError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        ready(match ext.get::<CurrentUser>() {
            Some(user) => Ok(user.clone()),
            None if ext.get::<Installed>().is_none() => Err(CurrentUserError::MiddlewareMissing),
            None => Err(CurrentUserError::Unauthenticated),
        })
    }
}

pub use auth_core::authz::{Admin, Member, RequiredRole};

/// The signed-in user, checked to hold role `R` in the organization named by the route's
/// `{org}` path parameter. Non-members get 404, members without the role 403.
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

/// Why an extractor refused: the core's error, answered with its status and JSON body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthRejection(pub auth_core::AuthError);

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::FORBIDDEN)
    }

    fn error_response(&self) -> HttpResponse {
        crate::convert::response(auth_core::AuthResponse::error(&self.0))
    }
}

impl<R: RequiredRole> FromRequest for OrgRole<R> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = match CurrentUser::from_request(req, payload).into_inner() {
            Ok(u) => u,
            Err(e) => return ready(Err(e.into())),
        };
        let Some(org_id) = req.match_info().get("org").map(str::to_string) else {
            let e = auth_core::AuthError::invalid("org", "the route has no {org} path parameter");
            return ready(Err(AuthRejection(e).into()));
        };
        ready(match user.require(&org_id, R::ROLE) {
            Ok(role) => Ok(Self { user, org_id, role, _required: std::marker::PhantomData }),
            Err(e) => Err(AuthRejection(e).into()),
        })
    }
}
