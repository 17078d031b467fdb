//! The example app on axum: `axum-app [--config FILE] [--listen ADDR]`.

use auth_examples::{Args, axum_app, init_tracing, service_from};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    init_tracing();
    let args = Args::from_env();
    let auth = service_from(&args).await;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("axum-app listening on http://{}", listener.local_addr()?);
    axum_app::serve(listener, auth).await
}
