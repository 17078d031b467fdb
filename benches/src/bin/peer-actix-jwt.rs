//! Peer: a straightforward `jsonwebtoken` middleware on actix-web, as people write it: an
//! `actix_web::middleware::from_fn` that reads the `token` cookie (`req.cookie`), calls
//! `jsonwebtoken::decode` with a `Validation` per request and puts the claims in the request's
//! extensions (`web::ReqData` in the handler). Stateless: no revocation.
//!
//! `peer-actix-jwt --listen 127.0.0.1:3200`; `POST /login` sets the `token` cookie.

use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpMessage, HttpResponse, HttpServer, web};
use auth_benches::{Claims, JWT_COOKIE, Login, decoding_key, listen_arg, mint_token, token_set_cookie};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

static KEY: LazyLock<DecodingKey> = LazyLock::new(decoding_key);

async fn require_jwt(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.path() == "/api/hello" {
        let claims = req
            .cookie(JWT_COOKIE)
            .and_then(|c| decode::<Claims>(c.value(), &KEY, &Validation::new(Algorithm::HS256)).ok())
            .ok_or_else(|| actix_web::error::ErrorUnauthorized("unauthorized"))?
            .claims;
        req.extensions_mut().insert(claims);
    }
    next.call(req).await
}

async fn login(creds: web::Json<Login>) -> HttpResponse {
    if !creds.is_valid() {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().insert_header(("set-cookie", token_set_cookie(&mint_token()))).body("ok")
}

async fn hello(claims: web::ReqData<Claims>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": claims.email }))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = listen_arg();
    LazyLock::force(&KEY);
    let listener = std::net::TcpListener::bind(listen)?;
    println!("peer-actix-jwt listening on http://{}", listener.local_addr()?);
    // As in actix-app.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(|| {
        App::new()
            .wrap(from_fn(require_jwt))
            .route("/api/hello", web::get().to(hello))
            .route("/login", web::post().to(login))
            .route("/health", web::get().to(health))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run()
    .await
}
