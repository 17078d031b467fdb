//! The JSON front end: the `/api/v1/auth` route table. It calls only the domain; the
//! browser-facing OIDC redirects are dispatched one layer up, in `routes.rs`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::config::SignupMode;
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::service::{AuthService, IssuedSession};
use crate::session::CurrentUser;
use crate::store::{InvitationId, InvitationRecord, OrgId, Role, SessionId, UserId};
use crate::time::rfc3339;

#[derive(Deserialize)]
struct SignupBody {
    email: String,
    password: String,
    name: Option<String>,
    organization: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct PatchMeBody {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RoleBody {
    role: Role,
}

#[derive(Deserialize)]
struct InviteBody {
    email: String,
    #[serde(default = "member")]
    role: Role,
}

fn member() -> Role {
    Role::Member
}

#[derive(Deserialize, Default)]
struct AcceptBody {
    name: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
struct ForgotBody {
    email: String,
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    new_password: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// Parses a JSON body; a failure names the offending field.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AuthError> {
    if body.is_empty() {
        return Err(AuthError::invalid("body", "a JSON object is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // "missing field `email` at line 1 column 2" -> field "email"
        let field = match (path.as_str(), message.split('`').nth(1)) {
            (".", Some(f)) if message.starts_with("missing field") => f.to_string(),
            (".", _) => "body".to_string(),
            (p, _) => p.to_string(),
        };
        let message = message.split(" at line ").next().unwrap_or("invalid").to_string();
        AuthError::invalid(field, message)
    })
}

pub(crate) fn user_json(user: &CurrentUser) -> serde_json::Value {
    json!({ "id": user.id, "email": user.email, "name": user.name, "auth_method": user.auth_method })
}

pub(crate) fn orgs_json(user: &CurrentUser) -> serde_json::Value {
    json!(user.organizations.iter().map(|m| json!({"id": m.id, "name": m.name, "role": m.role})).collect::<Vec<_>>())
}

fn signed_in(status: u16, s: &IssuedSession) -> AuthResponse {
    let mut r = AuthResponse::json(status, &json!({ "user": user_json(&s.user), "organizations": orgs_json(&s.user) }))
        .with_header("set-cookie", s.cookie.clone());
    if let Some(device) = &s.device_cookie {
        r = r.with_header("set-cookie", device.clone());
    }
    r
}

impl AuthService {
    pub(crate) async fn api(&self, req: &RequestView<'_>, rest: &str, body: &[u8]) -> Result<AuthResponse, AuthError> {
        // The back-channel logout is server to server: its token is its authentication.
        if req.is_unsafe_method() && rest != "/backchannel-logout" {
            self.check_csrf(req)?;
        }
        let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        match (req.method, segments.as_slice()) {
            ("GET" | "HEAD", ["config"]) => self.config_json().await,
            ("GET" | "HEAD", ["assets", "auth.css"]) => Ok(self.stylesheet(req)),
            ("POST", ["signup"]) => {
                let b: SignupBody = parse_json(body)?;
                let (session, orgs) =
                    self.signup(req, &b.email, &b.password, b.name.as_deref(), b.organization.as_deref()).await?;
                let orgs: Vec<_> = orgs.iter().map(|o| json!({"id": o.id, "name": o.name, "role": "admin"})).collect();
                Ok(AuthResponse::json(201, &json!({ "user": user_json(&session.user), "organizations": orgs }))
                    .with_header("set-cookie", session.cookie))
            }
            ("POST", ["login"]) => {
                let b: LoginBody = parse_json(body)?;
                Ok(signed_in(200, &self.login(req, &b.email, &b.password).await?))
            }
            ("POST", ["logout"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                let redirect = self.oidc_logout_url(&user).await;
                self.logout(&user).await?;
                Ok(AuthResponse::json(200, &json!({ "redirect": redirect }))
                    .with_header("set-cookie", self.clear_cookie()))
            }
            ("GET" | "HEAD", ["me"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                let mut u = user_json(&user);
                u["email_verified"] = json!(self.email_verified(&user.id).await?);
                Ok(AuthResponse::json(200, &json!({ "user": u, "organizations": orgs_json(&user) })))
            }
            ("PATCH", ["me"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                let b: PatchMeBody = parse_json(body)?;
                let user = match b.name {
                    Some(name) => self.rename(&user, &name).await?,
                    None => user,
                };
                Ok(AuthResponse::json(200, &json!({ "user": user_json(&user) })))
            }
            ("GET" | "HEAD", ["me", "sessions"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                let list: Vec<_> = self
                    .my_sessions(&user)
                    .await?
                    .into_iter()
                    .map(|s| {
                        json!({
                            "id": s.id,
                            "created_at": rfc3339(s.created_at),
                            "last_seen_at": rfc3339(s.last_seen_at),
                            "ip": s.ip,
                            "user_agent": s.user_agent,
                            "device": crate::accounts::describe_device(s.user_agent.as_deref()),
                            "current": s.id == user.session_id,
                        })
                    })
                    .collect();
                Ok(AuthResponse::json(200, &list))
            }
            ("DELETE", ["me", "sessions", id]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                self.end_my_session(&user, &SessionId::new(*id)).await?;
                let r = AuthResponse::empty(204);
                Ok(if user.session_id == *id { r.with_header("set-cookie", self.clear_cookie()) } else { r })
            }
            ("POST", ["me", "sessions", "revoke-others"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                self.end_other_sessions(&user).await?;
                Ok(AuthResponse::empty(204))
            }
            ("POST", ["me", "email", "verification"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                self.send_verification(&user).await?;
                Ok(AuthResponse::json(202, &json!({})))
            }
            ("POST", ["email", "verify"]) => {
                let b: TokenBody = parse_json(body)?;
                self.verify_email(&b.token).await?;
                Ok(AuthResponse::empty(204))
            }
            ("POST", ["password", "forgot"]) => {
                let b: ForgotBody = parse_json(body)?;
                self.forgot_password(req, &b.email)?;
                Ok(AuthResponse::json(202, &json!({})))
            }
            ("POST", ["password", "reset"]) => {
                let b: ResetBody = parse_json(body)?;
                self.reset_password(req, &b.token, &b.new_password).await?;
                Ok(AuthResponse::empty(204))
            }
            ("POST", ["organizations", org, "members", member, "password-reset"]) => {
                let user = self.signed_in(req).await?;
                let url = self.admin_reset_link(&user, &OrgId::new(*org), &UserId::new(*member)).await?;
                Ok(AuthResponse::json(201, &json!({ "reset_url": url })))
            }
            ("POST", ["me", "password"]) => {
                let (user, _) = self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?;
                let b: PasswordBody = parse_json(body)?;
                let s = self.change_password(req, &user, &b.current_password, &b.new_password).await?;
                Ok(AuthResponse::empty(204).with_header("set-cookie", s.cookie))
            }
            ("GET" | "HEAD", ["organizations", org, "members"]) => {
                let user = self.signed_in(req).await?;
                let members = self.members(&user, &OrgId::new(*org)).await?;
                Ok(AuthResponse::json(200, &members))
            }
            ("PATCH", ["organizations", org, "members", member]) => {
                let user = self.signed_in(req).await?;
                let b: RoleBody = parse_json(body)?;
                Ok(AuthResponse::json(
                    200,
                    &self.change_role(&user, &OrgId::new(*org), &UserId::new(*member), b.role).await?,
                ))
            }
            ("DELETE", ["organizations", org, "members", member]) => {
                let user = self.signed_in(req).await?;
                self.remove_member(&user, &OrgId::new(*org), &UserId::new(*member)).await?;
                Ok(AuthResponse::empty(204))
            }
            ("POST", ["organizations", org, "invitations"]) => {
                let user = self.signed_in(req).await?;
                let b: InviteBody = parse_json(body)?;
                let created = self.invite(&user, &OrgId::new(*org), &b.email, b.role).await?;
                let mut v = invitation_json(&created.record);
                v["accept_url"] = json!(created.accept_url);
                v["delivery"] = json!(created.delivery);
                Ok(AuthResponse::json(201, &v))
            }
            ("GET" | "HEAD", ["organizations", org, "invitations"]) => {
                let user = self.signed_in(req).await?;
                let list: Vec<_> =
                    self.invitations(&user, &OrgId::new(*org)).await?.iter().map(invitation_json).collect();
                Ok(AuthResponse::json(200, &list))
            }
            ("DELETE", ["organizations", org, "invitations", id]) => {
                let user = self.signed_in(req).await?;
                self.revoke_invitation(&user, &OrgId::new(*org), &InvitationId::new(*id)).await?;
                Ok(AuthResponse::empty(204))
            }
            ("GET" | "HEAD", ["invitations", token]) => {
                let inv = self.pending_invitation(token).await?;
                Ok(AuthResponse::json(
                    200,
                    &json!({"organization": {"name": inv.org_name}, "email": inv.email, "expires_at": rfc3339(inv.expires_at)}),
                )
                .with_header("referrer-policy", "no-referrer".into()))
            }
            ("POST", ["invitations", token, "accept"]) => {
                let b: AcceptBody =
                    if body.iter().all(u8::is_ascii_whitespace) { AcceptBody::default() } else { parse_json(body)? };
                let s = self.accept_invitation(req, token, b.name.as_deref(), b.password.as_deref()).await?;
                Ok(signed_in(201, &s))
            }
            ("POST", ["backchannel-logout"]) => self.backchannel_logout(body).await,
            (_, ["config" | "signup" | "login" | "logout" | "me"] | ["me", "password"]) => Ok(AuthResponse::json(
                405,
                &json!({"error": "method_not_allowed", "message": format!("{} is not allowed on this route", truncate(req.method, 16))}),
            )),
            _ => Err(AuthError::NotFound(format!("no such route: {}", truncate(req.path, 200)))),
        }
    }

    /// The pages' stylesheet; cached for good when asked for by its current version.
    fn stylesheet(&self, req: &RequestView<'_>) -> AuthResponse {
        let assets = &self.inner.assets;
        let current = req.query.is_some_and(|q| !q.is_empty() && assets.css_url.ends_with(&format!("?{q}")));
        let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
        AuthResponse {
            status: 200,
            headers: vec![
                ("content-type", "text/css; charset=utf-8".into()),
                ("cache-control", cache.into()),
                ("x-content-type-options", "nosniff".into()),
            ],
            body: assets.css.clone().into_bytes(),
        }
    }

    async fn signed_in(&self, req: &RequestView<'_>) -> Result<CurrentUser, AuthError> {
        Ok(self.session_of(req).await?.ok_or(AuthError::Unauthenticated)?.0)
    }

    async fn config_json(&self) -> Result<AuthResponse, AuthError> {
        let cfg = self.config();
        let needs_setup = self.needs_setup().await?;
        let signup = if needs_setup {
            "setup"
        } else {
            match cfg.basic_auth.signup {
                SignupMode::Open => "open",
                SignupMode::InviteOnly => "invite-only",
            }
        };
        let provider = cfg.oidc.first();
        let providers: Vec<_> = cfg
            .oidc
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "id": p.id, "name": p.display_name, "login_url": crate::http::oidc_login_path(i, &p.id) }))
            .collect();
        Ok(AuthResponse::json(
            200,
            &json!({
                "basic_auth": { "enabled": cfg.basic_auth.enabled, "signup": signup },
                "oidc": {
                    "enabled": provider.is_some(),
                    "name": provider.map_or("SSO", |p| p.display_name.as_str()),
                    "login_url": provider.map_or(String::new(), |p| crate::http::oidc_login_path(0, &p.id)),
                    "providers": providers,
                },
                "needs_setup": needs_setup,
            }),
        ))
    }
}

fn invitation_json(inv: &InvitationRecord) -> serde_json::Value {
    json!({"id": inv.id, "email": inv.email, "role": inv.role, "expires_at": rfc3339(inv.expires_at)})
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<LoginBody>(br#"{"email": 5, "password": "x"}"#).err().map(|e| e.message());
        assert_eq!(e.as_deref().map(|m| m.starts_with("email:")), Some(true));
        let e = parse_json::<LoginBody>(br#"{"password": "x"}"#).err().map(|e| e.message());
        assert_eq!(e.as_deref().map(|m| m.starts_with("email:")), Some(true));
    }
}
