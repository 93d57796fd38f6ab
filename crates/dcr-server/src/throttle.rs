//! Throttling of the `/o/client/*` endpoints (and `/oauth2/token`): one token bucket
//! per device (client IP), shared by the throttled endpoints unless one is configured
//! with a bucket of its own. Local buckets by default; with `redis_url`, one budget
//! across every node through a GCRA script on the Redis server's clock, falling back
//! to local buckets (logged and counted) while Redis is unreachable.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use dcr_core::throttle::{
    BucketSpec, LocalBuckets, TrustedProxies, device_key, retry_after_seconds,
};

use crate::config::ThrottleConfig;
use crate::error::EnhancedFailure;
use crate::redis_gcra::RedisGcra;

/// Endpoints that can be throttled, by configuration name: `register`, `token`
/// (both token endpoints and RFC 7009 revocation) and `manage` (RFC 7592 read and
/// delete of a registration).
pub const ENDPOINTS: &[&str] = &["register", "token", "manage"];

/// Endpoints with a bucket of their own even when configured with no numbers: an app
/// uninstalling itself must get through a device that spent its shared bucket.
const OWN_BUCKET_BY_DEFAULT: &[&str] = &["manage"];

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

/// Throttles the service it wraps as `endpoint` (a tower layer: the routes use it with
/// `route_layer`, and the token endpoints' service values carry it, so the router and
/// the fast path throttle alike). `None`: throttling is off.
#[derive(Clone)]
pub struct ThrottleLayer {
    throttle: Option<Arc<Throttle>>,
    endpoint: &'static str,
}

impl ThrottleLayer {
    pub fn new(throttle: Option<Arc<Throttle>>, endpoint: &'static str) -> Self {
        Self { throttle, endpoint }
    }
}

impl<S> tower::Layer<S> for ThrottleLayer {
    type Service = Throttled<S>;

    fn layer(&self, inner: S) -> Throttled<S> {
        Throttled {
            layer: self.clone(),
            inner,
        }
    }
}

/// A service behind the device throttle ([`ThrottleLayer`]).
#[derive(Clone)]
pub struct Throttled<S> {
    layer: ThrottleLayer,
    inner: S,
}

impl<S> tower::Service<Request> for Throttled<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was made ready answers; this one keeps serving.
        let inner = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, inner);
        let layer = self.layer.clone();
        Box::pin(async move {
            if let Some(throttle) = &layer.throttle {
                let Some(&ConnectInfo(peer)) =
                    request.extensions().get::<ConnectInfo<SocketAddr>>()
                else {
                    return Ok(crate::error::EnhancedFailure::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        dcr_proto::EnhancedErrorCode::InternalError,
                        "internal error",
                    )
                    .into_response());
                };
                if let Err(refused) = admit(throttle, layer.endpoint, peer, request.headers()).await
                {
                    return Ok(refused);
                }
            }
            tower::ServiceExt::oneshot(ready, request).await
        })
    }
}

/// What the throttle decides for one request: `Err` holds the 429 to send instead of
/// the endpoint's answer.
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
