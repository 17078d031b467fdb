//! A hostile OpenID provider: it says whatever a test tells it to, to reproduce what a real
//! provider never sends (the OpenID Foundation's RP conformance cases). Optionally over TLS
//! with a certificate from the test CA in `support/fixtures`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The client id the hostile IdP's relying party is configured with.
pub const CLIENT_ID: &str = "hostile-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "hostile-client-secret-0123456789";
/// The access token the token endpoint hands out.
pub const ACCESS_TOKEN: &str = "hostile-access-token";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/support/fixtures");

/// What the provider answers; a test changes it between steps.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The `issuer` announced by discovery (default: its own base URL).
    pub issuer: Option<String>,
    /// The JWKS served (default: key `a`).
    pub jwks: Option<Value>,
    /// The ID token the token endpoint returns.
    pub id_token: String,
    /// The UserInfo answer (default: none, 404).
    pub userinfo: Option<Value>,
    /// The token endpoint answers 302 to another place instead.
    pub token_redirects: bool,
}

/// One of the fixture RSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `rsa-a.pem`, kid `a`.
    A,
    /// `rsa-b.pem`, kid `b`.
    B,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::A => "a",
            Key::B => "b",
        }
    }

    /// The public JWK (kid = `a`/`b`, or none).
    pub fn jwk(self, with_kid: bool) -> Value {
        let hex = std::fs::read_to_string(format!("{FIXTURES}/rsa-{}.modulus.hex", self.name())).expect("fixture");
        let bytes: Vec<u8> = (0..hex.trim().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).expect("hex"))
            .collect();
        let mut jwk =
            json!({"kty": "RSA", "use": "sig", "alg": "RS256", "n": URL_SAFE_NO_PAD.encode(bytes), "e": "AQAB"});
        if with_kid {
            jwk["kid"] = json!(self.name());
        }
        jwk
    }

    /// Signs `claims` with RS256 under `kid` (any header `kid`, or none).
    pub fn sign(self, kid: Option<&str>, claims: &Value) -> String {
        self.sign_typed(kid, "JWT", claims)
    }

    /// Signs a back-channel logout token (`typ: logout+jwt`) with RS256 under `kid`.
    pub fn sign_logout(self, kid: Option<&str>, claims: &Value) -> String {
        self.sign_typed(kid, "logout+jwt", claims)
    }

    fn sign_typed(self, kid: Option<&str>, typ: &str, claims: &Value) -> String {
        let pem = std::fs::read(format!("{FIXTURES}/rsa-{}.pem", self.name())).expect("fixture");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("rsa key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// An unsigned (`alg: none`) JWT.
pub fn unsigned(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!("{}.{}.", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// An HS256 JWT keyed with the client secret (a symmetric algorithm the RP must refuse).
pub fn hs256_with_client_secret(claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("a".into());
    let key = jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()).expect("key");
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

/// `at_hash` of [`ACCESS_TOKEN`] for RS256.
pub fn at_hash() -> String {
    let digest = Sha256::digest(ACCESS_TOKEN.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The running provider.
pub struct Hostile {
    /// `http(s)://127.0.0.1:PORT`, also its genuine issuer.
    pub base: String,
    /// What it answers.
    pub script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    base: String,
    script: Arc<Mutex<Script>>,
}

async fn discovery(State(s): State<Shared>) -> Response {
    let script = s.script.lock().expect("lock").clone();
    let b = &s.base;
    axum::Json(json!({
        "issuer": script.issuer.unwrap_or_else(|| b.clone()),
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }))
    .into_response()
}

async fn jwks(State(s): State<Shared>) -> Response {
    let jwks = s.script.lock().expect("lock").jwks.clone().unwrap_or_else(|| json!({"keys": [Key::A.jwk(true)]}));
    axum::Json(jwks).into_response()
}

async fn token(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let script = s.script.lock().expect("lock").clone();
    if script.token_redirects {
        return (StatusCode::FOUND, [(header::LOCATION, "http://127.0.0.1:9/elsewhere")]).into_response();
    }
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    axum::Json(
        json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300, "id_token": script.id_token}),
    )
    .into_response()
}

async fn userinfo(State(s): State<Shared>) -> Response {
    match s.script.lock().expect("lock").userinfo.clone() {
        Some(v) => axum::Json(v).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Hostile {
    /// Starts the provider on a loopback port, over TLS (test CA) when `tls`.
    pub async fn start(tls: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" });
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = Shared { base: base.clone(), script: Arc::clone(&script) };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            // Discovery under a path too (`/common/v2.0/...`, `/realms/acme/...`), as real IdPs do.
            .fallback(|State(s): State<Shared>, uri: axum::http::Uri| async move {
                if uri.path().ends_with("/.well-known/openid-configuration") {
                    discovery(State(s)).await
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            })
            .with_state(shared);
        let task = if tls {
            tokio::spawn(serve_tls(listener, app))
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        };
        Self { base, script, task }
    }

    /// Changes the script.
    pub fn set(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.script.lock().expect("lock"));
    }

    /// The YAML `oidc` section for this provider.
    pub fn yaml(&self) -> String {
        format!(
            "oidc:\n  clientId: {CLIENT_ID}\n  clientSecret: {CLIENT_SECRET}\n  discoveryUrl: {}/.well-known/openid-configuration\n",
            self.base
        )
    }
}

/// The test CA's certificate file (for `oidc.caCertFile`).
pub fn test_ca_file() -> String {
    format!("{FIXTURES}/ca.pem")
}

async fn serve_tls(listener: tokio::net::TcpListener, app: Router) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(format!("{FIXTURES}/server.pem"))
        .expect("cert")
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/server-key.pem")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("tls config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let Ok((tcp, _)) = listener.accept().await else { return };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            // A client that refuses the certificate ends the handshake: nothing to serve.
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}
