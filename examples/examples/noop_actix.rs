//! The load-test floor of a middleware on actix-web: `hello_actix` plus a middleware that does
//! nothing, installed like `AuthMiddleware` (`App::wrap`, here through `wrap_fn`, which
//! returns the application's own future: no box).
//!
//! `cargo run --release -p auth-examples --example noop_actix -- --listen 127.0.0.1:3103`
//!
//! `scripts/bench.sh` measures this server against hello, beside `AuthMiddleware`, so the
//! guard's own cost can be told from the cost of being a middleware.

use actix_web::dev::Service as _;
use actix_web::{App, HttpServer};
use auth_examples::baseline;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = auth_examples::Args::from_env();
    let listener = std::net::TcpListener::bind(args.listen)?;
    println!("noop_actix listening on http://{}", listener.local_addr()?);
    HttpServer::new(|| App::new().wrap_fn(|req, srv| srv.call(req)).configure(baseline::actix_routes))
        .workers(baseline::actix_workers())
        .listen(listener)?
        .run()
        .await
}
