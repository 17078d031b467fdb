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
