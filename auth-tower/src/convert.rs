//! The only place where `http` 1 types meet the core's neutral view.

use std::net::SocketAddr;

use auth_core::adapter::{AuthResponse, HeaderSource, RequestView};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;

/// `http::HeaderMap` as a [`HeaderSource`].
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl HeaderSource for Headers<'_> {
    fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
        // The two names every guarded request asks for go through `http`'s constants: a `&str`
        // name is parsed and validated on every lookup (~0.1 µs for both; docs/PERFORMANCE.md).
        let values = match name {
            "cookie" => self.0.get_all(http::header::COOKIE),
            "authorization" => self.0.get_all(http::header::AUTHORIZATION),
            _ => self.0.get_all(name),
        };
        values.iter().nth(n).and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    }
}

/// The peer address, from axum's `ConnectInfo` or a plain `SocketAddr` extension.
pub(crate) fn peer<B>(req: &Request<B>) -> Option<std::net::IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    req.extensions().get::<SocketAddr>().map(SocketAddr::ip)
}

/// Borrows a neutral view of `req`.
pub(crate) fn view<'a, B>(req: &'a Request<B>, headers: &'a Headers<'a>) -> RequestView<'a> {
    RequestView {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers,
        peer: peer(req),
    }
}

/// Converts a core response.
pub(crate) fn response(r: AuthResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.append(HeaderName::from_static(name), v);
        }
    }
    out
}
