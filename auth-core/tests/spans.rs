//! The `tracing` spans of auth requests and guard decisions: OpenTelemetry field names, and
//! never an email, password or token in a field. Read from a real service on a fresh SQLite
//! file through a capturing subscriber.

use std::sync::{Arc, Mutex};

use auth_core::adapter::{Cached, HeaderSource, RequestView, RouteKind};
use auth_core::{AuthConfig, AuthService};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

const EMAIL: &str = "spans-user@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// A span's name and the fields recorded on it, in order.
type Captured = (String, Vec<(String, String)>);

/// Every span.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

/// Where a span's fields are kept, in its extensions.
struct Index(usize);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let mut all = self.0.lock().expect("lock");
        all.push((attrs.metadata().name().to_string(), fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Index(all.len() - 1));
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(&Index(i)) = span.extensions().get::<Index>() else { return };
        let mut all = self.0.lock().expect("lock");
        values.record(&mut Fields(&mut all[i].1));
    }
}

struct Headers(Vec<(&'static str, String)>);

impl HeaderSource for Headers {
    fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
        self.0.iter().filter(|(k, _)| *k == name).nth(n).map(|(_, v)| v.as_str())
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn spans_carry_otel_fields_and_no_secrets() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let db = std::env::temp_dir().join(format!("auth-core-spans-{}-{stamp}.db", std::process::id()));
    let yaml = format!(
        "database:\n  url: \"sqlite://{}\"\nbasicAuth:\n  jwtSecret: \"spans-secret-0123456789abcdefghijklmnop\"\n",
        db.display()
    );
    let config = AuthConfig::from_yaml(&yaml, |_| None).expect("config");
    let (token, user_id) = rt.block_on(async {
        let service = AuthService::new(config).await.expect("service");
        let json = Headers(vec![("content-type", "application/json".into())]);
        let post = |path| RequestView { method: "POST", path, query: None, headers: &json, peer: None };
        let body = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}","organization":"Acme"}}"#);
        assert_eq!(service.handle(&post("/api/v1/auth/signup"), body.as_bytes()).await.status, 201);
        let body = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}"}}"#);
        let login = service.handle(&post("/api/v1/auth/login"), body.as_bytes()).await;
        assert_eq!(login.status, 200);
        let wrong = format!(r#"{{"email":"{EMAIL}","password":"not it at all"}}"#);
        assert_eq!(service.handle(&post("/api/v1/auth/login"), wrong.as_bytes()).await.status, 401);
        let cookie = login.headers.iter().find(|(k, v)| *k == "set-cookie" && v.starts_with("auth_session="));
        let token = cookie.and_then(|(_, v)| v.split(';').next()?.strip_prefix("auth_session=")).expect("cookie");
        let user: serde_json::Value = serde_json::from_slice(&login.body).expect("json");
        let user_id = user["user"]["id"].as_str().expect("id").to_string();

        // A token in the path and in the query: never recorded.
        let none = Headers(vec![]);
        let invitation = RequestView {
            method: "GET",
            path: "/api/v1/auth/invitations/secret-invitation-token",
            query: None,
            headers: &none,
            peer: None,
        };
        assert_eq!(service.handle(&invitation, b"").await.status, 404);
        let reset = RequestView {
            method: "GET",
            path: "/reset-password",
            query: Some("token=secret-reset-token"),
            headers: &none,
            peer: None,
        };
        let _ = service.handle(&reset, b"").await;

        // The guard: signed in (from the cache), and a forged token (the full guard).
        let signed_in = Headers(vec![("cookie", format!("auth_session={token}"))]);
        let app = RequestView { method: "GET", path: "/api/hello", query: None, headers: &signed_in, peer: None };
        assert!(matches!(service.guard_cached(&app, RouteKind::Guarded), Cached::Decided(_)));
        let forged = Headers(vec![("authorization", format!("Bearer {token}x"))]);
        let app = RequestView { method: "GET", path: "/api/hello", query: None, headers: &forged, peer: None };
        assert!(matches!(service.guard_cached(&app, RouteKind::Guarded), Cached::CallGuard));
        let _ = service.guard(&app, RouteKind::Guarded).await;
        (token.to_string(), user_id)
    });

    let all = spans.0.lock().expect("lock").clone();
    let named = |name: &str| all.iter().filter(|(n, _)| n == name).map(|(_, f)| f.as_slice()).collect::<Vec<_>>();
    let requests = named("auth.request");
    assert_eq!(requests.len(), 5, "one span per auth request");
    for f in &requests {
        for key in ["http.request.method", "http.response.status_code", "otel.kind"] {
            assert!(field(f, key).is_some(), "{key} missing in {f:?}");
        }
    }
    let logins: Vec<_> = requests.iter().filter(|f| field(f, "http.route") == Some("/api/v1/auth/login")).collect();
    assert_eq!(logins.len(), 2);
    assert_eq!(field(logins[0], "auth.outcome"), Some("success"));
    assert_eq!(field(logins[0], "enduser.id"), Some(user_id.as_str()));
    assert_eq!(field(logins[0], "http.response.status_code"), Some("200"));
    assert_eq!(field(logins[0], "url.path"), Some("/api/v1/auth/login"));
    assert_eq!(field(logins[1], "auth.outcome"), Some("invalid_credentials"));
    assert_eq!(field(logins[1], "enduser.id"), None);
    let invitation = requests.iter().find(|f| field(f, "http.route") == Some("/api/v1/auth/invitations/{token}"));
    assert_eq!(invitation.and_then(|f| field(f, "url.path")), Some("/api/v1/auth/invitations/{token}"));

    let guards = named("auth.guard");
    assert_eq!(guards.len(), 2, "one span per guard decision, also across guard_cached + guard");
    assert_eq!(field(guards[0], "auth.outcome"), Some("allowed"));
    assert_eq!(field(guards[0], "enduser.id"), Some(user_id.as_str()));
    assert_eq!(field(guards[0], "url.path"), Some("/api/hello"));
    assert_eq!(field(guards[1], "auth.outcome"), Some("unauthenticated"));
    assert_eq!(field(guards[1], "http.response.status_code"), Some("401"));

    for (name, fields) in &all {
        for (k, v) in fields {
            for secret in [EMAIL, PASSWORD, token.as_str(), "secret-invitation-token", "secret-reset-token"] {
                assert!(!v.contains(secret), "span {name} field {k} holds {secret:?}");
            }
        }
    }
}
