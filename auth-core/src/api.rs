//! The JSON front end: one handler per `/api/v1/auth` route, each described for the OpenAPI
//! document by the `#[utoipa::path]` next to it, and the wire types they (de)serialize. The
//! route table that dispatches to them, the browser-facing OIDC redirects and the document
//! itself live one layer up, in `routes.rs`. Handlers call only the domain.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::SignupMode;
use crate::error::{AuthError, ErrorBody};
use crate::http::{AuthResponse, RequestView};
use crate::orgs::Delivery;
use crate::service::{AuthService, IssuedSession};
use crate::session::CurrentUser;
use crate::store::{AuthMethod, InvitationRecord, Member, Membership, Role, SessionId};
use crate::time::rfc3339;

/// What a handler answers.
pub(crate) type Answer = Result<AuthResponse, AuthError>;

// ---------------------------------------------------------------------------------------------
// Request bodies.

/// `POST /signup`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SignupBody {
    /// The account's email address (stored lower-case).
    #[schema(format = Email)]
    email: String,
    /// The new password (policy: `basicAuth.minPasswordLength`, breached list, strength).
    password: String,
    /// Display name; defaults to the email's local part.
    #[serde(default)]
    name: Option<String>,
    /// The first admin's organization name (first signup only).
    #[serde(default)]
    organization: Option<String>,
}

/// `POST /login`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    /// The account's email address.
    #[schema(format = Email)]
    email: String,
    /// Its password.
    password: String,
}

/// `PATCH /me`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PatchMeBody {
    /// A new display name; absent leaves it unchanged.
    #[serde(default)]
    name: Option<String>,
}

/// `PATCH /organizations/{org}/members/{user}`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RoleBody {
    /// The member's new role.
    role: Role,
}

/// `POST /organizations/{org}/invitations`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteBody {
    /// Whom to invite.
    #[schema(format = Email)]
    email: String,
    /// The role granted on acceptance.
    #[serde(default = "member")]
    #[schema(default = "member")]
    role: Role,
}

fn member() -> Role {
    Role::Member
}

/// `POST /invitations/{token}/accept`: `name` and `password` create the account; a signed-in
/// user with the invited email sends `{}` (or nothing) and just joins.
#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct AcceptBody {
    /// Display name of the new account.
    #[serde(default)]
    name: Option<String>,
    /// Password of the new account.
    #[serde(default)]
    password: Option<String>,
}

/// `POST /password/forgot`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ForgotBody {
    /// The account's email address.
    #[schema(format = Email)]
    email: String,
}

/// `POST /password/reset`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResetBody {
    /// The token of the reset link.
    token: String,
    /// The new password.
    new_password: String,
}

/// `POST /email/verify`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenBody {
    /// The token of the verification link.
    token: String,
}

/// `POST /me/password`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordBody {
    /// The password now in use.
    current_password: String,
    /// The new password.
    new_password: String,
}

/// `POST /backchannel-logout`, form-encoded (OpenID Back-Channel Logout 1.0).
#[derive(ToSchema)]
#[allow(dead_code)] // read as a form field by the OIDC relying party; here for the document
pub(crate) struct BackchannelForm {
    /// The IdP's logout token (a JWT).
    logout_token: String,
}

// ---------------------------------------------------------------------------------------------
// Response bodies.

/// A user as the API shows them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    /// User id (UUID).
    #[schema(format = "uuid")]
    id: String,
    /// Lower-case email.
    #[schema(format = Email)]
    email: String,
    /// Display name.
    name: String,
    /// How the current session signed in.
    auth_method: AuthMethod,
}

impl From<&CurrentUser> for UserBody {
    fn from(u: &CurrentUser) -> Self {
        Self { id: u.id.to_string(), email: u.email.clone(), name: u.name.clone(), auth_method: u.auth_method }
    }
}

/// The signed-in user of `GET /me`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeUserBody {
    /// User id (UUID).
    #[schema(format = "uuid")]
    id: String,
    /// Lower-case email.
    #[schema(format = Email)]
    email: String,
    /// Display name.
    name: String,
    /// How the current session signed in.
    auth_method: AuthMethod,
    /// Whether the address was verified (link, or the IdP's `email_verified`).
    email_verified: bool,
}

/// One of the user's organizations.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembershipBody {
    /// Organization id (UUID).
    #[schema(format = "uuid")]
    id: String,
    /// Organization name.
    name: String,
    /// The user's role there.
    role: Role,
}

impl From<&Membership> for MembershipBody {
    fn from(m: &Membership) -> Self {
        Self { id: m.id.to_string(), name: m.name.clone(), role: m.role }
    }
}

/// A new session: the user and their organizations (the cookie is in `Set-Cookie`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignedInBody {
    /// Who signed in.
    user: UserBody,
    /// Their organizations and roles.
    organizations: Vec<MembershipBody>,
}

/// `GET /me`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeBody {
    /// The signed-in user.
    user: MeUserBody,
    /// Their organizations and roles.
    organizations: Vec<MembershipBody>,
}

/// `PATCH /me`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserOnlyBody {
    /// The user after the change.
    user: UserBody,
}

/// `POST /logout`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutBody {
    /// The IdP's logout URL for an SSO session (open it to end the IdP session too), else null.
    #[schema(format = "uri")]
    redirect: Option<String>,
}

/// One of the caller's live sessions.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    /// Session id.
    id: String,
    /// Sign-in time, RFC 3339 UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// Last use seen by an instance (within `session.revalidateAfter`), RFC 3339 UTC.
    #[schema(format = DateTime)]
    last_seen_at: String,
    /// The client address at sign-in.
    ip: Option<String>,
    /// The `User-Agent` at sign-in.
    user_agent: Option<String>,
    /// Browser and OS as people read them (`Firefox on Linux`).
    device: String,
    /// Whether this is the session of the request.
    current: bool,
}

/// An empty JSON object: the request was accepted, the work happens after the answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptedBody {}

/// `POST /organizations/{org}/members/{user}/password-reset`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetLinkBody {
    /// A one-time link to `/reset-password?token=...`; hand it to the member.
    #[schema(format = "uri")]
    reset_url: String,
}

/// A member of an organization.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    /// User id (UUID).
    #[schema(format = "uuid")]
    user_id: String,
    /// Lower-case email.
    #[schema(format = Email)]
    email: String,
    /// Display name.
    name: String,
    /// Role in the organization.
    role: Role,
}

impl From<Member> for MemberBody {
    fn from(m: Member) -> Self {
        Self { user_id: m.user_id.to_string(), email: m.email, name: m.name, role: m.role }
    }
}

/// A pending invitation (its token is shown only once, at creation).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvitationBody {
    /// Invitation id (UUID).
    #[schema(format = "uuid")]
    id: String,
    /// The invited address.
    #[schema(format = Email)]
    email: String,
    /// The role granted on acceptance.
    role: Role,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
}

impl From<&InvitationRecord> for InvitationBody {
    fn from(inv: &InvitationRecord) -> Self {
        Self { id: inv.id.to_string(), email: inv.email.clone(), role: inv.role, expires_at: rfc3339(inv.expires_at) }
    }
}

/// A new invitation with the one copy of its link.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatedInvitationBody {
    /// Invitation id (UUID).
    #[schema(format = "uuid")]
    id: String,
    /// The invited address.
    #[schema(format = Email)]
    email: String,
    /// The role granted on acceptance.
    role: Role,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
    /// The link to hand to the invitee (shown only now).
    #[schema(format = "uri")]
    accept_url: String,
    /// Whether it was mailed.
    delivery: Delivery,
}

/// The organization an invitation is for.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvitingOrgBody {
    /// Organization name.
    name: String,
}

/// `GET /invitations/{token}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PendingInvitationBody {
    /// The inviting organization.
    organization: InvitingOrgBody,
    /// The invited address.
    #[schema(format = Email)]
    email: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// The signup state a login screen shows.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SignupState {
    /// No user yet: "Create Account" makes the first admin.
    Setup,
    /// Anyone in the allowed domain may sign up.
    Open,
    /// Accounts come from invitations.
    InviteOnly,
}

/// Password sign-in.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasicAuthInfo {
    /// Whether password accounts are on.
    enabled: bool,
    /// Who may sign up.
    signup: SignupState,
}

/// One OpenID Connect provider.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderInfo {
    /// Its id (`?provider=`).
    id: String,
    /// The button's name ("Sign in with ...").
    name: String,
    /// Where the button leads.
    #[schema(format = "uri-reference")]
    login_url: String,
}

/// OpenID Connect sign-in.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OidcInfo {
    /// Whether a provider is configured.
    enabled: bool,
    /// The first provider's name (`SSO` without one).
    name: String,
    /// The first provider's login URL (empty without one).
    #[schema(format = "uri-reference")]
    login_url: String,
    /// Every provider.
    providers: Vec<ProviderInfo>,
}

/// `GET /config`: what a login screen needs.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigBody {
    /// Password sign-in.
    basic_auth: BasicAuthInfo,
    /// OpenID Connect sign-in.
    oidc: OidcInfo,
    /// Whether no user exists yet.
    needs_setup: bool,
}

// ---------------------------------------------------------------------------------------------
// Helpers.

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

fn organizations(user: &CurrentUser) -> Vec<MembershipBody> {
    user.organizations.iter().map(MembershipBody::from).collect()
}

fn signed_in_response(status: u16, s: &IssuedSession) -> AuthResponse {
    let body = SignedInBody { user: UserBody::from(&s.user), organizations: organizations(&s.user) };
    let mut r = AuthResponse::json(status, &body).with_header("set-cookie", s.cookie.clone());
    if let Some(device) = &s.device_cookie {
        r = r.with_header("set-cookie", device.clone());
    }
    r
}

async fn signed_in(svc: &AuthService, req: &RequestView<'_>) -> Result<CurrentUser, AuthError> {
    Ok(svc.session_of(req).await?.ok_or(AuthError::Unauthenticated)?.0)
}

/// The `n`-th path parameter (the route table guarantees it is there).
fn param<'a>(p: &[&'a str], n: usize) -> &'a str {
    p.get(n).copied().unwrap_or_default()
}

/// Path parameter `n` as a typed id (`OrgId`, `UserId`, ...).
fn path_id<T: From<String>>(p: &[&str], n: usize) -> T {
    T::from(param(p, n).to_string())
}

// ---------------------------------------------------------------------------------------------
// Handlers: `(service, request, path parameters in order, body)`. Errors common to every
// route (413, 503, and 403 `csrf_rejected` on unsafe methods) are added to the document once,
// in `routes::openapi`.

#[utoipa::path(get, path = "/api/v1/auth/config", tag = "sign-in",
    summary = "What a login screen needs",
    responses((status = 200, description = "Sign-in options", body = ConfigBody)))]
pub(crate) async fn config(svc: &AuthService, _: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let cfg = svc.config();
    let needs_setup = svc.needs_setup().await?;
    let signup = if needs_setup {
        SignupState::Setup
    } else {
        match cfg.basic_auth.signup {
            SignupMode::Open => SignupState::Open,
            SignupMode::InviteOnly => SignupState::InviteOnly,
        }
    };
    let provider = cfg.oidc.first();
    let providers = cfg
        .oidc
        .iter()
        .enumerate()
        .map(|(i, p)| ProviderInfo {
            id: p.id.clone(),
            name: p.display_name.clone(),
            login_url: crate::http::oidc_login_path(i, &p.id),
        })
        .collect();
    let body = ConfigBody {
        basic_auth: BasicAuthInfo { enabled: cfg.basic_auth.enabled, signup },
        oidc: OidcInfo {
            enabled: provider.is_some(),
            name: provider.map_or("SSO", |p| p.display_name.as_str()).to_string(),
            login_url: provider.map_or(String::new(), |p| crate::http::oidc_login_path(0, &p.id)),
            providers,
        },
        needs_setup,
    };
    Ok(AuthResponse::json(200, &body))
}

#[utoipa::path(get, path = "/api/v1/auth/assets/auth.css", tag = "pages",
    summary = "The built-in pages' stylesheet",
    description = "Cached for good when asked for with the current version as the query (`?v=<hash>`, the URL \
        the pages link), else `no-cache`.",
    responses((status = 200, description = "The stylesheet", content_type = "text/css", body = String,
        headers(("cache-control" = String, description = "`public, max-age=31536000, immutable` for the current \
            version, else `no-cache`")))))]
pub(crate) async fn stylesheet(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let assets = &svc.inner.assets;
    let current = req.query.is_some_and(|q| !q.is_empty() && assets.css_url.ends_with(&format!("?{q}")));
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    Ok(AuthResponse {
        status: 200,
        headers: vec![
            ("content-type", "text/css; charset=utf-8".into()),
            ("cache-control", cache.into()),
            ("x-content-type-options", "nosniff".into()),
        ],
        body: assets.css.clone().into_bytes(),
    })
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts",
    summary = "Create an account",
    description = "With no users yet: creates the first admin and their organization (exactly once). Later only \
        with `basicAuth.signup: open`.",
    request_body = SignupBody,
    responses(
        (status = 201, description = "Created and signed in; the session cookie is set. With \
            `basicAuth.requireVerifiedEmail` no cookie is set: the verification link is mailed, and the user \
            signs in after following it", body = SignedInBody,
            headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "`invalid_request`: a field is missing or refused (email, password policy)", body = ErrorBody),
        (status = 403, description = "`signup_closed`, `email_domain_not_allowed` or `sso_required` (an \
            enforced SSO domain)", body = ErrorBody),
        (status = 404, description = "`not_found`: password accounts are disabled", body = ErrorBody),
        (status = 409, description = "`conflict`: an account with this email exists", body = ErrorBody),
    ))]
pub(crate) async fn signup(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let b: SignupBody = parse_json(body)?;
    let (session, user, orgs) =
        svc.signup(req, &b.email, &b.password, b.name.as_deref(), b.organization.as_deref()).await?;
    let organizations =
        orgs.iter().map(|o| MembershipBody { id: o.id.to_string(), name: o.name.clone(), role: Role::Admin }).collect();
    let user =
        UserBody { id: user.id.to_string(), email: user.email, name: user.name, auth_method: AuthMethod::Password };
    let response = AuthResponse::json(201, &SignedInBody { user, organizations });
    Ok(match session {
        Some(session) => response.with_header("set-cookie", session.cookie),
        // basicAuth.requireVerifiedEmail: the verification link is on its way.
        None => response,
    })
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts",
    summary = "Sign in with email and password",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; the session and device cookies are set", body = SignedInBody,
            headers(("set-cookie" = String, description = "The session cookie (and the device cookie)"))),
        (status = 400, description = "`invalid_request`: a field is missing", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`, the same for an unknown email and a wrong password", body = ErrorBody),
        (status = 403, description = "`email_domain_not_allowed`; `sso_required`: the email's domain belongs \
            to a provider with `enforce: true`; `forbidden`: the account is disabled; `email_not_verified`: \
            `basicAuth.requireVerifiedEmail` and the address is not verified yet (a fresh link is mailed)", body = ErrorBody),
        (status = 404, description = "`not_found`: password sign-in is disabled", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts", body = ErrorBody),
    ))]
pub(crate) async fn login(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let b: LoginBody = parse_json(body)?;
    Ok(signed_in_response(200, &svc.login(req, &b.email, &b.password).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "sessions",
    summary = "Sign out",
    description = "Revokes the session in the store and clears the cookie.",
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = LogoutBody,
            headers(("set-cookie" = String, description = "Clears the session cookie"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
pub(crate) async fn logout(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let redirect = svc.oidc_logout_url(&user).await;
    svc.logout(&user).await?;
    Ok(AuthResponse::json(200, &LogoutBody { redirect }).with_header("set-cookie", svc.clear_cookie()))
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "accounts",
    summary = "The signed-in user and their organizations",
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = MeBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
pub(crate) async fn me(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let email_verified = svc.email_verified(&user.id).await?;
    let me = MeUserBody {
        id: user.id.to_string(),
        email: user.email.clone(),
        name: user.name.clone(),
        auth_method: user.auth_method,
        email_verified,
    };
    Ok(AuthResponse::json(200, &MeBody { user: me, organizations: organizations(&user) }))
}

#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "accounts",
    summary = "Personal settings",
    request_body = PatchMeBody,
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The user after the change", body = UserOnlyBody),
        (status = 400, description = "`invalid_request`: the name is refused", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
pub(crate) async fn patch_me(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let b: PatchMeBody = parse_json(body)?;
    let user = match b.name {
        Some(name) => svc.rename(&user, &name).await?,
        None => user,
    };
    Ok(AuthResponse::json(200, &UserOnlyBody { user: UserBody::from(&user) }))
}

#[utoipa::path(get, path = "/api/v1/auth/me/sessions", tag = "sessions",
    summary = "The caller's live sessions",
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = Vec<SessionBody>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
pub(crate) async fn my_sessions(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let list: Vec<SessionBody> = svc
        .my_sessions(&user)
        .await?
        .into_iter()
        .map(|s| SessionBody {
            device: crate::accounts::describe_device(s.user_agent.as_deref()),
            current: s.id == user.session_id,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            id: s.id.to_string(),
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(AuthResponse::json(200, &list))
}

#[utoipa::path(delete, path = "/api/v1/auth/me/sessions/{id}", tag = "sessions",
    summary = "End one of the caller's sessions",
    params(("id" = String, Path, description = "A session id from `GET /me/sessions`")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Ended; ending the current session also clears the cookie",
            headers(("set-cookie" = String, description = "Clears the cookie when the current session ended"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such session of the caller's", body = ErrorBody),
    ))]
pub(crate) async fn end_session(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let id: SessionId = path_id(p, 0);
    svc.end_my_session(&user, &id).await?;
    let r = AuthResponse::empty(204);
    Ok(if id == user.session_id { r.with_header("set-cookie", svc.clear_cookie()) } else { r })
}

#[utoipa::path(post, path = "/api/v1/auth/me/sessions/revoke-others", tag = "sessions",
    summary = "Sign out everywhere else",
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Every other session of the caller ended"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
pub(crate) async fn revoke_others(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    svc.end_other_sessions(&user).await?;
    Ok(AuthResponse::empty(204))
}

#[utoipa::path(post, path = "/api/v1/auth/me/email/verification", tag = "recovery",
    summary = "Mail a verification link",
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 202, description = "Accepted (nothing is sent when the address is already verified)", body = AcceptedBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 409, description = "`conflict`: SMTP is not configured, or the account has no password", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many mails to this address", body = ErrorBody),
    ))]
pub(crate) async fn send_verification(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    svc.send_verification(&user).await?;
    Ok(AuthResponse::json(202, &AcceptedBody {}))
}

#[utoipa::path(post, path = "/api/v1/auth/email/verify", tag = "recovery",
    summary = "Use a verification link",
    request_body = TokenBody,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "`invalid_request`: the token is missing", body = ErrorBody),
        (status = 410, description = "`gone`: the link was used, has expired or was replaced", body = ErrorBody),
    ))]
pub(crate) async fn verify_email(svc: &AuthService, _: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let b: TokenBody = parse_json(body)?;
    svc.verify_email(&b.token).await?;
    Ok(AuthResponse::empty(204))
}

#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "recovery",
    summary = "Ask for a password-reset mail",
    description = "The same answer (and timing) for known and unknown addresses; the link is made and mailed \
        after the answer.",
    request_body = ForgotBody,
    responses(
        (status = 202, description = "Accepted", body = AcceptedBody),
        (status = 400, description = "`invalid_request`: the email is missing", body = ErrorBody),
        (status = 404, description = "`not_found`: password accounts are disabled", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past 5 requests per address or 30 per client and hour", body = ErrorBody),
    ))]
pub(crate) async fn forgot_password(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let b: ForgotBody = parse_json(body)?;
    svc.forgot_password(req, &b.email)?;
    Ok(AuthResponse::json(202, &AcceptedBody {}))
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "recovery",
    summary = "Set a new password through a reset link",
    description = "Every session of the user ends. A refused password does not use up the link.",
    request_body = ResetBody,
    responses(
        (status = 204, description = "The password is set"),
        (status = 400, description = "`invalid_request`: a field is missing or the password is refused", body = ErrorBody),
        (status = 410, description = "`gone`: the link was used, has expired or was replaced", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many attempts from this client", body = ErrorBody),
    ))]
pub(crate) async fn reset_password(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let b: ResetBody = parse_json(body)?;
    svc.reset_password(req, &b.token, &b.new_password).await?;
    Ok(AuthResponse::empty(204))
}

#[utoipa::path(post, path = "/api/v1/auth/me/password", tag = "accounts",
    summary = "Change the password",
    description = "Every other session of the user ends (the caller's old token too); the fresh cookie is the \
        new session. A wrong current password counts as a failed login.",
    request_body = PasswordBody,
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Changed",
            headers(("set-cookie" = String, description = "The new session cookie"))),
        (status = 400, description = "`invalid_request`: a field is missing, the new password is refused, or the \
            account signs in through SSO", body = ErrorBody),
        (status = 401, description = "`unauthenticated`, or `invalid_credentials` for a wrong current password", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts", body = ErrorBody),
    ))]
pub(crate) async fn change_password(svc: &AuthService, req: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let b: PasswordBody = parse_json(body)?;
    let s = svc.change_password(req, &user, &b.current_password, &b.new_password).await?;
    Ok(AuthResponse::empty(204).with_header("set-cookie", s.cookie))
}

#[utoipa::path(get, path = "/api/v1/auth/organizations/{org}/members", tag = "organizations",
    summary = "The organization's members",
    params(("org" = String, Path, description = "Organization id")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Members", body = Vec<MemberBody>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization of the caller's", body = ErrorBody),
    ))]
pub(crate) async fn members(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let list: Vec<MemberBody> = svc.members(&user, &path_id(p, 0)).await?.into_iter().map(MemberBody::from).collect();
    Ok(AuthResponse::json(200, &list))
}

#[utoipa::path(patch, path = "/api/v1/auth/organizations/{org}/members/{user}", tag = "organizations",
    summary = "Change a member's role (admins)",
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    request_body = RoleBody,
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The member after the change", body = MemberBody),
        (status = 400, description = "`invalid_request`: the role is missing or unknown", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin there", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization or member", body = ErrorBody),
        (status = 409, description = "`conflict`: the last admin cannot be demoted", body = ErrorBody),
    ))]
pub(crate) async fn change_role(svc: &AuthService, req: &RequestView<'_>, p: &[&str], body: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let b: RoleBody = parse_json(body)?;
    let member = svc.change_role(&user, &path_id(p, 0), &path_id(p, 1), b.role).await?;
    Ok(AuthResponse::json(200, &MemberBody::from(member)))
}

#[utoipa::path(delete, path = "/api/v1/auth/organizations/{org}/members/{user}", tag = "organizations",
    summary = "Remove a member (admins)",
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Removed; their sessions re-read the store at once on this instance"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin there", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization or member", body = ErrorBody),
        (status = 409, description = "`conflict`: the last admin cannot be removed", body = ErrorBody),
    ))]
pub(crate) async fn remove_member(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    svc.remove_member(&user, &path_id(p, 0), &path_id(p, 1)).await?;
    Ok(AuthResponse::empty(204))
}

#[utoipa::path(post, path = "/api/v1/auth/organizations/{org}/members/{user}/password-reset", tag = "organizations",
    summary = "Make a one-time reset link for a password member (admins)",
    description = "For deployments without mail.",
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The link", body = ResetLinkBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin there", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization or member", body = ErrorBody),
        (status = 409, description = "`conflict`: the member signs in through SSO", body = ErrorBody),
    ))]
pub(crate) async fn member_reset_link(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let reset_url = svc.admin_reset_link(&user, &path_id(p, 0), &path_id(p, 1)).await?;
    Ok(AuthResponse::json(201, &ResetLinkBody { reset_url }))
}

#[utoipa::path(post, path = "/api/v1/auth/organizations/{org}/invitations", tag = "organizations",
    summary = "Invite someone (admins)",
    description = "Re-inviting a pending email replaces its token. With `smtp` the link is also mailed.",
    params(("org" = String, Path, description = "Organization id")),
    request_body = InviteBody,
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The invitation and its link (shown only now)", body = CreatedInvitationBody),
        (status = 400, description = "`invalid_request`: the email is missing or not an address", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden` (not an admin there) or `email_domain_not_allowed`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization of the caller's", body = ErrorBody),
        (status = 409, description = "`conflict`: already a member", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past `invitations.maxPerHour`", body = ErrorBody),
    ))]
pub(crate) async fn invite(svc: &AuthService, req: &RequestView<'_>, p: &[&str], body: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let b: InviteBody = parse_json(body)?;
    let created = svc.invite(&user, &path_id(p, 0), &b.email, b.role).await?;
    let inv = InvitationBody::from(&created.record);
    let body = CreatedInvitationBody {
        id: inv.id,
        email: inv.email,
        role: inv.role,
        expires_at: inv.expires_at,
        accept_url: created.accept_url,
        delivery: created.delivery,
    };
    Ok(AuthResponse::json(201, &body))
}

#[utoipa::path(get, path = "/api/v1/auth/organizations/{org}/invitations", tag = "organizations",
    summary = "Pending invitations (admins)",
    params(("org" = String, Path, description = "Organization id")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Pending invitations", body = Vec<InvitationBody>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin there", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization of the caller's", body = ErrorBody),
    ))]
pub(crate) async fn invitations(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let list: Vec<InvitationBody> =
        svc.invitations(&user, &path_id(p, 0)).await?.iter().map(InvitationBody::from).collect();
    Ok(AuthResponse::json(200, &list))
}

#[utoipa::path(delete, path = "/api/v1/auth/organizations/{org}/invitations/{id}", tag = "organizations",
    summary = "Revoke an invitation (admins)",
    params(("org" = String, Path, description = "Organization id"), ("id" = String, Path, description = "Invitation id")),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an admin there", body = ErrorBody),
        (status = 404, description = "`not_found`: no such organization or pending invitation", body = ErrorBody),
    ))]
pub(crate) async fn revoke_invitation(svc: &AuthService, req: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    svc.revoke_invitation(&user, &path_id(p, 0), &path_id(p, 1)).await?;
    Ok(AuthResponse::empty(204))
}

#[utoipa::path(get, path = "/api/v1/auth/invitations/{token}", tag = "organizations",
    summary = "What an invitation link is for",
    params(("token" = String, Path, description = "The invitation token from `accept_url`")),
    responses(
        (status = 200, description = "The pending invitation", body = PendingInvitationBody,
            headers(("referrer-policy" = String, description = "`no-referrer`"))),
        (status = 404, description = "`not_found`: no such pending invitation (revoked, expired or used)", body = ErrorBody),
    ))]
pub(crate) async fn pending_invitation(svc: &AuthService, _: &RequestView<'_>, p: &[&str], _: &[u8]) -> Answer {
    let inv = svc.pending_invitation(param(p, 0)).await?;
    let body = PendingInvitationBody {
        organization: InvitingOrgBody { name: inv.org_name },
        email: inv.email,
        expires_at: rfc3339(inv.expires_at),
    };
    Ok(AuthResponse::json(200, &body).with_header("referrer-policy", "no-referrer".into()))
}

#[utoipa::path(post, path = "/api/v1/auth/invitations/{token}/accept", tag = "organizations",
    summary = "Accept an invitation",
    description = "`{name, password}` creates the account and joins; a signed-in user with the invited email \
        sends `{}` (or no body) and just joins. Single use.",
    params(("token" = String, Path, description = "The invitation token from `accept_url`")),
    request_body(content = Option<AcceptBody>, description = "Optional for a signed-in invitee"),
    security((), ("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "Joined and signed in", body = SignedInBody,
            headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "`invalid_request`: name or password missing or refused", body = ErrorBody),
        (status = 403, description = "`forbidden` (signed in as someone else; an SSO invitee), \
            `email_domain_not_allowed` or `sso_required` (an enforced SSO domain)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such pending invitation", body = ErrorBody),
        (status = 409, description = "`conflict`: an account with this email exists: sign in first", body = ErrorBody),
    ))]
pub(crate) async fn accept_invitation(svc: &AuthService, req: &RequestView<'_>, p: &[&str], body: &[u8]) -> Answer {
    let b: AcceptBody =
        if body.iter().all(u8::is_ascii_whitespace) { AcceptBody::default() } else { parse_json(body)? };
    let s = svc.accept_invitation(req, param(p, 0), b.name.as_deref(), b.password.as_deref()).await?;
    Ok(signed_in_response(201, &s))
}

#[utoipa::path(post, path = "/api/v1/auth/backchannel-logout", tag = "sign-in",
    summary = "The IdP's back-channel logout",
    description = "OpenID Back-Channel Logout 1.0: the IdP posts a signed logout token; the matching sessions end. \
        Server to server: the token is its authentication (no CSRF check).",
    request_body(content = BackchannelForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The matching sessions ended"),
        (status = 400, description = "`invalid_request`: missing, malformed, unknown-issuer, invalid or replayed token", body = ErrorBody),
        (status = 404, description = "`not_found`: no OpenID Connect provider is configured", body = ErrorBody),
        (status = 502, description = "`idp_unavailable`: the IdP's keys could not be read", body = ErrorBody),
        (status = 503, description = "`idp_unavailable`: the IdP cannot be reached", body = ErrorBody),
    ))]
pub(crate) async fn backchannel_logout(svc: &AuthService, _: &RequestView<'_>, _: &[&str], body: &[u8]) -> Answer {
    svc.backchannel_logout(body).await
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

/// Paging of `GET /admin/users`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read through `query_number`; the struct describes the parameters.
pub(crate) struct UsersQuery {
    /// Only users whose email or name contains this (case-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// How many matching users to skip (by email). Defaults to 0.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// How many to return, 1 to 200. Defaults to 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A user as instance admins see them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminUserBody {
    /// User id.
    id: String,
    /// Lower-case email.
    #[schema(format = Email)]
    email: String,
    /// Display name.
    name: String,
    /// Account creation, RFC 3339 UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// Disabled by an admin: no sign-in, no session.
    disabled: bool,
    /// Whether the account has a password (else it signs in through SSO).
    has_password: bool,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminUsersBody {
    /// The users on this page, by email.
    users: Vec<AdminUserBody>,
    /// How many users match in all.
    total: u64,
    /// The `offset` of this page.
    offset: u32,
    /// The `limit` of this page.
    limit: u32,
}

/// Paging of `GET /admin/audit`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read through `query_number`; the struct describes the parameters.
pub(crate) struct AuditQuery {
    /// Only events older than this event id (the `next_before` of the previous page).
    #[param(minimum = 1, maximum = 9223372036854775807_i64)]
    before: Option<i64>,
    /// How many to return, 1 to 200. Defaults to 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A stored audit event.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditEventBody {
    /// Event id: larger is newer.
    id: i64,
    /// When, RFC 3339 UTC.
    #[schema(format = DateTime)]
    at: String,
    /// What happened (`login`, `user_disabled`, `invite`, ...).
    event: String,
    /// Where it came from: an HTTP request or the operator's command line.
    source: crate::store::AuditSource,
    /// Who did it, when a signed-in user did.
    actor_id: Option<String>,
    /// Whose account it concerns.
    user_id: Option<String>,
    /// Which organization it concerns.
    org_id: Option<String>,
    /// The event's other fields (counts, roles, providers); never a secret.
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

/// A page of audit events, newest first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditBody {
    /// The events.
    events: Vec<AuditEventBody>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    next_before: Option<i64>,
}

/// A query parameter as a number in `min..=max`, `default` when absent; 400 naming it otherwise.
fn query_number<T: std::str::FromStr + PartialOrd + Copy>(
    req: &RequestView<'_>,
    name: &str,
    min: T,
    max: T,
    default: Option<T>,
) -> Result<Option<T>, AuthError> {
    match req.query_param(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(AuthError::invalid(name, "not a number in the allowed range")),
        },
    }
}

#[utoipa::path(get, path = "/api/v1/auth/admin/users", tag = "admin",
    summary = "Users of the instance (instance admins)",
    description = "Instance admins are the admins of the instance's first organization.",
    params(UsersQuery),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of users, by email", body = AdminUsersBody),
        (status = 400, description = "`invalid_request`: a paging parameter is out of range", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an instance admin", body = ErrorBody),
    ))]
pub(crate) async fn admin_users(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let q = req.query_param("q");
    if q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(AuthError::invalid("q", "at most 200 characters"));
    }
    let offset = query_number(req, "offset", 0u32, i32::MAX.unsigned_abs(), Some(0))?.unwrap_or(0);
    let limit = query_number(req, "limit", 1u32, crate::admin::MAX_PAGE, Some(50))?.unwrap_or(50);
    let page = svc.admin_as(&user).await?.users(q.as_deref(), offset, limit).await?;
    let users = page
        .users
        .into_iter()
        .map(|u| AdminUserBody {
            id: u.id.to_string(),
            email: u.email,
            name: u.name,
            created_at: rfc3339(u.created_at),
            disabled: u.disabled,
            has_password: u.password_hash.is_some(),
        })
        .collect();
    Ok(AuthResponse::json(200, &AdminUsersBody { users, total: page.total, offset, limit }))
}

#[utoipa::path(get, path = "/api/v1/auth/admin/audit", tag = "admin",
    summary = "Stored audit events, newest first (instance admins)",
    description = "Kept for `audit.retention` (default 90 days).",
    params(AuditQuery),
    security(("session_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of events", body = AuditBody),
        (status = 400, description = "`invalid_request`: a paging parameter is out of range", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an instance admin", body = ErrorBody),
    ))]
pub(crate) async fn admin_audit(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    let user = signed_in(svc, req).await?;
    let before = query_number(req, "before", 1i64, i64::MAX, None)?;
    let limit = query_number(req, "limit", 1u32, crate::admin::MAX_PAGE, Some(50))?.unwrap_or(50);
    let records = svc.admin_as(&user).await?.audit_events(before, limit).await?;
    let full = u32::try_from(records.len()).unwrap_or(u32::MAX) == limit;
    let next_before = if full { records.last().map(|r| r.seq) } else { None };
    let events = records
        .into_iter()
        .map(|r| AuditEventBody {
            id: r.seq,
            at: rfc3339(r.event.at),
            event: r.event.event,
            source: r.event.source,
            actor_id: r.event.actor_id.map(|i| i.to_string()),
            user_id: r.event.user_id.map(|i| i.to_string()),
            org_id: r.event.org_id.map(|i| i.to_string()),
            detail: serde_json::from_str(&r.event.detail).unwrap_or_else(|_| serde_json::json!({})),
        })
        .collect();
    Ok(AuthResponse::json(200, &AuditBody { events, next_before }))
}
