//! An API protected by `dcr-guard`, the shape of Adobe's
//! `GET /api/v2/{serviceProvider}/configuration`: the caller needs scope
//! `api:client:v2` and a token that covers the channel named in the path.

use axum::routing::get;
use axum::{Json, Router};
use dcr_guard::{Guard, GuardLayer, VerifiedClient};
use serde_json::{Value, json};

/// The scope the configuration route requires.
pub const SCOPE: &str = "api:client:v2";

pub fn router(guard: Guard) -> Router {
    let protected = Router::new()
        .route(
            "/api/v2/{serviceProvider}/configuration",
            get(configuration),
        )
        .route_layer(
            GuardLayer::new(guard)
                .require_scope(SCOPE)
                .channel_param("serviceProvider"),
        );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(protected)
}

async fn configuration(
    client: VerifiedClient,
    axum::extract::Path(service_provider): axum::extract::Path<String>,
) -> Json<Value> {
    Json(json!({
        "serviceProvider": service_provider,
        "client_id": client.client_id,
        "application": client.application_id,
        "programmer": client.programmer,
        "scopes": client.scopes,
        "mvpds": [],
    }))
}
