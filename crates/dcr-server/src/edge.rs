//! What happens to every request around the router, in one place: its id, span and
//! access-log line ([`crate::telemetry`]), the body and request deadlines
//! ([`crate::deadline`]), the service-wide concurrency cap, panic catching, and the
//! request metrics ([`crate::metrics`]).
//!
//! One `async fn` rather than a stack of `axum::middleware::from_fn` layers: a layer
//! given to `Router::layer` wraps every route separately, and on each request boxes its
//! future and clones the whole stack below it. Five such layers cost more than the
//! verify handler itself (`bench/run.sh`, figures in the commit that made this).
//! Only one thing must happen inside the router, because only the router knows it:
//! which route template matched ([`crate::telemetry::note_route`]). Which route answers
//! is [`Routes`]'s business: the edge knows no path.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dcr_proto::EnhancedErrorCode;
use futures_util::FutureExt;
use tokio::sync::Semaphore;

use crate::config::LimitsConfig;
use crate::deadline::{self, Deadlines};
use crate::error::EnhancedFailure;
use crate::routes::Routes;
use crate::telemetry::{self, RequestIds};

/// The routes with everything every request goes through. One for the whole
/// service, shared by every connection.
pub struct Edge {
    routes: Routes,
    ids: RequestIds,
    help_base: Arc<str>,
    deadlines: Deadlines,
    /// One cap for the whole service, not one per route.
    slots: Semaphore,
}

impl Edge {
    pub fn new(routes: Routes, limits: &LimitsConfig, help_base: Arc<str>) -> Self {
        Self {
            routes,
            ids: RequestIds::new(),
            help_base,
            deadlines: Deadlines {
                body: Duration::from_secs(limits.body_read_timeout_seconds),
                request: Duration::from_secs(limits.request_timeout_seconds),
            },
            slots: Semaphore::new(limits.max_concurrent_requests),
        }
    }

    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Answers one request: never fails, never panics.
    pub async fn handle(&self, mut request: Request) -> Response {
        let start = Instant::now();
        let id = telemetry::request_id(&mut request, &self.ids);
        let method = request.method().clone();
        let (context, span) = telemetry::request_scope(id.clone(), self.help_base.clone());
        let (mut response, noted) =
            telemetry::in_scope(context, span.clone(), self.answer(request)).await;
        telemetry::echo_request_id(&mut response, id);
        let route = noted.route.as_ref().map_or("unmatched", |r| r.as_str());
        let took = start.elapsed();
        crate::metrics::request_done(route, &method, response.status(), took);
        let client = noted.client.as_ref().and_then(|c| c.to_str().ok());
        telemetry::log_access(&span, &method, route, client, &response, took);
        response
    }

    /// The router's answer within the deadlines and the concurrency cap, or the
    /// documented error when a deadline passes or a handler panics.
    async fn answer(&self, request: Request) -> Response {
        let limits = self.deadlines;
        let oauth = deadline::speaks_oauth(request.uri().path());
        // A request without a body (most GETs, every verify) has nothing to time.
        let (request, body_timed_out) = if request.body().is_end_stream() {
            (request, None)
        } else {
            let (request, flag) = deadline::limit_body(request, limits.body);
            (request, Some(flag))
        };
        let routed = async {
            // Only `close()` makes acquiring fail, and nothing closes this semaphore.
            let _permit = self.slots.acquire().await;
            AssertUnwindSafe(self.routes.answer(request))
                .catch_unwind()
                .await
        };
        match tokio::time::timeout(limits.request, routed).await {
            // Whatever the handler made of the failed read, the client was too slow.
            Ok(_) if body_timed_out.is_some_and(|flag| flag.is_set()) => {
                deadline::timeout_response(
                    oauth,
                    format!(
                        "the request body did not arrive within {} s",
                        limits.body.as_secs()
                    ),
                )
            }
            Ok(Ok(response)) => response,
            Ok(Err(_panic)) => panic_response(),
            Err(_) => deadline::timeout_response(
                oauth,
                format!(
                    "the request was not answered within {} s",
                    limits.request.as_secs()
                ),
            ),
        }
    }
}

fn panic_response() -> Response {
    tracing::error!("a request handler panicked");
    EnhancedFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        EnhancedErrorCode::InternalError,
        "internal error",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;

    use super::*;

    fn edge(router: Router) -> Edge {
        let limits = LimitsConfig {
            request_timeout_seconds: 1,
            ..LimitsConfig::default()
        };
        Edge::new(Routes::plain(router), &limits, Arc::from("/docs/errors"))
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_in_the_documented_shape() {
        async fn boom() -> &'static str {
            panic!("handler bug")
        }
        let edge = edge(Router::new().route("/boom", get(boom)));
        let request = Request::builder()
            .uri("/boom")
            .header("x-request-id", "probe-1")
            .body(Body::empty())
            .unwrap_or_default();
        let response = edge.handle(request).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-request-id"], "probe-1");
        let body = body_text(response).await;
        assert!(body.contains(r#""code":"internal_error""#), "{body}");
        assert!(body.contains(r#""trace":"probe-1""#), "{body}");
        // The service goes on answering.
        let request = Request::builder()
            .uri("/none")
            .body(Body::empty())
            .unwrap_or_default();
        assert_eq!(edge.handle(request).await.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_handler_past_the_request_deadline_is_answered_408() {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late"
        }
        let edge = edge(Router::new().route("/o/auth/verify", get(slow)));
        let request = Request::builder()
            .uri("/o/auth/verify")
            .body(Body::empty())
            .unwrap_or_default();
        let response = edge.handle(request).await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        let body = body_text(response).await;
        assert!(body.contains(r#""code":"request_timeout""#), "{body}");
    }
}
