//! The accept loop: hyper with explicit limits instead of `axum::serve`'s defaults.
//!
//! Every way a connection can hold one of the `max_connections` slots is timed:
//!
//! - **first request**: a new connection must deliver a complete request head within
//!   `header_read_timeout` (for HTTP/2: the preface, SETTINGS and a HEADERS block).
//!   This covers hyper-util's protocol sniffing, which reads without a timer, and a
//!   client that sends `P` and goes silent;
//! - **later heads** (HTTP/1): hyper's own header timer, restarted for each request;
//! - **idle**: a connection with no request in flight for `idle_timeout` is closed
//!   (HTTP/1 keep-alive and HTTP/2 alike); HTTP/2 also sends keep-alive pings and
//!   closes a peer that does not answer them;
//! - **bodies**: the body must arrive within `body_read_timeout` of the request head
//!   (`crate::edge` answers 408);
//! - heads must fit in `max_header_bytes` (HTTP/1 answers 431 beyond it).
//!
//! Further connections wait in the kernel's backlog (back-pressure, not failure). On
//! shutdown the loop stops accepting, asks every connection to finish (HTTP/2 GOAWAY,
//! HTTP/1 close after the current response) and waits up to `shutdown_grace`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::config::LimitsConfig;
use crate::edge::Edge;

/// How long a connection asked to close (idle, or shutting down with nothing in
/// flight) may take to do so before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// HTTP/2 keep-alive: ping a quiet peer this often, and give up when it does not answer.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The timers of one connection, from [`LimitsConfig`].
#[derive(Clone, Copy)]
struct Timers {
    header: Duration,
    idle: Duration,
}

pub async fn serve(
    listener: TcpListener,
    edge: Edge,
    limits: &LimitsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let timers = Timers {
        header: Duration::from_secs(limits.header_read_timeout_seconds),
        idle: Duration::from_secs(limits.idle_timeout_seconds),
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timers.header)
        .max_buf_size(limits.max_header_bytes.max(8192))
        // Our answers are small: copying the body in behind the head and sending one
        // buffer costs less than hyper's two-slice `writev` (verify +16%, /healthz
        // +20%, tokens unchanged, in one alternated run; see the commit).
        .writev(false);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    // Shared rather than cloned per request: an edge holds the router, the state and
    // the CORS layer.
    let edge = Arc::new(edge);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);

    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let edge = edge.clone();
            let activity = activity.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                let busy = activity.begin();
                let edge = edge.clone();
                async move {
                    let response = edge.handle(request.map(Body::new)).await;
                    drop(busy);
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut connection = pin!(
                builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned()
            );
            let closing = tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    None
                }
                why = activity.expired(timers) => Some(why),
                _ = stopping.wait_for(|stop| *stop) => Some(Closing::Shutdown),
            };
            match closing {
                None => {}
                // Nothing was ever asked: there is nothing to finish.
                Some(Closing::NoRequest) => {
                    tracing::debug!("connection sent no complete request in time");
                }
                Some(Closing::Idle) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
                }
                Some(Closing::Shutdown) => {
                    // In-flight requests finish; `serve` bounds the total wait.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }

    drop(listener);
    // Every connection task holds a slot: when all slots are back, all have ended.
    let _ = stop.send(true);
    let grace = Duration::from_secs(limits.shutdown_grace_seconds);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "in-flight requests did not finish within the shutdown grace period"
        );
    }
}

/// Why a connection is being closed by us.
enum Closing {
    NoRequest,
    Idle,
    Shutdown,
}

/// What a connection is doing: requests in flight, and when it last started or
/// finished one.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` of the last request start or end; `u64::MAX`
    /// until the first request.
    last_ms: AtomicU64,
}

/// Marks one request in flight until dropped.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(u64::MAX),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ms.store(ms, Ordering::Release);
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(self.clone())
    }

    /// Resolves when the connection should be closed: no first request within the
    /// header timeout, or nothing in flight for the idle timeout.
    async fn expired(&self, timers: Timers) -> Closing {
        loop {
            let last = self.last_ms.load(Ordering::Acquire);
            let deadline = if last == u64::MAX {
                self.opened + timers.header
            } else {
                self.opened + Duration::from_millis(last) + timers.idle
            };
            tokio::time::sleep_until(deadline).await;
            let now_last = self.last_ms.load(Ordering::Acquire);
            if now_last == u64::MAX {
                return Closing::NoRequest;
            }
            if now_last == last && self.in_flight.load(Ordering::Acquire) == 0 {
                return Closing::Idle;
            }
            if self.in_flight.load(Ordering::Acquire) > 0 && now_last == last {
                // A long request: look again one idle period later.
                tokio::time::sleep(timers.idle.min(Duration::from_secs(1))).await;
            }
        }
    }
}
