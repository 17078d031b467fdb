//! The OpenAPI description served at `/api/v1/auth/openapi.json`: valid OpenAPI 3.1, the same
//! bytes on both adapters, and exactly the routes the router answers: compared with the core's
//! one route table (`auth_core::api_routes`), and each documented operation probed over HTTP.
//! The outside fuzzer that checks the answers against it is `tests/tests/schemathesis.rs`.

use std::collections::BTreeSet;

use auth_tests::{Adapter, StatusCode, TestServer, both, json};
use serde_json::Value;

const DOC: &str = "/api/v1/auth/openapi.json";
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document(s: &TestServer) -> (Vec<u8>, Value) {
    let r = s.get(DOC, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let bytes = r.bytes().await.expect("body").to_vec();
    let v = serde_json::from_slice(&bytes).expect("the document is JSON");
    (bytes, v)
}

/// Every `$ref` in `v`, as written.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The documented operations: `(METHOD, path)`.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item").iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

async fn document_is_valid_openapi_3_1(adapter: Adapter) {
    let s = TestServer::start(adapter, "").await;
    let (_, doc) = document(&s).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // Every reference resolves inside the document (JSON pointer, `#/...` only).
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("an external $ref: {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every operation answers something documented, has an id, and is reachable only through
    // schemes the document declares.
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "auth_session");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with("/api/v1/auth/"), "{path}");
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(!responses.is_empty(), "{method} {path}: no responses");
            assert!(ids.insert(op["operationId"].as_str().expect("operationId").to_string()), "{method} {path}");
            for requirement in op["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: unknown scheme {name}");
                }
            }
            for (status, r) in responses {
                assert!(status.len() == 3 && status.parse::<u16>().is_ok(), "{method} {path}: {status}");
                assert_eq!(r["headers"]["cache-control"]["required"], true, "{method} {path} {status}");
                if status == "429" {
                    assert_eq!(r["headers"]["retry-after"]["required"], true, "{method} {path}");
                }
            }
        }
    }
    // The error body and its codes.
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in [
        "unauthenticated",
        "invalid_credentials",
        "csrf_rejected",
        "invalid_request",
        "method_not_allowed",
        "rate_limited",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    assert_eq!(doc["components"]["schemas"]["ErrorBody"]["required"], serde_json::json!(["error", "message"]));
    // Nothing secret: the configured jwtSecret appears nowhere.
    assert!(!doc.to_string().contains(auth_tests::SECRET));
}

async fn document_lists_exactly_the_routes_the_router_answers(adapter: Adapter) {
    let s = TestServer::start(adapter, "").await;
    let (_, doc) = document(&s).await;
    let documented = operations(&doc);
    let table: BTreeSet<(String, String)> = auth_core::api_routes().map(|(m, p)| (m.to_string(), p)).collect();
    assert_eq!(documented, table, "the document and the router's table differ");
    // SPEC §3's admin routes are in both.
    for path in ["/api/v1/auth/admin/users", "/api/v1/auth/admin/audit"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
        let r = s.get(path, None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Every documented operation reaches a handler: not the router's "no such route" 404, not
    // 405. Path parameters get a placeholder; bodies are `{}`.
    let client = s.client();
    for (method, path) in &documented {
        let url = s.url(
            &path.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/"),
        );
        let mut req = client.request(method.parse().expect("method"), &url);
        if method != "GET" {
            req = req.header("content-type", "application/json").body("{}");
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {text}");
        assert!(!text.contains("no such route"), "{method} {path} is documented but not routed: {status} {text}");
        assert!(
            !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}: {status} {text}"
        );
    }
    // And the other way round: a method the document does not list on a documented path is 405
    // with `Allow` naming exactly the documented ones.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let url = s.url(&path.replace(['{', '}'], ""));
        let r = client.request("PUT".parse().expect("method"), &url).send().await.expect("request");
        if item.get("put").is_some() {
            continue;
        }
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "PUT {path}");
        let allow: BTreeSet<String> = r.headers()["allow"]
            .to_str()
            .expect("allow")
            .split(", ")
            .map(str::to_lowercase)
            .filter(|m| m != "head")
            .collect();
        let want: BTreeSet<String> = item.as_object().expect("item").keys().cloned().collect();
        assert_eq!(allow, want, "Allow on {path}");
        assert_eq!(json(r).await["error"], "method_not_allowed");
    }
}

/// The two adapters serve the same bytes, and `api.openapi: false` turns it off on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_serve_the_same_document_and_both_can_turn_it_off() {
    let axum = TestServer::start(Adapter::Axum, "").await;
    let actix = TestServer::start(Adapter::Actix, "").await;
    let (a, _) = document(&axum).await;
    let (b, _) = document(&actix).await;
    assert!(a == b, "the adapters' documents differ");
    for adapter in [Adapter::Axum, Adapter::Actix] {
        let s = TestServer::start(adapter, "api:\n  openapi: false\n").await;
        let r = s.get(DOC, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{adapter:?}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(json(r).await["error"], "not_found");
    }
}

both!(document_is_valid_openapi_3_1, document_lists_exactly_the_routes_the_router_answers);
