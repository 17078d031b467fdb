//! Pages for one-time links: forgot password, reset password, verify email. The links' GET
//! shows a button and the POST acts, so that mail scanners that open links use nothing up.

use serde_json::Value;

use super::view::{Field, Form, FormPage};
use super::{field, signed_in_user};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::service::AuthService;

pub(crate) async fn forgot_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    form: &Value,
    sent: bool,
) -> Result<AuthResponse, AuthError> {
    let mut c = service.chrome(req, "Forgot password", None);
    let minutes = service.config().basic_auth.password_reset_ttl.as_secs() / 60;
    let intro = if service.can_mail() {
        format!(
            "Enter the email address of your account. We will send a link to choose a new password; it works once, for {minutes} minutes."
        )
    } else {
        "Reset links are sent by email, which is not set up here: ask an administrator of your organization for a \
         password-reset link (Organization settings)."
            .to_string()
    };
    if sent {
        c.notice = Some(format!(
            "If an account exists for that address, we sent it a link to reset the password. It works for {minutes} minutes."
        ));
    }
    let (f, summary) = Form::new(
        "/forgot-password",
        vec![Field::new("email", "email", "Email", "email").value(field(form, "email")).autocomplete("username")],
        error,
    );
    c.error = summary;
    let page = FormPage {
        c,
        intro: Some(intro),
        form: service.can_mail().then_some(f),
        button: "Send reset link",
        token: None,
    };
    Ok(service.page(error.map_or(200, AuthError::status), &page))
}

pub(crate) async fn forgot_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    match service.forgot_password(req, field(form, "email")) {
        // The same page for known and unknown addresses.
        Ok(()) => forgot_page(service, req, None, &Value::Null, true).await,
        Err(e) => forgot_page(service, req, Some(&e), form, false).await,
    }
}

fn token_of(req: &RequestView<'_>, form: Option<&Value>) -> String {
    form.map(|f| field(f, "token").to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| req.query_param("token"))
        .unwrap_or_default()
}

pub(crate) async fn reset_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<(&AuthError, &str)>,
) -> Result<AuthResponse, AuthError> {
    let mut c = service.chrome(req, "Choose a new password", None);
    let token = error.map(|(_, t)| t.to_string()).unwrap_or_else(|| token_of(req, None));
    let min = service.config().basic_auth.min_password_length;
    let fields = vec![
        Field::new("new_password", "new_password", "New password", "password")
            .autocomplete("new-password")
            .minlength(min)
            .hint(format!("At least {min} characters. Every session of your account will be signed out.")),
    ];
    let (f, summary) = Form::new("/reset-password", fields, error.map(|(e, _)| e));
    c.error = summary;
    let page = FormPage { c, intro: None, form: Some(f), button: "Set new password", token: Some(token) };
    Ok(service.page(error.map_or(200, |(e, _)| e.status()), &page))
}

pub(crate) async fn reset_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let token = token_of(req, Some(form));
    match service.reset_password(req, &token, field(form, "new_password")).await {
        Ok(()) => Ok(AuthResponse::redirect(303, "/login?notice=password-reset")
            .with_header("set-cookie", service.clear_cookie())),
        Err(e) => reset_page(service, req, Some((&e, &token))).await,
    }
}

pub(crate) async fn verify_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<(&AuthError, &str)>,
) -> Result<AuthResponse, AuthError> {
    let user = signed_in_user(service, req).await?;
    let mut c = service.chrome(req, "Verify your email", user.as_ref());
    let token = error.map(|(_, t)| t.to_string()).unwrap_or_else(|| token_of(req, None));
    c.error = error.map(|(e, _)| super::view::human(e));
    let (f, _) = Form::new("/verify-email", Vec::new(), None);
    let page = FormPage {
        c,
        intro: Some("Confirm that this email address belongs to your account.".into()),
        form: Some(f),
        button: "Confirm my email",
        token: Some(token),
    };
    Ok(service.page(error.map_or(200, |(e, _)| e.status()), &page))
}

pub(crate) async fn verify_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let token = token_of(req, Some(form));
    match service.verify_email(&token).await {
        Ok(()) => {
            let signed_in = signed_in_user(service, req).await?.is_some();
            let to =
                if signed_in { "/settings/personal?notice=email-verified" } else { "/login?notice=email-verified" };
            Ok(AuthResponse::redirect(303, to))
        }
        Err(e) => verify_page(service, req, Some((&e, &token))).await,
    }
}
