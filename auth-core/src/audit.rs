//! Audit events: each one is logged (target `auth::audit`) and appended to the store's
//! `audit_events` table, which the admin console and `GET /api/v1/auth/admin/audit` read
//! (newest first) and which is pruned after `audit.retention`.
//!
//! An event names what happened, who did it (`actor_id`), whose account and which organization
//! it concerns, and a few more fields (`detail`); never an email address, a password, a token
//! or a secret. A failure to store an event is logged and does not fail the action.

use serde_json::{Map, Value};

use crate::AuthService;
use crate::store::{NewAuditEvent, OrgId, UserId};
use crate::time::now;

/// An audit event being described; [`record`](Self::record) logs and stores it.
#[must_use = "an audit event does nothing until recorded"]
pub(crate) struct Audit<'a> {
    service: &'a AuthService,
    event: &'static str,
    warn: bool,
    actor: Option<UserId>,
    user: Option<UserId>,
    org: Option<OrgId>,
    detail: Map<String, Value>,
}

impl AuthService {
    /// Starts describing an audit event named `event` (`login`, `user_disabled`, ...).
    pub(crate) fn audit(&self, event: &'static str) -> Audit<'_> {
        Audit { service: self, event, warn: false, actor: None, user: None, org: None, detail: Map::new() }
    }
}

impl Audit<'_> {
    /// Logged at warning level (a refusal, a lockout).
    pub(crate) fn warning(mut self) -> Self {
        self.warn = true;
        self
    }

    /// Who did it.
    pub(crate) fn actor(mut self, id: &str) -> Self {
        self.actor = Some(UserId::new(id));
        self
    }

    /// Whose account it concerns.
    pub(crate) fn user(mut self, id: &str) -> Self {
        self.user = Some(UserId::new(id));
        self
    }

    /// Which organization it concerns.
    pub(crate) fn org(mut self, id: &str) -> Self {
        self.org = Some(OrgId::new(id));
        self
    }

    /// Another field (a count, a role, a provider id).
    pub(crate) fn field(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.detail.insert(name.to_string(), value.into());
        self
    }

    /// Logs the event and appends it to the store.
    pub(crate) async fn record(self) {
        let source = self.service.inner.audit_source;
        let detail = Value::Object(self.detail).to_string();
        let (actor, user, org) = (self.actor.as_deref(), self.user.as_deref(), self.org.as_deref());
        if self.warn {
            tracing::warn!(target: "auth::audit", event = self.event, source = source.as_str(), actor_id = actor, user_id = user, org_id = org, detail = %detail);
        } else {
            tracing::info!(target: "auth::audit", event = self.event, source = source.as_str(), actor_id = actor, user_id = user, org_id = org, detail = %detail);
        }
        let stored = NewAuditEvent {
            at: now(),
            event: self.event.to_string(),
            source,
            actor_id: self.actor,
            user_id: self.user,
            org_id: self.org,
            detail,
        };
        if let Err(e) = self.service.inner.store.append_audit(&stored).await {
            tracing::warn!(error = %e, event = self.event, "could not store an audit event");
        }
    }
}
