//! The dcr domain.
//!
//! Programmers (tenants) own channels and registered applications; an application's
//! software statements are signed JWS documents that app installs trade, through
//! dynamic registration, for client credentials; clients trade those for short-lived
//! access tokens that protected APIs verify.
//!
//! This crate knows neither HTTP nor SQL: storage is reached through the [`Store`]
//! trait, and the HTTP layer turns the typed errors of [`error`] into the documented
//! bodies. All JOSE goes through [`jose`], which pins the algorithm to the key record
//! and never trusts the header to choose it.

pub mod access;
pub mod audience;
pub mod binding;
pub mod catalog;
pub mod crypto;
pub mod device_info;
pub mod error;
pub mod ids;
pub mod jose;
pub mod model;
pub mod pop;
pub mod redirect;
pub mod replay;
pub mod secrets;
pub mod service;
pub mod store;
pub mod strict_json;
pub mod throttle;
pub mod time;
pub mod token_cache;
pub mod wire;

pub use service::{Dcr, DcrSettings};
pub use store::{Store, StoreError};
