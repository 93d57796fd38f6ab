//! The `Store` contract (`dcr-store-conformance`) on PostgreSQL: one test per aspect,
//! each on its own throwaway server (`scripts/test` installs PostgreSQL; without it
//! these pass without checking anything, unless `DCR_REQUIRE_SERVERS` is set).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use dcr_core::store::Store;
use dcr_store_conformance::PgServer;

/// A fresh database on a server of its own, which lives as long as the test.
async fn fresh_store() -> Option<(PgServer, Arc<dyn Store>)> {
    let server = PgServer::start()?;
    let store = dcr_store_postgres::connect(&server.database("conformance"))
        .await
        .unwrap();
    Some((server, Arc::new(store)))
}

dcr_store_conformance::conformance_tests!(fresh_store);
