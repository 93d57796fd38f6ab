//! The `Store` contract as tests. Each aspect of the contract (tenants,
//! registrations, keys, management, lifecycle, concurrency, bulk revocation) is an
//! `async fn` over a fresh `Arc<dyn Store>` in [`aspects`]; a store's crate runs them
//! all with one line:
//!
//! ```ignore
//! // crates/dcr-store-<backend>/tests/conformance.rs
//! async fn fresh_store() -> Option<(Guard, Arc<dyn Store>)> { … }
//! dcr_store_conformance::conformance_tests!(fresh_store);
//! ```
//!
//! which makes one `#[tokio::test]` per aspect, so `cargo test -p dcr-store-postgres`
//! names the aspect that broke on the backend that broke it. Durability across a
//! crash is not here: the binary's crash tests kill a real process for that.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod aspects;
mod postgres;
pub mod upgrade;

pub use postgres::{PgServer, free_port, not_installed};

/// One `#[tokio::test]` per aspect of the contract, each on a store from `$fresh`: an
/// `async fn() -> Option<(G, Arc<dyn Store>)>` where `G` (a temporary directory, a
/// server) lives as long as the test, and `None` skips it (no server on this machine).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!(@each $fresh;
            tenants,
            registrations,
            api_keys,
            signing_keys,
            management,
            lifecycle,
            concurrent_writers,
            shared_registration_commits,
            full_revocation_batch,
            bound_credentials,
        );
    };
    (@each $fresh:path; $($aspect:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $aspect() {
            let Some((_keep, store)) = $fresh().await else { return };
            $crate::aspects::$aspect(store).await;
        }
    )*};
}
