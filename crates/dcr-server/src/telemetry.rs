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
use futures_util::FutureExt;
use tracing::{Instrument, Span};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

pub use crate::log_buffer::LogGuard;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
/// Lines reach stderr through [`crate::log_buffer`]; hold the guard until the process
/// ends.
pub fn init(config: &LogConfig) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::log_buffer::BufferedStderr);
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
    crate::log_buffer::spawn_flusher();
    LogGuard::new()
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the code handling one request knows about it without being passed it.
#[derive(Clone)]
pub struct RequestContext {
    /// As it travels in `X-Request-Id`: cloning it shares the bytes.
    pub id: HeaderValue,
    /// Where error bodies' `helpUrl` points (`<base>#<code>`).
    pub help_base: Arc<str>,
    /// The route template that answered ([`note_route`], [`note_fixed_route`]).
    route: OnceLock<Route>,
    /// The client the request was for, when the handler knows it ([`note_client`]).
    client: OnceLock<HeaderValue>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The id that error bodies carry as `trace`: the current request's id, or a fresh
/// one outside a request.
pub fn trace_id() -> Arc<str> {
    CONTEXT
        .try_with(|c| Arc::from(c.id.to_str().unwrap_or_default()))
        .unwrap_or_else(|_| Arc::from(uuid::Uuid::new_v4().to_string()))
}

/// Where error bodies' `helpUrl` points for the current request.
pub fn help_base() -> Arc<str> {
    CONTEXT
        .try_with(|c| c.help_base.clone())
        .unwrap_or_else(|_| Arc::from("/docs/errors"))
}

/// Names the client the current request was for (token, verify, registration): the
/// access log shows it. Outside a request it does nothing.
///
/// Kept as a header value, so verify can pass the one in its kept answer without a copy.
pub fn note_client(client_id: impl TryInto<HeaderValue>) {
    if let Ok(client_id) = client_id.try_into() {
        let _ = CONTEXT.try_with(|c| c.client.set(client_id));
    }
}

/// Makes request ids: unique across nodes (a random per-process prefix) and cheap (a
/// counter, not a UUID per request).
pub struct RequestIds {
    /// 12 lowercase hex digits.
    prefix: [u8; 12],
    next: AtomicU64,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl RequestIds {
    pub fn new() -> Self {
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        let mut prefix = [0u8; 12];
        for (pair, b) in prefix.chunks_exact_mut(2).zip(bytes) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    /// `<prefix>-<counter in hex, at least 10 digits>`, written into a stack buffer:
    /// one allocation per request (the header's bytes), shared by the request, the
    /// response and the context.
    fn make(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let digits = (16 - n.leading_zeros() as usize / 4).max(10);
        let mut id = [0u8; 12 + 1 + 16];
        id[..12].copy_from_slice(&self.prefix);
        id[12] = b'-';
        for (i, slot) in id[13..13 + digits].iter_mut().enumerate() {
            let shift = 4 * (digits - 1 - i);
            *slot = HEX[((n >> shift) & 0xf) as usize];
        }
        HeaderValue::from_bytes(&id[..13 + digits])
            .unwrap_or_else(|_| HeaderValue::from_static("unnamed"))
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
pub fn request_id(request: &mut Request, ids: &RequestIds) -> HeaderValue {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(acceptable));
    if let Some(given) = given {
        return given.clone();
    }
    let id = ids.make();
    request.headers_mut().insert(REQUEST_ID, id.clone());
    id
}

/// The response names the request's id.
pub fn echo_request_id(response: &mut Response, id: HeaderValue) {
    response.headers_mut().insert(REQUEST_ID, id);
}

/// The context and span a request runs in. The span's `route` is filled in by
/// [`note_route`] once the router has matched one.
pub fn request_scope(id: HeaderValue, help_base: Arc<str>) -> (RequestContext, Span) {
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        route = tracing::field::Empty
    );
    let context = RequestContext {
        id,
        help_base,
        route: OnceLock::new(),
        client: OnceLock::new(),
    };
    (context, span)
}

/// The route template a request was answered by.
#[derive(Clone)]
pub enum Route {
    /// Matched by the router ([`note_route`]).
    Matched(MatchedPath),
    /// Answered by the edge without the router ([`note_fixed_route`]).
    Fixed(&'static str),
}

impl Route {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(path) => path.as_str(),
            Self::Fixed(path) => path,
        }
    }
}

/// What the code handling a request noted about it, for its access-log line.
#[derive(Default)]
pub struct Noted {
    /// The route template the request was answered by.
    pub route: Option<Route>,
    /// [`note_client`]'s.
    pub client: Option<HeaderValue>,
}

/// Runs `work` in the request's context and span; returns its output and what was
/// noted about the request.
///
/// Built from combinators, not `async`: an `async` block keeps `work` twice in its
/// state (captured, and again where it is awaited), and hyper copies the whole request
/// future once per request.
pub fn in_scope<T>(
    context: RequestContext,
    span: Span,
    work: impl Future<Output = T>,
) -> impl Future<Output = (T, Noted)> {
    let noting = work.map(|output| {
        let noted = CONTEXT.with(|c| Noted {
            route: c.route.get().cloned(),
            client: c.client.get().cloned(),
        });
        (output, noted)
    });
    CONTEXT.scope(context, noting).instrument(span)
}

/// Applied inside the router (to every route): the matched route template is known
/// only there. Records it for the access log, the metrics and the span.
pub fn note_route(request: Request) -> Request {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        note(Route::Matched(route.clone()));
    }
    request
}

/// What [`note_route`] does, for a route the edge answers without the router.
pub fn note_fixed_route(route: &'static str) {
    note(Route::Fixed(route));
}

/// Records the route in the span and the request's context.
fn note(route: Route) {
    Span::current().record("route", route.as_str());
    let _ = CONTEXT.try_with(|c| c.route.set(route));
}

/// The access-log line of one answered request.
pub fn log_access(
    span: &Span,
    method: &Method,
    route: &str,
    client: Option<&str>,
    response: &Response,
    took: Duration,
) {
    let client = client.unwrap_or("");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(id: &HeaderValue) -> &str {
        id.to_str().unwrap_or_default()
    }

    /// `<12 hex digits>-<counter in hex, at least 10 digits>`, as `format!("{:010x}")`
    /// gave them, and still unique once the counter needs more than 10 digits.
    #[test]
    fn request_ids_are_prefix_dash_counter() {
        let ids = RequestIds::new();
        let first = ids.make();
        let (prefix, counter) = text(&first).split_once('-').unwrap_or_default();
        assert_eq!(prefix.len(), 12);
        assert!(prefix.bytes().all(|b| HEX.contains(&b)));
        assert_eq!(counter, "0000000001");
        assert_eq!(text(&ids.make()), format!("{prefix}-0000000002"));
        for n in [0xff_ffff_ffff_u64, 0x100_0000_0000, u64::MAX] {
            ids.next.store(n, Ordering::Relaxed);
            assert_eq!(text(&ids.make()), format!("{prefix}-{n:010x}"));
        }
    }

    #[test]
    fn a_plain_caller_id_is_kept_and_anything_else_replaced() {
        let ids = RequestIds::new();
        let mut given = Request::new(axum::body::Body::empty());
        given
            .headers_mut()
            .insert(REQUEST_ID, HeaderValue::from_static("lb-1234"));
        assert_eq!(request_id(&mut given, &ids), "lb-1234");
        let mut odd = Request::new(axum::body::Body::empty());
        odd.headers_mut()
            .insert(REQUEST_ID, HeaderValue::from_static("a b"));
        let made = request_id(&mut odd, &ids);
        assert_ne!(made, "a b");
        assert_eq!(odd.headers().get(REQUEST_ID), Some(&made));
    }
}
