//! Logs an operator can use: pretty for terminals (ANSI colours only on a terminal),
//! JSON for collectors (each event once, with its request's span, not the span list),
//! one access-log line per request, and a request id that is also the `trace` of every
//! error body, so an id a customer reports can be found. Never a secret: handlers log
//! ids, not credentials, statements or tokens, and spans carry route templates, not URIs.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
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

/// The outermost middleware: names the request, runs it in a span and in its
/// [`RequestContext`], echoes the id, and writes the access-log line.
pub async fn access(
    State((ids, help_base)): State<(Arc<RequestIds>, Arc<str>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let id: Arc<str> = match request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
    {
        Some(given) => Arc::from(given),
        None => Arc::from(ids.make()),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, v);
    }
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!("request", request_id = %id, route = %route);
    let context = RequestContext {
        id: id.clone(),
        help_base,
    };
    let mut response = CONTEXT
        .scope(context, next.run(request).instrument(span.clone()))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let status = response.status().as_u16();
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
        status,
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        client_id = client,
        "request"
    );
    response
}
