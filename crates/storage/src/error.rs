#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot connect to database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("{entity} {key} not found")]
    NotFound { entity: &'static str, key: String },
    #[error("{entity} {key} already exists")]
    Conflict { entity: &'static str, key: String },
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("filesystem error: {0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    /// Map a unique-constraint violation to `Conflict`, leave others alone.
    pub(crate) fn unique(err: sqlx::Error, entity: &'static str, key: &str) -> StorageError {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            return StorageError::Conflict {
                entity,
                key: key.to_owned(),
            };
        }
        StorageError::Sql(err)
    }
}
