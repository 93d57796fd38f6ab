//! One module per feature, each with its own `router()`, merged once in [`Routes`],
//! the one front door every request comes in by.

mod admin;
pub mod dashboard;
mod discovery;
mod docs;
mod health;
mod register;
mod resource;
mod token;
mod verify;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post_service;
use dcr_proto::EnhancedErrorCode;
use tower::ServiceExt;
use tower::util::{Either, MapRequestLayer};
use tower_http::cors::{Cors, CorsLayer};

use crate::error::EnhancedFailure;
use crate::state::AppState;
use crate::throttle::{ThrottleLayer, Throttled};

/// A token endpoint with what the router puts around it: the public routes' CORS layer
/// (when configured) outside, the `token` throttle inside.
type TokenService = Either<Cors<Throttled<token::Token>>, Throttled<token::Token>>;

/// Every route of the service, and the one door requests come in by.
///
/// Most requests go through the router. Forward auth and the token endpoints, the two
/// busiest calls, are answered without it when the request names them exactly (the
/// router's share of a request: finding the route, a boxed clone of its service stack,
/// a boxed handler future, the matched path; a tenth of a verification and a
/// twentieth of a token), by the same service values the router's routes hold, built
/// once here with their layers: the two ways in cannot differ, and a layer added to
/// one of these services is added to both. `tests/api/front_door.rs` sends the same
/// requests both ways and compares the answers byte for byte.
pub struct Routes {
    router: Router,
    /// `None` for a plain router ([`Routes::plain`]).
    fast: Option<Fast>,
}

/// The services the fast path shares with the router.
struct Fast {
    verify: verify::Verify,
    adobe_token: TokenService,
    oauth2_token: TokenService,
}

impl Routes {
    pub fn new(
        state: AppState,
        cors: Option<CorsLayer>,
        dashboard: std::sync::Arc<dashboard::Dashboard>,
    ) -> Self {
        let token = |success| -> TokenService {
            let throttled = tower::Layer::layer(
                &ThrottleLayer::new(state.throttle.clone(), token::THROTTLED_AS),
                token::Token::new(state.clone(), success),
            );
            match &cors {
                Some(cors) => Either::Left(tower::Layer::layer(cors, throttled)),
                None => Either::Right(throttled),
            }
        };
        let verify = verify::Verify::new(state.clone());
        let adobe_token = token(StatusCode::CREATED);
        let oauth2_token = token(StatusCode::OK);
        // The router holds the token services without their CORS layer: the public
        // routes' layer is around the whole group (and answers preflights).
        let inner = |service: &TokenService| match service {
            Either::Left(cors) => cors.get_ref().clone(),
            Either::Right(throttled) => throttled.clone(),
        };
        // What browsers and smart-TV web apps call from their own origin. The 405
        // fallback is set before the CORS layer so preflights (OPTIONS) reach the
        // layer; set on the outer router it would replace the layered fallback of
        // these routes.
        let public = Router::new()
            .merge(discovery::router())
            .merge(throttled(register::router(), &state, "register"))
            .merge(throttled(register::management_router(), &state, "manage"))
            .merge(throttled(token::router(), &state, token::THROTTLED_AS))
            .route(token::ADOBE_PATH, post_service(inner(&adobe_token)))
            .route(token::OAUTH2_PATH, post_service(inner(&oauth2_token)))
            .method_not_allowed_fallback(method_not_allowed);
        let public = match &cors {
            Some(layer) => public.layer(layer.clone()),
            None => public,
        };
        let private = Router::new()
            .merge(health::router())
            .merge(docs::router())
            .merge(verify.router())
            .merge(resource::router())
            .nest("/admin/v1", admin::router(state.clone()))
            .merge(dashboard::router(dashboard))
            .route("/metrics", axum::routing::get(crate::metrics::render))
            .method_not_allowed_fallback(method_not_allowed);
        let note_route: fn(Request) -> Request = crate::telemetry::note_route;
        let router = Router::new()
            .merge(public)
            .merge(private)
            .fallback(not_found)
            .with_state(state)
            .layer(MapRequestLayer::new(note_route));
        Self {
            router,
            fast: Some(Fast {
                verify,
                adobe_token,
                oauth2_token,
            }),
        }
    }

    /// Any router, with no fast path (the edge's own tests).
    pub fn plain(router: Router) -> Self {
        let note_route: fn(Request) -> Request = crate::telemetry::note_route;
        Self {
            router: router.layer(MapRequestLayer::new(note_route)),
            fast: None,
        }
    }

    /// The answer to one request: the fast path when it names forward auth or a token
    /// endpoint exactly, the router otherwise.
    pub async fn answer(&self, request: Request) -> Response {
        let Some(fast) = &self.fast else {
            return self.through_router(request).await;
        };
        let path = request.uri().path();
        if path == verify::PATH {
            crate::telemetry::note_fixed_route(verify::PATH);
            return fast
                .verify
                .answer(request.method(), request.headers())
                .await;
        }
        if request.method() == Method::POST
            && request
                .extensions()
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .is_some()
        {
            let token = match path {
                token::ADOBE_PATH => Some((token::ADOBE_PATH, &fast.adobe_token)),
                token::OAUTH2_PATH => Some((token::OAUTH2_PATH, &fast.oauth2_token)),
                _ => None,
            };
            if let Some((route, service)) = token {
                crate::telemetry::note_fixed_route(route);
                let Ok(response) = service.clone().oneshot(request).await;
                return response;
            }
        }
        self.through_router(request).await
    }

    /// The router's answer alone (what the fast path must equal).
    pub async fn through_router(&self, request: Request) -> Response {
        let Ok(response) = self.router.clone().oneshot(request).await;
        response
    }

    /// The router, for tests and tools that serve one directly.
    pub fn router(&self) -> Router {
        self.router.clone()
    }
}

/// Applies the endpoint's throttle, when throttling is on.
fn throttled(
    router: Router<AppState>,
    state: &AppState,
    endpoint: &'static str,
) -> Router<AppState> {
    match &state.throttle {
        Some(t) => router.route_layer(ThrottleLayer::new(Some(t.clone()), endpoint)),
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
