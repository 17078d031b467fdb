//! The example app on actix-web: `actix-app [--config FILE] [--listen ADDR]`.

use auth_examples::{Args, actix_app, init_tracing, service_from};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    init_tracing();
    let args = Args::from_env();
    let auth = service_from(&args).await;
    let listener = std::net::TcpListener::bind(args.listen)?;
    println!("actix-app listening on http://{}", listener.local_addr()?);
    actix_app::server(listener, auth, auth_examples::baseline::actix_workers())?.await
}
