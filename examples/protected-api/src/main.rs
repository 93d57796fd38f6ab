//! `protected-api`: run with `DCR_URL` (the dcr server) and `DCR_RESOURCE_SERVER_KEY`
//! (a resource-server API key); listens on `LISTEN` (default 127.0.0.1:8081).

use anyhow::Context;
use dcr_guard::{Guard, GuardConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let server = std::env::var("DCR_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key =
        std::env::var("DCR_RESOURCE_SERVER_KEY").context("DCR_RESOURCE_SERVER_KEY is required")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let guard = Guard::connect(GuardConfig::new(server, key))
        .await
        .context("connecting to dcr")?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    tracing::info!(%listen, "protected-api listening");
    axum::serve(listener, protected_api::router(guard)).await?;
    Ok(())
}
