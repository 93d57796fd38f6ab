//! Shared state handed to every handler.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use dcr_core::Dcr;
use dcr_core::throttle::TrustedProxies;

use crate::error::EnhancedFailure;
use crate::failed_auth::FailedAuthentications;
use crate::throttle::Throttle;

#[derive(Clone)]
pub struct AppState {
    pub dcr: Arc<Dcr>,
    /// The issuer with no trailing slash: the base of discovery URLs.
    pub issuer: Arc<str>,
    /// `None` when throttling is disabled.
    pub throttle: Option<Arc<Throttle>>,
    /// Whose `X-Forwarded-For` to believe when naming a caller's address.
    pub proxies: Arc<TrustedProxies>,
    pub failed_auth: Arc<FailedAuthentications>,
    /// How long long-running admin actions are awaited before answering 202.
    pub long_action_wait: std::time::Duration,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The caller's address behind the trusted proxies.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        crate::extract::client_ip(&self.proxies, peer, headers)
    }

    /// 429 for an address that failed to authenticate too often lately: checked before
    /// any credential lookup.
    pub fn admit_authentication(&self, ip: IpAddr) -> Result<(), EnhancedFailure> {
        self.failed_auth.admit(ip).map_err(|wait| {
            EnhancedFailure::too_many_requests(
                wait,
                format!(
                    "too many failed authentications from this address; retry in {} s",
                    dcr_core::throttle::retry_after_seconds(wait)
                ),
            )
        })
    }
}
