//! The `Store` contract (`dcr-store-conformance`) on SQLite: one test per aspect.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use dcr_core::store::Store;

/// A fresh store in a temporary directory, which lives as long as the test.
async fn fresh_store() -> Option<(tempfile::TempDir, Arc<dyn Store>)> {
    let dir = tempfile::tempdir().unwrap();
    let store = dcr_store_sqlite::open(&dir.path().join("conformance.sqlite3"))
        .await
        .unwrap();
    Some((dir, Arc::new(store)))
}

dcr_store_conformance::conformance_tests!(fresh_store);
