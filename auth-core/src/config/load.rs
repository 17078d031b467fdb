//! Where the model's values come from: the file (a Helm values file whose `backend.config`
//! holds the model and whose `backend.extraEnvVariables` act like environment variables, or
//! the bare model), the environment (which wins) and the [`LoadOptions`] of the program.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use url::Url;

use super::raw::{RawConfig, RawEnv};
use super::{AuthConfig, ConfigError, ConfigErrors, validate};
use crate::secret::Secret;

/// Choices of the program that loads the config, applied while loading (and checked with the
/// rest) rather than patched into a validated config afterwards.
///
/// ```
/// use auth_core::config::{AuthConfig, LoadOptions};
///
/// let options = LoadOptions::default()
///     .with_public_url("https://app.example.com".parse().expect("url"))
///     .with_database_url("sqlite://test.db");
/// let config = AuthConfig::from_yaml_with("publicUrl: http://ignored", |_| None, &options).expect("valid");
/// assert!(config.is_https() && config.public_url_configured);
/// assert_eq!(config.database_url, "sqlite://test.db");
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// `publicUrl` when neither the file nor `AUTH_PUBLIC_URL` sets one (e.g. derived from the
    /// listen address); `public_url_configured` stays `false`. Defaults to none
    /// (`http://127.0.0.1:3000`).
    pub default_public_url: Option<Url>,
    /// `publicUrl`, winning over the file and the environment; `public_url_configured` is
    /// `true`. Defaults to none.
    pub public_url: Option<Url>,
    /// `database.url`, winning over the file and `AUTH_DATABASE_URL`. Defaults to none.
    pub database_url: Option<String>,
    /// Paths appended to `publicPaths` (each once), e.g. the program's `/health`. Defaults to
    /// none.
    pub extra_public_paths: Vec<String>,
}

impl LoadOptions {
    /// Sets [`LoadOptions::default_public_url`].
    #[must_use]
    pub fn with_default_public_url(mut self, url: Url) -> Self {
        self.default_public_url = Some(url);
        self
    }

    /// Sets [`LoadOptions::public_url`].
    #[must_use]
    pub fn with_public_url(mut self, url: Url) -> Self {
        self.public_url = Some(url);
        self
    }

    /// Sets [`LoadOptions::database_url`].
    #[must_use]
    pub fn with_database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Adds one path to [`LoadOptions::extra_public_paths`].
    #[must_use]
    pub fn with_extra_public_path(mut self, path: impl Into<String>) -> Self {
        self.extra_public_paths.push(path.into());
        self
    }
}

/// The keys of `yaml`'s model that the config does not know (typos, keys of a newer version),
/// each with its full path (`backend.config.basicAuth.jwtSecrte`). The loader logs each as a
/// warning; `auth-admin doctor`-like tools can list them.
pub fn unknown_keys(yaml: &str) -> Result<Vec<String>, ConfigErrors> {
    Ok(parse(yaml)?.unknown)
}

/// Reads the file (`None`: no file, all defaults).
pub(super) fn read_file(path: Option<&Path>) -> Result<String, ConfigErrors> {
    match path {
        None => Ok(String::new()),
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| one_error("AUTH_CONFIG", format!("cannot read config file {}: {e}", p.display()))),
    }
}

/// Parses, layers the environment, converts and validates.
pub(super) fn from_yaml(
    yaml: &str,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Result<AuthConfig, ConfigErrors> {
    let parsed = parse(yaml)?;
    for key in &parsed.unknown {
        tracing::warn!(key = %key, "unknown configuration key ignored");
    }
    // File < backend.extraEnvVariables < process environment.
    let lookup = |name: &str| env(name).or_else(|| parsed.extra_env.get(name).cloned());
    let env = read_env(&lookup);
    validate::build(parsed.raw, parsed.errors, &env, options, parsed.prefix)
}

/// The environment variables of the model, read once.
fn read_env(env: &dyn Fn(&str) -> Option<String>) -> RawEnv {
    RawEnv {
        public_url: env("AUTH_PUBLIC_URL"),
        database_url: env("AUTH_DATABASE_URL"),
        jwt_secret: env("AUTH_JWT_SECRET").filter(|v| !v.is_empty()).map(Secret::new),
        byoc_jwt_secret: env("BYOC_JWT_SECRET").filter(|v| !v.is_empty()).map(Secret::new),
        oidc_client_id: env("OIDC_CLIENT_ID"),
        oidc_client_secret: env("OIDC_CLIENT_SECRET").map(Secret::new),
        oidc_discovery_url: env("OIDC_DISCOVERY_URL"),
        oidc_verify_ssl: env("OIDC_VERIFY_SSL"),
    }
}

/// A file, parsed.
struct Parsed {
    /// The model as written (sections with a type error are left out; see `errors`).
    raw: RawConfig,
    /// Type errors, with full paths.
    errors: Vec<ConfigError>,
    /// Full paths of keys the model does not know.
    unknown: Vec<String>,
    /// `backend.config.` for a Helm values file, else empty.
    prefix: &'static str,
    /// `backend.extraEnvVariables`.
    extra_env: BTreeMap<String, String>,
}

fn parse(yaml: &str) -> Result<Parsed, ConfigErrors> {
    let doc: Value = if yaml.trim().is_empty() {
        Value::Null
    } else {
        serde_norway::from_str(yaml).map_err(|e| one_error("(file)", format!("not valid YAML: {e}")))?
    };
    let (model, prefix, extra_env) = split_values_file(doc)?;
    let (raw, errors, unknown) = deserialize_raw(model, prefix);
    Ok(Parsed { raw, errors, unknown, prefix, extra_env })
}

/// Deserializes the model, collecting unknown keys (via `serde_ignored`) and every section's
/// type error (via `serde_path_to_error`). A section with a type error is reported and left
/// out, and the rest is deserialized again, so that one error does not hide the others.
fn deserialize_raw(model: Value, prefix: &str) -> (RawConfig, Vec<ConfigError>, Vec<String>) {
    let mut errors = Vec::new();
    let Value::Object(mut map) = model else {
        let at = prefix.trim_end_matches('.');
        errors.push(ConfigError {
            path: if at.is_empty() { "(file)".into() } else { at.into() },
            message: "expected a mapping".into(),
        });
        return (RawConfig::default(), errors, Vec::new());
    };
    loop {
        let mut unknown = Vec::new();
        let mut on_ignored = |path: serde_ignored::Path<'_>| unknown.push(format!("{prefix}{}", dotted(&path)));
        let de = serde_ignored::Deserializer::new(Value::Object(map.clone()), &mut on_ignored);
        match serde_path_to_error::deserialize::<_, RawConfig>(de) {
            Ok(raw) => return (raw, errors, unknown),
            Err(e) => {
                let section = e.path().iter().find_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    _ => None,
                });
                let path = e.path().to_string();
                errors.push(ConfigError { path: format!("{prefix}{path}"), message: e.into_inner().to_string() });
                // Leave the broken section out and try again; stop if it cannot be found.
                if section.and_then(|s| map.remove(&s)).is_none() {
                    return (RawConfig::default(), errors, Vec::new());
                }
            }
        }
    }
}

/// `basicAuth.jwtSecrte`, `oidc.providers[1].clientSecrte`.
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", dotted(parent)),
        Path::Map { parent, key } => match dotted(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

fn one_error(path: &str, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError { path: path.into(), message }])
}

/// Splits a Helm-style values file into (model, error-path prefix, extraEnvVariables). Other
/// keys of the values file belong to the chart and are not looked at.
fn split_values_file(doc: Value) -> Result<(Value, &'static str, BTreeMap<String, String>), ConfigErrors> {
    let mut doc = match doc {
        Value::Null => return Ok((Value::Object(Default::default()), "", BTreeMap::new())),
        Value::Object(map) => map,
        _ => return Err(one_error("(file)", "expected a mapping at the top level".into())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JwtSecretSource;

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
    fn seed_values_file_loads_unchanged() {
        let c = load(SEED, &[]).expect("seed loads");
        assert!(c.basic_auth.enabled);
        assert_eq!(c.oidc.len(), 1);
        assert!(!c.oidc[0].verify_ssl, "extraEnvVariables applied like env");
        assert_eq!(c.oidc[0].issuer, "https://login.microsoftonline.com/%3Ctenant%3E/v2.0");
        assert!(matches!(c.jwt_secret, JwtSecretSource::Configured(_)));
        assert_eq!(unknown_keys(SEED), Ok(vec![]), "the seed has no unknown key");
    }

    #[test]
    fn environment_wins_over_file_and_extra_env() {
        let c = load(SEED, &[("OIDC_VERIFY_SSL", "true"), ("OIDC_CLIENT_ID", "from-env")]).expect("loads");
        assert!(c.oidc[0].verify_ssl);
        assert_eq!(c.oidc[0].client_id, "from-env");
        let c = load("publicUrl: http://file.example\n", &[("AUTH_PUBLIC_URL", "https://env.example")]).expect("loads");
        assert_eq!(c.public_url.as_str(), "https://env.example/");
        assert!(c.public_url_configured);
    }

    #[test]
    fn unknown_keys_at_any_depth_are_reported_with_their_path() {
        let yaml = r#"
backend:
  image: chart-key-not-ours
  config:
    basicAuth:
      jwtSecrte: "typo"
      argon2: { memoryKiB: 19456 }
    oidc:
      clientSecrte: x
      providers:
        - id: a
          scope: [openid]
    colour: blue
"#;
        let mut keys = unknown_keys(yaml).expect("parses");
        keys.sort();
        let mut want = [
            "backend.config.basicAuth.jwtSecrte",
            "backend.config.basicAuth.argon2.memoryKiB",
            "backend.config.oidc.clientSecrte",
            "backend.config.oidc.providers[0].scope",
            "backend.config.colour",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(unknown_keys("session:\n  idleTimout: 1h\n"), Ok(vec!["session.idleTimout".to_string()]));
        // Unknown keys warn; they never fail the load.
        assert!(load("basicAuth:\n  jwtSecrte: x\n", &[]).is_ok());
    }

    #[test]
    fn type_errors_in_several_sections_are_all_reported() {
        let yaml = "session:\n  idleTimeout: ten minutes\nmaxBodyBytes: lots\nui:\n  enabled: maybe\nbasicAuth:\n  minPasswordLength: 4\n";
        let errs = load(yaml, &[]).expect_err("invalid").0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        for p in ["session.idleTimeout", "maxBodyBytes", "ui.enabled", "basicAuth.minPasswordLength"] {
            assert!(paths.contains(&p), "{p} missing: {errs:?}");
        }
    }

    #[test]
    fn enums_are_parsed_by_serde_and_name_the_allowed_values() {
        let errs = load("basicAuth:\n  signup: closed\nsession:\n  sameSite: none\n", &[]).expect_err("bad").0;
        assert_eq!(errs[0].path, "basicAuth.signup");
        assert!(errs[0].message.contains("closed") && errs[0].message.contains("invite-only"), "{errs:?}");
        assert!(errs[0].message.contains("open"), "{errs:?}");
        assert_eq!(errs[1].path, "session.sameSite");
        assert!(errs[1].message.contains("lax") && errs[1].message.contains("strict"), "{errs:?}");
        let c = load("session:\n  sameSite: Strict\n", &[]).expect("any case");
        assert_eq!(c.session.same_site, crate::config::SameSite::Strict);
        let smtp = "smtp:\n  host: 127.0.0.1\n  from: a@example.com\n  security: STARTTLS\n";
        assert_eq!(load(smtp, &[]).expect("loads").smtp.map(|s| s.port), Some(587));
        let errs = load("smtp:\n  host: h\n  from: a@example.com\n  security: ssl\n", &[]).expect_err("bad").0;
        assert_eq!(errs[0].path, "smtp.security");
        assert!(errs[0].message.contains("starttls") && errs[0].message.contains("tls"), "{errs:?}");
    }

    #[test]
    fn load_options_instead_of_patching() {
        let listen: Url = "http://127.0.0.1:4000".parse().expect("url");
        let opts = LoadOptions::default().with_default_public_url(listen.clone()).with_extra_public_path("/health");
        let c = AuthConfig::from_yaml_with("publicPaths: [/health, /docs/*]\n", |_| None, &opts).expect("loads");
        assert_eq!(c.public_url, listen);
        assert!(!c.public_url_configured);
        assert_eq!(c.public_paths, ["/health", "/docs/*"], "added once");
        let c = AuthConfig::from_yaml_with("publicUrl: https://auth.example.com\n", |_| None, &opts).expect("loads");
        assert_eq!(c.public_url.as_str(), "https://auth.example.com/", "the file wins over the default");

        let forced = LoadOptions::default()
            .with_public_url("http://127.0.0.1:5000".parse().expect("url"))
            .with_database_url("sqlite://elsewhere.db");
        let env = |k: &str| (k == "AUTH_DATABASE_URL").then(|| "sqlite://env.db".to_string());
        let c = AuthConfig::from_yaml_with("publicUrl: https://auth.example.com\n", env, &forced).expect("loads");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:5000/");
        assert!(c.public_url_configured);
        assert_eq!(c.database_url, "sqlite://elsewhere.db");

        // Options are checked like the file.
        let bad = LoadOptions::default().with_database_url("mysql://x").with_extra_public_path("health");
        let errs = AuthConfig::from_yaml_with("", |_| None, &bad).expect_err("refused").0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["database.url", "publicPaths[0]"], "{errs:?}");
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

    #[test]
    fn short_secret_from_env_is_reported_at_the_variable() {
        let errs = load("", &[("AUTH_JWT_SECRET", "short")]).expect_err("short").0;
        assert_eq!(errs[0].path, "AUTH_JWT_SECRET");
        assert!(!errs[0].message.contains("short"), "never quote a secret");
    }
}
