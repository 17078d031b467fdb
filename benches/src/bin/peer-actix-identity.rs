//! Peer: actix-identity over actix-session's `CookieSessionStore` (the session sealed in the
//! cookie itself, private/encrypted by default), set up as their READMEs do. `Identity` in the
//! handler answers 401 without a signed-in user.
//!
//! `peer-actix-identity --listen 127.0.0.1:3200`; `POST /login` sets the `id` cookie.

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use auth_benches::{EMAIL, Login, listen_arg};

async fn login(req: HttpRequest, creds: web::Json<Login>) -> HttpResponse {
    if !creds.is_valid() {
        return HttpResponse::Unauthorized().finish();
    }
    match Identity::login(&req.extensions(), EMAIL.into()) {
        Ok(_) => HttpResponse::Ok().body("ok"),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn hello(user: Identity) -> HttpResponse {
    match user.id() {
        Ok(email) => HttpResponse::Ok().json(serde_json::json!({ "hello": email })),
        Err(_) => HttpResponse::Unauthorized().finish(),
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = listen_arg();
    let key = Key::derive_from(auth_benches::JWT_SECRET);
    let listener = std::net::TcpListener::bind(listen)?;
    println!("peer-actix-identity listening on http://{}", listener.local_addr()?);
    // As in actix-app.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(move || {
        App::new()
            .wrap(IdentityMiddleware::default())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_name("id".into())
                    .cookie_secure(false)
                    .build(),
            )
            .route("/api/hello", web::get().to(hello))
            .route("/login", web::post().to(login))
            .route("/health", web::get().to(health))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run()
    .await
}
