//! The pages' templates (askama, in `auth-core/templates/`) and the plain data they show.
//!
//! Every value reaches the HTML through askama's escaping; nothing here is markup.

use askama::Template;

use crate::error::AuthError;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    None,
    Personal,
    Organization,
    Admin,
}

/// The navigation of a signed-in user.
pub(crate) struct Nav {
    pub(crate) has_organization: bool,
    /// Shows "Admin" (the admin console): set by the settings pages for instance admins.
    pub(crate) instance_admin: bool,
}

/// What every page shows around its content.
pub(crate) struct Chrome {
    pub(crate) product: String,
    /// The first letter of the product name, as a mark when no logo is configured.
    pub(crate) initial: String,
    pub(crate) logo: Option<String>,
    pub(crate) css_url: String,
    pub(crate) title: String,
    pub(crate) nav: Option<Nav>,
    pub(crate) section: Section,
    pub(crate) wide: bool,
    /// A success notice (`role="status"`).
    pub(crate) notice: Option<String>,
    /// The error summary (`role="alert"`).
    pub(crate) error: Option<String>,
}

/// One input with its label, hint and error.
pub(crate) struct Field {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) label: String,
    pub(crate) kind: &'static str,
    pub(crate) value: String,
    pub(crate) autocomplete: Option<&'static str>,
    pub(crate) required: bool,
    pub(crate) minlength: Option<usize>,
    pub(crate) hint: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) described_by: String,
}

impl Field {
    pub(crate) fn new(id: &'static str, name: &'static str, label: impl Into<String>, kind: &'static str) -> Self {
        Self {
            id,
            name,
            label: label.into(),
            kind,
            value: String::new(),
            autocomplete: None,
            required: true,
            minlength: None,
            hint: None,
            error: None,
            described_by: String::new(),
        }
    }

    pub(crate) fn value(mut self, value: &str) -> Self {
        value.clone_into(&mut self.value);
        self
    }

    pub(crate) fn autocomplete(mut self, a: &'static str) -> Self {
        self.autocomplete = Some(a);
        self
    }

    pub(crate) fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub(crate) fn minlength(mut self, n: usize) -> Self {
        self.minlength = Some(n);
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A form's fields, with the error of the request that came back placed next to its field.
pub(crate) struct Form {
    pub(crate) action: String,
    pub(crate) fields: Vec<Field>,
}

impl Form {
    /// Builds the form; an `error` naming one of its fields is shown beside that field, and the
    /// page-level summary it returns says so. Any other error is the summary itself.
    pub(crate) fn new(
        action: impl Into<String>,
        mut fields: Vec<Field>,
        error: Option<&AuthError>,
    ) -> (Self, Option<String>) {
        let mut summary = error.map(human);
        if let Some(e) = error
            && let Some(target) = error_field(e)
            && let Some(f) = fields.iter_mut().find(|f| f.name == target)
        {
            f.error = Some(field_message(e));
            summary = Some(format!("Check the field “{}”.", f.label));
        }
        for f in &mut fields {
            let ids: Vec<String> = [
                f.hint.as_ref().map(|_| format!("{}-hint", f.id)),
                f.error.as_ref().map(|_| format!("{}-error", f.id)),
            ]
            .into_iter()
            .flatten()
            .collect();
            f.described_by = ids.join(" ");
        }
        (Self { action: action.into(), fields }, summary)
    }
}

/// The form field an error is about, if any.
fn error_field(e: &AuthError) -> Option<&str> {
    match e {
        AuthError::InvalidRequest { field, .. } => Some(field),
        AuthError::EmailDomainNotAllowed | AuthError::SsoRequired(_) => Some("email"),
        AuthError::Conflict(m) if m.contains("email") => Some("email"),
        _ => None,
    }
}

/// An error as a sentence for a person.
pub(crate) fn human(e: &AuthError) -> String {
    match e {
        AuthError::RateLimited { retry_after } => {
            format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1))
        }
        AuthError::InvalidRequest { .. } => sentence(&field_message(e)),
        other => sentence(&other.message()),
    }
}

/// The message of a field error without the field's name ("must be at least 8 characters").
fn field_message(e: &AuthError) -> String {
    match e {
        AuthError::InvalidRequest { field, message } => {
            let label = field.replace('_', " ");
            sentence(&format!("{label} {message}"))
        }
        other => sentence(&other.message()),
    }
}

/// Upper-cases the first letter and ends with a full stop.
fn sentence(s: &str) -> String {
    let mut chars = s.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A link or button to an identity provider.
pub(crate) struct SsoButton {
    pub(crate) name: String,
    pub(crate) href: String,
}

/// A link with its text.
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) c: Chrome,
    pub(crate) form: Option<Form>,
    pub(crate) sso: Vec<SsoButton>,
    /// "Continue with email" (providers picked by email domain): the form's action.
    pub(crate) sso_email: Option<String>,
    /// Where to go afterwards, carried by the "Continue with email" form.
    pub(crate) return_to: String,
    pub(crate) create_account: Option<String>,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub(crate) struct SignupPage {
    pub(crate) c: Chrome,
    pub(crate) intro: Option<String>,
    pub(crate) form: Option<Form>,
    pub(crate) sign_in: String,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub(crate) struct LogoutPage {
    pub(crate) c: Chrome,
    pub(crate) signed_in_as: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) c: Chrome,
    pub(crate) text: Option<String>,
    pub(crate) link: Link,
}

/// A row of "Where you are signed in".
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) device: String,
    pub(crate) ip: String,
    pub(crate) last_seen: String,
    pub(crate) current: bool,
}

/// The email-verification section of the personal settings.
pub(crate) struct Verification {
    pub(crate) verified: bool,
    pub(crate) can_send: bool,
}

/// A page with one small form: forgot password, reset password, verify email.
#[derive(Template)]
#[template(path = "forgot.html")]
pub(crate) struct FormPage {
    pub(crate) c: Chrome,
    pub(crate) intro: Option<String>,
    pub(crate) form: Option<Form>,
    pub(crate) button: &'static str,
    /// A one-time link's token, posted back as a hidden field.
    pub(crate) token: Option<String>,
}

#[derive(Template)]
#[template(path = "personal.html")]
pub(crate) struct PersonalPage {
    pub(crate) c: Chrome,
    pub(crate) email: String,
    pub(crate) sso: bool,
    pub(crate) verification: Option<Verification>,
    pub(crate) sessions: Vec<SessionRow>,
    pub(crate) name_form: Form,
    pub(crate) password_form: Option<Form>,
}

/// Who is looking at an invitation.
pub(crate) enum InvitationMode {
    /// Signed in with the invited address: one button.
    Join,
    /// Signed in as someone else.
    OtherUser(String),
    /// Signed out: create an account (or use SSO).
    NewAccount,
}

/// What an invitation page says about the invitation.
pub(crate) struct InvitationView {
    pub(crate) organization: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) expires: String,
}

#[derive(Template)]
#[template(path = "invitation.html")]
pub(crate) struct InvitationPage {
    pub(crate) c: Chrome,
    pub(crate) invitation: Option<InvitationView>,
    pub(crate) mode: InvitationMode,
    pub(crate) action: String,
    pub(crate) form: Option<Form>,
    pub(crate) sso: Vec<SsoButton>,
    pub(crate) sign_in: String,
}

/// A row of the members table.
pub(crate) struct MemberRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) is_admin: bool,
    pub(crate) is_you: bool,
}

/// A row of the pending invitations.
pub(crate) struct PendingRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) expires: String,
}

/// The link of an invitation just created (shown once).
pub(crate) struct InviteLink {
    pub(crate) label: &'static str,
    pub(crate) text: String,
    pub(crate) url: String,
}

/// Another organization of the user's.
pub(crate) struct OrgLink {
    pub(crate) name: String,
    pub(crate) href: String,
}

#[derive(Template)]
#[template(path = "organization.html")]
pub(crate) struct OrganizationPage {
    pub(crate) c: Chrome,
    pub(crate) action: String,
    pub(crate) admin: bool,
    pub(crate) members: Vec<MemberRow>,
    pub(crate) others: Vec<OrgLink>,
    pub(crate) invite_form: Option<Form>,
    pub(crate) invite_admin: bool,
    pub(crate) invite_link: Option<InviteLink>,
    pub(crate) pending: Vec<PendingRow>,
    pub(crate) copy_script: &'static str,
}

/// A row of the admin console's users table.
pub(crate) struct AdminUserRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) disabled: bool,
    pub(crate) verified: bool,
    pub(crate) instance_admin: bool,
    pub(crate) password: bool,
    pub(crate) sessions: usize,
    pub(crate) created: String,
    pub(crate) is_you: bool,
}

/// A row of the admin console's organizations table.
pub(crate) struct AdminOrgRow {
    pub(crate) name: String,
    pub(crate) members: u64,
    pub(crate) instance: bool,
}

/// A row of the admin console's recent audit events.
pub(crate) struct AuditRow {
    pub(crate) at: String,
    pub(crate) event: String,
    pub(crate) source: &'static str,
    pub(crate) actor: String,
    pub(crate) user: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub(crate) struct AdminPage {
    pub(crate) c: Chrome,
    /// Where the row forms post: the page with its search and offset.
    pub(crate) action: String,
    pub(crate) search: Form,
    pub(crate) query: String,
    pub(crate) users: Vec<AdminUserRow>,
    /// "1–50 of 120".
    pub(crate) range: String,
    pub(crate) prev: Option<String>,
    pub(crate) next: Option<String>,
    pub(crate) orgs: Vec<AdminOrgRow>,
    pub(crate) events: Vec<AuditRow>,
    /// A password-reset link just made: shown once, on this response.
    pub(crate) reset_link: Option<InviteLink>,
    pub(crate) copy_script: &'static str,
}

/// The confirmation step of deleting a user.
#[derive(Template)]
#[template(path = "admin_delete.html")]
pub(crate) struct AdminDeletePage {
    pub(crate) c: Chrome,
    pub(crate) action: String,
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) cancel: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_land_next_to_their_field() {
        let e = AuthError::invalid("new_password", "must be at least 8 characters");
        let fields = vec![Field::new("new_password", "new_password", "New password", "password")];
        let (form, summary) = Form::new("/x", fields, Some(&e));
        assert_eq!(form.fields[0].error.as_deref(), Some("New password must be at least 8 characters."));
        assert_eq!(form.fields[0].described_by, "new_password-error");
        assert_eq!(summary.as_deref(), Some("Check the field “New password”."));
        let (_, summary) = Form::new("/x", vec![], Some(&AuthError::InvalidCredentials));
        assert_eq!(summary.as_deref(), Some("Invalid email or password."));
    }
}
