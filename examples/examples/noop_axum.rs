//! The load-test floor of a layer on axum: `hello_axum` plus a middleware that does nothing,
//! installed like `AuthLayer` (`Router::layer`).
//!
//! `cargo run --release -p auth-examples --example noop_axum -- --listen 127.0.0.1:3102`
//!
//! `Router::layer` wraps every route in the layer and boxes the result again, so any
//! middleware installed this way costs a clone of two boxed services and a second boxed future
//! per request, before it does anything. `scripts/bench.sh` measures this server against hello,
//! beside `AuthLayer`, so the guard's own cost can be told from the cost of being a layer.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

/// A layer whose service passes every request through untouched.
#[derive(Clone)]
struct Noop;

impl<S> Layer<S> for Noop {
    type Service = PassThrough<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PassThrough(inner)
    }
}

#[derive(Clone)]
struct PassThrough<S>(S);

impl<S: Service<R>, R> Service<R> for PassThrough<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.0.call(req)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = auth_examples::Args::from_env();
    let app = auth_examples::baseline::axum_router().layer(Noop);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("noop_axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}
