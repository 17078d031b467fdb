//! Sign-in through OpenID Connect: the routes' logic on top of [`crate::oidc`].

use subtle::ConstantTimeEq;

use crate::accounts::clean_name;
use crate::config::RoleMapping;
use crate::email::Email;
use crate::error::AuthError;
use crate::http::safe_return_to;
use crate::http::{AuthResponse, RequestView};
use crate::oidc::{FLOW_TTL_SECS, Identity, state_hash};
use crate::service::{AuthService, IssuedSession};
use crate::session::CurrentUser;
use crate::store::{AuthMethod, NewUser, OidcSession, Role, StoreError, StoreResult, UserRecord};
use crate::time::now;

fn oidc_off() -> AuthError {
    AuthError::NotFound("no OpenID Connect provider is configured".into())
}

impl AuthService {
    /// `GET /login/oidc`: 302 to the IdP with PKCE, state and nonce in the flow cookie.
    pub(crate) async fn oidc_login(&self, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
        let oidc = self.inner.oidc.as_ref().ok_or_else(oidc_off)?;
        // `login_hint`: an email address, handed to the IdP; without `provider`, its domain
        // picks the provider (`oidc.providers[].domains`).
        let hint = match req.query_param("login_hint").filter(|h| !h.trim().is_empty()) {
            None => None,
            Some(h) => Some(
                Email::parse(h.trim())
                    .map_err(|_| AuthError::invalid("login_hint", "enter your email address (name@example.com)"))?,
            ),
        };
        let provider = match (req.query_param("provider"), &hint) {
            (Some(id), _) => oidc.provider(Some(&id))?,
            (None, Some(email)) if oidc.providers.iter().any(|p| !p.cfg.domains.is_empty()) => {
                let id = self.config().provider_for_domain(email.domain()).map(|p| p.id.clone()).ok_or_else(|| {
                    AuthError::invalid(
                        "login_hint",
                        "no single sign-on is set up for this email domain; sign in with your password",
                    )
                })?;
                oidc.provider(Some(&id))?
            }
            (None, _) => oidc.provider(None)?,
        };
        let return_to = safe_return_to(req.query_param("return_to").as_deref());
        let invitation = req.query_param("invitation").filter(|t| !t.is_empty() && t.len() <= 64);
        let (url, flow) = provider.start(return_to, invitation, hint.as_ref().map(Email::as_str), now()).await?;
        Ok(AuthResponse::redirect(302, &url).with_header("set-cookie", oidc.flow_cookie(&flow)))
    }

    /// `GET /callback`: every check, then sign-in; the flow cookie is cleared whatever happens.
    pub(crate) async fn oidc_callback(&self, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
        let oidc = self.inner.oidc.as_ref().ok_or_else(oidc_off)?;
        if let Some(error) = req.query_param("error") {
            let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            return Err(if code == "access_denied" {
                AuthError::Forbidden("the identity provider denied the sign-in (access_denied)".into())
            } else {
                AuthError::invalid("error", format!("the identity provider answered {code:?}; try again"))
            });
        }
        let flow = oidc.open_flow(req.cookie(oidc.flow_cookie_name())).ok_or_else(|| {
            AuthError::invalid("state", "this sign-in attempt expired or was started in another browser; start again")
        })?;
        let state = req.query_param("state").ok_or_else(|| AuthError::invalid("state", "missing"))?;
        if !bool::from(state.as_bytes().ct_eq(flow.s.as_bytes())) {
            return Err(AuthError::invalid("state", "does not match this browser's sign-in attempt"));
        }
        let now = now();
        if now - flow.t > FLOW_TTL_SECS || flow.t > now + 60 {
            return Err(AuthError::invalid("state", "this sign-in attempt has expired; start again"));
        }
        let provider = oidc.provider(Some(&flow.p))?;
        provider.check_iss_param(req.query_param("iss").as_deref()).await?;
        if !self.inner.store.consume_state(&state_hash("state:", &state), now + FLOW_TTL_SECS).await? {
            return Err(AuthError::invalid("state", "this sign-in response was already used"));
        }
        let code =
            req.query_param("code").filter(|c| !c.is_empty()).ok_or_else(|| AuthError::invalid("code", "missing"))?;
        let identity = provider.finish(&code, &flow).await?;
        let session = self.oidc_sign_in(req, identity, provider.cfg.role_mapping.as_ref(), flow.i.as_deref()).await?;
        Ok(AuthResponse::redirect(302, &flow.r).with_header("set-cookie", session.cookie))
    }

    /// Finds or creates the user of a verified identity and starts a session.
    async fn oidc_sign_in(
        &self,
        req: &RequestView<'_>,
        id: Identity,
        mapping: Option<&RoleMapping>,
        invitation: Option<&str>,
    ) -> Result<IssuedSession, AuthError> {
        let store = &self.inner.store;
        // Only the IdP's own word joins invitations; `assumeEmailVerified` creates accounts but
        // never hands an address's invitations to whoever the IdP names.
        let verified_email = match (&id.email, id.email_verified) {
            (Some(e), true) => Email::parse(e).ok(),
            _ => None,
        };
        let user = match store.find_user_by_identity(&id.issuer, &id.subject).await? {
            Some(user) => user,
            None => self.first_oidc_login(&id).await?,
        };
        // The user joins the organizations that invited their (verified) email.
        if let Some(email) = verified_email.as_ref().filter(|e| e.as_str() == user.email) {
            let joined = store.accept_invitations_for(email.as_str(), &user.id).await?;
            for inv in &joined {
                self.audit("invitation_accepted")
                    .org(&inv.org_id)
                    .field("invitation_id", inv.id.to_string())
                    .user(&user.id)
                    .field("method", "oidc")
                    .record()
                    .await;
            }
        }
        if let Some(token) = invitation
            && let Ok(inv) = self.pending_invitation(token).await
        {
            tracing::warn!(invitation_id = %inv.id, "invitation not accepted: it is for another email address");
        }
        if let Some(mapping) = mapping {
            self.apply_role_mapping(&id, mapping, &user).await?;
        }
        let session = self.start_session(req, &user, AuthMethod::Oidc).await?;
        store
            .set_oidc_session(
                &session.user.session_id,
                &OidcSession {
                    provider: id.provider.clone(),
                    issuer: id.issuer.clone(),
                    subject: id.subject.clone(),
                    idp_sid: id.idp_sid.clone(),
                    id_token: id.id_token.clone(),
                },
            )
            .await?;
        self.audit("login")
            .user(&user.id)
            .field("method", "oidc")
            .field("provider", id.provider.to_string())
            .record()
            .await;
        Ok(session)
    }

    /// Makes the user's membership in the mapped organization what the provider's claim says
    /// (see [`RoleMapping`]); never leaves the organization without an admin.
    async fn apply_role_mapping(&self, id: &Identity, m: &RoleMapping, user: &UserRecord) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let found = store.find_organizations(m.organization.as_deref()).await?;
        let org = match m.organization.as_deref() {
            None => match found.first() {
                Some(org) => org,
                // No organization yet: nothing to map into.
                None => return Ok(()),
            },
            Some(key) => match (found.iter().find(|o| o.id == key), found.as_slice()) {
                (Some(org), _) | (None, [org]) => org,
                (None, []) => {
                    tracing::error!(provider = %id.provider, organization = key, "oidc role mapping: no such organization");
                    return Err(AuthError::Forbidden(format!(
                        "sign-in refused: the role mapping of this provider names the organization {key:?}, which \
                         does not exist; an administrator must fix oidc.providers[].organization"
                    )));
                }
                (None, _) => {
                    tracing::error!(provider = %id.provider, organization = key, "oidc role mapping: several organizations have this name");
                    return Err(AuthError::Forbidden(format!(
                        "sign-in refused: several organizations are named {key:?}; an administrator must name the \
                         organization by its id in oidc.providers[].organization"
                    )));
                }
            },
        };
        let has = |values: &[String]| id.role_values.iter().any(|v| values.contains(v));
        let want = if has(&m.admin_values) {
            Some(Role::Admin)
        } else if has(&m.member_values) {
            Some(Role::Member)
        } else {
            None
        };
        let have = store.member_role(&org.id, &user.id).await?;
        let (org_id, user_id) = (&org.id, &user.id);
        let changed = match (have, want) {
            (None, Some(role)) => store.add_member(org_id, user_id, role).await?,
            (Some(have), Some(role)) if have != role => {
                self.kept_last_admin(store.set_member_role(org_id, user_id, role).await, org_id, user_id).await?
            }
            (Some(_), None) => {
                self.kept_last_admin(store.remove_member(org_id, user_id).await, org_id, user_id).await?
            }
            _ => false,
        };
        if changed {
            let role = want.map_or("none", Role::as_str);
            self.audit("role_mapped")
                .org(org_id)
                .user(user_id)
                .field("role", role)
                .field("provider", id.provider.to_string())
                .record()
                .await;
            // The user's other sessions re-read their memberships on their next request, on
            // every instance.
            let live = store.live_session_ids(user_id).await?;
            self.forget_cached(&live).await;
        }
        Ok(())
    }

    /// First login of an identity: link a verified email to its account, or create one.
    async fn first_oidc_login(&self, id: &Identity) -> Result<UserRecord, AuthError> {
        let store = &self.inner.store;
        let raw = id
            .email
            .as_deref()
            .ok_or_else(|| AuthError::Forbidden("the identity provider did not share an email address".into()))?;
        let email = Email::parse(raw)
            .map_err(|_| AuthError::Forbidden("the identity provider's email address is not usable".into()))?;
        self.check_domain(&email)?;
        if !id.email_verified && !id.email_assumed_verified {
            return Err(AuthError::Forbidden("the identity provider has not verified this email address".into()));
        }
        if let Some(existing) = store.find_user_by_email(email.as_str()).await? {
            // Linking needs the IdP's own word that the email is verified, never an assumption,
            // and an account that proved it owns the address: otherwise whoever created the
            // account first (open signup, an invitation link) would keep a password on the
            // victim's account (pre-hijacking).
            if !id.trust_email_for_linking {
                self.audit("link_refused_untrusted")
                    .warning()
                    .user(&existing.id)
                    .field("provider", id.provider.to_string())
                    .record()
                    .await;
                return Err(AuthError::Forbidden(
                    "an account with this email exists, and this identity provider is not trusted to link accounts \
                     by email (oidc.providers[].trustEmailForLinking): sign in with the account's password"
                        .into(),
                ));
            }
            if !id.email_verified {
                return Err(AuthError::Forbidden(
                    "an account with this email exists, and the identity provider did not confirm the email is verified"
                        .into(),
                ));
            }
            if !store.email_verified(&existing.id).await? {
                self.audit("link_refused_unverified")
                    .warning()
                    .user(&existing.id)
                    .field("provider", id.provider.to_string())
                    .record()
                    .await;
                return Err(AuthError::Forbidden(
                    "an account with this email exists but has not verified its address: sign in with its password \
                     and verify the email first (Personal settings), then sign in with SSO"
                        .into(),
                ));
            }
            store.link_identity(&id.issuer, &id.subject, &existing.id).await?;
            // A new way into the account: every earlier session ends.
            let ended = store.revoke_user_sessions(&existing.id, None).await?;
            self.revoke_cached(&ended).await;
            self.audit("identity_linked").user(&existing.id).field("provider", id.provider.to_string()).record().await;
            return Ok(existing);
        }
        let local = email.as_str().split('@').next().unwrap_or("user");
        let name = clean_name("name", id.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(local))
            .or_else(|_| clean_name("name", local))?;
        let new = NewUser {
            id: crate::store::UserId::generate(),
            email: email.as_str().to_string(),
            name,
            password_hash: None,
        };
        match store.create_oidc_user(&new, &id.issuer, &id.subject, &format!("{}'s organization", new.name)).await {
            Ok((user, org)) => {
                // The IdP vouched for the address (an assumption does not count).
                if id.email_verified {
                    store.set_email_verified(&user.id, &user.email).await?;
                }
                self.audit("signup")
                    .user(&user.id)
                    .field("method", "oidc")
                    .field("first_admin", org.is_some())
                    .record()
                    .await;
                Ok(user)
            }
            // A concurrent first login of the same identity won: use its account.
            Err(StoreError::Conflict(_)) => store
                .find_user_by_identity(&id.issuer, &id.subject)
                .await?
                .ok_or_else(|| AuthError::Conflict("an account with this email already exists".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The IdP logout URL for an OIDC session (RP-initiated logout), if any.
    pub(crate) async fn oidc_logout_url(&self, user: &CurrentUser) -> Option<String> {
        let oidc = self.inner.oidc.as_ref()?;
        let session = self.inner.store.oidc_session(&user.session_id).await.ok()??;
        let provider = oidc.provider(Some(&session.provider)).ok()?;
        provider.logout_url(&session.id_token, &self.config().public_url_for("/login")).await
    }

    /// `POST /backchannel-logout`: validates the logout token and ends the matching sessions.
    pub(crate) async fn backchannel_logout(&self, body: &[u8]) -> Result<AuthResponse, AuthError> {
        // Run to the end even if the IdP stops waiting (its timeout may be shorter than a key
        // re-read): the sessions end either way.
        if tokio::runtime::Handle::try_current().is_ok() {
            let (service, body) = (self.clone(), body.to_vec());
            return tokio::spawn(async move { service.backchannel_logout_now(&body).await }).await.unwrap_or_else(
                |e| {
                    tracing::error!(error = %e, "back-channel logout task failed");
                    Err(AuthError::Unavailable)
                },
            );
        }
        self.backchannel_logout_now(body).await
    }

    async fn backchannel_logout_now(&self, body: &[u8]) -> Result<AuthResponse, AuthError> {
        let oidc = self.inner.oidc.as_ref().ok_or_else(oidc_off)?;
        let token = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "logout_token")
            .map(|(_, v)| v.into_owned())
            .filter(|t| t.len() < 16 * 1024)
            .ok_or_else(|| AuthError::invalid("logout_token", "missing"))?;
        let unverified_iss = token
            .split('.')
            .nth(1)
            .and_then(|p| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("iss").and_then(|i| i.as_str()).map(str::to_string))
            .ok_or_else(|| AuthError::invalid("logout_token", "not a JWT with an issuer"))?;
        let provider = oidc
            .providers
            .iter()
            .find(|p| p.cfg.issuer.trim_end_matches('/') == unverified_iss.trim_end_matches('/'))
            .cloned()
            .ok_or_else(|| AuthError::invalid("logout_token", "unknown issuer"))?;
        let logout = provider.verify_logout_token(&token).await?;
        let issuer = provider.issuer().unwrap_or_else(|| provider.cfg.issuer.clone());
        // The jti is remembered for as long as the token could be accepted (OIDC Back-Channel
        // Logout 1.0 §2.6 step 9), so a replay is refused for the token's whole lifetime.
        let used = state_hash(&format!("jti:{issuer}:"), &logout.jti);
        if !self.inner.store.consume_state(&used, logout.valid_until.saturating_add(1)).await? {
            return Err(AuthError::invalid("logout_token", "already used"));
        }
        let ended = self.inner.store.revoke_idp_sessions(&issuer, logout.sid.as_deref(), logout.sub.as_deref()).await?;
        self.revoke_cached(&ended).await;
        self.audit("backchannel_logout")
            .field("provider", provider.cfg.id.to_string())
            .field("sessions_ended", ended.len())
            .record()
            .await;
        Ok(AuthResponse::empty(200))
    }
}

impl AuthService {
    /// A role change the store refused because the organization would lose its last admin: the
    /// admin stays (logged), the sign-in goes on. `Ok(true)` when the change was made.
    async fn kept_last_admin(&self, result: StoreResult<()>, org_id: &str, user_id: &str) -> Result<bool, AuthError> {
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => {
                self.audit("role_mapping_kept_last_admin").warning().org(org_id).user(user_id).record().await;
                Ok(false)
            }
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
