//! The load-test floor of a middleware on actix-web: `hello_actix` plus a middleware that does
//! nothing, installed like `AuthMiddleware` (`App::wrap`, here through `wrap_fn`, which
//! returns the application's own future: no box).
//!
//! `cargo run --release -p auth-examples --example noop_actix -- --listen 127.0.0.1:3103`
//!
//! `scripts/bench.sh` measures this server against hello, beside `AuthMiddleware`, so the
//! guard's own cost can be told from the cost of being a middleware.

use actix_web::dev::Service as _;
use actix_web::{App, HttpResponse, HttpServer, web};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": "a@example.com" }))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = auth_examples::Args::from_env();
    let listener = std::net::TcpListener::bind(args.listen)?;
    println!("noop_actix listening on http://{}", listener.local_addr()?);
    // As in actix-app and hello_actix.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(|| {
        App::new()
            .wrap_fn(|req, srv| srv.call(req))
            .route("/api/hello", web::get().to(hello))
            .route("/health", web::get().to(health))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run()
    .await
}
