//! Invitation mail through SMTP (lettre, rustls). Delivery is best effort: a failure is
//! reported to the admin and logged, and never loses the invitation.

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpSecurity};

/// An SMTP sender configured from [`SmtpConfig`].
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub(crate) fn new(cfg: &SmtpConfig) -> Result<Self, String> {
        let builder = match cfg.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)),
        }
        .map_err(|e| format!("smtp: {e}"))?;
        let mut builder = builder.port(cfg.port).timeout(Some(cfg.timeout));
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().clone()));
        }
        let from = cfg.from.parse().map_err(|e| format!("smtp.from: {e}"))?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Connects, greets (EHLO), negotiates TLS as configured, authenticates when credentials
    /// are set, and quits, sending nothing. The error text names no secret.
    pub(crate) async fn test_connection(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not answer NOOP".into()),
            Err(e) => Err(describe(&e)),
        }
    }

    /// Sends an invitation. The error text names no secret.
    pub(crate) async fn send_invitation(&self, to: &str, org: &str, url: &str, expires: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let body = format!(
            "You have been invited to join {org}.\n\n\
             Accept the invitation here (the link works once and expires {expires}):\n\n{url}\n\n\
             If you did not expect this, ignore this message.\n"
        );
        self.send(to, &format!("Invitation to join {org}"), body).await
    }

    /// Sends a one-time link (password reset, email verification) for `product`.
    pub(crate) async fn send_link(
        &self,
        to: &str,
        subject: &str,
        intro: &str,
        url: &str,
        expires: &str,
    ) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let body = format!(
            "{intro}\n\n{url}\n\nThe link works once and expires {expires}.\n\
             If you did not ask for this, ignore this message.\n"
        );
        self.send(to, subject, body).await
    }

    /// Sends a plain-text mail. The error text names no secret.
    pub(crate) async fn send(&self, to: Mailbox, subject: &str, body: String) -> Result<(), String> {
        let subject: String = subject.chars().filter(|c| !c.is_control()).collect();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("message: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }
}

/// lettre's error with its cause chain (refused, TLS, authentication), as one line.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        // lettre's own message often repeats its cause already.
        let cause = s.to_string();
        if !msg.contains(&cause) {
            msg = format!("{msg}: {cause}");
        }
        source = s.source();
    }
    msg
}
