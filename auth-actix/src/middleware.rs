use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::{Error, HttpMessage};
use auth_core::AuthService;
use auth_core::adapter::{Cached, GuardOutcome, RouteKind};
use futures_util::StreamExt;

use crate::convert::{self, Headers};
use crate::extract::attach;
use crate::future::AuthFuture;

/// actix-web middleware for the login layer: `App::new().wrap(AuthMiddleware::new(auth))`.
///
/// Answers `/api/v1/auth/*` and the built-in pages itself; every other request needs a valid
/// session unless its path is in `publicPaths`, and carries the user into the handler
/// ([`CurrentUser`](crate::CurrentUser)).
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use auth_actix::auth_core::{AuthConfig, AuthService};
/// use auth_actix::{AuthMiddleware, CurrentUser};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = AuthService::new(AuthConfig::load()?).await?;
/// HttpServer::new(move || {
///     App::new()
///         .wrap(AuthMiddleware::new(auth.clone()))
///         .route("/", web::get().to(|user: CurrentUser| async move { format!("Hello, {}", user.email) }))
///         .route("/health", web::get().to(|| async { "ok" })) // listed in publicPaths
/// })
/// .bind("127.0.0.1:3000")?
/// .run()
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthMiddleware {
    auth: AuthService,
}

impl AuthMiddleware {
    /// A middleware over `auth`.
    pub fn new(auth: AuthService) -> Self {
        Self { auth }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService { service: Rc::new(service), auth: self.auth.clone() }))
    }
}

/// The service [`AuthMiddleware`] wraps around the application.
#[doc(hidden)]
pub struct AuthMiddlewareService<S> {
    service: Rc<S>,
    auth: AuthService,
}

pub(crate) fn with_cookie<B>(mut res: ServiceResponse<B>, cookie: Option<String>) -> ServiceResponse<EitherBody<B>> {
    if let Some(v) = cookie.and_then(|c| HeaderValue::try_from(c).ok()) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res.map_into_left_body()
}

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = AuthFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let kind = self.auth.classify(req.path());
        if kind == RouteKind::Auth {
            let auth = self.auth.clone();
            return AuthFuture::boxed(Box::pin(async move {
                let response = answer(&auth, req).await;
                Ok(response.map_into_right_body())
            }));
        }
        let cached = {
            let headers = Headers(req.headers());
            self.auth.guard_cached(&convert::view(&req, &headers), kind)
        };
        match cached {
            Cached::Decided(GuardOutcome::Respond(r)) => {
                AuthFuture::ready(req.into_response(convert::response(r)).map_into_right_body())
            }
            Cached::Decided(GuardOutcome::Allow { user, set_cookie }) => {
                attach(&req, user);
                AuthFuture::inner(self.service.call(req), set_cookie)
            }
            Cached::CallGuard => {
                let service = Rc::clone(&self.service);
                let auth = self.auth.clone();
                AuthFuture::boxed(Box::pin(async move {
                    let outcome = {
                        let headers = Headers(req.headers());
                        auth.guard(&convert::view(&req, &headers), kind).await
                    };
                    match outcome {
                        GuardOutcome::Respond(r) => Ok(req.into_response(convert::response(r)).map_into_right_body()),
                        GuardOutcome::Allow { user, set_cookie } => {
                            attach(&req, user);
                            Ok(with_cookie(service.call(req).await?, set_cookie))
                        }
                    }
                }))
            }
        }
    }
}

/// Reads the body under the core's policy and lets the core answer an auth route or page.
async fn answer(auth: &AuthService, mut req: ServiceRequest) -> ServiceResponse {
    let length = req.headers().get(actix_web::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    let mut reader = match auth.body_reader(length) {
        Ok(r) => r,
        Err(response) => return req.into_response(convert::response(response)),
    };
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return req.into_response(convert::response(reader.broken()));
        };
        if let Err(response) = reader.push(&chunk) {
            return req.into_response(convert::response(response));
        }
    }
    let response = {
        let headers = Headers(req.headers());
        auth.handle(&convert::view(&req, &headers), &reader.finish()).await
    };
    req.into_response(convert::response(response))
}
