//! OpenID Connect relying party: discovery (with recovery), the authorization code flow with
//! PKCE, state and nonce kept in an encrypted cookie, ID-token validation, RP-initiated and
//! back-channel logout. The openidconnect crate's types stay inside this module.

pub(crate) mod http;
pub(crate) mod jwks;
mod sso;

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreGenderClaim, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, SubjectIdentifier, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use self::http::IdpHttp;
use self::jwks::{Jwks, Keys};
use crate::config::{AuthConfig, OidcProviderConfig, Profile, is_loopback_host, is_tenant_id};
use crate::error::AuthError;
use crate::secret::Secret;

/// How long a login may take between the redirect to the IdP and the callback.
pub(crate) const FLOW_TTL_SECS: i64 = 600;
/// Least time between two discovery attempts of one provider (the JWKS has its own policy,
/// see [`jwks`]).
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// ID-token algorithms accepted: asymmetric only (no `none`, no HS*).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// What discovery found out about a provider.
struct Discovered {
    issuer: String,
    jwks: Arc<Jwks>,
    end_session_endpoint: Option<String>,
    metadata: CoreProviderMetadata,
}

/// One configured provider and what is known of it.
pub(crate) struct Provider {
    pub(crate) cfg: OidcProviderConfig,
    http: IdpHttp,
    redirect: RedirectUrl,
    discovered: std::sync::RwLock<Option<Arc<Discovered>>>,
    last_attempt: Mutex<Attempt>,
}

/// The last discovery attempt, for backoff; its error is repeated while backing off.
#[derive(Default)]
struct Attempt {
    at: Option<Instant>,
    error: Option<String>,
}

/// The state of one login, kept in the encrypted flow cookie between `/login/oidc` and
/// `/callback`, so that any instance can finish it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Flow {
    /// Provider id.
    pub(crate) p: String,
    /// `state`.
    pub(crate) s: String,
    /// `nonce`.
    pub(crate) n: String,
    /// PKCE verifier.
    pub(crate) v: String,
    /// Where to go afterwards (already checked to be a same-origin path).
    pub(crate) r: String,
    /// An invitation token to accept after sign-in.
    pub(crate) i: Option<String>,
    /// Created at (unix seconds).
    pub(crate) t: i64,
}

/// A verified identity from the IdP.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) provider: String,
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) email: Option<String>,
    /// The IdP said `email_verified: true`.
    pub(crate) email_verified: bool,
    /// The provider's word on an email may link a first login to an existing account.
    pub(crate) trust_email_for_linking: bool,
    /// The IdP sent no `email_verified` and the provider is configured to assume it.
    pub(crate) email_assumed_verified: bool,
    pub(crate) name: Option<String>,
    /// The values of the provider's `roleClaim` (ID token, else UserInfo); empty when the
    /// claim is absent or no mapping is configured.
    pub(crate) role_values: Vec<String>,
    pub(crate) idp_sid: Option<String>,
    pub(crate) id_token: String,
}

/// The configured providers and the flow-cookie key.
pub(crate) struct Oidc {
    pub(crate) providers: Vec<Arc<Provider>>,
    flow_key: cookie::Key,
    flow_cookie: String,
    secure: bool,
}

/// An IdP failure as anonymous callers see it: what failed, never the provider's internal
/// URLs or the TLS/DNS error chain.
fn unavailable(public: impl std::fmt::Display) -> AuthError {
    AuthError::IdpUnavailable(public.to_string())
}

/// [`unavailable`] whose detail goes to the log only.
fn unavailable_because(public: &str, detail: impl std::fmt::Display) -> AuthError {
    tracing::warn!(error = %detail, "{public}");
    unavailable(public)
}

fn bad_token(why: impl std::fmt::Display) -> AuthError {
    tracing::warn!(reason = %why, "OIDC sign-in refused");
    AuthError::IdTokenRejected(why.to_string())
}

/// Why a discovery document cannot be used.
pub(crate) enum DocumentError {
    /// Not JSON at all.
    NotJson,
    /// JSON, but not OpenID Provider Metadata (a required field missing or of the wrong type).
    Invalid(String),
}

/// Reads a discovery document as the relying party does (also the raw JSON, for fields
/// openidconnect does not model).
pub(crate) fn read_discovery(body: &[u8]) -> Result<(CoreProviderMetadata, serde_json::Value), DocumentError> {
    let raw: serde_json::Value = serde_json::from_slice(body).map_err(|_| DocumentError::NotJson)?;
    let metadata = serde_json::from_value(raw.clone()).map_err(|e| DocumentError::Invalid(e.to_string()))?;
    Ok((metadata, raw))
}

/// Whether `announced` (the discovery document's `issuer`) is the configured issuer of `cfg`
/// (exact, a trailing slash aside; Entra ID's multi-tenant template under its profile).
pub(crate) fn issuer_accepted(cfg: &OidcProviderConfig, announced: &str) -> bool {
    let entra_multi_tenant = cfg.profile == Some(Profile::Entra)
        && announced.contains(TENANT_PLACEHOLDER)
        && entra_template_matches(&cfg.issuer, announced);
    announced.trim_end_matches('/') == cfg.issuer.trim_end_matches('/') || entra_multi_tenant
}

/// Every endpoint the document names must be https (plain http only for loopback hosts).
pub(crate) fn check_endpoints(metadata: &CoreProviderMetadata, end_session: Option<&str>) -> Result<(), String> {
    let endpoints = [
        Some(("authorization_endpoint", metadata.authorization_endpoint().as_str().to_string())),
        metadata.token_endpoint().map(|u| ("token_endpoint", u.as_str().to_string())),
        metadata.userinfo_endpoint().map(|u| ("userinfo_endpoint", u.as_str().to_string())),
        Some(("jwks_uri", metadata.jwks_uri().as_str().to_string())),
        end_session.map(|u| ("end_session_endpoint", u.to_string())),
    ];
    for (what, url) in endpoints.into_iter().flatten() {
        check_endpoint(what, &url)?;
    }
    Ok(())
}

fn check_endpoint(what: &str, url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|_| format!("{what} {url:?} is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&parsed) => Ok(()),
        _ => Err(format!("{what} {url:?} must be https (plain http only for loopback hosts)")),
    }
}

impl Oidc {
    pub(crate) fn new(config: &AuthConfig, secret: &Secret<Vec<u8>>) -> Result<Self, String> {
        let redirect = RedirectUrl::new(config.public_url_for("/api/v1/auth/callback")).map_err(|e| e.to_string())?;
        let mut providers = Vec::new();
        for cfg in &config.oidc {
            providers.push(Arc::new(Provider {
                http: IdpHttp::new(cfg)?,
                cfg: cfg.clone(),
                redirect: redirect.clone(),
                discovered: std::sync::RwLock::new(None),
                last_attempt: Mutex::new(Attempt::default()),
            }));
        }
        // A key of its own for the flow cookie, derived from the session secret.
        let master = Sha256::digest([b"auth-core oidc flow cookie v1:".as_slice(), secret.expose()].concat());
        let flow_cookie = if config.is_https() { "__Host-auth_oidc".to_string() } else { "auth_oidc".to_string() };
        Ok(Self { providers, flow_key: cookie::Key::derive_from(&master), flow_cookie, secure: config.is_https() })
    }

    pub(crate) fn provider(&self, id: Option<&str>) -> Result<Arc<Provider>, AuthError> {
        let found = match id {
            None => self.providers.first(),
            Some(id) => self.providers.iter().find(|p| p.cfg.id == id),
        };
        found.cloned().ok_or_else(|| AuthError::NotFound("no such OpenID Connect provider".into()))
    }

    /// Tries discovery of every provider in the background, so the first login is fast.
    pub(crate) fn warm_up(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        for p in &self.providers {
            let p = Arc::clone(p);
            tokio::spawn(async move {
                if let Err(e) = p.ensure().await {
                    tracing::warn!(provider = %p.cfg.id, error = %e.message(), "OIDC discovery failed at startup; will retry on demand");
                }
            });
        }
    }

    /// The flow cookie holding `flow`, encrypted and authenticated (AES-256-GCM).
    pub(crate) fn flow_cookie(&self, flow: &Flow) -> String {
        let mut jar = cookie::CookieJar::new();
        let value = serde_json::to_string(flow).unwrap_or_default();
        jar.private_mut(&self.flow_key).add(cookie::Cookie::new(self.flow_cookie.clone(), value));
        let sealed = jar.get(&self.flow_cookie).map(|c| c.value().to_string()).unwrap_or_default();
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={sealed}; Path=/; Max-Age={FLOW_TTL_SECS}; HttpOnly; SameSite=Lax{secure}", self.flow_cookie)
    }

    /// A `Set-Cookie` that deletes the flow cookie.
    pub(crate) fn clear_flow_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}", self.flow_cookie)
    }

    /// Opens the flow cookie; `None` when absent, forged or not ours.
    pub(crate) fn open_flow(&self, sealed: Option<&str>) -> Option<Flow> {
        let sealed = sealed?;
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new(self.flow_cookie.clone(), sealed.to_string()));
        let plain = jar.private(&self.flow_key).get(&self.flow_cookie)?;
        serde_json::from_str(plain.value()).ok()
    }

    pub(crate) fn flow_cookie_name(&self) -> &str {
        &self.flow_cookie
    }
}

impl Provider {
    /// The discovered provider, discovering it now if needed (at most once per few seconds).
    async fn ensure(&self) -> Result<Arc<Discovered>, AuthError> {
        if let Some(d) = self.discovered.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(d);
        }
        let mut last = self.last_attempt.lock().await;
        if let Some(d) = self.discovered.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(d);
        }
        if last.at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            let why = last.error.clone().unwrap_or_else(|| "the identity provider could not be reached".into());
            return Err(unavailable(format!("{why}; retrying shortly")));
        }
        last.at = Some(Instant::now());
        let d = match self.discover().await {
            Ok(d) => Arc::new(d),
            Err(e) => {
                last.error = Some(match &e {
                    AuthError::IdpUnavailable(why) => why.clone(),
                    other => other.message(),
                });
                return Err(e);
            }
        };
        last.error = None;
        *self.discovered.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&d));
        tracing::info!(provider = %self.cfg.id, issuer = %d.issuer, "OIDC provider discovered");
        Ok(d)
    }

    async fn discover(&self) -> Result<Discovered, AuthError> {
        let url = self.cfg.discovery_url.as_str();
        let got = self.http.get(url, self::http::IdpEndpoint::Discovery).await.map_err(|e| {
            unavailable_because(
                "discovery failed: the identity provider could not be reached",
                format!("{}: {e}", self.cfg.id),
            )
        })?;
        if got.status != 200 {
            return Err(unavailable_because("discovery failed: the identity provider answered an error", got.status));
        }
        let (metadata, raw) = match read_discovery(&got.body) {
            Ok(read) => read,
            Err(DocumentError::NotJson) => return Err(unavailable("the discovery document is not JSON")),
            Err(DocumentError::Invalid(e)) => return Err(unavailable_because("the discovery document is invalid", e)),
        };
        let issuer = metadata.issuer().as_str().to_string();
        if !issuer_accepted(&self.cfg, &issuer) {
            tracing::error!(expected = %self.cfg.issuer, announced = %issuer, "OIDC issuer mismatch");
            return Err(unavailable("the discovery document announces another issuer than the configured one"));
        }
        let end_session_endpoint = raw.get("end_session_endpoint").and_then(|v| v.as_str()).map(str::to_string);
        check_endpoints(&metadata, end_session_endpoint.as_deref())
            .map_err(|e| unavailable_because("the discovery document names an unusable endpoint", e))?;
        if metadata.token_endpoint().is_none() {
            return Err(unavailable("the provider announces no token_endpoint"));
        }
        let jwks = Jwks::load(&self.cfg.id, metadata.jwks_uri().as_str(), self.http.clone()).await?;
        Ok(Discovered { issuer, jwks, end_session_endpoint, metadata })
    }

    /// An openidconnect client for the discovered provider with these keys.
    fn client(&self, d: &Discovered, keys: &Keys) -> Client {
        let metadata = &d.metadata;
        let md = metadata.clone().set_jwks(keys.set.clone());
        let client = CoreClient::from_provider_metadata(
            md,
            ClientId::new(self.cfg.client_id.clone()),
            Some(ClientSecret::new(self.cfg.client_secret.expose().clone())),
        )
        .set_redirect_uri(self.redirect.clone());
        // client_secret_basic unless the IdP only takes client_secret_post.
        let methods = metadata.token_endpoint_auth_methods_supported();
        let post_only = methods.is_some_and(|m| {
            m.contains(&CoreClientAuthMethod::ClientSecretPost) && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
        if post_only { client.set_auth_type(AuthType::RequestBody) } else { client }
    }

    /// The authorization URL and the flow to remember.
    pub(crate) async fn start(
        &self,
        return_to: String,
        invitation: Option<String>,
        login_hint: Option<&str>,
        now: i64,
    ) -> Result<(String, Flow), AuthError> {
        let d = self.ensure().await?;
        let client = self.client(&d, &d.jwks.current());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge);
        for scope in self.cfg.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            p: self.cfg.id.clone(),
            s: state.secret().clone(),
            n: nonce.secret().clone(),
            v: verifier.secret().clone(),
            r: return_to,
            i: invitation,
            t: now,
        };
        Ok((url.to_string(), flow))
    }

    /// Checks the callback's `iss` parameter (RFC 9207) when the IdP sends one.
    pub(crate) async fn check_iss_param(&self, iss: Option<&str>) -> Result<(), AuthError> {
        let Some(iss) = iss else { return Ok(()) };
        let d = self.ensure().await?;
        let same = |issuer: &str| iss.trim_end_matches('/') == issuer.trim_end_matches('/');
        // Entra's multi-tenant issuer: the callback names the user's tenant.
        let tenant_issuer = || self.cfg.tenants.iter().any(|tid| same(&d.issuer.replace(TENANT_PLACEHOLDER, tid)));
        if same(&d.issuer) || (d.issuer.contains(TENANT_PLACEHOLDER) && tenant_issuer()) {
            Ok(())
        } else {
            Err(AuthError::invalid("iss", "the callback comes from another issuer"))
        }
    }

    /// Redeems the code and validates everything (OIDC Core 3.1.3.7), returning the identity.
    pub(crate) async fn finish(&self, code: &str, flow: &Flow) -> Result<Identity, AuthError> {
        let d = self.ensure().await?;
        let client = self.client(&d, &d.jwks.current());
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| unavailable_because("the token endpoint is unusable", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.v.clone()));
        let tokens = request.request_async(&self.http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                tracing::warn!(provider = %self.cfg.id, error = %r.error(), "the IdP refused the authorization code");
                AuthError::invalid("code", "the identity provider refused the authorization code")
            }
            other => {
                tracing::warn!(provider = %self.cfg.id, error = %other, "token request failed");
                AuthError::IdpBadResponse("the token request failed".into())
            }
        })?;
        let id_token = tokens.id_token().ok_or_else(|| bad_token("the token response holds no ID token"))?;
        let header = jwt_header(&id_token.to_string()).ok_or_else(|| bad_token("the ID token header is unreadable"))?;
        let kid = match header.get("kid") {
            None => None,
            Some(serde_json::Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(bad_token("the ID token's kid is not a string")),
        };
        // The keys that know this kid (re-read on an unknown one: key rotation).
        let keys = d.jwks.keys_for(kid).await;
        // Without a kid, the key must be unambiguous: one signing key in the JWKS, not "try each".
        if kid.is_none() && signing_keys(&keys.set) > 1 {
            return Err(bad_token("the ID token names no kid and the provider publishes several keys"));
        }
        let client = self.client(&d, &keys);
        let nonce = Nonce::new(flow.n.clone());
        let profile = self.cfg.profile;
        // Entra's multi-tenant issuer is checked below instead.
        let own_iss_check = d.issuer.contains(TENANT_PLACEHOLDER);
        let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS).require_issuer_match(!own_iss_check);
        let claims = id_token.claims(&verifier, &nonce).map_err(|e| bad_token(format!("ID token: {e}")))?;
        // at_hash, when present, binds the access token to the ID token.
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| bad_token(format!("at_hash: {e}")))?;
            let key = id_token.signing_key(&verifier).map_err(|e| bad_token(format!("at_hash: {e}")))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
                .map_err(|e| bad_token(format!("at_hash: {e}")))?;
            if actual != *expected {
                return Err(bad_token("at_hash does not match the access token"));
            }
        }
        if let Some(azp) = claims.authorized_party()
            && azp.as_str() != self.cfg.client_id
        {
            return Err(bad_token("azp is not this client"));
        }
        let now = chrono_now();
        if claims.issue_time().timestamp() > now + 60 {
            return Err(bad_token("iat is in the future"));
        }
        let raw = id_token.to_string();
        let payload = jwt_payload(&raw).unwrap_or_default();
        let issuer = self.token_issuer(&d, &payload)?;
        if profile == Some(Profile::Google) && !self.cfg.domains.is_empty() {
            let hd = payload.get("hd").and_then(|v| v.as_str());
            if !hd.is_some_and(|hd| self.cfg.domains.iter().any(|d| d.eq_ignore_ascii_case(hd))) {
                return Err(AuthError::Forbidden(
                    "this Google account does not belong to an allowed Workspace domain (hd)".into(),
                ));
            }
        }
        let idp_sid = payload.get("sid").and_then(|v| v.as_str()).map(str::to_string);
        let role_claim = self.cfg.role_mapping.as_ref().map(|m| m.claim.as_str());
        let mut role_values = role_claim.and_then(|c| claim_values(&payload, c));
        let verified = email_verified(&payload, profile);
        let mut identity = Identity {
            provider: self.cfg.id.clone(),
            issuer,
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: verified == Some(true),
            email_assumed_verified: verified.is_none() && self.cfg.assume_email_verified,
            trust_email_for_linking: self.cfg.trust_email_for_linking,
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
            role_values: Vec::new(),
            idp_sid,
            id_token: raw,
        };
        // UserInfo, when offered: its `sub` must be the ID token's.
        let info = if profile == Some(Profile::Cognito) {
            self.cognito_user_info(&d, tokens.access_token().secret(), &identity.subject).await?
        } else if let Ok(request) =
            client.user_info(tokens.access_token().clone(), Some(SubjectIdentifier::new(identity.subject.clone())))
        {
            let info: UserInfo = request.request_async(&self.http).await.map_err(|e| match e {
                openidconnect::UserInfoError::ClaimsVerification(e) => bad_token(format!("UserInfo: {e}")),
                other => {
                    tracing::warn!(provider = %self.cfg.id, error = %other, "UserInfo request failed");
                    AuthError::IdpBadResponse("the UserInfo request failed".into())
                }
            })?;
            serde_json::to_value(&info).ok()
        } else {
            None
        };
        if let Some(info) = info {
            if identity.email.is_none() {
                identity.email = info.get("email").and_then(|v| v.as_str()).map(str::to_string);
                let verified = email_verified(&info, profile);
                identity.email_verified = verified == Some(true);
                identity.email_assumed_verified = verified.is_none() && self.cfg.assume_email_verified;
            }
            if identity.name.is_none() {
                identity.name = info.get("name").and_then(|v| v.as_str()).map(str::to_string);
            }
            if role_values.is_none()
                && let Some(claim) = role_claim
            {
                role_values = claim_values(&info, claim);
            }
        }
        if let Some(claim) = role_claim {
            tracing::debug!(provider = %self.cfg.id, claim, values = ?role_values, "OIDC role claim");
        }
        identity.role_values = role_values.unwrap_or_default();
        Ok(identity)
    }

    /// The issuer of a verified ID token's identity. openidconnect checked `iss` against the
    /// discovered issuer, except for Entra ID's multi-tenant issuer (`{tenantid}` filled in
    /// with the token's `tid`, which must be one of `tenants`).
    fn token_issuer(&self, d: &Discovered, payload: &serde_json::Value) -> Result<String, AuthError> {
        let iss = payload.get("iss").and_then(|v| v.as_str()).ok_or_else(|| bad_token("the ID token has no iss"))?;
        if d.issuer.contains(TENANT_PLACEHOLDER) {
            let tid = payload
                .get("tid")
                .and_then(|v| v.as_str())
                .filter(|t| is_tenant_id(t))
                .ok_or_else(|| bad_token("the ID token names no tenant (tid)"))?;
            if !self.cfg.tenants.iter().any(|t| t == tid) {
                tracing::warn!(provider = %self.cfg.id, tid, "OIDC sign-in from a tenant not in tenants");
                return Err(AuthError::Forbidden("this Entra ID tenant may not sign in here".into()));
            }
            let expected = d.issuer.replace(TENANT_PLACEHOLDER, tid);
            if iss != expected {
                return Err(bad_token("iss is not the issuer of the token's tenant"));
            }
            return Ok(expected);
        }
        Ok(d.issuer.clone())
    }

    /// UserInfo read directly (Cognito answers `email_verified` as a string, which the typed
    /// client refuses): JSON only, and its `sub` must be the ID token's.
    async fn cognito_user_info(
        &self,
        d: &Discovered,
        access_token: &str,
        subject: &str,
    ) -> Result<Option<serde_json::Value>, AuthError> {
        let Some(url) = d.metadata.userinfo_endpoint() else { return Ok(None) };
        let failed = |e: &dyn std::fmt::Display| {
            tracing::warn!(provider = %self.cfg.id, error = %e, "UserInfo request failed");
            AuthError::IdpBadResponse("the UserInfo request failed".into())
        };
        let got = self
            .http
            .get_bearer(url.as_str(), access_token, self::http::IdpEndpoint::Userinfo)
            .await
            .map_err(|e| failed(&e))?;
        if got.status != 200 {
            return Err(failed(&got.status));
        }
        let info: serde_json::Value = serde_json::from_slice(&got.body).map_err(|e| failed(&e))?;
        if info.get("sub").and_then(|v| v.as_str()) != Some(subject) {
            return Err(bad_token("UserInfo: its sub is not the ID token's"));
        }
        Ok(Some(info))
    }

    /// The RP-initiated logout URL for a session's ID token, if the IdP offers one.
    pub(crate) async fn logout_url(&self, id_token: &str, post_logout: &str) -> Option<String> {
        let d = self.ensure().await.ok()?;
        let mut url = url::Url::parse(d.end_session_endpoint.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", post_logout)
            .append_pair("client_id", &self.cfg.client_id);
        Some(url.to_string())
    }

    /// Validates a back-channel logout token (OIDC Back-Channel Logout 1.0 §2.6): signature by
    /// the provider's keys (re-read on an unknown `kid`), `iss`, `aud`, `exp` (or, for
    /// providers that send none, `iat` at most [`LOGOUT_IAT_WINDOW_SECS`] old), `iat` not in
    /// the future, the back-channel event, `sub` or `sid`, no `nonce`, `typ` if set. Single
    /// use is the caller's part (until [`LogoutToken::valid_until`]).
    pub(crate) async fn verify_logout_token(&self, token: &str) -> Result<LogoutToken, AuthError> {
        let d = self.ensure().await?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::invalid("logout_token", "not a JWT"))?;
        use jsonwebtoken::Algorithm as A;
        let alg_ok = matches!(
            header.alg,
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512 | A::ES256 | A::ES384 | A::EdDSA
        );
        if !alg_ok || header.typ.as_deref().is_some_and(|t| t != "logout+jwt") {
            return Err(AuthError::invalid("logout_token", "unexpected algorithm or type"));
        }
        // The keys that know this kid (re-read on an unknown one: key rotation).
        let keys = d.jwks.keys_for(header.kid.as_deref()).await;
        let candidates: Vec<&jsonwebtoken::jwk::Jwk> = match &header.kid {
            Some(kid) => keys.jwt.iter().filter(|k| k.common.key_id.as_deref() == Some(kid.as_str())).collect(),
            None if keys.jwt.len() == 1 => keys.jwt.iter().collect(),
            None => Vec::new(),
        };
        let key = candidates.first().ok_or_else(|| AuthError::invalid("logout_token", "unknown signing key"))?;
        let key =
            jsonwebtoken::DecodingKey::from_jwk(key).map_err(|_| AuthError::invalid("logout_token", "unusable key"))?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[d.issuer.as_str()]);
        validation.set_audience(&[self.cfg.client_id.as_str()]);
        // `exp` is checked when present; without it, the `iat` window below applies.
        validation.set_required_spec_claims(&["iss", "aud"]);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        #[derive(Deserialize)]
        struct LogoutClaims {
            iat: i64,
            exp: Option<i64>,
            jti: String,
            events: serde_json::Map<String, serde_json::Value>,
            sub: Option<String>,
            sid: Option<String>,
            nonce: Option<serde_json::Value>,
        }
        let data = jsonwebtoken::decode::<LogoutClaims>(token, &key, &validation)
            .map_err(|e| AuthError::invalid("logout_token", format!("invalid: {e}")))?;
        let c = data.claims;
        let event = c.events.get("http://schemas.openid.net/event/backchannel-logout");
        if !event.is_some_and(serde_json::Value::is_object) {
            return Err(AuthError::invalid("logout_token", "missing the back-channel logout event"));
        }
        if c.nonce.is_some() {
            return Err(AuthError::invalid("logout_token", "must not contain a nonce"));
        }
        if c.sub.is_none() && c.sid.is_none() {
            return Err(AuthError::invalid("logout_token", "needs sub or sid"));
        }
        let now = chrono_now();
        if c.iat > now + LEEWAY_SECS {
            return Err(AuthError::invalid("logout_token", "iat is in the future"));
        }
        let valid_until = logout_token_lifetime_end(c.iat, c.exp);
        if now > valid_until {
            return Err(AuthError::invalid("logout_token", "has no exp and its iat is too old"));
        }
        if c.jti.is_empty() || c.jti.len() > 256 {
            return Err(AuthError::invalid("logout_token", "jti must be 1 to 256 characters"));
        }
        Ok(LogoutToken { sid: c.sid, sub: c.sub, jti: c.jti, valid_until })
    }

    pub(crate) fn issuer(&self) -> Option<String> {
        self.discovered.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|d| d.issuer.clone())
    }
}

/// Clock skew allowed on `iat` and `exp` of logout tokens.
const LEEWAY_SECS: i64 = 60;
/// How old a logout token without `exp` may be (its `iat`), in seconds.
pub(crate) const LOGOUT_IAT_WINDOW_SECS: i64 = 300;

/// A verified back-channel logout token.
#[derive(Debug)]
pub(crate) struct LogoutToken {
    pub(crate) sid: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) jti: String,
    /// The last second (unix) at which the token could still be accepted; its `jti` must be
    /// remembered until then.
    pub(crate) valid_until: i64,
}

/// The last second a logout token is accepted: its `exp`, or `iat` + the window without one,
/// plus the leeway.
fn logout_token_lifetime_end(iat: i64, exp: Option<i64>) -> i64 {
    exp.unwrap_or_else(|| iat.saturating_add(LOGOUT_IAT_WINDOW_SECS)).saturating_add(LEEWAY_SECS)
}

fn chrono_now() -> i64 {
    crate::time::now()
}

/// The placeholder of Entra ID's multi-tenant issuer.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether the announced issuer is Entra ID's multi-tenant form of the configured one: the
/// configured tenant segment (`common`, `organizations`, `consumers`) is `{tenantid}` there.
fn entra_template_matches(configured: &str, announced: &str) -> bool {
    let configured: Vec<&str> = configured.trim_end_matches('/').split('/').collect();
    let announced: Vec<&str> = announced.trim_end_matches('/').split('/').collect();
    configured.len() == announced.len()
        && configured.iter().zip(&announced).all(|(c, a)| {
            c == a
                || (*a == TENANT_PLACEHOLDER
                    && ["common", "organizations", "consumers"].iter().any(|t| c.eq_ignore_ascii_case(t)))
        })
}

/// `email_verified` as the provider means it: a boolean; Cognito's `"true"`/`"false"` strings
/// under its profile; Entra ID's `xms_edov` (domain owner verified) when the claim is absent
/// under its profile. A claim of another type counts as not verified. `None` when absent.
fn email_verified(claims: &serde_json::Value, profile: Option<Profile>) -> Option<bool> {
    use serde_json::Value;
    match claims.get("email_verified") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if profile == Some(Profile::Cognito) => Some(s.eq_ignore_ascii_case("true")),
        Some(_) => Some(false),
        None if profile == Some(Profile::Entra) => match claims.get("xms_edov") {
            Some(Value::Bool(true)) => Some(true),
            Some(Value::String(s)) if s == "1" || s.eq_ignore_ascii_case("true") => Some(true),
            _ => None,
        },
        None => None,
    }
}

/// Every claim of a UserInfo answer beyond the standard ones (for `roleClaim`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AnyClaims {
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl openidconnect::AdditionalClaims for AnyClaims {}

type UserInfo = openidconnect::UserInfoClaims<AnyClaims, CoreGenderClaim>;

/// The string values of claim `name` in `claims`: a string, or the strings of a list. The
/// whole name is looked up first; else dots descend into objects (`realm_access.roles`).
/// `None` when absent; a claim of another type counts as no values.
fn claim_values(claims: &serde_json::Value, name: &str) -> Option<Vec<String>> {
    let value = claims.get(name).or_else(|| name.split('.').try_fold(claims, |v, key| v.get(key)))?;
    Some(match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => {
            tracing::warn!(claim = name, "the role claim is neither a string nor a list of strings");
            Vec::new()
        }
    })
}

/// The header of a JWT as JSON (not verified).
fn jwt_header(token: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How many keys of a JWKS may sign (`use` absent or `sig`).
fn signing_keys(jwks: &CoreJsonWebKeySet) -> usize {
    serde_json::to_value(jwks)
        .ok()
        .and_then(|v| {
            v.get("keys").and_then(|k| k.as_array()).map(|keys| {
                keys.iter().filter(|k| k.get("use").and_then(|u| u.as_str()).is_none_or(|u| u == "sig")).count()
            })
        })
        .unwrap_or(0)
}

/// The payload of a (verified) JWT as JSON.
fn jwt_payload(token: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// SHA-256 of a state, hex, as stored for single use.
pub(crate) fn state_hash(prefix: &str, state: &str) -> String {
    Sha256::digest([prefix.as_bytes(), state.as_bytes()].concat()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_claims_are_strings_lists_or_paths() {
        let claims = serde_json::json!({
            "groups": ["staff", "admins", 7],
            "role": "owner",
            "realm_access": {"roles": ["app-admin"]},
            "https://example.com/roles": ["ns"],
            "weird": {"a": 1},
        });
        assert_eq!(claim_values(&claims, "groups"), Some(vec!["staff".to_string(), "admins".to_string()]));
        assert_eq!(claim_values(&claims, "role"), Some(vec!["owner".to_string()]));
        assert_eq!(claim_values(&claims, "realm_access.roles"), Some(vec!["app-admin".to_string()]));
        assert_eq!(claim_values(&claims, "https://example.com/roles"), Some(vec!["ns".to_string()]));
        assert_eq!(claim_values(&claims, "weird"), Some(vec![]));
        assert_eq!(claim_values(&claims, "missing"), None);
        assert_eq!(claim_values(&claims, "realm_access.missing"), None);
    }

    #[test]
    fn provider_quirks() {
        let base = "https://login.microsoftonline.com";
        assert!(entra_template_matches(&format!("{base}/common/v2.0"), &format!("{base}/{{tenantid}}/v2.0")));
        assert!(entra_template_matches(&format!("{base}/Organizations/v2.0/"), &format!("{base}/{{tenantid}}/v2.0")));
        assert!(!entra_template_matches(&format!("{base}/contoso/v2.0"), &format!("{base}/{{tenantid}}/v2.0")));
        assert!(!entra_template_matches("https://evil.example/common/v2.0", &format!("{base}/{{tenantid}}/v2.0")));
        let v = |j: serde_json::Value, p| email_verified(&j, p);
        use serde_json::json;
        assert_eq!(v(json!({"email_verified": true}), None), Some(true));
        assert_eq!(v(json!({"email_verified": "true"}), None), Some(false));
        assert_eq!(v(json!({"email_verified": "true"}), Some(Profile::Cognito)), Some(true));
        assert_eq!(v(json!({"email_verified": "false"}), Some(Profile::Cognito)), Some(false));
        assert_eq!(v(json!({}), Some(Profile::Cognito)), None);
        assert_eq!(v(json!({"xms_edov": true}), Some(Profile::Entra)), Some(true));
        assert_eq!(v(json!({"xms_edov": true}), None), None);
        assert_eq!(v(json!({"xms_edov": false}), Some(Profile::Entra)), None);
    }

    #[test]
    fn a_logout_token_lives_until_exp_or_the_iat_window() {
        assert_eq!(logout_token_lifetime_end(1000, Some(5000)), 5000 + LEEWAY_SECS);
        // A two-day token is remembered for two days, not a fixed day.
        assert_eq!(logout_token_lifetime_end(0, Some(2 * 86_400)), 2 * 86_400 + LEEWAY_SECS);
        assert_eq!(logout_token_lifetime_end(1000, None), 1000 + LOGOUT_IAT_WINDOW_SECS + LEEWAY_SECS);
        assert_eq!(logout_token_lifetime_end(i64::MAX, None), i64::MAX);
    }
}
