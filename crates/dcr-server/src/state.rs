//! Shared state handed to every handler.

use std::sync::Arc;

use dcr_core::Dcr;

use crate::throttle::Throttle;

#[derive(Clone)]
pub struct AppState {
    pub dcr: Arc<Dcr>,
    /// The issuer with no trailing slash: the base of discovery URLs.
    pub issuer: Arc<str>,
    /// `None` when throttling is disabled.
    pub throttle: Option<Arc<Throttle>>,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
