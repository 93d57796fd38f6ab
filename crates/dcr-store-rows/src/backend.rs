//! The boundary between the store's logic ([`SqlStore`](crate::SqlStore), which knows
//! dcr's records and SQL) and a database driver: a [`Query`] is SQL text with its
//! bound values, and a [`Backend`] runs it on a pool or in a [`Transaction`]. The
//! store's code names no driver type, so it is ordinary generic Rust over
//! `B: Backend`; [`Sqlx`](crate::Sqlx) is the one implementation, for SQLite and
//! PostgreSQL alike.

use std::borrow::Cow;

use dcr_core::store::StoreResult;

use crate::decode::RowAccess;

/// A bound value: the three column types the schema uses, each possibly NULL. A
/// NULL keeps its type, which PostgreSQL needs to plan `$1 IS NULL OR col = $1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Self::Text(Some(v.clone()))
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<&Option<String>> for Param {
    fn from(v: &Option<String>) -> Self {
        Self::Text(v.clone())
    }
}

impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_owned))
    }
}

impl From<Vec<u8>> for Param {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(Some(v))
    }
}

impl From<&Vec<u8>> for Param {
    fn from(v: &Vec<u8>) -> Self {
        Self::Bytes(Some(v.clone()))
    }
}

impl From<&[u8]> for Param {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(Some(v.to_vec()))
    }
}

impl From<&Option<Vec<u8>>> for Param {
    fn from(v: &Option<Vec<u8>>) -> Self {
        Self::Bytes(v.clone())
    }
}

/// SQL text with `$N` placeholders (SQLite accepts them too) and the values bound to
/// them, in order. Most queries are a constant of [`sql`](crate::sql) with values
/// bound one by one ([`Query::new`], [`Query::bind`]); what cannot be a constant
/// (filters, `IN` lists and multi-row `VALUES` of run-time length) is assembled with
/// [`Query::push`] and [`Query::push_bind`], which numbers the placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub sql: Cow<'static, str>,
    pub params: Vec<Param>,
}

impl Query {
    /// A query whose text is a constant.
    pub fn new(sql: &'static str) -> Self {
        Self {
            sql: Cow::Borrowed(sql),
            params: Vec::new(),
        }
    }

    /// The start of a query assembled at run time.
    pub fn build(start: impl Into<String>) -> Self {
        Self {
            sql: Cow::Owned(start.into()),
            params: Vec::new(),
        }
    }

    /// Binds the next `$N`.
    pub fn bind(mut self, value: impl Into<Param>) -> Self {
        self.params.push(value.into());
        self
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn push_bind(&mut self, value: impl Into<Param>) -> &mut Self {
        self.params.push(value.into());
        let placeholder = format!("${}", self.params.len());
        self.sql.to_mut().push_str(&placeholder);
        self
    }

    /// Appends `$a, $b, ...` with one value bound to each.
    pub fn push_list<T: Into<Param>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self
    }

    /// Appends `VALUES (...), (...)`: one row per item, whose values `row` binds.
    pub fn push_values<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut row: impl FnMut(&mut ValuesRow<'_>, T),
    ) -> &mut Self {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            let mut values = ValuesRow {
                query: self,
                first: true,
            };
            row(&mut values, item);
            self.push(")");
        }
        self
    }
}

/// One row of [`Query::push_values`].
pub struct ValuesRow<'a> {
    query: &'a mut Query,
    first: bool,
}

impl ValuesRow<'_> {
    /// Binds the row's next value.
    pub fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        if !std::mem::take(&mut self.first) {
            self.query.push(", ");
        }
        self.query.push_bind(value);
        self
    }
}

/// Runs queries on a database: on the pool, or in a write transaction. Everything
/// the store needs from a driver; errors are already [`StoreError`]s (unique
/// violations as [`Conflict`](dcr_core::store::Conflict) variants, an unreachable
/// database as `Unavailable`).
///
/// [`StoreError`]: dcr_core::store::StoreError
pub trait Backend: Send + Sync + 'static {
    type Row: RowAccess + Send + Sync + 'static;
    /// A write transaction; `'c` is the connection it runs on when it is not pooled.
    type Tx<'c>: Transaction<Row = Self::Row>;
    /// A connection outside the pool (the registration writer's, see
    /// [`WriterConnection`](crate::WriterConnection)).
    type Connection: Send + 'static;

    /// How a bulk revocation names `clients` to walk it in `seq` order (SQLite is
    /// told the index; PostgreSQL plans it well on its own).
    const CLIENTS_IN_SEQ_ORDER: &'static str;
    /// Whether several nodes share this database.
    const SHARED_BY_NODES: bool;

    fn fetch_all(&self, query: Query) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;
    fn fetch_optional(
        &self,
        query: Query,
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;
    /// Rows affected.
    fn execute(&self, query: Query) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Starts a write transaction on a pooled connection.
    fn begin_write<'c>(&self) -> impl Future<Output = StoreResult<Self::Tx<'c>>> + Send;

    /// Opens a connection outside the pool, for the registration writer; `None` when
    /// it commits through the pool.
    fn connect_own(&self) -> impl Future<Output = StoreResult<Option<Self::Connection>>> + Send;
    /// Starts a write transaction on `connection`.
    fn begin_write_on(
        connection: &mut Self::Connection,
    ) -> impl Future<Output = StoreResult<Self::Tx<'_>>> + Send;
    /// When the registration writer's commits become durable only with a later sync
    /// (see [`GroupWriter::sync`](crate::GroupWriter::sync)): that sync.
    fn writer_sync(&self) -> Option<crate::Syncer>;

    /// Applies pending migrations.
    fn migrate(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// Closes the pool (SQLite checkpoints its WAL).
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// A write transaction: nothing is visible to others, or durable, before
/// [`Transaction::commit`]; dropped without it, everything is rolled back.
pub trait Transaction: Send {
    type Row: RowAccess + Send + Sync + 'static;
    fn fetch_all(
        &mut self,
        query: Query,
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;
    fn fetch_optional(
        &mut self,
        query: Query,
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;
    /// Rows affected.
    fn execute(&mut self, query: Query) -> impl Future<Output = StoreResult<u64>> + Send;
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;
    fn rollback(self) -> impl Future<Output = StoreResult<()>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_binding_order() {
        let mut q = Query::build("SELECT 1 FROM t WHERE a = ");
        q.push_bind(1).push(" AND b IN (");
        q.push_list(["x", "y"]).push(")");
        assert_eq!(q.sql, "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(q.params.len(), 3);

        let mut insert = Query::build("INSERT INTO t (a, b) ");
        insert.push_values([(1, "p"), (2, "q")], |row, (n, s)| {
            row.bind(i64::from(n)).bind(s);
        });
        assert_eq!(insert.sql, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(
            insert.params,
            vec![
                Param::Int(Some(1)),
                Param::Text(Some("p".into())),
                Param::Int(Some(2)),
                Param::Text(Some("q".into())),
            ]
        );
    }

    #[test]
    fn constants_are_not_copied_until_appended_to() {
        let q = Query::new("SELECT 1").bind(2_i64);
        assert!(matches!(q.sql, Cow::Borrowed(_)));
        assert_eq!(q.params, vec![Param::Int(Some(2))]);
    }
}
