//! The protocol the adapters speak, and nothing else: a borrowed [`RequestView`] in, an
//! [`AuthResponse`] or a [`GuardOutcome`] out, and the body read under the core's policy
//! ([`BodyReader`]). An adapter converts its framework's types to and from these in one file;
//! every decision stays in the core.
//!
//! The call sequence per request:
//!
//! 1. [`AuthService::classify`] the path.
//! 2. [`RouteKind::Auth`]: read the body with [`AuthService::body_reader`], then
//!    [`AuthService::handle`] answers.
//! 3. Otherwise [`AuthService::guard_cached`] (no I/O); on [`Cached::CallGuard`],
//!    [`AuthService::guard`]. `Allow` puts the user into the request and appends `set_cookie`
//!    to the application's response; `Respond` answers instead of the application.

use crate::error::AuthError;
pub use crate::http::{AuthResponse, HeaderSource, RequestView};
use crate::service::AuthService;
pub use crate::service::{Cached, GuardOutcome, RouteKind};

/// Collects a request body for an auth route: at most `maxBodyBytes` (413 beyond, also when
/// `Content-Length` announces more), and a stream that breaks off is refused (400), never
/// treated as an empty or partial body.
#[derive(Debug)]
pub struct BodyReader {
    max: usize,
    body: Vec<u8>,
}

impl AuthService {
    /// Starts reading a body whose `Content-Length` header is `content_length`; `Err` is the
    /// response to send at once.
    pub fn body_reader(&self, content_length: Option<&str>) -> Result<BodyReader, AuthResponse> {
        let max = self.config().max_body_bytes;
        match content_length.map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) if n > max as u64 => Err(AuthResponse::error(&AuthError::PayloadTooLarge)),
            Some(Err(_)) => Err(AuthResponse::error(&AuthError::invalid("content-length", "not a number"))),
            _ => Ok(BodyReader { max, body: Vec::new() }),
        }
    }
}

impl BodyReader {
    /// Appends a chunk; `Err` (413) once the body passes the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), AuthResponse> {
        if self.body.len() + chunk.len() > self.max {
            return Err(AuthResponse::error(&AuthError::PayloadTooLarge));
        }
        self.body.extend_from_slice(chunk);
        Ok(())
    }

    /// The response when the body stream failed before its end.
    pub fn broken(self) -> AuthResponse {
        AuthResponse::error(&AuthError::invalid("body", "the request body could not be read to its end"))
    }

    /// The whole body.
    pub fn finish(self) -> Vec<u8> {
        self.body
    }
}
