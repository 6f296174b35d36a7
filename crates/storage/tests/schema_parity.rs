//! Schema parity: both migration trees (`migrations/sqlite` and
//! `migrations/postgres`), applied to fresh databases, give the same tables,
//! the same columns (names, and types through a small mapping) and the same
//! indexes (names and columns). Needs `GONGJIAN_TEST_POSTGRES_URL` (a
//! recorded skip without it; a failure under `CI=true`).

use std::collections::BTreeMap;

use gongjian_storage::Db;
use gongjian_storage::testing;

/// table → column → portable type.
type Columns = BTreeMap<String, BTreeMap<String, &'static str>>;
/// index name → (table, columns).
type Indexes = BTreeMap<String, (String, Vec<String>)>;

/// The portable type of a declared SQLite column type (type affinity rules).
fn sqlite_type(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") || t.contains("BOOL") {
        "integer"
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") || t.contains("JSON") {
        "text"
    } else if t.contains("BLOB") || t.is_empty() {
        "blob"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real"
    } else {
        "numeric"
    }
}

/// The portable type of a PostgreSQL column (`information_schema` data_type).
fn postgres_type(data_type: &str) -> &'static str {
    match data_type {
        "bigint" | "integer" | "smallint" | "boolean" => "integer",
        "text" | "character varying" | "character" | "json" | "jsonb" => "text",
        "bytea" => "blob",
        "real" | "double precision" => "real",
        _ => "numeric",
    }
}

/// An index column: its name, or `<expr>` for an expression.
fn index_column(col: Option<String>) -> String {
    match col {
        Some(c) if !c.contains('(') && !c.contains(' ') => c.trim_matches('"').to_owned(),
        _ => "<expr>".to_owned(),
    }
}

async fn sqlite_schema(db: &Db) -> (Columns, Indexes) {
    let pool = db.read_pool();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns = Columns::new();
    for (table,) in &tables {
        let cols: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap();
        columns.insert(
            table.clone(),
            cols.into_iter()
                .map(|(name, ty)| (name, sqlite_type(&ty)))
                .collect(),
        );
    }
    let index_rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' \
         AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut indexes = Indexes::new();
    for (name, table) in index_rows {
        let cols: Vec<(Option<String>,)> =
            sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
        let cols = cols.into_iter().map(|(c,)| index_column(c)).collect();
        indexes.insert(name, (table, cols));
    }
    (columns, indexes)
}

async fn postgres_schema(db: &Db) -> (Columns, Indexes) {
    let pool = db.read_pool();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace \
                           WHERE pn.nspname = 'public' AND p.relname = c.table_name \
                             AND p.relispartition)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns = Columns::new();
    for (table, column, ty) in rows {
        columns
            .entry(table)
            .or_default()
            .insert(column, postgres_type(&ty));
    }
    // Indexes made by the user, not the ones behind PRIMARY KEY / UNIQUE
    // constraints (SQLite's `sqlite_autoindex_*`, left out above too).
    // PostgreSQL's `series` is partitioned (0033): its partitions, their
    // columns and their copies of its indexes are left out, the partitioned
    // table and its indexes compared.
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT i.relname::text, t.relname::text, x.indnkeyatts::bigint \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations' \
           AND NOT t.relispartition \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut indexes = Indexes::new();
    for (name, table, n) in rows {
        let mut cols = Vec::new();
        for k in 1..=n {
            let (col,): (Option<String>,) = sqlx::query_as(
                "SELECT pg_get_indexdef(i.oid, $2::int, true)::text \
                 FROM pg_class i JOIN pg_namespace n ON n.oid = i.relnamespace \
                 WHERE n.nspname = 'public' AND i.relname = $1",
            )
            .bind(&name)
            .bind(k)
            .fetch_one(pool)
            .await
            .unwrap();
            cols.push(index_column(col));
        }
        indexes.insert(name, (table, cols));
    }
    (columns, indexes)
}

/// Every difference between the two schemas, one line each.
fn differences(sqlite: &(Columns, Indexes), postgres: &(Columns, Indexes)) -> Vec<String> {
    let mut out = Vec::new();
    let (s_cols, s_idx) = sqlite;
    let (p_cols, p_idx) = postgres;
    for table in s_cols.keys().chain(p_cols.keys()) {
        match (s_cols.get(table), p_cols.get(table)) {
            (Some(_), None) => out.push(format!("table {table}: only in SQLite")),
            (None, Some(_)) => out.push(format!("table {table}: only in PostgreSQL")),
            (Some(s), Some(p)) => {
                for col in s.keys().chain(p.keys()) {
                    match (s.get(col), p.get(col)) {
                        (Some(_), None) => {
                            out.push(format!("column {table}.{col}: only in SQLite"))
                        }
                        (None, Some(_)) => {
                            out.push(format!("column {table}.{col}: only in PostgreSQL"))
                        }
                        (Some(a), Some(b)) if a != b => out.push(format!(
                            "column {table}.{col}: {a} in SQLite, {b} in PostgreSQL"
                        )),
                        _ => {}
                    }
                }
            }
            (None, None) => unreachable!(),
        }
    }
    for name in s_idx.keys().chain(p_idx.keys()) {
        match (s_idx.get(name), p_idx.get(name)) {
            (Some(_), None) => out.push(format!("index {name}: only in SQLite")),
            (None, Some(_)) => out.push(format!("index {name}: only in PostgreSQL")),
            (Some(a), Some(b)) if a != b => out.push(format!(
                "index {name}: {a:?} in SQLite, {b:?} in PostgreSQL"
            )),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn both_migration_trees_give_the_same_tables_columns_and_indexes() {
    let Some(pg) = testing::postgres().await else {
        return;
    };
    let sqlite = testing::sqlite().await;
    let s = sqlite_schema(&sqlite.db).await;
    let p = postgres_schema(&pg.db).await;
    assert!(s.0.len() > 10, "SQLite tables: {:?}", s.0.keys());
    assert!(!s.1.is_empty(), "SQLite indexes found");
    let diff = differences(&s, &p);
    assert!(
        diff.is_empty(),
        "the migration trees differ:\n{}",
        diff.join("\n")
    );
}

/// The comparison itself: a column or an index missing on one side is found.
#[tokio::test]
async fn a_missing_column_or_index_is_a_difference() {
    let Some(pg) = testing::postgres().await else {
        return;
    };
    let sqlite = testing::sqlite().await;
    for sql in [
        "ALTER TABLE organisations ADD COLUMN parity_probe TEXT",
        "CREATE INDEX parity_probe_idx ON organisations (name)",
    ] {
        sqlx::query(sql)
            .execute(sqlite.db.write_pool())
            .await
            .unwrap();
    }
    let diff = differences(
        &sqlite_schema(&sqlite.db).await,
        &postgres_schema(&pg.db).await,
    );
    assert!(
        diff.contains(&"column organisations.parity_probe: only in SQLite".to_owned()),
        "{diff:?}"
    );
    assert!(
        diff.contains(&"index parity_probe_idx: only in SQLite".to_owned()),
        "{diff:?}"
    );
}
