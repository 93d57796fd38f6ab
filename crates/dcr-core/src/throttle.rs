//! Per-device throttling (docs/api.md, Register and Throttling): whose request it is, and whether its bucket has a
//! token left. Shared by the server and `dcr-guard`.
//!
//! The device is the client IP: the TCP peer, unless the peer is a configured trusted
//! proxy, in which case `X-Forwarded-For` is walked from the right and the first hop
//! that is not a trusted proxy is the client. Hops to the left of it were written by
//! the client itself and are never believed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

/// Trusted reverse proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{e:?} is not a CIDR or IP address"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` carrying these `X-Forwarded-For`
    /// header values (in order of appearance).
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // A hop we cannot read ends the walk: what lies left of it is unknowable.
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // `[v6]:port` or `v4:port`.
    if let Some(rest) = hop.strip_prefix('[') {
        return rest
            .split_once(']')
            .and_then(|(ip, _)| ip.parse().ok())
            .map(canonical);
    }
    hop.rsplit_once(':')
        .and_then(|(ip, _)| ip.parse().ok())
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses are their IPv4 address: one device, one bucket.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The default prefix length an IPv6 client is keyed by: one host is routinely given
/// a whole /64, so a finer key lets it pick a fresh address per request.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// The throttling key of a client address: IPv4 addresses as they are, IPv6 addresses
/// truncated to their first `ipv6_prefix` bits (clamped to 1..=128).
pub fn device_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u32::from(ipv6_prefix.clamp(1, 128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

/// A token bucket: `capacity` requests at once, refilled at `refill_per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSpec {
    pub capacity: u32,
    pub refill_per_second: f64,
}

impl BucketSpec {
    /// Time to earn one token.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.refill_per_second.max(1e-6))
    }
}

/// Local (in-process) buckets keyed by client IP ([`device_key`]: IPv6 by prefix),
/// bounded in the keys they track.
pub struct LocalBuckets {
    spec: BucketSpec,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    max_keys: usize,
    ipv6_prefix: u8,
}

impl LocalBuckets {
    pub fn new(spec: BucketSpec, max_keys: usize) -> Self {
        let burst = NonZeroU32::new(spec.capacity.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(spec.emission_interval())
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            spec,
            limiter: RateLimiter::keyed(quota),
            max_keys,
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        }
    }

    /// Keys IPv6 clients by their first `bits` bits instead of
    /// [`DEFAULT_IPV6_PREFIX`].
    pub fn with_ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits;
        self
    }

    pub fn spec(&self) -> BucketSpec {
        self.spec
    }

    /// `Ok` when `ip` may proceed; otherwise how long until it may.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() >= self.max_keys {
            self.prune();
        }
        self.limiter
            .check_key(&device_key(ip, self.ipv6_prefix))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets buckets that are full again: they behave exactly like new ones.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }
}

/// `Retry-After` seconds for a wait: at least 1, rounded up.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_forward() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        assert_eq!(
            t.client_ip(ip("203.0.113.9"), ["1.2.3.4"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        // Client spoofs 6.6.6.6; the real client 198.51.100.7 reached proxy 10.0.0.2.
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["6.6.6.6, 198.51.100.7", "10.0.0.2"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Vec::<&str>::new()),
            ip("127.0.0.1")
        );
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["garbage"]), ip("127.0.0.1"));
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            t.client_ip(ip("::ffff:127.0.0.1"), ["192.0.2.1"]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn bad_cidrs_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
    }

    #[test]
    fn buckets_allow_the_burst_then_refuse_with_a_wait() {
        let b = LocalBuckets::new(
            BucketSpec {
                capacity: 3,
                refill_per_second: 1.0,
            },
            100,
        );
        let me = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(b.check(me).is_ok());
        }
        let wait = b.check(me).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert_eq!(retry_after_seconds(wait), 1);
        assert!(b.check(ip("192.0.2.2")).is_ok(), "buckets are per device");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_prefix() {
        assert_eq!(
            device_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(device_key(ip("2001:db8:1:2::1"), 48), ip("2001:db8:1::"));
        assert_eq!(device_key(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(device_key(ip("2001:db8::1"), 0), ip("::"));
        assert_eq!(device_key(ip("192.0.2.7"), 64), ip("192.0.2.7"));
        assert_eq!(device_key(ip("::ffff:192.0.2.7"), 64), ip("192.0.2.7"));

        let b = LocalBuckets::new(
            BucketSpec {
                capacity: 2,
                refill_per_second: 0.001,
            },
            100,
        );
        assert!(b.check(ip("2001:db8:0:1::1")).is_ok());
        assert!(b.check(ip("2001:db8:0:1::2")).is_ok());
        assert!(
            b.check(ip("2001:db8:0:1:ffff::3")).is_err(),
            "one /64 is one device"
        );
        assert!(b.check(ip("2001:db8:0:2::1")).is_ok(), "another /64 is not");
    }
}
