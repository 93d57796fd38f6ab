//! The `Store` shared by the two SQL databases, in ordinary Rust: [`SqlStore`] holds
//! every query (the portable SQL of [`sql`], `$N` placeholders that SQLite accepts
//! too) and runs it through a [`Backend`]; [`Sqlx`] is the backend for SQLite and
//! PostgreSQL, the only code here that names driver types. [`decode`] turns rows
//! into dcr records (a value that does not parse is `StoreError::Corrupt`: the stores
//! only ever write valid ones), and [`GroupCommit`] batches registrations into shared
//! transactions.
//!
//! The store crates (`dcr-store-sqlite`, `dcr-store-postgres`) keep only what really
//! differs: connection options, pool sizing, migrations, and how the registration
//! writer connects.

pub mod backend;
pub mod decode;
mod group_commit;
pub mod sql;
mod sqlx_backend;
mod store;

pub use backend::{Backend, Param, Query, Transaction};
pub use group_commit::{GROUP_COMMIT_MAX, GroupCommit, GroupWriter, Syncer};
pub use sqlx_backend::{Dialect, Sqlx, SqlxTx, WriterConnection, store_error};
pub use store::SqlStore;

use dcr_core::store::Conflict;

/// What a unique-key violation collided with, the same on both databases:
/// PostgreSQL reports the table and the constraint, SQLite only its message
/// (`UNIQUE constraint failed: users.email`).
pub fn collision(table: Option<&str>, constraint: Option<&str>, message: &str) -> Conflict {
    let sqlite_columns = message.strip_prefix("UNIQUE constraint failed: ");
    let table = table.or_else(|| sqlite_columns.and_then(|c| c.split('.').next()));
    let key = constraint.or(sqlite_columns).unwrap_or_default();
    if key.contains("custom_scheme") {
        return Conflict::CustomSchemeTaken;
    }
    match table {
        Some("programmers") => Conflict::ProgrammerExists,
        Some("channels") => Conflict::ChannelExists,
        Some("applications") => Conflict::ApplicationExists,
        Some("software_statements") => Conflict::StatementExists,
        Some("clients") => Conflict::ClientExists,
        Some("api_keys") => Conflict::ApiKeyExists,
        Some("users") => Conflict::UserEmailTaken,
        Some("signing_keys") => Conflict::SigningKeyExists,
        _ => Conflict::OtherKey,
    }
}
#[cfg(test)]
mod tests {
    use super::{Conflict, collision};

    /// Both databases' reports of one collision give one variant (and one message,
    /// naming no SQL).
    #[test]
    fn collisions_read_the_same_on_both_databases() {
        let sqlite = collision(None, None, "UNIQUE constraint failed: users.email");
        let postgres = collision(
            Some("users"),
            Some("users_email_key"),
            "duplicate key value violates unique constraint \"users_email_key\"",
        );
        assert_eq!(sqlite, postgres);
        assert_eq!(sqlite, Conflict::UserEmailTaken);
        assert_eq!(sqlite.to_string(), "a user with this email exists already");
        assert_eq!(
            collision(
                None,
                None,
                "UNIQUE constraint failed: applications.custom_scheme"
            ),
            collision(
                Some("applications"),
                Some("applications_custom_scheme_key"),
                "duplicate key"
            ),
        );
        assert_eq!(
            collision(
                None,
                None,
                "UNIQUE constraint failed: applications.custom_scheme"
            ),
            Conflict::CustomSchemeTaken
        );
        assert_eq!(
            collision(None, None, "UNIQUE constraint failed: channels.id"),
            Conflict::ChannelExists
        );
        assert_eq!(collision(None, None, "something else"), Conflict::OtherKey);
    }
}
