//! One module per feature, each with its own `router()`, merged once in [`router`].

mod admin;
pub mod dashboard;
mod discovery;
mod docs;
mod health;
mod register;
mod resource;
pub mod token;
pub mod verify;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use dcr_proto::EnhancedErrorCode;

use crate::error::EnhancedFailure;
use crate::state::AppState;

/// Every route of the service.
pub fn router(
    state: AppState,
    cors: Option<tower_http::cors::CorsLayer>,
    dashboard: std::sync::Arc<dashboard::Dashboard>,
) -> Router {
    // What browsers and smart-TV web apps call from their own origin. The 405 fallback
    // is set before the CORS layer so preflights (OPTIONS) reach the layer; set on the
    // outer router it would replace the layered fallback of these routes.
    let public = Router::new()
        .merge(discovery::router())
        .merge(throttled(register::router(), &state, "register"))
        .merge(throttled(register::management_router(), &state, "manage"))
        .merge(throttled(token::router(), &state, token::THROTTLED_AS))
        .method_not_allowed_fallback(method_not_allowed);
    let public = match cors {
        Some(layer) => public.layer(layer),
        None => public,
    };
    let private = Router::new()
        .merge(health::router())
        .merge(docs::router())
        .merge(verify::router())
        .merge(resource::router())
        .nest("/admin/v1", admin::router(state.clone()))
        .merge(dashboard::router(dashboard))
        .route("/metrics", axum::routing::get(crate::metrics::render))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .merge(public)
        .merge(private)
        .fallback(not_found)
        .with_state(state)
}

/// Applies the endpoint's throttle, when throttling is on.
fn throttled(
    router: Router<AppState>,
    state: &AppState,
    endpoint: &'static str,
) -> Router<AppState> {
    match &state.throttle {
        Some(t) => router.route_layer(axum::middleware::from_fn_with_state(
            (t.clone(), endpoint),
            crate::throttle::limit,
        )),
        None => router,
    }
}

async fn not_found(uri: Uri) -> EnhancedFailure {
    let _ = uri;
    EnhancedFailure::new(
        StatusCode::NOT_FOUND,
        EnhancedErrorCode::NotFound,
        "no such endpoint",
    )
}

async fn method_not_allowed(method: Method) -> EnhancedFailure {
    EnhancedFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        EnhancedErrorCode::InvalidRequest,
        format!("method {method} is not allowed here"),
    )
}
