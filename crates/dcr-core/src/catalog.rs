//! The catalogs of platforms and scopes an application may pick from.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PLATFORMS: &[&str] = &[
    "android", "fire-tv", "ios", "tvos", "roku", "web", "xbox", "smart-tv", "server",
];

pub const DEFAULT_SCOPES: &[&str] = &[
    "api:client:v2",
    "api:client:v1",
    "config:client",
    "decisions:client",
    "platform:sso",
    "profile:client",
    "tokens:client",
];

/// Configurable catalogs of platforms and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub platforms: Vec<String>,
    pub scopes: Vec<String>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            platforms: DEFAULT_PLATFORMS.iter().map(|s| s.to_string()).collect(),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Catalog {
    pub fn has_platform(&self, p: &str) -> bool {
        self.platforms.iter().any(|x| x == p)
    }
    pub fn has_scope(&self, s: &str) -> bool {
        self.scopes.iter().any(|x| x == s)
    }
}
