//! The only place where actix-web (`http` 0.2) types meet the core's neutral view.

use actix_web::HttpResponse;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use auth_core::adapter::{AuthResponse, HeaderSource, RequestView};

/// actix's `HeaderMap` as a [`HeaderSource`].
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl HeaderSource for Headers<'_> {
    fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
        // `str::from_utf8` rather than `HeaderValue::to_str`: http 0.2 checks byte by byte, which
        // costs a quarter microsecond on a session cookie (docs/PERFORMANCE.md).
        // The two names every guarded request asks for go through the constants: a `&str` name
        // is parsed and validated on every lookup.
        let mut values = match name {
            "cookie" => self.0.get_all(actix_web::http::header::COOKIE),
            "authorization" => self.0.get_all(actix_web::http::header::AUTHORIZATION),
            _ => self.0.get_all(name),
        };
        values.nth(n).and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    }
}

/// Borrows a neutral view of `req`.
pub(crate) fn view<'a>(req: &'a ServiceRequest, headers: &'a Headers<'a>) -> RequestView<'a> {
    RequestView {
        method: req.method().as_str(),
        path: req.path(),
        query: Some(req.query_string()).filter(|q| !q.is_empty()),
        headers,
        peer: req.peer_addr().map(|a| a.ip()),
    }
}

/// Converts a core response.
pub(crate) fn response(r: AuthResponse) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in r.headers {
        builder.append_header((name, value));
    }
    builder.body(r.body)
}
