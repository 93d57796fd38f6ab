//! Throttling of the `/o/client/*` endpoints (and `/oauth2/token`): one token bucket
//! per device (client IP), shared by the throttled endpoints unless one is configured
//! with a bucket of its own. Local buckets by default; with `redis_url`, one budget
//! across every node through a GCRA script on the Redis server's clock, falling back
//! to local buckets (logged and counted) while Redis is unreachable.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dcr_core::throttle::{BucketSpec, LocalBuckets, TrustedProxies, retry_after_seconds};
use dcr_proto::EnhancedErrorCode;

use crate::config::ThrottleConfig;
use crate::error::EnhancedFailure;

/// Endpoints that can be throttled, by configuration name.
pub const ENDPOINTS: &[&str] = &["register", "token"];

/// Longest a Redis round trip may take before the local bucket decides instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

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
    /// Decisions taken locally because Redis was unreachable.
    pub redis_fallbacks: AtomicU64,
    /// Requests refused with 429.
    pub throttled: AtomicU64,
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
            ),
        });
        let mut buckets = vec![shared.clone()];
        let mut routes = HashMap::new();
        for name in ENDPOINTS {
            let endpoint = config.endpoints.get(*name).cloned().unwrap_or_default();
            let bucket = if !endpoint.enabled {
                None
            } else if endpoint.capacity.is_some() || endpoint.refill_per_second.is_some() {
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
                    ),
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
            redis_fallbacks: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        })))
    }

    /// `Ok` when the request may proceed, else how long the device must wait.
    pub async fn check(&self, endpoint: &str, client: IpAddr) -> Result<(), Duration> {
        let Some(Some(bucket)) = self.routes.get(endpoint) else {
            return Ok(());
        };
        if let Some(redis) = &self.redis {
            match redis.check(&bucket.name, client, bucket.local.spec()).await {
                Ok(decision) => return decision,
                Err(e) => {
                    let n = self.redis_fallbacks.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::redis_fallback();
                    // One line per hundred fallbacks: loud enough, never a log flood.
                    if n.is_multiple_of(100) {
                        tracing::warn!(error = %e, fallbacks = n + 1, "Redis unreachable; throttling with local buckets");
                    }
                }
            }
        }
        bucket.local.check(client)
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
    let client = crate::extract::client_ip(&throttle.proxies, peer.ip(), request.headers());
    match throttle.check(endpoint, client).await {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            throttle.throttled.fetch_add(1, Ordering::Relaxed);
            crate::metrics::throttled(endpoint);
            let seconds = retry_after_seconds(wait);
            let mut response = EnhancedFailure::new(
                StatusCode::TOO_MANY_REQUESTS,
                EnhancedErrorCode::TooManyRequests,
                format!("too many requests from this device; retry in {seconds} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

/// GCRA in Redis: one atomic script per request, timed by the Redis server's clock so
/// nodes with skewed clocks still share one budget. The key holds the "theoretical
/// arrival time" in milliseconds and expires once the bucket would be full again.
struct RedisGcra {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<(redis::aio::ConnectionManager, Instant)>>,
    script: redis::Script,
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
            client: redis::Client::open(url).map_err(|e| anyhow::anyhow!("redis_url: {e}"))?,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(GCRA),
        })
    }

    async fn connection(&self) -> Result<redis::aio::ConnectionManager, String> {
        let mut slot = self.connection.lock().await;
        if let Some((conn, _)) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_connection_manager())
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        *slot = Some((conn.clone(), Instant::now()));
        Ok(conn)
    }

    async fn check(
        &self,
        bucket: &str,
        ip: IpAddr,
        spec: BucketSpec,
    ) -> Result<Result<(), Duration>, String> {
        let mut conn = self.connection().await?;
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
                self.connection.lock().await.take();
                return Err(e.to_string());
            }
            Err(_) => return Err("Redis call timed out".into()),
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
