//! Sign-in through OpenID Connect: the routes' logic on top of [`crate::oidc`].

use subtle::ConstantTimeEq;

use crate::accounts::clean_name;
use crate::email::Email;
use crate::error::AuthError;
use crate::http::safe_return_to;
use crate::http::{AuthResponse, RequestView};
use crate::oidc::{FLOW_TTL_SECS, Identity, state_hash};
use crate::service::{AuthService, IssuedSession};
use crate::session::CurrentUser;
use crate::store::{AuthMethod, NewUser, OidcSession, StoreError, UserRecord};
use crate::time::now;

fn oidc_off() -> AuthError {
    AuthError::NotFound("no OpenID Connect provider is configured".into())
}

impl AuthService {
    /// `GET /login/oidc`: 302 to the IdP with PKCE, state and nonce in the flow cookie.
    pub(crate) async fn oidc_login(&self, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
        let oidc = self.inner.oidc.as_ref().ok_or_else(oidc_off)?;
        let provider = oidc.provider(req.query_param("provider").as_deref())?;
        let return_to = safe_return_to(req.query_param("return_to").as_deref());
        let invitation = req.query_param("invitation").filter(|t| !t.is_empty() && t.len() <= 64);
        let (url, flow) = provider.start(return_to, invitation, now()).await?;
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
        let session = self.oidc_sign_in(req, identity, flow.i.as_deref()).await?;
        Ok(AuthResponse::redirect(302, &flow.r).with_header("set-cookie", session.cookie))
    }

    /// Finds or creates the user of a verified identity and starts a session.
    async fn oidc_sign_in(
        &self,
        req: &RequestView<'_>,
        id: Identity,
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
                tracing::info!(target: "auth::audit", event = "invitation_accepted", org_id = %inv.org_id, invitation_id = %inv.id, user_id = %user.id, method = "oidc");
            }
        }
        if let Some(token) = invitation
            && let Ok(inv) = self.pending_invitation(token).await
        {
            tracing::warn!(invitation_id = %inv.id, "invitation not accepted: it is for another email address");
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
        tracing::info!(target: "auth::audit", event = "login", user_id = %user.id, method = "oidc", provider = %id.provider);
        Ok(session)
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
            if !id.email_verified {
                return Err(AuthError::Forbidden(
                    "an account with this email exists, and the identity provider did not confirm the email is verified"
                        .into(),
                ));
            }
            if !store.email_verified(&existing.id).await? {
                tracing::warn!(target: "auth::audit", event = "link_refused_unverified", user_id = %existing.id, provider = %id.provider);
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
            tracing::info!(target: "auth::audit", event = "identity_linked", user_id = %existing.id, provider = %id.provider);
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
                tracing::info!(target: "auth::audit", event = "signup", user_id = %user.id, method = "oidc", first_admin = org.is_some());
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
        let (sid, sub, jti) = provider.verify_logout_token(&token).await?;
        let issuer = provider.issuer().unwrap_or_else(|| provider.cfg.issuer.clone());
        if !self.inner.store.consume_state(&state_hash(&format!("jti:{issuer}:"), &jti), now() + 86_400).await? {
            return Err(AuthError::invalid("logout_token", "already used"));
        }
        let ended = self.inner.store.revoke_idp_sessions(&issuer, sid.as_deref(), sub.as_deref()).await?;
        self.revoke_cached(&ended).await;
        tracing::info!(target: "auth::audit", event = "backchannel_logout", provider = %provider.cfg.id, sessions_ended = ended.len());
        Ok(AuthResponse::empty(200))
    }
}
