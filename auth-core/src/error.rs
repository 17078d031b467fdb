//! The one mapping from failures to HTTP status and JSON error code.

use std::time::Duration;

/// Everything a request can fail with, as the client sees it.
///
/// Each variant knows its [`code`](AuthError::code), [`status`](AuthError::status) and
/// human [`message`](AuthError::message); adapters never choose a status themselves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No valid session was presented.
    #[error("sign-in required")]
    Unauthenticated,
    /// Email or password did not match (the same answer for both).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The email's domain is not the configured `validEmailDomain`.
    #[error("this email domain is not allowed")]
    EmailDomainNotAllowed,
    /// Self-service signup is closed; an invitation is needed.
    #[error("signup is closed; ask an administrator for an invitation")]
    SignupClosed,
    /// A cross-site request carried the session cookie.
    #[error("cross-site request refused")]
    CsrfRejected,
    /// The request body or a parameter is malformed; `field` names it.
    #[error("{field}: {message}")]
    InvalidRequest {
        /// The offending field (`body` when the body as a whole is unreadable).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No such resource (or not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with existing state (e.g. the email is taken).
    #[error("{0}")]
    Conflict(String),
    /// A single-use link that was used, expired or replaced: 410.
    #[error("{0}")]
    Gone(String),
    /// The body exceeds the configured cap.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Too many attempts; retry after the given delay.
    #[error("too many attempts; try again later")]
    RateLimited {
        /// How long the client should wait.
        retry_after: Duration,
    },
    /// The identity provider cannot be reached right now (discovery failed): 503.
    #[error("the identity provider is unavailable: {0}")]
    IdpUnavailable(String),
    /// The identity provider answered a back-channel request badly: 502.
    #[error("the identity provider answered badly: {0}")]
    IdpBadResponse(String),
    /// The ID token (or UserInfo) failed validation: no session.
    #[error("sign-in failed: {0}")]
    IdTokenRejected(String),
    /// The application is wired wrongly (an extractor without the layer, a role extractor on a
    /// route without `{org}`): 500, with the fix in the message.
    #[error("{0}")]
    Misconfigured(&'static str),
    /// A dependency (the store) is unavailable; the request fails closed.
    #[error("the service is temporarily unavailable")]
    Unavailable,
}

impl AuthError {
    /// Shorthand for [`AuthError::InvalidRequest`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidRequest { field: field.into(), message: message.into() }
    }

    /// The stable machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::SignupClosed => "signup_closed",
            Self::CsrfRejected => "csrf_rejected",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::IdpUnavailable(_) | Self::IdpBadResponse(_) => "idp_unavailable",
            Self::IdTokenRejected(_) => "unauthenticated",
            Self::Misconfigured(_) => "misconfigured",
            Self::Unavailable => "unavailable",
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials | Self::IdTokenRejected(_) => 401,
            Self::Forbidden(_) | Self::EmailDomainNotAllowed | Self::SignupClosed | Self::CsrfRejected => 403,
            Self::InvalidRequest { .. } => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Gone(_) => 410,
            Self::PayloadTooLarge => 413,
            Self::RateLimited { .. } => 429,
            Self::Misconfigured(_) => 500,
            Self::IdpBadResponse(_) => 502,
            Self::IdpUnavailable(_) | Self::Unavailable => 503,
        }
    }

    /// The human-readable message of the JSON error body. Never contains secrets.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The JSON error body: `{"error": code, "message": text}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.code(), "message": self.message() }).to_string()
    }
}

impl From<crate::store::StoreError> for AuthError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Conflict(what) => Self::Conflict(what),
            crate::store::StoreError::NotFound => Self::NotFound("not found".into()),
            crate::store::StoreError::Unavailable(e) => {
                tracing::error!(error = %e, "store unavailable");
                Self::Unavailable
            }
            crate::store::StoreError::Corrupt(e) => {
                tracing::error!(error = %e, "the store holds data this version cannot read");
                Self::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_code_and_message() {
        let e = AuthError::invalid("email", "must be an email address");
        assert_eq!(e.status(), 400);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap_or_default();
        assert_eq!(v["error"], "invalid_request");
        assert_eq!(v["message"], "email: must be an email address");
    }
}
