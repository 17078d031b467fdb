//! The model as written: a serde mirror of the file's keys in which every value is optional.
//! Defaults are not applied here (they live in the `Default` impls in `config/mod.rs`), and
//! neither are rules (`validate.rs`). Keys this mirror does not know are reported by the
//! loader as warnings with their full path.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::duration::DurationValue;
use super::{SameSite, SignupMode, SmtpSecurity};
use crate::secret::Secret;

/// The bare model (`backend.config` in a Helm values file).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawConfig {
    pub(crate) public_url: Option<String>,
    pub(crate) database: Option<RawDatabase>,
    pub(crate) session: Option<RawSession>,
    pub(crate) basic_auth: Option<RawBasicAuth>,
    pub(crate) oidc: Option<RawOidc>,
    pub(crate) public_paths: Option<Vec<String>>,
    pub(crate) ui: Option<RawUi>,
    pub(crate) api: Option<RawApi>,
    pub(crate) metrics: Option<RawMetrics>,
    pub(crate) trusted_proxies: Option<Vec<String>>,
    pub(crate) login_throttle: Option<RawThrottle>,
    pub(crate) max_body_bytes: Option<usize>,
    pub(crate) invitations: Option<RawInvitations>,
    pub(crate) smtp: Option<RawSmtp>,
    pub(crate) audit: Option<RawAudit>,
}

/// `database.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawDatabase {
    pub(crate) url: Option<String>,
    pub(crate) max_connections: Option<u32>,
    pub(crate) acquire_timeout: Option<DurationValue>,
}

/// `session.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSession {
    pub(crate) cookie_name: Option<String>,
    pub(crate) idle_timeout: Option<DurationValue>,
    pub(crate) absolute_timeout: Option<DurationValue>,
    pub(crate) revalidate_after: Option<DurationValue>,
    #[serde(default, deserialize_with = "any_case")]
    pub(crate) same_site: Option<SameSite>,
    pub(crate) cache_capacity: Option<usize>,
}

/// `basicAuth.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawBasicAuth {
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) enabled: Option<bool>,
    pub(crate) valid_email_domain: Option<String>,
    pub(crate) jwt_secret: Option<Secret<String>>,
    pub(crate) existing_secret_name: Option<String>,
    pub(crate) jwt_secret_file: Option<PathBuf>,
    pub(crate) previous_jwt_secrets: Option<Vec<Secret<String>>>,
    pub(crate) signup: Option<SignupMode>,
    pub(crate) min_password_length: Option<usize>,
    pub(crate) min_password_score: Option<u8>,
    pub(crate) argon2: Option<RawArgon2>,
    pub(crate) max_concurrent_hashes: Option<usize>,
    pub(crate) password_reset: Option<RawPasswordReset>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) require_verified_email: Option<bool>,
}

/// `basicAuth.passwordReset.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawPasswordReset {
    pub(crate) expires_in: Option<DurationValue>,
}

/// `basicAuth.argon2.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawArgon2 {
    pub(crate) memory_kib: Option<u32>,
    pub(crate) iterations: Option<u32>,
    pub(crate) parallelism: Option<u32>,
}

/// One entry of `oidc.providers`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawOidcProvider {
    pub(crate) id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret<String>>,
    pub(crate) discovery_url: Option<String>,
    pub(crate) scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) verify_ssl: Option<bool>,
    pub(crate) ca_cert_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) assume_email_verified: Option<bool>,
    pub(crate) role_claim: Option<String>,
    pub(crate) admin_values: Option<Vec<String>>,
    pub(crate) member_values: Option<Vec<String>>,
    pub(crate) organization: Option<String>,
    pub(crate) domains: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) enforce: Option<bool>,
    pub(crate) profile: Option<String>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) trust_email_for_linking: Option<bool>,
    pub(crate) tenants: Option<Vec<String>>,
}

/// `oidc.*`: the seed's single provider, written inline, plus `providers`.
///
/// The single provider's keys are listed here rather than `#[serde(flatten)]`ed: a flattened
/// struct hides its unknown keys from `serde_ignored`, so a typo there would go unreported.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawOidc {
    pub(crate) display_name: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret<String>>,
    pub(crate) discovery_url: Option<String>,
    pub(crate) scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) verify_ssl: Option<bool>,
    pub(crate) ca_cert_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) assume_email_verified: Option<bool>,
    pub(crate) role_claim: Option<String>,
    pub(crate) admin_values: Option<Vec<String>>,
    pub(crate) member_values: Option<Vec<String>>,
    pub(crate) organization: Option<String>,
    pub(crate) domains: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) enforce: Option<bool>,
    pub(crate) profile: Option<String>,
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) trust_email_for_linking: Option<bool>,
    pub(crate) tenants: Option<Vec<String>>,
    pub(crate) providers: Option<Vec<RawOidcProvider>>,
}

impl RawOidc {
    /// Splits into the inline provider (id `default`) and the list.
    pub(crate) fn split(self) -> (RawOidcProvider, Vec<RawOidcProvider>) {
        let single = RawOidcProvider {
            id: Some("default".into()),
            display_name: self.display_name,
            client_id: self.client_id,
            client_secret: self.client_secret,
            discovery_url: self.discovery_url,
            scopes: self.scopes,
            verify_ssl: self.verify_ssl,
            ca_cert_file: self.ca_cert_file,
            assume_email_verified: self.assume_email_verified,
            role_claim: self.role_claim,
            admin_values: self.admin_values,
            member_values: self.member_values,
            organization: self.organization,
            domains: self.domains,
            enforce: self.enforce,
            profile: self.profile,
            trust_email_for_linking: self.trust_email_for_linking,
            tenants: self.tenants,
        };
        (single, self.providers.unwrap_or_default())
    }
}

/// `loginThrottle.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawThrottle {
    pub(crate) max_failures_per_account: Option<u32>,
    pub(crate) max_failures_per_client: Option<u32>,
    pub(crate) lockout: Option<DurationValue>,
    pub(crate) max_lockout: Option<DurationValue>,
}

/// `audit.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawAudit {
    pub(crate) retention: Option<DurationValue>,
}

/// `invitations.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawInvitations {
    pub(crate) expires_in: Option<DurationValue>,
    pub(crate) max_per_hour: Option<u32>,
}

/// `smtp.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSmtp {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    #[serde(default, deserialize_with = "any_case")]
    pub(crate) security: Option<SmtpSecurity>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret<String>>,
    pub(crate) from: Option<String>,
    pub(crate) timeout: Option<DurationValue>,
}

/// `ui.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawUi {
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) enabled: Option<bool>,
    pub(crate) product_name: Option<String>,
    pub(crate) logo_url: Option<String>,
    pub(crate) accent_color: Option<String>,
}

/// `api.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawApi {
    #[serde(default, deserialize_with = "flex_bool")]
    pub(crate) openapi: Option<bool>,
}

/// `metrics.*`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawMetrics {
    pub(crate) path: Option<String>,
    pub(crate) listen: Option<String>,
}

/// The environment variables the model reads (`env` wins over the file). Read in `load.rs`.
#[derive(Debug, Default)]
pub(crate) struct RawEnv {
    /// `AUTH_PUBLIC_URL`.
    pub(crate) public_url: Option<String>,
    /// `AUTH_DATABASE_URL`.
    pub(crate) database_url: Option<String>,
    /// `AUTH_JWT_SECRET`.
    pub(crate) jwt_secret: Option<Secret<String>>,
    /// `BYOC_JWT_SECRET` (a Kubernetes Secret injected as a variable).
    pub(crate) byoc_jwt_secret: Option<Secret<String>>,
    /// `OIDC_CLIENT_ID`.
    pub(crate) oidc_client_id: Option<String>,
    /// `OIDC_CLIENT_SECRET`.
    pub(crate) oidc_client_secret: Option<Secret<String>>,
    /// `OIDC_DISCOVERY_URL`.
    pub(crate) oidc_discovery_url: Option<String>,
    /// `OIDC_VERIFY_SSL`, as written.
    pub(crate) oidc_verify_ssl: Option<String>,
}

/// `true`/`false`, or the strings `true|1|yes|on` / `false|0|no|off` (any case), which is what
/// Helm's `--set` and environment variables produce.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// An optional boolean written as a YAML boolean or one of [`parse_bool`]'s strings.
fn flex_bool<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (true/false)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_bool(v).map(Some).ok_or_else(|| E::custom(format!("{v:?} is not a boolean (true/false)")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// An optional serde-derived enum whose names may be written in any case (`Lax`, `STARTTLS`):
/// the string is lower-cased, then the enum's own `Deserialize` decides (and its error names
/// the allowed values).
fn any_case<'de, D: de::Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else { return Ok(None) };
    let lower: de::value::StringDeserializer<de::value::Error> = s.to_ascii_lowercase().into_deserializer();
    T::deserialize(lower).map(Some).map_err(de::Error::custom)
}
