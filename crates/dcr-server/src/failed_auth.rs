//! A limit on failed authentications per client address (admin API keys, resource-server
//! keys at introspection and the revocation feed, dashboard session cookies).
//!
//! Each unknown credential costs a store query, and the pools hold a handful of
//! connections: without a limit, one address guessing keys could keep the store busy
//! for everyone. Successful authentications never count, so a busy legitimate caller
//! is never slowed; an address that failed too often is refused (429) *before* any
//! lookup until its bucket refills.
//!
//! With Redis configured the failures are counted in one budget for every node (the
//! throttle's GCRA script, bucket `failed-auth`): an address that failed on one node
//! is blocked on the next failure anywhere, not after a full burst on each node. Being
//! blocked is still decided locally, so a refusal costs no round trip; while Redis is
//! unreachable each node counts on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use std::sync::Arc;

use dcr_core::throttle::{BucketSpec, LocalBuckets, device_key};

use crate::redis_gcra::RedisGcra;

/// Addresses remembered as blocked before the map is pruned.
const MAX_BLOCKED: usize = 100_000;

pub struct FailedAuthentications {
    failures: LocalBuckets,
    /// The budget every node shares, when Redis is configured.
    shared: Option<Arc<RedisGcra>>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    ipv6_prefix: u8,
}

impl FailedAuthentications {
    /// A burst of `per_minute` failures, then one per `60 / per_minute` seconds.
    pub fn new(per_minute: u32, ipv6_prefix: u8) -> Self {
        Self::with_redis(per_minute, ipv6_prefix, None)
    }

    /// Counting failures in Redis (see the module notes) when `shared` is given.
    pub(crate) fn with_redis(
        per_minute: u32,
        ipv6_prefix: u8,
        shared: Option<Arc<RedisGcra>>,
    ) -> Self {
        let per_minute = per_minute.max(1);
        Self {
            failures: LocalBuckets::new(
                BucketSpec {
                    capacity: per_minute,
                    refill_per_second: f64::from(per_minute) / 60.0,
                },
                MAX_BLOCKED,
            )
            .with_ipv6_prefix(ipv6_prefix),
            blocked: Mutex::new(HashMap::new()),
            ipv6_prefix,
            shared,
        }
    }

    /// `Err(wait)` when `ip` has failed too often and must not be given another try yet.
    pub fn admit(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = device_key(ip, self.ipv6_prefix);
        let blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        match blocked.get(&key) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Records one failed authentication from `ip`.
    pub async fn failed(&self, ip: IpAddr) {
        let key = device_key(ip, self.ipv6_prefix);
        let counted = match &self.shared {
            Some(redis) => redis
                .check("failed-auth", key, self.failures.spec())
                .await
                .ok(),
            None => None,
        };
        let over = match counted {
            Some(decision) => decision,
            // No Redis, or it is unreachable: this node's own count.
            None => self.failures.check(ip),
        };
        let Err(wait) = over else {
            return;
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        if blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            if blocked.len() >= MAX_BLOCKED {
                blocked.clear();
            }
        }
        blocked.insert(key, Instant::now() + wait);
    }

    /// Forgets addresses whose block has passed (run on a timer).
    pub fn prune(&self) {
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
        self.failures.prune();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn an_address_is_refused_after_its_failures_and_others_are_not() {
        let limit = FailedAuthentications::new(3, 64);
        let me: IpAddr = "2001:db8:0:1::5".parse().unwrap();
        let same_host: IpAddr = "2001:db8:0:1::9".parse().unwrap();
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.admit(me).is_ok());
            limit.failed(me).await;
        }
        assert!(
            limit.admit(me).is_ok(),
            "three failures are within the burst"
        );
        limit.failed(me).await;
        let wait = limit.admit(me).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(limit.admit(same_host).is_err(), "one /64 is one address");
        assert!(limit.admit(other).is_ok());
    }
}
