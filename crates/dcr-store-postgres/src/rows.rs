//! Row decoders for PostgreSQL (shared with SQLite through `dcr-store-rows`).
#![allow(unused_imports)]

dcr_store_rows::decoders!(sqlx::postgres::PgRow);
