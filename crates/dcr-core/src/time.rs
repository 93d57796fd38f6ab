//! Wall-clock time as the claims and rows use it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The domain's clock for lifecycle decisions (registration and last-use times,
/// inactivity, quotas, activity days): wall-clock time plus an offset that tests move
/// forward, so a test of a 90-day policy does not wait 90 days. Signatures and token
/// lifetimes always use real time.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// Seconds since the Unix epoch, as the lifecycle sees it.
    pub fn now(&self) -> i64 {
        unix_now().saturating_add(
            self.offset_seconds
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Moves the clock forward by `seconds` (tests).
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds
            .fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }
}
