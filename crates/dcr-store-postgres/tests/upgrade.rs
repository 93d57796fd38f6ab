//! A store made before tenant boundaries upgrades in place (`dcr-store-conformance`'s
//! `upgrade`): its rows keep working and contested audiences are found.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use dcr_store_conformance::{PgServer, upgrade};

/// The migrations before `version`, as a directory of their own.
fn migrations_before(version: i64, into: &Path) {
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let number: i64 = name.split('_').next().unwrap().parse().unwrap();
        if number < version {
            std::fs::copy(&path, into.join(name)).unwrap();
        }
    }
}

#[tokio::test]
async fn a_store_from_before_tenant_boundaries_upgrades() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let url = server.database("upgrade");
    let dir = tempfile::tempdir().unwrap();
    migrations_before(upgrade::POSTGRES_TENANT_BOUNDARIES, dir.path());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(dir.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for row in upgrade::OLD_ROWS {
        // PostgreSQL spells a byte string '\x00'.
        let row = row.replace("X'00'", "'\\x00'::bytea");
        sqlx::query(sqlx::AssertSqlSafe(row))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = dcr_store_postgres::connect(&url).await.unwrap();
    upgrade::check_upgraded(Arc::new(store)).await;
}
