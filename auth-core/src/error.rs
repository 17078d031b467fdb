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
    /// Password sign-in for an address whose domain must sign in with a provider
    /// (`oidc.providers[].enforce`): 403 `sso_required`. Holds the provider's display name.
    #[error("addresses of this domain sign in with {0}: use \"Sign in with {0}\"")]
    SsoRequired(String),
    /// `basicAuth.requireVerifiedEmail`: a password account whose address is not verified yet
    /// gets no session: 403 `email_not_verified` (a verification link is on its way).
    #[error("verify your email address first: follow the link we sent to it, then sign in")]
    EmailNotVerified,
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
    /// A known route asked with a method it does not answer: 405. The value is the method,
    /// at most 16 characters of it.
    #[error("{0} is not allowed on this route")]
    MethodNotAllowed(String),
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
        self.error_code().as_str()
    }

    /// The code of the JSON error body as the enum the API description lists.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated | Self::IdTokenRejected(_) => ErrorCode::Unauthenticated,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::EmailDomainNotAllowed => ErrorCode::EmailDomainNotAllowed,
            Self::SignupClosed => ErrorCode::SignupClosed,
            Self::SsoRequired(_) => ErrorCode::SsoRequired,
            Self::EmailNotVerified => ErrorCode::EmailNotVerified,
            Self::CsrfRejected => ErrorCode::CsrfRejected,
            Self::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Gone(_) => ErrorCode::Gone,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::IdpUnavailable(_) | Self::IdpBadResponse(_) => ErrorCode::IdpUnavailable,
            Self::Misconfigured(_) => ErrorCode::Misconfigured,
            Self::Unavailable => ErrorCode::Unavailable,
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials | Self::IdTokenRejected(_) => 401,
            Self::Forbidden(_)
            | Self::EmailDomainNotAllowed
            | Self::SignupClosed
            | Self::SsoRequired(_)
            | Self::EmailNotVerified
            | Self::CsrfRejected => 403,
            Self::InvalidRequest { .. } => 400,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
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
        serde_json::to_string(&ErrorBody { error: self.error_code(), message: self.message() })
            .unwrap_or_else(|_| String::from("{}"))
    }
}

/// The machine-readable `error` of every JSON error body (SPEC §3), one per failure kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 401: no valid session, or an OIDC sign-in whose tokens were refused.
    Unauthenticated,
    /// 401: email or password did not match.
    InvalidCredentials,
    /// 403: signed in, but not allowed.
    Forbidden,
    /// 403: the email's domain is not `validEmailDomain`.
    EmailDomainNotAllowed,
    /// 403: self-service signup is closed.
    SignupClosed,
    /// 403: the email's domain belongs to a provider marked `enforce`: sign in through it.
    SsoRequired,
    /// 403: a cross-site state-changing request.
    CsrfRejected,
    /// 403: `basicAuth.requireVerifiedEmail` and the address is not verified yet.
    EmailNotVerified,
    /// 400: a malformed body or parameter; the message names the field.
    InvalidRequest,
    /// 404: no such route or resource (or not visible to the caller).
    NotFound,
    /// 405: a known route asked with another method.
    MethodNotAllowed,
    /// 409: conflicts with the current state.
    Conflict,
    /// 410: a used, expired or replaced single-use link.
    Gone,
    /// 413: the body exceeds `maxBodyBytes`.
    PayloadTooLarge,
    /// 429: too many attempts; `Retry-After` says when to try again.
    RateLimited,
    /// 502/503: the identity provider cannot be used right now.
    IdpUnavailable,
    /// 500: the application is wired wrongly (the message says how to fix it).
    Misconfigured,
    /// 503: a dependency (the store) is unavailable; the request failed closed.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order of SPEC §3.
    pub const ALL: [ErrorCode; 18] = [
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::EmailDomainNotAllowed,
        Self::SignupClosed,
        Self::SsoRequired,
        Self::CsrfRejected,
        Self::EmailNotVerified,
        Self::InvalidRequest,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::Gone,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::IdpUnavailable,
        Self::Misconfigured,
        Self::Unavailable,
    ];

    /// The code as it appears in the body (`invalid_request`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::SignupClosed => "signup_closed",
            Self::SsoRequired => "sso_required",
            Self::CsrfRejected => "csrf_rejected",
            Self::EmailNotVerified => "email_not_verified",
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::IdpUnavailable => "idp_unavailable",
            Self::Misconfigured => "misconfigured",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The JSON error body of every failed auth request: `{"error": code, "message": text}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The machine-readable code.
    pub error: ErrorCode,
    /// A human-readable explanation (`invalid_request` names the field: `email: ...`). Never
    /// a secret.
    pub message: String,
}

/// The `outcome` of a sign-in for metrics and spans: `success`, or the error code answered.
pub(crate) fn outcome<T>(result: &Result<T, AuthError>) -> &'static str {
    result.as_ref().map_or_else(AuthError::code, |_| "success")
}

impl From<crate::store::StoreError> for AuthError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Conflict(what) => Self::Conflict(what),
            crate::store::StoreError::NotFound => Self::NotFound("not found".into()),
            crate::store::StoreError::Unavailable(e) => {
                crate::telemetry::store_error(crate::telemetry::StoreErrorKind::Unavailable);
                tracing::error!(error = %e, "store unavailable");
                Self::Unavailable
            }
            crate::store::StoreError::Corrupt(e) => {
                crate::telemetry::store_error(crate::telemetry::StoreErrorKind::Corrupt);
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

    #[test]
    fn every_code_serializes_as_its_str() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).ok(), Some(serde_json::Value::from(code.as_str())));
        }
        assert_eq!(
            AuthError::MethodNotAllowed("PUT".into()).to_json(),
            r#"{"error":"method_not_allowed","message":"PUT is not allowed on this route"}"#
        );
    }
}
