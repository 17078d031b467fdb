//! Built without the `smtp` feature: no mail transport, and no lettre. The config refuses an
//! `smtp` section in such a build, so [`Mailer`] is never constructed.

use crate::config::SmtpConfig;

/// Uninhabited: there is no mail transport in this build.
pub(crate) enum Mailer {}

impl Mailer {
    pub(crate) fn new(_cfg: &SmtpConfig) -> Result<Self, String> {
        Err("this build has no SMTP support (enable the `smtp` feature of auth-core)".into())
    }

    pub(crate) async fn test_connection(&self) -> Result<(), String> {
        match *self {}
    }

    pub(crate) async fn send_invitation(
        &self,
        _to: &str,
        _org: &str,
        _url: &str,
        _expires: &str,
    ) -> Result<(), String> {
        match *self {}
    }

    pub(crate) async fn send_link(
        &self,
        _to: &str,
        _subject: &str,
        _intro: &str,
        _url: &str,
        _expires: &str,
    ) -> Result<(), String> {
        match *self {}
    }
}
