//! Wire types of the dcr API.
//!
//! Everything a client, a protected API or the CLI sees on the wire lives here, so the
//! server, the guard, the SDK and the CLI agree on one definition. No I/O.

pub mod admin;
pub mod attestation;
pub mod claims;
pub mod discovery;
pub mod errors;
pub mod json;
pub mod oauth;
pub mod pop;
pub mod resource;

pub use errors::{
    Action, EnhancedError, EnhancedErrorCode, OAuthError, OAuthErrorCode, default_help_base,
    help_url,
};
