use std::task::{Context, Poll};

use auth_core::AuthService;
use auth_core::CurrentUser as CoreUser;
use auth_core::adapter::{Cached, GuardOutcome, RouteKind};
use bytes::Buf;
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Either};
use tower_service::Service;

use crate::convert::{self, Headers};
use crate::future::{AuthBody, ResponseFuture};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service [`AuthLayer`](crate::AuthLayer) wraps around the application (as
/// `tower_http::cors::Cors<S>` is to `CorsLayer`).
#[derive(Debug, Clone)]
pub struct Auth<S> {
    pub(crate) inner: S,
    pub(crate) auth: AuthService,
}

fn attach<B>(req: &mut Request<B>, user: Option<CoreUser>) {
    crate::extract::attach(req.extensions_mut(), user);
}

fn cookie_header(value: Option<String>) -> Option<HeaderValue> {
    value.and_then(|v| HeaderValue::try_from(v).ok())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let kind = self.auth.classify(req.uri().path());
        if kind == RouteKind::Auth {
            let auth = self.auth.clone();
            return ResponseFuture::boxed(Box::pin(async move {
                let response = answer(&auth, req).await;
                Ok(convert::response(response).map(Either::Right))
            }));
        }
        let cached = {
            let headers = Headers(req.headers());
            self.auth.guard_cached(&convert::view(&req, &headers), kind)
        };
        match cached {
            Cached::Decided(GuardOutcome::Respond(r)) => ResponseFuture::ready(convert::response(r)),
            Cached::Decided(GuardOutcome::Allow { user, set_cookie }) => {
                attach(&mut req, user);
                ResponseFuture::inner(self.inner.call(req), cookie_header(set_cookie))
            }
            Cached::CallGuard => {
                // The ready inner service goes into the future; a clone takes its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let auth = self.auth.clone();
                ResponseFuture::boxed(Box::pin(async move {
                    let outcome = {
                        let headers = Headers(req.headers());
                        auth.guard(&convert::view(&req, &headers), kind).await
                    };
                    match outcome {
                        GuardOutcome::Respond(r) => Ok(convert::response(r).map(Either::Right)),
                        GuardOutcome::Allow { user, set_cookie } => {
                            attach(&mut req, user);
                            let mut response = inner.call(req).await?;
                            if let Some(cookie) = cookie_header(set_cookie) {
                                response.headers_mut().append(http::header::SET_COOKIE, cookie);
                            }
                            Ok(response.map(Either::Left))
                        }
                    }
                }))
            }
        }
    }
}

/// Reads the body under the core's policy and lets the core answer an auth route or page.
async fn answer<B>(auth: &AuthService, req: Request<B>) -> auth_core::adapter::AuthResponse
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let length = req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    let mut reader = match auth.body_reader(length) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let (parts, body) = req.into_parts();
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return reader.broken() };
        if let Ok(mut data) = frame.into_data() {
            while data.has_remaining() {
                let chunk = data.chunk();
                let n = chunk.len();
                if let Err(response) = reader.push(chunk) {
                    return response;
                }
                data.advance(n);
            }
        }
    }
    let req = Request::from_parts(parts, ());
    let headers = Headers(req.headers());
    auth.handle(&convert::view(&req, &headers), &reader.finish()).await
}
