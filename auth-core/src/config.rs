//! One config model for both adapters: YAML file (Helm-style values or the bare model) plus
//! environment, validated once, every error reported at once with its path.
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

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::secret::Secret;

/// Smallest accepted session secret, in bytes (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// OWASP floor for argon2id memory, in KiB.
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP floor for argon2id iterations.
pub const ARGON2_MIN_ITERATIONS: u32 = 2;
/// Hard maximum password length in bytes, checked before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignupMode {
    /// Only invited users may join. Defaults to this.
    #[default]
    InviteOnly,
    /// Anyone (within `validEmailDomain`) may create an account and their own organization.
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

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// `SameSite=Lax`. Defaults to this.
    #[default]
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

/// Where the session-signing secret comes from.
#[derive(Debug, Clone)]
pub enum JwtSecretSource {
    /// Configured (`jwtSecret`, `AUTH_JWT_SECRET`, `BYOC_JWT_SECRET` or a mounted file).
    Configured(Secret<Vec<u8>>),
    /// None configured: generated once and persisted in the store.
    Generate,
}

/// argon2id cost parameters. Defaults to the OWASP floor (m=19456 KiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB. Defaults to 19456; lower is refused.
    pub memory_kib: u32,
    /// Iterations. Defaults to 2; lower is refused.
    pub iterations: u32,
    /// Lanes. Defaults to 1.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: ARGON2_MIN_MEMORY_KIB, iterations: ARGON2_MIN_ITERATIONS, parallelism: 1 }
    }
}

/// Password accounts.
#[derive(Debug, Clone)]
pub struct BasicAuthConfig {
    /// Whether email/password sign-in is offered. Defaults to `true`.
    pub enabled: bool,
    /// Only this email domain may sign up, be invited or log in (lower-case). Defaults to none.
    pub valid_email_domain: Option<String>,
    /// Self-service signup after the first admin. Defaults to invite-only.
    pub signup: SignupMode,
    /// Minimum password length in characters. Defaults to 8; lower is refused.
    pub min_password_length: usize,
    /// argon2id parameters.
    pub argon2: Argon2Params,
    /// How many hashes may run at once. Defaults to the number of CPUs.
    pub max_concurrent_hashes: usize,
}

/// Session lifetimes and cookie.
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
    /// How many verified tokens are cached per instance. Defaults to 10,000.
    pub cache_capacity: usize,
}

/// Login throttling (per account and per client address).
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failed attempts per account before it is locked. Defaults to 5.
    pub max_failures_per_account: u32,
    /// Failed attempts per client address before it is locked. Defaults to 50.
    pub max_failures_per_client: u32,
    /// First lockout; each further failure while counted doubles it. Defaults to 30 s.
    pub lockout: Duration,
    /// Longest lockout. Defaults to 15 min.
    pub max_lockout: Duration,
}

/// How to talk to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS (required). Defaults to this.
    StartTls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
    /// No TLS: only accepted for loopback hosts (a local relay or a test sink).
    None,
}

/// Optional mail delivery of invitations.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host.
    pub host: String,
    /// Server port. Defaults to 587 (STARTTLS), 465 (TLS) or 25 (none).
    pub port: u16,
    /// Transport security. Defaults to STARTTLS.
    pub security: SmtpSecurity,
    /// Login user, if the server needs one.
    pub username: Option<String>,
    /// Login password.
    pub password: Option<Secret<String>>,
    /// The `From` mailbox, e.g. `Acme <noreply@example.com>`.
    pub from: String,
    /// Connect and send timeout. Defaults to 10 s.
    pub timeout: Duration,
}

/// One OpenID Connect provider.
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
    /// Requested scopes. Always contains `openid`, `profile` and `email`.
    pub scopes: Vec<String>,
    /// Verify the IdP's TLS certificate. Defaults to `true` (`OIDC_VERIFY_SSL=false` turns it off).
    pub verify_ssl: bool,
    /// Extra CA bundle (PEM) to trust for the IdP.
    pub ca_cert_file: Option<PathBuf>,
    /// Treat an email as verified when the IdP sends no `email_verified` claim at all (Entra ID
    /// omits it). Allows creating accounts and joining invitations; never links an existing
    /// account. Defaults to `false`.
    pub assume_email_verified: bool,
}

/// The built-in pages (`ui.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// Serve the built-in HTML pages. Defaults to `true`.
    pub enabled: bool,
    /// The name in every page's header and title. Defaults to `Self-Hosted Auth`.
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

/// The validated configuration shared by both adapters.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// External base URL. Defaults to `http://127.0.0.1:3000`. Its scheme decides `Secure`.
    pub public_url: Url,
    /// Whether `publicUrl` was configured (file or `AUTH_PUBLIC_URL`). When not, a server may
    /// derive it from its listen address (the example servers do).
    pub public_url_configured: bool,
    /// sqlx database URL. Defaults to `sqlite://data/auth.db` (created if missing).
    pub database_url: String,
    /// Session settings.
    pub session: SessionConfig,
    /// Password accounts.
    pub basic_auth: BasicAuthConfig,
    /// Session secret source.
    pub jwt_secret: JwtSecretSource,
    /// Former secrets that still verify tokens (key rotation); none sign.
    pub previous_jwt_secrets: Vec<Secret<Vec<u8>>>,
    /// Configured OIDC providers (empty: OIDC off).
    pub oidc: Vec<OidcProviderConfig>,
    /// Paths the guard lets through without a session (`/x` exact, `/x/*` prefix).
    pub public_paths: Vec<String>,
    /// The built-in HTML pages.
    pub ui: UiConfig,
    /// Proxies whose `X-Forwarded-For` is believed. Defaults to none.
    pub trusted_proxies: Vec<IpNet>,
    /// Login throttling.
    pub throttle: ThrottleConfig,
    /// Cap on auth request bodies in bytes. Defaults to 64 KiB.
    pub max_body_bytes: usize,
    /// How long an invitation stays valid. Defaults to 7 d.
    pub invitation_ttl: Duration,
    /// Mail delivery of invitations. Defaults to none (the admin copies `accept_url`).
    pub smtp: Option<SmtpConfig>,
}

impl AuthConfig {
    /// Loads from `AUTH_CONFIG` (if set) and the process environment.
    pub fn load() -> Result<Self, ConfigErrors> {
        let path = std::env::var_os("AUTH_CONFIG").map(PathBuf::from);
        Self::load_file(path.as_deref(), |k| std::env::var(k).ok())
    }

    /// Loads from an optional YAML file plus `env` (which wins over the file).
    pub fn load_file(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let text = match path {
            None => String::new(),
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    path: "AUTH_CONFIG".into(),
                    message: format!("cannot read config file {}: {e}", p.display()),
                }])
            })?,
        };
        Self::from_yaml(&text, env)
    }

    /// Parses YAML text (Helm-style values or the bare model; empty means all defaults),
    /// applies `env` over it and validates.
    pub fn from_yaml(yaml: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let doc: Value = if yaml.trim().is_empty() {
            Value::Null
        } else {
            serde_norway::from_str(yaml).map_err(|e| {
                ConfigErrors(vec![ConfigError { path: "(file)".into(), message: format!("not valid YAML: {e}") }])
            })?
        };
        let (model, prefix, extra) = split_values_file(doc)?;
        // File < backend.extraEnvVariables < process environment.
        let lookup = |name: &str| env(name).or_else(|| extra.get(name).cloned());
        Validator::new(prefix).run(model, &lookup)
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

/// Splits a Helm-style values file into (model, error-path prefix, extraEnvVariables).
fn split_values_file(doc: Value) -> Result<(Value, &'static str, BTreeMap<String, String>), ConfigErrors> {
    let mut doc = match doc {
        Value::Null => return Ok((Value::Object(Default::default()), "", BTreeMap::new())),
        Value::Object(map) => map,
        _ => {
            return Err(ConfigErrors(vec![ConfigError {
                path: "(file)".into(),
                message: "expected a mapping at the top level".into(),
            }]));
        }
    };
    let Some(backend) = doc.remove("backend") else {
        return Ok((Value::Object(doc), "", BTreeMap::new()));
    };
    let mut errors = Vec::new();
    let mut extra = BTreeMap::new();
    let mut model = Value::Object(Default::default());
    match backend {
        Value::Object(mut backend) => {
            if let Some(config) = backend.remove("config") {
                model = config;
            }
            match backend.remove("extraEnvVariables") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let name = item.get("name").and_then(Value::as_str).map(str::to_owned);
                        let value = item.get("value").and_then(scalar_to_string);
                        match (name, value) {
                            (Some(n), Some(v)) => {
                                extra.insert(n, v);
                            }
                            _ => errors.push(ConfigError {
                                path: format!("backend.extraEnvVariables[{i}]"),
                                message: "expected {name: string, value: scalar}".into(),
                            }),
                        }
                    }
                }
                Some(_) => errors.push(ConfigError {
                    path: "backend.extraEnvVariables".into(),
                    message: "expected a list of {name, value}".into(),
                }),
            }
        }
        _ => errors.push(ConfigError { path: "backend".into(), message: "expected a mapping".into() }),
    }
    if model.is_null() {
        model = Value::Object(Default::default());
    }
    if errors.is_empty() { Ok((model, "backend.config.", extra)) } else { Err(ConfigErrors(errors)) }
}

fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Raw (as written) model. Every field optional; defaults and rules are applied in `Validator`.

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawBasicAuth {
    #[serde(default, deserialize_with = "flex_bool_opt")]
    enabled: Option<bool>,
    valid_email_domain: Option<String>,
    jwt_secret: Option<Secret<String>>,
    existing_secret_name: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    previous_jwt_secrets: Option<Vec<Secret<String>>>,
    signup: Option<String>,
    min_password_length: Option<usize>,
    argon2: Option<RawArgon2>,
    max_concurrent_hashes: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawArgon2 {
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSession {
    cookie_name: Option<String>,
    idle_timeout: Option<DurationValue>,
    absolute_timeout: Option<DurationValue>,
    revalidate_after: Option<DurationValue>,
    same_site: Option<String>,
    cache_capacity: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawOidcProvider {
    id: Option<String>,
    display_name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret<String>>,
    discovery_url: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex_bool_opt")]
    verify_ssl: Option<bool>,
    ca_cert_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "flex_bool_opt")]
    assume_email_verified: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawOidc {
    #[serde(flatten)]
    single: RawOidcProvider,
    providers: Option<Vec<RawOidcProvider>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawThrottle {
    max_failures_per_account: Option<u32>,
    max_failures_per_client: Option<u32>,
    lockout: Option<DurationValue>,
    max_lockout: Option<DurationValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<Secret<String>>,
    from: Option<String>,
    timeout: Option<DurationValue>,
}

#[derive(Deserialize, Default)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawUi {
    #[serde(default, deserialize_with = "flex_bool_opt")]
    enabled: Option<bool>,
    product_name: Option<String>,
    logo_url: Option<String>,
    accent_color: Option<String>,
}

/// A duration as whole seconds (`60`) or a unit string (`90s`, `15m`, `12h`, `7d`).
#[derive(Debug, Clone, Copy)]
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(secs) => Ok(Self(Duration::from_secs(secs))),
            Raw::Str(s) => parse_duration(&s).map(Self).map_err(serde::de::Error::custom),
        }
    }
}

/// Parses `60`, `90s`, `15m`, `12h` or `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let err = || format!("{s:?} is not a duration: use whole seconds (60) or 90s, 15m, 12h, 7d");
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| err())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(mult).map(Duration::from_secs).ok_or_else(err)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn flex_bool_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Str(s)) => parse_bool(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a boolean (true/false)"))),
    }
}

// ---------------------------------------------------------------------------------------------

struct Validator {
    prefix: &'static str,
    errors: Vec<ConfigError>,
}

impl Validator {
    fn new(prefix: &'static str) -> Self {
        Self { prefix, errors: Vec::new() }
    }

    fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigError { path: format!("{}{path}", self.prefix), message: message.into() });
    }

    /// Deserializes one section, recording a type error with its full path.
    fn section<T: DeserializeOwned + Default>(&mut self, model: &mut serde_json::Map<String, Value>, key: &str) -> T {
        match model.remove(key) {
            None | Some(Value::Null) => T::default(),
            Some(v) => match serde_path_to_error::deserialize::<_, T>(v) {
                Ok(t) => t,
                Err(e) => {
                    let inner = e.path().to_string();
                    let path = if inner == "." { key.to_string() } else { format!("{key}.{inner}") };
                    self.err(&path, e.into_inner().to_string());
                    T::default()
                }
            },
        }
    }

    fn run(mut self, model: Value, env: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigErrors> {
        let Value::Object(mut model) = model else {
            self.err("", "expected a mapping");
            return Err(ConfigErrors(self.errors));
        };

        // publicUrl
        let public_url_raw: Option<String> = env("AUTH_PUBLIC_URL").or_else(|| self.section(&mut model, "publicUrl"));
        let public_url = match public_url_raw.as_deref().map(Url::parse) {
            None => Url::parse("http://127.0.0.1:3000").ok(),
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Some(_) => {
                let v = public_url_raw.clone().unwrap_or_default();
                self.err("publicUrl", format!("{v:?} is not an absolute http(s) URL"));
                None
            }
        };

        // database
        let raw_db: RawDatabase = self.section(&mut model, "database");
        let database_url = env("AUTH_DATABASE_URL").or(raw_db.url).unwrap_or_else(|| "sqlite://data/auth.db".into());
        if !database_url.starts_with("sqlite:") {
            self.err(
                "database.url",
                format!("{database_url:?} is not supported by this build: use sqlite://path/to/file.db"),
            );
        }

        // session
        let raw_s: RawSession = self.section(&mut model, "session");
        let session = SessionConfig {
            cookie_name: raw_s.cookie_name.unwrap_or_else(|| "auth_session".into()),
            idle_timeout: raw_s.idle_timeout.map_or(Duration::from_secs(12 * 3600), |d| d.0),
            absolute_timeout: raw_s.absolute_timeout.map_or(Duration::from_secs(7 * 86_400), |d| d.0),
            revalidate_after: raw_s.revalidate_after.map_or(Duration::from_secs(60), |d| d.0),
            same_site: match raw_s.same_site.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("lax") => SameSite::Lax,
                Some("strict") => SameSite::Strict,
                Some(other) => {
                    self.err("session.sameSite", format!("{other:?} is not allowed: use lax or strict"));
                    SameSite::Lax
                }
            },
            cache_capacity: raw_s.cache_capacity.unwrap_or(10_000).max(16),
        };
        if session.cookie_name.is_empty()
            || !session.cookie_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.err("session.cookieName", "must be non-empty and use only letters, digits, '_' and '-'");
        }
        if session.idle_timeout.is_zero() {
            self.err("session.idleTimeout", "must be greater than zero");
        }
        if session.absolute_timeout.is_zero() {
            self.err("session.absoluteTimeout", "must be greater than zero");
        }

        // basicAuth
        let raw_b: RawBasicAuth = self.section(&mut model, "basicAuth");
        let valid_email_domain = match raw_b.valid_email_domain.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => {
                let d = d.trim_start_matches('@').to_ascii_lowercase();
                if crate::email::is_valid_domain(&d) {
                    Some(d)
                } else {
                    self.err("basicAuth.validEmailDomain", format!("{d:?} is not a domain name (e.g. example.com)"));
                    None
                }
            }
        };
        let signup = match raw_b.signup.as_deref() {
            None | Some("invite-only") => SignupMode::InviteOnly,
            Some("open") => SignupMode::Open,
            Some(other) => {
                self.err("basicAuth.signup", format!("{other:?} is not a signup mode: use invite-only or open"));
                SignupMode::InviteOnly
            }
        };
        let min_password_length = raw_b.min_password_length.unwrap_or(8);
        if min_password_length < 8 {
            self.err("basicAuth.minPasswordLength", format!("{min_password_length} is below the floor of 8"));
        } else if min_password_length > 128 {
            self.err("basicAuth.minPasswordLength", format!("{min_password_length} is above the maximum of 128"));
        }
        let ra = raw_b.argon2.unwrap_or_default();
        let argon2 = Argon2Params {
            memory_kib: ra.memory_kib.unwrap_or(ARGON2_MIN_MEMORY_KIB),
            iterations: ra.iterations.unwrap_or(ARGON2_MIN_ITERATIONS),
            parallelism: ra.parallelism.unwrap_or(1),
        };
        if argon2.memory_kib < ARGON2_MIN_MEMORY_KIB {
            self.err(
                "basicAuth.argon2.memoryKib",
                format!("{} is below the OWASP floor of {ARGON2_MIN_MEMORY_KIB}", argon2.memory_kib),
            );
        }
        if argon2.iterations < ARGON2_MIN_ITERATIONS {
            self.err(
                "basicAuth.argon2.iterations",
                format!("{} is below the OWASP floor of {ARGON2_MIN_ITERATIONS}", argon2.iterations),
            );
        }
        if argon2.parallelism == 0 || argon2.parallelism > 16 {
            self.err("basicAuth.argon2.parallelism", "must be between 1 and 16");
        }
        if argon2.memory_kib > 1 << 21 {
            self.err("basicAuth.argon2.memoryKib", "must be at most 2097152 (2 GiB)");
        }
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let basic_auth = BasicAuthConfig {
            enabled: raw_b.enabled.unwrap_or(true),
            valid_email_domain,
            signup,
            min_password_length,
            argon2,
            max_concurrent_hashes: raw_b.max_concurrent_hashes.unwrap_or(cpus).clamp(1, 64),
        };

        // Session secret: AUTH_JWT_SECRET > jwtSecret > BYOC_JWT_SECRET > jwtSecretFile > generated.
        let jwt_secret =
            self.resolve_secret(&raw_b.jwt_secret, &raw_b.existing_secret_name, &raw_b.jwt_secret_file, env);

        let mut previous_jwt_secrets = Vec::new();
        for (i, s) in raw_b.previous_jwt_secrets.unwrap_or_default().into_iter().enumerate() {
            if s.expose().len() < MIN_SECRET_BYTES {
                self.err(
                    &format!("basicAuth.previousJwtSecrets[{i}]"),
                    format!("at least {MIN_SECRET_BYTES} bytes are required"),
                );
            } else {
                previous_jwt_secrets.push(Secret::new(s.expose().as_bytes().to_vec()));
            }
        }

        // oidc
        let raw_o: RawOidc = self.section(&mut model, "oidc");
        let oidc = self.oidc(raw_o, env);

        // publicPaths, ui, trustedProxies, throttle, maxBodyBytes
        let public_paths: Vec<String> = self.section(&mut model, "publicPaths");
        for (i, p) in public_paths.iter().enumerate() {
            if !p.starts_with('/') {
                self.err(&format!("publicPaths[{i}]"), format!("{p:?} must start with '/'"));
            }
        }
        let raw_ui: RawUi = self.section(&mut model, "ui");
        let ui = self.ui(raw_ui);
        let proxies: Vec<String> = self.section(&mut model, "trustedProxies");
        let mut trusted_proxies = Vec::new();
        for (i, p) in proxies.iter().enumerate() {
            match p.parse::<IpNet>().or_else(|_| p.parse::<IpAddr>().map(IpNet::from)) {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => {
                    self.err(&format!("trustedProxies[{i}]"), format!("{p:?} is not an IP address or CIDR range"))
                }
            }
        }
        let rt: RawThrottle = self.section(&mut model, "loginThrottle");
        let throttle = ThrottleConfig {
            max_failures_per_account: rt.max_failures_per_account.unwrap_or(5).max(1),
            max_failures_per_client: rt.max_failures_per_client.unwrap_or(50).max(1),
            lockout: rt.lockout.map_or(Duration::from_secs(30), |d| d.0),
            max_lockout: rt.max_lockout.map_or(Duration::from_secs(900), |d| d.0),
        };
        let max_body_bytes: Option<usize> = self.section(&mut model, "maxBodyBytes");
        let max_body_bytes = max_body_bytes.unwrap_or(64 * 1024);
        if !(4096..=1 << 20).contains(&max_body_bytes) {
            self.err("maxBodyBytes", "must be between 4096 and 1048576");
        }

        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct RawInvitations {
            expires_in: Option<DurationValue>,
        }
        let ri: RawInvitations = self.section(&mut model, "invitations");
        let invitation_ttl = ri.expires_in.map_or(Duration::from_secs(7 * 86_400), |d| d.0);
        if invitation_ttl.is_zero() {
            self.err("invitations.expiresIn", "must be greater than zero");
        }

        let raw_smtp: Option<RawSmtp> = self.section(&mut model, "smtp");
        let smtp = raw_smtp.and_then(|r| self.smtp(r));

        for key in model.keys() {
            tracing::warn!(key = %format!("{}{key}", self.prefix), "unknown configuration key ignored");
        }

        if self.errors.is_empty()
            && let Some(public_url) = public_url
        {
            return Ok(AuthConfig {
                public_url_configured: public_url_raw.is_some(),
                public_url,
                database_url,
                session,
                basic_auth,
                jwt_secret,
                previous_jwt_secrets,
                oidc,
                public_paths,
                ui,
                trusted_proxies,
                throttle,
                max_body_bytes,
                invitation_ttl,
                smtp,
            });
        }
        Err(ConfigErrors(self.errors))
    }

    fn ui(&mut self, raw: RawUi) -> UiConfig {
        let mut ui = UiConfig::default();
        ui.enabled = raw.enabled.unwrap_or(ui.enabled);
        if let Some(name) = raw.product_name {
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
                self.err("ui.productName", "must be 1 to 80 characters without control characters");
            } else {
                ui.product_name = name;
            }
        }
        if let Some(logo) = raw.logo_url {
            let same_origin = logo.starts_with('/') && !logo.starts_with("//");
            let https = Url::parse(&logo).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
            if logo.len() > 2048 || logo.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
                self.err("ui.logoUrl", format!("{logo:?} is not a usable URL"));
            } else if same_origin || https {
                ui.logo_url = Some(logo);
            } else {
                self.err("ui.logoUrl", format!("{logo:?} must be a path starting with '/' or an https:// URL"));
            }
        }
        if let Some(color) = raw.accent_color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                ui.accent_color = color.to_ascii_lowercase();
            } else {
                self.err("ui.accentColor", format!("{color:?} must be a hex colour like #2557d6"));
            }
        }
        ui
    }

    fn resolve_secret(
        &mut self,
        configured: &Option<Secret<String>>,
        existing_secret_name: &Option<String>,
        file: &Option<PathBuf>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> JwtSecretSource {
        let from_file = |path: &Path| -> Result<Option<String>, String> {
            match std::fs::read_to_string(path) {
                Ok(s) => Ok(Some(s.trim_end_matches(['\n', '\r']).to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("cannot read {}: {e}", path.display())),
            }
        };
        let (path, value) = if let Some(v) = env("AUTH_JWT_SECRET").filter(|v| !v.is_empty()) {
            ("AUTH_JWT_SECRET".to_string(), Some(v))
        } else if let Some(v) = configured.as_ref().filter(|v| !v.expose().is_empty()) {
            (format!("{}basicAuth.jwtSecret", self.prefix), Some(v.expose().clone()))
        } else if let Some(v) = env("BYOC_JWT_SECRET").filter(|v| !v.is_empty()) {
            ("BYOC_JWT_SECRET".to_string(), Some(v))
        } else if file.is_some() || existing_secret_name.is_some() {
            let path = file.clone().unwrap_or_else(|| PathBuf::from(K8S_SECRET_KEY));
            match from_file(&path) {
                Ok(Some(v)) => (format!("{}basicAuth.jwtSecretFile", self.prefix), Some(v)),
                Ok(None) => {
                    let what = match existing_secret_name {
                        Some(name) => format!(
                            "the Kubernetes Secret {name:?} (key {K8S_SECRET_KEY}) was not found: \
                             set the environment variable BYOC_JWT_SECRET or mount the key as the file {}",
                            path.display()
                        ),
                        None => format!("the file {} does not exist", path.display()),
                    };
                    let at = if existing_secret_name.is_some() {
                        "basicAuth.existingSecretName"
                    } else {
                        "basicAuth.jwtSecretFile"
                    };
                    self.err(at, what);
                    return JwtSecretSource::Generate;
                }
                Err(e) => {
                    self.err("basicAuth.jwtSecretFile", e);
                    return JwtSecretSource::Generate;
                }
            }
        } else {
            (String::new(), None)
        };
        match value {
            None => JwtSecretSource::Generate,
            Some(v) if v.len() < MIN_SECRET_BYTES => {
                self.errors.push(ConfigError {
                    path,
                    message: format!(
                        "the secret is {} bytes; at least {MIN_SECRET_BYTES} bytes (256 bits) are required",
                        v.len()
                    ),
                });
                JwtSecretSource::Generate
            }
            Some(v) => JwtSecretSource::Configured(Secret::new(v.into_bytes())),
        }
    }

    fn smtp(&mut self, r: RawSmtp) -> Option<SmtpConfig> {
        let host = r.host.filter(|h| !h.trim().is_empty());
        if host.is_none() {
            self.err("smtp.host", "required when smtp is configured");
        }
        let security = match r.security.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("starttls") => SmtpSecurity::StartTls,
            Some("tls") => SmtpSecurity::Tls,
            Some("none") => SmtpSecurity::None,
            Some(other) => {
                self.err("smtp.security", format!("{other:?} is not one of starttls, tls, none"));
                SmtpSecurity::StartTls
            }
        };
        let from = r.from.filter(|f| !f.trim().is_empty());
        match from.as_deref().map(str::parse::<lettre::message::Mailbox>) {
            None => self.err("smtp.from", "required when smtp is configured (e.g. \"Acme <noreply@example.com>\")"),
            Some(Err(e)) => self.err("smtp.from", format!("not a mailbox: {e}")),
            Some(Ok(_)) => {}
        }
        let host = host?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if security == SmtpSecurity::None && !loopback {
            self.err("smtp.security", "none (no TLS) is only allowed for a loopback host; use starttls or tls");
        }
        if r.username.is_some() != r.password.is_some() {
            self.err("smtp.username", "username and password go together");
        }
        let port = r.port.unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
        Some(SmtpConfig {
            host,
            port,
            security,
            username: r.username,
            password: r.password,
            from: from?,
            timeout: r.timeout.map_or(Duration::from_secs(10), |d| d.0),
        })
    }

    fn oidc(&mut self, raw: RawOidc, env: &dyn Fn(&str) -> Option<String>) -> Vec<OidcProviderConfig> {
        let verify_env = match env("OIDC_VERIFY_SSL") {
            None => None,
            Some(v) => match parse_bool(&v) {
                Some(b) => Some(b),
                None => {
                    self.errors.push(ConfigError {
                        path: "OIDC_VERIFY_SSL".into(),
                        message: format!("{v:?} is not a boolean (true/false)"),
                    });
                    None
                }
            },
        };
        let mut single = raw.single;
        if let Some(v) = env("OIDC_CLIENT_ID") {
            single.client_id = Some(v);
        }
        if let Some(v) = env("OIDC_CLIENT_SECRET") {
            single.client_secret = Some(Secret::new(v));
        }
        if let Some(v) = env("OIDC_DISCOVERY_URL") {
            single.discovery_url = Some(v);
        }
        let mut out = Vec::new();
        let single_present = single.client_id.is_some() || single.discovery_url.is_some();
        if single_present && let Some(p) = self.provider(single, "oidc", "default", verify_env) {
            out.push(p);
        }
        for (i, p) in raw.providers.unwrap_or_default().into_iter().enumerate() {
            let id = p.id.clone().unwrap_or_default();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                self.err(&format!("oidc.providers[{i}].id"), "required: letters, digits, '-' and '_'");
                continue;
            }
            if out.iter().any(|o: &OidcProviderConfig| o.id == id) {
                self.err(&format!("oidc.providers[{i}].id"), format!("{id:?} is used twice"));
                continue;
            }
            if let Some(p) = self.provider(p, &format!("oidc.providers[{i}]"), &id, verify_env) {
                out.push(p);
            }
        }
        out
    }

    fn provider(
        &mut self,
        p: RawOidcProvider,
        at: &str,
        id: &str,
        verify_env: Option<bool>,
    ) -> Option<OidcProviderConfig> {
        let before = self.errors.len();
        let client_id = p.client_id.filter(|s| !s.is_empty());
        if client_id.is_none() {
            self.err(&format!("{at}.clientId"), "required when OIDC is configured");
        }
        let client_secret = p.client_secret.filter(|s| !s.expose().is_empty());
        if client_secret.is_none() {
            self.err(&format!("{at}.clientSecret"), "required when OIDC is configured");
        }
        let discovery = match p.discovery_url.as_deref() {
            None | Some("") => {
                self.err(&format!("{at}.discoveryUrl"), "required when OIDC is configured");
                None
            }
            Some(raw) => match normalize_discovery_url(raw) {
                Ok(v) => Some(v),
                Err(msg) => {
                    self.err(&format!("{at}.discoveryUrl"), msg);
                    None
                }
            },
        };
        let mut scopes = p.scopes.unwrap_or_default();
        for required in ["openid", "profile", "email"] {
            if !scopes.iter().any(|s| s == required) {
                scopes.push(required.to_string());
            }
        }
        if let Some(ca) = &p.ca_cert_file
            && !ca.is_file()
        {
            self.err(&format!("{at}.caCertFile"), format!("{} is not a readable file", ca.display()));
        }
        if self.errors.len() != before {
            return None;
        }
        let (discovery_url, issuer) = discovery?;
        Some(OidcProviderConfig {
            id: id.to_string(),
            display_name: p.display_name.unwrap_or_else(|| "SSO".into()),
            client_id: client_id?,
            client_secret: client_secret?,
            discovery_url,
            issuer,
            scopes,
            verify_ssl: verify_env.or(p.verify_ssl).unwrap_or(true),
            ca_cert_file: p.ca_cert_file,
            assume_email_verified: p.assume_email_verified.unwrap_or(false),
        })
    }
}

/// Whether `host` is a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Applies the discovery-URL rule: returns (discovery URL, expected issuer).
pub fn normalize_discovery_url(raw: &str) -> Result<(Url, String), String> {
    const RULE: &str = "a discovery URL must be an https URL ending in .well-known/openid-configuration \
                        (or an issuer URL, to which that suffix is appended); plain http only for loopback hosts";
    let bad = |why: &str| format!("{raw:?} is not accepted ({why}): {RULE}");
    let url = Url::parse(raw.trim()).map_err(|_| bad("not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => return Err(bad("plain http to a non-loopback host")),
        _ => return Err(bad("not http(s)")),
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("needs a host and no query, fragment or credentials"));
    }
    let path = url.path();
    let issuer_path = if let Some(base) = path.strip_suffix(DISCOVERY_SUFFIX) {
        if !base.ends_with('/') {
            return Err(bad("the suffix must be a whole path segment"));
        }
        base.trim_end_matches('/').to_string()
    } else if path.contains(".well-known") {
        return Err(bad("a different .well-known document"));
    } else {
        path.trim_end_matches('/').to_string()
    };
    let mut issuer_url = url.clone();
    issuer_url.set_path(&issuer_path);
    let issuer = issuer_url.as_str().trim_end_matches('/').to_string();
    let mut discovery = url;
    discovery.set_path(&format!("{issuer_path}/{DISCOVERY_SUFFIX}"));
    Ok((discovery, issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str, env: &[(&str, &str)]) -> Result<AuthConfig, ConfigErrors> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AuthConfig::from_yaml(yaml, |k| env.get(k).cloned())
    }

    const SEED: &str = r#"
backend:
  config:
    basicAuth:
      enabled: true
      validEmailDomain: "example.com"   # optional
      jwtSecret: "at-least-32-bytes-of-secret-material"  # optional
      # existingSecretName: "existing-basic-auth-secret"
    oidc:
      clientId: "your-client-id"
      clientSecret: "your-client-secret"
      discoveryUrl: "https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration"
  extraEnvVariables:
    - name: OIDC_VERIFY_SSL
      value: false
"#;

    #[test]
    fn ui_branding_is_validated() {
        let c =
            load("ui:\n  productName: Acme\n  logoUrl: /logo.svg\n  accentColor: \"#0F766E\"\n", &[]).expect("loads");
        assert_eq!(c.ui.product_name, "Acme");
        assert_eq!(c.ui.logo_url.as_deref(), Some("/logo.svg"));
        assert_eq!(c.ui.accent_color, "#0f766e");
        assert_eq!(load("{}", &[]).expect("loads").ui, UiConfig::default());
        let bad = "ui:\n  productName: \"\"\n  logoUrl: \"javascript:alert(1)\"\n  accentColor: \"red;}body{\"\n";
        let errs = load(bad, &[]).expect_err("refused").0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["ui.productName", "ui.logoUrl", "ui.accentColor"], "{errs:?}");
        for logo in ["//evil.example/x.png", "http://cdn.example/x.png", "/a b.png"] {
            assert!(load(&format!("ui:\n  logoUrl: \"{logo}\"\n"), &[]).is_err(), "{logo}");
        }
    }

    #[test]
    fn seed_values_file_loads_unchanged() {
        let c = load(SEED, &[]).expect("seed loads");
        assert!(c.basic_auth.enabled);
        assert_eq!(c.oidc.len(), 1);
        assert!(!c.oidc[0].verify_ssl, "extraEnvVariables applied like env");
        assert_eq!(c.oidc[0].issuer, "https://login.microsoftonline.com/%3Ctenant%3E/v2.0");
        assert!(matches!(c.jwt_secret, JwtSecretSource::Configured(_)));
    }

    #[test]
    fn environment_wins_over_file_and_extra_env() {
        let c = load(SEED, &[("OIDC_VERIFY_SSL", "true"), ("OIDC_CLIENT_ID", "from-env")]).expect("loads");
        assert!(c.oidc[0].verify_ssl);
        assert_eq!(c.oidc[0].client_id, "from-env");
    }

    #[test]
    fn all_errors_reported_with_paths() {
        let yaml = r#"
backend:
  config:
    basicAuth:
      jwtSecret: "short"
      argon2: { memoryKib: 1024 }
    oidc:
      clientId: x
      clientSecret: y
      discoveryUrl: "https://idp.example.com/oauth2/authorize"
    session:
      idleTimeout: "ten minutes"
"#;
        let errs = load(yaml, &[]).expect_err("invalid").0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"backend.config.basicAuth.jwtSecret"), "{paths:?}");
        assert!(paths.contains(&"backend.config.basicAuth.argon2.memoryKib"), "{paths:?}");
        assert!(paths.contains(&"backend.config.session.idleTimeout"), "{paths:?}");
        assert!(!paths.contains(&"backend.config.oidc.discoveryUrl"), "issuer-like URL is accepted: {paths:?}");
        let secret_err = errs.iter().find(|e| e.path.ends_with("jwtSecret")).map(|e| e.message.clone());
        assert!(!secret_err.unwrap_or_default().contains("short"), "never quote a secret");
    }

    #[test]
    fn discovery_url_rule() {
        let ok =
            normalize_discovery_url("https://idp.example.com/realms/x/.well-known/openid-configuration").expect("ok");
        assert_eq!(ok.1, "https://idp.example.com/realms/x");
        let issuer = normalize_discovery_url("https://idp.example.com/realms/x/").expect("issuer form");
        assert_eq!(issuer.0.as_str(), "https://idp.example.com/realms/x/.well-known/openid-configuration");
        assert!(normalize_discovery_url("http://idp.example.com/.well-known/openid-configuration").is_err());
        assert!(normalize_discovery_url("http://127.0.0.1:9000/.well-known/openid-configuration").is_ok());
        assert!(normalize_discovery_url("https://idp.example.com/.well-known/oauth-authorization-server").is_err());
        let msg = normalize_discovery_url("ftp://x").expect_err("bad");
        assert!(msg.contains("ftp://x") && msg.contains(".well-known/openid-configuration"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn existing_secret_name_missing_says_what_is_missing() {
        let yaml = "basicAuth:\n  existingSecretName: my-secret\n  jwtSecretFile: /nonexistent/byoc-jwt-secret\n";
        let errs = load(yaml, &[]).expect_err("missing").0;
        assert_eq!(errs[0].path, "basicAuth.existingSecretName");
        assert!(errs[0].message.contains("my-secret") && errs[0].message.contains("BYOC_JWT_SECRET"));
        let ok = load(yaml, &[("BYOC_JWT_SECRET", "0123456789abcdef0123456789abcdef")]).expect("env secret");
        assert!(matches!(ok.jwt_secret, JwtSecretSource::Configured(_)));
    }
}
