//! Built-in HTML pages: server-rendered askama templates (`auth-core/templates/`), escaped by
//! default, one stylesheet served by the layer and a few lines of script allowed by their hash.
//! Forms post back to their page, which answers 303 on success (with a notice) and re-renders
//! with the error next to its field otherwise. An app with its own front end turns them off
//! (`ui.enabled: false`).

use askama::Template;
use serde_json::Value;

use crate::config::SignupMode;
use crate::error::AuthError;
use crate::http::safe_return_to;
use crate::http::{AuthResponse, RequestView};
use crate::service::AuthService;
use crate::session::CurrentUser;

mod console;
mod orgs;
mod recovery;
mod view;

use view::{
    Chrome, Field, Form, Link, LoginPage, LogoutPage, MessagePage, Nav, PersonalPage, Section, SignupPage, SsoButton,
};

/// The pages' paths (besides `/invitations/{token}`): one list, kept in the config layer, whose
/// validator keeps `metrics.path` off them.
const PAGES: &[&str] = crate::config::BUILT_IN_PAGES;

/// Whether `path` is a built-in page.
pub(crate) fn is_page(path: &str) -> bool {
    PAGES.contains(&path) || invitation_token(path).is_some()
}

fn invitation_token(path: &str) -> Option<&str> {
    path.strip_prefix("/invitations/").filter(|t| !t.is_empty() && !t.contains('/'))
}

/// Notices a redirect can ask for with `?notice=`: fixed texts, never reflected input.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "signed-out" => "You are signed out.",
        "name-saved" => "Your name was saved.",
        "password-changed" => "Your password was changed. Your other sessions were signed out.",
        "role-updated" => "Role updated.",
        "member-removed" => "Member removed.",
        "invitation-revoked" => "Invitation revoked.",
        "password-reset" => "Your password was reset. Sign in with the new one; every other session was signed out.",
        "email-verified" => "Your email address is verified.",
        "verification-sent" => "We sent you a link to verify your email address.",
        "session-ended" => "That session was signed out.",
        "others-signed-out" => "Every other session was signed out.",
        "user-disabled" => "The user was disabled: they cannot sign in, and their sessions ended.",
        "user-enabled" => "The user was enabled: they can sign in again.",
        "user-sessions-ended" => "The user's sessions ended: they are signed out everywhere.",
        "user-deleted" => "The user was deleted.",
        _ => return None,
    })
}

/// A URL with query parameters, percent-encoded.
pub(crate) fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    let q = q.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}{q}")
    }
}

/// `?return_to=` for links that lead back here, left out when it is `/`.
fn return_param(return_to: &str) -> Vec<(&'static str, &str)> {
    if return_to == "/" { vec![] } else { vec![("return_to", return_to)] }
}

impl AuthService {
    /// The chrome of a page; `user` adds the navigation.
    pub(crate) fn chrome(&self, req: &RequestView<'_>, title: impl Into<String>, user: Option<&CurrentUser>) -> Chrome {
        let ui = &self.config().ui;
        Chrome {
            product: ui.product_name.clone(),
            initial: ui.product_name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default(),
            logo: ui.logo_url.clone(),
            css_url: self.inner.assets.css_url.clone(),
            title: title.into(),
            nav: user.map(|u| Nav { has_organization: !u.organizations.is_empty(), instance_admin: false }),
            section: Section::None,
            wide: false,
            notice: req.query_param("notice").as_deref().and_then(notice_text).map(str::to_string),
            error: None,
        }
    }

    /// Shows "Admin" in the navigation when `user` is an instance admin.
    pub(crate) async fn mark_instance_admin(&self, c: &mut Chrome, user: &CurrentUser) -> Result<(), AuthError> {
        if let Some(nav) = c.nav.as_mut() {
            nav.instance_admin = self.is_instance_admin(&user.organizations).await?;
        }
        Ok(())
    }

    /// The "Sign in with …" buttons, each carrying `extra` query parameters.
    pub(crate) fn sso_buttons(&self, extra: &[(&str, &str)]) -> Vec<SsoButton> {
        self.config()
            .oidc
            .iter()
            .enumerate()
            .map(|(i, p)| SsoButton {
                name: p.display_name.clone(),
                href: with_query(&crate::http::oidc_login_path(i, &p.id), extra),
            })
            .collect()
    }

    /// Renders a template into an HTML response with the pages' headers.
    pub(crate) fn page(&self, status: u16, template: &impl Template) -> AuthResponse {
        let html = template.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "page template failed to render");
            String::from("<!doctype html><title>Error</title><p>This page could not be shown.</p>")
        });
        AuthResponse::html(status, html, &self.inner.assets.csp)
    }

    /// A page that explains an error, with a way back.
    pub(crate) fn error_page(&self, req: &RequestView<'_>, title: &str, e: &AuthError) -> AuthResponse {
        let mut c = self.chrome(req, title, None);
        c.error = Some(view::human(e));
        let page = MessagePage { c, text: None, link: Link { href: "/login".into(), text: "Back to sign-in".into() } };
        self.page(e.status(), &page)
    }
}

pub(crate) fn form_fields(body: &[u8]) -> Value {
    let map: serde_json::Map<String, Value> =
        url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
    Value::Object(map)
}

pub(crate) fn field<'a>(form: &'a Value, name: &str) -> &'a str {
    form.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Serves a page (GET renders, POST handles its form).
pub(crate) async fn handle(service: &AuthService, req: &RequestView<'_>, body: &[u8]) -> AuthResponse {
    if req.is_unsafe_method() {
        if req.method != "POST" || req.path == "/signup" && !service.config().basic_auth.enabled {
            let e = AuthError::Forbidden("this page does not accept that method".into());
            let mut r = service.error_page(req, "Not allowed", &e);
            r.status = 405;
            return r;
        }
        if let Err(e) = service.check_csrf(req) {
            return service.error_page(req, "Request refused", &e);
        }
    }
    let result = match (req.path, req.method) {
        ("/login", "POST") => login_post(service, req, &form_fields(body)).await,
        ("/login", _) => login_page(service, req, None, "").await,
        ("/logout", "POST") => logout_post(service, req).await,
        ("/logout", _) => logout_page(service, req).await,
        ("/signup", "POST") => signup_post(service, req, &form_fields(body)).await,
        ("/signup", _) => signup_page(service, req, None, &Value::Null).await,
        ("/settings/organization", "POST") => orgs::organization_post(service, req, &form_fields(body)).await,
        ("/settings/organization", _) => orgs::organization_page(service, req, None).await,
        (path, method) if invitation_token(path).is_some() => {
            let token = invitation_token(path).unwrap_or_default();
            if method == "POST" {
                orgs::invitation_post(service, req, token, &form_fields(body)).await
            } else {
                orgs::invitation_page(service, req, token, None, &Value::Null).await
            }
        }
        ("/forgot-password", "POST") => recovery::forgot_post(service, req, &form_fields(body)).await,
        ("/forgot-password", _) => recovery::forgot_page(service, req, None, &Value::Null, false).await,
        ("/reset-password", "POST") => recovery::reset_post(service, req, &form_fields(body)).await,
        ("/reset-password", _) => recovery::reset_page(service, req, None).await,
        ("/verify-email", "POST") => recovery::verify_post(service, req, &form_fields(body)).await,
        ("/verify-email", _) => recovery::verify_page(service, req, None).await,
        ("/settings/admin", "POST") => console::admin_post(service, req, &form_fields(body)).await,
        ("/settings/admin", _) => console::admin_page(service, req, None).await,
        ("/settings/personal", "POST") => personal_post(service, req, &form_fields(body)).await,
        ("/settings/personal", _) => personal_page(service, req, None, &Value::Null).await,
        _ => Err(AuthError::NotFound("no such page".into())),
    };
    result.unwrap_or_else(|e| service.error_page(req, "Something went wrong", &e))
}

async fn login_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    email: &str,
) -> Result<AuthResponse, AuthError> {
    let cfg = service.config();
    let return_to = safe_return_to(req.query_param("return_to").as_deref());
    let back = return_param(&return_to);
    let needs_setup = service.needs_setup().await?;
    let mut c = service.chrome(req, "Sign in", None);
    let form = cfg.basic_auth.enabled.then(|| {
        let fields = vec![
            Field::new("email", "email", "Email", "email").value(email).autocomplete("username"),
            Field::new("password", "password", "Password", "password").autocomplete("current-password"),
        ];
        let (form, summary) = Form::new(with_query("/login", &back), fields, error);
        c.error = summary;
        form
    });
    if form.is_none() {
        c.error = error.map(view::human);
    }
    let create_account = (cfg.basic_auth.enabled && (needs_setup || cfg.basic_auth.signup == SignupMode::Open))
        .then(|| with_query("/signup", &back));
    let by_domain = cfg.oidc.iter().any(|p| !p.domains.is_empty());
    let sso_email = by_domain.then(|| format!("{}/login/oidc", crate::http::API_PREFIX));
    let page = LoginPage { c, form, sso: service.sso_buttons(&back), sso_email, return_to, create_account };
    let mut r = service.page(error.map_or(200, AuthError::status), &page);
    if let Some(AuthError::RateLimited { retry_after }) = error {
        r.headers.push(("retry-after", retry_after.as_secs().max(1).to_string()));
    }
    Ok(r)
}

async fn login_post(service: &AuthService, req: &RequestView<'_>, form: &Value) -> Result<AuthResponse, AuthError> {
    let email = field(form, "email");
    match service.login(req, email, field(form, "password")).await {
        Ok(s) => {
            let to = safe_return_to(req.query_param("return_to").as_deref());
            let mut r = AuthResponse::redirect(303, &to).with_header("set-cookie", s.cookie);
            if let Some(device) = s.device_cookie {
                r = r.with_header("set-cookie", device);
            }
            Ok(r)
        }
        Err(e) => login_page(service, req, Some(&e), email).await,
    }
}

async fn logout_page(service: &AuthService, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
    let user = signed_in_user(service, req).await?;
    let page = LogoutPage {
        c: service.chrome(req, "Sign out", user.as_ref()),
        signed_in_as: user.as_ref().map(|u| u.email.clone()),
    };
    Ok(service.page(200, &page))
}

async fn logout_post(service: &AuthService, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
    let mut to = "/login?notice=signed-out".to_string();
    if let Some(user) = signed_in_user(service, req).await? {
        // SSO sessions continue to the IdP's logout (RP-initiated logout).
        if let Some(idp) = service.oidc_logout_url(&user).await {
            to = idp;
        }
        service.logout(&user).await?;
    }
    Ok(AuthResponse::redirect(303, &to).with_header("set-cookie", service.clear_cookie()))
}

async fn signup_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let cfg = service.config();
    let return_to = safe_return_to(req.query_param("return_to").as_deref());
    let back = return_param(&return_to);
    let sign_in = with_query("/login", &back);
    let needs_setup = service.needs_setup().await?;
    let mut c = service.chrome(req, "Create Account", None);
    if !needs_setup && cfg.basic_auth.signup != SignupMode::Open {
        c.error = Some(view::human(&AuthError::SignupClosed));
        return Ok(service.page(403, &SignupPage { c, intro: None, form: None, sign_in }));
    }
    let mut intro = if needs_setup {
        String::from("No account exists yet: this creates the first administrator and their organization.")
    } else {
        String::from("Create your account and your own organization.")
    };
    if let Some(d) = &cfg.basic_auth.valid_email_domain {
        intro.push_str(&format!(" Only addresses at {d} may sign up."));
    }
    let min = cfg.basic_auth.min_password_length;
    let fields = vec![
        Field::new("name", "name", "Your name", "text").value(field(form, "name")).autocomplete("name").optional(),
        Field::new("organization", "organization", "Organization", "text")
            .value(field(form, "organization"))
            .autocomplete("organization")
            .optional(),
        Field::new("email", "email", "Email", "email").value(field(form, "email")).autocomplete("email"),
        Field::new("password", "password", "Password", "password")
            .autocomplete("new-password")
            .minlength(min)
            .hint(format!("At least {min} characters. A long phrase is easy to remember and hard to guess.")),
    ];
    let (form, summary) = Form::new(with_query("/signup", &back), fields, error);
    c.error = summary;
    let page = SignupPage { c, intro: Some(intro), form: Some(form), sign_in };
    Ok(service.page(error.map_or(200, AuthError::status), &page))
}

async fn signup_post(service: &AuthService, req: &RequestView<'_>, form: &Value) -> Result<AuthResponse, AuthError> {
    let opt = |k: &str| Some(field(form, k)).filter(|v| !v.trim().is_empty());
    match service.signup(req, field(form, "email"), field(form, "password"), opt("name"), opt("organization")).await {
        Ok((Some(s), _, _)) => {
            let to = safe_return_to(req.query_param("return_to").as_deref());
            Ok(AuthResponse::redirect(303, &to).with_header("set-cookie", s.cookie))
        }
        Ok((None, user, _)) => {
            // basicAuth.requireVerifiedEmail: no session before the address is verified.
            let c = service.chrome(req, "Check your inbox", None);
            let text = format!("We sent a link to {} to confirm the address. Follow it, then sign in.", user.email);
            let page =
                MessagePage { c, text: Some(text), link: Link { href: "/login".into(), text: "Sign in".into() } };
            Ok(service.page(201, &page))
        }
        Err(e) => signup_page(service, req, Some(&e), form).await,
    }
}

pub(crate) async fn signed_in_user(
    service: &AuthService,
    req: &RequestView<'_>,
) -> Result<Option<CurrentUser>, AuthError> {
    Ok(service.session_of(req).await?.map(|(u, _)| u))
}

/// The redirect to the login page for a page that needs a session.
pub(crate) fn to_login(path: &str) -> AuthResponse {
    AuthResponse::redirect(303, &with_query("/login", &[("return_to", path)]))
}

async fn personal_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<(&str, &AuthError)>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login("/settings/personal"));
    };
    let mut c = service.chrome(req, "Personal settings", Some(&user));
    c.section = Section::Personal;
    service.mark_instance_admin(&mut c, &user).await?;
    let error_for = |action: &str| error.filter(|(a, _)| *a == action).map(|(_, e)| e);
    let name = if error_for("name").is_some() { field(form, "name") } else { user.name.as_str() };
    let (name_form, name_error) = Form::new(
        "/settings/personal",
        vec![Field::new("name", "name", "Name", "text").value(name).autocomplete("name")],
        error_for("name"),
    );
    let password_form = (user.auth_method == crate::store::AuthMethod::Password).then(|| {
        let min = service.config().basic_auth.min_password_length;
        let (form, summary) = Form::new(
            "/settings/personal",
            vec![
                Field::new("current_password", "current_password", "Current password", "password")
                    .autocomplete("current-password"),
                Field::new("new_password", "new_password", "New password", "password")
                    .autocomplete("new-password")
                    .minlength(min)
                    .hint(format!("At least {min} characters. Your other sessions will be signed out.")),
            ],
            error_for("password"),
        );
        c.error = summary;
        form
    });
    if name_error.is_some() {
        c.error = name_error;
    }
    if let Some(e) = error_for("verify") {
        c.error = Some(view::human(e));
    }
    if error.is_some() {
        c.notice = None;
    }
    let password_user = user.auth_method == crate::store::AuthMethod::Password;
    let verification = if password_user {
        Some(view::Verification { verified: service.email_verified(&user.id).await?, can_send: service.can_mail() })
    } else {
        None
    };
    let sessions = service
        .my_sessions(&user)
        .await?
        .into_iter()
        .map(|s| view::SessionRow {
            current: s.id == user.session_id,
            device: crate::accounts::describe_device(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_default(),
            last_seen: orgs::human_time(s.last_seen_at),
            id: s.id.to_string(),
        })
        .collect();
    let page = PersonalPage {
        c,
        email: user.email.clone(),
        sso: !password_user,
        verification,
        sessions,
        name_form,
        password_form,
    };
    Ok(service.page(error.map_or(200, |(_, e)| e.status()), &page))
}

async fn personal_post(service: &AuthService, req: &RequestView<'_>, form: &Value) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login("/settings/personal"));
    };
    match field(form, "action") {
        "name" => match service.rename(&user, field(form, "name")).await {
            Ok(_) => Ok(AuthResponse::redirect(303, "/settings/personal?notice=name-saved")),
            Err(e) => personal_page(service, req, Some(("name", &e)), form).await,
        },
        "password" => {
            match service
                .change_password(req, &user, field(form, "current_password"), field(form, "new_password"))
                .await
            {
                Ok(s) => Ok(AuthResponse::redirect(303, "/settings/personal?notice=password-changed")
                    .with_header("set-cookie", s.cookie)),
                Err(e) => personal_page(service, req, Some(("password", &e)), form).await,
            }
        }
        "end-session" => {
            match service.end_my_session(&user, &crate::store::SessionId::new(field(form, "session"))).await {
                Ok(()) => Ok(AuthResponse::redirect(303, "/settings/personal?notice=session-ended")),
                Err(e) => personal_page(service, req, Some(("verify", &e)), form).await,
            }
        }
        "end-others" => match service.end_other_sessions(&user).await {
            Ok(_) => Ok(AuthResponse::redirect(303, "/settings/personal?notice=others-signed-out")),
            Err(e) => personal_page(service, req, Some(("verify", &e)), form).await,
        },
        "verify" => match service.send_verification(&user).await {
            Ok(()) => Ok(AuthResponse::redirect(303, "/settings/personal?notice=verification-sent")),
            Err(e) => personal_page(service, req, Some(("verify", &e)), form).await,
        },
        _ => Err(AuthError::invalid("action", "must be name, password or verify")),
    }
}
