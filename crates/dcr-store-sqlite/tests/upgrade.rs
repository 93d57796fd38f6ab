//! A store made before tenant boundaries upgrades in place (`dcr-store-conformance`'s
//! `upgrade`): its rows keep working and contested audiences are found.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use dcr_store_conformance::upgrade;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

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
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).unwrap();
    migrations_before(upgrade::SQLITE_TENANT_BOUNDARIES, &old);
    let file = dir.path().join("old.sqlite3");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for row in upgrade::OLD_ROWS {
        sqlx::query(sqlx::AssertSqlSafe(*row))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = dcr_store_sqlite::open(&file).await.unwrap();
    upgrade::check_upgraded(Arc::new(store)).await;
}
