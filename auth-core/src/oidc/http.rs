//! The HTTP client towards identity providers: no redirects followed, connect and total
//! timeouts, a response size cap, TLS verification on unless explicitly turned off.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

use crate::config::OidcProviderConfig;
pub(crate) use crate::telemetry::IdpEndpoint;

/// Largest response accepted from an IdP (discovery, JWKS, token, UserInfo).
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why a call to the IdP failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdpHttpError {
    #[error("request failed: {0}")]
    Request(String, FailureKind),
    #[error("response larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// What kind of failure a request met, for diagnostics (`auth_core::probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The TLS handshake failed (certificate not trusted, wrong name, expired, protocol).
    Tls,
    /// No connection (refused, DNS, unreachable).
    Connect,
    /// The connect or total timeout passed.
    Timeout,
    /// Anything else (a broken response, a redirect refused).
    Other,
}

/// A capped, non-redirecting client for one provider. Every request is measured
/// (`auth_idp_request_duration_seconds`, `auth_idp_request_errors_total`) under the provider's id.
#[derive(Clone)]
pub(crate) struct IdpHttp {
    client: reqwest::Client,
    provider: Arc<str>,
}

impl IdpHttp {
    pub(crate) fn new(cfg: &OidcProviderConfig) -> Result<Self, String> {
        Self::with_timeouts(cfg, Duration::from_secs(5), Duration::from_secs(15))
    }

    /// [`IdpHttp::new`] with other connect and total timeouts (diagnostics want them short).
    pub(crate) fn with_timeouts(cfg: &OidcProviderConfig, connect: Duration, total: Duration) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect)
            // IdP calls are rare; a pooled connection the IdP already closed would fail the login.
            .pool_max_idle_per_host(0)
            .timeout(total)
            .user_agent(concat!("auth-core/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_cert_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("oidc.caCertFile: cannot read {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("oidc.caCertFile: {} holds no PEM certificate: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("oidc.caCertFile: {} holds no PEM certificate", path.display()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if !cfg.verify_ssl {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder.build().map_err(|e| format!("cannot build the OIDC HTTP client: {e}"))?;
        Ok(Self { client, provider: Arc::from(cfg.id.as_str()) })
    }

    /// A GET of `endpoint`, body capped.
    pub(crate) async fn get(&self, url: &str, endpoint: IdpEndpoint) -> Result<Fetched, IdpHttpError> {
        self.measured(endpoint, self.fetch(url, None)).await
    }

    /// A GET not counted in the metrics (diagnostics: `auth_core::probe`), body capped.
    pub(crate) async fn get_unmeasured(&self, url: &str) -> Result<Fetched, IdpHttpError> {
        self.fetch(url, None).await
    }

    /// A GET of `endpoint` with `Authorization: Bearer`, body capped.
    pub(crate) async fn get_bearer(
        &self,
        url: &str,
        token: &str,
        endpoint: IdpEndpoint,
    ) -> Result<Fetched, IdpHttpError> {
        self.measured(endpoint, self.fetch(url, Some(token))).await
    }

    /// Runs one request to `endpoint` and records its duration, and an error when it failed or
    /// the IdP answered with a status outside 2xx.
    async fn measured(
        &self,
        endpoint: IdpEndpoint,
        request: impl Future<Output = Result<Fetched, IdpHttpError>>,
    ) -> Result<Fetched, IdpHttpError> {
        let started = Instant::now();
        let result = request.await;
        let failed = result.as_ref().map_or(true, |f| !(200..300).contains(&f.status));
        crate::telemetry::idp_request(&self.provider, endpoint, started.elapsed(), failed);
        result
    }

    async fn fetch(&self, url: &str, bearer: Option<&str>) -> Result<Fetched, IdpHttpError> {
        let mut req = self.client.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.map_err(describe)?;
        let status = resp.status().as_u16();
        let cache_control = resp
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let cache_control = (!cache_control.is_empty()).then_some(cache_control);
        let date = resp.headers().get(reqwest::header::DATE).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Fetched { status, body: read_capped(resp).await?, cache_control, date })
    }
}

/// What a GET brought back.
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The `Cache-Control` header(s), joined.
    pub(crate) cache_control: Option<String>,
    /// The `Date` header, as sent.
    pub(crate) date: Option<String>,
}

fn describe(e: reqwest::Error) -> IdpHttpError {
    // reqwest's Display hides the cause chain; keep the first cause (TLS, refused, timeout).
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    // reqwest does not type TLS failures; rustls' messages name the certificate or handshake.
    let lower = msg.to_ascii_lowercase();
    let kind = if e.is_timeout() {
        FailureKind::Timeout
    } else if ["certificate", "tls", "handshake"].iter().any(|w| lower.contains(w)) {
        FailureKind::Tls
    } else if e.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Other
    };
    IdpHttpError::Request(msg, kind)
}

async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, IdpHttpError> {
    if resp.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
        return Err(IdpHttpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(IdpHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<'c> AsyncHttpClient<'c> for IdpHttp {
    type Error = IdpHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    /// openidconnect's own requests: the token request (POST) and UserInfo (GET).
    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let endpoint =
                if request.method() == http::Method::POST { IdpEndpoint::Token } else { IdpEndpoint::Userinfo };
            let started = Instant::now();
            let result = self.send(request).await;
            let failed = result.as_ref().map_or(true, |r| !r.status().is_success());
            crate::telemetry::idp_request(&self.provider, endpoint, started.elapsed(), failed);
            result
        })
    }
}

impl IdpHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, IdpHttpError> {
        let (parts, body) = request.into_parts();
        let resp = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_capped(resp).await?;
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }
}
