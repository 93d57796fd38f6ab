//! Throttling of the `/o/client/*` endpoints (and `/oauth2/token`): one token bucket
//! per device (client IP), shared by the throttled endpoints unless one is configured
//! with a bucket of its own. Local buckets by default; with `redis_url`, one budget
//! across every node through a GCRA script on the Redis server's clock, falling back
//! to local buckets (logged and counted) while Redis is unreachable.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dcr_core::throttle::{
    BucketSpec, LocalBuckets, TrustedProxies, device_key, retry_after_seconds,
};

use crate::config::ThrottleConfig;
use crate::error::EnhancedFailure;

/// Endpoints that can be throttled, by configuration name: `register`, `token`
/// (both token endpoints and RFC 7009 revocation) and `manage` (RFC 7592 read and
/// delete of a registration).
pub const ENDPOINTS: &[&str] = &["register", "token", "manage"];

/// Endpoints with a bucket of their own even when configured with no numbers: an app
/// uninstalling itself must get through a device that spent its shared bucket.
const OWN_BUCKET_BY_DEFAULT: &[&str] = &["manage"];

/// Longest a Redis connect or command may take before the local bucket decides instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// The circuit breaker's first wait before probing Redis again, and its cap.
const FIRST_PROBE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_PROBE_BACKOFF: Duration = Duration::from_secs(30);

/// One bucket family: a name (the Redis key prefix) and its local buckets.
struct Bucket {
    name: String,
    local: LocalBuckets,
}

pub struct Throttle {
    proxies: Arc<TrustedProxies>,
    /// Per endpoint: `None` when exempt.
    routes: HashMap<&'static str, Option<Arc<Bucket>>>,
    buckets: Vec<Arc<Bucket>>,
    redis: Option<RedisGcra>,
    ipv6_prefix: u8,
}

impl Throttle {
    /// `None` when throttling is disabled.
    pub fn from_config(
        config: &ThrottleConfig,
        redis_url: Option<&str>,
        proxies: Arc<TrustedProxies>,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        if !config.enabled {
            return Ok(None);
        }
        let shared = Arc::new(Bucket {
            name: "device".into(),
            local: LocalBuckets::new(
                BucketSpec {
                    capacity: config.capacity,
                    refill_per_second: config.refill_per_second,
                },
                config.max_tracked_keys,
            )
            .with_ipv6_prefix(config.ipv6_prefix_length),
        });
        let mut buckets = vec![shared.clone()];
        let mut routes = HashMap::new();
        for name in ENDPOINTS {
            let endpoint = config.endpoints.get(*name).cloned().unwrap_or_default();
            let bucket = if !endpoint.enabled {
                None
            } else if endpoint.capacity.is_some()
                || endpoint.refill_per_second.is_some()
                || OWN_BUCKET_BY_DEFAULT.contains(name)
            {
                let own = Arc::new(Bucket {
                    name: (*name).to_owned(),
                    local: LocalBuckets::new(
                        BucketSpec {
                            capacity: endpoint.capacity.unwrap_or(config.capacity),
                            refill_per_second: endpoint
                                .refill_per_second
                                .unwrap_or(config.refill_per_second),
                        },
                        config.max_tracked_keys,
                    )
                    .with_ipv6_prefix(config.ipv6_prefix_length),
                });
                buckets.push(own.clone());
                Some(own)
            } else {
                Some(shared.clone())
            };
            routes.insert(*name, bucket);
        }
        let redis = redis_url.map(RedisGcra::new).transpose()?;
        Ok(Some(Arc::new(Self {
            proxies,
            routes,
            buckets,
            redis,
            ipv6_prefix: config.ipv6_prefix_length,
        })))
    }

    /// `Ok` when the request may proceed, else how long the device must wait.
    pub async fn check(&self, endpoint: &str, client: IpAddr) -> Result<(), Duration> {
        let Some(Some(bucket)) = self.routes.get(endpoint) else {
            return Ok(());
        };
        if let Some(redis) = &self.redis {
            let key = device_key(client, self.ipv6_prefix);
            // On failure the breaker has logged and counted the outage once.
            if let Ok(decision) = redis.check(&bucket.name, key, bucket.local.spec()).await {
                return decision;
            }
        }
        bucket.local.check(client)
    }

    /// Connects to Redis, when configured (bounded; a failure opens the breaker).
    pub async fn start(&self) {
        if let Some(redis) = &self.redis {
            redis.start().await;
        }
    }

    /// Drops buckets that are full again (run on a timer).
    pub fn prune(&self) {
        for b in &self.buckets {
            b.local.prune();
        }
    }
}

/// Middleware for one throttled endpoint.
pub async fn limit(
    State((throttle, endpoint)): State<(Arc<Throttle>, &'static str)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match admit(&throttle, endpoint, peer, request.headers()).await {
        Ok(()) => next.run(request).await,
        Err(refused) => refused,
    }
}

/// What [`limit`] decides, for a route the edge answers without the router: `Err`
/// holds the 429 to send instead of the endpoint's answer.
pub async fn admit(
    throttle: &Throttle,
    endpoint: &'static str,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let client = crate::extract::client_ip(&throttle.proxies, peer.ip(), headers);
    throttle.check(endpoint, client).await.map_err(|wait| {
        crate::metrics::throttled(endpoint);
        let seconds = retry_after_seconds(wait);
        EnhancedFailure::too_many_requests(
            wait,
            format!("too many requests from this device; retry in {seconds} s"),
        )
        .into_response()
    })
}

/// GCRA in Redis: one atomic script per request, timed by the Redis server's clock so
/// nodes with skewed clocks still share one budget. The key holds the "theoretical
/// arrival time" in milliseconds and expires once the bucket would be full again.
///
/// A Redis that is down, slow or silent must not slow requests down, so:
/// - connecting and every command are bounded by [`REDIS_TIMEOUT`];
/// - the connection is cloned out of a lock that is never held across I/O;
/// - after a failure a circuit breaker opens: requests use local buckets without
///   trying Redis, while one background task probes Redis with an exponential backoff
///   (capped at [`MAX_PROBE_BACKOFF`]) and closes the breaker when Redis answers.
///   Each transition is logged and counted once.
struct RedisGcra {
    shared: Arc<RedisShared>,
    script: redis::Script,
}

struct RedisShared {
    client: redis::Client,
    connection: std::sync::RwLock<Option<redis::aio::MultiplexedConnection>>,
    /// Open: decide locally without trying Redis.
    open: AtomicBool,
    /// A probe task is running.
    probing: AtomicBool,
}

const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return 0
";

impl RedisGcra {
    fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            shared: Arc::new(RedisShared {
                client: redis::Client::open(url).map_err(|e| anyhow::anyhow!("redis_url: {e}"))?,
                connection: std::sync::RwLock::new(None),
                open: AtomicBool::new(false),
                probing: AtomicBool::new(false),
            }),
            script: redis::Script::new(GCRA),
        })
    }

    /// Connects at start-up (bounded); on failure the breaker opens and the prober
    /// keeps trying in the background.
    async fn start(&self) {
        match self.shared.connect().await {
            Ok(conn) => self.shared.set_connection(Some(conn)),
            Err(e) => self.shared.trip(&e),
        }
    }

    async fn check(
        &self,
        bucket: &str,
        ip: IpAddr,
        spec: BucketSpec,
    ) -> Result<Result<(), Duration>, String> {
        if self.shared.open.load(Ordering::Acquire) {
            return Err("circuit open".into());
        }
        let Some(mut conn) = self.shared.current() else {
            self.shared.trip("no connection");
            return Err("no connection".into());
        };
        let interval_ms = (spec.emission_interval().as_secs_f64() * 1000.0)
            .ceil()
            .max(1.0) as u64;
        let key = format!("dcr:throttle:{bucket}:{ip}");
        let mut invocation = self.script.key(key);
        invocation.arg(interval_ms).arg(spec.capacity.max(1));
        let call = invocation.invoke_async::<i64>(&mut conn);
        let wait_ms = match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(ms)) => ms,
            Ok(Err(e)) => {
                let e = e.to_string();
                self.shared.trip(&e);
                return Err(e);
            }
            Err(_) => {
                self.shared.trip("command timed out");
                return Err("Redis call timed out".into());
            }
        };
        Ok(if wait_ms <= 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(
                u64::try_from(wait_ms).unwrap_or(1000),
            ))
        })
    }
}

impl RedisShared {
    fn current(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.connection
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_connection(&self, conn: Option<redis::aio::MultiplexedConnection>) {
        *self
            .connection
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = conn;
    }

    /// A new connection that has answered a PING, within [`REDIS_TIMEOUT`] each.
    async fn connect(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let mut conn = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
        let ping = redis::cmd("PING");
        tokio::time::timeout(REDIS_TIMEOUT, ping.query_async::<String>(&mut conn))
            .await
            .map_err(|_| "PING timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }

    /// Opens the breaker (once per outage) and starts the prober.
    fn trip(self: &Arc<Self>, why: &str) {
        self.set_connection(None);
        if !self.open.swap(true, Ordering::AcqRel) {
            crate::metrics::redis_outage(true);
            tracing::warn!(
                error = why,
                "Redis unreachable; throttling with local buckets until it answers again"
            );
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut backoff = FIRST_PROBE_BACKOFF;
            loop {
                tokio::time::sleep(backoff).await;
                let Some(this) = this.upgrade() else { return };
                match this.connect().await {
                    Ok(conn) => {
                        this.set_connection(Some(conn));
                        this.open.store(false, Ordering::Release);
                        this.probing.store(false, Ordering::Release);
                        crate::metrics::redis_outage(false);
                        tracing::info!("Redis answers again; throttling with shared buckets");
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, ?backoff, "Redis probe failed");
                        backoff = (backoff * 2).min(MAX_PROBE_BACKOFF);
                    }
                }
            }
        });
    }
}
