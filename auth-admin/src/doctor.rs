//! `auth-admin doctor`: validates the config, then probes what a human would check, one line
//! per check with the fix for what fails.
//!
//! - **config**: valid (else every error with its path, exit status 2), no unknown keys;
//! - **database**: opens, and its migrations are current. Nothing is created or migrated: a
//!   missing SQLite file or pending migrations pass with a note (the service creates and
//!   migrates at its first start); a database migrated by a newer version, an edited or a
//!   failed migration fail;
//! - **signing secret**: its source (configured, Kubernetes Secret, generated and stored)
//!   and length;
//! - per OIDC provider: **discovery** reachable, **tls** (verified, against which roots),
//!   **issuer** equal to the configured one, **jwks** with usable keys, **clock** skew against
//!   the IdP's `Date` header, **redirect url** to register, **scopes** supported;
//! - **smtp**: reachable with its TLS mode;
//! - **cookie**: `publicUrl`'s scheme versus the cookie's `Secure`.
//!
//! Probes use short timeouts, follow no redirect and never print a secret (client secrets,
//! database passwords, the session secret).

use std::time::{Duration, SystemTime};

use auth_core::config::{ConfigErrors, JwtSecretSource, MIN_SECRET_BYTES, OidcProviderConfig, SmtpSecurity};
use auth_core::probe::{self, IdpFailure};
use auth_core::store::{self, StoreHealth};
use auth_core::{API_PREFIX, AuthConfig};
use serde::Serialize;

use crate::Loaded;

/// The guard's leeway on `exp`/`iat`/`nbf`; an IdP clock further off breaks logins.
pub const CLOCK_LEEWAY: Duration = Duration::from_secs(60);
/// The longest an SMTP probe waits.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(5);
/// The scopes every provider must support.
const REQUIRED_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`database`, `oidc[default] issuer`, ...).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do about it (only when it failed).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { name: name.into(), ok: true, detail: detail.into(), fix: None }
    }

    /// A failed check and its fix.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { name: name.into(), ok: false, detail: detail.into(), fix: Some(fix.into()) }
    }
}

/// Every check of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The report of a config that does not validate: one failed `config` check per error,
    /// each with its path, as the servers print them at startup.
    pub fn from_config_errors(errors: &ConfigErrors) -> Self {
        let checks = errors
            .0
            .iter()
            .map(|e| Check::fail("config", format!("{}: {}", e.path, e.message), config_fix(&e.path, &e.message)))
            .collect();
        Self { checks }
    }

    /// One line per check (`✓ name: detail` or `✗ name: detail — fix: ...`) and a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            match &c.fix {
                Some(fix) if !c.ok => out.push_str(&format!("✗ {}: {} — fix: {fix}\n", c.name, c.detail)),
                _ => out.push_str(&format!("{} {}: {}\n", if c.ok { '✓' } else { '✗' }, c.name, c.detail)),
            }
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        if failed == 0 {
            out.push_str(&format!("all {} checks passed\n", self.checks.len()));
        } else if self.checks.iter().all(|c| c.name == "config") {
            out.push_str(&format!("the config does not validate ({failed} problem(s)); nothing else was checked\n"));
        } else {
            out.push_str(&format!("{failed} of {} checks failed\n", self.checks.len()));
        }
        out
    }

    /// One JSON document, `{"ok": bool, "checks": [{"name", "ok", "detail", "fix"}]}` (keys in
    /// that order; `fix` is null for a passed check).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Doc<'a> {
            ok: bool,
            checks: &'a [Check],
        }
        serde_json::to_string(&Doc { ok: self.ok(), checks: &self.checks })
            .unwrap_or_else(|e| format!(r#"{{"ok":false,"error":"cannot serialise the report: {e}"}}"#))
    }
}

/// What to do about one config error, by its path.
fn config_fix(path: &str, message: &str) -> String {
    let secret_paths = ["jwtSecret", "jwtSecretFile", "AUTH_JWT_SECRET", "BYOC_JWT_SECRET", "previousJwtSecrets"];
    if secret_paths.iter().any(|p| path.contains(p)) && message.contains("bytes") {
        return format!(
            "use a random secret of at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`), \
             or remove it to have one generated and stored in the database"
        );
    }
    if path.ends_with("discoveryUrl") || path == "OIDC_DISCOVERY_URL" {
        return "use the provider's issuer URL or its discovery URL, which ends in \
                /.well-known/openid-configuration (https; plain http only for loopback hosts)"
            .into();
    }
    if path.ends_with("existingSecretName") {
        return "provide the Secret's key byoc-jwt-secret as BYOC_JWT_SECRET or as a mounted file \
                (basicAuth.jwtSecretFile)"
            .into();
    }
    format!("correct {path} in the config file or the environment (the README's configuration table lists each key)")
}

/// Runs every check on a loaded config.
pub async fn run(loaded: &Loaded) -> Report {
    let config = &loaded.config;
    let mut checks = vec![config_check(loaded)];
    for key in &loaded.unknown_keys {
        checks.push(Check::fail(
            "config",
            format!("unknown key {key} (ignored)"),
            "correct its spelling or remove it; the README's configuration table lists every key",
        ));
    }
    let health = store::inspect(&config.database_url, &config.database_pool).await;
    checks.push(database_check(&health));
    checks.push(secret_check(config, health.as_ref().ok()));
    for provider in &config.oidc {
        checks.extend(provider_checks(config, provider).await);
    }
    checks.push(smtp_check(config).await);
    checks.push(cookie_check(config));
    Report { checks }
}

fn config_check(loaded: &Loaded) -> Check {
    let from = match &loaded.file {
        Some(file) => format!("{} and the environment", file.display()),
        None => "no file (AUTH_CONFIG unset): defaults and the environment".into(),
    };
    Check::pass("config", format!("valid ({from})"))
}

fn list(versions: &[i64]) -> String {
    versions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn database_check(health: &Result<StoreHealth, store::StoreError>) -> Check {
    const NAME: &str = "database";
    let h = match health {
        Ok(h) => h,
        Err(e) => {
            return Check::fail(
                NAME,
                format!("cannot be opened: {e}"),
                "check database.url (or AUTH_DATABASE_URL): that the server is up and reachable from here, \
                 the credentials, and for SQLite that the file is readable",
            );
        }
    };
    if !h.exists {
        return Check::pass(
            NAME,
            format!("{} does not exist yet: it is created and migrated at the first start", h.location),
        );
    }
    if !h.failed_migrations.is_empty() {
        return Check::fail(
            NAME,
            format!("{}: migration(s) {} stopped half-way", h.location, list(&h.failed_migrations)),
            "restore the database from a backup (or repair the schema by hand and delete the failed row \
             from _sqlx_migrations); the service will not start until then",
        );
    }
    if !h.changed_migrations.is_empty() {
        return Check::fail(
            NAME,
            format!("{}: applied migration(s) {} differ from this version's", h.location, list(&h.changed_migrations)),
            "run the version of the service that migrated this database",
        );
    }
    let unknown = h.unknown_migrations();
    if !unknown.is_empty() {
        return Check::fail(
            NAME,
            format!("{}: migrated by a newer version (migration(s) {} unknown here)", h.location, list(&unknown)),
            "upgrade the service and auth-admin to the version that migrated this database",
        );
    }
    let pending = h.pending_migrations();
    let known = h.known_migrations.len();
    if pending.is_empty() {
        Check::pass(NAME, format!("{}: opens, migrations current ({known} of {known})", h.location))
    } else {
        Check::pass(
            NAME,
            format!("{}: opens; migration(s) {} pending, applied at the next start", h.location, list(&pending)),
        )
    }
}

fn secret_check(config: &AuthConfig, health: Option<&StoreHealth>) -> Check {
    const NAME: &str = "signing secret";
    let previous = match config.previous_jwt_secrets.len() {
        0 => String::new(),
        n => format!("; {n} previous secret(s) still verify"),
    };
    match &config.jwt_secret {
        JwtSecretSource::Configured(secret) => {
            let len = secret.expose().len();
            let source = match &config.jwt_secret_origin {
                Some(origin) if origin.is_kubernetes_secret() => format!("Kubernetes Secret ({origin})"),
                Some(origin) => format!("configured ({origin})"),
                None => "configured".to_string(),
            };
            if len < MIN_SECRET_BYTES {
                Check::fail(
                    NAME,
                    format!("{source}, {len} bytes: shorter than {MIN_SECRET_BYTES} bytes (256 bits)"),
                    config_fix("jwtSecret", "bytes"),
                )
            } else {
                Check::pass(NAME, format!("{source}, {len} bytes (at least {MIN_SECRET_BYTES}){previous}"))
            }
        }
        JwtSecretSource::Generate => match health.and_then(|h| h.stored_secret_bytes) {
            Some(len) if len < MIN_SECRET_BYTES => Check::fail(
                NAME,
                format!("generated and stored in the database, but the stored secret is {len} bytes"),
                format!(
                    "configure basicAuth.jwtSecret (at least {MIN_SECRET_BYTES} random bytes) or existingSecretName"
                ),
            ),
            Some(len) => Check::pass(
                NAME,
                format!(
                    "generated and stored in the database, {len} bytes; configure basicAuth.jwtSecret or \
                     existingSecretName to share it with other services{previous}"
                ),
            ),
            None => Check::pass(
                NAME,
                format!(
                    "none configured: one is generated and stored in the database at the first start \
                     ({MIN_SECRET_BYTES} bytes){previous}"
                ),
            ),
        },
    }
}

/// How much the IdP's clock is ahead of ours (negative: behind), from its `Date` header.
fn clock_skew(date: &str, now: SystemTime) -> Option<i64> {
    let theirs = httpdate::parse_http_date(date).ok()?;
    Some(match theirs.duration_since(now) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
    })
}

fn tls_trust(provider: &OidcProviderConfig) -> String {
    match &provider.ca_cert_file {
        Some(ca) => format!("the built-in Mozilla roots and caCertFile {}", ca.display()),
        None => "the built-in Mozilla roots (webpki-roots)".into(),
    }
}

async fn provider_checks(config: &AuthConfig, p: &OidcProviderConfig) -> Vec<Check> {
    let name = |what: &str| format!("oidc[{}] {what}", p.id);
    let url = p.discovery_url.as_str();
    let https = p.discovery_url.scheme() == "https";
    let mut checks = Vec::new();
    let asked = SystemTime::now();
    let got = probe::idp_get(p, url).await;

    // TLS first: it decides whether anything else could be read.
    checks.push(match (&got, https) {
        (_, false) => Check::pass(name("tls"), "plain http to a loopback host: no TLS (a local test IdP only)"),
        (Err(e), true) if e.kind == IdpFailure::Tls => Check::fail(
            name("tls"),
            format!("the IdP's certificate is not accepted: {}", e.message),
            format!(
                "if the IdP uses a private or self-signed CA, set caCertFile to that CA's PEM bundle \
                 (oidc.caCertFile or the provider's caCertFile); only as a last resort verifySsl: false \
                 (OIDC_VERIFY_SSL=false), which accepts any certificate. Trusted now: {}",
                tls_trust(p)
            ),
        ),
        (Err(e), true) if e.kind == IdpFailure::Settings => {
            Check::fail(name("tls"), e.message.clone(), "point caCertFile at a readable PEM file of CA certificates")
        }
        (_, true) if !p.verify_ssl => Check::pass(
            name("tls"),
            "NOT verified (verifySsl: false / OIDC_VERIFY_SSL=false): any certificate is accepted; \
             prefer caCertFile with the IdP's CA",
        ),
        (Ok(_), true) => Check::pass(name("tls"), format!("certificate verified against {}", tls_trust(p))),
        (Err(_), true) => Check::pass(name("tls"), format!("not reached (see discovery); trusting {}", tls_trust(p))),
    });

    let discovery = match got {
        Err(e) => {
            let (what, fix) = match e.kind {
                IdpFailure::Connect => (
                    "cannot connect",
                    "check that the IdP is up and reachable from this host (address, port, firewall, DNS, proxy)",
                ),
                IdpFailure::Timeout => {
                    ("no answer in time", "check that the IdP is up and that nothing between here and it drops traffic")
                }
                IdpFailure::Tls => ("TLS handshake failed", "see the tls line"),
                IdpFailure::Settings => ("not attempted", "see the tls line"),
                IdpFailure::TooLarge => {
                    ("the answer is too large", "check that discoveryUrl names the discovery document")
                }
                _ => ("request failed", "check discoveryUrl and that the IdP is up"),
            };
            checks.push(Check::fail(name("discovery"), format!("{what}: {url}: {}", e.message), fix));
            None
        }
        Ok(r) if r.status != 200 => {
            let fix = if (300..400).contains(&r.status) {
                "redirects are not followed: set discoveryUrl to the final URL of the discovery document".to_string()
            } else {
                format!(
                    "set discoveryUrl to the provider's discovery document, the URL ending in \
                     /.well-known/openid-configuration (a URL without it is taken as the issuer and the suffix \
                     appended, giving {url}); for Keycloak include /realms/NAME, for Entra ID /TENANT/v2.0"
                )
            };
            checks.push(Check::fail(name("discovery"), format!("{url} answered HTTP {}", r.status), fix));
            None
        }
        Ok(r) => match probe::read_discovery(&r.body) {
            Err(e) => {
                checks.push(Check::fail(
                    name("discovery"),
                    format!("{url} is not a usable discovery document: {e}"),
                    "set discoveryUrl to the provider's /.well-known/openid-configuration document",
                ));
                None
            }
            Ok(d) => {
                checks.push(Check::pass(name("discovery"), format!("{url} answered a valid document")));
                Some((d, r.date))
            }
        },
    };

    if let Some((d, date)) = discovery {
        checks.push(if probe::issuer_accepted(p, &d.issuer) {
            Check::pass(name("issuer"), format!("{} as configured", d.issuer))
        } else {
            Check::fail(
                name("issuer"),
                format!("the IdP announces {:?}, the configured issuer is {:?}", d.issuer, p.issuer),
                format!(
                    "set discoveryUrl to {}/.well-known/openid-configuration (the issuer must match exactly: \
                     same scheme, host, port and path)",
                    d.issuer.trim_end_matches('/')
                ),
            )
        });
        checks.push(jwks_check(p, &d.jwks_uri, &name("jwks")).await);
        checks.push(match date.as_deref().and_then(|d| clock_skew(d, asked)) {
            None => Check::pass(name("clock"), "the IdP sent no readable Date header; skew not measured"),
            Some(skew) if skew.unsigned_abs() <= CLOCK_LEEWAY.as_secs() => Check::pass(
                name("clock"),
                format!("within {}s of the IdP's Date header (leeway {}s)", skew.abs(), CLOCK_LEEWAY.as_secs()),
            ),
            Some(skew) => Check::fail(
                name("clock"),
                format!(
                    "this host's clock is {}s {} the IdP's (leeway {}s): its tokens will look expired or not yet valid",
                    skew.abs(),
                    if skew > 0 { "behind" } else { "ahead of" },
                    CLOCK_LEEWAY.as_secs()
                ),
                "synchronise this host's clock (NTP, e.g. systemd-timesyncd or chrony)",
            ),
        });
        checks.push(redirect_check(config, &name("redirect url")));
        checks.push(scopes_check(p, d.scopes_supported.as_deref(), &name("scopes")));
    } else {
        checks.push(redirect_check(config, &name("redirect url")));
    }
    checks
}

async fn jwks_check(p: &OidcProviderConfig, uri: &str, name: &str) -> Check {
    match probe::idp_get(p, uri).await {
        Err(e) => Check::fail(
            name,
            format!("{uri} cannot be fetched: {}", e.message),
            "check that the jwks_uri of the discovery document is reachable from this host",
        ),
        Ok(r) if r.status != 200 => Check::fail(
            name,
            format!("{uri} answered HTTP {}", r.status),
            "check the IdP: its discovery document names a jwks_uri that does not serve keys",
        ),
        Ok(r) => match probe::usable_signing_keys(&r.body) {
            Ok(0) => Check::fail(
                name,
                format!("{uri} holds no usable signing key"),
                "publish an RSA, EC or Ed25519 signing key at the IdP (symmetric and encryption keys do not count)",
            ),
            Ok(n) => Check::pass(name, format!("{n} usable signing key(s) at {uri}")),
            Err(e) => Check::fail(
                name,
                format!("{uri} is not a JWKS: {e}"),
                "check the IdP: its jwks_uri must serve a JSON Web Key Set",
            ),
        },
    }
}

fn redirect_check(config: &AuthConfig, name: &str) -> Check {
    let callback = config.public_url_for(&format!("{API_PREFIX}/callback"));
    let note = if config.public_url_configured {
        String::new()
    } else {
        " (publicUrl is not configured: the default is used; set publicUrl to the URL users open)".into()
    };
    Check::pass(name, format!("register {callback} at the IdP as the client's redirect URI{note}"))
}

fn scopes_check(p: &OidcProviderConfig, supported: Option<&[String]>, name: &str) -> Check {
    let mut wanted: Vec<&str> = REQUIRED_SCOPES.to_vec();
    for s in &p.scopes {
        if !wanted.contains(&s.as_str()) {
            wanted.push(s);
        }
    }
    let Some(supported) = supported else {
        return Check::pass(
            name,
            format!("the IdP does not list scopes_supported (optional); requesting {}", wanted.join(" ")),
        );
    };
    let missing: Vec<&str> = wanted.iter().copied().filter(|w| !supported.iter().any(|s| s == w)).collect();
    if missing.is_empty() {
        Check::pass(name, format!("{} supported", wanted.join(" ")))
    } else {
        Check::fail(
            name,
            format!("the IdP does not list {} in scopes_supported", missing.join(" ")),
            "enable these scopes for the client at the IdP (openid, profile and email are required), \
             or remove extra ones from scopes",
        )
    }
}

async fn smtp_check(config: &AuthConfig) -> Check {
    const NAME: &str = "smtp";
    let Some(smtp) = &config.smtp else {
        return Check::pass(NAME, "not configured: invitation and reset links are shown to the admin to pass on");
    };
    let tls = match smtp.security {
        SmtpSecurity::StartTls => "STARTTLS (required)",
        SmtpSecurity::Tls => "implicit TLS",
        SmtpSecurity::None => "no TLS (loopback only)",
    };
    let mut probe_cfg = smtp.clone();
    probe_cfg.timeout = smtp.timeout.min(SMTP_TIMEOUT);
    let at = format!("{}:{}", smtp.host, smtp.port);
    let bounded = tokio::time::timeout(SMTP_TIMEOUT + Duration::from_secs(1), probe::smtp_reachable(&probe_cfg));
    match bounded.await {
        Ok(Ok(())) => Check::pass(NAME, format!("{at} answered, {tls}")),
        Ok(Err(e)) => Check::fail(
            NAME,
            format!("{at} with {tls}: {e}"),
            "check smtp.host and smtp.port, that the server is up and reachable from here, smtp.security \
             (starttls on 587, tls on 465) and smtp.username/password",
        ),
        Err(_) => Check::fail(
            NAME,
            format!("{at} with {tls}: no answer within {}s", SMTP_TIMEOUT.as_secs()),
            "check smtp.host and smtp.port and that nothing between here and the server drops traffic",
        ),
    }
}

fn cookie_check(config: &AuthConfig) -> Check {
    const NAME: &str = "cookie";
    let url = &config.public_url;
    let cookie = config.cookie_name();
    if config.is_https() {
        return Check::pass(NAME, format!("publicUrl {url} is https: cookie {cookie} with Secure"));
    }
    if auth_core::config::is_loopback_host(url) {
        Check::pass(
            NAME,
            format!("publicUrl {url} is http on a loopback host: cookie {cookie} without Secure (local use only)"),
        )
    } else {
        Check::fail(
            NAME,
            format!("publicUrl {url} is plain http: the session cookie {cookie} travels without Secure"),
            "serve over https (a TLS-terminating proxy is fine) and set publicUrl to the https URL",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idp_clock_is_read_from_its_date_header() {
        let now = httpdate::parse_http_date("Tue, 01 Dec 2026 16:44:18 GMT").expect("date");
        assert_eq!(clock_skew("Tue, 01 Dec 2026 16:46:18 GMT", now), Some(120));
        assert_eq!(clock_skew("Tue, 01 Dec 2026 16:44:08 GMT", now), Some(-10));
        assert_eq!(clock_skew("yesterday", now), None);
    }

    #[test]
    fn lines_carry_the_fix_only_when_failed() {
        let report = Report { checks: vec![Check::pass("a", "fine"), Check::fail("b", "broken", "mend it")] };
        assert_eq!(report.to_text(), "✓ a: fine\n✗ b: broken — fix: mend it\n1 of 2 checks failed\n");
        assert!(!report.ok());
        let text = report.to_json();
        assert!(
            text.starts_with(r#"{"ok":false,"checks":[{"name":"a","ok":true,"detail":"fine","fix":null}"#),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][0]["fix"], serde_json::Value::Null);
        assert_eq!(json["checks"][1]["fix"], "mend it");
    }

    #[test]
    fn cookie_secure_follows_the_scheme() {
        let mut c = AuthConfig::default();
        assert!(cookie_check(&c).ok, "loopback http is fine");
        c.public_url = "http://app.example.com".parse().expect("url");
        let check = cookie_check(&c);
        assert!(!check.ok && check.fix.as_deref().is_some_and(|f| f.contains("https")));
        c.public_url = "https://app.example.com".parse().expect("url");
        assert!(cookie_check(&c).detail.contains("__Host-auth_session with Secure"));
    }
}
