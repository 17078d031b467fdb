//! Read-only probes of what a deployment depends on, for diagnostics such as
//! `auth-admin doctor`: they use the same HTTP client, key parsing and mail transport as the
//! service, so what passes here is what the service will meet. Nothing is cached or changed.
//!
//! ```no_run
//! use auth_core::{probe, AuthConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthConfig::load()?;
//! for provider in &config.oidc {
//!     match probe::idp_get(provider, provider.discovery_url.as_str()).await {
//!         Ok(got) => println!("{}: HTTP {}", provider.id, got.status),
//!         Err(e) => println!("{}: {e}", provider.id),
//!     }
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "oidc")]
use std::time::Duration;

#[cfg(feature = "oidc")]
use crate::config::OidcProviderConfig;
use crate::config::SmtpConfig;
use crate::mail::Mailer;

/// Connect timeout of a probe towards an IdP.
#[cfg(feature = "oidc")]
pub const IDP_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Total timeout of a probe towards an IdP.
#[cfg(feature = "oidc")]
pub const IDP_TOTAL_TIMEOUT: Duration = Duration::from_secs(5);

/// What an IdP answered to a GET.
#[cfg(feature = "oidc")]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdpResponse {
    /// The HTTP status (a redirect is returned as is, never followed).
    pub status: u16,
    /// The body, at most 256 KiB.
    pub body: Vec<u8>,
    /// The `Date` header, as sent (for a clock-skew check).
    pub date: Option<String>,
}

/// What kind of failure an [`IdpProbeError`] is.
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdpFailure {
    /// The provider's TLS settings (`verifySsl`, `caCertFile`) cannot be applied.
    Settings,
    /// The TLS handshake failed: certificate not trusted (self-signed, private CA), wrong host
    /// name, expired.
    Tls,
    /// No connection: refused, DNS, unreachable.
    Connect,
    /// The connect or total timeout passed.
    Timeout,
    /// The answer was larger than the cap.
    TooLarge,
    /// Anything else.
    Other,
}

/// Why a probe towards an IdP failed. The message names no secret (no client secret is sent).
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct IdpProbeError {
    /// The kind of failure.
    pub kind: IdpFailure,
    /// The cause, with its chain (TLS, refused, timeout).
    pub message: String,
}

/// GETs `url` with the client the service uses for `provider` (its `verifySsl` and
/// `caCertFile`, no redirects followed, body capped), with short timeouts
/// ([`IDP_CONNECT_TIMEOUT`], [`IDP_TOTAL_TIMEOUT`]).
#[cfg(feature = "oidc")]
pub async fn idp_get(provider: &OidcProviderConfig, url: &str) -> Result<IdpResponse, IdpProbeError> {
    use crate::oidc::http::{FailureKind, IdpHttp, IdpHttpError};
    let http = IdpHttp::with_timeouts(provider, IDP_CONNECT_TIMEOUT, IDP_TOTAL_TIMEOUT)
        .map_err(|message| IdpProbeError { kind: IdpFailure::Settings, message })?;
    match http.get_unmeasured(url).await {
        Ok(got) => Ok(IdpResponse { status: got.status, body: got.body, date: got.date }),
        Err(IdpHttpError::TooLarge) => {
            Err(IdpProbeError { kind: IdpFailure::TooLarge, message: IdpHttpError::TooLarge.to_string() })
        }
        Err(IdpHttpError::Request(message, kind)) => {
            let kind = match kind {
                FailureKind::Tls => IdpFailure::Tls,
                FailureKind::Connect => IdpFailure::Connect,
                FailureKind::Timeout => IdpFailure::Timeout,
                FailureKind::Other => IdpFailure::Other,
            };
            Err(IdpProbeError { kind, message })
        }
    }
}

/// A discovery document, read as the service reads it.
#[cfg(feature = "oidc")]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Discovery {
    /// `issuer`, as announced.
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `scopes_supported`, if the provider lists them (the field is optional).
    pub scopes_supported: Option<Vec<String>>,
}

/// Why a discovery document is refused, as the service would refuse it.
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// Not JSON (an HTML login page, a proxy's error page).
    #[error("the answer is not JSON")]
    NotJson,
    /// JSON, but not OpenID Provider Metadata, or naming an endpoint the service refuses.
    #[error("{0}")]
    Invalid(String),
}

/// Reads a discovery document with the rules of the service: OpenID Provider Metadata, every
/// endpoint https (plain http for loopback hosts), a `token_endpoint`.
#[cfg(feature = "oidc")]
pub fn read_discovery(body: &[u8]) -> Result<Discovery, DiscoveryError> {
    use crate::oidc::{DocumentError, check_endpoints};
    let (metadata, raw) = crate::oidc::read_discovery(body).map_err(|e| match e {
        DocumentError::NotJson => DiscoveryError::NotJson,
        DocumentError::Invalid(why) => DiscoveryError::Invalid(format!("not OpenID Provider Metadata: {why}")),
    })?;
    let end_session = raw.get("end_session_endpoint").and_then(|v| v.as_str());
    check_endpoints(&metadata, end_session).map_err(DiscoveryError::Invalid)?;
    if metadata.token_endpoint().is_none() {
        return Err(DiscoveryError::Invalid("it announces no token_endpoint".into()));
    }
    Ok(Discovery {
        issuer: metadata.issuer().as_str().to_string(),
        jwks_uri: metadata.jwks_uri().as_str().to_string(),
        scopes_supported: metadata.scopes_supported().map(|s| s.iter().map(|s| s.as_str().to_string()).collect()),
    })
}

/// Whether the service accepts `announced` (a discovery document's `issuer`) for `provider`:
/// equal to the configured issuer (a trailing slash aside; Entra ID's multi-tenant template
/// under its profile).
#[cfg(feature = "oidc")]
pub fn issuer_accepted(provider: &OidcProviderConfig, announced: &str) -> bool {
    crate::oidc::issuer_accepted(provider, announced)
}

/// How many keys of a JWKS document the service could verify ID tokens with (asymmetric
/// signing keys it can read), parsed as the service parses it. `Err` when the document is
/// not a JWKS at all.
#[cfg(feature = "oidc")]
pub fn usable_signing_keys(jwks: &[u8]) -> Result<usize, String> {
    use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
    let keys = crate::oidc::jwks::Keys::parse(jwks, Duration::ZERO)?;
    Ok(keys
        .jwt
        .iter()
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter(|k| jsonwebtoken::DecodingKey::from_jwk(k).is_ok())
        .count())
}

/// Connects to the SMTP server as the service would (its security mode, timeout and
/// credentials), greets and quits without sending anything. The error names no secret.
pub async fn smtp_reachable(cfg: &SmtpConfig) -> Result<(), String> {
    Mailer::new(cfg)?.test_connection().await
}
