//! Logs an operator can use: pretty for terminals (ANSI colours only on a terminal),
//! JSON for collectors (each event once, with its request's span, not the span list),
//! one access-log line per request, and a request id that is also the `trace` of every
//! error body, so an id a customer reports can be found. Never a secret: handlers log
//! ids, not credentials, statements or tokens, and spans carry route templates, not URIs.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use tracing::{Instrument, Span};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    // A subscriber set earlier (tests) wins.
    let _ = result;
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the code handling one request knows about it without being passed it.
#[derive(Clone)]
pub struct RequestContext {
    pub id: Arc<str>,
    /// Where error bodies' `helpUrl` points (`<base>#<code>`).
    pub help_base: Arc<str>,
    /// The route template the router matched ([`note_route`]).
    route: OnceLock<MatchedPath>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The id that error bodies carry as `trace`: the current request's id, or a fresh
/// one outside a request.
pub fn trace_id() -> Arc<str> {
    CONTEXT
        .try_with(|c| c.id.clone())
        .unwrap_or_else(|_| Arc::from(uuid::Uuid::new_v4().to_string()))
}

/// Where error bodies' `helpUrl` points for the current request.
pub fn help_base() -> Arc<str> {
    CONTEXT
        .try_with(|c| c.help_base.clone())
        .unwrap_or_else(|_| Arc::from("/docs/errors"))
}

/// The client a response was for, when the handler knows it (token, verify,
/// registration): the access log names it.
#[derive(Clone, Debug)]
pub struct LoggedClient(pub String);

/// Makes request ids: unique across nodes (a random per-process prefix) and cheap (a
/// counter, not a UUID per request).
pub struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> Self {
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        let prefix = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    fn make(&self) -> String {
        format!(
            "{}-{:010x}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// A caller's `X-Request-Id` is kept when it is short and plain (a proxy's or a
/// load balancer's id); anything else is replaced.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The request's id: the caller's `X-Request-Id` when [`acceptable`], else a fresh one.
/// The request carries it on (handlers and proxies behind them see it).
pub fn request_id(request: &mut Request, ids: &RequestIds) -> Arc<str> {
    let id: Arc<str> = match request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
    {
        Some(given) => return Arc::from(given),
        None => Arc::from(ids.make()),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, v);
    }
    id
}

/// The response names the request's id.
pub fn echo_request_id(response: &mut Response, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
}

/// The context and span a request runs in. The span's `route` is filled in by
/// [`note_route`] once the router has matched one.
pub fn request_scope(id: Arc<str>, help_base: Arc<str>) -> (RequestContext, Span) {
    let span = tracing::info_span!("request", request_id = %id, route = tracing::field::Empty);
    let context = RequestContext {
        id,
        help_base,
        route: OnceLock::new(),
    };
    (context, span)
}

/// Runs `work` in the request's context and span; returns its output and the route
/// template the router matched, if any.
pub async fn in_scope<T>(
    context: RequestContext,
    span: Span,
    work: impl Future<Output = T>,
) -> (T, Option<MatchedPath>) {
    CONTEXT
        .scope(context, async {
            let output = work.await;
            let route = CONTEXT.with(|c| c.route.get().cloned());
            (output, route)
        })
        .instrument(span)
        .await
}

/// Applied inside the router (to every route): the matched route template is known
/// only there. Records it for the access log, the metrics and the span.
pub fn note_route(request: Request) -> Request {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        Span::current().record("route", route.as_str());
        let _ = CONTEXT.try_with(|c| c.route.set(route.clone()));
    }
    request
}

/// The access-log line of one answered request.
pub fn log_access(span: &Span, method: &Method, route: &str, response: &Response, took: Duration) {
    let client = response
        .extensions()
        .get::<LoggedClient>()
        .map(|c| c.0.as_str())
        .unwrap_or("");
    let _entered = span.enter();
    tracing::info!(
        target: "dcr::access",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms = took.as_secs_f64() * 1000.0,
        client_id = client,
        "request"
    );
}
