//! What the fuzz targets share: one runtime, real services (SQLite in a temporary directory),
//! a header map, and a minimal OpenID provider on loopback (discovery, JWKS, a token endpoint
//! that refuses every code) for the OIDC targets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;

use auth_core::adapter::{HeaderSource, RequestView};
use auth_core::{AuthConfig, AuthService};

/// The one runtime every target's async calls run on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime")
    })
}

/// The public URL the services are configured with (its origin is the CSRF origin).
pub const PUBLIC_URL: &str = "http://127.0.0.1:3000";

/// The session secret of the fuzzed services: fixed, so seeds can hold valid tokens.
pub const JWT_SECRET: &str = "fuzz-session-secret-0123456789abcdef0123456789";

/// The OIDC client id (the `aud` of logout tokens).
pub const CLIENT_ID: &str = "fuzz-client";

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running service built from `extra` YAML on top of the common settings; `oidc` adds a
/// provider served by [`idp_base`].
pub fn service(name: &str, extra: &str, oidc: bool) -> AuthService {
    let db = temp_dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&db);
    let mut yaml = format!(
        "publicUrl: \"{PUBLIC_URL}\"\ndatabase:\n  url: \"sqlite://{}\"\n\
         trustedProxies: [\"10.0.0.0/8\", \"127.0.0.1/32\", \"::1/128\"]\n{extra}",
        db.display()
    );
    if oidc {
        yaml.push_str(&format!(
            "oidc:\n  clientId: \"{CLIENT_ID}\"\n  clientSecret: \"fuzz-client-secret-0123456789\"\n  \
             discoveryUrl: \"{}/.well-known/openid-configuration\"\n",
            idp_base()
        ));
    }
    let config = AuthConfig::from_yaml(&yaml, |k| (k == "AUTH_JWT_SECRET").then(|| JWT_SECRET.to_string()))
        .unwrap_or_else(|e| panic!("fuzz config: {e}\n{yaml}"));
    runtime().block_on(AuthService::new(config)).expect("service")
}

/// Creates the first admin through `POST /api/v1/auth/signup` and returns its session token.
pub fn sign_up(service: &AuthService) -> String {
    let headers = Headers::default().with("content-type", "application/json").with("origin", PUBLIC_URL);
    let req = request("POST", "/api/v1/auth/signup", None, &headers, Some([127, 0, 0, 1].into()));
    let body = br#"{"email":"admin@example.com","password":"correct horse battery staple 42","organization":"Fuzz"}"#;
    let response = runtime().block_on(service.handle(&req, body));
    let prefix = format!("{}=", service.cookie_name());
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix(&prefix).and_then(|v| v.split(';').next()).map(str::to_string))
        .unwrap_or_else(|| panic!("signup gave no session cookie: {response:?}"))
}

/// Request headers: lower-case names, in order, repeats allowed.
#[derive(Debug, Default, Clone)]
pub struct Headers(pub Vec<(String, String)>);

impl HeaderSource for Headers {
    fn get_nth(&self, name: &str, n: usize) -> Option<&str> {
        self.0.iter().filter(|(k, _)| k == name).nth(n).map(|(_, v)| v.as_str())
    }
}

impl Headers {
    /// `name: value` lines (names lower-cased, as every HTTP stack hands them over); lines
    /// without a colon are skipped. Values keep what a header value may hold (no CR/LF).
    pub fn from_lines(text: &str) -> Self {
        Headers(
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim_start().to_string()))
                .collect(),
        )
    }

    /// Adds one header.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.into(), value.into()));
        self
    }
}

/// A request view over `headers`.
pub fn request<'a>(
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a Headers,
    peer: Option<std::net::IpAddr>,
) -> RequestView<'a> {
    RequestView { method, path, query, headers, peer }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/support/fixtures");

/// The fuzz EC P-256 key `e` (PKCS#8 PEM, `fuzz/fixtures`), published as kid `e`: ES256
/// signs in well under a millisecond where RS256 takes tens under the sanitizer.
pub fn ec_e_pem() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ec-e.pem")).expect("fuzz/fixtures/ec-e.pem")
}

/// The test RSA key `a` (PEM), which the provider's JWKS publishes as kid `a`.
pub fn rsa_a_pem() -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/rsa-a.pem")).expect("tests/support/fixtures/rsa-a.pem")
}

/// Unpadded base64url, as JWTs spell their parts.
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn jwks() -> String {
    let hex = std::fs::read_to_string(format!("{FIXTURES}/rsa-a.modulus.hex")).expect("fixture");
    let hex = hex.trim();
    let n: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    let ec: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/ec-e.jwk.json")).expect("fuzz/fixtures/ec-e.jwk.json");
    let rsa = serde_json::json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "a", "n": b64url(&n), "e": "AQAB"});
    serde_json::json!({ "keys": [rsa, ec] }).to_string()
}

/// The base URL (`http://127.0.0.1:PORT`, also its issuer) of a minimal OpenID provider
/// started once per process on loopback: discovery, JWKS (RSA key `a`, EC key `e`), and a token endpoint that
/// answers `invalid_grant` to every code.
pub fn idp_base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let discovery = serde_json::json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "backchannel_logout_supported": true,
        })
        .to_string();
        let jwks = jwks();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (discovery, jwks) = (discovery.clone(), jwks.clone());
                std::thread::spawn(move || serve(stream, &discovery, &jwks));
            }
        });
        base
    })
}

fn serve(mut stream: std::net::TcpStream, discovery: &str, jwks: &str) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    // One request per connection: the request line, the headers, the body (Content-Length).
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    let (status, json) = match path.split('?').next().unwrap_or("") {
        "/.well-known/openid-configuration" => ("200 OK", discovery.to_string()),
        "/jwks" => ("200 OK", jwks.to_string()),
        "/token" => ("400 Bad Request", r#"{"error":"invalid_grant"}"#.to_string()),
        _ => ("404 Not Found", r#"{"error":"not_found"}"#.to_string()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
        json.len()
    );
}

/// Splits fuzz input into `n` UTF-8 fields at `0xFF` bytes (which UTF-8 never contains); the
/// last field takes the rest. `None` when a field is not UTF-8.
pub fn fields(data: &[u8], n: usize) -> Option<Vec<&str>> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 1..n {
        match rest.iter().position(|b| *b == 0xFF) {
            Some(i) => {
                out.push(std::str::from_utf8(&rest[..i]).ok()?);
                rest = &rest[i + 1..];
            }
            None => {
                out.push(std::str::from_utf8(rest).ok()?);
                rest = &[];
            }
        }
    }
    out.push(std::str::from_utf8(rest).ok()?);
    Some(out)
}
