//! Token buckets in Redis (GCRA), shared by every node: the throttle's buckets and
//! the limit on failed authentications. A Redis that is down, slow or silent must
//! not slow requests down: callers fall back to local buckets whenever this answers
//! `Err`.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dcr_core::throttle::BucketSpec;

/// Longest a Redis connect or command may take before the local bucket decides instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// The circuit breaker's first wait before probing Redis again, and its cap.
const FIRST_PROBE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_PROBE_BACKOFF: Duration = Duration::from_secs(30);

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
pub struct RedisGcra {
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
    pub fn new(url: &str) -> anyhow::Result<Self> {
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
    pub async fn start(&self) {
        match self.shared.connect().await {
            Ok(conn) => self.shared.set_connection(Some(conn)),
            Err(e) => self.shared.trip(&e),
        }
    }

    pub async fn check(
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
