use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;

/// The response body: the application's, or one the layer wrote.
pub type AuthBody<B> = Either<B, Full<Bytes>>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// Response future of [`Auth`](crate::Auth). The hot path (a cached
    /// session) is the `Inner` variant: no allocation beyond the application's own future.
    #[project = Proj]
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Ready { response: Option<Response<Full<Bytes>>> },
        Inner { #[pin] future: F, set_cookie: Option<HeaderValue> },
        Boxed { future: BoxFuture<Result<Response<AuthBody<B>>, E>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn ready(response: Response<Full<Bytes>>) -> Self {
        Self { state: State::Ready { response: Some(response) } }
    }

    pub(crate) fn inner(future: F, set_cookie: Option<HeaderValue>) -> Self {
        Self { state: State::Inner { future, set_cookie } }
    }

    pub(crate) fn boxed(future: BoxFuture<Result<Response<AuthBody<B>>, E>>) -> Self {
        Self { state: State::Boxed { future } }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<AuthBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r.map(Either::Right))),
                None => Poll::Pending,
            },
            StateProj::Inner { future, set_cookie } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                if let Some(cookie) = set_cookie.take() {
                    response.headers_mut().append(http::header::SET_COOKIE, cookie);
                }
                Poll::Ready(Ok(response.map(Either::Left)))
            }
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
