//! Built-in HTML pages: server-rendered, no scripts, no external assets, plain HTML forms that
//! post back to the page. An app with its own front end turns them off (`ui.enabled: false`).
//!
//! Templates are small `format!` strings with every interpolation passed through [`escape`]: a
//! handful of pages does not justify a template engine's build cost.

use serde_json::Value;

use crate::config::SignupMode;
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::routes::safe_return_to;
use crate::service::AuthService;
use crate::session::CurrentUser;

mod orgs;

const PAGES: &[&str] = &["/login", "/logout", "/signup", "/settings/personal", "/settings/organization"];

/// Whether `path` is a built-in page.
pub(crate) fn is_page(path: &str) -> bool {
    PAGES.contains(&path) || invitation_token(path).is_some()
}

fn invitation_token(path: &str) -> Option<&str> {
    path.strip_prefix("/invitations/").filter(|t| !t.is_empty() && !t.contains('/'))
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1d2330}}
h1{{font-size:1.5rem}} label{{display:block;margin:.8rem 0 .2rem}}
input{{width:100%;padding:.5rem;box-sizing:border-box;border:1px solid #aab;border-radius:4px}}
button,.button{{display:inline-block;margin-top:1rem;padding:.55rem 1rem;border:0;border-radius:4px;background:#2d5bd3;color:#fff;text-decoration:none;font-size:1rem;cursor:pointer}}
.error{{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}} .ok{{background:#e6f6ea;color:#1c5d2c;padding:.6rem;border-radius:4px}}
.muted{{color:#667}} hr{{border:0;border-top:1px solid #dde;margin:1.5rem 0}}
</style></head><body>
{body}
</body></html>"#,
        title = escape(title),
    )
}

/// A page explaining an error, with a way back to the login page.
pub(crate) fn error_page(title: &str, e: &AuthError) -> AuthResponse {
    let html = format!(
        "<h1>{}</h1>{}<p><a href=\"/login\">Back to sign-in</a></p>",
        escape(title),
        message("error", Some(&e.message()))
    );
    AuthResponse::html(e.status(), layout(title, &html))
}

pub(crate) fn message(kind: &str, text: Option<&str>) -> String {
    text.map(|t| format!(r#"<p class="{kind}" role="alert">{}</p>"#, escape(t))).unwrap_or_default()
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
            return AuthResponse::html(405, layout("Not allowed", "<h1>Method not allowed</h1>"));
        }
        if let Err(e) = service.check_csrf(req) {
            return AuthResponse::html(e.status(), layout("Refused", &message("error", Some(&e.message()))));
        }
    }
    let result = match (req.path, req.method) {
        ("/login", "POST") => login_post(service, req, &form_fields(body)).await,
        ("/login", _) => login_page(service, req, None, "").await,
        ("/logout", "POST") => logout_post(service, req).await,
        ("/logout", _) => Ok(AuthResponse::html(
            200,
            layout(
                "Sign out",
                r#"<h1>Sign out</h1><form method="post" action="/logout"><button type="submit">Sign out</button></form>"#,
            ),
        )),
        ("/signup", "POST") => signup_post(service, &form_fields(body)).await,
        ("/signup", _) => signup_page(service, None, &Value::Null).await,
        ("/settings/organization", "POST") => orgs::organization_post(service, req, &form_fields(body)).await,
        ("/settings/organization", _) => orgs::organization_page(service, req, None, None).await,
        (path, method) if invitation_token(path).is_some() => {
            let token = invitation_token(path).unwrap_or_default();
            if method == "POST" {
                orgs::invitation_post(service, req, token, &form_fields(body)).await
            } else {
                orgs::invitation_page(service, req, token, None).await
            }
        }
        ("/settings/personal", "POST") => personal_post(service, req, &form_fields(body)).await,
        ("/settings/personal", _) => personal_page(service, req, None, None).await,
        _ => Err(AuthError::NotFound("no such page".into())),
    };
    result.unwrap_or_else(|e| AuthResponse::html(e.status(), layout("Error", &message("error", Some(&e.message())))))
}

async fn login_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    email: &str,
) -> Result<AuthResponse, AuthError> {
    let cfg = service.config();
    let return_to = safe_return_to(req.query_param("return_to").as_deref());
    let needs_setup = service.needs_setup().await?;
    let mut html = String::from("<h1>Sign in</h1>");
    html.push_str(&message("error", error.map(|e| e.message()).as_deref()));
    if cfg.basic_auth.enabled {
        html.push_str(&format!(
            r#"<form method="post" action="/login?return_to={rt}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>"#,
            rt = escape(&url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()),
            email = escape(email),
        ));
    }
    for (i, p) in cfg.oidc.iter().enumerate() {
        let sep = if i == 0 { "?" } else { "&" };
        let rt: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        html.push_str(&format!(
            r#"<p><a class="button" href="{url}{sep}return_to={rt}">Sign in with {name}</a></p>"#,
            url = escape(&crate::routes::oidc_login_url(i, &p.id)),
            rt = escape(&rt),
            name = escape(&p.display_name),
        ));
    }
    if cfg.basic_auth.enabled && (needs_setup || cfg.basic_auth.signup == SignupMode::Open) {
        html.push_str(
            r#"<hr><p class="muted">New here?</p><p><a class="button" href="/signup">Create Account</a></p>"#,
        );
    }
    let status = error.map_or(200, AuthError::status);
    Ok(AuthResponse::html(status, layout("Sign in", &html)))
}

async fn login_post(service: &AuthService, req: &RequestView<'_>, form: &Value) -> Result<AuthResponse, AuthError> {
    let email = field(form, "email");
    match service.login(req, email, field(form, "password")).await {
        Ok(s) => {
            let to = safe_return_to(req.query_param("return_to").as_deref());
            Ok(AuthResponse::redirect(303, &to).with_header("set-cookie", s.cookie))
        }
        Err(e) => {
            let mut page = login_page(service, req, Some(&e), email).await?;
            if let AuthError::RateLimited { retry_after } = &e {
                page.headers.push(("retry-after", retry_after.as_secs().max(1).to_string()));
            }
            Ok(page)
        }
    }
}

async fn logout_post(service: &AuthService, req: &RequestView<'_>) -> Result<AuthResponse, AuthError> {
    let mut to = "/login".to_string();
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
    error: Option<&AuthError>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let cfg = service.config();
    let needs_setup = service.needs_setup().await?;
    if !needs_setup && cfg.basic_auth.signup != SignupMode::Open {
        let html = format!(
            "<h1>Create Account</h1>{}<p><a href=\"/login\">Sign in</a></p>",
            message("error", Some(&AuthError::SignupClosed.message()))
        );
        return Ok(AuthResponse::html(403, layout("Create Account", &html)));
    }
    let intro = if needs_setup {
        "<p class=\"muted\">No account exists yet: this creates the first administrator and its organization.</p>"
    } else {
        ""
    };
    let domain = cfg
        .basic_auth
        .valid_email_domain
        .as_deref()
        .map(|d| format!("<p class=\"muted\">Only addresses at {} may sign up.</p>", escape(d)))
        .unwrap_or_default();
    let html = format!(
        r#"<h1>Create Account</h1>{intro}{domain}{err}
<form method="post" action="/signup">
<label for="name">Your name</label><input id="name" name="name" autocomplete="name" value="{name}">
<label for="organization">Organization</label><input id="organization" name="organization" value="{org}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Password (at least {min} characters)</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="{min}">
<button type="submit">Create Account</button></form>
<p class="muted"><a href="/login">Sign in instead</a></p>"#,
        err = message("error", error.map(|e| e.message()).as_deref()),
        name = escape(field(form, "name")),
        org = escape(field(form, "organization")),
        email = escape(field(form, "email")),
        min = cfg.basic_auth.min_password_length,
    );
    Ok(AuthResponse::html(error.map_or(200, AuthError::status), layout("Create Account", &html)))
}

async fn signup_post(service: &AuthService, form: &Value) -> Result<AuthResponse, AuthError> {
    let opt = |k: &str| Some(field(form, k)).filter(|v| !v.trim().is_empty());
    match service.signup(field(form, "email"), field(form, "password"), opt("name"), opt("organization")).await {
        Ok((s, _)) => Ok(AuthResponse::redirect(303, "/").with_header("set-cookie", s.cookie)),
        Err(e) => signup_page(service, Some(&e), form).await,
    }
}

pub(crate) async fn signed_in_user(
    service: &AuthService,
    req: &RequestView<'_>,
) -> Result<Option<CurrentUser>, AuthError> {
    Ok(service.session_of(req).await?.map(|(u, _)| u))
}

async fn personal_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    ok: Option<&str>,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(AuthResponse::redirect(303, "/login?return_to=%2Fsettings%2Fpersonal"));
    };
    let password_form = if user.auth_method == crate::store::AuthMethod::Password {
        r#"<hr><h2>Password</h2>
<form method="post" action="/settings/personal"><input type="hidden" name="action" value="password">
<label for="current_password">Current password</label><input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
<label for="new_password">New password</label><input id="new_password" name="new_password" type="password" autocomplete="new-password" required>
<button type="submit">Change password</button></form>"#
    } else {
        "<p class=\"muted\">You sign in through SSO; your password is managed by your identity provider.</p>"
    };
    let html = format!(
        r#"<h1>Personal settings</h1>{err}{ok}
<p class="muted">Signed in as {email}</p>
<form method="post" action="/settings/personal"><input type="hidden" name="action" value="name">
<label for="name">Name</label><input id="name" name="name" required value="{name}">
<button type="submit">Save</button></form>
{password_form}
<hr><p><a href="/">Back</a></p>"#,
        err = message("error", error.map(|e| e.message()).as_deref()),
        ok = message("ok", ok),
        email = escape(&user.email),
        name = escape(&user.name),
    );
    Ok(AuthResponse::html(error.map_or(200, AuthError::status), layout("Personal settings", &html)))
}

async fn personal_post(service: &AuthService, req: &RequestView<'_>, form: &Value) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(AuthResponse::redirect(303, "/login?return_to=%2Fsettings%2Fpersonal"));
    };
    match field(form, "action") {
        "name" => match service.rename(&user, field(form, "name")).await {
            Ok(_) => personal_page(service, req, None, Some("Saved.")).await,
            Err(e) => personal_page(service, req, Some(&e), None).await,
        },
        "password" => {
            match service
                .change_password(req, &user, field(form, "current_password"), field(form, "new_password"))
                .await
            {
                Ok(s) => Ok(AuthResponse::redirect(303, "/settings/personal").with_header("set-cookie", s.cookie)),
                Err(e) => personal_page(service, req, Some(&e), None).await,
            }
        }
        _ => Err(AuthError::invalid("action", "must be name or password")),
    }
}
