//! From the file's raw values and the environment to the model ([`build`]), and the rules
//! every model must satisfy ([`check`]). The loader and [`AuthConfig::validate`] run the same
//! `check`, so each rule is written once; `build` only converts types (URLs, IP ranges, the
//! secret's source) and reports what cannot be converted.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::load::LoadOptions;
use super::raw::{RawBasicAuth, RawConfig, RawEnv, RawOidcProvider, parse_bool};
use super::{
    Argon2Params, AuthConfig, BasicAuthConfig, ConfigError, ConfigErrors, DISCOVERY_SUFFIX, JwtSecretSource,
    K8S_SECRET_KEY, MIN_SECRET_BYTES, MetricsConfig, OidcProviderConfig, Profile, RoleMapping, SecretOrigin,
    SessionConfig, SmtpConfig, SmtpSecurity, ThrottleConfig, UiConfig,
};
use crate::secret::Secret;

/// Errors found so far; paths are relative to the model and get the file's prefix
/// (`backend.config.` in a Helm values file).
struct Errors {
    prefix: &'static str,
    list: Vec<ConfigError>,
}

impl Errors {
    /// An error at `path` in the model.
    fn at(&mut self, path: &str, message: impl Into<String>) {
        self.list.push(ConfigError { path: format!("{}{path}", self.prefix), message: message.into() });
    }

    /// An error at a path outside the model (an environment variable's name).
    fn outside(&mut self, path: &str, message: impl Into<String>) {
        self.list.push(ConfigError { path: path.into(), message: message.into() });
    }

    fn finish(self) -> Result<(), ConfigErrors> {
        if self.list.is_empty() { Ok(()) } else { Err(ConfigErrors(self.list)) }
    }
}

/// Where values came from when their path is not the model's own layout.
struct Origins {
    /// `None`: `basicAuth.jwtSecret`; `Some(name)`: that environment variable.
    jwt_secret_env: Option<&'static str>,
    /// `basicAuth.jwtSecretFile` instead of `basicAuth.jwtSecret`.
    jwt_secret_file: bool,
    /// The path of each entry of `AuthConfig::oidc` (`oidc`, `oidc.providers[0]`, ...).
    oidc: Vec<String>,
}

impl Origins {
    /// The paths a model built in code would have in a file: a first provider with the id
    /// `default` is the inline `oidc` one, the rest are `oidc.providers[i]`.
    fn of(c: &AuthConfig) -> Self {
        let inline = c.oidc.first().is_some_and(|p| p.id == "default");
        let oidc = (0..c.oidc.len())
            .map(|j| match (inline, j) {
                (true, 0) => "oidc".to_string(),
                (true, j) => format!("oidc.providers[{}]", j - 1),
                (false, j) => format!("oidc.providers[{j}]"),
            })
            .collect();
        Self { jwt_secret_env: None, jwt_secret_file: false, oidc }
    }
}

/// [`AuthConfig::validate`].
pub(super) fn validate(c: &AuthConfig) -> Result<(), ConfigErrors> {
    let mut e = Errors { prefix: "", list: Vec::new() };
    check(c, &Origins::of(c), &mut e);
    e.finish()
}

/// Sets `slot` when the file has a value.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Raw values + environment + options → the model, then [`check`]. `errors` holds what the
/// parser already found (type errors, with paths); they are reported together.
pub(super) fn build(
    raw: RawConfig,
    errors: Vec<ConfigError>,
    env: &RawEnv,
    options: &LoadOptions,
    prefix: &'static str,
) -> Result<AuthConfig, ConfigErrors> {
    let mut e = Errors { prefix, list: errors };
    let mut c = AuthConfig::default();

    // publicUrl: options > AUTH_PUBLIC_URL > file > the options' default > the default.
    let written = env.public_url.clone().or(raw.public_url);
    c.public_url_configured = options.public_url.is_some() || written.is_some();
    if let Some(url) = &options.public_url {
        c.public_url = url.clone();
    } else if let Some(s) = &written {
        match Url::parse(s) {
            Ok(url) => c.public_url = url,
            Err(_) => e.at("publicUrl", not_an_http_url(s)),
        }
    } else if let Some(url) = &options.default_public_url {
        c.public_url = url.clone();
    }

    // database.url: options > AUTH_DATABASE_URL > file > the default.
    let rd = raw.database.unwrap_or_default();
    set(&mut c.database_url, options.database_url.clone().or_else(|| env.database_url.clone()).or(rd.url));
    set(&mut c.database_pool.max_connections, rd.max_connections);
    set(&mut c.database_pool.acquire_timeout, rd.acquire_timeout.map(|d| d.0));

    let rs = raw.session.unwrap_or_default();
    let s = &mut c.session;
    set(&mut s.cookie_name, rs.cookie_name);
    set(&mut s.idle_timeout, rs.idle_timeout.map(|d| d.0));
    set(&mut s.absolute_timeout, rs.absolute_timeout.map(|d| d.0));
    set(&mut s.revalidate_after, rs.revalidate_after.map(|d| d.0));
    set(&mut s.same_site, rs.same_site);
    set(&mut s.cache_capacity, rs.cache_capacity);

    let rb = raw.basic_auth.unwrap_or_default();
    let b = &mut c.basic_auth;
    set(&mut b.enabled, rb.enabled);
    b.valid_email_domain = rb
        .valid_email_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start_matches('@').to_ascii_lowercase());
    set(&mut b.signup, rb.signup);
    set(&mut b.min_password_length, rb.min_password_length);
    set(&mut b.min_password_score, rb.min_password_score);
    if let Some(ra) = &rb.argon2 {
        set(&mut b.argon2.memory_kib, ra.memory_kib);
        set(&mut b.argon2.iterations, ra.iterations);
        set(&mut b.argon2.parallelism, ra.parallelism);
    }
    set(&mut b.max_concurrent_hashes, rb.max_concurrent_hashes);
    set(&mut b.password_reset_ttl, rb.password_reset.as_ref().and_then(|r| r.expires_in).map(|d| d.0));
    set(&mut b.require_verified_email, rb.require_verified_email);

    let (jwt_secret, jwt_secret_env, jwt_secret_file) = resolve_secret(&rb, env, &mut e);
    c.jwt_secret_origin = match (&jwt_secret, jwt_secret_env, jwt_secret_file) {
        (JwtSecretSource::Generate, _, _) => None,
        (_, Some(var), _) => Some(SecretOrigin::Env(var)),
        (_, None, true) => Some(SecretOrigin::File {
            path: rb.jwt_secret_file.clone().unwrap_or_else(|| PathBuf::from(K8S_SECRET_KEY)),
            secret_name: rb.existing_secret_name.clone().filter(|_| rb.jwt_secret_file.is_none()),
        }),
        (_, None, false) => Some(SecretOrigin::ConfigKey),
    };
    c.jwt_secret = jwt_secret;
    c.previous_jwt_secrets = rb
        .previous_jwt_secrets
        .unwrap_or_default()
        .into_iter()
        .map(|s| Secret::new(s.expose().as_bytes().to_vec()))
        .collect();

    // oidc: the inline provider (with OIDC_* over it), then `providers`.
    let verify_env = env.oidc_verify_ssl.as_deref().and_then(|v| {
        let parsed = parse_bool(v);
        if parsed.is_none() {
            e.outside("OIDC_VERIFY_SSL", format!("{v:?} is not a boolean (true/false)"));
        }
        parsed
    });
    let (mut single, mut providers) = raw.oidc.unwrap_or_default().split();
    // The global TLS settings are the default of every listed provider.
    for p in &mut providers {
        p.verify_ssl = p.verify_ssl.or(single.verify_ssl);
        p.ca_cert_file = p.ca_cert_file.take().or_else(|| single.ca_cert_file.clone());
    }
    set(&mut single.client_id, env.oidc_client_id.clone().map(Some));
    set(&mut single.client_secret, env.oidc_client_secret.clone().map(Some));
    set(&mut single.discovery_url, env.oidc_discovery_url.clone().map(Some));
    let mut oidc_paths = Vec::new();
    let inline = (single.client_id.is_some() || single.discovery_url.is_some()).then(|| ("oidc".to_string(), single));
    let listed = providers.into_iter().enumerate().map(|(i, p)| (format!("oidc.providers[{i}]"), p));
    for (at, p) in inline.into_iter().chain(listed) {
        if let Some(p) = provider(p, &at, verify_env, &mut e) {
            c.oidc.push(p);
            oidc_paths.push(at);
        }
    }

    c.public_paths = raw.public_paths.unwrap_or_default();
    for extra in &options.extra_public_paths {
        if !c.public_paths.contains(extra) {
            c.public_paths.push(extra.clone());
        }
    }

    if let Some(ru) = raw.ui {
        let ui = &mut c.ui;
        set(&mut ui.enabled, ru.enabled);
        set(&mut ui.product_name, ru.product_name.map(|n| n.trim().to_string()));
        ui.logo_url = ru.logo_url;
        set(&mut ui.accent_color, ru.accent_color.map(|a| a.to_ascii_lowercase()));
    }

    for (i, p) in raw.trusted_proxies.unwrap_or_default().iter().enumerate() {
        match p.parse::<IpNet>().or_else(|_| p.parse::<IpAddr>().map(IpNet::from)) {
            Ok(net) => c.trusted_proxies.push(net),
            Err(_) => e.at(&format!("trustedProxies[{i}]"), format!("{p:?} is not an IP address or CIDR range")),
        }
    }

    if let Some(rt) = raw.login_throttle {
        let t = &mut c.throttle;
        set(&mut t.max_failures_per_account, rt.max_failures_per_account);
        set(&mut t.max_failures_per_client, rt.max_failures_per_client);
        set(&mut t.lockout, rt.lockout.map(|d| d.0));
        set(&mut t.max_lockout, rt.max_lockout.map(|d| d.0));
    }
    if let Some(ra) = raw.api {
        set(&mut c.api.openapi, ra.openapi);
    }
    if let Some(rm) = raw.metrics {
        c.metrics.path = rm.path;
        if let Some(listen) = rm.listen {
            match listen.trim().parse::<std::net::SocketAddr>() {
                Ok(addr) => c.metrics.listen = Some(addr),
                Err(_) => e.at(
                    "metrics.listen",
                    format!("{listen:?} is not a socket address: write an IP and a port, like 127.0.0.1:9464"),
                ),
            }
        }
    }
    set(&mut c.max_body_bytes, raw.max_body_bytes);
    if let Some(a) = raw.audit {
        set(&mut c.audit_retention, a.retention.map(|d| d.0));
    }
    if let Some(i) = raw.invitations {
        set(&mut c.invitation_ttl, i.expires_in.map(|d| d.0));
        set(&mut c.invitations_per_hour, i.max_per_hour);
    }

    c.smtp = raw.smtp.map(|r| {
        let mut s = SmtpConfig::default();
        set(&mut s.host, r.host);
        set(&mut s.security, r.security);
        s.port = r.port.unwrap_or(s.security.default_port());
        s.username = r.username;
        s.password = r.password;
        set(&mut s.from, r.from);
        set(&mut s.timeout, r.timeout.map(|d| d.0));
        s
    });

    let origins = Origins { jwt_secret_env, jwt_secret_file, oidc: oidc_paths };
    check(&c, &origins, &mut e);
    e.finish().map(|()| c)
}

/// One provider's raw values → the model (defaults from [`OidcProviderConfig::new`]).
/// `None` only if it cannot be represented at all; then its problems are already reported.
fn provider(p: RawOidcProvider, at: &str, verify_env: Option<bool>, e: &mut Errors) -> Option<OidcProviderConfig> {
    // A provider whose discovery URL is refused is still built, on a stand-in URL that is
    // never used (the load fails), so that `check` reports its other problems too.
    const STAND_IN: &str = "https://invalid.invalid/";
    let (id, client_id) = (p.id.unwrap_or_default(), p.client_id.unwrap_or_default());
    let client_secret = p.client_secret.unwrap_or_default();
    let url = match p.discovery_url.as_deref() {
        None | Some("") => {
            e.at(&format!("{at}.discoveryUrl"), "required when OIDC is configured");
            STAND_IN
        }
        Some(url) => match normalize_discovery_url(url) {
            Ok(_) => url,
            Err(msg) => {
                e.at(&format!("{at}.discoveryUrl"), msg);
                STAND_IN
            }
        },
    };
    let mut out = OidcProviderConfig::new(id, client_id, client_secret, url).ok()?;
    if let Some(name) = p.profile.as_deref() {
        match Profile::ALL.iter().find(|(n, _)| *n == name) {
            Some((_, profile)) => out = out.with_profile(*profile),
            None => {
                let known: Vec<&str> = Profile::ALL.iter().map(|(n, _)| *n).collect();
                e.at(&format!("{at}.profile"), format!("{name:?} is not one of {}", known.join(", ")));
            }
        }
    }
    set(&mut out.trust_email_for_linking, p.trust_email_for_linking);
    out.tenants = p.tenants.unwrap_or_default().into_iter().map(|t| t.trim().to_ascii_lowercase()).collect();
    set(&mut out.display_name, p.display_name);
    if let Some(mut scopes) = p.scopes {
        for required in OidcProviderConfig::REQUIRED_SCOPES {
            if !scopes.iter().any(|s| s == required) {
                scopes.push(required.to_string());
            }
        }
        out.scopes = scopes;
    }
    set(&mut out.verify_ssl, verify_env.or(p.verify_ssl));
    out.ca_cert_file = p.ca_cert_file;
    set(&mut out.assume_email_verified, p.assume_email_verified);
    out.domains = p.domains.unwrap_or_default().into_iter().map(|d| d.trim().to_ascii_lowercase()).collect();
    set(&mut out.enforce, p.enforce);
    let default_claim = (p.admin_values.is_some() || p.member_values.is_some())
        .then(|| out.profile.and_then(Profile::role_claim).map(str::to_string))
        .flatten();
    match p.role_claim.or(default_claim) {
        Some(claim) => {
            out.role_mapping = Some(RoleMapping {
                claim,
                admin_values: p.admin_values.unwrap_or_default(),
                member_values: p.member_values.unwrap_or_default(),
                organization: p.organization,
            });
        }
        None => {
            let orphans = [
                ("adminValues", p.admin_values.is_some()),
                ("memberValues", p.member_values.is_some()),
                ("organization", p.organization.is_some()),
            ];
            for (key, _) in orphans.iter().filter(|(_, set)| *set) {
                e.at(&format!("{at}.{key}"), "needs roleClaim (the claim whose values it maps)");
            }
        }
    }
    Some(out)
}

/// The session secret: `AUTH_JWT_SECRET` > `jwtSecret` > `BYOC_JWT_SECRET` > `jwtSecretFile`
/// (or `byoc-jwt-secret` for `existingSecretName`) > generated. Also returns where it came from.
fn resolve_secret(rb: &RawBasicAuth, env: &RawEnv, e: &mut Errors) -> (JwtSecretSource, Option<&'static str>, bool) {
    let configured = |s: &Secret<String>| JwtSecretSource::Configured(Secret::new(s.expose().as_bytes().to_vec()));
    if let Some(s) = &env.jwt_secret {
        return (configured(s), Some("AUTH_JWT_SECRET"), false);
    }
    if let Some(s) = rb.jwt_secret.as_ref().filter(|s| !s.expose().is_empty()) {
        return (configured(s), None, false);
    }
    if let Some(s) = &env.byoc_jwt_secret {
        return (configured(s), Some("BYOC_JWT_SECRET"), false);
    }
    if rb.jwt_secret_file.is_none() && rb.existing_secret_name.is_none() {
        return (JwtSecretSource::Generate, None, false);
    }
    let path = rb.jwt_secret_file.clone().unwrap_or_else(|| PathBuf::from(K8S_SECRET_KEY));
    match read_secret_file(&path) {
        Ok(Some(v)) => (configured(&Secret::new(v)), None, true),
        Ok(None) => {
            match &rb.existing_secret_name {
                Some(name) => e.at(
                    "basicAuth.existingSecretName",
                    format!(
                        "the Kubernetes Secret {name:?} (key {K8S_SECRET_KEY}) was not found: \
                         set the environment variable BYOC_JWT_SECRET or mount the key as the file {}",
                        path.display()
                    ),
                ),
                None => e.at("basicAuth.jwtSecretFile", format!("the file {} does not exist", path.display())),
            }
            (JwtSecretSource::Generate, None, false)
        }
        Err(msg) => {
            e.at("basicAuth.jwtSecretFile", msg);
            (JwtSecretSource::Generate, None, false)
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim_end_matches(['\n', '\r']).to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// The rules. Every rule is written once, here, and runs for files and for code-first models.

fn check(c: &AuthConfig, o: &Origins, e: &mut Errors) {
    let u = &c.public_url;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        e.at("publicUrl", not_an_http_url(u.as_str()));
    }
    check_database(c, e);
    check_session(&c.session, e);
    check_basic_auth(&c.basic_auth, e);

    if let JwtSecretSource::Configured(s) = &c.jwt_secret
        && let Err(msg) = secret_rule(s.expose())
    {
        match (o.jwt_secret_env, o.jwt_secret_file) {
            (Some(var), _) => e.outside(var, msg),
            (None, true) => e.at("basicAuth.jwtSecretFile", msg),
            (None, false) => e.at("basicAuth.jwtSecret", msg),
        }
    }
    for (i, s) in c.previous_jwt_secrets.iter().enumerate() {
        if let Err(msg) = secret_rule(s.expose()) {
            e.at(&format!("basicAuth.previousJwtSecrets[{i}]"), msg);
        }
    }

    if !cfg!(feature = "oidc") && !c.oidc.is_empty() {
        e.at("oidc", "this build has no OpenID Connect support: enable the `oidc` feature of auth-core");
    }
    for (j, p) in c.oidc.iter().enumerate() {
        let at = o.oidc.get(j).cloned().unwrap_or_else(|| format!("oidc.providers[{j}]"));
        check_provider(p, &at, c.oidc[..j].iter().any(|q| q.id == p.id), e);
        for d in &p.domains {
            if let Some(q) = c.oidc[..j].iter().find(|q| q.domains.contains(d)) {
                e.at(&format!("{at}.domains"), format!("{d:?} is also a domain of provider {:?}", q.id));
            }
        }
    }

    for (i, p) in c.public_paths.iter().enumerate() {
        if !p.starts_with('/') {
            e.at(&format!("publicPaths[{i}]"), format!("{p:?} must start with '/'"));
        }
    }
    check_ui(&c.ui, e);
    check_metrics(&c.metrics, e);
    check_throttle(&c.throttle, e);
    in_range(e, "maxBodyBytes", c.max_body_bytes, 4096, Some(1 << 20));
    if !(Duration::from_secs(86_400)..=Duration::from_secs(3650 * 86_400)).contains(&c.audit_retention) {
        e.at("audit.retention", "must be between 1d and 3650d");
    }
    if c.invitation_ttl.is_zero() {
        e.at("invitations.expiresIn", "must be greater than zero");
    }
    in_range(e, "invitations.maxPerHour", c.invitations_per_hour, 1, Some(10_000));
    if let Some(s) = &c.smtp {
        check_smtp(s, e);
    }
    if c.basic_auth.require_verified_email && c.smtp.is_none() {
        e.at("basicAuth.requireVerifiedEmail", "needs smtp: the verification links are sent by mail");
    }
}

/// `value` must lie in `min..=max` (no upper bound when `max` is `None`); the error names the
/// allowed range. Values are refused, never clamped.
fn in_range<T: PartialOrd + fmt::Display>(e: &mut Errors, path: &str, value: T, min: T, max: Option<T>) {
    let above = max.as_ref().is_some_and(|m| value > *m);
    if value < min || above {
        let allowed = match max {
            Some(m) => format!("{min} to {m}"),
            None => format!("{min} or more"),
        };
        e.at(path, format!("{value} is out of range: allowed {allowed}"));
    }
}

fn secret_rule(secret: &[u8]) -> Result<(), String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the secret is {} bytes; at least {MIN_SECRET_BYTES} bytes (256 bits) are required",
            secret.len()
        ));
    }
    Ok(())
}

fn not_an_http_url(v: &str) -> String {
    format!("{v:?} is not an absolute http(s) URL")
}

fn check_session(s: &SessionConfig, e: &mut Errors) {
    if s.cookie_name.is_empty() || !s.cookie_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        e.at("session.cookieName", "must be non-empty and use only letters, digits, '_' and '-'");
    }
    if s.idle_timeout.is_zero() {
        e.at("session.idleTimeout", "must be greater than zero");
    }
    if s.absolute_timeout.is_zero() {
        e.at("session.absoluteTimeout", "must be greater than zero");
    }
    in_range(e, "session.cacheCapacity", s.cache_capacity, 16, None);
}

fn check_database(c: &AuthConfig, e: &mut Errors) {
    if let Err(why) = crate::store::supported_url(&c.database_url) {
        e.at("database.url", why);
    }
    let p = &c.database_pool;
    in_range(e, "database.maxConnections", p.max_connections, 2, Some(1000));
    if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&p.acquire_timeout) {
        e.at("database.acquireTimeout", "must be between 1s and 60s");
    }
}

fn check_basic_auth(b: &BasicAuthConfig, e: &mut Errors) {
    if let Some(d) = &b.valid_email_domain {
        if !crate::email::is_valid_domain(d) {
            e.at("basicAuth.validEmailDomain", format!("{d:?} is not a domain name (e.g. example.com)"));
        } else if *d != d.to_ascii_lowercase() {
            e.at("basicAuth.validEmailDomain", format!("{d:?} must be lower-case"));
        }
    }
    in_range(e, "basicAuth.minPasswordLength", b.min_password_length, 8, Some(128));
    in_range(e, "basicAuth.minPasswordScore", b.min_password_score, 0, Some(super::MAX_PASSWORD_SCORE));
    let Argon2Params { memory_kib, iterations, parallelism } = b.argon2;
    let floor = Argon2Params::default();
    in_range(e, "basicAuth.argon2.memoryKib", memory_kib, floor.memory_kib, Some(1 << 21));
    in_range(e, "basicAuth.argon2.iterations", iterations, floor.iterations, None);
    in_range(e, "basicAuth.argon2.parallelism", parallelism, 1, Some(16));
    in_range(e, "basicAuth.maxConcurrentHashes", b.max_concurrent_hashes, 1, Some(64));
    let reset = b.password_reset_ttl.as_secs();
    in_range(e, "basicAuth.passwordReset.expiresIn", reset, 5, Some(86_400));
}

fn check_provider(p: &OidcProviderConfig, at: &str, id_taken: bool, e: &mut Errors) {
    let id = &p.id;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        e.at(&format!("{at}.id"), "required: letters, digits, '-' and '_'");
    } else if id_taken {
        e.at(&format!("{at}.id"), format!("{id:?} is used twice"));
    }
    if p.client_id.is_empty() {
        e.at(&format!("{at}.clientId"), "required when OIDC is configured");
    }
    if p.client_secret.expose().is_empty() {
        e.at(&format!("{at}.clientSecret"), "required when OIDC is configured");
    }
    match normalize_discovery_url(p.discovery_url.as_str()) {
        Err(msg) => e.at(&format!("{at}.discoveryUrl"), msg),
        Ok((normal, _)) if normal != p.discovery_url => e.at(
            &format!("{at}.discoveryUrl"),
            format!(
                "{:?} must end in /{DISCOVERY_SUFFIX} (OidcProviderConfig::new normalises it)",
                p.discovery_url.as_str()
            ),
        ),
        Ok(_) => {}
    }
    if let Some(missing) = OidcProviderConfig::REQUIRED_SCOPES.iter().find(|r| !p.scopes.iter().any(|s| s == *r)) {
        e.at(&format!("{at}.scopes"), format!("must contain openid, profile and email ({missing} is missing)"));
    }
    if let Some(ca) = &p.ca_cert_file
        && !ca.is_file()
    {
        e.at(&format!("{at}.caCertFile"), format!("{} is not a readable file", ca.display()));
    }
    if let Some(m) = &p.role_mapping {
        check_role_mapping(m, at, e);
    }
    for d in &p.domains {
        let dns = d.len() <= 253
            && d.split('.').count() >= 2
            && d.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !dns {
            e.at(&format!("{at}.domains"), format!("{d:?} is not a lower-case DNS domain (example.com)"));
        }
    }
    let multi_tenant =
        p.discovery_url.path_segments().and_then(|mut s| s.next()).is_some_and(|tenant| {
            ["common", "organizations", "consumers"].iter().any(|t| tenant.eq_ignore_ascii_case(t))
        });
    if p.profile == Some(Profile::Entra) && multi_tenant && p.tenants.is_empty() {
        e.at(
            &format!("{at}.tenants"),
            "required for a multi-tenant Entra ID discovery URL: the tenant ids (tid) whose users may sign in",
        );
    }
    if let Some(bad) = p.tenants.iter().find(|t| !is_tenant_id(t)) {
        e.at(&format!("{at}.tenants"), format!("{bad:?} is not a tenant id (a GUID)"));
    }
    if !p.tenants.is_empty() && p.profile != Some(Profile::Entra) {
        e.at(&format!("{at}.tenants"), "only used with profile: entra");
    }
    if p.enforce && p.domains.is_empty() {
        e.at(&format!("{at}.enforce"), "needs domains (the email domains that must use this provider)");
    }
}

/// An Entra ID tenant id: a GUID, lower-case.
pub(crate) fn is_tenant_id(t: &str) -> bool {
    t.len() == 36
        && t.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() && !c.is_ascii_uppercase() }
        })
}

fn check_role_mapping(m: &RoleMapping, at: &str, e: &mut Errors) {
    let usable = |v: &str| !v.trim().is_empty() && v.len() <= 256 && !v.chars().any(char::is_control);
    if !usable(&m.claim) {
        e.at(&format!("{at}.roleClaim"), "must be a claim name (1 to 256 characters)");
    }
    if m.admin_values.is_empty() && m.member_values.is_empty() {
        e.at(&format!("{at}.roleClaim"), "needs adminValues or memberValues (the values that map to a role)");
    }
    for (key, values) in [("adminValues", &m.admin_values), ("memberValues", &m.member_values)] {
        if let Some(bad) = values.iter().find(|v| !usable(v)) {
            e.at(&format!("{at}.{key}"), format!("{bad:?} is not a usable value (1 to 256 characters)"));
        }
    }
    if let Some(both) = m.admin_values.iter().find(|v| m.member_values.contains(v)) {
        e.at(&format!("{at}.memberValues"), format!("{both:?} is also in adminValues"));
    }
    if let Some(org) = &m.organization
        && !usable(org)
    {
        e.at(&format!("{at}.organization"), "must be an organization id or name");
    }
}

fn check_ui(ui: &UiConfig, e: &mut Errors) {
    let name = ui.product_name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        e.at("ui.productName", "must be 1 to 80 characters without control characters");
    }
    if let Some(logo) = &ui.logo_url {
        let same_origin = logo.starts_with('/') && !logo.starts_with("//");
        let https = Url::parse(logo).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
        if logo.len() > 2048 || logo.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
            e.at("ui.logoUrl", format!("{logo:?} is not a usable URL"));
        } else if !same_origin && !https {
            e.at("ui.logoUrl", format!("{logo:?} must be a path starting with '/' or an https:// URL"));
        }
    }
    let color = &ui.accent_color;
    let hex = color.strip_prefix('#').unwrap_or("");
    if !matches!(hex.len(), 3 | 6) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        e.at("ui.accentColor", format!("{color:?} must be a hex colour like #2557d6"));
    }
}

/// The built-in pages' paths (besides `/invitations/{token}`): the page router answers them
/// (`pages::PAGES` is this list) and a `metrics.path` may not take them.
pub(crate) const BUILT_IN_PAGES: &[&str] = &[
    "/login",
    "/logout",
    "/signup",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/settings/personal",
    "/settings/organization",
    "/settings/admin",
];

/// Why `path` cannot be `metrics.path`, if it cannot.
fn metrics_path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.starts_with("//") {
        return Some(format!("{path:?} must be a path starting with a single '/', like /metrics"));
    }
    if path.len() > 200 || path.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '%')) {
        return Some(format!(
            "{path:?} must be a plain path (no query, fragment, escapes or spaces; at most 200 bytes)"
        ));
    }
    let auth = crate::http::API_PREFIX;
    if path == auth || path.starts_with(&format!("{auth}/")) {
        return Some(format!("{path:?} is inside the auth routes ({auth}/...): choose another path, like /metrics"));
    }
    let page_prefix = ["/settings/", "/invitations/"].iter().any(|p| path.starts_with(p));
    if BUILT_IN_PAGES.contains(&path) || page_prefix {
        return Some(format!("{path:?} is a built-in page: choose another path, like /metrics"));
    }
    None
}

fn check_metrics(m: &MetricsConfig, e: &mut Errors) {
    if let Some(problem) = m.path.as_deref().and_then(metrics_path_problem) {
        e.at("metrics.path", problem);
    }
    if m.listen.is_some() && m.path.is_none() {
        e.at("metrics.listen", "needs metrics.path: the path served on that address, like /metrics");
    }
}

fn check_throttle(t: &ThrottleConfig, e: &mut Errors) {
    in_range(e, "loginThrottle.maxFailuresPerAccount", t.max_failures_per_account, 1, None);
    in_range(e, "loginThrottle.maxFailuresPerClient", t.max_failures_per_client, 1, None);
    if t.lockout > t.max_lockout {
        e.at(
            "loginThrottle.lockout",
            format!(
                "{} is out of range: allowed at most loginThrottle.maxLockout ({})",
                secs(t.lockout),
                secs(t.max_lockout)
            ),
        );
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

fn check_smtp(s: &SmtpConfig, e: &mut Errors) {
    let host = s.host.trim();
    if host.is_empty() {
        e.at("smtp.host", "required when smtp is configured");
    }
    if s.from.trim().is_empty() {
        e.at("smtp.from", "required when smtp is configured (e.g. \"Acme <noreply@example.com>\")");
    } else {
        #[cfg(feature = "smtp")]
        if let Err(err) = s.from.parse::<lettre::message::Mailbox>() {
            e.at("smtp.from", format!("not a mailbox: {err}"));
        }
    }
    if !cfg!(feature = "smtp") {
        e.at("smtp", "this build has no SMTP support: enable the `smtp` feature of auth-core");
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !host.is_empty() && s.security == SmtpSecurity::None && !loopback {
        e.at("smtp.security", "none (no TLS) is only allowed for a loopback host; use starttls or tls");
    }
    if s.username.is_some() != s.password.is_some() {
        e.at("smtp.username", "username and password go together");
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
    use std::collections::BTreeMap;

    use super::*;

    fn load(yaml: &str, env: &[(&str, &str)]) -> Result<AuthConfig, ConfigErrors> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AuthConfig::from_yaml(yaml, |k| env.get(k).cloned())
    }

    fn paths(errs: &ConfigErrors) -> Vec<&str> {
        errs.0.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn api_openapi_is_on_by_default_and_a_boolean() {
        assert!(load("{}", &[]).expect("loads").api.openapi);
        assert!(!load("api:\n  openapi: false\n", &[]).expect("loads").api.openapi);
        assert!(!load("api:\n  openapi: \"false\"\n", &[]).expect("loads").api.openapi);
        let errs = load("api:\n  openapi: sometimes\n", &[]).expect_err("refused");
        assert_eq!(paths(&errs), ["api.openapi"], "{errs:?}");
    }

    #[test]
    fn metrics_are_off_by_default_and_their_keys_are_checked() {
        let c = load("{}", &[]).expect("loads");
        assert_eq!(c.metrics, MetricsConfig::default());
        let c = load("metrics:\n  path: /metrics\n", &[]).expect("loads");
        assert_eq!((c.metrics.path.as_deref(), c.metrics.listen), (Some("/metrics"), None));
        let c = load("metrics:\n  path: /internal/metrics\n  listen: \"[::1]:9464\"\n", &[]).expect("loads");
        assert_eq!(c.metrics.listen, Some("[::1]:9464".parse().expect("address")));

        // Every problem at once, each with its path.
        let errs = load("metrics:\n  path: metrics\n  listen: localhost\n", &[]).expect_err("refused");
        assert_eq!(paths(&errs), ["metrics.listen", "metrics.path"], "{errs:?}");
        assert!(errs.0[0].message.contains("\"localhost\"") && errs.0[0].message.contains("127.0.0.1:9464"));
        let errs = load("metrics:\n  listen: 127.0.0.1:9464\n", &[]).expect_err("refused");
        assert_eq!(paths(&errs), ["metrics.listen"], "{errs:?}");
        assert!(errs.0[0].message.contains("needs metrics.path"), "{errs:?}");
        let errs = load("backend:\n  config:\n    metrics:\n      path: /login\n", &[]).expect_err("refused");
        assert_eq!(paths(&errs), ["backend.config.metrics.path"], "{errs:?}");

        for bad in [
            "",
            "//evil.example/metrics",
            "/metrics?x=1",
            "/metrics#top",
            "/me trics",
            "/api/v1/auth",
            "/api/v1/auth/metrics",
            "/login",
            "/settings/personal",
            "/settings/metrics",
            "/invitations/metrics",
        ] {
            let errs = load(&format!("metrics:\n  path: \"{bad}\"\n"), &[]).expect_err(bad);
            assert_eq!(paths(&errs), ["metrics.path"], "{bad}: {errs:?}");
        }
        for good in ["/metrics", "/api/v1/metrics", "/api/v1/authx", "/loginmetrics", "/_/prometheus"] {
            assert!(load(&format!("metrics:\n  path: \"{good}\"\n"), &[]).is_ok(), "{good}");
        }

        // Code first: the same rules and paths.
        let mut c = AuthConfig::default();
        c.metrics.path = Some("/api/v1/auth/metrics".into());
        assert_eq!(paths(&c.validate().expect_err("refused")), ["metrics.path"]);
        c.metrics = MetricsConfig { path: None, listen: Some("127.0.0.1:9464".parse().expect("address")) };
        assert_eq!(paths(&c.validate().expect_err("refused")), ["metrics.listen"]);
    }

    #[test]
    fn ui_branding_is_validated() {
        let c =
            load("ui:\n  productName: Acme\n  logoUrl: /logo.svg\n  accentColor: \"#0F766E\"\n", &[]).expect("loads");
        assert_eq!(c.ui.product_name, "Acme");
        assert_eq!(c.ui.logo_url.as_deref(), Some("/logo.svg"));
        assert_eq!(c.ui.accent_color, "#0f766e");
        assert_eq!(load("{}", &[]).expect("loads").ui, UiConfig::default());
        let bad = "ui:\n  productName: \"\"\n  logoUrl: \"javascript:alert(1)\"\n  accentColor: \"red;}body{\"\n";
        let errs = load(bad, &[]).expect_err("refused");
        assert_eq!(paths(&errs), ["ui.productName", "ui.logoUrl", "ui.accentColor"], "{errs:?}");
        for logo in ["//evil.example/x.png", "http://cdn.example/x.png", "/a b.png"] {
            assert!(load(&format!("ui:\n  logoUrl: \"{logo}\"\n"), &[]).is_err(), "{logo}");
        }
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
        let errs = load(yaml, &[]).expect_err("invalid");
        let paths = paths(&errs);
        assert!(paths.contains(&"backend.config.basicAuth.jwtSecret"), "{paths:?}");
        assert!(paths.contains(&"backend.config.basicAuth.argon2.memoryKib"), "{paths:?}");
        assert!(paths.contains(&"backend.config.session.idleTimeout"), "{paths:?}");
        assert!(!paths.contains(&"backend.config.oidc.discoveryUrl"), "issuer-like URL is accepted: {paths:?}");
        let secret_err = errs.0.iter().find(|e| e.path.ends_with("jwtSecret")).map(|e| e.message.clone());
        assert!(!secret_err.unwrap_or_default().contains("short"), "never quote a secret");
    }

    #[test]
    fn role_mappings_are_checked() {
        let base = "oidc:\n  providers:\n    - id: corp\n      clientId: c\n      clientSecret: s\n      discoveryUrl: https://idp.example.com\n";
        let ok = format!(
            "{base}      roleClaim: realm_access.roles\n      adminValues: [admins]\n      organization: Acme\n"
        );
        let c = load(&ok, &[]).expect("valid");
        let m = c.oidc[0].role_mapping.clone().expect("mapping");
        assert_eq!(
            (m.claim.as_str(), m.admin_values, m.organization.as_deref()),
            ("realm_access.roles", vec!["admins".to_string()], Some("Acme"))
        );
        assert!(m.member_values.is_empty());
        let cases = [
            ("      roleClaim: groups\n", "oidc.providers[0].roleClaim"),
            ("      adminValues: [a]\n", "oidc.providers[0].adminValues"),
            ("      organization: Acme\n", "oidc.providers[0].organization"),
            (
                "      roleClaim: groups\n      adminValues: [a]\n      memberValues: [a]\n",
                "oidc.providers[0].memberValues",
            ),
            ("      roleClaim: groups\n      adminValues: [\"\"]\n", "oidc.providers[0].adminValues"),
            ("      roleClaim: \"\"\n      adminValues: [a]\n", "oidc.providers[0].roleClaim"),
        ];
        for (extra, path) in cases {
            let errs = load(&format!("{base}{extra}"), &[]).expect_err(extra);
            assert_eq!(paths(&errs), vec![path], "{extra}: {errs:?}");
        }
    }

    #[test]
    fn provider_domains_are_checked() {
        let provider = |id: &str, extra: &str| {
            format!(
                "    - id: {id}\n      clientId: c\n      clientSecret: s\n      discoveryUrl: https://{id}.example.com\n{extra}"
            )
        };
        let yaml =
            format!("oidc:\n  providers:\n{}", provider("a", "      domains: [Corp.Example]\n      enforce: true\n"));
        let c = load(&yaml, &[]).expect("valid");
        assert_eq!((c.oidc[0].domains.clone(), c.oidc[0].enforce), (vec!["corp.example".to_string()], true));
        assert_eq!(c.provider_for_domain("CORP.example").map(|p| p.id.as_str()), Some("a"));
        assert!(c.provider_for_domain("sub.corp.example").is_none());
        let cases = [
            (provider("a", "      enforce: true\n"), "oidc.providers[0].enforce"),
            (provider("a", "      domains: [localhost]\n"), "oidc.providers[0].domains"),
            (provider("a", "      domains: [\"a@b.example\"]\n"), "oidc.providers[0].domains"),
            (
                format!(
                    "{}{}",
                    provider("a", "      domains: [x.example]\n"),
                    provider("b", "      domains: [x.example]\n")
                ),
                "oidc.providers[1].domains",
            ),
        ];
        for (providers, path) in cases {
            let errs = load(&format!("oidc:\n  providers:\n{providers}"), &[]).expect_err(path);
            assert_eq!(paths(&errs), vec![path], "{providers}: {errs:?}");
        }
    }

    #[test]
    fn profiles_tenants_and_tls_per_provider() {
        let provider = |id: &str, url: &str, extra: &str| {
            format!("    - id: {id}\n      clientId: c\n      clientSecret: s\n      discoveryUrl: {url}\n{extra}")
        };
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let ms = "https://login.microsoftonline.com/common/v2.0";
        let yaml = format!(
            "oidc:\n  verifySsl: false\n  caCertFile: Cargo.toml\n  providers:\n{}{}{}{}",
            provider("g", "https://accounts.google.com", "      profile: google\n"),
            provider(
                "e",
                ms,
                &format!(
                    "      profile: entra\n      tenants: [{tid}]\n      adminValues: [Admin]\n      verifySsl: true\n"
                )
            ),
            provider(
                "k",
                "https://kc.example.com/realms/acme",
                "      profile: keycloak\n      memberValues: [user]\n      caCertFile: src/lib.rs\n"
            ),
            provider("n", "https://idp.example.com", "      trustEmailForLinking: true\n"),
        );
        let c = load(&yaml, &[]).expect("valid");
        let (g, en, k, n) = (&c.oidc[0], &c.oidc[1], &c.oidc[2], &c.oidc[3]);
        assert_eq!(
            (g.profile, g.trust_email_for_linking, g.assume_email_verified),
            (Some(Profile::Google), true, false)
        );
        assert_eq!(
            (en.profile, en.trust_email_for_linking, en.assume_email_verified),
            (Some(Profile::Entra), false, true)
        );
        assert_eq!(en.tenants, vec![tid.to_string()]);
        assert_eq!(en.role_mapping.as_ref().map(|m| m.claim.as_str()), Some("roles"), "the profile's claim");
        assert_eq!(k.role_mapping.as_ref().map(|m| m.claim.as_str()), Some("realm_access.roles"));
        assert!(n.trust_email_for_linking && n.profile.is_none());
        // The global TLS values are each provider's default.
        assert!(!g.verify_ssl && en.verify_ssl && !k.verify_ssl);
        assert_eq!(g.ca_cert_file.as_deref(), Some(Path::new("Cargo.toml")));
        assert_eq!(k.ca_cert_file.as_deref(), Some(Path::new("src/lib.rs")));
        let cases = [
            (provider("a", "https://idp.example.com", "      profile: auth0\n"), "oidc.providers[0].profile"),
            (provider("a", ms, "      profile: entra\n"), "oidc.providers[0].tenants"),
            (provider("a", ms, "      profile: entra\n      tenants: [contoso]\n"), "oidc.providers[0].tenants"),
            (
                provider("a", "https://idp.example.com", &format!("      tenants: [{tid}]\n")),
                "oidc.providers[0].tenants",
            ),
            (
                provider("a", "https://accounts.google.com", "      profile: google\n      adminValues: [x]\n"),
                "oidc.providers[0].adminValues",
            ),
        ];
        for (providers, path) in cases {
            let errs = load(&format!("oidc:\n  providers:\n{providers}"), &[]).expect_err(path);
            assert_eq!(paths(&errs), vec![path], "{providers}: {errs:?}");
        }
        // Google with trust turned off explicitly.
        let off =
            provider("g", "https://accounts.google.com", "      profile: google\n      trustEmailForLinking: false\n");
        assert!(!load(&format!("oidc:\n  providers:\n{off}"), &[]).expect("valid").oidc[0].trust_email_for_linking);
    }

    #[test]
    fn oidc_provider_problems_are_all_reported() {
        let yaml = "oidc:\n  clientId: x\n  providers:\n    - id: okta\n      discoveryUrl: http://idp.example.com\n    - id: okta\n      clientId: y\n      clientSecret: z\n      discoveryUrl: https://okta.example.com\n";
        let errs = load(yaml, &[]).expect_err("invalid");
        let paths = paths(&errs);
        for p in [
            "oidc.discoveryUrl",
            "oidc.clientSecret",
            "oidc.providers[0].discoveryUrl",
            "oidc.providers[0].clientId",
            "oidc.providers[0].clientSecret",
            "oidc.providers[1].id",
        ] {
            assert!(paths.contains(&p), "{p} missing: {errs:?}");
        }
        assert_eq!(paths.len(), 6, "{errs:?}");
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

    /// Values that used to be clamped silently are refused, naming the path and the range.
    #[test]
    fn out_of_range_values_are_refused_not_clamped() {
        let cases = [
            ("loginThrottle:\n  maxFailuresPerAccount: 0\n", "loginThrottle.maxFailuresPerAccount", "1 or more"),
            ("loginThrottle:\n  maxFailuresPerClient: 0\n", "loginThrottle.maxFailuresPerClient", "1 or more"),
            ("loginThrottle:\n  lockout: 1h\n  maxLockout: 15m\n", "loginThrottle.lockout", "at most"),
            ("session:\n  cacheCapacity: 3\n", "session.cacheCapacity", "16 or more"),
            ("basicAuth:\n  maxConcurrentHashes: 0\n", "basicAuth.maxConcurrentHashes", "1 to 64"),
            ("basicAuth:\n  maxConcurrentHashes: 65\n", "basicAuth.maxConcurrentHashes", "1 to 64"),
            ("basicAuth:\n  minPasswordLength: 129\n", "basicAuth.minPasswordLength", "8 to 128"),
            ("basicAuth:\n  minPasswordScore: 5\n", "basicAuth.minPasswordScore", "0 to 4"),
            ("basicAuth:\n  argon2:\n    parallelism: 17\n", "basicAuth.argon2.parallelism", "1 to 16"),
            ("basicAuth:\n  argon2:\n    memoryKib: 4194304\n", "basicAuth.argon2.memoryKib", "19456 to 2097152"),
            ("basicAuth:\n  argon2:\n    iterations: 1\n", "basicAuth.argon2.iterations", "2 or more"),
            ("maxBodyBytes: 100\n", "maxBodyBytes", "4096 to 1048576"),
        ];
        for (yaml, path, range) in cases {
            let errs = load(yaml, &[]).expect_err(yaml).0;
            assert_eq!(errs.len(), 1, "{yaml}: {errs:?}");
            assert_eq!(errs[0].path, path, "{yaml}");
            assert!(errs[0].message.contains(range), "{yaml}: {:?}", errs[0].message);
        }
        // The bounds themselves are accepted.
        let edges = "loginThrottle:\n  maxFailuresPerAccount: 1\n  lockout: 15m\nsession:\n  cacheCapacity: 16\n\
                     basicAuth:\n  maxConcurrentHashes: 64\n";
        let c = load(edges, &[]).expect("bounds are allowed");
        assert_eq!((c.throttle.max_failures_per_account, c.session.cache_capacity), (1, 16));
        assert_eq!(c.basic_auth.max_concurrent_hashes, 64);
    }

    #[test]
    fn the_secret_origin_is_named_never_the_value() {
        let secret = "s".repeat(40);
        assert_eq!(load("", &[]).expect("defaults").jwt_secret_origin, None, "generated");
        let key = load(&format!("basicAuth:\n  jwtSecret: {secret}\n"), &[]).expect("key");
        assert_eq!(key.jwt_secret_origin, Some(SecretOrigin::ConfigKey));
        let env = load("", &[("BYOC_JWT_SECRET", secret.as_str())]).expect("env");
        let origin = env.jwt_secret_origin.expect("configured");
        assert!(origin.is_kubernetes_secret(), "{origin:?}");
        assert!(!origin.to_string().contains(&secret) && origin.to_string().contains("BYOC_JWT_SECRET"));
        let dir = std::env::temp_dir().join(format!("auth-core-origin-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("secret");
        std::fs::write(&file, &secret).expect("write");
        let yaml = format!("basicAuth:\n  jwtSecretFile: {}\n", file.display());
        let c = load(&yaml, &[]).expect("file");
        assert_eq!(c.jwt_secret_origin, Some(SecretOrigin::File { path: file, secret_name: None }));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn min_password_score_is_0_to_4() {
        assert_eq!(load("", &[]).expect("defaults").basic_auth.min_password_score, 3);
        for score in [0u8, 4] {
            let c = load(&format!("basicAuth:\n  minPasswordScore: {score}\n"), &[]).expect("in range");
            assert_eq!(c.basic_auth.min_password_score, score);
        }
        for yaml in ["basicAuth:\n  minPasswordScore: -1\n", "basicAuth:\n  minPasswordScore: strong\n"] {
            let errs = load(yaml, &[]).expect_err(yaml).0;
            assert_eq!(errs.len(), 1, "{yaml}: {errs:?}");
            assert_eq!(errs[0].path, "basicAuth.minPasswordScore", "{yaml}");
        }
    }

    #[test]
    fn code_first_models_get_the_file_checks_with_the_same_paths() {
        assert_eq!(AuthConfig::default().validate(), Ok(()), "the defaults are valid");

        let mut c = AuthConfig {
            jwt_secret: JwtSecretSource::Configured(Secret::new(b"short".to_vec())),
            ..AuthConfig::default()
        };
        c.ui.accent_color = "red".into();
        c.throttle.max_failures_per_account = 0;
        c.basic_auth.argon2.memory_kib = 1024;
        c.session.cache_capacity = 0;
        c.public_paths.push("health".into());
        let errs = c.validate().expect_err("refused");
        assert_eq!(
            paths(&errs),
            [
                "session.cacheCapacity",
                "basicAuth.argon2.memoryKib",
                "basicAuth.jwtSecret",
                "publicPaths[0]",
                "ui.accentColor",
                "loginThrottle.maxFailuresPerAccount",
            ],
            "{errs:?}"
        );
        assert!(!errs.to_string().contains("short"), "never quote a secret");

        // The same problems written in a file give the same paths and messages.
        let yaml = "session:\n  cacheCapacity: 0\nbasicAuth:\n  argon2:\n    memoryKib: 1024\n  jwtSecret: short\n\
                    publicPaths: [health]\nui:\n  accentColor: red\nloginThrottle:\n  maxFailuresPerAccount: 0\n";
        assert_eq!(load(yaml, &[]).expect_err("refused"), errs);
    }

    #[test]
    fn code_first_oidc_providers() {
        let secret = || Secret::new("client-secret".to_string());
        let okta =
            OidcProviderConfig::new("okta", "client", secret(), "https://okta.example.com").expect("issuer form");
        assert_eq!(okta.discovery_url.as_str(), "https://okta.example.com/.well-known/openid-configuration");
        assert_eq!(okta.scopes, ["openid", "profile", "email"]);
        let mut c = AuthConfig::default();
        c.oidc.push(okta.clone());
        assert_eq!(c.validate(), Ok(()));

        let mut bad = okta.clone();
        bad.client_id.clear();
        bad.scopes.retain(|s| s != "email");
        bad.discovery_url = "https://okta.example.com/authorize".parse().expect("url");
        c.oidc.push(bad);
        let errs = c.validate().expect_err("refused");
        assert_eq!(
            paths(&errs),
            [
                "oidc.providers[1].id",
                "oidc.providers[1].clientId",
                "oidc.providers[1].discoveryUrl",
                "oidc.providers[1].scopes"
            ],
            "{errs:?}"
        );
        assert!(OidcProviderConfig::new("x", "c", secret(), "http://idp.example.com").is_err());
    }
}
