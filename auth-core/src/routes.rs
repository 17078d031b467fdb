//! The top of the core: which part of the stack answers a request, the one route table of
//! `/api/v1/auth` ([`ROUTES`]) and its dispatch to the JSON front end ([`crate::api`]) or the
//! pages ([`crate::pages`]). The OIDC redirects live here because they answer browsers (HTML
//! errors) and API clients (JSON) alike; the OpenAPI document of the table is `routes::openapi`.

mod openapi;

use crate::api::{self, Answer};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::service::{API_PREFIX, AuthService, RouteKind};

/// What a route does: one variant per row of [`ROUTES`], one arm each in [`AuthService::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Config,
    Stylesheet,
    OpenApi,
    Signup,
    Login,
    Logout,
    Me,
    PatchMe,
    MySessions,
    EndSession,
    RevokeOthers,
    SendVerification,
    VerifyEmail,
    ForgotPassword,
    ResetPassword,
    ChangePassword,
    Members,
    ChangeRole,
    RemoveMember,
    MemberResetLink,
    Invite,
    Invitations,
    RevokeInvitation,
    PendingInvitation,
    AcceptInvitation,
    OidcLogin,
    Callback,
    BackchannelLogout,
    AdminUsers,
    AdminAudit,
}

/// One `/api/v1/auth` route: method, path below the prefix (`{name}` matches one segment).
struct Route {
    method: &'static str,
    path: &'static str,
    op: Op,
}

const fn route(method: &'static str, path: &'static str, op: Op) -> Route {
    Route { method, path, op }
}

/// Every `/api/v1/auth` route the layer answers, and nothing else: the router matches against
/// this table, and the OpenAPI document must list exactly these (tested both ways). `GET`
/// routes answer `HEAD` too.
const ROUTES: &[Route] = &[
    route("GET", "/config", Op::Config),
    route("GET", "/assets/auth.css", Op::Stylesheet),
    route("GET", "/openapi.json", Op::OpenApi),
    route("POST", "/signup", Op::Signup),
    route("POST", "/login", Op::Login),
    route("POST", "/logout", Op::Logout),
    route("GET", "/me", Op::Me),
    route("PATCH", "/me", Op::PatchMe),
    route("POST", "/me/password", Op::ChangePassword),
    route("GET", "/me/sessions", Op::MySessions),
    route("DELETE", "/me/sessions/{id}", Op::EndSession),
    route("POST", "/me/sessions/revoke-others", Op::RevokeOthers),
    route("POST", "/me/email/verification", Op::SendVerification),
    route("POST", "/email/verify", Op::VerifyEmail),
    route("POST", "/password/forgot", Op::ForgotPassword),
    route("POST", "/password/reset", Op::ResetPassword),
    route("GET", "/organizations/{org}/members", Op::Members),
    route("PATCH", "/organizations/{org}/members/{user}", Op::ChangeRole),
    route("DELETE", "/organizations/{org}/members/{user}", Op::RemoveMember),
    route("POST", "/organizations/{org}/members/{user}/password-reset", Op::MemberResetLink),
    route("POST", "/organizations/{org}/invitations", Op::Invite),
    route("GET", "/organizations/{org}/invitations", Op::Invitations),
    route("DELETE", "/organizations/{org}/invitations/{id}", Op::RevokeInvitation),
    route("GET", "/invitations/{token}", Op::PendingInvitation),
    route("POST", "/invitations/{token}/accept", Op::AcceptInvitation),
    route("GET", "/login/oidc", Op::OidcLogin),
    route("GET", "/callback", Op::Callback),
    route("POST", "/backchannel-logout", Op::BackchannelLogout),
    route("GET", "/admin/users", Op::AdminUsers),
    route("GET", "/admin/audit", Op::AdminAudit),
];

/// The `(method, full path template)` of every `/api/v1/auth` route the layer answers, in
/// table order (`GET` routes answer `HEAD` too). The OpenAPI document lists exactly these.
pub fn api_routes() -> impl Iterator<Item = (&'static str, String)> {
    ROUTES.iter().map(|r| (r.method, format!("{API_PREFIX}{}", r.path)))
}

/// How a request path and method fit the table.
enum Resolved<'a> {
    /// This route, with its path parameters in order.
    Found(Op, Vec<&'a str>),
    /// A known path asked with another method: these are allowed.
    WrongMethod(Vec<&'static str>),
    /// No such path.
    Unknown,
}

/// Matches `rest` (the path below the prefix) against `template`; the parameters in order.
fn matches<'a>(template: &str, rest: &'a str) -> Option<Vec<&'a str>> {
    let mut want = template.split('/');
    let mut got = rest.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') => {
                if g.is_empty() {
                    return None;
                }
                params.push(g);
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// How specific a template is, per segment: literal segments beat parameters, left to right,
/// as OpenAPI decides between `/me/sessions/revoke-others` and `/me/sessions/{id}`.
fn specificity(template: &str) -> Vec<bool> {
    template.split('/').map(|s| !s.starts_with('{')).collect()
}

fn resolve<'a>(method: &str, rest: &'a str) -> Resolved<'a> {
    let best = ROUTES
        .iter()
        .filter_map(|r| matches(r.path, rest).map(|p| (r, p)))
        .max_by(|(a, _), (b, _)| specificity(a.path).cmp(&specificity(b.path)));
    let Some((best, _)) = best else { return Resolved::Unknown };
    let mut allowed = Vec::new();
    for r in ROUTES.iter().filter(|r| r.path == best.path) {
        if r.method == method || (r.method == "GET" && method == "HEAD") {
            return Resolved::Found(r.op, matches(r.path, rest).unwrap_or_default());
        }
        allowed.push(r.method);
        if r.method == "GET" {
            allowed.push("HEAD");
        }
    }
    Resolved::WrongMethod(allowed)
}

impl AuthService {
    /// Which part of the stack answers `path`.
    pub fn classify(&self, path: &str) -> RouteKind {
        if self.metrics_on_app() == Some(path) {
            return RouteKind::Auth;
        }
        if path == API_PREFIX || path.starts_with("/api/v1/auth/") {
            return RouteKind::Auth;
        }
        if self.inner.config.ui.enabled && crate::pages::is_page(path) {
            return RouteKind::Auth;
        }
        let public = self.inner.config.public_paths.iter().any(|p| match p.strip_suffix("/*") {
            Some(prefix) => path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/')),
            None => p == path,
        });
        if public { RouteKind::Public } else { RouteKind::Guarded }
    }

    /// Answers an auth route or built-in page. `body` is the request body, already capped by the
    /// adapter at `maxBodyBytes`. Never panics; errors become JSON (or HTML for pages).
    ///
    /// Each call is one `auth.request` span with OpenTelemetry's HTTP server attribute names
    /// (`http.request.method`, `url.path`, `http.route`, `http.response.status_code`) and
    /// `auth.outcome`/`enduser.id` where a sign-in or a session decides them. Paths with a
    /// parameter (some are tokens) are recorded as their template; the query never is.
    pub async fn handle(&self, req: &RequestView<'_>, body: &[u8]) -> AuthResponse {
        use tracing::Instrument as _;
        let span = tracing::info_span!(
            "auth.request",
            otel.kind = "server",
            http.request.method = req.method,
            url.path = tracing::field::Empty,
            http.route = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            auth.outcome = tracing::field::Empty,
            enduser.id = tracing::field::Empty,
        );
        let response = self.answer(req, body).instrument(span.clone()).await;
        span.record("http.response.status_code", response.status);
        response
    }

    async fn answer(&self, req: &RequestView<'_>, body: &[u8]) -> AuthResponse {
        self.note_peer(req);
        if self.metrics_on_app() == Some(req.path) {
            record_route(req.path, req.path);
            return self.metrics_response(req);
        }
        if body.len() > self.config().max_body_bytes {
            return AuthResponse::error(&AuthError::PayloadTooLarge);
        }
        if let Some(rest) = req.path.strip_prefix(API_PREFIX) {
            return self.api_route(req, rest, body).await.unwrap_or_else(|e| AuthResponse::error(&e));
        }
        if req.path.starts_with("/invitations/") {
            record_route("/invitations/{token}", "/invitations/{token}");
        } else {
            record_route(req.path, req.path);
        }
        crate::pages::handle(self, req, body).await
    }

    /// `GET metrics.path` on the app's port: the Prometheus text, public (it holds no secret,
    /// no email, no id).
    fn metrics_response(&self, req: &RequestView<'_>) -> AuthResponse {
        if !matches!(req.method, "GET" | "HEAD") {
            let method: String = req.method.chars().take(16).collect();
            return AuthResponse::error(&AuthError::MethodNotAllowed(method)).with_header("allow", "GET, HEAD".into());
        }
        AuthResponse {
            status: 200,
            headers: vec![
                ("content-type", crate::telemetry::CONTENT_TYPE.into()),
                ("cache-control", "no-store".into()),
            ],
            body: self.render_metrics().unwrap_or_default().into_bytes(),
        }
    }

    /// One `/api/v1/auth` request: CSRF, the table, the handler.
    async fn api_route(&self, req: &RequestView<'_>, rest: &str, body: &[u8]) -> Answer {
        // The back-channel logout is server to server: its token is its authentication.
        if req.is_unsafe_method() && rest != "/backchannel-logout" {
            self.check_csrf(req)?;
        }
        let (op, p) = match resolve(req.method, rest) {
            Resolved::Found(op, p) => {
                if let Some(r) = ROUTES.iter().find(|r| r.op == op) {
                    let route = format!("{API_PREFIX}{}", r.path);
                    record_route(if p.is_empty() { req.path } else { &route }, &route);
                }
                (op, p)
            }
            Resolved::WrongMethod(allowed) => {
                let method: String = req.method.chars().take(16).collect();
                return Ok(
                    AuthResponse::error(&AuthError::MethodNotAllowed(method)).with_header("allow", allowed.join(", "))
                );
            }
            Resolved::Unknown => {
                let path: String = req.path.chars().take(200).collect();
                return Err(AuthError::NotFound(format!("no such route: {path}")));
            }
        };
        let p = p.as_slice();
        match op {
            Op::Config => api::config(self, req, p, body).await,
            Op::Stylesheet => api::stylesheet(self, req, p, body).await,
            Op::OpenApi => openapi_json(self, req, p, body).await,
            Op::Signup => api::signup(self, req, p, body).await,
            Op::Login => api::login(self, req, p, body).await,
            Op::Logout => api::logout(self, req, p, body).await,
            Op::Me => api::me(self, req, p, body).await,
            Op::PatchMe => api::patch_me(self, req, p, body).await,
            Op::MySessions => api::my_sessions(self, req, p, body).await,
            Op::EndSession => api::end_session(self, req, p, body).await,
            Op::RevokeOthers => api::revoke_others(self, req, p, body).await,
            Op::SendVerification => api::send_verification(self, req, p, body).await,
            Op::VerifyEmail => api::verify_email(self, req, p, body).await,
            Op::ForgotPassword => api::forgot_password(self, req, p, body).await,
            Op::ResetPassword => api::reset_password(self, req, p, body).await,
            Op::ChangePassword => api::change_password(self, req, p, body).await,
            Op::Members => api::members(self, req, p, body).await,
            Op::AdminUsers => api::admin_users(self, req, p, body).await,
            Op::AdminAudit => api::admin_audit(self, req, p, body).await,
            Op::ChangeRole => api::change_role(self, req, p, body).await,
            Op::RemoveMember => api::remove_member(self, req, p, body).await,
            Op::MemberResetLink => api::member_reset_link(self, req, p, body).await,
            Op::Invite => api::invite(self, req, p, body).await,
            Op::Invitations => api::invitations(self, req, p, body).await,
            Op::RevokeInvitation => api::revoke_invitation(self, req, p, body).await,
            Op::PendingInvitation => api::pending_invitation(self, req, p, body).await,
            Op::AcceptInvitation => api::accept_invitation(self, req, p, body).await,
            Op::OidcLogin => Ok(oidc_login(self, req, p, body).await),
            Op::Callback => Ok(callback(self, req, p, body).await),
            Op::BackchannelLogout => api::backchannel_logout(self, req, p, body).await,
        }
    }

    /// An OIDC failure (login or callback): an HTML page for browsers, JSON otherwise.
    fn callback_error(&self, req: &RequestView<'_>, e: &AuthError) -> AuthResponse {
        if req.headers.get("accept").is_some_and(|a| a.contains("text/html")) {
            self.error_page(req, "Sign-in failed", e)
        } else {
            AuthResponse::error(e)
        }
    }

    fn clear_flow_cookie(&self) -> String {
        self.inner.oidc.as_ref().map(crate::oidc::Oidc::clear_flow_cookie).unwrap_or_default()
    }

    /// The OpenAPI 3.1 document of the routes ([`crate::api_routes`]) as served at `/api/v1/auth/openapi.json`
    /// (whether or not `api.openapi` serves it), built once per service.
    pub fn openapi_json(&self) -> &[u8] {
        self.inner.openapi.get_or_init(|| openapi::document(self.config()))
    }
}

/// Records `url.path` and `http.route` on the current (`auth.request`) span.
fn record_route(path: &str, route: &str) {
    let span = tracing::Span::current();
    span.record("url.path", path);
    span.record("http.route", route);
}

#[utoipa::path(get, path = "/api/v1/auth/openapi.json", tag = "meta",
    summary = "This document",
    description = "The OpenAPI 3.1 description of every `/api/v1/auth` route; off with `api.openapi: false`.",
    responses(
        (status = 200, description = "The document", content_type = "application/json", body = Object),
        (status = 404, description = "`not_found`: `api.openapi` is off", body = crate::error::ErrorBody),
    ))]
async fn openapi_json(svc: &AuthService, _: &RequestView<'_>, _: &[&str], _: &[u8]) -> Answer {
    if !svc.config().api.openapi {
        return Err(AuthError::NotFound("the API description is turned off (api.openapi)".into()));
    }
    Ok(AuthResponse {
        status: 200,
        headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())],
        body: svc.openapi_json().to_vec(),
    })
}

#[utoipa::path(get, path = "/api/v1/auth/login/oidc", tag = "sign-in",
    summary = "Start an OpenID Connect sign-in",
    description = "Redirects to the IdP with PKCE (S256), `state` and `nonce`, kept in an encrypted flow cookie. \
        Errors are an HTML page for browsers (`Accept: text/html`), JSON otherwise.",
    params(
        ("provider" = Option<String>, Query, description = "A provider id from `GET /config`; default the first"),
        ("return_to" = Option<String>, Query, description = "A same-origin path to land on afterwards (else `/`)"),
        ("invitation" = Option<String>, Query, description = "An invitation token to accept on the way"),
        ("login_hint" = Option<String>, Query, description = "An email address: passed to the IdP, and without \
            `provider` its domain picks the provider (`oidc.providers[].domains`)"),
    ),
    responses(
        (status = 302, description = "To the IdP's authorization endpoint",
            headers(("location" = String, description = "The IdP's authorization URL"),
                ("set-cookie" = String, description = "The flow cookie"))),
        (status = 400, description = "`invalid_request`: `login_hint` is not an email address, or no provider \
            serves its domain", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 404, description = "`not_found`: no (such) OpenID Connect provider", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 503, description = "`idp_unavailable`: the IdP cannot be reached", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
    ))]
async fn oidc_login(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> AuthResponse {
    svc.oidc_login(req).await.unwrap_or_else(|e| svc.callback_error(req, &e))
}

#[utoipa::path(get, path = "/api/v1/auth/callback", tag = "sign-in",
    summary = "The IdP's redirect back",
    description = "Validates state, code and ID token, signs in or creates the user, and redirects to \
        `return_to`. The flow cookie is cleared whatever happens. Errors are an HTML page for browsers \
        (`Accept: text/html`), JSON otherwise.",
    params(
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The state sent to the IdP"),
        ("iss" = Option<String>, Query, description = "The IdP's issuer (RFC 9207), checked when present"),
        ("error" = Option<String>, Query, description = "An error from the IdP"),
        ("error_description" = Option<String>, Query, description = "The IdP's explanation"),
    ),
    responses(
        (status = 302, description = "Signed in: to `return_to`",
            headers(("location" = String, description = "`return_to`, default `/`"),
                ("set-cookie" = String, description = "The session cookie; the flow cookie cleared"))),
        (status = 400, description = "`invalid_request`: missing, forged, expired or replayed state; an `iss` that \
            does not match; an IdP error", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 401, description = "`unauthenticated`: the ID token or UserInfo was refused", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 403, description = "`forbidden` (the IdP denied the sign-in; not allowed to join) or \
            `email_domain_not_allowed`", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 404, description = "`not_found`: no (such) OpenID Connect provider", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 409, description = "`conflict`: the account cannot be linked", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 502, description = "`idp_unavailable`: the token request failed", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
        (status = 503, description = "`idp_unavailable`: the IdP cannot be reached", content(
            (crate::error::ErrorBody = "application/json"), (String = "text/html"))),
    ))]
async fn callback(svc: &AuthService, req: &RequestView<'_>, _: &[&str], _: &[u8]) -> AuthResponse {
    svc.oidc_callback(req)
        .await
        .unwrap_or_else(|e| svc.callback_error(req, &e))
        .with_header("set-cookie", svc.clear_flow_cookie())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_resolves_literal_before_parameter() {
        assert!(matches!(resolve("POST", "/me/sessions/revoke-others"), Resolved::Found(Op::RevokeOthers, _)));
        assert!(
            matches!(resolve("DELETE", "/me/sessions/abc"), Resolved::Found(Op::EndSession, ref p) if p == &["abc"])
        );
        let Resolved::WrongMethod(allowed) = resolve("DELETE", "/me/sessions/revoke-others") else {
            panic!("a known path with another method is 405")
        };
        assert_eq!(allowed, ["POST"]);
        let Resolved::WrongMethod(allowed) = resolve("PUT", "/me") else { panic!("405") };
        assert_eq!(allowed, ["GET", "HEAD", "PATCH"]);
        assert!(matches!(resolve("HEAD", "/config"), Resolved::Found(Op::Config, _)));
        for unknown in ["", "/", "/me/", "/organizations//members", "/nope", "/admin/nope"] {
            assert!(matches!(resolve("GET", unknown), Resolved::Unknown), "{unknown:?}");
        }
    }

    #[test]
    fn every_row_is_one_route() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {} twice", r.method, r.path);
            assert!(matches!(resolve(r.method, &r.path.replace(['{', '}'], "")), Resolved::Found(op, _) if op == r.op));
        }
    }
}
