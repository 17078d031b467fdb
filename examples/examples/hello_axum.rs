//! The load-test baseline on axum: `GET /api/hello` → `{"hello":"a@example.com"}` and
//! `GET /health` → `ok`, WITHOUT the login layer.
//!
//! `cargo run --release -p auth-examples --example hello_axum -- --listen 127.0.0.1:3100`
//!
//! Same runtime, router shape and JSON handler as `axum-app`, so `scripts/bench.sh` compares
//! the two and the difference is the cost of `AuthLayer`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = auth_examples::Args::from_env();
    let app = auth_examples::baseline::axum_router();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("hello_axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}
