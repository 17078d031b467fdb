//! One config model for both adapters: YAML file (Helm-style values or the bare model) plus
//! environment, validated once, every error reported at once with its path.
//!
//! - this module: the model ([`AuthConfig`] and its sections); each section's `Default` is the
//!   one place its defaults are written;
//! - `raw`: the serde mirror of the file (every value optional);
//! - `load`: file, Helm values (`backend.config` + `backend.extraEnvVariables`), environment,
//!   [`LoadOptions`]; unknown keys are warned about with their full path;
//! - `validate`: raw + environment → model, and the rules, shared by the loader and
//!   [`AuthConfig::validate`];
//! - `duration`: `60`, `90s`, `15m`, `12h`, `7d`.
//!
//! From a file:
//!
//! ```
//! use auth_core::config::AuthConfig;
//!
//! let yaml = r#"
//! backend:
//!   config:
//!     basicAuth:
//!       enabled: true
//!       validEmailDomain: "example.com"
//!       jwtSecret: "at-least-32-bytes-of-secret-material"
//! "#;
//! let config = AuthConfig::from_yaml(yaml, |_| None).expect("valid");
//! assert_eq!(config.basic_auth.valid_email_domain.as_deref(), Some("example.com"));
//! ```
//!
//! Code first, with the same checks:
//!
//! ```
//! use auth_core::config::{AuthConfig, JwtSecretSource, SignupMode};
//! use auth_core::Secret;
//!
//! let mut config = AuthConfig::default();
//! config.basic_auth.signup = SignupMode::Open;
//! config.jwt_secret = JwtSecretSource::Configured(Secret::new(b"too short".to_vec()));
//! let errors = config.validate().expect_err("a 9-byte secret is refused");
//! assert_eq!(errors.0[0].path, "basicAuth.jwtSecret");
//! ```

mod duration;
mod load;
mod raw;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

use crate::secret::Secret;

pub use duration::parse_duration;
pub use load::{LoadOptions, unknown_keys};
pub(crate) use validate::BUILT_IN_PAGES;
#[cfg(feature = "oidc")]
pub(crate) use validate::is_tenant_id;
pub use validate::{is_loopback_host, normalize_discovery_url};

/// Smallest accepted session secret, in bytes (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// OWASP floor for argon2id memory, in KiB.
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP floor for argon2id iterations.
pub const ARGON2_MIN_ITERATIONS: u32 = 2;
/// Hard maximum password length in bytes, checked before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The highest zxcvbn strength score (`basicAuth.minPasswordScore` is 0 to this).
pub const MAX_PASSWORD_SCORE: u8 = 4;
/// The well-known suffix every discovery URL ends with.
pub const DISCOVERY_SUFFIX: &str = ".well-known/openid-configuration";
/// The file name a mounted Kubernetes Secret key is expected under.
pub const K8S_SECRET_KEY: &str = "byoc-jwt-secret";

/// One problem in the configuration, with the path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path, e.g. `backend.config.oidc.discoveryUrl`.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Every problem found in the configuration. `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid auth configuration ({} problem(s)):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

/// Who may create an account without an invitation (after the first admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignupMode {
    /// `invite-only`: only invited users may join. Defaults to this.
    #[default]
    InviteOnly,
    /// `open`: anyone (within `validEmailDomain`) may create an account and their own
    /// organization.
    Open,
}

impl SignupMode {
    /// The name used in config and in `GET /config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InviteOnly => "invite-only",
            Self::Open => "open",
        }
    }
}

/// The cookie's `SameSite` attribute (`lax` or `strict`; any case in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SameSite {
    /// `SameSite=Lax`. Defaults to this.
    #[default]
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

impl SameSite {
    /// The name used in config (`lax`, `strict`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "lax",
            Self::Strict => "strict",
        }
    }
}

/// Where the session-signing secret comes from.
#[derive(Debug, Clone, Default)]
pub enum JwtSecretSource {
    /// Configured (`jwtSecret`, `AUTH_JWT_SECRET`, `BYOC_JWT_SECRET` or a mounted file).
    Configured(Secret<Vec<u8>>),
    /// None configured: generated once and persisted in the store. Defaults to this.
    #[default]
    Generate,
}

/// Where a configured session secret was read from ([`AuthConfig::jwt_secret_origin`]).
///
/// Informational (diagnostics such as `auth-admin doctor`): it never changes what is
/// accepted. It names the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretOrigin {
    /// `basicAuth.jwtSecret` in the file.
    ConfigKey,
    /// An environment variable: `AUTH_JWT_SECRET`, or `BYOC_JWT_SECRET` (the way a Kubernetes
    /// Secret is injected).
    Env(&'static str),
    /// A file: `basicAuth.jwtSecretFile`, or the mounted key `byoc-jwt-secret` of the
    /// Kubernetes Secret `existingSecretName` (then `secret_name` names it).
    File {
        /// The file that was read.
        path: PathBuf,
        /// `basicAuth.existingSecretName`, if that is why the file was read.
        secret_name: Option<String>,
    },
}

impl SecretOrigin {
    /// Whether the secret comes from a Kubernetes Secret (`BYOC_JWT_SECRET` or a mounted
    /// `existingSecretName` key).
    pub fn is_kubernetes_secret(&self) -> bool {
        match self {
            Self::Env(var) => *var == "BYOC_JWT_SECRET",
            Self::File { secret_name, .. } => secret_name.is_some(),
            Self::ConfigKey => false,
        }
    }
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConfigKey => f.write_str("basicAuth.jwtSecret"),
            Self::Env(var) if self.is_kubernetes_secret() => write!(f, "the Kubernetes Secret via {var}"),
            Self::Env(var) => write!(f, "the environment variable {var}"),
            Self::File { path, secret_name: Some(name) } => {
                write!(f, "the Kubernetes Secret {name:?} mounted as {}", path.display())
            }
            Self::File { path, secret_name: None } => write!(f, "basicAuth.jwtSecretFile ({})", path.display()),
        }
    }
}

/// argon2id cost parameters (`basicAuth.argon2.*`). Defaults to the OWASP floor (m=19456 KiB,
/// t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB, 19456 to 2097152. Defaults to 19456; lower is refused.
    pub memory_kib: u32,
    /// Iterations. Defaults to 2; lower is refused.
    pub iterations: u32,
    /// Lanes, 1 to 16. Defaults to 1.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: ARGON2_MIN_MEMORY_KIB, iterations: ARGON2_MIN_ITERATIONS, parallelism: 1 }
    }
}

/// Password accounts (`basicAuth.*`).
#[derive(Debug, Clone)]
pub struct BasicAuthConfig {
    /// Whether email/password sign-in is offered. Defaults to `true`.
    pub enabled: bool,
    /// Only this email domain may sign up, be invited or log in (lower-case). Defaults to none.
    pub valid_email_domain: Option<String>,
    /// Self-service signup after the first admin. Defaults to invite-only.
    pub signup: SignupMode,
    /// Minimum password length in characters, 8 to 128. Defaults to 8; lower is refused.
    pub min_password_length: usize,
    /// Lowest zxcvbn strength score a new password needs, 0 (no estimate) to 4. Defaults to 3.
    pub min_password_score: u8,
    /// argon2id parameters.
    pub argon2: Argon2Params,
    /// How many hashes may run at once, 1 to 64. Defaults to the number of CPUs (at most 64).
    pub max_concurrent_hashes: usize,
    /// How long a password-reset link works (`basicAuth.passwordReset.expiresIn`), 5 s to
    /// 24 h. Defaults to 30 min.
    pub password_reset_ttl: Duration,
    /// A password account gets a session only once its email address is verified
    /// (`basicAuth.requireVerifiedEmail`; needs `smtp`). Defaults to `false`.
    pub require_verified_email: bool,
}

impl Default for BasicAuthConfig {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            enabled: true,
            valid_email_domain: None,
            signup: SignupMode::default(),
            min_password_length: 8,
            min_password_score: 3,
            argon2: Argon2Params::default(),
            max_concurrent_hashes: cpus.clamp(1, 64),
            password_reset_ttl: Duration::from_secs(30 * 60),
            require_verified_email: false,
        }
    }
}

/// Session lifetimes and cookie (`session.*`).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Cookie name without prefix. Defaults to `auth_session` (`__Host-auth_session` on https).
    pub cookie_name: String,
    /// A session unused for this long ends. Defaults to 12 h.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not. Defaults to 7 d.
    pub absolute_timeout: Duration,
    /// How long a validated session is trusted before the store is asked again (revocation
    /// by other instances). Defaults to 60 s; 0 asks the store on every request.
    pub revalidate_after: Duration,
    /// The cookie's SameSite. Defaults to Lax.
    pub same_site: SameSite,
    /// How many verified tokens are cached per instance, at least 16. Defaults to 10,000.
    pub cache_capacity: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "auth_session".into(),
            idle_timeout: Duration::from_secs(12 * 3600),
            absolute_timeout: Duration::from_secs(7 * 86_400),
            revalidate_after: Duration::from_secs(60),
            same_site: SameSite::default(),
            cache_capacity: 10_000,
        }
    }
}

/// Login throttling per account and per client address (`loginThrottle.*`).
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failed attempts per account before it is locked, at least 1. Defaults to 5.
    pub max_failures_per_account: u32,
    /// Failed attempts per client address before it is locked, at least 1. Defaults to 50.
    pub max_failures_per_client: u32,
    /// First lockout, at most `max_lockout`; each further failure while counted doubles it.
    /// Defaults to 30 s.
    pub lockout: Duration,
    /// Longest lockout. Defaults to 15 min.
    pub max_lockout: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures_per_account: 5,
            max_failures_per_client: 50,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// How to talk to the SMTP server (`starttls`, `tls` or `none`; any case in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum SmtpSecurity {
    /// `starttls`: plain SMTP upgraded with STARTTLS (required). Defaults to this.
    #[default]
    #[serde(rename = "starttls")]
    StartTls,
    /// `tls`: implicit TLS (SMTPS, usually port 465).
    #[serde(rename = "tls")]
    Tls,
    /// `none`: no TLS; only accepted for loopback hosts (a local relay or a test sink).
    #[serde(rename = "none")]
    None,
}

impl SmtpSecurity {
    /// The name used in config (`starttls`, `tls`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }

    /// The port used when `smtp.port` is not set: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// Optional mail delivery of invitations (`smtp.*`). `host` and `from` have no default and
/// are required.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host. Required.
    pub host: String,
    /// Server port. Defaults to 587 (STARTTLS), 465 (TLS) or 25 (none).
    pub port: u16,
    /// Transport security. Defaults to STARTTLS.
    pub security: SmtpSecurity,
    /// Login user, if the server needs one. Defaults to none.
    pub username: Option<String>,
    /// Login password (with `username`). Defaults to none.
    pub password: Option<Secret<String>>,
    /// The `From` mailbox, e.g. `Acme <noreply@example.com>`. Required.
    pub from: String,
    /// Connect and send timeout. Defaults to 10 s.
    pub timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        let security = SmtpSecurity::default();
        Self {
            host: String::new(),
            port: security.default_port(),
            security,
            username: None,
            password: None,
            from: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One OpenID Connect provider (`oidc.*` or an entry of `oidc.providers`). Build one with
/// [`OidcProviderConfig::new`], which applies the defaults.
#[derive(Debug, Clone)]
pub struct OidcProviderConfig {
    /// Identifier used in `?provider=` (the single seed form gets `default`).
    pub id: String,
    /// Name on the login button. Defaults to `SSO`.
    pub display_name: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret<String>,
    /// Normalised discovery URL (always ends in `/.well-known/openid-configuration`).
    pub discovery_url: Url,
    /// The issuer the discovery document must announce.
    pub issuer: String,
    /// Requested scopes. Always contains `openid`, `profile` and `email` (the default).
    pub scopes: Vec<String>,
    /// Verify the IdP's TLS certificate. Defaults to `true` (`OIDC_VERIFY_SSL=false` turns it off).
    pub verify_ssl: bool,
    /// Extra CA bundle (PEM) to trust for the IdP. Defaults to none.
    pub ca_cert_file: Option<PathBuf>,
    /// Treat an email as verified when the IdP sends no `email_verified` claim at all (Entra ID
    /// omits it). Allows creating accounts and joining invitations; never links an existing
    /// account. Defaults to `false`.
    pub assume_email_verified: bool,
    /// Organization membership and role from a claim of the IdP, applied at every login
    /// (`roleClaim`, `adminValues`, `memberValues`, `organization`). Defaults to none: roles
    /// are managed in the app only.
    pub role_mapping: Option<RoleMapping>,
    /// Email domains whose users sign in here (exact, lower-case, no subdomains): an address
    /// given as `login_hint` picks this provider. Defaults to none.
    pub domains: Vec<String>,
    /// Addresses of `domains` may not sign in (or sign up) with a password. Defaults to `false`.
    pub enforce: bool,
    /// The provider's known quirks to handle ([`Profile`]). Defaults to none.
    pub profile: Option<Profile>,
    /// Link a first SSO login to an existing account with the same (verified) email. Defaults
    /// to `false`, except for profiles whose provider is known to verify addresses (Google).
    pub trust_email_for_linking: bool,
    /// Entra ID, multi-tenant (`common`, `organizations`, `consumers`): the tenant ids (`tid`)
    /// whose users may sign in. Required there; defaults to none.
    pub tenants: Vec<String>,
}

/// A provider's documented quirks, opted into with `oidc.providers[].profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Microsoft Entra ID: a multi-tenant issuer with `{tenantid}` (the token's `tid` fills it
    /// in; `tenants` lists the allowed ones), no `email_verified` (assumed, never linked;
    /// `xms_edov: true` counts as verified), app roles in `roles`.
    Entra,
    /// Amazon Cognito: UserInfo sends `email_verified` as a string; groups in `cognito:groups`.
    Cognito,
    /// Keycloak: realm roles in `realm_access.roles`.
    Keycloak,
    /// Okta: groups in `groups` (often only in UserInfo: thin ID tokens).
    Okta,
    /// Google: with `domains`, the Workspace domain `hd` must be one of them; addresses are
    /// verified by Google, so linking trusts them (`trustEmailForLinking` defaults to on).
    Google,
}

impl Profile {
    /// Every profile, by its config name.
    pub const ALL: [(&'static str, Profile); 5] = [
        ("entra", Profile::Entra),
        ("cognito", Profile::Cognito),
        ("keycloak", Profile::Keycloak),
        ("okta", Profile::Okta),
        ("google", Profile::Google),
    ];

    /// The config name.
    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, p)| *p == self).map_or("", |(n, _)| n)
    }

    /// The claim that carries roles or groups at this provider (the `roleClaim` default).
    pub fn role_claim(self) -> Option<&'static str> {
        match self {
            Profile::Entra => Some("roles"),
            Profile::Cognito => Some("cognito:groups"),
            Profile::Keycloak => Some("realm_access.roles"),
            Profile::Okta => Some("groups"),
            Profile::Google => None,
        }
    }
}

impl OidcProviderConfig {
    /// Opts into a profile and takes its defaults (`trust_email_for_linking` for Google,
    /// `assume_email_verified` for Entra ID). Set other values after this.
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self.trust_email_for_linking = profile == Profile::Google;
        self.assume_email_verified = profile == Profile::Entra;
        self
    }
}

/// Who a user is in one organization, from a claim of the provider (`oidc.providers[].roleClaim`
/// and its companions), applied at every login.
///
/// A value in `admin_values` makes the user an admin, else one in `member_values` a member,
/// else the user loses the membership. The organization never loses its last admin: a
/// demotion or removal that would do that is skipped (and logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    /// The claim, in the ID token or else in UserInfo: a string or a list of strings. Dots
    /// descend into objects (`realm_access.roles`) when no top-level claim has the whole name.
    pub claim: String,
    /// Values that make the user an admin.
    pub admin_values: Vec<String>,
    /// Values that make the user a member.
    pub member_values: Vec<String>,
    /// The organization, by id or exact name. Defaults to the instance's first organization.
    pub organization: Option<String>,
}

impl OidcProviderConfig {
    /// The scopes every provider is asked for.
    pub const REQUIRED_SCOPES: [&'static str; 3] = ["openid", "profile", "email"];

    /// A provider with the defaults, from a discovery URL or an issuer URL (see
    /// [`normalize_discovery_url`]; its error quotes the value and the rule).
    pub fn new(
        id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret<String>,
        discovery_or_issuer_url: &str,
    ) -> Result<Self, String> {
        let (discovery_url, issuer) = normalize_discovery_url(discovery_or_issuer_url)?;
        Ok(Self {
            id: id.into(),
            display_name: "SSO".into(),
            client_id: client_id.into(),
            client_secret,
            discovery_url,
            issuer,
            scopes: Self::REQUIRED_SCOPES.map(String::from).to_vec(),
            verify_ssl: true,
            ca_cert_file: None,
            assume_email_verified: false,
            role_mapping: None,
            domains: Vec::new(),
            enforce: false,
            profile: None,
            trust_email_for_linking: false,
            tenants: Vec::new(),
        })
    }
}

/// The built-in pages (`ui.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// Serve the built-in HTML pages. Defaults to `true`.
    pub enabled: bool,
    /// The name in every page's header and title, 1 to 80 characters. Defaults to
    /// `Self-Hosted Auth`.
    pub product_name: String,
    /// A logo shown beside the name: a same-origin path (`/static/logo.svg`) or an `https://`
    /// URL (its origin is added to the pages' `img-src`). Defaults to none.
    pub logo_url: Option<String>,
    /// Buttons, links and focus rings: `#rgb` or `#rrggbb`. Defaults to `#2557d6`.
    pub accent_color: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self { enabled: true, product_name: "Self-Hosted Auth".into(), logo_url: None, accent_color: "#2557d6".into() }
    }
}

/// The JSON API (`api.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Serve the OpenAPI 3.1 description at `/api/v1/auth/openapi.json` (public; it holds no
    /// secret). Defaults to `true`.
    pub openapi: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { openapi: true }
    }
}

/// Prometheus metrics (`metrics.*`), off by default. See the README's "Operating" section.
///
/// ```
/// use auth_core::AuthConfig;
///
/// let yaml = "metrics:\n  path: /metrics\n  listen: 127.0.0.1:9464\n";
/// let config = AuthConfig::from_yaml(yaml, |_| None).expect("valid");
/// assert_eq!(config.metrics.path.as_deref(), Some("/metrics"));
/// assert_eq!(config.metrics.listen, Some("127.0.0.1:9464".parse().expect("address")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsConfig {
    /// Where the Prometheus text is served (`GET`, no session needed), e.g. `/metrics`: a path
    /// starting with `/` that is neither an auth route (`/api/v1/auth/...`) nor a built-in
    /// page. Without [`listen`](Self::listen), the layer answers it on the app's own port.
    /// Defaults to none: metrics are off.
    pub path: Option<String>,
    /// A separate address (`127.0.0.1:9464`) on which a small server of its own answers `path`
    /// (recommended: keep metrics off the public port); the app's port then treats `path` as
    /// an ordinary guarded path. Requires `path`. Defaults to none.
    pub listen: Option<std::net::SocketAddr>,
}

/// The validated configuration shared by both adapters.
///
/// Load it from a file ([`AuthConfig::load`], [`AuthConfig::load_with`]) or build it in code
/// from [`AuthConfig::default`] and check it with [`AuthConfig::validate`].
///
/// ```
/// use auth_core::AuthConfig;
///
/// // From YAML (a Helm values file or the bare model) and an environment lookup:
/// let config = AuthConfig::from_yaml("ui:\n  productName: Acme Portal\n", |_| None).expect("valid");
/// assert_eq!(config.ui.product_name, "Acme Portal");
///
/// // Code first, with the same checks and paths:
/// let mut config = AuthConfig::default();
/// config.ui.accent_color = "not a colour".into();
/// let errors = config.validate().expect_err("refused");
/// assert_eq!(errors.0[0].path, "ui.accentColor");
/// ```
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// External base URL. Defaults to `http://127.0.0.1:3000` (or
    /// [`LoadOptions::default_public_url`]). Its scheme decides `Secure`.
    pub public_url: Url,
    /// Whether `publicUrl` was configured (file, `AUTH_PUBLIC_URL` or
    /// [`LoadOptions::public_url`]). Defaults to `false`.
    pub public_url_configured: bool,
    /// sqlx database URL. Defaults to `sqlite://data/auth.db` (created if missing).
    pub database_url: String,
    /// The pool of a server database (PostgreSQL): `database.maxConnections`,
    /// `database.acquireTimeout`.
    pub database_pool: crate::store::PoolConfig,
    /// Session settings.
    pub session: SessionConfig,
    /// Password accounts.
    pub basic_auth: BasicAuthConfig,
    /// Session secret source. Defaults to [`JwtSecretSource::Generate`].
    pub jwt_secret: JwtSecretSource,
    /// Where a configured `jwt_secret` was read from, when loaded from a file or the
    /// environment. Defaults to none (built in code, or generated). Informational only.
    pub jwt_secret_origin: Option<SecretOrigin>,
    /// Former secrets that still verify tokens (key rotation); none sign. Defaults to none.
    pub previous_jwt_secrets: Vec<Secret<Vec<u8>>>,
    /// Configured OIDC providers. Defaults to none (OIDC off).
    pub oidc: Vec<OidcProviderConfig>,
    /// Paths the guard lets through without a session (`/x` exact, `/x/*` prefix). Defaults
    /// to none.
    pub public_paths: Vec<String>,
    /// The built-in HTML pages.
    pub ui: UiConfig,
    /// The JSON API.
    pub api: ApiConfig,
    /// Prometheus metrics. Defaults to off.
    pub metrics: MetricsConfig,
    /// Proxies whose `X-Forwarded-For` is believed. Defaults to none.
    pub trusted_proxies: Vec<IpNet>,
    /// Login throttling.
    pub throttle: ThrottleConfig,
    /// Cap on auth request bodies in bytes, 4096 to 1048576. Defaults to 64 KiB.
    pub max_body_bytes: usize,
    /// How long an invitation stays valid (`invitations.expiresIn`). Defaults to 7 d.
    pub invitation_ttl: Duration,
    /// Invitations an organization may create per hour, on each instance
    /// (`invitations.maxPerHour`); more answer 429. Defaults to 50.
    pub invitations_per_hour: u32,
    /// Mail delivery of invitations. Defaults to none (the admin copies `accept_url`).
    pub smtp: Option<SmtpConfig>,
    /// How long stored audit events are kept (`audit.retention`), 1 d to 10 y. Defaults to 90 d.
    pub audit_retention: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            public_url: Url::parse("http://127.0.0.1:3000").expect("a literal, valid URL"),
            public_url_configured: false,
            database_url: "sqlite://data/auth.db".into(),
            database_pool: crate::store::PoolConfig::default(),
            session: SessionConfig::default(),
            basic_auth: BasicAuthConfig::default(),
            jwt_secret: JwtSecretSource::default(),
            jwt_secret_origin: None,
            previous_jwt_secrets: Vec::new(),
            oidc: Vec::new(),
            public_paths: Vec::new(),
            ui: UiConfig::default(),
            api: ApiConfig::default(),
            metrics: MetricsConfig::default(),
            trusted_proxies: Vec::new(),
            throttle: ThrottleConfig::default(),
            max_body_bytes: 64 * 1024,
            invitation_ttl: Duration::from_secs(7 * 86_400),
            invitations_per_hour: 50,
            smtp: None,
            audit_retention: Duration::from_secs(90 * 86_400),
        }
    }
}

impl AuthConfig {
    /// The provider that handles addresses of `domain` (`oidc.providers[].domains`), if any.
    pub fn provider_for_domain(&self, domain: &str) -> Option<&OidcProviderConfig> {
        self.oidc.iter().find(|p| p.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }

    /// Loads from `AUTH_CONFIG` (if set) and the process environment.
    pub fn load() -> Result<Self, ConfigErrors> {
        let path = std::env::var_os("AUTH_CONFIG").map(PathBuf::from);
        Self::load_file(path.as_deref(), |k| std::env::var(k).ok())
    }

    /// Loads from an optional YAML file plus `env` (which wins over the file).
    pub fn load_file(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        Self::load_with(path, env, &LoadOptions::default())
    }

    /// [`AuthConfig::load_file`] with [`LoadOptions`] (defaults and overrides chosen by the
    /// program that loads the file, validated with everything else).
    pub fn load_with(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        options: &LoadOptions,
    ) -> Result<Self, ConfigErrors> {
        let text = load::read_file(path)?;
        Self::from_yaml_with(&text, env, options)
    }

    /// Parses YAML text (Helm-style values or the bare model; empty means all defaults),
    /// applies `env` over it and validates.
    pub fn from_yaml(yaml: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        Self::from_yaml_with(yaml, env, &LoadOptions::default())
    }

    /// [`AuthConfig::from_yaml`] with [`LoadOptions`].
    ///
    /// ```
    /// use auth_core::config::{AuthConfig, LoadOptions};
    ///
    /// let options = LoadOptions::default()
    ///     .with_default_public_url("http://127.0.0.1:8080".parse().expect("url"))
    ///     .with_extra_public_path("/health");
    /// let config = AuthConfig::from_yaml_with("", |_| None, &options).expect("valid");
    /// assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
    /// assert!(!config.public_url_configured);
    /// assert_eq!(config.public_paths, ["/health"]);
    /// ```
    pub fn from_yaml_with(
        yaml: &str,
        env: impl Fn(&str) -> Option<String>,
        options: &LoadOptions,
    ) -> Result<Self, ConfigErrors> {
        load::from_yaml(yaml, &env, options)
    }

    /// Applies every rule the file loader applies to a model built in Rust, reporting every
    /// problem with the path the key has in the file (`basicAuth.jwtSecret`, `ui.accentColor`,
    /// `oidc.providers[1].clientId`, ...).
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        validate::validate(self)
    }

    /// The session cookie's full name (with `__Host-` on https).
    pub fn cookie_name(&self) -> String {
        if self.is_https() { format!("__Host-{}", self.session.cookie_name) } else { self.session.cookie_name.clone() }
    }

    /// Whether `publicUrl` is https (cookies get `Secure` and the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `publicUrl`'s origin, as browsers send it in `Origin` (`scheme://host[:port]`).
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// `publicUrl` with `path` appended (no double slash).
    pub fn public_url_for(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a README cell must say for one default.
    enum Want {
        Text(String),
        Url(Url),
        Duration(Duration),
        Nothing,
        EmptyList,
    }

    impl Want {
        fn text(v: impl ToString) -> Self {
            Self::Text(v.to_string())
        }

        fn accepts(&self, cell: &str) -> bool {
            match self {
                Self::Text(t) => cell == t,
                Self::Url(u) => Url::parse(cell).is_ok_and(|c| c == *u),
                Self::Duration(d) => parse_duration(cell).is_ok_and(|c| c == *d),
                Self::Nothing => cell == "none",
                Self::EmptyList => cell == "[]",
            }
        }

        fn describe(&self) -> String {
            match self {
                Self::Text(t) => t.clone(),
                Self::Url(u) => u.to_string(),
                Self::Duration(d) => format!("{}s", d.as_secs()),
                Self::Nothing => "none".into(),
                Self::EmptyList => "[]".into(),
            }
        }
    }

    /// The values a README row's default cell states: its `code` spans, or the bare text.
    fn readme_defaults(readme: &str, key: &str) -> Option<Vec<String>> {
        let first = format!("| `{key}` |");
        let row = readme.lines().find(|l| l.starts_with(&first))?;
        let cell = row[first.len()..].split(" | ").next()?.trim();
        let spans: Vec<String> = cell.split('`').skip(1).step_by(2).map(str::to_string).collect();
        Some(if spans.is_empty() { vec![cell.to_string()] } else { spans })
    }

    /// The README's config table states the defaults that the `Default` impls define.
    #[test]
    fn readme_config_table_agrees_with_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).expect("README.md next to the workspace");
        let c = AuthConfig::default();
        let (s, b, t, ui) = (&c.session, &c.basic_auth, &c.throttle, &c.ui);
        let provider =
            OidcProviderConfig::new("x", "x", Secret::default(), "https://idp.example.com").expect("provider");
        let rows: Vec<(&str, Vec<Want>)> = vec![
            ("publicUrl", vec![Want::Url(c.public_url.clone())]),
            ("database.url", vec![Want::text(&c.database_url)]),
            ("database.maxConnections", vec![Want::text(c.database_pool.max_connections)]),
            ("database.acquireTimeout", vec![Want::Duration(c.database_pool.acquire_timeout)]),
            ("basicAuth.enabled", vec![Want::text(b.enabled)]),
            ("basicAuth.validEmailDomain", vec![Want::Nothing]),
            ("basicAuth.previousJwtSecrets", vec![Want::EmptyList]),
            ("basicAuth.signup", vec![Want::text(b.signup.as_str())]),
            ("basicAuth.minPasswordLength", vec![Want::text(b.min_password_length)]),
            ("basicAuth.minPasswordScore", vec![Want::text(b.min_password_score)]),
            ("basicAuth.passwordReset.expiresIn", vec![Want::Duration(b.password_reset_ttl)]),
            ("basicAuth.requireVerifiedEmail", vec![Want::text(b.require_verified_email)]),
            (
                "basicAuth.argon2.{memoryKib,iterations,parallelism}",
                vec![
                    Want::text(b.argon2.memory_kib),
                    Want::text(b.argon2.iterations),
                    Want::text(b.argon2.parallelism),
                ],
            ),
            ("session.idleTimeout", vec![Want::Duration(s.idle_timeout)]),
            ("session.absoluteTimeout", vec![Want::Duration(s.absolute_timeout)]),
            ("session.revalidateAfter", vec![Want::Duration(s.revalidate_after)]),
            ("session.cookieName", vec![Want::text(&s.cookie_name)]),
            ("session.sameSite", vec![Want::text(s.same_site.as_str())]),
            ("session.cacheCapacity", vec![Want::text(s.cache_capacity)]),
            ("publicPaths", vec![Want::EmptyList]),
            ("trustedProxies", vec![Want::EmptyList]),
            ("ui.enabled", vec![Want::text(ui.enabled)]),
            ("ui.productName", vec![Want::text(&ui.product_name)]),
            ("ui.logoUrl", vec![Want::Nothing]),
            ("ui.accentColor", vec![Want::text(&ui.accent_color)]),
            ("api.openapi", vec![Want::text(c.api.openapi)]),
            ("metrics.path", vec![Want::Nothing]),
            ("metrics.listen", vec![Want::Nothing]),
            ("invitations.expiresIn", vec![Want::Duration(c.invitation_ttl)]),
            ("invitations.maxPerHour", vec![Want::text(c.invitations_per_hour)]),
            ("audit.retention", vec![Want::Duration(c.audit_retention)]),
            (
                "loginThrottle.{maxFailuresPerAccount,maxFailuresPerClient,lockout,maxLockout}",
                vec![
                    Want::text(t.max_failures_per_account),
                    Want::text(t.max_failures_per_client),
                    Want::Duration(t.lockout),
                    Want::Duration(t.max_lockout),
                ],
            ),
            ("maxBodyBytes", vec![Want::text(c.max_body_bytes)]),
            ("oidc.displayName", vec![Want::text(&provider.display_name)]),
            ("oidc.scopes", vec![Want::text(format!("[{}]", provider.scopes.join(", ")))]),
            ("oidc.verifySsl", vec![Want::text(provider.verify_ssl)]),
            ("oidc.assumeEmailVerified", vec![Want::text(provider.assume_email_verified)]),
            ("oidc.profile", vec![Want::Nothing]),
            ("oidc.trustEmailForLinking", vec![Want::text(provider.trust_email_for_linking)]),
            ("oidc.roleClaim", vec![Want::Nothing]),
            ("oidc.organization", vec![Want::Nothing]),
            ("oidc.domains", vec![Want::EmptyList]),
            ("oidc.enforce", vec![Want::text(provider.enforce)]),
            ("oidc.tenants", vec![Want::EmptyList]),
        ];
        assert!(ui.logo_url.is_none() && b.valid_email_domain.is_none(), "stated as none");
        assert!(provider.profile.is_none() && provider.role_mapping.is_none() && provider.domains.is_empty());
        assert!(provider.tenants.is_empty(), "stated as none");
        assert_eq!(c.metrics, MetricsConfig::default(), "metrics are off by default");
        assert!(c.metrics.path.is_none() && c.metrics.listen.is_none(), "stated as none");
        assert!(c.previous_jwt_secrets.is_empty() && c.public_paths.is_empty() && c.trusted_proxies.is_empty());
        let mut wrong = Vec::new();
        for (key, wants) in &rows {
            let Some(cells) = readme_defaults(&readme, key) else {
                wrong.push(format!("{key}: no row in the README's config table"));
                continue;
            };
            let ok = cells.len() == wants.len() && wants.iter().zip(&cells).all(|(w, c)| w.accepts(c));
            if !ok {
                let want: Vec<String> = wants.iter().map(Want::describe).collect();
                wrong.push(format!("{key}: README says {cells:?}, the code's default is {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "README.md disagrees with the code:\n{}", wrong.join("\n"));
    }

    #[test]
    fn readme_rows_are_read_by_their_key() {
        let table = "| key | default | notes |\n|---|---|---|\n| `a.b` | `5`, `30s` | x `y` |\n| `c` | none | `z` |\n";
        assert_eq!(readme_defaults(table, "a.b"), Some(vec!["5".to_string(), "30s".to_string()]));
        assert_eq!(readme_defaults(table, "c"), Some(vec!["none".to_string()]));
        assert_eq!(readme_defaults(table, "a"), None);
        assert!(Want::Duration(Duration::from_secs(60)).accepts("60s") && !Want::text(5).accepts("6"));
    }

    #[test]
    fn default_is_the_documented_model() {
        let c = AuthConfig::default();
        assert!(matches!(c.jwt_secret, JwtSecretSource::Generate));
        assert!(!c.public_url_configured && c.oidc.is_empty() && c.smtp.is_none());
        assert_eq!(c.cookie_name(), "auth_session");
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        assert_eq!(c.public_url_for("/login"), "http://127.0.0.1:3000/login");
        assert!((1..=64).contains(&c.basic_auth.max_concurrent_hashes));
        assert_eq!(SmtpConfig::default().port, 587);
        // An empty file loads exactly the defaults.
        let loaded = AuthConfig::from_yaml("", |_| None).expect("loads");
        assert_eq!(format!("{loaded:?}"), format!("{c:?}"));
    }
}
