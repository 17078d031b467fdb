//! The middleware's response future. The hot path (a session decided from the cache) polls the
//! application's future in place: no box per request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use futures_util::future::LocalBoxFuture;
use pin_project_lite::pin_project;

use crate::middleware::with_cookie;

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, Error>;

pin_project! {
    /// Response future of [`AuthMiddlewareService`](crate::AuthMiddlewareService).
    #[doc(hidden)]
    pub struct AuthFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Ready { response: Option<ServiceResponse<EitherBody<B>>> },
        Inner { #[pin] future: F, set_cookie: Option<String> },
        Boxed { future: LocalBoxFuture<'static, Answer<B>> },
    }
}

impl<F, B> AuthFuture<F, B> {
    /// An answer of the middleware's own.
    pub(crate) fn ready(response: ServiceResponse<EitherBody<B>>) -> Self {
        Self { state: State::Ready { response: Some(response) } }
    }

    /// The application's response, with `set_cookie` appended.
    pub(crate) fn inner(future: F, set_cookie: Option<String>) -> Self {
        Self { state: State::Inner { future, set_cookie } }
    }

    /// Everything that must wait for the store or a body.
    pub(crate) fn boxed(future: LocalBoxFuture<'static, Answer<B>>) -> Self {
        Self { state: State::Boxed { future } }
    }
}

impl<F, B> Future for AuthFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Answer<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
            StateProj::Inner { future, set_cookie } => {
                let response = std::task::ready!(future.poll(cx))?;
                Poll::Ready(Ok(with_cookie(response, set_cookie.take())))
            }
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
