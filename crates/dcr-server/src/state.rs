//! Shared state handed to every handler.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use dcr_core::Dcr;
use dcr_core::throttle::TrustedProxies;

use crate::routes::dashboard::Dashboard;
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
    pub dashboard: Arc<Dashboard>,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The caller's address behind the trusted proxies.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        crate::extract::client_ip(&self.proxies, peer, headers)
    }
}
