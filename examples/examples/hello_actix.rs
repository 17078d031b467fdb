//! The load-test baseline on actix-web: `GET /api/hello` → `{"hello":"a@example.com"}` and
//! `GET /health` → `ok`, WITHOUT the login middleware.
//!
//! `cargo run --release -p auth-examples --example hello_actix -- --listen 127.0.0.1:3101`
//!
//! Same worker count, routes and JSON handler as `actix-app`, so `scripts/bench.sh` compares
//! the two and the difference is the cost of `AuthMiddleware`.

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
    println!("hello_actix listening on http://{}", listener.local_addr()?);
    // As in actix-app.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(|| App::new().route("/api/hello", web::get().to(hello)).route("/health", web::get().to(health)))
        .workers(workers.max(1))
        .listen(listener)?
        .run()
        .await
}
