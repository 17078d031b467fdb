//! The load-test baseline on actix-web: `GET /api/hello` → `{"hello":"a@example.com"}` and
//! `GET /health` → `ok`, WITHOUT the login middleware.
//!
//! `cargo run --release -p auth-examples --example hello_actix -- --listen 127.0.0.1:3101`
//!
//! Same worker count, routes and JSON handler as `actix-app`, so `scripts/bench.sh` compares
//! the two and the difference is the cost of `AuthMiddleware`.

use actix_web::{App, HttpServer};
use auth_examples::baseline;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = auth_examples::Args::from_env();
    let listener = std::net::TcpListener::bind(args.listen)?;
    println!("hello_actix listening on http://{}", listener.local_addr()?);
    HttpServer::new(|| App::new().configure(baseline::actix_routes))
        .workers(baseline::actix_workers())
        .listen(listener)?
        .run()
        .await
}
