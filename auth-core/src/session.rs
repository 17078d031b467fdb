//! Session JWTs (HS256, explicit `typ`, key ring with `kid`), the session cookie, and the
//! per-instance cache that keeps the guard's hot path free of crypto and store access.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, SameSite};
use crate::secret::Secret;
use crate::store::{AuthMethod, Membership, Role, SessionId, SessionView, UserId};

/// The JOSE `typ` of a session token: no other JWT (an ID token, an invitation) passes as one.
pub const SESSION_TYP: &str = "session+jwt";
/// Clock skew accepted on `exp`/`iat`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of a session token. Every field is required and strictly typed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    /// Issuer: `publicUrl`.
    pub iss: String,
    /// Audience: `publicUrl`.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The server-side session id (what logout revokes).
    pub sid: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expiry, unix seconds: the idle timeout, capped by the session's absolute expiry.
    pub exp: i64,
    /// Not before, unix seconds: never set by this layer, honoured with the same leeway as
    /// `exp` when another holder of the secret sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Key {
    fn new(secret: &[u8]) -> Option<Self> {
        // The kid names the key without revealing it, identically on every instance.
        let digest = Sha256::digest([b"auth-core kid v1:".as_slice(), secret].concat());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..9]);
        Some(Self {
            kid,
            encoding: EncodingKey::from_secret(secret).ok()?,
            decoding: DecodingKey::from_secret(secret).ok()?,
        })
    }
}

/// Why a token was refused (logged at debug level; the client only sees `unauthenticated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not a JWT, wrong algorithm, wrong `typ`, unknown `kid`, bad signature or bad claims.
    Invalid,
    /// Past `exp`.
    Expired,
    /// Well-formed, but signed by a key this ring does not hold (perhaps one rotated in since
    /// the ring was read).
    UnknownKey,
}

/// Issues and verifies session tokens with a key ring: the first key signs, all verify.
pub struct TokenCodec {
    keys: Vec<Key>,
    validation: Validation,
    issuer: String,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec").field("kids", &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>()).finish()
    }
}

impl TokenCodec {
    /// A codec whose current key is `current`; `previous` keys still verify (rotation).
    ///
    /// `None` when a secret is unusable (empty); config validation refuses those earlier.
    pub fn new(issuer: &str, current: &Secret<Vec<u8>>, previous: &[Secret<Vec<u8>>]) -> Option<Self> {
        let mut keys = vec![Key::new(current.expose())?];
        for s in previous {
            keys.push(Key::new(s.expose())?);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        // exp is checked below against the caller's clock, with the same leeway.
        validation.validate_exp = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Some(Self { keys, validation, issuer: issuer.to_string() })
    }

    /// Signs claims for `sub`/`sid`.
    pub fn issue(&self, sub: &str, sid: &str, now: i64, exp: i64) -> String {
        let claims = SessionClaims {
            iss: self.issuer.clone(),
            aud: self.issuer.clone(),
            sub: sub.to_string(),
            sid: sid.to_string(),
            iat: now,
            exp,
            nbf: None,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(SESSION_TYP.into());
        header.kid = Some(self.keys[0].kid.clone());
        // HS256 with an in-memory key and plain claims cannot fail.
        jsonwebtoken::encode(&header, &claims, &self.keys[0].encoding).unwrap_or_default()
    }

    /// Verifies a token: HS256 only, `typ` pinned, `kid` from the local ring only (the header's
    /// `jku`/`jwk`/`x5u`/`x5c` are never used), required claims strictly typed, `iat` not in the
    /// future.
    pub fn verify(&self, token: &str, now: i64) -> Result<SessionClaims, TokenRejection> {
        if token.len() > 4096 || token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Err(TokenRejection::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Invalid)?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(SESSION_TYP) {
            return Err(TokenRejection::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(TokenRejection::Invalid)?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or(TokenRejection::UnknownKey)?;
        let data =
            jsonwebtoken::decode::<SessionClaims>(token, &key.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenRejection::Expired,
                    _ => TokenRejection::Invalid,
                }
            })?;
        let c = data.claims;
        if c.iat > now + LEEWAY_SECS
            || c.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS)
            || c.exp <= c.iat
            || c.sid.is_empty()
            || c.sub.is_empty()
        {
            return Err(TokenRejection::Invalid);
        }
        if c.exp + LEEWAY_SECS < now {
            return Err(TokenRejection::Expired);
        }
        Ok(c)
    }
}

/// Builds `Set-Cookie` values for the session cookie.
#[derive(Debug, Clone)]
pub struct CookieSpec {
    name: String,
    secure: bool,
    same_site: SameSite,
}

impl CookieSpec {
    /// From the config: `__Host-` prefix and `Secure` when `publicUrl` is https.
    pub fn new(config: &AuthConfig) -> Self {
        Self { name: config.cookie_name(), secure: config.is_https(), same_site: config.session.same_site }
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, value: &str, max_age: i64) -> String {
        let same_site = match self.same_site {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        };
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}", self.name)
    }

    /// A cookie holding `token` until `max_age` seconds from now.
    pub fn set(&self, token: &str, max_age: i64) -> String {
        self.build(token, max_age.max(0))
    }

    /// A cookie that deletes the session cookie.
    pub fn clear(&self) -> String {
        self.build("", 0)
    }
}

/// The signed-in user handed to handlers (cheap to clone: one `Arc`).
#[derive(Debug, Clone)]
pub struct CurrentUser(Arc<UserInfo>);

/// What handlers learn about the signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    /// User id.
    pub id: UserId,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// How this session signed in.
    pub auth_method: AuthMethod,
    /// The user's organizations and roles.
    #[serde(skip)]
    pub organizations: Vec<Membership>,
    /// The server-side session id.
    #[serde(skip)]
    pub session_id: SessionId,
}

impl CurrentUser {
    /// Wraps user info.
    pub fn new(info: UserInfo) -> Self {
        Self(Arc::new(info))
    }

    pub(crate) fn from_view(view: &SessionView) -> Self {
        Self::new(UserInfo {
            id: view.user.id.clone(),
            email: view.user.email.clone(),
            name: view.user.name.clone(),
            auth_method: view.session.auth_method,
            organizations: view.memberships.clone(),
            session_id: view.session.id.clone(),
        })
    }

    /// The user's role in organization `org_id`, if a member.
    pub fn role_in(&self, org_id: &str) -> Option<Role> {
        self.0.organizations.iter().find(|m| m.id == org_id).map(|m| m.role)
    }

    /// Whether the user has at least `role` in `org_id` (admins satisfy `member`).
    pub fn has_role(&self, org_id: &str, role: Role) -> bool {
        matches!((self.role_in(org_id), role), (Some(Role::Admin), _) | (Some(Role::Member), Role::Member))
    }
}

impl std::ops::Deref for CurrentUser {
    type Target = UserInfo;
    fn deref(&self) -> &UserInfo {
        &self.0
    }
}

/// A verified token, cached by its exact text.
#[derive(Debug)]
pub(crate) struct TokenEntry {
    pub(crate) sid: Arc<str>,
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    /// The renewed cookie, minted once for this token (sliding idle timeout): requests that
    /// still carry this token until the browser stores the new one do not sign again.
    pub(crate) renewal: std::sync::OnceLock<String>,
}

/// What this instance knows about a session.
#[derive(Debug)]
pub(crate) enum SessionState {
    /// Valid as of `checked_at`.
    Active { user: CurrentUser, checked_at: Instant, expires_at: i64 },
    /// Revoked (or gone): refuse without asking the store.
    Revoked,
}

/// Per-instance caches: token text → verified claims, session id → state. Bounded.
pub(crate) struct SessionCache {
    tokens: quick_cache::sync::Cache<Box<str>, Arc<TokenEntry>>,
    sessions: quick_cache::sync::Cache<Arc<str>, Arc<SessionState>>,
    revalidate_after: Duration,
    /// Bumped by every revocation and forget: a store read that started before a bump must not
    /// write its (possibly stale) answer over the revocation.
    epoch: std::sync::atomic::AtomicU64,
}

impl SessionCache {
    pub(crate) fn new(capacity: usize, revalidate_after: Duration) -> Self {
        Self {
            tokens: quick_cache::sync::Cache::new(capacity),
            sessions: quick_cache::sync::Cache::new(capacity),
            revalidate_after,
            epoch: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The revocation epoch, taken before reading a session from the store.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Caches a state read from the store unless a revocation or forget happened since `epoch`
    /// was taken; then what the cache holds now (a revocation) wins, and a state that may have
    /// raced one is not kept.
    pub(crate) fn set_session_read_at(&self, sid: Arc<str>, state: SessionState, epoch: u64) -> Arc<SessionState> {
        let state = Arc::new(state);
        if self.epoch() != epoch {
            return match self.sessions.get(&sid) {
                Some(now) if matches!(*now, SessionState::Revoked) => now,
                _ => state,
            };
        }
        self.sessions.insert(Arc::clone(&sid), Arc::clone(&state));
        if self.epoch() != epoch {
            // A revocation landed between the check and the insert: drop what we wrote, so
            // the next request asks the store, which already knows.
            self.sessions.remove(&sid);
        }
        state
    }

    /// The cached claims of exactly this token text (keyed by the whole token, so a tampered
    /// payload or header never matches a cached signature).
    pub(crate) fn token(&self, token: &str) -> Option<Arc<TokenEntry>> {
        self.tokens.get(token)
    }

    pub(crate) fn insert_token(&self, token: &str, claims: &SessionClaims) -> Arc<TokenEntry> {
        let entry = Arc::new(TokenEntry {
            sid: Arc::from(claims.sid.as_str()),
            sub: claims.sub.clone(),
            iat: claims.iat,
            exp: claims.exp,
            renewal: std::sync::OnceLock::new(),
        });
        self.tokens.insert(Box::from(token), Arc::clone(&entry));
        entry
    }

    pub(crate) fn session(&self, sid: &str) -> Option<Arc<SessionState>> {
        self.sessions.get(sid)
    }

    /// A state still trusted without the store (`revalidateAfter` not elapsed).
    pub(crate) fn fresh(&self, state: &SessionState) -> bool {
        match state {
            SessionState::Active { checked_at, .. } => checked_at.elapsed() < self.revalidate_after,
            SessionState::Revoked => true,
        }
    }

    pub(crate) fn set_session(&self, sid: Arc<str>, state: SessionState) -> Arc<SessionState> {
        let state = Arc::new(state);
        self.sessions.insert(sid, Arc::clone(&state));
        state
    }

    pub(crate) fn revoke(&self, sid: &str) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.sessions.insert(Arc::from(sid), Arc::new(SessionState::Revoked));
    }

    /// Forgets what is known of a session, so the next request asks the store.
    pub(crate) fn forget(&self, sid: &str) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.sessions.remove(sid);
    }

    /// Forgets every session (revocations may have been missed): each is read again from the
    /// store on its next request. Verified token signatures stay cached.
    pub(crate) fn forget_all(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.sessions.clear();
    }
}

/// A random URL-safe id of `bytes` random bytes.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> TokenCodec {
        TokenCodec::new("http://127.0.0.1:3000", &Secret::new(vec![7u8; 32]), &[]).expect("codec")
    }

    #[test]
    fn round_trip_and_rotation() {
        let old = codec();
        let t = old.issue("u1", "s1", 1000, 2000);
        assert_eq!(old.verify(&t, 1500).map(|c| c.sid), Ok("s1".into()));
        let rotated =
            TokenCodec::new("http://127.0.0.1:3000", &Secret::new(vec![9u8; 32]), &[Secret::new(vec![7u8; 32])])
                .expect("codec");
        assert!(rotated.verify(&t, 1500).is_ok(), "old key still verifies");
        let fresh = rotated.issue("u1", "s2", 1000, 2000);
        assert!(old.verify(&fresh, 1500).is_err(), "removed key no longer verifies");
        assert_eq!(old.verify(&t, 2100), Err(TokenRejection::Expired));
        assert_eq!(old.verify(&t, 500), Err(TokenRejection::Invalid), "iat in the future");
    }

    #[test]
    fn not_before_is_honoured_with_the_leeway() {
        let c = codec();
        let mut claims = c.verify(&c.issue("u1", "s1", 1000, 5000), 1000).expect("valid");
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(SESSION_TYP.into());
        header.kid = Some(c.keys[0].kid.clone());
        let mint = |claims: &SessionClaims| jsonwebtoken::encode(&header, claims, &c.keys[0].encoding).expect("sign");
        claims.nbf = Some(1000 + LEEWAY_SECS + 100);
        assert_eq!(c.verify(&mint(&claims), 1000), Err(TokenRejection::Invalid), "nbf in the future");
        assert!(c.verify(&mint(&claims), 1100 + LEEWAY_SECS).is_ok(), "valid once nbf has passed");
        claims.nbf = Some(1000 + LEEWAY_SECS);
        assert!(c.verify(&mint(&claims), 1000).is_ok(), "within the leeway");
    }

    #[test]
    fn a_revocation_is_never_overwritten_by_a_racing_read() {
        let cache = SessionCache::new(100, Duration::from_secs(60));
        let active = || SessionState::Active {
            user: CurrentUser::new(UserInfo {
                id: "u1".into(),
                email: "a@example.com".into(),
                name: "A".into(),
                auth_method: AuthMethod::Password,
                organizations: Vec::new(),
                session_id: "s1".into(),
            }),
            checked_at: Instant::now(),
            expires_at: i64::MAX,
        };
        // No race: the read is cached.
        let e = cache.epoch();
        cache.set_session_read_at(Arc::from("s1"), active(), e);
        assert!(matches!(*cache.session("s1").expect("cached"), SessionState::Active { .. }));
        // The store said "active", then logout revoked the session before the read was cached.
        let e = cache.epoch();
        cache.revoke("s1");
        let got = cache.set_session_read_at(Arc::from("s1"), active(), e);
        assert!(matches!(*got, SessionState::Revoked), "the request is refused");
        assert!(matches!(*cache.session("s1").expect("cached"), SessionState::Revoked), "and so are later ones");
    }

    #[test]
    fn cookie_attributes() {
        let mut cfg = AuthConfig::from_yaml("publicUrl: https://auth.example.com", |_| None).expect("cfg");
        let c = CookieSpec::new(&cfg).set("tok", 60);
        assert_eq!(c, "__Host-auth_session=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        cfg.public_url = url::Url::parse("http://127.0.0.1:3000").expect("url");
        assert!(!CookieSpec::new(&cfg).set("tok", 60).contains("Secure"));
    }
}
