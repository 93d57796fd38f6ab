//! The HTTP layer of dcr: axum routers (one module per feature), configuration and
//! startup. Handlers parse the wire, call `dcr_core`, and map its typed errors to the
//! documented bodies in [`error`]; no domain rule lives here.
// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod actions;
pub mod audit_export;
pub mod config;
pub mod cors;
pub mod deadline;
pub mod demo;
pub mod edge;
pub mod error;
pub mod extract;
pub mod failed_auth;
pub mod log_buffer;
pub mod metrics;
pub mod openapi;
mod redis_gcra;
pub mod routes;
pub mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod throttle;

pub use config::Config;
pub use startup::Application;
