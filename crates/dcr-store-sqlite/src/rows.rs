//! Row decoders for SQLite (shared with PostgreSQL through `dcr-store-rows`).
#![allow(unused_imports)]

dcr_store_rows::decoders!(sqlx::sqlite::SqliteRow);
